//! The parent's side of the pool: seats for worker processes, kept filled.
//!
//! A pool has a fixed number of seats; each holds one worker process at a
//! time. The pool starts a worker for every empty seat, and again whenever
//! one ends without being asked to, after a backoff that grows with the
//! failures of that seat (so a worker that cannot start does not make the
//! pool spin), but never gives up on a seat. A replacement gets a new
//! process number, so addresses of the dead actors never name a new one.
//!
//! Two threads run the pool. The acceptor takes every connection to the
//! pool's socket and hands it to a short-lived thread that runs the
//! handshake, so a stranger (a peer that connects and says nothing, or
//! closes at once) costs only its own thread, for at most the handshake's
//! patience, and never delays a worker's start. The keeper starts workers,
//! notices those that die before they connect or take too long, and kills
//! those whose link has carried nothing, not even the heartbeat every worker
//! sends each second, for longer than the heartbeat timeout: a worker that
//! hangs without dying is replaced like one that died.
//!
//! Rejected: accepting and greeting on one thread (one silent peer stalls
//! every start behind it), and giving up on a seat after some failures (a
//! pool that shrinks silently is a fault found only in production).

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::handshake::{self, Secret};
use super::ipc::Listener;
use super::{Load, WorkerProcess, exit_cause, place};
use crate::node::{Control, Host, Node, Registration};
use crate::pool::frame::Frame;
use crate::sync::lock;

/// At most this many handshakes run at once; further connections are
/// closed unread until one ends.
const MAX_HANDSHAKES: usize = 32;

/// The first retry of a seat comes at once; then after this, doubling.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to fill a seat.
const LONGEST_BACKOFF: Duration = Duration::from_secs(5);

/// A worker up this long has proved its seat sound: its failures are forgotten.
const STABLE_AFTER: Duration = Duration::from_secs(10);

/// How a pool starts its workers and watches over them.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The program to run for a worker.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// What a worker reads on its standard input after its process number
    /// (a `u32`, little-endian): the pool's socket, secret and whatever else
    /// the runtime needs.
    pub bootstrap: Vec<u8>,
    /// How long a worker may take from its start to the end of its handshake.
    pub start_patience: Duration,
    /// How long a peer may take over the handshake once connected.
    pub handshake_patience: Duration,
    /// How long a worker's link may stay silent before the worker is
    /// deemed hung and killed; `None` never.
    pub heartbeat_timeout: Option<Duration>,
}

/// Why the pool could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// The pool was shut down.
    Closed,
    /// There is no such seat.
    NoSeat {
        /// The seat asked for.
        seat: usize,
        /// How many seats there are.
        size: usize,
    },
    /// A worker failed to start while the pool itself was starting; carries why.
    StartFailed(String),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the worker pool is shut down"),
            Self::NoSeat { seat, size } => write!(
                f,
                "the pool has workers 0 to {}, not {seat}",
                size.saturating_sub(1)
            ),
            Self::StartFailed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PoolError {}

#[derive(Debug)]
enum Seat {
    Empty {
        failures: u32,
        retry_at: Instant,
    },
    Starting {
        failures: u32,
    },
    Up {
        process: u32,
        pid: u32,
        since: Instant,
        failures: u32,
    },
}

struct Launch {
    seat: usize,
    worker: WorkerProcess,
    started: Instant,
}

struct State {
    seats: Vec<Seat>,
    launches: HashMap<u32, Launch>,
    /// Why the last start of a seat failed, for as long as no worker has been up in it.
    failures: Vec<Option<String>>,
    /// Whether every seat has had a worker up at least once.
    started: bool,
    /// How often each seat's worker ended without being asked to.
    restarts: Vec<u64>,
    closed: bool,
}

/// What the pool tells about one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Its seat.
    pub seat: usize,
    /// Its process number.
    pub process: u32,
    /// Its operating-system process id.
    pub pid: u32,
    /// Its load, as last reported.
    pub load: Load,
    /// How often a worker in its seat ended without being asked to, and
    /// was replaced.
    pub restarts: u64,
}

