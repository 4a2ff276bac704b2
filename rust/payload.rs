//! What a message or a reply carries between processes: a pickle, and the
//! large buffers that travel beside it in shared memory.
//!
//! A large buffer (a 10 MB `bytes`, an array) is written once into a sealed
//! memfd, an anonymous file in memory that has no name anywhere (nothing in
//! `/dev/shm`), and its descriptor goes over the Unix socket with the frame
//! (`SCM_RIGHTS`). The receiver copies it out once; the kernel frees the
//! memory with the last descriptor, whichever process holds it when it goes:
//! a process killed with `-9` leaks nothing, not even with a buffer in
//! flight in a socket.
//!
//! A received buffer is checked before anything reads it: a regular file,
//! sealed against shrinking, growing and writing (so what is read cannot
//! change or vanish under the reader), and backed by memory the sender
//! actually filled (a sparse file would let a peer make the receiver
//! allocate what it never sent).
//!
//! Rejected: named POSIX segments (`/dev/shm` names outlive a killed
//! process), `pidfd_getfd` (needs ptrace rights a worker does not have over
//! its parent), and mapping buffers on the receiving side (a mapping that
//! outlives the message would need unsafe code and gains one copy of a
//! buffer the receiver usually keeps anyway).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{FileType, MemfdFlags, SealFlags};

/// Buffers from this size up travel in shared memory; smaller ones stay in
/// the pickle, whose copy through the socket costs less than a memfd.
pub const SHARED_MIN_BYTES: usize = 64 * 1024;

/// The seals a buffer must carry before another process may read it.
const SEALED: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::WRITE)
    .union(SealFlags::SEAL);

/// A buffer in shared memory: a sealed memfd and its length. Clones share
/// the descriptor; the memory goes with the last one, in every process.
#[derive(Debug, Clone)]
pub struct SharedBuffer {
    fd: Arc<Descriptor>,
    len: u64,
}

/// Buffers from this size up are closed on a thread of their own: closing
/// the last descriptor frees the pages, about half a millisecond for 10 MB,
/// which the thread that read the buffer should not wait for.
const CLOSE_APART_BYTES: u64 = 1 << 20;

/// A buffer's descriptor, closed apart when the buffer is large.
#[derive(Debug)]
struct Descriptor {
    fd: Option<OwnedFd>,
    apart: bool,
}

impl Descriptor {
    fn new(fd: OwnedFd, len: u64) -> Self {
        Self {
            fd: Some(fd),
            apart: len >= CLOSE_APART_BYTES,
        }
    }

    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_ref().expect("open until dropped").as_fd()
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            if self.apart {
                close_apart(fd);
            }
        }
    }
}

/// Closes `fd` on the closing thread, or here if there is none (it could
/// not be started, or this process is a fork that did not inherit it).
fn close_apart(fd: OwnedFd) {
    static CLOSER: std::sync::Mutex<Option<(u32, flume::Sender<OwnedFd>)>> =
        std::sync::Mutex::new(None);
    let mut closer = crate::sync::lock(&CLOSER);
    let pid = std::process::id();
    if closer.as_ref().is_none_or(|(owner, _)| *owner != pid) {
        let (sender, receiver) = flume::unbounded::<OwnedFd>();
        let started = std::thread::Builder::new()
            .name("pykka_rs-close".to_owned())
            .spawn(move || receiver.iter().for_each(drop));
        *closer = started.ok().map(|_| (pid, sender));
    }
    if let Some((_, sender)) = closer.as_ref() {
        // The thread lives as long as the process: the send cannot fail.
        drop(sender.send(fd));
    }
}

impl PartialEq for SharedBuffer {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
    }
}

