//! Sockets between the parent and its workers.
//!
//! The parent listens on a Unix domain socket inside a directory only its
//! user may enter (mode 0700). A worker learns the socket's path and a random
//! 32-byte token through its standard input, which nobody else can read, and
//! opens with a fixed-size greeting: magic, token, worker number. The parent
//! checks the token in constant time before it reads a single frame, so
//! nothing a stranger sends is ever decoded, let alone unpickled. After the
//! greeting, both sides speak frames (`frame.rs`).
//!
//! Reading is split from writing. Any thread may send (`Link`); reading goes
//! through an `Inbound`, which takes whatever bytes have arrived without
//! waiting (`recv` with `MSG_DONTWAIT`) and cuts them into frames. That lets a
//! thread that is spinning anyway (waiting for a reply) read the socket
//! itself, while the link's own thread waits in `poll` without holding it.
//!
//! Rejected: a token on the command line or in the environment (other
//! processes of the same user can read those through `/proc`), abstract
//! sockets (no file permissions to keep other users out), and a thread that
//! blocks in `read` while holding the socket (nobody else could read it).

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{RecvFlags, recv};

use super::frame::{self, Frame};
use crate::sync::lock;

/// The length of the secret a worker presents.
pub const TOKEN_LEN: usize = 32;

/// Starts every greeting; changes if the greeting or frame layout changes.
pub const MAGIC: &[u8; 8] = b"PYKKARS1";

const GREETING_LEN: usize = MAGIC.len() + TOKEN_LEN + 4;

/// A fresh random token, from the operating system's generator.
///
/// # Errors
/// If `/dev/urandom` cannot be read.
pub fn new_token() -> io::Result<[u8; TOKEN_LEN]> {
    let mut token = [0; TOKEN_LEN];
    fs::File::open("/dev/urandom")?.read_exact(&mut token)?;
    Ok(token)
}

/// Compares two tokens in time independent of where they differ.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// A directory only this user may enter, removed with everything in it on drop.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates `pykka_rs-<pid>-<random>` under `parent` with mode 0700.
    ///
    /// # Errors
    /// If the directory cannot be created.
    pub fn create(parent: &Path) -> io::Result<Self> {
        let suffix = new_token()?[..6]
            .iter()
            .fold(String::new(), |hex, b| hex + &format!("{b:02x}"));
        let path = parent.join(format!("pykka_rs-{}-{suffix}", std::process::id()));
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        // The umask may have narrowed the mode; it must not have widened it.
        let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { path })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(err) = fs::remove_dir_all(&self.path) {
            if err.kind() != io::ErrorKind::NotFound {
                log::warn!(target: "pykka_rs.pool", "could not remove {}: {err}", self.path.display());
            }
        }
    }
}

/// The parent's listening socket, in its private directory.
#[derive(Debug)]
pub struct Listener {
    socket: UnixListener,
    path: PathBuf,
    token: [u8; TOKEN_LEN],
    // Declared last: dropped after the socket is closed.
    _dir: PrivateDir,
}

/// A connection the parent accepted, with the worker number its greeting claimed.
#[derive(Debug)]
pub struct Greeted {
    /// The worker number from the greeting.
    pub worker: u32,
    /// The connection, ready for frames.
    pub stream: UnixStream,
}

impl Listener {
    /// Listens in a new private directory under `parent`, with a new token.
    ///
    /// # Errors
    /// If the directory, the token or the socket cannot be made.
    pub fn bind(parent: &Path) -> io::Result<Self> {
        let dir = PrivateDir::create(parent)?;
        let path = dir.path().join("pool.sock");
        let socket = UnixListener::bind(&path)?;
        Ok(Self {
            socket,
            path,
            token: new_token()?,
            _dir: dir,
        })
    }

    /// The socket's path, for workers to connect to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The token workers must present.
    pub fn token(&self) -> &[u8; TOKEN_LEN] {
        &self.token
    }

    /// Accepts the next connection and checks its greeting, allowing the peer
    /// `patience` to send it.
    ///
    /// # Errors
    /// Accept errors; `PermissionDenied` for a wrong magic or token (the
    /// connection is dropped unread); `TimedOut` for a silent peer.
    pub fn accept(&self, patience: Duration) -> io::Result<Greeted> {
        let (stream, _) = self.socket.accept()?;
        self.greet(stream, patience)
    }

