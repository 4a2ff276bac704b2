//! Sockets between the parent and its workers.
//!
//! The parent listens on a Unix domain socket inside a directory only its
//! user may enter (mode 0700). A worker learns the socket's path and the
//! pool's secret through its standard input, which nobody else can read,
//! checks that the directory is its user's and private, connects, and the
//! two prove to each other that they hold the secret (`handshake.rs`)
//! before either reads a frame. After that, both sides speak frames
//! (`frame.rs`).
//!
//! Reading is split from writing. Any thread may send (`Link`); reading goes
//! through an `Inbound`, which takes whatever bytes have arrived without
//! waiting (`recv` with `MSG_DONTWAIT`) and cuts them into frames. That lets a
//! thread that is spinning anyway (waiting for a reply) read the socket
//! itself, while the link's own thread waits in `poll` without holding it.
//! An `Inbound` makes room for a frame as its bytes arrive, never for the
//! length a peer announces, and reports an allocation that fails instead
//! of aborting.
//!
//! A frame with shared buffers (`crate::payload`) is written by one
//! `sendmsg` that carries their descriptors (`SCM_RIGHTS`) on its first
//! byte, after everything queued before it; it is never queued itself. The
//! kernel hands descriptors to the read that takes the first byte of the
//! write they came with, and ends that read within the write's bytes, so
//! the `Inbound` gives them to the frame that holds the last byte of that
//! read, and checks that the frame announced exactly that many.
//!
//! Rejected: abstract sockets (no file permissions to keep other users out),
//! and a thread that blocks in `read` while holding the socket (nobody else
//! could read it).

use std::collections::VecDeque;
use std::fs;
use std::io::{self, IoSlice, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};

use super::frame::{self, Frame};
use super::handshake::{self, HandshakeError, Secret};
use crate::payload::{Payload, SharedBuffer};
use crate::sync::lock;

/// A directory only this user may enter, removed with everything in it on
/// drop, by the process that made it (a fork that inherits it leaves it).
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    owner: u32,
}

impl PrivateDir {
    /// Creates `pykka_rs-<pid>-<random>` under `parent` with mode 0700.
    ///
    /// # Errors
    /// If the directory cannot be created.
    pub fn create(parent: &Path) -> io::Result<Self> {
        let suffix = handshake::random::<6>()?
            .iter()
            .fold(String::new(), |hex, b| hex + &format!("{b:02x}"));
        let path = parent.join(format!("pykka_rs-{}-{suffix}", std::process::id()));
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        // The umask may have narrowed the mode; it must not have widened it.
        let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self {
            path,
            owner: std::process::id(),
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if std::process::id() != self.owner {
            return;
        }
        if let Err(err) = fs::remove_dir_all(&self.path) {
            if err.kind() != io::ErrorKind::NotFound {
                log::warn!(target: "pykka_rs.pool", "could not remove {}: {err}", self.path.display());
            }
        }
    }
}

/// Removes the private directories that parents which died without
/// cleaning up (killed, say) left in `parent`: those of this user whose
/// process is gone. A directory of a live process is never touched.
pub fn sweep_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("pykka_rs-"))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        let path = entry.path();
        // Only this user's private directories, and never a live owner's.
        if handshake::check_private_dir(&path).is_err()
            || rustix::process::test_kill_process(pid) != Err(rustix::io::Errno::SRCH)
        {
            continue;
        }
        if let Err(err) = fs::remove_dir_all(&path) {
            log::debug!(target: "pykka_rs.pool", "could not remove {}: {err}", path.display());
        }
    }
}

/// The parent's listening socket, in its private directory.
#[derive(Debug)]
pub struct Listener {
    socket: UnixListener,
    path: PathBuf,
    secret: Secret,
    // Declared last: dropped after the socket is closed.
    _dir: PrivateDir,
}

impl Listener {
    /// Listens in a new private directory under `parent`, with a new secret.
    ///
    /// # Errors
    /// If the directory, the secret or the socket cannot be made.
    pub fn bind(parent: &Path) -> io::Result<Self> {
        sweep_stale(parent);
        let dir = PrivateDir::create(parent)?;
        let path = dir.path().join("pool.sock");
        let socket = UnixListener::bind(&path)?;
        Ok(Self {
            socket,
            path,
            secret: Secret::new()?,
            _dir: dir,
        })
    }

