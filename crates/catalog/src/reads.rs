//! Rendered public catalog reads (product pages, list pages), kept until
//! anything in the catalog changes.
//!
//! One generation number covers the whole catalog: every committed write
//! (a product, a category, a stock level, a reservation) moves it on, here
//! directly and in other replicas through the database's change notices
//! (see [`crate::service::changes::run_change_listener`]; on SQLite, a command-line
//! tool writing beside the server is noticed within 100 ms). An entry is only served
//! while its generation is the current one, and only stored if no write
//! committed while it was being read, so a response can never outlive the
//! data it was rendered from. Coarse on purpose: a stock change anywhere
//! re-renders every page, which is cheap next to proving finer keys right.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{body::Bytes, http::HeaderValue};

/// One rendered response body and its strong ETag.
#[derive(Debug)]
pub struct Rendered {
    generation: u64,
    /// The JSON body.
    pub body: Bytes,
    /// Its entity tag, quoted.
    pub etag: HeaderValue,
}

/// The cache of rendered reads.
#[derive(Debug)]
pub struct ReadCache {
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Arc<Rendered>>>,
    capacity: usize,
}

impl ReadCache {
    /// A cache of at most `capacity` responses (0 turns it off).
    pub fn new(capacity: usize) -> Self {
        Self {
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// The current generation: take it before reading the database and hand
    /// it to [`ReadCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The response stored under `key`, if nothing changed since it was read.
    pub fn get(&self, key: &str) -> Option<Arc<Rendered>> {
        let current = self.generation();
        let entries = self.entries.read().ok()?;
        entries
            .get(key)
            .filter(|r| r.generation == current)
            .cloned()
    }

    /// Stores a response read at `generation`; dropped if the catalog has
    /// changed since, or the cache is off.
    pub fn put(&self, key: String, generation: u64, body: Bytes, etag: HeaderValue) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        // Checked under the lock that `invalidate` also takes, so an entry
        // read before a change can never land after that change's clear.
        if generation != self.generation() {
            return;
        }
        if entries.len() >= self.capacity {
            // Pages are cheap to render again; a full clear keeps memory
            // bounded without bookkeeping on the read path.
            entries.clear();
        }
        entries.insert(
            key,
            Arc::new(Rendered {
                generation,
                body,
                etag,
            }),
        );
    }

    /// Something in the catalog changed: nothing stored so far is served again.
    pub fn invalidate(&self) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        metrics::counter!("catalog_read_cache_invalidations_total").increment(1);
    }

    /// How many responses are stored.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a failed step fails the test loudly, in helpers too"
    )]

    use super::*;

    fn etag() -> HeaderValue {
        HeaderValue::from_static("\"x\"")
    }

    #[test]
    fn serves_what_was_stored_until_a_change() {
        let cache = ReadCache::new(10);
        let g = cache.generation();
        cache.put("a".into(), g, Bytes::from_static(b"1"), etag());
        assert_eq!(cache.get("a").unwrap().body, Bytes::from_static(b"1"));
        cache.invalidate();
        assert!(cache.get("a").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn a_read_that_overlapped_a_change_is_not_stored() {
        let cache = ReadCache::new(10);
        let read_at = cache.generation();
        cache.invalidate(); // a write committed while the page was read
        cache.put("a".into(), read_at, Bytes::from_static(b"old"), etag());
        assert!(cache.get("a").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn stays_within_its_capacity_and_can_be_off() {
        let cache = ReadCache::new(2);
        let g = cache.generation();
        for key in ["a", "b", "c"] {
            cache.put(key.into(), g, Bytes::new(), etag());
        }
        assert!(cache.len() <= 2);
        assert!(cache.get("c").is_some());

        let off = ReadCache::new(0);
        off.put("a".into(), off.generation(), Bytes::new(), etag());
        assert!(off.get("a").is_none());
    }
}
