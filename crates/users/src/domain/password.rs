//! The password policy: length and guessability.

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters (bounds hashing cost per request).
pub const MAX_LEN: usize = 128;

/// Checks a new password. `context` holds the user's own words (email,
/// name), which make a password easier to guess. The error is the reason,
/// fit to show to the user.
pub fn check_new_password(password: &str, context: &[&str]) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(format!("must be at least {MIN_LEN} characters"));
    }
    if len > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} characters"));
    }
    // zxcvbn knows the common-password, name and word frequency lists and
    // patterns (keyboard walks, dates, l33t); score 2 means it would take
    // over 10^8 guesses, beyond a throttled online attack.
    // The user's details are split into words so that "adalovelace" is seen
    // as two known words for Ada Lovelace, not one unknown string.
    let words: Vec<String> = context
        .iter()
        .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
        .filter(|word| word.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if (estimate.score() as u8) < 2 {
        let reason = estimate.feedback().and_then(|f| f.warning()).map_or_else(
            || "is too easy to guess".to_owned(),
            |w| format!("is too easy to guess: {w}"),
        );
        return Err(reason);
    }
    Ok(())
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Passes (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

/// Hashes and verifies passwords with argon2id. CPU-heavy: call from a
/// dedicated thread.
///
/// The argon2 working memory (19 MiB at the OWASP cost) is kept per thread
/// and reused: allocating it per call made glibc hold hundreds of MiB after
/// a burst of logins, and zeroing fresh pages costs time.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: argon2::Argon2<'static>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHasher")
    }
}

impl PasswordHasher {
    /// A hasher with the given cost.
    pub fn new(cost: HashCost) -> Result<Self, String> {
        let params = argon2::Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            argon2: argon2::Argon2::new(
                argon2::Algorithm::Argon2id,
                argon2::Version::V0x13,
                params,
            ),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh 16-byte random salt.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        use aws_lc_rs::rand::SecureRandom as _;
        use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| "no randomness".to_owned())?;
        let params = self.argon2.params().clone();
        let mut output = [0u8; 32];
        with_blocks(|blocks| {
            blocks.resize(params.block_count(), argon2::Block::default());
            self.argon2.hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut output,
                &mut blocks[..],
            )
        })
        .map_err(|e| e.to_string())?;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(output)
        ))
    }

    /// Does `password` match the PHC string? The parameters stored in the
    /// hash are used, so raising the cost later keeps old hashes working.
    ///
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        with_blocks(|blocks| verify_with(password, phc, blocks)).unwrap_or(false)
    }
}

/// Runs `f` with this thread's reusable argon2 working memory.
fn with_blocks<T>(f: impl FnOnce(&mut Vec<argon2::Block>) -> T) -> T {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BLOCKS.with_borrow_mut(f)
}

/// Recomputes the hash of `password` with the salt and parameters of `phc`
/// in `blocks`, and compares in constant time. None if `phc` is malformed.
fn verify_with(password: &str, phc: &str, blocks: &mut Vec<argon2::Block>) -> Option<bool> {
    let hash = argon2::PasswordHash::new(phc).ok()?;
    let algorithm = argon2::Algorithm::try_from(hash.algorithm.as_str()).ok()?;
    let version = match hash.version {
        Some(v) => argon2::Version::try_from(v).ok()?,
        None => argon2::Version::V0x13,
    };
    let params = argon2::Params::try_from(&hash).ok()?;
    let (salt, expected) = (hash.salt?, hash.hash?);
    blocks.resize(params.block_count(), argon2::Block::default());
    let mut output = vec![0u8; expected.as_bytes().len()];
    argon2::Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut output,
            &mut blocks[..],
        )
        .ok()?;
    Some(aws_lc_rs::constant_time::verify_slices_are_equal(&output, expected.as_bytes()).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn short_and_long_passwords_are_rejected() {
        assert!(
            check_new_password("Xk9#pq", &[])
                .unwrap_err()
                .contains("at least 8")
        );
        let long = "Xk9#pq".repeat(30);
        assert!(
            check_new_password(&long, &[])
                .unwrap_err()
                .contains("at most 128")
        );
    }

    #[test]
    fn common_passwords_are_rejected_with_a_reason() {
        for weak in [
            "password",
            "password123",
            "12345678",
            "qwertyuiop",
            "iloveyou1",
        ] {
            let reason = check_new_password(weak, &[]).unwrap_err();
            assert!(reason.contains("too easy to guess"), "{weak}: {reason}");
        }
    }

    #[test]
    fn passwords_made_of_the_users_own_details_are_rejected() {
        assert!(check_new_password("adalovelace", &["ada@example.com", "Ada Lovelace"]).is_err());
    }

    #[test]
    fn strong_passwords_pass() {
        assert!(check_new_password("correct-horse-battery-staple", &[]).is_ok());
        assert!(check_new_password("Tz8!qLw#2vRn", &[]).is_ok());
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(CHEAP).unwrap();
        let phc = hasher.hash("correct-horse-battery-staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        // The library's own verifier agrees with the string we format.
        use argon2::PasswordVerifier as _;
        let parsed = argon2::PasswordHash::new(&phc).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct-horse-battery-staple", &parsed)
                .is_ok()
        );
        assert!(hasher.verify("correct-horse-battery-staple", &phc));
        assert!(!hasher.verify("correct-horse-battery-stable", &phc));
        assert!(!hasher.verify("anything", "not a hash"));
    }

    #[test]
    fn hashes_made_with_other_costs_still_verify() {
        let old = PasswordHasher::new(HashCost {
            memory_kib: 128,
            iterations: 2,
            parallelism: 2,
        })
        .unwrap();
        let phc = old.hash("correct-horse-battery-staple").unwrap();
        let current = PasswordHasher::new(CHEAP).unwrap();
        assert!(current.verify("correct-horse-battery-staple", &phc));
        assert!(!current.verify("correct-horse-battery-stapler", &phc));
        // A verification at a smaller cost after a larger one reuses the buffer correctly.
        let small = current.hash("another-long-passphrase").unwrap();
        assert!(current.verify("another-long-passphrase", &small));
    }
}