    /// The socket's path, for workers to connect to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The secret workers must prove they hold.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Waits for the next connection; nothing is read from it yet.
    ///
    /// # Errors
    /// Accept errors; `InvalidInput` once [`Listener::close`] was called.
    pub fn accept(&self) -> io::Result<UnixStream> {
        loop {
            match self.socket.accept() {
                Ok((stream, _)) => return Ok(stream),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Wakes a thread blocked in [`Listener::accept`] and refuses further
    /// connections: on Linux, shutting a listening socket down makes
    /// `accept` fail at once.
    pub fn close(&self) {
        // Fails only if the socket is not connected or listening: then no
        // thread can be blocked in accept on it either.
        rustix::net::shutdown(&self.socket, rustix::net::Shutdown::Both).ok();
    }

    /// Admits a connection accepted with [`Listener::accept`] if its peer is
    /// a worker of this pool, allowing it `patience`; returns the worker
    /// number it proved.
    ///
    /// # Errors
    /// Why the peer was refused.
    pub fn admit(
        &self,
        stream: &mut UnixStream,
        patience: Duration,
    ) -> Result<u32, HandshakeError> {
        handshake::admit(stream, &self.secret, patience)
    }
}

/// Worker: connects to the parent listening at `path`, once its directory
/// proves to be this user's private one, and proves itself as worker number
/// `worker`, once the parent proved it holds `secret`.
///
/// # Errors
/// Why the parent could not be reached or trusted.
pub fn connect(
    path: &Path,
    secret: &Secret,
    worker: u32,
    patience: Duration,
) -> Result<UnixStream, HandshakeError> {
    let dir = path.parent().ok_or_else(|| {
        HandshakeError::UnsafeDirectory(format!("{} has no directory", path.display()))
    })?;
    handshake::check_private_dir(dir)?;
    let mut stream = UnixStream::connect(path).map_err(HandshakeError::Io)?;
    handshake::join(&mut stream, secret, worker, patience)?;
    Ok(stream)
}

/// The sending half of a connection, shared by every thread that sends on it.
///
/// A frame somebody waits on is written at once ([`Link::send`]); a one-way
/// frame may be queued ([`Link::post`]) and written with others in one system
/// call, by whichever comes first: the next frame sent at once, or the link's
/// flusher thread, which a post wakes when it finds the queue empty. A write
/// takes everything queued before it, under the write lock, so frames keep
/// the order in which they were sent or posted.
///
/// Writing a frame costs a system call that also wakes the reader on the
/// other side, several microseconds on small virtual machines: far more than
/// making the frame. Rejected: a writer thread for every frame (a wake-up
/// on the path of every reply), and a timer (latency for nothing when the
/// sender goes quiet).
///
/// Dropping the link writes what is queued and ends the flusher, which holds
/// the socket's last reference: the peer then sees the end of the stream.
#[derive(Debug)]
pub struct Link {
    shared: Arc<Outgoing>,
}

/// What the link and its flusher thread share.
#[derive(Debug)]
struct Outgoing {
    queue: Mutex<Queued>,
    queued: Condvar,
    writer: Mutex<UnixStream>,
}

#[derive(Debug, Default)]
struct Queued {
    frames: Vec<u8>,
    /// The buffer last written out, emptied, to take the next frames: a
    /// burst of posts then grows no buffer and frees none. Allocating one
    /// per write cost a tell as much as pickling its message.
    spare: Vec<u8>,
    closed: bool,
}

/// The most a spare buffer keeps: past it, a burst's buffer is freed.
const SPARE_CAPACITY: usize = 1 << 20;

impl Queued {
    /// Takes the frames queued, leaving the spare buffer in their place.
    fn take_frames(&mut self) -> Vec<u8> {
        let spare = std::mem::take(&mut self.spare);
        std::mem::replace(&mut self.frames, spare)
    }

    /// Keeps `written`, emptied, as the spare buffer if it is not too large.
    fn give_back(&mut self, mut written: Vec<u8>) {
        if written.capacity() <= SPARE_CAPACITY {
            written.clear();
            self.spare = written;
        }
    }
}

impl Link {
    /// Wraps the writing side of `stream`, with a flusher thread for posted frames.
    ///
    /// # Errors
    /// If the flusher thread cannot be started.
    pub fn new(stream: UnixStream) -> io::Result<Self> {
        let shared = Arc::new(Outgoing {
            queue: Mutex::default(),
            queued: Condvar::new(),
            writer: Mutex::new(stream),
        });
        let flushed = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("pykka_rs-flush".to_owned())
            .spawn(move || flushed.flush_posts())?;
        Ok(Self { shared })
    }

    /// Sends a frame with an already encoded header, now, after everything
    /// queued before it.
    ///
    /// # Errors
    /// Write errors: the peer is gone.
    pub fn send_encoded(&self, header: &[u8], payload: &[u8]) -> io::Result<()> {
        self.shared.write_out(Some((header, payload)))
    }

    /// Sends a frame now, after everything queued before it.
    ///
    /// # Errors
    /// Write errors: the peer is gone.
    pub fn send(&self, header: &Frame, payload: &[u8]) -> io::Result<()> {
        self.send_encoded(&frame::encode_header(header)?, payload)
    }

    /// Sends a frame with the shared buffers of its payload, now, after
    /// everything queued before it; a payload without buffers goes as
    /// [`Link::transmit`] sends it.
    ///
    /// # Errors
    /// As for [`Link::send`]; `InvalidData` for too many buffers.
    pub fn transmit_payload(&self, header: &Frame, payload: &Payload) -> io::Result<()> {
        if payload.buffers().is_empty() {
            return self.transmit(header, payload.bytes());
        }
        let limit = frame::payload_limit();
        let total = payload_bytes(payload.bytes().len(), payload.buffers());
        if total > limit {
            return Err(invalid(format!(
                "a frame of {total} payload bytes, its shared buffers included, is over \
                 the limit of {limit} payload bytes"
            )));
        }
        let header = frame::encode_header(header)?;
        self.shared
            .write_shared(&header, payload.bytes(), payload.buffers())
    }

    /// Sends a frame the way its kind calls for: queued with others if
    /// nobody waits for it ([`Frame::may_wait`]), written at once otherwise.
    ///
    /// # Errors
    /// As for [`Link::post`] and [`Link::send`].
    pub fn transmit(&self, header: &Frame, payload: &[u8]) -> io::Result<()> {
        if header.may_wait() {
            self.post(header, payload)
        } else {
            self.send(header, payload)
        }
    }

    /// Queues a frame nobody waits on, to be written soon with others. A
    /// large one is sent at once instead, rather than copied into the queue.
    ///
    /// # Errors
    /// `BrokenPipe` once the link is closed; write errors when sent at once.
    pub fn post(&self, header: &Frame, payload: &[u8]) -> io::Result<()> {
        if payload.len() > frame::COPY_LIMIT {
            return self.send(header, payload);
        }
        let header = frame::encode_header(header)?;
        let mut queue = self.shared.lock_queue();
        if queue.closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let was_empty = queue.frames.is_empty();
        frame::write_frame(&mut queue.frames, &header, payload)?;
        drop(queue);
        if was_empty {
            self.shared.queued.notify_one();
        }
        Ok(())
    }

    /// Writes what is queued, closes both directions (waking the reader on
    /// either side) and ends the flusher thread.
    pub fn close(&self) {
        self.shared.finish();
        let writer = lock(&self.shared.writer);
        drop(writer.shutdown(std::net::Shutdown::Both));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.shared.finish();
    }
}

impl Outgoing {
    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queued> {
        lock(&self.queue)
    }

    /// Writes everything queued, then the frame `(header, payload)` if given:
    /// in one system call, unless the payload is too large to copy.
    fn write_out(&self, mut frame: Option<(&[u8], &[u8])>) -> io::Result<()> {
        let mut writer = lock(&self.writer);
        let mut queued = self.lock_queue().take_frames();
        let mut appended = Ok(());
        if let Some((header, payload)) = frame.filter(|(_, p)| p.len() <= frame::COPY_LIMIT) {
            // A frame that fails its checks appends nothing; the queued
            // frames still go out.
            appended = frame::write_frame(&mut queued, header, payload);
            frame = None;
        }
        if !queued.is_empty() {
            writer.write_all(&queued)?;
        }
        self.lock_queue().give_back(queued);
        appended?;
        match frame {
            Some((header, payload)) => frame::write_frame(&mut *writer, header, payload),
            None => Ok(()),
        }
    }

    /// Writes everything queued, then a frame whose first byte carries the
    /// descriptors of `buffers`.
    fn write_shared(
        &self,
        header: &[u8],
        payload: &[u8],
        buffers: &[SharedBuffer],
    ) -> io::Result<()> {
        let head = frame::frame_head(header, payload, buffers.len())?;
        let mut writer = lock(&self.writer);
        let queued = self.lock_queue().take_frames();
        if !queued.is_empty() {
            writer.write_all(&queued)?;
        }
        self.lock_queue().give_back(queued);
        let fds: Vec<BorrowedFd<'_>> = buffers.iter().map(SharedBuffer::fd).collect();
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(frame::MAX_BUFFERS))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "too many shared buffers for one frame",
            ));
        }
        let parts = [IoSlice::new(&head), IoSlice::new(payload)];
        let sent = loop {
            match sendmsg(&*writer, &parts, &mut control, SendFlags::NOSIGNAL) {
                Ok(sent) => break sent,
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        };
        // The descriptors went with the first bytes; the rest follows plainly.
        if sent < head.len() {
            writer.write_all(&head[sent..])?;
            writer.write_all(payload)
        } else {
            writer.write_all(&payload[sent - head.len()..])
        }
    }

