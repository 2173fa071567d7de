//! Latencies and statuses per route, for the measured window only.

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::Serialize;

/// Status recorded when no HTTP answer came (connection refused, timeout).
pub const TRANSPORT_ERROR: u16 = 0;

#[derive(Default)]
struct Route {
    micros: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
}

/// Collects what happened between `from` and `until`.
pub struct Recorder {
    from: Instant,
    until: Instant,
    routes: Mutex<BTreeMap<&'static str, Route>>,
}

impl Recorder {
    /// Records requests started within `[from, until)`; earlier ones are warm-up.
    pub fn new(from: Instant, until: Instant) -> Self {
        Self {
            from,
            until,
            routes: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether `at` falls in the measured window.
    pub fn measures(&self, at: Instant) -> bool {
        at >= self.from && at < self.until
    }

    /// One request of `route` that started at `started` and ended now with
    /// `status` (or [`TRANSPORT_ERROR`]).
    pub fn record(&self, route: &'static str, started: Instant, status: u16) {
        self.record_took(route, started, started.elapsed(), status);
    }

    /// Like [`Recorder::record`] for a timing measured otherwise (`took`).
    pub fn record_took(&self, route: &'static str, started: Instant, took: Duration, status: u16) {
        if !self.measures(started) {
            return;
        }
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let entry = routes.entry(route).or_default();
        entry.micros.push(micros);
        *entry.statuses.entry(status).or_default() += 1;
    }

    /// Per-route summaries and the total over every route whose name does
    /// not start with `=` (those are derived timings, like a whole checkout).
    pub fn summarise(&self, window: Duration) -> (Summary, Vec<(String, Summary)>) {
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = Route::default();
        let mut each = Vec::new();
        for (name, route) in routes.iter() {
            each.push(((*name).to_owned(), Summary::of(route, window)));
            if !name.starts_with('=') {
                all.micros.extend_from_slice(&route.micros);
                for (status, n) in &route.statuses {
                    *all.statuses.entry(*status).or_default() += n;
                }
            }
        }
        (Summary::of(&all, window), each)
    }
}

/// Throughput, latency percentiles (milliseconds) and status counts.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Summary {
    pub count: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Status code (0: no answer) to count.
    pub statuses: BTreeMap<u16, u64>,
}

impl Summary {
    fn of(route: &Route, window: Duration) -> Self {
        let mut sorted = route.micros.clone();
        sorted.sort_unstable();
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least q of the sample at or below it.
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            f64::from(sorted[rank - 1]) / 1000.0
        };
        let count = sorted.len() as u64;
        Self {
            count,
            per_second: count as f64 / window.as_secs_f64().max(1e-9),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            statuses: route.statuses.clone(),
        }
    }

    /// Answers that were not 2xx or 3xx.
    pub fn errors(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| !(200..400).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a failed step fails the test loudly, in helpers too"
    )]

    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank_and_skip_the_warm_up() {
        let now = Instant::now();
        let rec = Recorder::new(now, now + Duration::from_secs(60));
        let route = Route {
            micros: (1..=100).map(|ms| ms * 1000).collect(),
            statuses: BTreeMap::from([(200, 99), (503, 1)]),
        };
        rec.routes.lock().unwrap().insert("GET /x", route);
        rec.record("GET /x", now - Duration::from_secs(1), 200); // warm-up
        let (total, each) = rec.summarise(Duration::from_secs(10));
        assert_eq!(total.count, 100);
        assert_eq!(total.p50_ms, 50.0);
        assert_eq!(total.p90_ms, 90.0);
        assert_eq!(total.p99_ms, 99.0);
        assert_eq!(total.max_ms, 100.0);
        assert_eq!(total.per_second, 10.0);
        assert_eq!(total.errors(), 1);
        assert_eq!(each.len(), 1);
    }

    #[test]
    fn derived_timings_stay_out_of_the_total() {
        let now = Instant::now();
        let rec = Recorder::new(now, now + Duration::from_secs(60));
        rec.record("GET /x", Instant::now(), 200);
        rec.record("=checkout", Instant::now(), 200);
        let (total, each) = rec.summarise(Duration::from_secs(1));
        assert_eq!(total.count, 1);
        assert_eq!(each.len(), 2);
    }
}