/// A worker killed at shutdown because it did not end in time.
#[derive(Debug, Clone)]
pub struct Killed {
    /// Its process number.
    pub process: u32,
    /// Its operating-system process id.
    pub pid: u32,
    /// The actors still registered in it when it was killed.
    pub actors: Vec<Registration>,
}

/// The parent's worker processes.
pub struct Pool<H: Host> {
    node: Arc<Node<H>>,
    listener: Mutex<Option<Arc<Listener>>>,
    socket: PathBuf,
    secret: Secret,
    settings: Mutex<Option<Settings>>,
    state: Mutex<State>,
    changed: Condvar,
    handshakes: Arc<AtomicUsize>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    closed: AtomicBool,
}

fn backoff(failures: u32) -> Duration {
    if failures <= 1 {
        return Duration::ZERO;
    }
    FIRST_BACKOFF
        .saturating_mul(1 << (failures - 2).min(16))
        .min(LONGEST_BACKOFF)
}

impl<H: Host> Pool<H> {
    /// A pool of `size` seats listening in a new private directory under
    /// `tmpdir`; [`Pool::start`] starts its workers.
    ///
    /// # Errors
    /// If the directory or the socket cannot be made.
    pub fn bind(node: &Arc<Node<H>>, size: usize, tmpdir: &Path) -> std::io::Result<Arc<Self>> {
        let listener = Listener::bind(tmpdir)?;
        let now = Instant::now();
        Ok(Arc::new(Self {
            node: Arc::clone(node),
            socket: listener.path().to_owned(),
            secret: listener.secret().clone(),
            listener: Mutex::new(Some(Arc::new(listener))),
            settings: Mutex::new(None),
            state: Mutex::new(State {
                seats: (0..size)
                    .map(|_| Seat::Empty {
                        failures: 0,
                        retry_at: now,
                    })
                    .collect(),
                launches: HashMap::new(),
                failures: vec![None; size],
                started: false,
                restarts: vec![0; size],
                closed: false,
            }),
            changed: Condvar::new(),
            handshakes: Arc::new(AtomicUsize::new(0)),
            threads: Mutex::default(),
            closed: AtomicBool::new(false),
        }))
    }