    /// The flusher thread: writes posted frames until the link closes.
    fn flush_posts(&self) {
        loop {
            {
                let mut queue = self.lock_queue();
                while queue.frames.is_empty() && !queue.closed {
                    queue = self
                        .queued
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                if queue.closed {
                    return;
                }
            }
            if self.write_out(None).is_err() {
                // The peer is gone; the link's reader reports it.
                self.lock_queue().frames.clear();
            }
        }
    }

    /// Writes what is queued and ends the flusher thread.
    fn finish(&self) {
        drop(self.write_out(None));
        self.lock_queue().closed = true;
        self.queued.notify_all();
    }
}

/// The reading half of a connection: bytes received so far, cut into frames.
#[derive(Debug)]
pub struct Inbound {
    stream: UnixStream,
    /// Every byte of it initialised (a read needs initialised memory to
    /// take descriptors along); `filled` of them received.
    buf: Vec<u8>,
    filled: usize,
    start: usize,
    ended: bool,
    limit: u64,
    /// The offset in the stream of `buf[0]`.
    consumed: u64,
    /// Descriptors received, each batch with the offset in the stream of
    /// the last byte of the read that brought it.
    arrived: VecDeque<(u64, Vec<OwnedFd>)>,
}

/// How much room to make for reading when the next frame's size is unknown,
/// and the least a buffer grows by.
const READ_CHUNK: usize = 64 * 1024;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The bytes of a payload of `len` bytes with `buffers` beside it.
fn payload_bytes(len: usize, buffers: &[SharedBuffer]) -> u64 {
    buffers.iter().fold(len as u64, |total, buffer| {
        total.saturating_add(buffer.len())
    })
}

impl Inbound {
    /// Reads from `stream`, accepting payloads up to [`frame::payload_limit`].
    pub fn new(stream: UnixStream) -> Self {
        Self::with_limit(stream, frame::payload_limit())
    }

