//! Session ids: whatever a client sends in `Mcp-Session-Id` either opens to the claims
//! this key sealed or to nothing, and sealing any claims opens to the same claims.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchboard_gateway::server::session::{SessionClaims, SessionSealer, now_seconds};

#[derive(Debug, Arbitrary)]
struct Input {
    id: String,
    version: String,
    tenant: Option<String>,
    subject: Option<String>,
    age_seconds: u16,
}

fn sealer() -> &'static SessionSealer {
    static SEALER: OnceLock<SessionSealer> = OnceLock::new();
    SEALER.get_or_init(
        || match SessionSealer::new(b"switchboard-fuzz-session-key-0123", 3600) {
            Ok(sealer) => sealer,
            Err(error) => unreachable!("{error}"),
        },
    )
}

fuzz_target!(|input: Input| {
    let sealer = sealer();
    // Arbitrary ids: no panic, and a forgery never opens (an AES-GCM tag cannot be
    // guessed; only ids this sealer produced, e.g. from the seed corpus, may open).
    if let Some(claims) = sealer.unseal(&input.id) {
        assert!(now_seconds().saturating_sub(claims.iat) <= 3600);
    }
    let claims = SessionClaims {
        v: input.version,
        iat: now_seconds().saturating_sub(u64::from(input.age_seconds)),
        tn: input.tenant,
        sb: input.subject,
    };
    let Some(id) = sealer.seal(&claims) else {
        return;
    };
    assert!(
        id.bytes().all(|b| b.is_ascii_graphic()),
        "header-safe: {id}"
    );
    let opened = sealer.unseal(&id);
    if id.len() <= 4096 && u64::from(input.age_seconds) <= 3600 {
        assert_eq!(opened, Some(claims));
    } else {
        assert_eq!(opened, None);
    }
    // Any one-character change breaks the seal.
    if !id.is_empty() {
        let mut tampered = id.clone().into_bytes();
        let at = usize::from(input.age_seconds) % tampered.len();
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        if let Ok(tampered) = String::from_utf8(tampered) {
            // Base64 padding bits can absorb a change in the last character.
            if at + 1 < id.len() {
                assert_eq!(sealer.unseal(&tampered), None);
            }
        }
    }
});
