//! BM25F lexical index over tool names, descriptions and parameter text.
//!
//! BM25F (rather than one BM25 per field, summed) combines the weighted, length-normalized
//! term frequencies of all fields before saturation, so a term repeated in the name and the
//! description is not counted as two independent pieces of evidence.

use std::collections::HashMap;

use super::tokenize::terms;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;

/// The indexed fields of a tool.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Exposed name (prefix included) and title.
    Name = 0,
    /// Tool description.
    Description = 1,
    /// Parameter names and descriptions.
    Params = 2,
}

const FIELDS: usize = 3;

/// Per-field weight and length normalization (`b`). Names are short and precise, so they
/// weigh most; parameter text is long and repetitive ("the id of ..."), so it weighs least
/// and is only lightly length-normalized.
const WEIGHT: [f32; FIELDS] = [2.5, 1.0, 0.7];
const B: [f32; FIELDS] = [0.75, 0.75, 0.5];

/// The text of one document, split by field.
#[derive(Debug, Default)]
pub struct FieldText {
    /// Text per field, indexed by [`Field`].
    pub fields: [String; FIELDS],
}

impl FieldText {
    /// Appends `text` to `field`.
    pub fn push(&mut self, field: Field, text: &str) {
        let slot = &mut self.fields[field as usize];
        if !slot.is_empty() {
            slot.push(' ');
        }
        slot.push_str(text);
    }
}

#[derive(Debug)]
struct Posting {
    doc: u32,
    tf: [f32; FIELDS],
}

/// An immutable inverted index.
#[derive(Debug, Default)]
pub struct Bm25 {
    postings: HashMap<String, Vec<Posting>>,
    lengths: Vec<[f32; FIELDS]>,
    avg_len: [f32; FIELDS],
}

impl Bm25 {
    /// Indexes documents; document `i` gets id `i`.
    pub fn build(docs: &[FieldText]) -> Self {
        let mut postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        for (doc, text) in docs.iter().enumerate() {
            let doc = u32::try_from(doc).unwrap_or(u32::MAX);
            let mut tf: HashMap<String, [f32; FIELDS]> = HashMap::new();
            let mut len = [0f32; FIELDS];
            for (field, body) in text.fields.iter().enumerate() {
                for term in terms(body) {
                    tf.entry(term).or_default()[field] += 1.0;
                    len[field] += 1.0;
                }
            }
            lengths.push(len);
            for (term, tf) in tf {
                postings.entry(term).or_default().push(Posting { doc, tf });
            }
        }
        let mut avg_len = [0f32; FIELDS];
        if !lengths.is_empty() {
            for len in &lengths {
                for f in 0..FIELDS {
                    avg_len[f] += len[f];
                }
            }
            for avg in &mut avg_len {
                *avg = (*avg / lengths.len() as f32).max(1.0);
            }
        }
        // HashMap iteration order is random; keep postings sorted so float sums are
        // accumulated in a fixed order and scores are bit-for-bit reproducible.
        for list in postings.values_mut() {
            list.sort_by_key(|p| p.doc);
        }
        Self {
            postings,
            lengths,
            avg_len,
        }
    }

    /// Scores every document that shares at least one term with `query`.
    /// Returns `(doc, score)` pairs with `score > 0`, in document order.
    pub fn score(&self, query: &str) -> Vec<(u32, f32)> {
        let mut query_terms = terms(query);
        query_terms.sort();
        query_terms.dedup();
        let n = self.lengths.len() as f32;
        // Dense accumulator: one f32 per document beats hashing for catalogs of this size.
        let mut acc = vec![0f32; self.lengths.len()];
        let mut touched: Vec<u32> = Vec::new();
        for term in &query_terms {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for p in list {
                let (Some(len), Some(slot)) = (
                    self.lengths.get(p.doc as usize),
                    acc.get_mut(p.doc as usize),
                ) else {
                    continue;
                };
                let mut tf = 0.0;
                for f in 0..FIELDS {
                    if p.tf[f] > 0.0 {
                        let norm = 1.0 - B[f] + B[f] * len[f] / self.avg_len[f];
                        tf += WEIGHT[f] * p.tf[f] / norm;
                    }
                }
                if *slot == 0.0 {
                    touched.push(p.doc);
                }
                *slot += idf * tf / (K1 + tf);
            }
        }
        touched.sort_unstable();
        touched
            .into_iter()
            .map(|d| (d, acc[d as usize]))
            .filter(|(_, s)| *s > 0.0)
            .collect()
    }

    /// Number of distinct terms (for diagnostics).
    pub fn vocabulary(&self) -> usize {
        self.postings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, desc: &str) -> FieldText {
        let mut t = FieldText::default();
        t.push(Field::Name, name);
        t.push(Field::Description, desc);
        t
    }

    #[test]
    fn ranks_name_matches_above_description_mentions() {
        let idx = Bm25::build(&[
            doc("cart___get_item", "Read one line of the shopping cart."),
            doc(
                "catalog___get_product",
                "Read a product; it can be added to a cart item.",
            ),
            doc("hr___list_employees", "List employees."),
        ]);
        let scores = idx.score("cart item");
        assert_eq!(scores.len(), 2);
        assert!(scores[0].1 > scores[1].1, "{scores:?}");
        assert!(idx.score("").is_empty());
        assert!(idx.score("zebra").is_empty());
    }

    #[test]
    fn empty_index() {
        assert!(Bm25::build(&[]).score("anything").is_empty());
    }
}
