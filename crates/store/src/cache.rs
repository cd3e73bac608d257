//! The response cache tree: recorded model answers keyed by a request's cache key.
//!
//! The store does not know what a key or a value means (the providers crate defines both: a hash
//! of the request and a serialised recording); it keeps opaque bytes in their own tree so that
//! clearing the cache never touches sessions. Writes are not flushed on their own: a recording
//! lost in a crash is only a cache miss, and the usage record written right after the call
//! flushes the database anyway.

use crate::Store;
use crate::error::Result;

/// The tree's name in the database.
const RESPONSE_CACHE_TREE: &str = "response_cache";

impl Store {
    fn cache_tree(&self) -> Result<sled::Tree> {
        // After the first call this is a map lookup inside sled.
        Ok(self.inner.db.open_tree(RESPONSE_CACHE_TREE)?)
    }

    /// The recording stored under `key`, if any.
    pub fn cache_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.cache_tree()?.get(key)?.map(|v| v.to_vec()))
    }

    /// Stores (or replaces) the recording under `key`.
    pub fn cache_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.writable()?;
        self.cache_tree()?.insert(key, value)?;
        Ok(())
    }

    /// Number of recordings kept.
    pub fn cache_len(&self) -> Result<usize> {
        Ok(self.cache_tree()?.len())
    }

    /// Drops every recording; returns how many there were.
    pub fn cache_clear(&self) -> Result<usize> {
        self.writable()?;
        let tree = self.cache_tree()?;
        let n = tree.len();
        tree.clear()?;
        self.sync()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn put_get_replace_survive_reopen_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.cache_get(b"k1").unwrap(), None);
            store.cache_put(b"k1", b"first").unwrap();
            store.cache_put(b"k1", b"second").unwrap();
            store.cache_put(b"k2", b"other").unwrap();
            assert_eq!(
                store.cache_get(b"k1").unwrap().as_deref(),
                Some(&b"second"[..])
            );
            assert_eq!(store.cache_len().unwrap(), 2);
            // No session was created by caching.
            assert!(store.list_sessions(0, 10).unwrap().0.is_empty());
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.cache_get(b"k2").unwrap().as_deref(),
            Some(&b"other"[..])
        );
        assert_eq!(store.cache_clear().unwrap(), 2);
        assert_eq!(store.cache_get(b"k1").unwrap(), None);
    }
}
