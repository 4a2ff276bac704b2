//! What the pool's handshake adds to a worker's start: both halves of it,
//! over a Unix socket pair, as the parent and a worker run them (three
//! messages, four HMAC-SHA256, two `SO_PEERCRED` reads).
//!
//! ```sh
//! cargo run --release --example handshake
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use _core::pool::handshake::{Secret, admit, join};

const HANDSHAKES: usize = 2_000;

fn main() {
    let secret = Secret::new().unwrap();
    let patience = Duration::from_secs(5);
    let mut samples = Vec::with_capacity(HANDSHAKES);
    for worker in 0..HANDSHAKES as u32 {
        let (mut parent, mut child) = UnixStream::pair().unwrap();
        let theirs = secret.clone();
        let started = Instant::now();
        let joining = std::thread::spawn(move || join(&mut child, &theirs, worker, patience));
        assert_eq!(admit(&mut parent, &secret, patience).unwrap(), worker);
        joining.join().unwrap().unwrap();
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    // q is a fraction in [0, 1]: the index is never negative.
    #[allow(clippy::cast_sign_loss)]
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "handshake over a socket pair ({HANDSHAKES} times, a thread started for the worker's side each time):"
    );
    println!(
        "  p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs",
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
}