    /// Reads from `stream`, accepting payloads up to `limit` bytes.
    pub fn with_limit(stream: UnixStream, limit: u64) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            filled: 0,
            start: 0,
            ended: false,
            limit,
            consumed: 0,
            arrived: VecDeque::new(),
        }
    }

    /// Whether the peer closed the connection (after the frames still buffered).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Makes room for the rest of the frame being received: at most twice
    /// what has arrived of it so far, so memory follows the bytes received
    /// and not the length a peer announced.
    fn make_room(&mut self) -> io::Result<()> {
        let pending = &self.buf[self.start..self.filled];
        let wanted = match frame::frame_len(pending, self.limit)? {
            Some(len) => len
                .saturating_sub(pending.len())
                .min(pending.len().max(READ_CHUNK)),
            None => READ_CHUNK,
        }
        .max(READ_CHUNK);
        let spare = self.buf.len() - self.filled;
        if spare >= wanted.min(READ_CHUNK) {
            return Ok(());
        }
        // At least double: each byte is zeroed once, and the buffer reused.
        let grow = (wanted - spare).max(self.buf.len());
        self.buf.try_reserve(grow).map_err(|err| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("no memory for {wanted} more bytes of an incoming frame: {err}"),
            )
        })?;
        self.buf.resize(self.buf.len() + grow, 0);
        Ok(())
    }

    /// Takes whatever bytes have arrived, without waiting. Returns whether any did.
    ///
    /// # Errors
    /// Read errors other than "nothing there yet"; `InvalidData` for a frame
    /// over the limits or more descriptors than a frame may carry;
    /// `OutOfMemory` when there is no room for the bytes. The end of the
    /// stream is not an error but makes [`Inbound::ended`] true.
    pub fn read_available(&mut self) -> io::Result<bool> {
        if self.ended {
            return Ok(false);
        }
        if self.start > 0 && self.start >= self.filled / 2 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.consumed += self.start as u64;
            self.start = 0;
        }
        let mut any = false;
        loop {
            self.make_room()?;
            let room = self.buf.len() - self.filled;
            let mut space =
                [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(frame::MAX_BUFFERS))];
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let mut parts = [IoSliceMut::new(&mut self.buf[self.filled..])];
            let got = match recvmsg(
                &self.stream,
                &mut parts,
                &mut control,
                RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC,
            ) {
                Ok(msg) if msg.flags.contains(ReturnFlags::CTRUNC) => {
                    return Err(invalid(format!(
                        "more descriptors arrived than a frame may carry ({})",
                        frame::MAX_BUFFERS
                    )));
                }
                Ok(msg) => msg.bytes,
                Err(rustix::io::Errno::AGAIN) => return Ok(any),
                Err(rustix::io::Errno::INTR) => continue,
                Err(err) => return Err(err.into()),
            };
            let fds: Vec<OwnedFd> = control
                .drain()
                .filter_map(|message| match message {
                    RecvAncillaryMessage::ScmRights(fds) => Some(fds),
                    _ => None,
                })
                .flatten()
                .collect();
            drop(control);
            if got == 0 {
                self.ended = true;
                return Ok(any);
            }
            if !fds.is_empty() {
                let last = self.consumed + (self.filled + got - 1) as u64;
                self.arrived.push_back((last, fds));
            }
            self.filled += got;
            // Less than there was room for: the socket had no more, so
            // asking again would only cost a system call on the hot path.
            if got < room {
                return Ok(true);
            }
            any = true;
        }
    }

    /// The descriptors that came with the frame at `[from, to)` of the
    /// stream, which announced `announced` of them, as shared buffers.
    fn buffers_for(
        &mut self,
        from: u64,
        to: u64,
        announced: usize,
    ) -> io::Result<Vec<SharedBuffer>> {
        let mut fds = Vec::new();
        while let Some(&(at, _)) = self.arrived.front() {
            if at >= to {
                break;
            }
            let (_, batch) = self.arrived.pop_front().expect("the front was just seen");
            if at < from {
                return Err(invalid(
                    "descriptors arrived inside a frame that announced none".into(),
                ));
            }
            fds.extend(batch);
        }
        if fds.len() != announced {
            return Err(invalid(format!(
                "a frame announced {announced} shared buffers and came with {} descriptors",
                fds.len()
            )));
        }
        fds.into_iter()
            .map(|fd| SharedBuffer::adopt(fd, self.limit))
            .collect()
    }

    /// Checks that a payload of `len` bytes and its `buffers` are within
    /// the limit together, as one payload would have to be.
    fn check_total(&self, len: usize, buffers: &[SharedBuffer]) -> io::Result<()> {
        let total = payload_bytes(len, buffers);
        if total > self.limit {
            return Err(invalid(format!(
                "a frame of {total} payload bytes, its shared buffers included, is over \
                 the limit of {} payload bytes",
                self.limit
            )));
        }
        Ok(())
    }

    /// The next whole frame received so far, with its payload.
    ///
    /// # Errors
    /// `InvalidData` for a frame that does not decode, is over the limits,
    /// or whose shared buffers are missing or not what they must be;
    /// `UnexpectedEof` once the peer ended the stream in the middle of a frame.
    pub fn next_frame(&mut self) -> io::Result<Option<(Frame, Payload)>> {
        let pending = &self.buf[self.start..self.filled];
        match frame::parse_frame(pending, self.limit)? {
            Some((header, payload)) => {
                let payload = payload.to_vec();
                let len = frame::frame_len(pending, self.limit)?.unwrap_or(0);
                let announced = frame::buffers_announced(pending).unwrap_or(0);
                let from = self.consumed + self.start as u64;
                let buffers = self.buffers_for(from, from + len as u64, announced)?;
                self.check_total(payload.len(), &buffers)?;
                self.start += len;
                if self.start == self.filled {
                    // All taken: start over, and give back what a large frame needed.
                    self.consumed += self.filled as u64;
                    self.filled = 0;
                    self.start = 0;
                    if self.buf.len() > 16 * READ_CHUNK {
                        self.buf.truncate(READ_CHUNK);
                        self.buf.shrink_to_fit();
                    }
                }
                Ok(Some((header, Payload::new(payload, buffers))))
            }
            None if self.ended && self.start < self.filled => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer ended the connection inside a frame",
            )),
            None => Ok(None),
        }
    }

    /// The socket, for waiting on it.
    pub fn socket(&self) -> &UnixStream {
        &self.stream
    }
}

