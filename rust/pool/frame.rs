//! The frames processes exchange, and how they are laid out on a socket.
//!
//! Specified in `docs/protocol.md`; `pykka_rs/_wire.py` is the same codec in
//! plain Python, for workers that cannot load this core.
//!
//! A frame is a control header and an opaque payload:
//!
//! ```text
//! u32 LE  header length H (low 24 bits) and number of shared buffers B (high 8 bits)
//! u64 LE  payload length P
//! H bytes header: a pickle (serde-pickle) of a `Frame`,
//!         e.g. {"Tell": {"to": {"process": 1, "actor": 7}}}
//! P bytes payload: whatever the header says, usually a protocol-5 pickle made by Python
//! ```
//!
//! A frame with B > 0 has B descriptors of shared buffers (`crate::payload`)
//! attached to its first byte (`SCM_RIGHTS`, see `ipc.rs`); every other
//! frame has B = 0, so its bytes are what they were before buffers existed.
//!
//! The header is encoded here, in Rust, so routing never runs Python; the
//! other side reads it with plain `pickle.loads`. The payload is never parsed
//! here: keeping it out of the header saves copying large messages through the
//! header codec. Rejected: one pickle for both (copies every payload twice),
//! a custom binary header (Python could not read it with the standard library).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Where an actor lives: the process (0 is the parent, workers count from 1)
/// and the actor's number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// The process hosting the actor.
    pub process: u32,
    /// The actor's number within that process.
    pub actor: u64,
}

/// A future, wherever it lives: the process that owns it and its number
/// there. Replies go to one; a future passed to another process travels as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FutureId {
    /// The process that owns the future.
    pub process: u32,
    /// The future's number within that process.
    pub id: u64,
}

/// A control header. Variants are written as `{"Name": {fields}}`, or as the
/// bare string `"Name"` for those without fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Frame {
    /// A one-way message; payload: the pickled message.
    Tell {
        /// The receiving actor.
        to: Address,
    },
    /// A message whose reply goes to `reply`; payload: the pickled message.
    Ask {
        /// The receiving actor.
        to: Address,
        /// Where the reply goes.
        reply: FutureId,
    },
    /// The answer to an `Ask` or a `Spawn`, or a value set on a future owned
    /// elsewhere; payload: the pickled value (`ok`) or exception (not `ok`).
    Reply {
        /// The future it resolves.
        to: FutureId,
        /// Whether the payload is a value rather than an exception.
        ok: bool,
    },
    /// An `Ask` that no actor can answer, sent back by the process that could
    /// not deliver it; the asker raises `ActorDeadError` (`MailboxFull` for
    /// the reason `crate::node::MAILBOX_FULL`). No payload.
    Undeliverable {
        /// The future waiting for the answer.
        to: FutureId,
        /// Completes "<the actor> ...": "not found", "died with its worker ...".
        reason: String,
    },
    /// Asks the future's owner for its value; it answers `reply` with a
    /// `Reply` once the future is done. No payload.
    Subscribe {
        /// The future whose value is wanted.
        future: FutureId,
        /// Where the value goes.
        reply: FutureId,
    },
    /// Parent to worker: make an actor; payload: the pickled class, arguments
    /// and URN. The reply's payload is the new actor's `Address` number.
    Spawn {
        /// Where the outcome goes.
        reply: FutureId,
    },
    /// Worker to parent: ask the parent to run a Python request (start a
    /// process actor elsewhere, say); payload: the pickled request.
    Request {
        /// Where the answer goes.
        reply: FutureId,
    },
    /// Worker to parent: an actor of the worker is registered, so every
    /// process's registry lists it until its stop; payload: what the
    /// registry shows of it (its pickled URN and class).
    Registered {
        /// The actor.
        actor: Address,
    },
    /// Worker to parent: an actor of the worker was taken out of the
    /// registry while it runs on. No payload.
    Unregistered {
        /// The actor.
        actor: Address,
    },
    /// An actor stopped; sent by its process to the parent, which tells every worker.
    Stopped {
        /// The actor that stopped.
        actor: Address,
    },
    /// Parent to workers: a process is gone, and every actor in it.
    ProcessDied {
        /// The process that died.
        process: u32,
        /// Why, for error messages: "killed by SIGKILL", "exited with status 3".
        cause: String,
    },
    /// Worker to parent: a log record; payload: the pickled record's fields.
    Log,
    /// Parent to worker: the levels of the parent's loggers, so that a
    /// worker sends only the records the parent would handle; payload: the
    /// runtime's table of levels. Sent when a link opens and whenever the
    /// levels change, ahead of every later frame on the link.
    LogLevels,
    /// Worker to parent: how busy the worker is, for placement.
    Load {
        /// Actors alive in the worker.
        actors: u64,
        /// Messages waiting in their mailboxes.
        waiting: u64,
    },
    /// Parent to worker: stop every actor and exit.
    Shutdown,
    /// Parent to worker: send this process's statistics. The worker's core
    /// answers `reply` at once with a `Reply` whose payload is its
    /// `ProcessReport` (`crate::node::metrics`), pickled.
    GatherStats {
        /// Where the report goes.
        reply: FutureId,
    },
    /// Worker to parent: the counters of the worker's actors that changed
    /// since its last `Stats`; payload: a pickled list of `ActorCounters`.
    Stats,
    /// An actor ended, once it had handled its last message; sent by its
    /// process to the parent, which tells every worker, for monitors.
    /// Payload: the runtime's details of the end (for Python, a pickle of
    /// the exception and the traceback's text).
    Exited {
        /// The actor that ended.
        actor: Address,
        /// Why: "normal", "failure" or "shutdown".
        reason: String,
    },
    /// A `Tell` whose sender waits until the message is queued: to an
    /// actor whose bounded mailbox makes senders wait (`block`) or refuses
    /// them (`fail`). The receiving process answers `ack` with a `Reply`
    /// (a pickled `None`) once the message is in the mailbox, waiting for
    /// room if need be, or with an `Undeliverable`. Payload: the pickled
    /// message.
    Offer {
        /// The receiving actor.
        to: Address,
        /// Told when the message is queued, or refused.
        ack: FutureId,
    },
    /// An `Ask` whose sender waits until the message is queued, as `Offer`.
    OfferAsk {
        /// The receiving actor.
        to: Address,
        /// Where the reply goes.
        reply: FutureId,
        /// Told when the message is queued, or refused.
        ack: FutureId,
    },
}

