//! Who may join a pool: a worker and its parent each prove that they hold
//! the pool's secret, without ever sending it, and each checks that the
//! other runs as the same user.
//!
//! The secret reaches a worker through its standard input, which nobody else
//! can read. On the socket, each side sends a fresh random nonce and answers
//! the other's with an HMAC-SHA256 over both nonces, the worker's number and
//! its own role, as multiprocessing's connections answer a challenge:
//!
//! ```text
//! worker -> parent   hello      "PYKKARS3", u32 LE worker number, 32-byte nonce W
//! parent -> worker   challenge  "PYKKARS3", 32-byte nonce P, HMAC(secret, "parent" W P number)
//! worker -> parent   proof      HMAC(secret, "worker" P W number)
//! ```
//!
//! The worker checks the parent's answer before it sends its own, and the
//! parent checks the worker's before it reads a single frame; neither reads
//! a frame from a peer that has not proved itself, so nothing a stranger
//! sends is ever decoded, let alone unpickled. The role in each HMAC keeps one
//! side's answer from serving as the other's. Before any of it, each side
//! reads the peer's user id from the kernel (`SO_PEERCRED`) and refuses any
//! other user, root included. A worker also checks, before connecting, that
//! the socket's directory belongs to its user and that nobody else may enter
//! it, so it never talks to a socket somebody else put in its place.
//!
//! Rejected: sending the secret itself (whoever listens at the path learns
//! it), a token on the command line or in the environment (readable through
//! `/proc`), and trusting the directory alone (a parent that died leaves its
//! path free for anyone to take).

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Starts the hello and the challenge; changes whenever the handshake or the
/// frame layout does.
pub const MAGIC: &[u8; 8] = b"PYKKARS3";

/// The length of the pool's secret.
pub const SECRET_LEN: usize = 32;

const NONCE_LEN: usize = 32;
const MAC_LEN: usize = 32;

/// The length of the worker's hello: magic, worker number, nonce.
pub const HELLO_LEN: usize = MAGIC.len() + 4 + NONCE_LEN;

/// The length of the parent's challenge: magic, nonce, answer.
pub const CHALLENGE_LEN: usize = MAGIC.len() + NONCE_LEN + MAC_LEN;

/// The length of the worker's proof.
pub const PROOF_LEN: usize = MAC_LEN;

/// Why a handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// The peer runs as another user.
    OtherUser {
        /// The peer's user id.
        peer: u32,
        /// This process's user id.
        own: u32,
    },
    /// The peer did not speak this handshake (another program, another version).
    NotAPool,
    /// The peer hung up before the handshake was complete.
    HungUp,
    /// The peer's answer shows it does not hold the pool's secret.
    WrongSecret,
    /// The peer said nothing, or not enough, within the time allowed.
    TimedOut(Duration),
    /// The socket's directory is not this user's private directory.
    UnsafeDirectory(String),
    /// The socket failed.
    Io(io::Error),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OtherUser { peer, own } => {
                write!(
                    f,
                    "the peer runs as user {peer}, not as this process's user {own}"
                )
            }
            Self::NotAPool => f.write_str("the peer does not speak the pykka_rs pool handshake"),
            Self::HungUp => f.write_str("the peer hung up during the handshake"),
            Self::WrongSecret => f.write_str("the peer does not hold the pool's secret"),
            Self::TimedOut(after) => write!(
                f,
                "the peer did not complete the handshake within {} seconds",
                after.as_secs_f64()
            ),
            Self::UnsafeDirectory(why) => write!(f, "the pool's socket is not safe to use: {why}"),
            Self::Io(err) => write!(f, "the socket failed during the handshake: {err}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl From<HandshakeError> for io::Error {
    fn from(err: HandshakeError) -> Self {
        let kind = match &err {
            HandshakeError::Io(io) => io.kind(),
            HandshakeError::TimedOut(_) => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::PermissionDenied,
        };
        io::Error::new(kind, err.to_string())
    }
}

