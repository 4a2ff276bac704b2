//! The live actors of this process, each with the name it goes by, so a
//! snapshot of the whole process (`pykka_rs.stats()`, a worker's answer to
//! `GatherStats`) can list every actor without asking the runtime.
//!
//! An actor is enrolled when it starts, with its [`Name`]; the
//! census holds its mailbox weakly, so enrolling keeps nothing alive, and an
//! actor drops out once it stops (its stopped flag is set) or its mailbox is
//! gone. Entries are keyed by the mailbox's address, and swept as the map
//! grows (see [`crate::swept`]).
//!
//! Rejected: asking the runtime's registry (Python's `ActorRegistry`) for
//! the list: it needs the GIL, misses actors taken out of the registry, and
//! a worker's link thread, which answers `GatherStats`, must never wait for
//! an interpreter.

use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};

use super::{MailboxSnapshot, MailboxStats};
use crate::mailbox::Mailbox;
use crate::swept::Swept;
use crate::sync::lock;

/// What the census needs of a mailbox, whatever it carries.
pub trait Observed: Send + Sync {
    /// Its counters.
    fn stats(&self) -> &MailboxStats;
    /// Whether its actor has stopped.
    fn is_stopped(&self) -> bool;
}

impl<T: Send> Observed for Mailbox<T> {
    fn stats(&self) -> &MailboxStats {
        Mailbox::stats(self)
    }

    fn is_stopped(&self) -> bool {
        self.stopped().is_set()
    }
}

/// What an actor goes by in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The name of its class.
    pub class: String,
    /// Its URN.
    pub urn: String,
    /// The URN of its supervisor, if it has one.
    pub supervisor: Option<String>,
}

impl Name {
    /// The name of an actor without a supervisor.
    pub fn new(class: &str, urn: &str) -> Self {
        Self {
            class: class.into(),
            urn: urn.into(),
            supervisor: None,
        }
    }
}

/// A live entry, copied out of the map: key, name, mailbox.
type Live = (usize, Arc<Name>, Arc<dyn Observed>);

struct Entry {
    name: Arc<Name>,
    mailbox: Weak<dyn Observed>,
}

impl Entry {
    fn live(&self) -> Option<Arc<dyn Observed>> {
        self.mailbox
            .upgrade()
            .filter(|mailbox| !mailbox.is_stopped())
    }
}

/// One actor as a snapshot lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRecord {
    /// The name of the actor's class.
    pub class: String,
    /// The actor's URN.
    pub urn: String,
    /// Its number among this process's exported actors (what an `Address`
    /// names), or 0 if no other process can reach it.
    pub number: u64,
    /// The URN of its supervisor, if it has one (absent from the reports of
    /// earlier versions).
    #[serde(default)]
    pub supervisor: Option<String>,
    /// Its mailbox's counters.
    pub mailbox: MailboxSnapshot,
}

/// The live actors of one process.
#[derive(Default)]
pub struct Census {
    entries: Mutex<Swept<usize, Entry>>,
}

/// The key of a mailbox: its address, which no other live mailbox shares.
pub fn key_of<M: ?Sized>(mailbox: &Arc<M>) -> usize {
    Arc::as_ptr(mailbox).cast::<()>() as usize
}

impl Census {
    /// Lists `mailbox`'s actor, of class `class`, as `urn`, until it stops.
    pub fn enroll<M: Observed + 'static>(&self, mailbox: &Arc<M>, name: Name) {
        let weak: Weak<dyn Observed> = Arc::downgrade(mailbox) as Weak<dyn Observed>;
        lock(&self.entries).insert(
            key_of(mailbox),
            Entry {
                name: Arc::new(name),
                mailbox: weak,
            },
            |_, entry| entry.live().is_some(),
        );
    }

    /// Every live actor, with its counters now; `number` gives each
    /// mailbox's export number, by key (0 if it has none).
    pub fn records(&self, number: impl Fn(usize) -> u64) -> Vec<ActorRecord> {
        let live: Vec<Live> = lock(&self.entries)
            .map()
            .iter()
            .filter_map(|(key, entry)| {
                let mailbox = entry.live()?;
                Some((*key, Arc::clone(&entry.name), mailbox))
            })
            .collect();
        // Counters are read with the lock released: enrolling never waits on a reader.
        let mut records: Vec<ActorRecord> = live
            .into_iter()
            .map(|(key, name, mailbox)| ActorRecord {
                class: name.class.clone(),
                urn: name.urn.clone(),
                number: number(key),
                supervisor: name.supervisor.clone(),
                mailbox: mailbox.stats().snapshot(),
            })
            .collect();
        records.sort_by(|a, b| a.urn.cmp(&b.urn));
        records
    }

    /// How many actors are live.
    pub fn len(&self) -> usize {
        lock(&self.entries)
            .map()
            .values()
            .filter(|entry| entry.live().is_some())
            .count()
    }

    /// Whether no actor is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enrolled_actor_is_listed_with_its_counters_until_it_stops() {
        let census = Census::default();
        let mailbox: Arc<Mailbox<u8>> = Arc::new(Mailbox::default());
        census.enroll(&mailbox, Name::new("Echo", "urn:uuid:1"));
        mailbox.send(1).unwrap();
        let records = census.records(|_| 7);
        assert_eq!(records.len(), 1);
        assert_eq!(
            (
                records[0].class.as_str(),
                records[0].urn.as_str(),
                records[0].number
            ),
            ("Echo", "urn:uuid:1", 7)
        );
        assert_eq!(records[0].mailbox.waiting, 1);
        mailbox.stopped().set();
        assert!(census.records(|_| 0).is_empty());
        assert!(census.is_empty());
    }

    #[test]
    fn the_census_keeps_no_mailbox_alive() {
        let census = Census::default();
        let mailbox: Arc<Mailbox<u8>> = Arc::new(Mailbox::default());
        let weak = Arc::downgrade(&mailbox);
        census.enroll(&mailbox, Name::new("Echo", "urn:uuid:2"));
        drop(mailbox);
        assert!(weak.upgrade().is_none());
        assert_eq!(census.len(), 0);
    }

    #[test]
    fn export_numbers_come_from_the_caller_by_mailbox() {
        let census = Census::default();
        let first: Arc<Mailbox<u8>> = Arc::new(Mailbox::default());
        let second: Arc<Mailbox<u8>> = Arc::new(Mailbox::default());
        census.enroll(&first, Name::new("A", "urn:a"));
        let supervised = Name {
            supervisor: Some("urn:s".into()),
            ..Name::new("B", "urn:b")
        };
        census.enroll(&second, supervised);
        let first_key = key_of(&first);
        let numbers: Vec<u64> = census
            .records(|key| if key == first_key { 3 } else { 0 })
            .iter()
            .map(|record| record.number)
            .collect();
        assert_eq!(numbers, [3, 0]);
        let supervisors: Vec<Option<String>> = census
            .records(|_| 0)
            .into_iter()
            .map(|record| record.supervisor)
            .collect();
        assert_eq!(supervisors, [None, Some("urn:s".into())]);
    }
}
