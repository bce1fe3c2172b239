//! Tokenizer for the lexical index: identifiers and prose become comparable terms.
//!
//! Tool names arrive as `cart___get_item`, `listOpenPRs` or `http-get`, while users type
//! "show me the items in my cart". Both sides go through the same pipeline: split on
//! anything that is not a letter or digit, split camelCase and letter/digit boundaries,
//! lowercase, drop stop words, then apply a light suffix stemmer. Consistency between the
//! two sides matters more than linguistic accuracy, so the stemmer is deliberately simple.

/// Words that carry no signal for choosing a tool. Kept short on purpose: words such as
/// "all", "new" or "open" look generic but do separate tools (`list_open_issues`).
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "could", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "please", "should", "so", "some", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "those", "to", "us", "was", "we", "were",
    "what", "when", "which", "who", "whose", "will", "with", "would", "you", "your", "want",
    "need", "let", "whats", "one", "ones",
];

/// CRUD verbs that API authors and users pick interchangeably, mapped onto one key
/// (applied after stemming, on both sides). Only generic actions are listed: domain
/// synonyms are left to the embedding model, which handles them far better.
const VERB_SYNONYMS: &[(&str, &str)] = &[
    ("find", "search"),
    ("lookup", "search"),
    ("fetch", "get"),
    ("retriev", "get"),
    ("show", "get"),
    ("view", "get"),
    ("read", "get"),
    ("display", "get"),
    ("delet", "remov"),
    ("eras", "remov"),
    ("add", "creat"),
    ("make", "creat"),
    ("chang", "updat"),
    ("edit", "updat"),
    ("modify", "updat"),
];

/// Splits `text` into normalized, stemmed terms, in order, stop words removed.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in words(text) {
        let lower = word.to_lowercase();
        // Single letters are debris from possessives and contractions ("user's", "I'd").
        let single_letter = lower.chars().count() == 1 && !lower.chars().all(char::is_numeric);
        if single_letter || is_stop_word(&lower) {
            continue;
        }
        let stemmed = stem(&lower);
        match VERB_SYNONYMS.iter().find(|(from, _)| *from == stemmed) {
            Some((_, to)) => out.push((*to).to_string()),
            None => out.push(stemmed),
        }
    }
    out
}

/// Splits identifiers and prose into raw words (original case).
///
/// Boundaries: any non-alphanumeric character, lower→upper (`getItem`), the end of an
/// acronym (`HTTPServer` → `HTTP`, `Server`) and letter↔digit (`v2api` → `v`, `2`, `api`).
pub fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for chunk in text.split(|c: char| !c.is_alphanumeric()) {
        if chunk.is_empty() {
            continue;
        }
        let chars: Vec<(usize, char)> = chunk.char_indices().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (pos, cur) = chars[i];
            let prev = chars[i - 1].1;
            // "PRs", "URLs": a plural s after an acronym belongs to the acronym.
            let plural_s = chars.get(i + 1).is_some_and(|(_, c)| *c == 's')
                && chars.get(i + 2).is_none_or(|(_, c)| c.is_uppercase());
            let next_is_lower =
                !plural_s && chars.get(i + 1).is_some_and(|(_, c)| c.is_lowercase());
            let boundary = (prev.is_lowercase() && cur.is_uppercase())
                || (prev.is_uppercase() && cur.is_uppercase() && next_is_lower)
                || (prev.is_alphabetic() && cur.is_numeric())
                || (prev.is_numeric() && cur.is_alphabetic());
            if boundary {
                out.push(&chunk[start..pos]);
                start = pos;
            }
        }
        out.push(&chunk[start..]);
    }
    out
}

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word)
}