/// The pool's secret. Its `Debug` form does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; SECRET_LEN]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A fresh secret from the operating system's generator.
    ///
    /// # Errors
    /// If the generator fails.
    pub fn new() -> io::Result<Self> {
        Ok(Self(random()?))
    }

    /// The secret a worker was given.
    ///
    /// # Errors
    /// `InvalidInput` unless `bytes` has [`SECRET_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> io::Result<Self> {
        let secret = bytes.try_into().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a pool secret has {SECRET_LEN} bytes, not {}", bytes.len()),
            )
        })?;
        Ok(Self(secret))
    }

    /// The secret's bytes, for a worker's bootstrap.
    pub fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    fn answer(&self, role: &[u8], first: &[u8], second: &[u8], worker: u32) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(role);
        mac.update(first);
        mac.update(second);
        mac.update(&worker.to_le_bytes());
        mac
    }
}

/// Bytes from the operating system's random generator.
///
/// # Errors
/// If the generator fails.
pub fn random<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0; N];
    let mut filled = 0;
    while filled < N {
        match rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(got) => filled += got,
            Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(bytes)
}

/// This process's user id.
pub fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Checks that the peer of `stream` runs as this process's user.
///
/// # Errors
/// [`HandshakeError::OtherUser`], or `Io` if the kernel cannot say.
pub fn check_peer(stream: &UnixStream) -> Result<(), HandshakeError> {
    let peer = rustix::net::sockopt::socket_peercred(stream)
        .map_err(|err| HandshakeError::Io(err.into()))?
        .uid
        .as_raw();
    let own = own_uid();
    if peer == own {
        Ok(())
    } else {
        Err(HandshakeError::OtherUser { peer, own })
    }
}

/// Checks that `dir` is a directory (not a link to one) that belongs to this
/// user and that nobody else may read, write or enter.
///
/// # Errors
/// [`HandshakeError::UnsafeDirectory`] saying what is wrong.
pub fn check_private_dir(dir: &Path) -> Result<(), HandshakeError> {
    let unsafe_dir = |why: String| HandshakeError::UnsafeDirectory(why);
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|err| unsafe_dir(format!("{} cannot be examined: {err}", dir.display())))?;
    if !meta.is_dir() {
        return Err(unsafe_dir(format!("{} is not a directory", dir.display())));
    }
    if meta.uid() != own_uid() {
        return Err(unsafe_dir(format!(
            "{} belongs to user {}, not to this process's user {}",
            dir.display(),
            meta.uid(),
            own_uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(unsafe_dir(format!(
            "{} has mode {mode:o}: other users may use it",
            dir.display()
        )));
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes before `deadline`.
fn read_by(
    stream: &mut UnixStream,
    buf: &mut [u8],
    deadline: Instant,
    patience: Duration,
) -> Result<(), HandshakeError> {
    let mut got = 0;
    while got < buf.len() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or(HandshakeError::TimedOut(patience))?;
        stream
            .set_read_timeout(Some(left))
            .map_err(HandshakeError::Io)?;
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(HandshakeError::HungUp),
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HandshakeError::TimedOut(patience));
            }
            Err(err) => return Err(HandshakeError::Io(err)),
        }
    }
    Ok(())
}

fn write_all(
    stream: &mut UnixStream,
    bytes: &[u8],
    patience: Duration,
) -> Result<(), HandshakeError> {
    stream
        .set_write_timeout(Some(patience))
        .map_err(HandshakeError::Io)?;
    stream.write_all(bytes).map_err(|err| match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => HandshakeError::TimedOut(patience),
        _ => HandshakeError::Io(err),
    })
}