impl Eq for SharedBuffer {}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl SharedBuffer {
    /// The buffer's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the buffer holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The descriptor, to send it to another process.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Takes a descriptor that arrived from another process, once it has
    /// proved to be a buffer this process may read: a sealed memfd of at
    /// most `limit` bytes, all of them backed by memory.
    ///
    /// # Errors
    /// `InvalidData` saying what the descriptor is not.
    pub fn adopt(fd: OwnedFd, limit: u64) -> io::Result<Self> {
        let stat = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(invalid(
                "a shared buffer must be a memfd, and this is not a regular file".into(),
            ));
        }
        let seals = rustix::fs::fcntl_get_seals(&fd)
            .map_err(|_| invalid("a shared buffer must be a memfd that can be sealed".into()))?;
        if !seals.contains(SEALED) {
            return Err(invalid(format!(
                "a shared buffer must be sealed against shrinking, growing and writing \
                 (its seals: {seals:?})"
            )));
        }
        let len = u64::try_from(stat.st_size)
            .map_err(|_| invalid("a shared buffer has a negative size".into()))?;
        if len > limit {
            return Err(invalid(format!(
                "a shared buffer of {len} bytes is over the limit of {limit} bytes"
            )));
        }
        let backed = u64::try_from(stat.st_blocks)
            .unwrap_or(0)
            .saturating_mul(512);
        if backed < len {
            return Err(invalid(format!(
                "a shared buffer of {len} bytes has only {backed} bytes of memory behind it"
            )));
        }
        Ok(Self {
            fd: Arc::new(Descriptor::new(fd, len)),
            len,
        })
    }

    /// Copies the whole buffer into `into`, which must be exactly as long.
    ///
    /// # Errors
    /// Read errors; `InvalidData` if the lengths differ or the file ends early.
    pub fn read_into(&self, into: &mut [u8]) -> io::Result<()> {
        if into.len() as u64 != self.len {
            return Err(invalid(format!(
                "a shared buffer of {} bytes read into {} bytes",
                self.len,
                into.len()
            )));
        }
        let mut done = 0;
        while done < into.len() {
            match rustix::io::pread(self.fd.as_fd(), &mut into[done..], done as u64) {
                Ok(0) => return Err(invalid("a shared buffer ended early".into())),
                Ok(got) => done += got,
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}

/// A buffer being filled, before it is sealed and may be sent.
#[derive(Debug)]
pub struct BufferWriter {
    fd: OwnedFd,
    len: u64,
}

impl BufferWriter {
    /// An empty memfd, to hold `len` bytes.
    ///
    /// # Errors
    /// If the kernel cannot make one (no memfd support, out of descriptors).
    pub fn new(len: u64) -> io::Result<Self> {
        let fd = rustix::fs::memfd_create(
            "pykka_rs-buffer",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        Ok(Self { fd, len })
    }

    /// Writes all of `data` at the end of what is written so far.
    ///
    /// # Errors
    /// Write errors (no memory left for the file, say).
    pub fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            match rustix::io::write(&self.fd, data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(wrote) => data = &data[wrote..],
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// A second descriptor of the file, for a writer elsewhere (Python's
    /// `os.write`, which releases the GIL) that closes it when done.
    ///
    /// # Errors
    /// If the descriptor cannot be duplicated.
    pub fn writer_fd(&self) -> io::Result<i32> {
        Ok(rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)?.into_raw_fd())
    }

    /// Seals the file, once it holds exactly its length, so it may be sent.
    ///
    /// # Errors
    /// `InvalidData` if it holds another number of bytes; `EBUSY` if
    /// somebody still maps it writable.
    pub fn seal(self) -> io::Result<SharedBuffer> {
        let size = rustix::fs::fstat(&self.fd)?.st_size;
        if u64::try_from(size).ok() != Some(self.len) {
            return Err(invalid(format!(
                "a shared buffer of {} bytes was given {size} bytes",
                self.len
            )));
        }
        rustix::fs::fcntl_add_seals(&self.fd, SEALED)?;
        Ok(SharedBuffer {
            fd: Arc::new(Descriptor::new(self.fd, self.len)),
            len: self.len,
        })
    }
}

/// Raises this process's soft limit of open descriptors to its hard limit,
/// once: every buffer that waits in a mailbox holds a descriptor, and a
/// receiver that runs out of them loses the link the next one comes on.
/// (Go's runtime does the same at start, for the same reason.)
pub fn allow_descriptors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(err) = setrlimit(Resource::Nofile, raised) {
                log::debug!(target: "pykka_rs.pool", "could not raise the limit of open files: {err}");
            }
        }
    });
}

/// A message or reply as it crosses processes: its pickle, and the buffers
/// that the pickle refers to by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    bytes: Vec<u8>,
    buffers: Vec<SharedBuffer>,
}

impl Payload {
    /// A payload of `bytes` with `buffers` beside it.
    pub fn new(bytes: Vec<u8>, buffers: Vec<SharedBuffer>) -> Self {
        Self { bytes, buffers }
    }

    /// The pickle.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The buffers beside it.
    pub fn buffers(&self) -> &[SharedBuffer] {
        &self.buffers
    }

    /// Its parts.
    pub fn into_parts(self) -> (Vec<u8>, Vec<SharedBuffer>) {
        (self.bytes, self.buffers)
    }

