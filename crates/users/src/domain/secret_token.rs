//! Opaque secret tokens (refresh, password reset, email verification):
//! 256 random bits handed to the client once, stored only as a SHA-256 hash
//! so a database leak does not leak usable tokens.

use aws_lc_rs::{digest, rand::SecureRandom as _};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};

/// A freshly generated token and the hash to store.
#[derive(Debug)]
pub struct NewToken {
    /// Given to the client, never stored.
    pub plain: String,
    /// Stored and looked up.
    pub hash: String,
}

/// Generates a token from the system's secure random source.
pub fn generate() -> Result<NewToken, String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the system random source failed".to_owned())?;
    let plain = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&plain);
    Ok(NewToken { plain, hash })
}

/// The stored form of a token the client presents.
pub fn hash(plain: &str) -> String {
    let digest = digest::digest(&digest::SHA256, plain.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_deterministically() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.plain, b.plain);
        assert_eq!(a.plain.len(), 43);
        assert_eq!(hash(&a.plain), a.hash);
        assert_eq!(a.hash.len(), 64);
    }
}
