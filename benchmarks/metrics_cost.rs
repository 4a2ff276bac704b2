//! What the metrics cost in the core, without Python: the actor loop over
//! a mailbox of one-way messages with metrics on and off, and one recording,
//! one depth read and one snapshot on their own.
//!
//! ```sh
//! cargo run --release --example metrics_cost
//! ```
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use _core::actor::{self, Handled, Host};
use _core::mailbox::Mailbox;
use _core::metrics::{self, MailboxStats};

/// Handles an envelope by adding it up; the last one stops the actor.
struct Sum {
    total: u64,
    stopped: std::sync::Arc<_core::event::Event>,
}

impl Host<u64> for Sum {
    type Reply = ();

    fn hold<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        f(self)
    }

    fn release<R: Send>(&mut self, f: impl FnOnce() -> R + Send) -> R {
        f()
    }

    fn handle(&mut self, envelope: u64) -> Handled<()> {
        self.total = black_box(self.total + envelope);
        if envelope == MESSAGES - 1 {
            self.stopped.set();
        }
        Handled::Done
    }

    fn publish((): ()) {}
}

const MESSAGES: u64 = 2_000_000;

/// Nanoseconds per message through the actor loop: sent, then handled.
fn loop_nanos(on: bool) -> f64 {
    metrics::set_enabled(on);
    let mailbox = Mailbox::default();
    let started = Instant::now();
    for i in 0..MESSAGES {
        mailbox
            .send(i)
            .expect("a mailbox accepts messages until its actor stops");
    }
    let mut host = Sum {
        total: 0,
        stopped: std::sync::Arc::clone(mailbox.stopped()),
    };
    actor::run(&mailbox, &mut host);
    black_box(host.total);
    started.elapsed().as_nanos() as f64 / MESSAGES as f64
}

fn per_call(mut f: impl FnMut()) -> f64 {
    let rounds = 5_000_000;
    let started = Instant::now();
    for _ in 0..rounds {
        f();
    }
    started.elapsed().as_nanos() as f64 / f64::from(rounds)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let mut on = Vec::new();
    let mut off = Vec::new();
    for _ in 0..7 {
        off.push(loop_nanos(false));
        on.push(loop_nanos(true));
    }
    let (on, off) = (median(on), median(off));
    println!(
        "actor loop, send + handle: metrics off {off:.1} ns, on {on:.1} ns per message ({:+.1}%)",
        (on / off - 1.0) * 100.0
    );
    metrics::set_enabled(true);
    let stats = MailboxStats::default();
    let record = per_call(|| stats.record_handling(black_box(Duration::from_nanos(1234))));
    let clock = per_call(|| {
        black_box(Instant::now());
    });
    let depth = per_call(|| {
        black_box(stats.waiting());
    });
    let snapshot = per_call(|| {
        black_box(stats.snapshot());
    });
    println!("one recording {record:.1} ns, one clock read {clock:.1} ns");
    println!("one depth read {depth:.1} ns, one snapshot (with percentiles) {snapshot:.0} ns");
}
