//! One connection between this process and another: the sending half, the
//! receiving half, and what its own thread waits on.
//!
//! A link ends when its socket does, or when the process at the other end
//! does: the link's thread also waits on a pidfd of the peer, where the
//! kernel has one, because a socket outlives its process while any fork of
//! that process still holds a copy of it.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rustix::event::{PollFd, PollFlags, poll};

use crate::pool::ipc::{Inbound, Link};

/// A connection to another process.
pub struct LinkState {
    /// The sending half.
    pub out: Link,
    /// The receiving half; whoever holds the lock reads frames, in order.
    pub inbound: Mutex<Inbound>,
    /// The same socket, for the link's thread to wait on without the lock.
    watch: UnixStream,
    /// A pidfd of the peer process, readable once it has ended.
    peer: Option<OwnedFd>,
    /// When a frame last arrived, in nanoseconds since `epoch`.
    last_heard: AtomicU64,
    epoch: Instant,
}

/// What the link's thread found when it woke.
pub enum Woke {
    /// The socket has something to read, or has ended.
    Readable,
    /// The peer process ended.
    PeerEnded,
}

impl LinkState {
    /// A link over `stream` to the process `pid` (if known).
    ///
    /// # Errors
    /// If the stream cannot be duplicated or the flusher thread started.
    pub fn new(stream: UnixStream, pid: Option<u32>) -> io::Result<Self> {
        let peer = pid
            .and_then(|pid| rustix::process::Pid::from_raw(pid.try_into().ok()?))
            .and_then(|pid| {
                rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok()
            });
        Ok(Self {
            out: Link::new(stream.try_clone()?)?,
            watch: stream.try_clone()?,
            inbound: Mutex::new(Inbound::new(stream)),
            peer,
            last_heard: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Notes that a frame arrived.
    pub fn heard(&self) {
        self.last_heard
            .store(self.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    /// How long since a frame last arrived (or since the link was made).
    pub fn silence(&self) -> std::time::Duration {
        let now = self.epoch.elapsed().as_nanos() as u64;
        std::time::Duration::from_nanos(now.saturating_sub(self.last_heard.load(Ordering::Relaxed)))
    }

    /// Waits until the socket is readable or the peer process ends.
    ///
    /// # Errors
    /// If `poll` fails.
    pub fn wait(&self) -> io::Result<Woke> {
        loop {
            let mut fds = Vec::with_capacity(2);
            fds.push(PollFd::new(&self.watch, PollFlags::IN));
            if let Some(peer) = &self.peer {
                fds.push(PollFd::new(peer, PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Ok(_) => {
                    if fds.get(1).is_some_and(|peer| !peer.revents().is_empty()) {
                        return Ok(Woke::PeerEnded);
                    }
                    return Ok(Woke::Readable);
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}
