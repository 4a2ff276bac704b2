//! The floor under a round trip between two processes over a Unix socket.
//!
//! No pickling, no Python, no actors: one process sends 40 bytes, the other
//! echoes them, and the first reads them back. Measured twice: both sides
//! spinning on non-blocking reads (no wake-ups, only the system calls, the
//! way pykka_rs waits while a reply is due), then both sides blocking in
//! `read` (a wake-up on each side, the way a process waits when it is idle).
//!
//! ```sh
//! cargo run --release --example socket_floor
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;
use std::time::Instant;

const ROUND_TRIPS: usize = 50_000;
const MESSAGE: [u8; 40] = [7; 40];

/// Reads exactly `buf.len()` bytes, spinning while none are there.
fn read_spinning(stream: &mut UnixStream, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return false,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) => panic!("read: {e}"),
        }
    }
    true
}

fn echo(path: &str) {
    let mut stream = UnixStream::connect(path).unwrap();
    let mut buf = [0; MESSAGE.len()];
    // First phase spins, second blocks; the parent says which by a byte.
    let mut mode = [0; 1];
    while stream.read_exact(&mut mode).is_ok() {
        stream.set_nonblocking(mode[0] == b's').unwrap();
        for _ in 0..ROUND_TRIPS {
            if !read_spinning(&mut stream, &mut buf) {
                return;
            }
            stream.write_all(&buf).unwrap();
        }
        stream.set_nonblocking(false).unwrap();
    }
}

fn measure(stream: &mut UnixStream, spinning: bool) -> (f64, f64) {
    stream.set_nonblocking(false).unwrap();
    stream
        .write_all(if spinning { b"s" } else { b"b" })
        .unwrap();
    stream.set_nonblocking(spinning).unwrap();
    let mut buf = [0; MESSAGE.len()];
    let mut times: Vec<f64> = (0..ROUND_TRIPS)
        .map(|_| {
            let start = Instant::now();
            stream.write_all(&MESSAGE).unwrap();
            assert!(read_spinning(stream, &mut buf));
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 10], times[times.len() / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, path] = args.as_slice() {
        assert_eq!(flag, "--echo", "usage: socket_floor");
        echo(path);
        return;
    }
    let dir = std::env::temp_dir().join(format!("socket_floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--echo")
        .arg(&path)
        .spawn()
        .unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    for (label, spinning) in [("spinning", true), ("blocking", false)] {
        let (p10, p50) = measure(&mut stream, spinning);
        println!(
            "{label:>8} round trip: p10 {p10:.1} us, p50 {p50:.1} us ({ROUND_TRIPS} round trips)"
        );
    }
    drop(stream);
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
