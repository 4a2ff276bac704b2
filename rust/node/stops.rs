//! The stop flags, in this process, of actors in other processes.
//!
//! A stop can be announced before this process first hears of the actor:
//! an actor that stops in `on_start` announces it before the reply to its
//! spawn is sent, and a ref to a stopped actor may arrive after its stop.
//! So the latest announced stops are remembered, and a flag made later for
//! one of them starts set.
//!
//! Rejected: remembering every stop ever announced (grows without bound in
//! a long-lived system), and no memory at all (a ref unpickled after its
//! actor's stop would look alive forever).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Weak};

use crate::event::Event;
use crate::pool::frame::Address;
use crate::swept::Swept;

/// How many announced stops are remembered for actors not heard of yet.
const RECENT_STOPS: usize = 4096;

/// The flags, and the latest stops of actors without one.
#[derive(Default)]
pub struct StopFlags {
    flags: Swept<Address, Weak<Event>>,
    recent: VecDeque<Address>,
    recent_set: HashSet<Address>,
}

impl StopFlags {
    /// The flag of `actor`, made if need be; set already if its process is
    /// dead or its stop was announced recently.
    pub fn flag(&mut self, actor: Address, process_dead: bool) -> Arc<Event> {
        if let Some(event) = self.flags.map().get(&actor).and_then(Weak::upgrade) {
            return event;
        }
        let event = Arc::new(Event::new());
        if process_dead || self.recent_set.contains(&actor) {
            event.set();
        }
        self.flags.insert(actor, Arc::downgrade(&event), |_, flag| {
            flag.strong_count() > 0
        });
        event
    }

    /// Records a stop; returns the flag to set, if this process has one.
    pub fn stopped(&mut self, actor: Address) -> Option<Arc<Event>> {
        if let Some(event) = self.flags.map().get(&actor).and_then(Weak::upgrade) {
            return Some(event);
        }
        if self.recent_set.insert(actor) {
            self.recent.push_back(actor);
            if self.recent.len() > RECENT_STOPS {
                if let Some(oldest) = self.recent.pop_front() {
                    self.recent_set.remove(&oldest);
                }
            }
        }
        None
    }

    /// The flags of every actor of a process, to set when it dies.
    pub fn of_process(&self, process: u32) -> Vec<Arc<Event>> {
        self.flags
            .map()
            .iter()
            .filter(|(address, _)| address.process == process)
            .filter_map(|(_, event)| event.upgrade())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(process: u32, actor: u64) -> Address {
        Address { process, actor }
    }

    #[test]
    fn a_flag_made_after_the_stop_was_announced_starts_set() {
        let mut stops = StopFlags::default();
        assert!(stops.stopped(actor(1, 5)).is_none());
        assert!(stops.flag(actor(1, 5), false).is_set());
        assert!(!stops.flag(actor(1, 6), false).is_set());
    }

    #[test]
    fn a_stop_sets_the_one_flag_every_holder_shares() {
        let mut stops = StopFlags::default();
        let first = stops.flag(actor(2, 1), false);
        let second = stops.flag(actor(2, 1), false);
        assert!(Arc::ptr_eq(&first, &second));
        stops.stopped(actor(2, 1)).unwrap().set();
        assert!(second.is_set());
    }

    #[test]
    fn a_dead_process_has_its_flags_set_and_only_its_own() {
        let mut stops = StopFlags::default();
        let mine = stops.flag(actor(3, 1), false);
        let other = stops.flag(actor(4, 1), false);
        for flag in stops.of_process(3) {
            flag.set();
        }
        assert!(mine.is_set());
        assert!(!other.is_set());
        assert!(stops.flag(actor(3, 9), true).is_set());
    }

    #[test]
    fn only_the_latest_stops_are_remembered() {
        let mut stops = StopFlags::default();
        for id in 0..=RECENT_STOPS as u64 {
            stops.stopped(actor(1, id));
        }
        assert!(!stops.flag(actor(1, 0), false).is_set());
        assert!(stops.flag(actor(1, RECENT_STOPS as u64), false).is_set());
    }
}
