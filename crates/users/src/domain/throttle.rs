//! Login throttling: after too many failures within a window, further
//! attempts are refused until the oldest failure in the window ages out.

/// How many failures are allowed per key within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed before attempts are refused.
    pub max_failures: u32,
    /// The window, in milliseconds.
    pub window_ms: i64,
}

impl Limit {
    /// Given the times (Unix ms, any order) of recent failures, returns how
    /// many seconds the caller must wait, or None if it may try now.
    pub fn retry_after_secs(&self, failures: &[i64], now_ms: i64) -> Option<u64> {
        let mut recent: Vec<i64> = failures
            .iter()
            .copied()
            .filter(|at| now_ms - at < self.window_ms)
            .collect();
        if recent.len() < self.max_failures as usize {
            return None;
        }
        recent.sort_unstable();
        // Attempts open again when enough failures have left the window
        // that fewer than max_failures remain.
        let unlocking = recent[recent.len() - self.max_failures as usize];
        let wait_ms = (unlocking + self.window_ms - now_ms).max(1);
        Some(u64::try_from(wait_ms).unwrap_or(1).div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Limit = Limit {
        max_failures: 5,
        window_ms: 15 * 60 * 1000,
    };

    #[test]
    fn fewer_failures_than_the_limit_allow_another_try() {
        assert_eq!(LIMIT.retry_after_secs(&[1, 2, 3, 4], 10), None);
    }

    #[test]
    fn reaching_the_limit_locks_until_the_oldest_failure_expires() {
        let now = 1_000_000_000;
        let failures = [
            now - 60_000,
            now - 50_000,
            now - 40_000,
            now - 30_000,
            now - 20_000,
        ];
        assert_eq!(LIMIT.retry_after_secs(&failures, now), Some(15 * 60 - 60));
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let now = 10_000_000_000;
        let old = now - 16 * 60 * 1000;
        assert_eq!(
            LIMIT.retry_after_secs(&[old, old, old, old, now - 1], now),
            None
        );
    }
}
