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
//! Rejected: a token on the command line or in the environment (other
//! processes of the same user can read those through `/proc`), and abstract
//! sockets (no file permissions to keep other users out).

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::frame::{self, Frame};

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
#[derive(Debug)]
pub struct Link {
    writer: Mutex<UnixStream>,
}

impl Link {
    /// Wraps the writing side of `stream`.
    pub fn new(stream: UnixStream) -> Self {
        Self {
            writer: Mutex::new(stream),
        }
    }

    /// Sends a frame with an already encoded header. Frames from concurrent
    /// senders never interleave; each sender's frames keep their order.
    ///
    /// # Errors
    /// Write errors: the peer is gone.
    pub fn send_encoded(&self, header: &[u8], payload: &[u8]) -> io::Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        frame::write_frame(&mut *writer, header, payload)
    }

    /// Sends a frame.
    ///
    /// # Errors
    /// Write errors: the peer is gone.
    pub fn send(&self, header: &Frame, payload: &[u8]) -> io::Result<()> {
        self.send_encoded(&frame::encode_header(header)?, payload)
    }

    /// Closes both directions, waking the reader on either side.
    pub fn close(&self) {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        drop(writer.shutdown(std::net::Shutdown::Both));
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
            let link = Link::new(stream.try_clone().unwrap());
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
            Link::new(stream).send(&Frame::Shutdown, b"").ok();
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
