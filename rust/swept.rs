//! A map that drops the entries it no longer needs as it grows.
//!
//! Whenever the map has doubled since its last sweep, the next insert first
//! keeps only the entries the caller still wants. Sweeping then costs O(1)
//! per insert, amortized, and the map holds at most twice what the last
//! sweep kept (or 128 entries). Used for what a process keeps on behalf of
//! others (stop flags, exported futures) without knowing when they are done
//! with it.
//!
//! Rejected: a sweep on every insert (O(n) each), and a timer thread (one
//! more thread per process, for work the inserts can carry).

use std::collections::HashMap;
use std::hash::Hash;

/// A `HashMap` swept of unwanted entries each time it doubles.
#[derive(Debug)]
pub struct Swept<K, V> {
    map: HashMap<K, V>,
    /// How many entries the last sweep left.
    kept: usize,
}

/// A map this small is never swept.
const SMALLEST: usize = 64;

impl<K, V> Default for Swept<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            kept: 0,
        }
    }
}

impl<K: Eq + Hash, V> Swept<K, V> {
    /// The entries.
    pub fn map(&self) -> &HashMap<K, V> {
        &self.map
    }

    /// Inserts an entry; if the map has doubled since the last sweep, first
    /// keeps only the entries `keep` approves.
    pub fn insert(&mut self, key: K, value: V, keep: impl FnMut(&K, &mut V) -> bool) {
        if self.map.len() > 2 * self.kept.max(SMALLEST) {
            self.map.retain(keep);
            self.kept = self.map.len();
        }
        self.map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_map_is_never_swept() {
        let mut swept = Swept::default();
        for i in 0..=2 * SMALLEST {
            swept.insert(i, (), |_, ()| false);
        }
        assert_eq!(swept.map().len(), 2 * SMALLEST + 1);
    }

    #[test]
    fn a_map_that_doubled_keeps_only_the_wanted_entries() {
        let mut swept = Swept::default();
        for i in 0..=2 * SMALLEST {
            swept.insert(i, i, |_, _| unreachable!("not doubled yet"));
        }
        // The next insert sweeps: even values stay, and the new entry goes in.
        swept.insert(1000, 1000, |_, value| *value % 2 == 0);
        assert_eq!(swept.map().len(), SMALLEST + 2);
        assert!(swept.map().keys().all(|key| key % 2 == 0));
        assert_eq!(swept.map().get(&1000), Some(&1000));
    }

    #[test]
    fn sweeps_wait_for_the_map_to_double_again() {
        let mut swept = Swept::default();
        let mut sweeps = 0;
        for i in 0..10_000 {
            swept.insert(i, (), |_, ()| {
                sweeps += 1;
                true
            });
        }
        // Everything is kept, so each sweep comes at twice the size of the
        // one before (129, 259, 519, ... entries): the sweeps visit fewer
        // entries than twice the final size, where a sweep per insert would
        // visit some fifty million.
        assert!(sweeps < 2 * 10_000, "{sweeps} entries visited by sweeps");
        assert_eq!(swept.map().len(), 10_000);
    }
}