impl Frame {
    /// Whether a frame may wait to be written with later ones: nobody waits
    /// for it to arrive. Everything else is written at once, `Stopped` too:
    /// a stop must be known elsewhere before the actor's `on_stop()` or
    /// `on_failure()` can tell anyone about it by other means.
    pub fn may_wait(&self) -> bool {
        matches!(
            self,
            Self::Tell { .. }
                | Self::Log
                | Self::LogLevels
                | Self::Load { .. }
                | Self::Registered { .. }
                | Self::Unregistered { .. }
                | Self::Stats
        )
    }

    /// Whether a frame may have shared buffers beside its payload
    /// (`crate::payload`): messages (offered ones too) and replies, whose payloads are
    /// Python's objects. Any other frame with buffers is refused.
    pub fn may_carry_buffers(&self) -> bool {
        matches!(
            self,
            Self::Tell { .. }
                | Self::Ask { .. }
                | Self::Reply { .. }
                | Self::Offer { .. }
                | Self::OfferAsk { .. }
        )
    }

    /// The process a frame must reach, if it is addressed to one.
    pub fn destination(&self) -> Option<u32> {
        match self {
            Self::Tell { to }
            | Self::Ask { to, .. }
            | Self::Offer { to, .. }
            | Self::OfferAsk { to, .. } => Some(to.process),
            Self::Reply { to, .. } | Self::Undeliverable { to, .. } => Some(to.process),
            Self::Subscribe { future, .. } => Some(future.process),
            _ => None,
        }
    }
}

/// The largest header accepted; headers are a few dozen bytes.
pub const MAX_HEADER: usize = 1 << 20;

/// The largest payload the wire format allows (16 GiB).
pub const MAX_PAYLOAD: u64 = 1 << 34;

static PAYLOAD_LIMIT: AtomicU64 = AtomicU64::new(MAX_PAYLOAD);

