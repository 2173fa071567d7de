//! URL slugs: 1 to 100 characters of `a-z`, `0-9` and `-`.

/// Longest slug.
pub const MAX_LEN: usize = 100;

/// Checks a slug; the error is the reason.
pub fn check(slug: &str) -> Result<(), String> {
    if slug.is_empty() || slug.len() > MAX_LEN {
        return Err(format!("must be 1 to {MAX_LEN} characters"));
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may hold only a-z, 0-9 and -".into());
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err("must not start or end with - or contain --".into());
    }
    Ok(())
}

/// Is `value` shaped like a UUID (so a path segment is an id, not a slug)?
pub fn looks_like_id(value: &str) -> bool {
    uuid::Uuid::parse_str(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_hyphens() {
        assert!(check("red-shoes-42").is_ok());
        for bad in [
            "",
            "Red",
            "red shoes",
            "red_shoes",
            "-red",
            "red-",
            "red--shoes",
            &"a".repeat(101),
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
    }
}
