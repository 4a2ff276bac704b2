//! `_core.BufferWriter` and `_core.SharedBuffer`: large buffers in shared
//! memory (`crate::payload`), as `pykka_rs._buffers` makes and reads them.
//! Python writes a buffer with `os.write` into a descriptor of its own (the
//! GIL released, as for a socket's `sendall`); the core seals it, sends it,
//! and reads it back into a new `bytes` or `bytearray` with the GIL released.

use std::sync::Mutex;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::payload::{self, SharedBuffer};
use crate::sync::lock;

/// A memfd being filled with one buffer, before it is sealed and sent.
#[pyclass(name = "BufferWriter", module = "pykka_rs._core", frozen)]
pub struct PyBufferWriter {
    inner: Mutex<Option<payload::BufferWriter>>,
}

impl PyBufferWriter {
    fn with<T>(&self, then: impl FnOnce(&payload::BufferWriter) -> T) -> PyResult<T> {
        lock(&self.inner)
            .as_ref()
            .map(then)
            .ok_or_else(|| PyRuntimeError::new_err("the buffer is sealed already"))
    }
}

#[pymethods]
impl PyBufferWriter {
    /// A new, empty memfd for `size` bytes. Raise `OSError` if the kernel
    /// cannot make one.
    #[new]
    fn new(size: u64) -> PyResult<Self> {
        Ok(Self {
            inner: Mutex::new(Some(payload::BufferWriter::new(size)?)),
        })
    }

    /// A new descriptor of the memfd, to write the buffer with `os.write`;
    /// the caller closes it.
    fn writer_fd(&self) -> PyResult<i32> {
        Ok(self.with(payload::BufferWriter::writer_fd)??)
    }

    /// Seal the memfd once it holds exactly `size` bytes, and return it as
    /// a `SharedBuffer`. Raise `ValueError` if it holds another number.
    fn seal(&self) -> PyResult<PySharedBuffer> {
        let writer = lock(&self.inner)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the buffer is sealed already"))?;
        writer
            .seal()
            .map(|inner| PySharedBuffer { inner })
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::InvalidData => PyValueError::new_err(err.to_string()),
                _ => err.into(),
            })
    }
}

/// A sealed buffer in shared memory, beside a message's pickle. Its memory
/// goes with the last descriptor of it, in whichever process.
#[pyclass(name = "SharedBuffer", module = "pykka_rs._core", frozen)]
pub struct PySharedBuffer {
    pub(crate) inner: SharedBuffer,
}

#[pymethods]
impl PySharedBuffer {
    /// A copy of the buffer: a `bytearray` if `writable`, else `bytes`.
    #[pyo3(signature = (*, writable = false))]
    fn read(&self, py: Python<'_>, writable: bool) -> PyResult<Py<PyAny>> {
        let len = usize::try_from(self.inner.len())
            .map_err(|_| PyValueError::new_err("the buffer does not fit in memory"))?;
        let inner = &self.inner;
        // Nobody else sees the new object yet: filling it needs no GIL.
        let fill = |into: &mut [u8]| -> PyResult<()> {
            py.detach(|| inner.read_into(into)).map_err(PyErr::from)
        };
        Ok(if writable {
            PyByteArray::new_with(py, len, fill)?.into_any().unbind()
        } else {
            PyBytes::new_with(py, len, fill)?.into_any().unbind()
        })
    }

    /// The memfd's descriptor, open while this object lives, to read with
    /// `os.pread` (which makes its `bytes` without zeroing them first).
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.inner.fd().as_raw_fd()
    }

    fn __len__(&self) -> usize {
        self.inner.len() as usize
    }

    fn __repr__(&self) -> String {
        format!(
            "<pykka_rs._core.SharedBuffer of {} bytes>",
            self.inner.len()
        )
    }
}

/// Registers the classes and constants.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBufferWriter>()?;
    m.add_class::<PySharedBuffer>()?;
    m.add("SHARED_MIN_BYTES", payload::SHARED_MIN_BYTES)?;
    m.add("MAX_SHARED_BUFFERS", crate::pool::frame::MAX_BUFFERS)?;
    Ok(())
}
