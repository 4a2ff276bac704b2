//! The worker pool: the processes that host process actors, and the frames
//! that travel between them.
//!
//! Workers are started fresh (a new interpreter, never a fork), each told
//! through its standard input where to connect and the secret to prove it
//! belongs (`ipc.rs`, `handshake.rs`). This module owns their processes:
//! starting them, saying why one ended, and choosing where the next actor
//! goes; `parent.rs` keeps the seats of a pool filled, `worker.rs` is a
//! worker's side. Routing frames is the node's part (`crate::node`).
//!
//! A worker runs in a process group of its own, so the signals a terminal
//! sends its foreground group (Ctrl-C, Ctrl-\) reach the parent alone, which
//! then shuts its workers down in order.

pub mod frame;
pub mod handshake;
mod header_pickle;
pub mod ipc;
pub mod parent;
pub mod worker;

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Process numbers are never reused, across pools and kinds of worker: 0
/// is the parent, and worker processes and subinterpreters count on from 1.
static NEXT_PROCESS: AtomicU32 = AtomicU32::new(1);

/// A process number no worker of this system has had.
pub fn next_process() -> u32 {
    NEXT_PROCESS.fetch_add(1, Ordering::Relaxed)
}

/// A running worker process.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    /// Starts `program` with `args` in a process group of its own, writes
    /// `bootstrap` to its standard input and closes it. Standard output and
    /// error are the parent's.
    ///
    /// # Errors
    /// If the process cannot be started or its input written.
    pub fn spawn<A: AsRef<OsStr>>(
        program: &Path,
        args: &[A],
        bootstrap: &[u8],
    ) -> io::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let Some(mut stdin) = child.stdin.take() else {
            return Err(io::Error::other(
                "the worker's standard input is not a pipe",
            ));
        };
        if let Err(err) = stdin.write_all(bootstrap) {
            drop(child.kill());
            drop(child.wait());
            return Err(err);
        }
        Ok(Self { child })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) if it is still running.
    pub fn kill(&mut self) {
        drop(self.child.kill());
    }

    /// The exit status, if the process has ended; reaps it.
    ///
    /// # Errors
    /// If the status cannot be read.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the process to end and reaps it.
    ///
    /// # Errors
    /// If the status cannot be read.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }
}

/// Says why a process ended, for error messages: "exited with status 3",
/// "killed by SIGKILL", "killed by SIGSEGV (core dumped)".
pub fn exit_cause(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    let Some(signal) = status.signal() else {
        return "ended for an unknown reason".to_owned();
    };
    let name = match signal {
        1 => "SIGHUP".to_owned(),
        2 => "SIGINT".to_owned(),
        3 => "SIGQUIT".to_owned(),
        4 => "SIGILL".to_owned(),
        6 => "SIGABRT".to_owned(),
        7 => "SIGBUS".to_owned(),
        8 => "SIGFPE".to_owned(),
        9 => "SIGKILL".to_owned(),
        11 => "SIGSEGV".to_owned(),
        13 => "SIGPIPE".to_owned(),
        15 => "SIGTERM".to_owned(),
        other => format!("signal {other}"),
    };
    let core = if status.core_dumped() {
        " (core dumped)"
    } else {
        ""
    };
    format!("killed by {name}{core}")
}

/// What placement knows about one worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Whether the worker can take actors now.
    pub alive: bool,
    /// Actors it hosts.
    pub actors: u64,
    /// Messages waiting in their mailboxes, as last reported.
    pub waiting: u64,
}

/// The worker for the next actor: the live one with the fewest actors, then
/// the fewest messages waiting, then the lowest number. `None` if none is alive.
pub fn place(loads: &[Load]) -> Option<usize> {
    loads
        .iter()
        .enumerate()
        .filter(|(_, load)| load.alive)
        .min_by_key(|(index, load)| (load.actors, load.waiting, *index))
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(actors: u64, waiting: u64) -> Load {
        Load {
            alive: true,
            actors,
            waiting,
        }
    }

    #[test]
    fn placement_prefers_fewest_actors_then_fewest_waiting_then_lowest_number() {
        assert_eq!(place(&[load(2, 0), load(1, 9), load(1, 3)]), Some(2));
        assert_eq!(place(&[load(1, 3), load(1, 3)]), Some(0));
        assert_eq!(place(&[load(0, 50), load(1, 0)]), Some(0));
    }

    #[test]
    fn placement_skips_dead_workers() {
        let dead = Load::default();
        assert_eq!(place(&[dead, load(5, 5)]), Some(1));
        assert_eq!(place(&[dead, dead]), None);
        assert_eq!(place(&[]), None);
    }

    #[test]
    fn a_process_reports_how_it_ended() {
        let mut exits =
            WorkerProcess::spawn(Path::new("/bin/sh"), &["-c", "read x; exit 3"], b"go\n").unwrap();
        assert_eq!(exit_cause(exits.wait().unwrap()), "exited with status 3");

        let mut killed = WorkerProcess::spawn(Path::new("/bin/sleep"), &["60"], b"").unwrap();
        killed.kill();
        assert_eq!(exit_cause(killed.wait().unwrap()), "killed by SIGKILL");
    }

    #[test]
    fn a_worker_reads_its_bootstrap_from_standard_input() {
        let mut echo = WorkerProcess::spawn(
            Path::new("/bin/sh"),
            &["-c", r#"read x; [ "$x" = secret ]"#],
            b"secret\n",
        )
        .unwrap();
        assert!(echo.wait().unwrap().success());
        assert!(echo.pid() > 0);
    }
}