    /// The pickle alone, for a frame that carries no buffers; the buffers,
    /// if any, are closed.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The payload as one string of bytes, for a transport that cannot
    /// carry descriptors (the in-memory link to a subinterpreter): the
    /// pickle alone if there are no buffers, else [`INLINE_MAGIC`], the
    /// number of buffers (u32 LE), each one's length and then the pickle's
    /// (u64 LE), the pickle, and the buffers, one after the other.
    ///
    /// # Errors
    /// If a buffer cannot be read, or there is no memory for the copy.
    pub fn inline(self) -> io::Result<Vec<u8>> {
        if self.buffers.is_empty() {
            return Ok(self.bytes);
        }
        let total = self
            .buffers
            .iter()
            .try_fold(self.bytes.len() as u64, |sum, buffer| {
                sum.checked_add(buffer.len)
            })
            .and_then(|total| usize::try_from(total).ok())
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let head = INLINE_MAGIC.len() + 4 + 8 * (self.buffers.len() + 1);
        let mut out = Vec::new();
        out.try_reserve_exact(head + total)
            .map_err(|err| io::Error::new(io::ErrorKind::OutOfMemory, err.to_string()))?;
        out.extend_from_slice(INLINE_MAGIC);
        out.extend_from_slice(&(self.buffers.len() as u32).to_le_bytes());
        for buffer in &self.buffers {
            out.extend_from_slice(&buffer.len.to_le_bytes());
        }
        out.extend_from_slice(&(self.bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.bytes);
        for buffer in &self.buffers {
            let start = out.len();
            out.resize(start + buffer.len as usize, 0);
            buffer.read_into(&mut out[start..])?;
        }
        Ok(out)
    }
}

/// How a payload made by [`Payload::inline`] starts; a pickle never does
/// (protocol 2 and later start with `0x80`).
pub const INLINE_MAGIC: &[u8; 8] = b"PKRSBUF1";

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            buffers: Vec::new(),
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(data: &[u8]) -> SharedBuffer {
        let writer = BufferWriter::new(data.len() as u64).unwrap();
        writer.write_all(data).unwrap();
        writer.seal().unwrap()
    }

    #[test]
    fn a_sealed_buffer_reads_back_what_was_written() {
        let buffer = shared(b"hello, shared world");
        let mut back = vec![0; buffer.len() as usize];
        buffer.read_into(&mut back).unwrap();
        assert_eq!(back, b"hello, shared world");
    }

    #[test]
    fn a_buffer_given_fewer_bytes_than_announced_does_not_seal() {
        let writer = BufferWriter::new(10).unwrap();
        writer.write_all(b"short").unwrap();
        assert_eq!(
            writer.seal().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn a_received_buffer_must_be_a_sealed_filled_memfd() {
        let good = shared(&[1; 5000]);
        let dup = rustix::io::fcntl_dupfd_cloexec(good.fd(), 0).unwrap();
        assert_eq!(SharedBuffer::adopt(dup, 1 << 20).unwrap().len(), 5000);

        let dup = rustix::io::fcntl_dupfd_cloexec(good.fd(), 0).unwrap();
        let over = SharedBuffer::adopt(dup, 4999).unwrap_err();
        assert!(over.to_string().contains("over the limit"), "{over}");

        let unsealed = BufferWriter::new(3).unwrap();
        unsealed.write_all(b"abc").unwrap();
        let dup = rustix::io::fcntl_dupfd_cloexec(&unsealed.fd, 0).unwrap();
        let err = SharedBuffer::adopt(dup, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("sealed"), "{err}");

        // Sealed but sparse: announced, never filled.
        let sparse = BufferWriter::new(1 << 20).unwrap();
        rustix::fs::ftruncate(&sparse.fd, 1 << 20).unwrap();
        let sparse = sparse.seal().unwrap();
        let dup = rustix::io::fcntl_dupfd_cloexec(sparse.fd(), 0).unwrap();
        let err = SharedBuffer::adopt(dup, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("memory behind it"), "{err}");

        let (socket, _) = std::os::unix::net::UnixStream::pair().unwrap();
        let err = SharedBuffer::adopt(socket.into(), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("regular file"), "{err}");
    }

    #[test]
    fn a_sealed_buffer_cannot_be_changed_by_its_sender() {
        let buffer = shared(b"fixed");
        let dup = rustix::io::fcntl_dupfd_cloexec(buffer.fd(), 0).unwrap();
        assert!(rustix::io::pwrite(&dup, b"X", 0).is_err());
        assert!(rustix::fs::ftruncate(&dup, 1).is_err());
    }

    #[test]
    fn an_inline_payload_carries_its_buffers_after_the_pickle() {
        let payload = Payload::new(b"pickle".to_vec(), vec![shared(b"one"), shared(b"four")]);
        let inline = payload.inline().unwrap();
        let mut expected = INLINE_MAGIC.to_vec();
        expected.extend_from_slice(&2u32.to_le_bytes());
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(&4u64.to_le_bytes());
        expected.extend_from_slice(&6u64.to_le_bytes());
        expected.extend_from_slice(b"pickleonefour");
        assert_eq!(inline, expected);
        assert_eq!(Payload::from(b"plain".to_vec()).inline().unwrap(), b"plain");
    }
}