/// The largest payload this process sends or accepts: [`MAX_PAYLOAD`] unless
/// lowered with [`set_payload_limit`]. A reader's memory grows only with the
/// bytes that actually arrive, so the limit bounds what one message may
/// cost, not what a peer can make this process reserve.
pub fn payload_limit() -> u64 {
    PAYLOAD_LIMIT.load(Ordering::Relaxed)
}

/// Sets the largest payload this process sends or accepts, at most
/// [`MAX_PAYLOAD`]; applies to links opened afterwards and to every send.
pub fn set_payload_limit(limit: u64) {
    PAYLOAD_LIMIT.store(limit.min(MAX_PAYLOAD), Ordering::Relaxed);
}

fn too_large(header: usize, payload: u64, limit: u64) -> io::Error {
    invalid(format!(
        "a frame of {payload} payload bytes (header {header} bytes) is over the limit of \
         {limit} payload bytes and {MAX_HEADER} header bytes"
    ))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Encodes a header.
///
/// # Errors
/// `InvalidData` if the header cannot be encoded (never for these types).
pub fn encode_header(frame: &Frame) -> io::Result<Vec<u8>> {
    serde_pickle::to_vec(frame, serde_pickle::SerOptions::new())
        .map_err(|err| invalid(format!("cannot encode frame header: {err}")))
}

/// Decodes a header.
///
/// # Errors
/// `InvalidData` for bytes that are not a header.
pub fn decode_header(bytes: &[u8]) -> io::Result<Frame> {
    if let Some(frame) = super::header_pickle::hot_frame(bytes) {
        return Ok(frame);
    }
    match super::header_pickle::parse(bytes) {
        Some(value) => serde_pickle::from_value(value),
        None => serde_pickle::from_slice(bytes, serde_pickle::DeOptions::new()),
    }
    .map_err(|err| invalid(format!("bad frame header: {err}")))
}

/// The size of the two lengths that start every frame.
pub const PREFIX: usize = 12;

/// Payloads up to this size are copied next to their header and written
/// with it in one system call; larger ones are written in place.
pub const COPY_LIMIT: usize = 64 * 1024;

/// Writes one frame: lengths, header, payload.
///
/// # Errors
/// Any write error; `InvalidData` for a header or payload over the limits.
pub fn write_frame(out: &mut impl Write, header: &[u8], payload: &[u8]) -> io::Result<()> {
    let head = frame_head(header, payload, 0)?;
    if payload.len() <= COPY_LIMIT {
        let mut whole = head;
        whole.extend_from_slice(payload);
        return out.write_all(&whole);
    }
    out.write_all(&head)?;
    out.write_all(payload)
}

/// The lengths and the header of a frame that announces `buffers` shared
/// buffers, with room for the payload if it is small enough to copy.
///
/// # Errors
/// `InvalidData` for a header, payload or number of buffers over the limits.
pub fn frame_head(header: &[u8], payload: &[u8], buffers: usize) -> io::Result<Vec<u8>> {
    let limit = payload_limit();
    if header.len() > MAX_HEADER || payload.len() as u64 > limit {
        return Err(too_large(header.len(), payload.len() as u64, limit));
    }
    if buffers > MAX_BUFFERS {
        return Err(invalid(format!(
            "a frame may carry at most {MAX_BUFFERS} shared buffers, not {buffers}"
        )));
    }
    let inline = payload.len() <= COPY_LIMIT;
    let mut head =
        Vec::with_capacity(PREFIX + header.len() + if inline { payload.len() } else { 0 });
    let first_word = header.len() as u32 | (buffers as u32) << 24;
    head.extend_from_slice(&first_word.to_le_bytes());
    head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    head.extend_from_slice(header);
    Ok(head)
}

/// The most shared buffers one frame may announce.
pub const MAX_BUFFERS: usize = 32;

/// The header length and the number of shared buffers, from the first word.
fn split_first_word(word: u32) -> (usize, usize) {
    ((word & 0x00FF_FFFF) as usize, (word >> 24) as usize)
}

/// The full length of the frame at the start of `buf`, once its two lengths
/// are there, checked against `limit` payload bytes.
///
/// # Errors
/// `InvalidData` for lengths over the limits, or more than [`MAX_BUFFERS`]
/// buffers announced.
pub fn frame_len(buf: &[u8], limit: u64) -> io::Result<Option<usize>> {
    let Some(&[h0, h1, h2, h3, p0, p1, p2, p3, p4, p5, p6, p7]) = buf.get(..PREFIX) else {
        return Ok(None);
    };
    let (header_len, buffers) = split_first_word(u32::from_le_bytes([h0, h1, h2, h3]));
    let payload_len = u64::from_le_bytes([p0, p1, p2, p3, p4, p5, p6, p7]);
    if header_len > MAX_HEADER || payload_len > limit {
        return Err(too_large(header_len, payload_len, limit));
    }
    if buffers > MAX_BUFFERS {
        return Err(invalid(format!(
            "a frame announces {buffers} shared buffers, more than {MAX_BUFFERS}"
        )));
    }
    let payload_len = usize::try_from(payload_len)
        .map_err(|_| invalid("payload does not fit in memory".into()))?;
    Ok(Some(PREFIX + header_len + payload_len))
}

/// The number of shared buffers the frame at the start of `buf` announces,
/// once its first word is there.
pub fn buffers_announced(buf: &[u8]) -> Option<usize> {
    let &[h0, h1, h2, h3] = buf.get(..4)? else {
        return None;
    };
    Some(split_first_word(u32::from_le_bytes([h0, h1, h2, h3])).1)
}

/// Splits the whole frame at the start of `buf` into its header and its
/// payload's bytes; `Ok(None)` if the frame is not all there yet.
///
/// # Errors
/// `InvalidData` for lengths over the limits or a header that does not decode.
pub fn parse_frame(buf: &[u8], limit: u64) -> io::Result<Option<(Frame, &[u8])>> {
    let Some(len) = frame_len(buf, limit)? else {
        return Ok(None);
    };
    if buf.len() < len {
        return Ok(None);
    }
    let (header_len, _) = split_first_word(u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]));
    let header = decode_header(&buf[PREFIX..PREFIX + header_len])?;
    Ok(Some((header, &buf[PREFIX + header_len..len])))
}