/// A light English suffix stemmer (plural, -ing, -ed, -ation, trailing e).
///
/// It only has to map inflections of one word onto the same key on both sides of the
/// index; it does not have to produce real words.
pub fn stem(word: &str) -> String {
    let n = word.chars().count();
    // Short words and anything with digits are identifiers (ids, "v2", "s3"): keep them.
    if n <= 3 || !word.chars().all(|c| c.is_alphabetic()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    if let Some(base) = w.strip_suffix("ies").filter(|b| b.len() >= 2) {
        w = format!("{base}y");
    } else if w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if let Some(base) = strip_es(&w) {
        w = base;
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(w.len() - 1);
    }
    if let Some(base) = w.strip_suffix("ation").filter(|b| b.len() >= 4) {
        w = undouble(base);
    } else if let Some(base) = w.strip_suffix("tion").filter(|b| b.len() >= 3) {
        w = format!("{base}t");
    } else if let Some(base) = w
        .strip_suffix("ing")
        .filter(|b| b.len() >= 3 && has_vowel(b))
    {
        w = undouble(base);
    } else if let Some(base) = w
        .strip_suffix("ed")
        .filter(|b| b.len() >= 3 && has_vowel(b))
    {
        w = undouble(base);
    }
    if w.len() > 4 && w.ends_with('e') && !w.ends_with("ee") {
        w.truncate(w.len() - 1);
    }
    w
}

/// `boxes` → `box`, `addresses` → `address`, `searches` → `search`; None otherwise.
fn strip_es(w: &str) -> Option<String> {
    let base = w.strip_suffix("es")?;
    let sibilant = base.ends_with("ss")
        || base.ends_with('x')
        || base.ends_with('z')
        || base.ends_with("ch")
        || base.ends_with("sh");
    (sibilant && base.len() >= 3).then(|| base.to_string())
}

fn has_vowel(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y'))
}

/// `shipp` → `ship`, `cancell` → `cancel`; keeps `ll`/`ss`/`zz` words like `bill`.
fn undouble(base: &str) -> String {
    let b = base.as_bytes();
    let n = b.len();
    if n >= 2 && b[n - 1] == b[n - 2] && !matches!(b[n - 1], b'l' | b's' | b'z') {
        return base[..n - 1].to_string();
    }
    if n >= 5 && base.ends_with("ll") {
        // "cancell" (from cancelled/cancellation) → "cancel"; short words keep "ll" (bill).
        return base[..n - 1].to_string();
    }
    base.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_identifiers() {
        assert_eq!(words("cart___get_item"), vec!["cart", "get", "item"]);
        assert_eq!(words("listOpenPRs"), vec!["list", "Open", "PRs"]);
        assert_eq!(
            words("HTTPServer v2api"),
            vec!["HTTP", "Server", "v", "2", "api"]
        );
        assert_eq!(words("getURL"), vec!["get", "URL"]);
        assert_eq!(words("URLsFor"), vec!["URLs", "For"]);
    }

    #[test]
    fn stems_inflections_to_one_key() {
        for group in [
            &["item", "items"][..],
            &["create", "created", "creating", "creation"],
            &[
                "cancel",
                "cancelled",
                "canceled",
                "cancelling",
                "cancellation",
            ],
            &["ship", "shipped", "shipping"],
            &["category", "categories"],
            &["address", "addresses"],
            &["invoice", "invoices"],
            &["search", "searches", "searching"],
            &["refund", "refunds", "refunded"],
        ] {
            let keys: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(keys.iter().all(|k| k == &keys[0]), "{group:?} -> {keys:?}");
        }
        assert_eq!(stem("bill"), "bill");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("s3"), "s3");
    }

    #[test]
    fn canonicalizes_crud_verbs() {
        assert_eq!(terms("delete_file"), terms("remove files"));
        assert_eq!(terms("fetchOrder"), terms("show order"));
        assert_eq!(terms("find contacts"), terms("search_contacts"));
        assert_eq!(terms("editing the page"), terms("update_page"));
    }

    #[test]
    fn drops_stop_words() {
        assert_eq!(
            terms("Show me the items in my cart"),
            vec!["get", "item", "cart"]
        );
        assert!(terms("").is_empty());
        assert!(terms("the of and").is_empty());
    }
}