    fn greet(&self, mut stream: UnixStream, patience: Duration) -> io::Result<Greeted> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(patience))?;
        let mut greeting = [0; GREETING_LEN];
        stream
            .read_exact(&mut greeting)
            .map_err(|err| match err.kind() {
                io::ErrorKind::WouldBlock => io::Error::new(
                    io::ErrorKind::TimedOut,
                    "a peer connected but sent no greeting",
                ),
                _ => err,
            })?;
        let (magic, rest) = greeting.split_at(MAGIC.len());
        let (token, worker) = rest.split_at(TOKEN_LEN);
        if !same_token(magic, MAGIC) || !same_token(token, &self.token) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "a peer connected without this pool's token",
            ));
        }
        stream.set_read_timeout(None)?;
        Ok(Greeted {
            worker: u32::from_le_bytes(worker.try_into().expect("4 bytes")),
            stream,
        })
    }

    /// Like [`Listener::accept`], but returns `Ok(None)` at once when nobody
    /// is connecting.
    ///
    /// # Errors
    /// As for [`Listener::accept`].
    pub fn try_accept(&self, patience: Duration) -> io::Result<Option<Greeted>> {
        self.socket.set_nonblocking(true)?;
        let waiting = self.socket.accept();
        self.socket.set_nonblocking(false)?;
        match waiting {
            Ok((stream, _)) => self.greet(stream, patience).map(Some),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// Connects to the parent and greets it as worker number `worker`.
///
/// # Errors
/// If the socket cannot be reached or written.
pub fn connect(path: &Path, token: &[u8], worker: u32) -> io::Result<UnixStream> {
    let mut stream = UnixStream::connect(path)?;
    let mut greeting = Vec::with_capacity(GREETING_LEN);
    greeting.extend_from_slice(MAGIC);
    greeting.extend_from_slice(token);
    greeting.extend_from_slice(&worker.to_le_bytes());
    stream.write_all(&greeting)?;
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
    closed: bool,
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
        let mut queued = std::mem::take(&mut self.lock_queue().frames);
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
        appended?;
        match frame {
            Some((header, payload)) => frame::write_frame(&mut *writer, header, payload),
            None => Ok(()),
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
    buf: Vec<u8>,
    start: usize,
    ended: bool,
}

/// How much room to make for reading when the next frame's size is unknown.
const READ_CHUNK: usize = 64 * 1024;

impl Inbound {
    /// Reads from `stream`.
    pub fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(READ_CHUNK),
            start: 0,
            ended: false,
        }
    }

    /// Whether the peer closed the connection (after the frames still buffered).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Takes whatever bytes have arrived, without waiting. Returns whether any did.
    ///
    /// # Errors
    /// Read errors other than "nothing there yet"; the end of the stream is
    /// not an error but makes [`Inbound::ended`] true.
    pub fn read_available(&mut self) -> io::Result<bool> {
        if self.ended {
            return Ok(false);
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut any = false;
        loop {
            let pending = &self.buf[self.start..];
            let wanted = frame::frame_len(pending)?
                .map_or(READ_CHUNK, |len| len.saturating_sub(pending.len()));
            self.buf.reserve(wanted.max(READ_CHUNK));
            let room = self.buf.capacity() - self.buf.len();
            match recv(
                &self.stream,
                rustix::buffer::spare_capacity(&mut self.buf),
                RecvFlags::DONTWAIT,
            ) {
                Ok((0, _)) => {
                    self.ended = true;
                    return Ok(any);
                }
                // Less than there was room for: the socket had no more, so
                // asking again would only cost a system call on the hot path.
                Ok((got, _)) if got < room => return Ok(true),
                Ok(_) => any = true,
                Err(rustix::io::Errno::AGAIN) => return Ok(any),
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// The next whole frame received so far, with its payload.
    ///
    /// # Errors
    /// `InvalidData` for a frame that does not decode; `UnexpectedEof` once
    /// the peer ended the stream in the middle of a frame.
    pub fn next_frame(&mut self) -> io::Result<Option<(Frame, Vec<u8>)>> {
        match frame::parse_frame(&self.buf[self.start..])? {
            Some((header, payload)) => {
                let payload = payload.to_vec();
                self.start += frame::frame_len(&self.buf[self.start..])?.unwrap_or(0);
                Ok(Some((header, payload)))
            }
            None if self.ended && self.start < self.buf.len() => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer ended the connection inside a frame",
            )),
            None => Ok(None),
        }
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

    #[test]
    fn a_worker_with_the_token_gets_through_and_frames_flow() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let socket = listener.path().to_owned();
        let token = *listener.token();
        let worker = std::thread::spawn(move || {
            let stream = connect(&socket, &token, 3).unwrap();
            let link = Link::new(stream.try_clone().unwrap()).unwrap();
            let to = Address {
                process: 0,
                actor: 1,
            };
            link.send(&Frame::Tell { to }, b"hello").unwrap();
            stream
        });
        let greeted = listener.accept(Duration::from_secs(5)).unwrap();
        assert_eq!(greeted.worker, 3);
        let mut stream = greeted.stream;
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
    fn a_wrong_token_is_refused_before_any_frame_is_read() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let socket = listener.path().to_owned();
        let intruder = std::thread::spawn(move || {
            let stream = connect(&socket, &[0; TOKEN_LEN], 1).unwrap();
            Link::new(stream).unwrap().send(&Frame::Shutdown, b"").ok();
        });
        let err = listener.accept(Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        intruder.join().unwrap();
    }

    #[test]
    fn try_accept_returns_at_once_when_nobody_connects() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        assert!(
            listener
                .try_accept(Duration::from_secs(1))
                .unwrap()
                .is_none()
        );
        let socket = listener.path().to_owned();
        let token = *listener.token();
        let _worker = connect(&socket, &token, 5).unwrap();
        let greeted = listener
            .try_accept(Duration::from_secs(1))
            .unwrap()
            .unwrap();
        assert_eq!(greeted.worker, 5);
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
            wait_readable(
                &inbound.stream.try_clone().unwrap(),
                Some(Duration::from_secs(5)),
            )
            .unwrap();
            inbound.read_available().unwrap();
            while let Some(frame) = inbound.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames[0], (Frame::Log, b"one".to_vec()));
        assert_eq!(frames[1].0, Frame::Shutdown);
        assert_eq!(frames[1].1.len(), 300_000);

        drop(sender.join().unwrap());
        assert!(
            wait_readable(
                &inbound.stream.try_clone().unwrap(),
                Some(Duration::from_secs(5))
            )
            .unwrap()
        );
        inbound.read_available().unwrap();
        assert!(inbound.ended());
        assert!(inbound.next_frame().unwrap().is_none());
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
    fn a_silent_peer_times_out() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let _silent = UnixStream::connect(listener.path()).unwrap();
        let err = listener.accept(Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn the_socket_and_its_directory_go_with_the_listener() {
        let listener = Listener::bind(&std::env::temp_dir()).unwrap();
        let dir = listener.path().parent().unwrap().to_owned();
        assert!(listener.path().exists());
        drop(listener);
        assert!(!dir.exists());
    }
}
