//! Name mapping: exposed names are deterministic, portable (`[A-Za-z0-9_-]`), within
//! the length budget, keep the prefix, and are the plain `prefix___name` whenever that
//! already fits; tool filters accept or refuse any pattern without panicking.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchboard_gateway::naming::{NamingPolicy, ToolFilter};

#[derive(Debug, Arbitrary)]
struct Input {
    prefix: String,
    upstream: String,
    other: String,
    separator: u8,
    max_length: u8,
    include: Vec<String>,
    exclude: Vec<String>,
}

fn portable(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fuzz_target!(|input: Input| {
    let separator = ["___", "__", "-", "_", "."][usize::from(input.separator) % 5];
    let policy = NamingPolicy {
        separator: separator.to_owned(),
        max_length: usize::from(input.max_length),
    };
    if policy.check_prefix(&input.prefix).is_ok() {
        let name = policy.expose(&input.prefix, &input.upstream);
        assert_eq!(
            name,
            policy.expose(&input.prefix, &input.upstream),
            "deterministic"
        );
        assert!(
            name.len() <= policy.max_length,
            "{name} over {}",
            policy.max_length
        );
        let head = if input.prefix.is_empty() {
            String::new()
        } else {
            format!("{}{separator}", input.prefix)
        };
        assert!(name.starts_with(&head), "{name} keeps {head}");
        assert!(name[head.len()..].chars().all(portable), "{name}");
        let plain = format!("{head}{}", input.upstream);
        if !input.upstream.is_empty()
            && input.upstream.chars().all(portable)
            && plain.len() <= policy.max_length
        {
            assert_eq!(name, plain);
        } else {
            assert_ne!(name, plain, "a rewritten name is marked with a hash");
        }
        // Two different names coincide only when one was rewritten (hashed): two names
        // that are already portable and fit are never changed, so never merged.
        let other = policy.expose(&input.prefix, &input.other);
        let kept = |s: &str| {
            !s.is_empty() && s.chars().all(portable) && head.len() + s.len() <= policy.max_length
        };
        if other == name && input.other != input.upstream {
            assert!(
                !(kept(&input.other) && kept(&input.upstream)),
                "{:?} and {:?} both map to {name}",
                input.upstream,
                input.other
            );
        }
    }
    if let Ok(filter) = ToolFilter::new(&input.include, &input.exclude) {
        let allowed = filter.allows(&input.upstream);
        if input.include.is_empty() && input.exclude.is_empty() {
            assert!(allowed);
        }
        if input.exclude.iter().any(|p| p == "*") {
            assert!(!allowed);
        }
    }
});