/// Parent: admits the peer of a newly accepted `stream` if it is a worker of
/// this pool, allowing it `patience` in all; returns the worker number it
/// claimed. The stream is left blocking, without timeouts.
///
/// # Errors
/// Why the peer was refused; nothing it sent was decoded.
pub fn admit(
    stream: &mut UnixStream,
    secret: &Secret,
    patience: Duration,
) -> Result<u32, HandshakeError> {
    let deadline = Instant::now() + patience;
    stream.set_nonblocking(false).map_err(HandshakeError::Io)?;
    check_peer(stream)?;
    let mut hello = [0; HELLO_LEN];
    read_by(stream, &mut hello, deadline, patience)?;
    let (magic, rest) = hello.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(HandshakeError::NotAPool);
    }
    let (number, worker_nonce) = rest.split_at(4);
    let worker = u32::from_le_bytes([number[0], number[1], number[2], number[3]]);
    let parent_nonce: [u8; NONCE_LEN] = random().map_err(HandshakeError::Io)?;
    let mut challenge = Vec::with_capacity(CHALLENGE_LEN);
    challenge.extend_from_slice(MAGIC);
    challenge.extend_from_slice(&parent_nonce);
    challenge.extend_from_slice(
        &secret
            .answer(b"parent", worker_nonce, &parent_nonce, worker)
            .finalize()
            .into_bytes(),
    );
    write_all(stream, &challenge, patience)?;
    let mut proof = [0; PROOF_LEN];
    read_by(stream, &mut proof, deadline, patience)?;
    secret
        .answer(b"worker", &parent_nonce, worker_nonce, worker)
        .verify_slice(&proof)
        .map_err(|_| HandshakeError::WrongSecret)?;
    clear_timeouts(stream)?;
    Ok(worker)
}

/// Worker: proves to the parent at the other end of `stream` that this is
/// its worker number `worker`, once the parent has proved it holds `secret`.
/// The stream is left blocking, without timeouts.
///
/// # Errors
/// Why the parent was not trusted or did not answer.
pub fn join(
    stream: &mut UnixStream,
    secret: &Secret,
    worker: u32,
    patience: Duration,
) -> Result<(), HandshakeError> {
    let deadline = Instant::now() + patience;
    check_peer(stream)?;
    let worker_nonce: [u8; NONCE_LEN] = random().map_err(HandshakeError::Io)?;
    let mut hello = Vec::with_capacity(HELLO_LEN);
    hello.extend_from_slice(MAGIC);
    hello.extend_from_slice(&worker.to_le_bytes());
    hello.extend_from_slice(&worker_nonce);
    write_all(stream, &hello, patience)?;
    let mut challenge = [0; CHALLENGE_LEN];
    read_by(stream, &mut challenge, deadline, patience)?;
    let (magic, rest) = challenge.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(HandshakeError::NotAPool);
    }
    let (parent_nonce, answer) = rest.split_at(NONCE_LEN);
    secret
        .answer(b"parent", &worker_nonce, parent_nonce, worker)
        .verify_slice(answer)
        .map_err(|_| HandshakeError::WrongSecret)?;
    let proof = secret
        .answer(b"worker", parent_nonce, &worker_nonce, worker)
        .finalize()
        .into_bytes();
    write_all(stream, &proof, patience)?;
    clear_timeouts(stream)
}

