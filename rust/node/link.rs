//! One connection between this node and another: the sending half, the
//! receiving half, and what its own thread waits on.
//!
//! A link runs over one of two transports. Between processes it is a Unix
//! socket (`crate::pool::ipc`); it ends when the socket does, or when the
//! process at the other end does: the link's thread also waits on a pidfd of
//! the peer, where the kernel has one, because a socket outlives its process
//! while any fork of that process still holds a copy of it. Between the
//! main interpreter and a subinterpreter of the same process it is an
//! in-memory channel (`super::memory`), which ends when either side closes
//! it. The node sees no difference: it sends frames, reads frames, and
//! learns that the link ended.
//!
//! Rejected: a trait object per transport (the node would pay a virtual
//! call per frame, and both transports are known here), and a second node
//! for subinterpreters (routing, replies and stops would be written twice).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rustix::event::{PollFd, PollFlags, poll};

use super::memory;
use crate::payload::Payload;
use crate::pool::frame::Frame;
use crate::pool::ipc::{Inbound, Link};

/// The sending half of a link.
pub enum Outbound {
    /// A socket, with its flusher for posted frames.
    Socket(Link),
    /// An in-memory channel.
    Memory(memory::End),
}

impl Outbound {
    /// Sends a frame; over a socket, queued with others if nobody waits for it.
    ///
    /// # Errors
    /// `InvalidData` for a frame over the limits; any other error means the
    /// peer is gone.
    pub fn transmit(&self, header: &Frame, payload: &[u8]) -> io::Result<()> {
        match self {
            Self::Socket(link) => link.transmit(header, payload),
            Self::Memory(end) => end.send_frame(header, payload.to_vec()),
        }
    }

    /// As [`Outbound::transmit`], for a payload the caller gives away, with
    /// its shared buffers: a socket passes their descriptors on; the
    /// in-memory channel, which cannot, takes the payload without a copy if
    /// it has none, and with the buffers copied after it if it has some
    /// ([`Payload::inline`]).
    ///
    /// # Errors
    /// As for [`Outbound::transmit`].
    pub fn transmit_owned(&self, header: &Frame, payload: Payload) -> io::Result<()> {
        match self {
            Self::Socket(link) => link.transmit_payload(header, &payload),
            Self::Memory(end) => end.send_frame(header, payload.inline()?),
        }
    }

    /// As [`Outbound::transmit_owned`], for a payload the caller keeps.
    ///
    /// # Errors
    /// As for [`Outbound::transmit`].
    pub fn transmit_payload(&self, header: &Frame, payload: &Payload) -> io::Result<()> {
        match self {
            Self::Socket(link) => link.transmit_payload(header, payload),
            Self::Memory(end) => end.send_frame(header, payload.clone().inline()?),
        }
    }

    /// Writes what is queued and closes both directions, waking the reader
    /// on either side.
    pub fn close(&self) {
        match self {
            Self::Socket(link) => link.close(),
            Self::Memory(end) => end.close(),
        }
    }
}

/// The receiving half of a link: whoever holds it reads frames, in order.
pub enum Reader {
    /// Bytes from a socket, cut into frames.
    Socket(Inbound),
    /// Frames from an in-memory channel.
    Memory(memory::Reader),
}

impl Reader {
    /// Whether the peer ended the link (after the frames still buffered).
    pub fn ended(&self) -> bool {
        match self {
            Self::Socket(inbound) => inbound.ended(),
            Self::Memory(reader) => reader.ended(),
        }
    }

    /// Takes whatever has arrived, without waiting. Returns whether anything did.
    ///
    /// # Errors
    /// As for [`Inbound::read_available`].
    pub fn read_available(&mut self) -> io::Result<bool> {
        match self {
            Self::Socket(inbound) => inbound.read_available(),
            Self::Memory(reader) => Ok(reader.read_available()),
        }
    }

    /// The next whole frame received so far, with its payload.
    ///
    /// # Errors
    /// `InvalidData` for a frame that does not decode or is over the limits;
    /// `UnexpectedEof` once a socket ended in the middle of a frame.
    pub fn next_frame(&mut self) -> io::Result<Option<(Frame, Payload)>> {
        match self {
            Self::Socket(inbound) => inbound.next_frame(),
            Self::Memory(reader) => Ok(reader
                .next_frame()?
                .map(|(header, payload)| (header, payload.into()))),
        }
    }
}

/// What the link's thread waits on.
enum Watch {
    /// The socket, and a pidfd of the peer process, readable once it has ended.
    Socket {
        stream: UnixStream,
        peer: Option<OwnedFd>,
    },
    /// The channel.
    Memory(memory::End),
}

/// A connection to another node.
pub struct LinkState {
    /// The sending half.
    pub out: Outbound,
    /// The receiving half; whoever holds the lock reads frames, in order.
    pub inbound: Mutex<Reader>,
    /// What the link's thread waits on without the lock.
    watch: Watch,
    /// When a frame last arrived, in nanoseconds since `epoch`.
    last_heard: AtomicU64,
    epoch: Instant,
}

/// What the link's thread found when it woke.
pub enum Woke {
    /// The link has something to read, or has ended.
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
        crate::payload::allow_descriptors();
        Ok(Self {
            out: Outbound::Socket(Link::new(stream.try_clone()?)?),
            watch: Watch::Socket {
                stream: stream.try_clone()?,
                peer,
            },
            inbound: Mutex::new(Reader::Socket(Inbound::new(stream))),
            last_heard: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// A link over an in-memory channel, through this node's `end` of it.
    pub fn memory(end: memory::End) -> Self {
        Self {
            out: Outbound::Memory(end.clone()),
            inbound: Mutex::new(Reader::Memory(memory::Reader::new(end.clone()))),
            watch: Watch::Memory(end),
            last_heard: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The socket, for a thread that waits for it to be readable.
    pub fn socket(&self) -> Option<BorrowedFd<'_>> {
        match &self.watch {
            Watch::Socket { stream, .. } => Some(stream.as_fd()),
            Watch::Memory(_) => None,
        }
    }

    /// Whether the link runs over an in-memory channel.
    pub fn in_memory(&self) -> bool {
        matches!(self.watch, Watch::Memory(_))
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

    /// Waits until the link is readable or the peer process ends.
    ///
    /// # Errors
    /// If `poll` fails.
    pub fn wait(&self) -> io::Result<Woke> {
        let (stream, peer) = match &self.watch {
            Watch::Memory(end) => {
                end.wait_readable(None);
                return Ok(Woke::Readable);
            }
            Watch::Socket { stream, peer } => (stream, peer),
        };
        loop {
            let mut fds = Vec::with_capacity(2);
            fds.push(PollFd::new(stream, PollFlags::IN));
            if let Some(peer) = peer {
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