    /// The socket workers connect to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The secret workers prove they hold.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The number of seats.
    pub fn size(&self) -> usize {
        self.lock_state().seats.len()
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Starts a worker in every seat, and the threads that keep them filled.
    ///
    /// # Errors
    /// If the pool is shut down or a thread cannot be started.
    pub fn start(self: &Arc<Self>, settings: Settings) -> std::io::Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(std::io::Error::other(PoolError::Closed));
        }
        *lock(&self.settings) = Some(settings);
        let weak = Arc::downgrade(self);
        self.node.on_lost(Box::new(move |process, cause, expected| {
            let Some(pool) = weak.upgrade() else {
                return false;
            };
            pool.lost(process, cause, expected);
            true
        }));
        let acceptor = {
            let pool = Arc::downgrade(self);
            let listener = lock(&self.listener)
                .clone()
                .ok_or_else(|| std::io::Error::other(PoolError::Closed))?;
            std::thread::Builder::new()
                .name("pykka_rs-acceptor".to_owned())
                .spawn(move || accept_loop(&pool, &listener))?
        };
        let keeper = {
            let pool = Arc::downgrade(self);
            std::thread::Builder::new()
                .name("pykka_rs-keeper".to_owned())
                .spawn(move || keep_loop(&pool))?
        };
        lock(&self.threads).extend([acceptor, keeper]);
        Ok(())
    }

    /// Waits until every seat has a worker up, or `until`. Returns whether
    /// they are all up.
    ///
    /// # Errors
    /// [`PoolError::StartFailed`] if a worker failed to start before every
    /// seat had been filled once; [`PoolError::Closed`].
    pub fn wait_ready(&self, until: Instant) -> Result<bool, PoolError> {
        let mut state = self.lock_state();
        loop {
            if state.closed {
                return Err(PoolError::Closed);
            }
            if state.started {
                return Ok(true);
            }
            if let Some(why) = state.failures.iter().flatten().next() {
                return Err(PoolError::StartFailed(why.clone()));
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return Ok(false);
            };
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The process number of the worker in `seat`, or of the least busy
    /// worker if `seat` is `None`, waiting until `until` for one to be up.
    ///
    /// # Errors
    /// [`PoolError::NoSeat`], [`PoolError::Closed`].
    pub fn wait_for_worker(
        &self,
        seat: Option<usize>,
        until: Instant,
    ) -> Result<Option<u32>, PoolError> {
        let mut state = self.lock_state();
        if let Some(seat) = seat {
            if seat >= state.seats.len() {
                return Err(PoolError::NoSeat {
                    seat,
                    size: state.seats.len(),
                });
            }
        }
        loop {
            if state.closed {
                return Err(PoolError::Closed);
            }
            let found = match seat {
                Some(seat) => match state.seats[seat] {
                    Seat::Up { process, .. } => Some(process),
                    _ => None,
                },
                None => self.least_busy(&state),
            };
            if found.is_some() {
                return Ok(found);
            }
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn least_busy(&self, state: &State) -> Option<u32> {
        let loads = self.node.loads();
        let candidates: Vec<Load> = state
            .seats
            .iter()
            .map(|seat| match seat {
                Seat::Up { process, .. } => loads.get(process).copied().unwrap_or_default(),
                _ => Load::default(),
            })
            .collect();
        match state.seats.get(place(&candidates)?) {
            Some(Seat::Up { process, .. }) => Some(*process),
            _ => None,
        }
    }

    /// The workers that are up.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let loads = self.node.loads();
        let state = self.lock_state();
        state
            .seats
            .iter()
            .enumerate()
            .filter_map(|(seat, up)| match up {
                Seat::Up { process, pid, .. } => Some(WorkerInfo {
                    seat,
                    process: *process,
                    pid: *pid,
                    load: loads.get(process).copied().unwrap_or_default(),
                    restarts: state.restarts[seat],
                }),
                _ => None,
            })
            .collect()
    }

    /// Whether the pool was shut down.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Asks every worker to stop its actors and exit; kills those still
    /// running after `patience`, and those still starting at once; removes
    /// the socket and its directory. Returns the workers that had to be
    /// killed, with the actors they still had.
    pub fn shutdown(&self, patience: Duration) -> Vec<Killed> {
        self.closed.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + patience;
        let (up, launches) = {
            let mut state = self.lock_state();
            state.closed = true;
            let up: Vec<(u32, u32)> = state
                .seats
                .iter()
                .filter_map(|seat| match seat {
                    Seat::Up { process, pid, .. } => Some((*process, *pid)),
                    _ => None,
                })
                .collect();
            (up, std::mem::take(&mut state.launches))
        };
        self.changed.notify_all();
        if let Some(listener) = lock(&self.listener).as_ref() {
            listener.close();
        }
        for (_, mut launch) in launches {
            launch.worker.kill();
            drop(launch.worker.wait());
        }
        for (process, _) in &up {
            self.node.retire(*process);
            drop(self.node.send_frame(*process, &Frame::Shutdown, &[]));
        }
        let mut killed = Vec::new();
        for (process, pid) in up {
            let actors: Vec<Registration> = self
                .node
                .registered()
                .into_iter()
                .filter(|entry| entry.actor.process == process)
                .collect();
            if self.node.await_exit(process, deadline) {
                killed.push(Killed {
                    process,
                    pid,
                    actors,
                });
            }
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        for thread in threads {
            drop(thread.join());
        }
        // Removes the socket and its directory.
        drop(lock(&self.listener).take());
        killed
    }

    /// The runtime's worker `process` ended.
    fn lost(&self, process: u32, cause: &str, expected: bool) {
        let mut state = self.lock_state();
        let now = Instant::now();
        let Some(index) = state
            .seats
            .iter()
            .position(|seat| matches!(seat, Seat::Up { process: p, .. } if *p == process))
        else {
            return;
        };
        let Seat::Up {
            since, failures, ..
        } = state.seats[index]
        else {
            unreachable!("the seat was just found up");
        };
        let failures = if now.duration_since(since) >= STABLE_AFTER {
            1
        } else {
            failures + 1
        };
        state.seats[index] = Seat::Empty {
            failures,
            retry_at: now + backoff(failures),
        };
        if !expected && !state.closed {
            state.restarts[index] += 1;
            self.notify(format!(
                "pykka_rs {cause}; its actors are dead. Starting a new worker."
            ));
        }
        drop(state);
        self.changed.notify_all();
    }

    fn notify(&self, text: String) {
        self.node.report(Control::PoolEvent(text));
    }

    /// A worker connected and proved itself.
    fn connected(&self, process: u32, stream: UnixStream) {
        let mut state = self.lock_state();
        let Some(launch) = state.launches.remove(&process) else {
            return; // not one this pool waits for (any more)
        };
        let pid = launch.worker.pid();
        let failures = match state.seats[launch.seat] {
            Seat::Starting { failures, .. } => failures,
            _ => 0,
        };
        if let Err(err) = self.node.connect(process, stream, Some(pid)) {
            let mut worker = launch.worker;
            worker.kill();
            drop(worker.wait());
            self.fail_seat(
                &mut state,
                launch.seat,
                failures,
                format!("cannot read from worker process {process} (pid {pid}): {err}"),
            );
            return;
        }
        self.node.adopt(process, launch.worker);
        if state.closed {
            // Shut down meanwhile: this worker goes the way of the others.
            drop(state);
            self.node.retire(process);
            drop(self.node.send_frame(process, &Frame::Shutdown, &[]));
            return;
        }
        state.seats[launch.seat] = Seat::Up {
            process,
            pid,
            since: Instant::now(),
            failures,
        };
        state.failures[launch.seat] = None;
        state.started = state
            .seats
            .iter()
            .all(|seat| matches!(seat, Seat::Up { .. }))
            || state.started;
        drop(state);
        self.changed.notify_all();
    }

    fn fail_seat(&self, state: &mut State, seat: usize, failures: u32, why: String) {
        let failures = failures + 1;
        let retry = backoff(failures);
        state.seats[seat] = Seat::Empty {
            failures,
            retry_at: Instant::now() + retry,
        };
        if state.started {
            self.notify(format!(
                "pykka_rs could not start a worker: {why}; trying again in {:.1} seconds",
                retry.as_secs_f64()
            ));
        }
        state.failures[seat] = Some(why);
        self.changed.notify_all();
    }

    /// One round of the keeper: fills empty seats whose time has come, gives
    /// up on launches that died or took too long, kills hung workers.
    /// Returns how long it may sleep.
    fn keep(&self) -> Option<Duration> {
        let settings = lock(&self.settings).clone()?;
        let mut state = self.lock_state();
        if state.closed {
            return None;
        }
        let now = Instant::now();
        let mut sleep = Duration::from_secs(1);
        for seat in 0..state.seats.len() {
            if let Seat::Empty { failures, retry_at } = state.seats[seat] {
                if retry_at > now {
                    sleep = sleep.min(retry_at - now);
                    continue;
                }
                self.launch(&mut state, &settings, seat, failures);
            }
        }
        let ended: Vec<(u32, String)> = state
            .launches
            .iter_mut()
            .filter_map(|(process, launch)| {
                let pid = launch.worker.pid();
                if let Ok(Some(status)) = launch.worker.try_wait() {
                    return Some((*process, format!(
                        "worker process {process} (pid {pid}) {} while starting; its error output says why",
                        exit_cause(status)
                    )));
                }
                (now.duration_since(launch.started) > settings.start_patience).then(|| {
                    (*process, format!(
                        "worker process {process} (pid {pid}) did not connect within {} seconds",
                        settings.start_patience.as_secs_f64()
                    ))
                })
            })
            .collect();
        for (process, why) in ended {
            let Some(mut launch) = state.launches.remove(&process) else {
                continue;
            };
            launch.worker.kill();
            drop(launch.worker.wait());
            let failures = match state.seats[launch.seat] {
                Seat::Starting { failures, .. } => failures,
                _ => 0,
            };
            self.fail_seat(&mut state, launch.seat, failures, why);
        }
        if !state.launches.is_empty() {
            // Launches die or time out without telling anyone: look again soon.
            sleep = sleep.min(Duration::from_millis(20));
        }
        drop(state);
        if let Some(timeout) = settings.heartbeat_timeout {
            for process in self.node.silent_peers(timeout) {
                self.node.kill(
                    process,
                    Some(format!(
                        "showed no sign of life for {} seconds and was killed",
                        timeout.as_secs_f64()
                    )),
                );
            }
            sleep = sleep.min(timeout / 4);
        }
        Some(sleep)
    }

    fn launch(&self, state: &mut State, settings: &Settings, seat: usize, failures: u32) {
        let process = super::next_process();
        let mut bootstrap = process.to_le_bytes().to_vec();
        bootstrap.extend_from_slice(&settings.bootstrap);
        match WorkerProcess::spawn(&settings.program, &settings.args, &bootstrap) {
            Ok(worker) => {
                state.launches.insert(
                    process,
                    Launch {
                        seat,
                        worker,
                        started: Instant::now(),
                    },
                );
                state.seats[seat] = Seat::Starting { failures };
            }
            Err(err) => {
                self.fail_seat(
                    state,
                    seat,
                    failures,
                    format!("cannot start a worker process: {err}"),
                );
            }
        }
    }
}

/// The acceptor thread: hands every connection to a handshake thread of its
/// own, until the listener closes.
fn accept_loop<H: Host>(pool: &Weak<Pool<H>>, listener: &Listener) {
    let Some((secret, handshakes, patience)) = pool.upgrade().map(|pool| {
        let patience = lock(&pool.settings)
            .as_ref()
            .map_or(Duration::from_secs(5), |s| s.handshake_patience);
        (pool.secret.clone(), Arc::clone(&pool.handshakes), patience)
    }) else {
        return;
    };
    while let Ok(mut stream) = listener.accept() {
        if pool.upgrade().is_none_or(|pool| pool.is_closed()) {
            return;
        }
        if handshakes.fetch_add(1, Ordering::SeqCst) >= MAX_HANDSHAKES {
            handshakes.fetch_sub(1, Ordering::SeqCst);
            continue; // too many at once: this one is closed unread
        }
        let pool = pool.clone();
        let secret = secret.clone();
        let running = Arc::clone(&handshakes);
        let spawned = std::thread::Builder::new()
            .name("pykka_rs-handshake".to_owned())
            .spawn(move || {
                let admitted = handshake::admit(&mut stream, &secret, patience);
                running.fetch_sub(1, Ordering::SeqCst);
                if let (Ok(process), Some(pool)) = (admitted, pool.upgrade()) {
                    pool.connected(process, stream);
                }
            });
        if spawned.is_err() {
            handshakes.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The keeper thread: rounds of [`Pool::keep`] until the pool closes.
fn keep_loop<H: Host>(pool: &Weak<Pool<H>>) {
    loop {
        let Some(strong) = pool.upgrade() else {
            return;
        };
        let Some(sleep) = strong.keep() else {
            return;
        };
        let state = strong.lock_state();
        if state.closed {
            return;
        }
        drop(
            strong
                .changed
                .wait_timeout(state, sleep)
                .unwrap_or_else(PoisonError::into_inner),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_is_retried_at_once_then_after_a_growing_pause_up_to_a_limit() {
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), FIRST_BACKOFF);
        assert_eq!(backoff(3), FIRST_BACKOFF * 2);
        assert_eq!(backoff(4), FIRST_BACKOFF * 4);
        assert_eq!(backoff(40), LONGEST_BACKOFF);
    }
}