/// Waits until `socket` has something to read (or has ended), up to
/// `timeout` (`None`: as long as it takes).
///
/// # Errors
/// If `poll` fails.
pub fn wait_readable(socket: &impl AsFd, timeout: Option<std::time::Duration>) -> io::Result<bool> {
    let timeout = timeout
        .map(|t| {
            rustix::event::Timespec::try_from(t).map_err(|_| io::Error::other("timeout too large"))
        })
        .transpose()?;
    let mut fds = [PollFd::new(socket, PollFlags::IN)];
    loop {
        match poll(&mut fds, timeout.as_ref()) {
            Ok(ready) => return Ok(ready > 0),
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::frame::{Address, read_frame};

    #[test]
    fn the_private_directory_is_for_this_user_only_and_goes_away() {
        let dir = PrivateDir::create(&std::env::temp_dir()).unwrap();
        let path = dir.path().to_owned();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o700
        );
        fs::write(path.join("leftover"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
    }

    const PATIENCE: Duration = Duration::from_secs(5);

    #[test]
    fn a_worker_with_the_secret_gets_through_and_frames_flow() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let socket = listener.path().to_owned();
        let secret = listener.secret().clone();
        let worker = std::thread::spawn(move || {
            let stream = connect(&socket, &secret, 3, PATIENCE).unwrap();
            let link = Link::new(stream.try_clone().unwrap()).unwrap();
            let to = Address {
                process: 0,
                actor: 1,
            };
            link.send(&Frame::Tell { to }, b"hello").unwrap();
            stream
        });
        let mut stream = listener.accept().unwrap();
        assert_eq!(listener.admit(&mut stream, PATIENCE).unwrap(), 3);
        let (frame, payload) = read_frame(&mut stream).unwrap().unwrap();
        assert_eq!(
            frame,
            Frame::Tell {
                to: Address {
                    process: 0,
                    actor: 1
                }
            }
        );
        assert_eq!(payload, b"hello");
        drop(worker.join().unwrap());
        assert!(read_frame(&mut stream).unwrap().is_none());
    }

    #[test]
    fn a_worker_with_another_secret_gets_nowhere() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let socket = listener.path().to_owned();
        let intruder = std::thread::spawn(move || {
            connect(&socket, &Secret::new().unwrap(), 1, PATIENCE).unwrap_err()
        });
        let mut stream = listener.accept().unwrap();
        assert!(listener.admit(&mut stream, PATIENCE).is_err());
        assert!(matches!(
            intruder.join().unwrap(),
            HandshakeError::WrongSecret
        ));
    }

    #[test]
    fn a_worker_refuses_a_socket_in_a_directory_others_may_use() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let dir = listener.path().parent().unwrap().to_owned();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = connect(listener.path(), listener.secret(), 1, PATIENCE).unwrap_err();
        assert!(matches!(err, HandshakeError::UnsafeDirectory(_)), "{err}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn closing_the_listener_wakes_a_blocked_accept() {
        let listener = Arc::new(Listener::bind(&std::env::temp_dir()).unwrap());
        let accepting = {
            let listener = Arc::clone(&listener);
            std::thread::spawn(move || listener.accept().map(drop))
        };
        // Whether the accept is already blocked or not, it must fail now.
        std::thread::sleep(Duration::from_millis(20));
        listener.close();
        assert!(accepting.join().unwrap().is_err());
    }

    #[test]
    fn inbound_cuts_what_arrives_into_frames_without_waiting() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut inbound = Inbound::new(ours);
        assert!(!inbound.read_available().unwrap());
        assert!(inbound.next_frame().unwrap().is_none());

        let link = Link::new(theirs).unwrap();
        let big = vec![3u8; 300_000];
        link.send(&Frame::Log, b"one").unwrap();
        let sender = std::thread::spawn(move || {
            link.send(&Frame::Shutdown, &big).unwrap();
            link
        });
        let mut frames = Vec::new();
        while frames.len() < 2 {
            wait_readable(inbound.socket(), Some(PATIENCE)).unwrap();
            inbound.read_available().unwrap();
            while let Some(frame) = inbound.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames[0], (Frame::Log, b"one".to_vec().into()));
        assert_eq!(frames[1].0, Frame::Shutdown);
        assert_eq!(frames[1].1.len(), 300_000);

        drop(sender.join().unwrap());
        assert!(wait_readable(inbound.socket(), Some(PATIENCE)).unwrap());
        inbound.read_available().unwrap();
        assert!(inbound.ended());
        assert!(inbound.next_frame().unwrap().is_none());
    }

    #[test]
    fn a_written_buffer_takes_the_next_frames_unless_it_grew_too_large() {
        let mut queue = Queued::default();
        queue.frames.extend_from_slice(b"first");
        let written = queue.take_frames();
        assert_eq!(written, b"first");
        let capacity = written.capacity();
        queue.give_back(written);
        queue.frames.extend_from_slice(b"second");
        let next = queue.take_frames();
        assert_eq!(next, b"second");
        assert!(queue.frames.is_empty());
        assert!(
            queue.frames.capacity() >= capacity,
            "the buffer written before takes the next frames"
        );
        queue.give_back(Vec::with_capacity(SPARE_CAPACITY + 1));
        assert_eq!(queue.spare.capacity(), 0, "a burst's large buffer is freed");
    }

    #[test]
    fn posted_frames_arrive_in_order_with_sent_ones_and_on_their_own() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let link = Link::new(theirs).unwrap();
        let to = |actor| Frame::Tell {
            to: frame::Address { process: 1, actor },
        };
        link.post(&to(1), b"posted").unwrap();
        link.post(&to(2), b"posted").unwrap();
        link.send(&to(3), b"sent").unwrap();
        link.post(&to(4), b"posted, then nothing else").unwrap();
        let mut reader = ours;
        for actor in 1..=4 {
            let (frame, _) = frame::read_frame(&mut reader).unwrap().unwrap();
            assert_eq!(frame, to(actor));
        }
        link.close();
        assert!(link.post(&to(5), b"").is_err());
        assert!(frame::read_frame(&mut reader).unwrap().is_none());
    }

    #[test]
    fn large_and_refused_frames_keep_the_posted_ones_in_order() {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let link = Link::new(theirs).unwrap();
        let to = |actor| Frame::Tell {
            to: frame::Address { process: 1, actor },
        };
        let big = vec![5u8; frame::COPY_LIMIT * 4];
        // A lost frame fails the test instead of hanging it.
        ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let reader = std::thread::spawn(move || {
            (1..=4)
                .map(|_| frame::read_frame(&mut ours).unwrap().unwrap())
                .collect::<Vec<_>>()
        });
        link.post(&to(1), b"posted").unwrap();
        link.send(&to(2), &big).unwrap();
        link.post(&to(3), b"posted").unwrap();
        let too_large = vec![0u8; frame::MAX_HEADER + 1];
        let refused = link.send_encoded(&too_large, b"").unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::InvalidData);
        link.send(&to(4), b"sent").unwrap();
        let got = reader.join().unwrap();
        let actors: Vec<_> = got.iter().map(|(frame, _)| frame.clone()).collect();
        assert_eq!(actors, [to(1), to(2), to(3), to(4)]);
        assert_eq!(got[1].1, big);
    }

    #[test]
    fn a_stream_that_ends_inside_a_frame_is_an_error() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let mut wire = Vec::new();
        frame::write_frame(
            &mut wire,
            &frame::encode_header(&Frame::Log).unwrap(),
            b"payload",
        )
        .unwrap();
        theirs.write_all(&wire[..wire.len() - 2]).unwrap();
        drop(theirs);
        let mut inbound = Inbound::new(ours);
        while !inbound.ended() {
            inbound.read_available().unwrap();
        }
        assert_eq!(
            inbound.next_frame().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn an_announced_frame_reserves_memory_only_as_its_bytes_arrive() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        // 4 GiB announced: the reader must not try to make room for it.
        let mut wire = Vec::new();
        wire.extend_from_slice(&4u32.to_le_bytes());
        wire.extend_from_slice(&(4u64 << 30).to_le_bytes());
        wire.extend_from_slice(&[0; 1000]);
        theirs.write_all(&wire).unwrap();
        let mut inbound = Inbound::new(ours);
        wait_readable(inbound.socket(), Some(PATIENCE)).unwrap();
        inbound.read_available().unwrap();
        assert!(inbound.next_frame().unwrap().is_none());
        assert!(inbound.buf.len() < 1 << 20, "{}", inbound.buf.len());
    }

    #[test]
    fn a_frame_over_the_limit_breaks_the_link_without_being_read() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let mut wire = Vec::new();
        wire.extend_from_slice(&4u32.to_le_bytes());
        wire.extend_from_slice(&1001u64.to_le_bytes());
        theirs.write_all(&wire).unwrap();
        let mut inbound = Inbound::with_limit(ours, 1000);
        wait_readable(inbound.socket(), Some(PATIENCE)).unwrap();
        let err = inbound
            .read_available()
            .and_then(|_| inbound.next_frame())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn directories_of_dead_parents_are_swept_and_others_left_alone() {
        let base = std::env::temp_dir().join(format!("pykka_rs-sweep-{}", std::process::id()));
        fs::create_dir_all(&base).unwrap();
        let private = |name: &str| {
            let dir = base.join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
            dir
        };
        // A pid that cannot exist (above the kernel's maximum).
        let dead = private("pykka_rs-2147483000-abcdef");
        fs::write(dead.join("pool.sock"), b"").unwrap();
        let alive = private(&format!("pykka_rs-{}-abcdef", std::process::id()));
        let other = private("something-else");
        sweep_stale(&base);
        assert!(!dead.exists());
        assert!(alive.exists());
        assert!(other.exists());
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_socket_and_its_directory_go_with_the_listener() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let dir = listener.path().parent().unwrap().to_owned();
        assert!(listener.path().exists());
        drop(listener);
        assert!(!dir.exists());
    }

    fn shared(data: &[u8]) -> SharedBuffer {
        let writer = crate::payload::BufferWriter::new(data.len() as u64).unwrap();
        writer.write_all(data).unwrap();
        writer.seal().unwrap()
    }

    fn frames_until_end(inbound: &mut Inbound) -> io::Result<Vec<(Frame, Payload)>> {
        let mut frames = Vec::new();
        loop {
            wait_readable(inbound.socket(), Some(PATIENCE))?;
            inbound.read_available()?;
            while let Some(frame) = inbound.next_frame()? {
                frames.push(frame);
            }
            if inbound.ended() {
                return Ok(frames);
            }
        }
    }

    fn read_back(buffer: &SharedBuffer) -> Vec<u8> {
        let mut data = vec![0; buffer.len() as usize];
        buffer.read_into(&mut data).unwrap();
        data
    }

    #[test]
    fn shared_buffers_travel_with_their_frame_between_posted_ones() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let link = Link::new(theirs).unwrap();
        let to = |actor| Frame::Tell {
            to: frame::Address { process: 1, actor },
        };
        let big = vec![9u8; 3 << 20];
        let payload = Payload::new(b"pickle".to_vec(), vec![shared(b"first"), shared(&big)]);
        let sender = std::thread::spawn(move || {
            link.post(&to(1), b"before").unwrap();
            link.transmit_payload(&to(2), &payload).unwrap();
            link.post(&to(3), b"after").unwrap();
            link.transmit_payload(&to(4), &Payload::new(vec![0; 200_000], vec![shared(b"x")]))
                .unwrap();
        });
        let mut inbound = Inbound::new(ours);
        sender.join().unwrap();
        let frames = frames_until_end(&mut inbound).unwrap();
        let kinds: Vec<_> = frames.iter().map(|(frame, _)| frame.clone()).collect();
        assert_eq!(kinds, [to(1), to(2), to(3), to(4)]);
        assert!(frames[0].1.buffers().is_empty());
        assert_eq!(frames[1].1.bytes(), b"pickle");
        let buffers: Vec<_> = frames[1].1.buffers().iter().map(read_back).collect();
        assert_eq!(buffers, [b"first".to_vec(), big]);
        assert!(frames[2].1.buffers().is_empty());
        assert_eq!(frames[3].1.buffers().len(), 1);
        assert_eq!(frames[3].1.bytes().len(), 200_000);
    }

    /// Writes `wire` on `socket` with `fds` attached to its first byte.
    fn send_raw(socket: &UnixStream, wire: &[u8], fds: &[BorrowedFd<'_>]) {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
        let sent = sendmsg(
            socket,
            &[IoSlice::new(wire)],
            &mut control,
            SendFlags::empty(),
        )
        .unwrap();
        assert_eq!(sent, wire.len());
    }

    fn tell_wire(buffers: usize) -> Vec<u8> {
        let header = frame::encode_header(&Frame::Tell {
            to: frame::Address {
                process: 0,
                actor: 1,
            },
        })
        .unwrap();
        let mut wire = frame::frame_head(&header, b"p", buffers).unwrap();
        wire.push(b'p');
        wire
    }

    fn refusal(wire: &[u8], fds: &[BorrowedFd<'_>]) -> io::Error {
        let (ours, theirs) = UnixStream::pair().unwrap();
        if fds.is_empty() {
            (&theirs).write_all(wire).unwrap();
        } else {
            send_raw(&theirs, wire, fds);
        }
        drop(theirs);
        let mut inbound = Inbound::new(ours);
        frames_until_end(&mut inbound).unwrap_err()
    }

    #[test]
    fn a_frame_whose_buffers_are_missing_or_unannounced_breaks_the_link() {
        let buffer = shared(b"data");
        let missing = refusal(&tell_wire(1), &[]);
        assert_eq!(missing.kind(), io::ErrorKind::InvalidData);
        assert!(missing.to_string().contains("came with 0"), "{missing}");

        let unannounced = refusal(&tell_wire(0), &[buffer.fd()]);
        assert_eq!(unannounced.kind(), io::ErrorKind::InvalidData);

        let too_few = refusal(&tell_wire(2), &[buffer.fd()]);
        assert!(too_few.to_string().contains("announced 2"), "{too_few}");

        let mut too_many = tell_wire(0);
        too_many[3] = frame::MAX_BUFFERS as u8 + 1;
        let too_many = refusal(&too_many, &[]);
        assert!(too_many.to_string().contains("more than"), "{too_many}");
    }

    #[test]
    fn a_descriptor_that_is_not_a_sealed_filled_memfd_breaks_the_link() {
        let unsealed = crate::payload::BufferWriter::new(4).unwrap();
        unsealed.write_all(b"open").unwrap();
        let fd = rustix::io::fcntl_dupfd_cloexec(
            rustix::fs::memfd_create("unsealed", rustix::fs::MemfdFlags::CLOEXEC).unwrap(),
            0,
        )
        .unwrap();
        let err = refusal(&tell_wire(1), &[fd.as_fd()]);
        assert!(err.to_string().contains("sealed"), "{err}");

        let (socket, _) = UnixStream::pair().unwrap();
        let err = refusal(&tell_wire(1), &[socket.as_fd()]);
        assert!(err.to_string().contains("regular file"), "{err}");
        drop(unsealed);
    }

    #[test]
    fn a_payload_and_its_buffers_over_the_limit_together_break_the_link() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut wire = tell_wire(1);
        wire.push(b'q'); // the payload is now "p" + "q": 2 bytes
        let len_at = 4;
        wire[len_at..len_at + 8].copy_from_slice(&2u64.to_le_bytes());
        let buffer = shared(b"abc");
        send_raw(&theirs, &wire, &[buffer.fd()]);
        drop(theirs);
        let mut inbound = Inbound::with_limit(ours, 4);
        let err = frames_until_end(&mut inbound).unwrap_err();
        assert!(err.to_string().contains("shared buffers included"), "{err}");
    }
}
