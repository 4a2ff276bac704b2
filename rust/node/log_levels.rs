//! The parent's logger levels, as workers judge their log records by them
//! (`Frame::LogLevels`): the latest table, in the runtime's encoding, and a
//! version by which a reader knows whether it has that table already. The
//! node keeps one (the parent's own, or the latest a worker received), and
//! so does each in-memory channel, for its subinterpreter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::sync::lock;

/// The latest table of levels, and how many tables have been kept.
#[derive(Default)]
pub struct LogLevels {
    /// Bumped after each new table: a reader checks a number, not a lock.
    version: AtomicU64,
    table: Mutex<Option<Arc<[u8]>>>,
}

impl LogLevels {
    /// Keeps `table` as the latest, unless it is the latest already, and
    /// then hands it to `then` before any newer table can be kept: what
    /// `then` sends goes ahead of any newer table.
    pub fn update(&self, table: &[u8], then: impl FnOnce(&[u8])) {
        let mut latest = lock(&self.table);
        if latest.as_deref() == Some(table) {
            return;
        }
        *latest = Some(Arc::from(table));
        self.version.fetch_add(1, Ordering::Release);
        then(table);
    }

    /// Hands `then` the latest table, if any, while no newer one can be kept.
    pub fn with_latest<R>(&self, then: impl FnOnce(Option<&[u8]>) -> R) -> R {
        then(lock(&self.table).as_deref())
    }

    /// The latest table and its version, if it is not version `known` (0:
    /// none yet).
    pub fn newer_than(&self, known: u64) -> Option<(u64, Arc<[u8]>)> {
        if self.version.load(Ordering::Acquire) == known {
            return None;
        }
        let latest = lock(&self.table);
        let version = self.version.load(Ordering::Acquire);
        latest.as_ref().map(|table| (version, Arc::clone(table)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newer(levels: &LogLevels, known: u64) -> Option<(u64, Vec<u8>)> {
        levels
            .newer_than(known)
            .map(|(version, table)| (version, table.to_vec()))
    }

    #[test]
    fn each_new_table_is_a_new_version_and_an_equal_one_is_not() {
        let levels = LogLevels::default();
        assert_eq!(newer(&levels, 0), None);
        let mut handed = Vec::new();
        for table in [&b"warning"[..], b"warning", b"debug", b"warning"] {
            levels.update(table, |table| handed.push(table.to_vec()));
        }
        assert_eq!(handed, [&b"warning"[..], b"debug", b"warning"]);
        assert_eq!(newer(&levels, 0), Some((3, b"warning".to_vec())));
        assert_eq!(newer(&levels, 3), None);
        assert_eq!(
            levels.with_latest(|t| t.map(<[u8]>::to_vec)),
            Some(b"warning".to_vec())
        );
    }
}
