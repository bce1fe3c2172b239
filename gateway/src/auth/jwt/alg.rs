//! The signature algorithms accepted on access tokens, and the aws-lc-rs verifier for each.
//!
//! Only asymmetric algorithms exist here: `none` and `HS*` have no variant, so a token
//! naming them cannot even be represented, let alone verified against a public key.

use aws_lc_rs::signature::{self, RsaParameters};

/// An accepted JWS `alg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    EdDsa,
}

/// The key family an algorithm needs; a key of another family is never tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    Rsa,
    EcP256,
    EcP384,
    EcP521,
    Ed25519,
}

impl Algorithm {
    /// All RSA algorithms, for RSA keys whose JWK does not pin an `alg`.
    pub(crate) const RSA: [Algorithm; 6] = [
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
    ];

    /// Parses a JWS header or JWK `alg`; `None` for anything not accepted.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "ES512" => Self::Es512,
            // RFC 9864 names the fully specified Ed25519 algorithm `Ed25519`.
            "EdDSA" | "Ed25519" => Self::EdDsa,
            _ => return None,
        })
    }

    pub(crate) fn family(self) -> KeyFamily {
        match self {
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                KeyFamily::Rsa
            }
            Self::Es256 => KeyFamily::EcP256,
            Self::Es384 => KeyFamily::EcP384,
            Self::Es512 => KeyFamily::EcP521,
            Self::EdDsa => KeyFamily::Ed25519,
        }
    }

    /// RSA parameters; the 2048-bit floor rejects weak keys at verification time.
    pub(crate) fn rsa_parameters(self) -> Option<&'static RsaParameters> {
        Some(match self {
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
            _ => return None,
        })
    }

    /// Verifier for non-RSA algorithms. JWS carries ECDSA signatures as fixed-size `r || s`.
    pub(crate) fn raw_key_algorithm(self) -> Option<&'static dyn signature::VerificationAlgorithm> {
        Some(match self {
            Self::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            Self::Es384 => &signature::ECDSA_P384_SHA384_FIXED,
            Self::Es512 => &signature::ECDSA_P521_SHA512_FIXED,
            Self::EdDsa => &signature::ED25519,
            _ => return None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn none_and_symmetric_algorithms_do_not_exist() {
        for name in ["none", "None", "NONE", "HS256", "HS384", "HS512", "", "RS1"] {
            assert_eq!(Algorithm::from_name(name), None, "{name}");
        }
        assert_eq!(Algorithm::from_name("ES256"), Some(Algorithm::Es256));
    }
}
