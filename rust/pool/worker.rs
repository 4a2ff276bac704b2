//! A worker's side of the pool: joining it, telling the parent how busy it
//! is (which is also its heartbeat) and the counters of its actors that
//! changed, and leaving when the parent is gone.
//!
//! A worker must not outlive its parent, whatever its actors are doing: a
//! thread of its own waits for the link to the parent to end (the link also
//! ends when the parent process does, see `crate::node`), gives the runtime
//! a moment to stop the actors in order, and then ends the process.
//!
//! Rejected: `PR_SET_PDEATHSIG` (it fires when the parent *thread* that
//! started the worker ends, which need not be the parent process ending),
//! and leaving it to the runtime (its main thread may be busy for good, in
//! an actor's constructor, say).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::frame::Frame;
use super::handshake::{HandshakeError, Secret};
use super::ipc;
use crate::event::Event;
use crate::node::{Host, Node};

/// How often a worker looks at its load, and reports it if it changed.
const LOAD_EVERY: Duration = Duration::from_millis(100);

/// How often a worker reports its load even if nothing changed: the
/// heartbeat by which the parent knows it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Why a worker could not join its pool.
#[derive(Debug)]
pub enum JoinError {
    /// The parent that started this worker is gone already.
    Orphaned {
        /// The parent's process id, as the bootstrap gave it.
        parent: u32,
    },
    /// The parent could not be reached or trusted.
    Handshake(HandshakeError),
    /// A thread could not be started, or the link not set up.
    Io(io::Error),
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Orphaned { parent } => {
                write!(f, "the parent process (pid {parent}) is gone already")
            }
            Self::Handshake(err) => err.fmt(f),
            Self::Io(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for JoinError {}

/// Joins the pool of the parent `parent_pid` listening at `socket`, as
/// worker `node.process()`, proving it holds `secret`; then reports the
/// worker's load to the parent from a thread of its own.
///
/// # Errors
/// Why the pool could not be joined.
pub fn join<H: Host>(
    node: &Arc<Node<H>>,
    socket: &Path,
    secret: &Secret,
    parent_pid: u32,
    patience: Duration,
) -> Result<(), JoinError> {
    let parent_now = rustix::process::getppid().map_or(0, rustix::process::Pid::as_raw_pid);
    if i64::from(parent_now) != i64::from(parent_pid) {
        return Err(JoinError::Orphaned { parent: parent_pid });
    }
    let stream =
        ipc::connect(socket, secret, node.process(), patience).map_err(JoinError::Handshake)?;
    node.connect(0, stream, Some(parent_pid))
        .map_err(JoinError::Io)?;
    let reporter = Arc::clone(node);
    std::thread::Builder::new()
        .name("pykka_rs-load".to_owned())
        .spawn(move || report_load(&reporter))
        .map_err(JoinError::Io)?;
    Ok(())
}

/// Sends the parent this worker's load whenever it changes, and at least
/// every [`HEARTBEAT`], until the parent is gone; also the counters of its
/// actors that changed, every [`LOAD_EVERY`]. The counters go even with
/// metrics off: the depth of a mailbox is always kept, and the parent's
/// view of it should not cost a round trip then.
fn report_load<H: Host>(node: &Node<H>) {
    let mut last = None;
    let mut counters = HashMap::new();
    let mut since_sent = Duration::ZERO;
    loop {
        if node
            .parent_lost()
            .wait(Some(std::time::Instant::now() + LOAD_EVERY))
        {
            return;
        }
        since_sent += LOAD_EVERY;
        if node.push_counters(&mut counters).is_err() {
            return; // the parent is gone; so is this worker, soon
        }
        let load = node.own_load();
        if last == Some(load) && since_sent < HEARTBEAT {
            continue;
        }
        let (actors, waiting) = load;
        if node
            .send_frame(0, &Frame::Load { actors, waiting }, &[])
            .is_err()
        {
            return; // the parent is gone; so is this worker, soon
        }
        last = Some(load);
        since_sent = Duration::ZERO;
    }
}

/// Ends this process `grace` after `parent_lost` is set, whatever it is
/// doing then; the runtime has that long to stop its actors in order.
///
/// # Errors
/// If the watching thread cannot be started.
pub fn leave_when_orphaned(parent_lost: Arc<Event>, grace: Duration) -> io::Result<()> {
    std::thread::Builder::new()
        .name("pykka_rs-orphan".to_owned())
        .spawn(move || {
            parent_lost.wait(None);
            std::thread::sleep(grace);
            let me = rustix::process::getpid();
            // SIGKILL: no handler, no atexit, no finalizer may hold it up.
            rustix::process::kill_process(me, rustix::process::Signal::KILL).ok();
        })
        .map(drop)
}