fn clear_timeouts(stream: &UnixStream) -> Result<(), HandshakeError> {
    stream.set_read_timeout(None).map_err(HandshakeError::Io)?;
    stream.set_write_timeout(None).map_err(HandshakeError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATIENCE: Duration = Duration::from_secs(5);

    fn pair() -> (UnixStream, UnixStream) {
        UnixStream::pair().unwrap()
    }

    #[test]
    fn a_worker_with_the_secret_is_admitted_and_learns_the_parent_has_it_too() {
        let secret = Secret::new().unwrap();
        let (mut parent, mut worker) = pair();
        let theirs = secret.clone();
        let joined = std::thread::spawn(move || join(&mut worker, &theirs, 7, PATIENCE));
        assert_eq!(admit(&mut parent, &secret, PATIENCE).unwrap(), 7);
        joined.join().unwrap().unwrap();
    }

    #[test]
    fn a_worker_with_another_secret_is_refused_and_refuses_the_parent() {
        let (mut parent, mut worker) = pair();
        let wrong = Secret::new().unwrap();
        let joined = std::thread::spawn(move || join(&mut worker, &wrong, 1, PATIENCE));
        let refused = admit(&mut parent, &Secret::new().unwrap(), PATIENCE).unwrap_err();
        // The worker checks the parent first and hangs up: the parent sees
        // the end of the stream where the proof should be.
        assert!(matches!(refused, HandshakeError::HungUp), "{refused}");
        assert!(matches!(
            joined.join().unwrap().unwrap_err(),
            HandshakeError::WrongSecret
        ));
    }

    #[test]
    fn a_parent_without_the_secret_learns_nothing_that_reveals_it() {
        // A squatter plays the parent: it sees the hello, whose bytes are a
        // magic, a number and a nonce, never the secret.
        let secret = Secret::new().unwrap();
        let (mut squatter, mut worker) = pair();
        let theirs = secret.clone();
        let joined = std::thread::spawn(move || join(&mut worker, &theirs, 2, PATIENCE));
        let mut hello = [0; HELLO_LEN];
        squatter.read_exact(&mut hello).unwrap();
        assert!(
            !hello
                .windows(8)
                .any(|w| secret.as_bytes().windows(8).any(|s| s == w))
        );
        let mut fake = Vec::from(*MAGIC);
        fake.extend_from_slice(&[0; NONCE_LEN + MAC_LEN]);
        squatter.write_all(&fake).unwrap();
        assert!(matches!(
            joined.join().unwrap().unwrap_err(),
            HandshakeError::WrongSecret
        ));
        // The worker sent nothing after its hello.
        squatter.set_nonblocking(true).unwrap();
        let mut more = [0; 1];
        assert!(matches!(squatter.read(&mut more), Ok(0)));
    }

    #[test]
    fn a_proof_replayed_from_another_exchange_is_refused() {
        let secret = Secret::new().unwrap();
        // A recorded answer of the parent cannot be used as a worker's proof:
        // the roles differ.
        let nonce = [1; NONCE_LEN];
        let parent_answer = secret
            .answer(b"parent", &nonce, &nonce, 3)
            .finalize()
            .into_bytes();
        assert!(
            secret
                .answer(b"worker", &nonce, &nonce, 3)
                .verify_slice(&parent_answer)
                .is_err()
        );
    }

    #[test]
    fn a_silent_peer_times_out_within_the_patience_given() {
        let (mut parent, _silent) = pair();
        let started = Instant::now();
        let err = admit(
            &mut parent,
            &Secret::new().unwrap(),
            Duration::from_millis(50),
        )
        .unwrap_err();
        assert!(matches!(err, HandshakeError::TimedOut(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_peer_speaking_something_else_is_refused() {
        let (mut parent, mut other) = pair();
        other.write_all(&[b'x'; HELLO_LEN]).unwrap();
        let err = admit(&mut parent, &Secret::new().unwrap(), PATIENCE).unwrap_err();
        assert!(matches!(err, HandshakeError::NotAPool));
    }

    #[test]
    fn the_peer_of_a_local_socket_is_this_user() {
        let (ours, _theirs) = pair();
        check_peer(&ours).unwrap();
    }

    #[test]
    fn only_a_private_directory_of_this_user_is_safe() {
        let base = std::env::temp_dir().join(format!("pykka_rs-hs-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
        check_private_dir(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(
            check_private_dir(&base),
            Err(HandshakeError::UnsafeDirectory(_))
        ));
        let link = base.with_extension("link");
        drop(std::fs::remove_file(&link));
        std::os::unix::fs::symlink(&base, &link).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(matches!(
            check_private_dir(&link),
            Err(HandshakeError::UnsafeDirectory(_))
        ));
        assert!(check_private_dir(&base.join("missing")).is_err());
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_dir(&base).unwrap();
    }

    #[test]
    fn a_secret_has_its_length_and_does_not_show_itself() {
        assert!(Secret::from_bytes(&[0; 31]).is_err());
        let secret = Secret::from_bytes(&[7; SECRET_LEN]).unwrap();
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }
}