/// Reads one frame, blocking; `Ok(None)` at a clean end of stream (before a
/// frame). Memory grows with the bytes read, not with the length announced.
///
/// # Errors
/// Read errors, `UnexpectedEof` inside a frame, `InvalidData` for lengths
/// over the limits or a header that does not decode.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<(Frame, Vec<u8>)>> {
    let mut frame = vec![0u8; PREFIX];
    let mut got = 0;
    while got < PREFIX {
        match input.read(&mut frame[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    let limit = payload_limit();
    let Some(len) = frame_len(&frame, limit)? else {
        unreachable!("the lengths were just read");
    };
    if buffers_announced(&frame).unwrap_or(0) > 0 {
        return Err(invalid(
            "a frame carries shared buffers, which only a link's reader can receive".into(),
        ));
    }
    let rest = (len - PREFIX) as u64;
    if input.take(rest).read_to_end(&mut frame)? as u64 != rest {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let Some((header, payload)) = parse_frame(&frame, limit)? else {
        unreachable!("the whole frame was just read");
    };
    Ok(Some((header, payload.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Frame> {
        let to = Address {
            process: 2,
            actor: 7,
        };
        let reply = FutureId { process: 0, id: 41 };
        let future = FutureId { process: 2, id: 9 };
        vec![
            Frame::Tell { to },
            Frame::Ask { to, reply },
            Frame::Reply {
                to: reply,
                ok: false,
            },
            Frame::Undeliverable {
                to: reply,
                reason: "not found".into(),
            },
            Frame::Subscribe { future, reply },
            Frame::Spawn { reply },
            Frame::Request { reply },
            Frame::Registered { actor: to },
            Frame::Unregistered { actor: to },
            Frame::Stopped { actor: to },
            Frame::ProcessDied {
                process: 3,
                cause: "killed by SIGKILL".into(),
            },
            Frame::Log,
            Frame::LogLevels,
            Frame::Load {
                actors: 4,
                waiting: 10,
            },
            Frame::Shutdown,
            Frame::GatherStats { reply },
            Frame::Stats,
            Frame::Exited {
                actor: to,
                reason: "failure".into(),
            },
            Frame::Offer { to, ack: future },
            Frame::OfferAsk {
                to,
                reply,
                ack: future,
            },
        ]
    }

    /// The frames of the golden files `tests/golden/frames.bin` (written by
    /// this codec) and `tests/golden/frames_from_python.bin` (written by
    /// `pykka_rs/_wire.py`; `tests/test_wire.py` says how to rewrite it): every
    /// variant, with integers on both sides of each encoding's boundary and a
    /// string that is not ASCII. `tests/test_wire.py` lists the same frames.
    #[allow(clippy::too_many_lines)] // one entry per frame variant
    fn golden_frames() -> Vec<(Frame, Vec<u8>)> {
        let asker = FutureId { process: 0, id: 41 };
        vec![
            (
                Frame::Tell {
                    to: Address {
                        process: 2,
                        actor: 7,
                    },
                },
                b"tell".to_vec(),
            ),
            (
                Frame::Ask {
                    to: Address {
                        process: 1,
                        actor: 0x8000_0000,
                    },
                    reply: asker,
                },
                b"ask".to_vec(),
            ),
            (
                Frame::Reply {
                    to: asker,
                    ok: true,
                },
                b"value".to_vec(),
            ),
            (
                Frame::Reply {
                    to: FutureId {
                        process: 3,
                        id: (1 << 63) - 1,
                    },
                    ok: false,
                },
                b"error".to_vec(),
            ),
            (
                Frame::Undeliverable {
                    to: asker,
                    reason: "died with its process: \u{201c}killed\u{201d} \u{2620}".into(),
                },
                Vec::new(),
            ),
            (
                Frame::Subscribe {
                    future: FutureId { process: 2, id: 9 },
                    reply: FutureId { process: 1, id: 12 },
                },
                Vec::new(),
            ),
            (
                Frame::Spawn {
                    reply: FutureId { process: 0, id: 5 },
                },
                b"spawn".to_vec(),
            ),
            (
                Frame::Request {
                    reply: FutureId { process: 1, id: 6 },
                },
                b"request".to_vec(),
            ),
            (
                Frame::Registered {
                    actor: Address {
                        process: 1,
                        actor: u64::from(u32::MAX) + 1,
                    },
                },
                b"registered".to_vec(),
            ),
            (
                Frame::Unregistered {
                    actor: Address {
                        process: 1,
                        actor: 3,
                    },
                },
                Vec::new(),
            ),
            (
                Frame::Stopped {
                    actor: Address {
                        process: u32::MAX,
                        actor: 0,
                    },
                },
                Vec::new(),
            ),
            (
                Frame::ProcessDied {
                    process: 0x8000_0000,
                    cause: "exited with status 3".into(),
                },
                Vec::new(),
            ),
            (Frame::Log, b"log".to_vec()),
            (Frame::LogLevels, b"levels".to_vec()),
            (
                Frame::Load {
                    actors: 0x7fff_ffff,
                    waiting: 1 << 40,
                },
                Vec::new(),
            ),
            (Frame::Shutdown, Vec::new()),
            (
                Frame::GatherStats {
                    reply: FutureId {
                        process: 0,
                        id: 0x7fff_ffff_ffff_ffff,
                    },
                },
                Vec::new(),
            ),
            (Frame::Stats, b"stats".to_vec()),
            (
                Frame::Exited {
                    actor: Address {
                        process: 0x8000_0000,
                        actor: (1 << 63) - 1,
                    },
                    reason: "fa\u{ef}lure".into(),
                },
                b"details".to_vec(),
            ),
            (
                Frame::Offer {
                    to: Address {
                        process: 2,
                        actor: 7,
                    },
                    ack: FutureId {
                        process: 0,
                        id: 0x8000_0000,
                    },
                },
                b"offer".to_vec(),
            ),
            (
                Frame::OfferAsk {
                    to: Address {
                        process: 1,
                        actor: 9,
                    },
                    reply: asker,
                    ack: FutureId { process: 0, id: 42 },
                },
                b"offered ask".to_vec(),
            ),
        ]
    }

    fn golden_path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name)
    }

    fn read_golden(name: &str) -> Vec<u8> {
        let path = golden_path(name);
        std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
    }

    /// Compares the encoding of [`golden_frames`] with `tests/golden/frames.bin`,
    /// which `tests/test_wire.py` decodes with `pykka_rs/_wire.py`. With
    /// `PYKKA_RS_BLESS=1` in the environment, rewrites the file instead.
    #[test]
    fn golden_frames_encode_as_in_the_file_python_reads() {
        let mut wire = Vec::new();
        for (frame, payload) in golden_frames() {
            write_frame(&mut wire, &encode_header(&frame).unwrap(), &payload).unwrap();
        }
        let path = golden_path("frames.bin");
        if std::env::var_os("PYKKA_RS_BLESS").is_some_and(|bless| bless == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &wire).unwrap();
            return;
        }
        let golden = read_golden("frames.bin");
        let mut input = golden.as_slice();
        for (frame, payload) in golden_frames() {
            assert_eq!(read_frame(&mut input).unwrap(), Some((frame, payload)));
        }
        assert!(read_frame(&mut input).unwrap().is_none());
        assert!(
            golden == wire,
            "frames no longer encode as in {}; if that is meant, the wire format changed: \
             update pykka_rs/_wire.py and docs/protocol.md, then rerun with PYKKA_RS_BLESS=1",
            path.display()
        );
    }

    /// Decodes `tests/golden/frames_from_python.bin`, the frames of
    /// [`golden_frames`] as `pykka_rs/_wire.py` encodes them.
    #[test]
    fn frames_written_by_python_decode_to_the_golden_frames() {
        let wire = read_golden("frames_from_python.bin");
        let mut input = wire.as_slice();
        for (frame, payload) in golden_frames() {
            assert_eq!(read_frame(&mut input).unwrap(), Some((frame, payload)));
        }
        assert!(read_frame(&mut input).unwrap().is_none());
    }

    /// How serde-pickle alone reads `bytes` as a header.
    fn by_serde_pickle(bytes: &[u8]) -> Option<Frame> {
        serde_pickle::from_slice(bytes, serde_pickle::DeOptions::new()).ok()
    }

    #[test]
    fn every_header_is_read_without_serde_pickles_reader_and_alike() {
        let large = FutureId {
            process: 3,
            id: 1 << 40,
        };
        let far = Address {
            process: u32::MAX,
            actor: i64::MAX as u64,
        };
        let mut frames = every_kind();
        frames.push(Frame::Reply {
            to: large,
            ok: true,
        });
        frames.push(Frame::Ask {
            to: far,
            reply: large,
        });
        frames.push(Frame::Tell { to: far });
        for frame in frames {
            let header = encode_header(&frame).unwrap();
            let quick = super::super::header_pickle::parse(&header);
            assert!(quick.is_some(), "{frame:?} takes the slow way");
            // The frames of every message skip even the values.
            let hot = matches!(
                frame,
                Frame::Tell { .. } | Frame::Ask { .. } | Frame::Reply { .. }
            );
            let read_hot = super::super::header_pickle::hot_frame(&header);
            assert_eq!(read_hot.is_some(), hot, "{frame:?}");
            assert_eq!(decode_header(&header).unwrap(), frame);
            assert_eq!(by_serde_pickle(&header), Some(frame));
        }
    }

    #[test]
    fn a_header_the_quick_reader_does_not_know_is_read_by_serde_pickle() {
        // Python's own pickle of a Tell (protocol 4: framed, memoized).
        let header = b"\x80\x04\x95\x2d\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x8c\x04Tell\
            \x94\x7d\x94\x8c\x02to\x94\x7d\x94\x28\x8c\x07process\x94\x4b\x02\
            \x8c\x05actor\x94\x4b\x07\x75\x73\x73\x2e";
        assert!(super::super::header_pickle::parse(header).is_none());
        let to = Address {
            process: 2,
            actor: 7,
        };
        assert_eq!(decode_header(header).unwrap(), Frame::Tell { to });
    }

    #[test]
    fn damaged_headers_read_as_serde_pickle_reads_them() {
        // Cut short, or any byte changed: whatever the quick reader accepts,
        // serde-pickle reads as the same frame; the rest is an error.
        for frame in every_kind() {
            let header = encode_header(&frame).unwrap();
            for cut in 0..header.len() {
                assert!(decode_header(&header[..cut]).is_err());
            }
            for at in 0..header.len() {
                for byte in [
                    0x00, 0x01, 0x7f, 0x80, 0xff, b'(', b'.', b'u', b's', b'J', b'X',
                ] {
                    let mut damaged = header.clone();
                    damaged[at] = byte;
                    assert_eq!(
                        decode_header(&damaged).ok(),
                        by_serde_pickle(&damaged),
                        "{frame:?} with byte {at} set to {byte:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_frame_survives_the_wire() {
        let mut wire = Vec::new();
        for (i, frame) in every_kind().iter().enumerate() {
            write_frame(&mut wire, &encode_header(frame).unwrap(), &[i as u8; 3]).unwrap();
        }
        let mut input = wire.as_slice();
        for (i, frame) in every_kind().into_iter().enumerate() {
            let (got, payload) = read_frame(&mut input).unwrap().unwrap();
            assert_eq!(got, frame);
            assert_eq!(payload, vec![i as u8; 3]);
        }
        assert!(read_frame(&mut input).unwrap().is_none());
    }

    #[test]
    fn frames_parse_from_a_buffer_only_when_whole() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &encode_header(&Frame::Log).unwrap(), b"abc").unwrap();
        let big = vec![7u8; COPY_LIMIT + 1];
        write_frame(&mut wire, &encode_header(&Frame::Shutdown).unwrap(), &big).unwrap();
        let first = frame_len(&wire, MAX_PAYLOAD).unwrap().unwrap();
        for cut in 0..first {
            assert!(parse_frame(&wire[..cut], MAX_PAYLOAD).unwrap().is_none());
        }
        let (frame, payload) = parse_frame(&wire, MAX_PAYLOAD).unwrap().unwrap();
        assert_eq!((frame, payload), (Frame::Log, &b"abc"[..]));
        let (frame, payload) = parse_frame(&wire[first..], MAX_PAYLOAD).unwrap().unwrap();
        assert_eq!(frame, Frame::Shutdown);
        assert_eq!(payload, &big[..]);
    }

    #[test]
    fn a_truncated_frame_is_an_error_not_an_end() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &encode_header(&Frame::Log).unwrap(), b"payload").unwrap();
        wire.truncate(wire.len() - 1);
        let err = read_frame(&mut wire.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn absurd_lengths_are_refused_before_allocating() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&(1u32 << 30).to_le_bytes());
        wire.extend_from_slice(&0u64.to_le_bytes());
        let err = read_frame(&mut wire.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn memory_grows_with_the_bytes_that_arrive_not_with_the_length_announced() {
        // 8 GiB announced, a few bytes sent: the reader must not reserve the
        // announced size (under an address-space limit that would abort).
        let mut wire = Vec::new();
        wire.extend_from_slice(&4u32.to_le_bytes());
        wire.extend_from_slice(&(8u64 << 30).to_le_bytes());
        wire.extend_from_slice(b"head and a little payload");
        let err = read_frame(&mut wire.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_payload_over_the_limit_is_refused_by_length_alone() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&4u32.to_le_bytes());
        wire.extend_from_slice(&101u64.to_le_bytes());
        let err = frame_len(&wire, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("over the limit of 100"), "{err}");
        assert_eq!(frame_len(&wire, 101).unwrap(), Some(PREFIX + 4 + 101));
    }

    #[test]
    fn garbage_in_a_header_is_invalid_data() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"not a pickle", b"").unwrap();
        let err = read_frame(&mut wire.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn only_addressed_frames_have_a_destination() {
        let destinations: Vec<_> = every_kind().iter().map(Frame::destination).collect();
        assert_eq!(
            destinations,
            [
                Some(2),
                Some(2),
                Some(0),
                Some(0),
                Some(2),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                Some(2),
                Some(2)
            ]
        );
    }
}
