//! This process's place among the processes of one pykka_rs system: its
//! number (0 for the parent, 1 and up for workers), its links to the other
//! processes, the actors and futures it lets them reach, the replies it waits
//! for from them, and (in the parent) the workers it runs and the actors
//! they host.
//!
//! The parent is the hub: a worker has one link, to the parent, and the
//! parent has one to each worker. Every frame a worker sends for another
//! worker passes through the parent's reading thread for that link, which
//! forwards it; the runtime in the parent never sees it. Frames from one
//! process to another travel one link each way, in order, so messages from
//! one sender to one actor keep their order, as in Erlang.
//!
//! Each link has a thread that waits (in `poll`) for frames to arrive. But a
//! thread that spins while it waits for a reply or a message reads the links
//! itself (see [`Node::help`] and `crate::wait::set_helper`): in a busy
//! exchange, the frame is taken by the thread that wants it, and no thread
//! sleeps or wakes. A thread that must sleep may sleep in `poll` on the
//! sockets itself, one at a time ([`Node::read_parked`]), so that the frame
//! it waits for wakes it and no link thread. Meanwhile the links' threads
//! stay out of the way. Frames from a link are read and handled under that
//! link's lock, so they are handled in order, whoever reads them.
//!
//! Whoever reads a link never runs the runtime's code: a message for a local
//! actor goes into its mailbox still pickled (the actor unpickles it), and a
//! reply goes into its future still pickled. Work that needs the runtime (a
//! log record, a request to start an actor, a dead process to report) is
//! queued for it as a [`Control`]. The runtime itself is a [`Host`]: the
//! Python bindings are one, the tests below another.
//!
//! A process forked from a process of the system inherits its node but not
//! its threads; [`Node::disown`] makes the copy refuse to touch the links,
//! whose other ends belong to the original.
//!
//! Supervision adds two things (`exits.rs`, `relay.rs`): an actor's end is
//! announced with its reason (`Exited`), for monitors in any process, and a
//! supervised process actor is reached through a relay, a stable address in
//! its supervisor's process that forwards to whichever run of the actor is
//! current and holds messages while it restarts.
//!
//! Rejected: a mesh of links between workers (N² sockets and an address
//! exchange, for one hop saved on worker-to-worker messages), a thread of the
//! runtime per link (every message would wait for an interpreter twice), and
//! the node in the bindings (its races were found only by chance, through
//! Python; here they are tested frame by frame).

pub mod exits;
pub mod host;
mod link;
mod log_levels;
pub mod memory;
pub mod metrics;
pub mod relay;
mod stops;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use exits::Exits;
pub use exits::{Down, ExitRecord, Watch};
pub use host::{Host, Resolution};
use link::{LinkState, Reader, Woke};
use log_levels::LogLevels;
pub use relay::{Relay, RelayRefused};
use rustix::event::{PollFd, PollFlags, Timespec};
use stops::StopFlags;

use crate::dead_letters;
use crate::event::Event;
use crate::mailbox::{Mailbox, Overflow, Refused};
use crate::metrics::census::Census;
use crate::payload::{Payload, SharedBuffer};
use crate::pool::frame::{Address, Frame, FutureId};
use crate::pool::{Load, WorkerProcess, exit_cause};
use crate::swept::Swept;
use crate::sync::{lock, read, write};
use crate::wait::Wakeup;

/// Work the links hand to the runtime.
#[derive(Debug)]
pub enum Control {
    /// Parent: a worker's log record; payload: its pickled fields.
    Log(Vec<u8>),
    /// Parent: a worker's request; answer `reply`.
    Request {
        /// Where the answer goes.
        reply: FutureId,
        /// The pickled request.
        payload: Vec<u8>,
    },
    /// Worker: make an actor; answer `reply` with its number.
    Spawn {
        /// Where the answer goes.
        reply: FutureId,
        /// The pickled class, arguments and URN.
        payload: Vec<u8>,
    },
    /// A message nobody could take; for the log.
    DeadLetter(String),
    /// Parent: a worker process is gone (`expected` when the pool shut it down).
    ProcessLost {
        /// The worker's process number.
        process: u32,
        /// Why it ended.
        cause: String,
        /// Whether the pool asked it to end.
        expected: bool,
    },
    /// Worker: the link to the parent is gone, so the worker must go too.
    ParentLost(String),
    /// Worker: the parent asked it to stop its actors and exit.
    Shutdown,
    /// Parent: something the pool did that the runtime should log, such
    /// as replacing a dead worker.
    PoolEvent(String),
    /// Set this flag: everything queued before it has been handled.
    Barrier(Arc<Event>),
    /// A watch ([`Node::watch`]) learnt how its actor ended.
    Down {
        /// The watch's token.
        token: u64,
        /// The actor watched.
        actor: Address,
        /// How it ended.
        down: Down,
    },
}

/// Why a frame could not be sent; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The process is gone; carries why, e.g. "worker process 3 (pid 12)
    /// killed by SIGKILL".
    Gone(String),
    /// This process has no link to that process.
    NotConnected(u32),
    /// The link to the process failed while writing.
    LinkFailed {
        /// The process the frame was for.
        process: u32,
        /// What went wrong.
        error: String,
    },
    /// The frame is over the size limits.
    TooLarge(String),
    /// This process is a fork of a process of the system, whose links it
    /// must leave alone.
    Forked,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gone(cause) => f.write_str(cause),
            Self::NotConnected(process) => write!(f, "process {process} is not connected"),
            Self::LinkFailed { process, error } => {
                write!(f, "the link to process {process} failed: {error}")
            }
            Self::TooLarge(what) => f.write_str(what),
            Self::Forked => f.write_str(
                "this process was forked from a process of a pykka_rs system, and only \
                 that process may use the system's links to other processes",
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// Where the answer to a message sent with [`Node::send_message`] goes.
pub enum Answer<F> {
    /// A future of this process; the label names the actor in error messages.
    Here(Arc<F>, String),
    /// A future of another process, which the answer goes straight to.
    There(FutureId),
}

/// Who waits for an answer: a future here, or (for an ask a relay passed
/// on) a future of another process, told through this one.
enum Waiter<F> {
    Here(Arc<F>),
    There(FutureId),
}

struct Pending<F> {
    waiter: Waiter<F>,
    /// The process expected to answer: if it dies, so does the wait.
    from: u32,
    /// Names the awaited actor in error messages, e.g. "Echo (urn:uuid:…)".
    label: String,
}

/// A worker as the parent knows it.
#[derive(Default)]
struct Peer {
    load: Load,
    process: Option<WorkerProcess>,
    /// Set when the pool asked the worker to end.
    retiring: Arc<AtomicBool>,
    /// Why the parent killed it, if it did.
    killed_because: Option<String>,
    /// Whether it is a subinterpreter of this process, linked in memory.
    interpreter: bool,
}

/// An actor of a worker, as the parent's registry lists it.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The order in which the parent learnt of it.
    pub seq: u64,
    /// Where the actor lives.
    pub actor: Address,
    /// What its process said of it (for the runtime: its URN and class).
    pub payload: Arc<[u8]>,
}

#[derive(Default)]
struct Registry {
    by_seq: BTreeMap<u64, Registration>,
    by_actor: HashMap<Address, u64>,
}

/// A function told of every worker that ends: its number, why, and whether
/// the pool asked it to. It returns whether it wants to hear of the next.
pub type LostHook = Box<dyn Fn(u32, &str, bool) -> bool + Send + Sync>;

/// A message's size, pickle and shared buffers together, for dead letters.
fn size_of(message: &Payload) -> u64 {
    let buffers: u64 = message.buffers().iter().map(SharedBuffer::len).sum();
    message.bytes().len() as u64 + buffers
}

/// A pickle of `None`: what confirms an `Offer`.
const PICKLED_NONE: &[u8] = b"\x80\x03N.";

/// The reason of the `Undeliverable` that answers an ask refused by a full
/// bounded mailbox; the asker raises `MailboxFull` for it.
pub const MAILBOX_FULL: &str = "has a full mailbox: the message was refused";

/// How long a link's thread leaves the link to the threads that wait after
/// one of them last read it: it checks again after this, so a frame nobody
/// reads for waits at most this long for it.
const HELPERS_LINGER: Duration = Duration::from_micros(200);

/// The longest a link's thread sleeps at once while a thread is parked
/// reading the links (`read_parked`). It sleeps instead of waiting in
/// `poll` beside the reader, where each frame would wake both: first for
/// `HELPERS_LINGER`, then for twice as long each time it finds the same
/// reader there, up to this. A reader that leaves wakes a link thread that
/// sleeps longer than `HELPERS_LINGER`, so the link is never left unread
/// for longer than that.
const READER_LINGER: Duration = Duration::from_millis(10);

/// How long an exported future is kept once it is done.
const SHARED_FUTURE_LIFE: Duration = Duration::from_secs(60);

/// An exported future, and when a sweep first found it done.
type SharedFuture<F> = (Arc<F>, Option<Instant>);

/// Who is parked reading the links: a turn number, how to wake them, and
/// since when they have been there.
#[derive(Default)]
pub(super) struct Seat {
    turn: u64,
    reader: Option<(Wakeup, Instant)>,
    /// Link threads sleeping longer than `HELPERS_LINGER` while a reader
    /// sits, to wake when it leaves.
    sleepers: Vec<std::thread::Thread>,
}

/// How long a thread must have been parked reading the links before another
/// may take its place: one that has waited that long is likely to wait on
/// (an idle actor's thread), while two that take turns quickly would only
/// wake each other.
pub(super) const SEAT_HELD_FOR: Duration = Duration::from_millis(1);

/// A turn in the one seat for a thread parked reading the links. Taking it
/// from a thread wakes that thread; leaving it on drop frees it.
pub(super) struct ReaderSeat<'a> {
    seat: &'a Mutex<Seat>,
    turn: u64,
}

impl<'a> ReaderSeat<'a> {
    /// The seat, if it is free or its holder has sat long enough by `now`.
    pub(super) fn take(seat: &'a Mutex<Seat>, reader: Wakeup, now: Instant) -> Option<Self> {
        let mut taken = lock(seat);
        if let Some((before, since)) = taken.reader {
            if now.duration_since(since) < SEAT_HELD_FOR {
                return None;
            }
            before.wake();
        }
        taken.turn += 1;
        taken.reader = Some((reader, now));
        Some(Self {
            seat,
            turn: taken.turn,
        })
    }

    /// Whether nobody took the seat since.
    pub(super) fn held(&self) -> bool {
        lock(self.seat).turn == self.turn
    }
}

impl Drop for ReaderSeat<'_> {
    fn drop(&mut self) {
        let mut seat = lock(self.seat);
        if seat.turn == self.turn {
            seat.reader = None;
            for sleeper in seat.sleepers.drain(..) {
                sleeper.unpark();
            }
        }
    }
}

/// This process in the system.
pub struct Node<H: Host> {
    process: u32,
    disowned: AtomicBool,
    linked: AtomicBool,
    links: RwLock<HashMap<u32, Arc<LinkState>>>,
    exports: Mutex<HashMap<u64, Weak<Mailbox<H::Envelope>>>>,
    relays: Mutex<HashMap<u64, Weak<Relay<H>>>>,
    exits: Mutex<Exits>,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending<H::Future>>>,
    shared: Mutex<Swept<u64, SharedFuture<H::Future>>>,
    stops: Mutex<StopFlags>,
    dead: Mutex<HashMap<u32, String>>,
    peers: Mutex<HashMap<u32, Peer>>,
    watchers: Mutex<HashMap<u32, std::thread::JoinHandle<()>>>,
    registry: Mutex<Registry>,
    lost_hooks: Mutex<Vec<Arc<LostHook>>>,
    parent_lost: Arc<Event>,
    control: (flume::Sender<Control>, flume::Receiver<Control>),
    epoch: Instant,
    /// When a spinning thread last read the links, in nanoseconds since `epoch`.
    last_help: AtomicU64,
    /// The thread parked reading the links (`read_parked`).
    reader_seat: Mutex<Seat>,
    /// This process's live actors (see `metrics.rs`).
    census: Census,
    /// Parent: the counters workers pushed for their actors.
    pushed: Mutex<metrics::Pushed>,
    /// The parent's levels of its loggers: the parent's latest, or the
    /// latest a worker received.
    log_levels: LogLevels,
}

impl<H: Host> Node<H> {
    /// The node of process number `process`: 0 for the parent.
    pub fn new(process: u32) -> Self {
        Self {
            process,
            disowned: AtomicBool::new(false),
            linked: AtomicBool::new(false),
            links: RwLock::default(),
            exports: Mutex::default(),
            relays: Mutex::default(),
            exits: Mutex::default(),
            next_id: AtomicU64::new(1),
            pending: Mutex::default(),
            shared: Mutex::default(),
            stops: Mutex::default(),
            dead: Mutex::default(),
            peers: Mutex::default(),
            watchers: Mutex::default(),
            registry: Mutex::default(),
            lost_hooks: Mutex::default(),
            parent_lost: Arc::new(Event::new()),
            control: flume::unbounded(),
            epoch: Instant::now(),
            last_help: AtomicU64::new(0),
            reader_seat: Mutex::default(),
            census: Census::default(),
            pushed: Mutex::default(),
            log_levels: LogLevels::default(),
        }
    }

    /// This process's number: 0 for the parent.
    pub fn process(&self) -> u32 {
        self.process
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A number from the counter that orders registrations, for the
    /// runtime's own to interleave with the workers' (see [`Node::registered`]).
    pub fn next_seq(&self) -> u64 {
        self.new_id()
    }

    /// Whether this process has (or had) a link to another.
    pub fn is_linked(&self) -> bool {
        self.linked.load(Ordering::Acquire)
    }

    /// Whether this process has links of its own to read: linked, and not
    /// a forked copy.
    pub fn reads_links(&self) -> bool {
        self.is_linked() && !self.is_disowned()
    }

    /// Makes this node, inherited by a forked process, refuse to send on the
    /// links or read them: the other ends belong to the process it was
    /// forked from. Takes no lock (a thread of the original may have held
    /// one when it forked).
    pub fn disown(&self) {
        if self.is_linked() {
            self.disowned.store(true, Ordering::Release);
        }
    }

    /// Whether [`Node::disown`] made this node leave its links alone.
    pub fn is_disowned(&self) -> bool {
        self.disowned.load(Ordering::Acquire)
    }

    /// Set once a worker has lost its parent.
    pub fn parent_lost(&self) -> &Arc<Event> {
        &self.parent_lost
    }

    /// Calls `hook` whenever a worker's link ends.
    pub fn on_lost(&self, hook: LostHook) {
        lock(&self.lost_hooks).push(Arc::new(hook));
    }

    /// Lets other processes reach `mailbox`; returns its number here. Its
    /// stop is announced to the other processes when its stopped flag is set.
    pub fn export_actor(self: &Arc<Self>, mailbox: &Arc<Mailbox<H::Envelope>>) -> u64 {
        let id = self.new_id();
        if self.is_disowned() {
            return id;
        }
        lock(&self.exports).insert(id, Arc::downgrade(mailbox));
        let node = Arc::downgrade(self);
        mailbox.stopped().on_set(move || {
            if let Some(node) = node.upgrade() {
                node.announce_stopped(id);
            }
        });
        id
    }

    /// The local mailbox with this number, if its actor is still there.
    pub fn local_mailbox(&self, id: u64) -> Option<Arc<Mailbox<H::Envelope>>> {
        lock(&self.exports).get(&id)?.upgrade()
    }

    /// Lets other processes read or set `future`; returns its number here.
    ///
    /// The node keeps an exported future until it is done and has been for
    /// a minute: a copy of it may still be on its way to another process,
    /// which may subscribe to it only then.
    pub fn export_future(&self, future: &Arc<H::Future>) -> u64 {
        let id = self.new_id();
        if self.is_disowned() {
            return id;
        }
        let now = Instant::now();
        lock(&self.shared).insert(id, (Arc::clone(future), None), |_, (future, done_at)| {
            if !H::is_resolved(future) {
                return true;
            }
            let done_at = *done_at.get_or_insert(now);
            now.duration_since(done_at) < SHARED_FUTURE_LIFE
        });
        id
    }

    /// The local future with this number, if it was exported.
    pub fn local_future(&self, id: u64) -> Option<Arc<H::Future>> {
        lock(&self.shared)
            .map()
            .get(&id)
            .map(|(future, _)| Arc::clone(future))
    }

    /// The stopped flag, here, of an actor in another process; set when its
    /// stop is announced or its process dies.
    pub fn stop_flag(&self, actor: Address) -> Arc<Event> {
        if self.is_disowned() {
            // A fork reaches no other process: every remote actor is gone for it.
            let gone = Arc::new(Event::new());
            gone.set();
            return gone;
        }
        let dead = lock(&self.dead).contains_key(&actor.process);
        lock(&self.stops).flag(actor, dead)
    }

    /// Why a process is gone, if it is.
    pub fn death_of(&self, process: u32) -> Option<String> {
        lock(&self.dead).get(&process).cloned()
    }

    /// Whether frames to `process` go over an in-memory link, to a
    /// subinterpreter of this process: shared buffers would only be copied
    /// back into the payload there (see `memory.rs`).
    pub fn reaches_in_memory(&self, process: u32) -> bool {
        // A worker reaches everything through its socket to the parent.
        self.process == 0
            && read(&self.links)
                .get(&process)
                .is_some_and(|link| link.in_memory())
    }

    fn link_to(&self, process: u32) -> Result<Arc<LinkState>, SendError> {
        if self.is_disowned() {
            return Err(SendError::Forked);
        }
        if let Some(cause) = self.death_of(process) {
            return Err(SendError::Gone(cause));
        }
        // A worker reaches every other process through the parent.
        let hop = if self.process == 0 { process } else { 0 };
        read(&self.links)
            .get(&hop)
            .cloned()
            .ok_or(SendError::NotConnected(process))
    }

    /// Sends a frame to one process, through the parent if need be.
    ///
    /// # Errors
    /// Why the process cannot be reached, or the frame is too large.
    pub fn send_frame(
        &self,
        process: u32,
        header: &Frame,
        payload: &[u8],
    ) -> Result<(), SendError> {
        self.link_to(process)?
            .out
            .transmit(header, payload)
            .map_err(|err| Self::send_failed(process, &err))
    }

    /// As [`Node::send_frame`], for a payload with its shared buffers.
    fn send_payload(
        &self,
        process: u32,
        header: &Frame,
        payload: &Payload,
    ) -> Result<(), SendError> {
        self.link_to(process)?
            .out
            .transmit_payload(header, payload)
            .map_err(|err| Self::send_failed(process, &err))
    }

    /// As [`Node::send_payload`], for a payload the caller gives away: a
    /// link in memory takes it without copying it.
    fn send_frame_owned(
        &self,
        process: u32,
        header: &Frame,
        payload: Payload,
    ) -> Result<(), SendError> {
        self.link_to(process)?
            .out
            .transmit_owned(header, payload)
            .map_err(|err| Self::send_failed(process, &err))
    }

    fn send_failed(process: u32, err: &io::Error) -> SendError {
        if err.kind() == io::ErrorKind::InvalidData {
            SendError::TooLarge(err.to_string())
        } else {
            SendError::LinkFailed {
                process,
                error: err.to_string(),
            }
        }
    }

    /// Sends a pickled message to an actor here or elsewhere; the answer, if
    /// one is wanted, goes where `answer` says.
    ///
    /// # Errors
    /// Why the actor cannot be reached (its process is dead, say); the
    /// message was not sent.
    pub fn send_message(
        self: &Arc<Self>,
        to: Address,
        message: Payload,
        answer: Option<Answer<H::Future>>,
    ) -> Result<(), SendError> {
        let mut registered = None;
        let reply = answer.map(|answer| match answer {
            Answer::There(future) => future,
            Answer::Here(future, label) => {
                let reply = self.expect(future, to.process, label);
                registered = Some(reply);
                reply
            }
        });
        if to.process == self.process {
            self.deliver(to.actor, message, reply);
            return Ok(());
        }
        let header = match reply {
            None => Frame::Tell { to },
            Some(reply) => Frame::Ask { to, reply },
        };
        let sent = self.send_frame_owned(to.process, &header, message);
        if let (Err(_), Some(reply)) = (&sent, registered) {
            lock(&self.pending).remove(&reply.id);
        }
        sent
    }

    /// Sends a pickled message whose sender waits until it is queued (an
    /// `Offer`, or an `OfferAsk` when an answer is wanted): `ack` is told
    /// then, or why it was refused; error messages call the actor `label`.
    ///
    /// # Errors
    /// Why the actor cannot be reached; the message was not sent.
    pub fn send_offer(
        self: &Arc<Self>,
        to: Address,
        message: Payload,
        answer: Option<Answer<H::Future>>,
        ack: Arc<H::Future>,
        label: String,
    ) -> Result<(), SendError> {
        let mut registered = Vec::new();
        let reply = answer.map(|answer| match answer {
            Answer::There(future) => future,
            Answer::Here(future, label) => {
                let reply = self.expect(future, to.process, label);
                registered.push(reply.id);
                reply
            }
        });
        let ack = self.expect(ack, to.process, label);
        registered.push(ack.id);
        if to.process == self.process {
            self.deliver_offer(to.actor, message, reply, ack);
            return Ok(());
        }
        let header = match reply {
            None => Frame::Offer { to, ack },
            Some(reply) => Frame::OfferAsk { to, reply, ack },
        };
        let sent = self.send_frame_owned(to.process, &header, message);
        if sent.is_err() {
            let mut pending = lock(&self.pending);
            for id in registered {
                pending.remove(&id);
            }
        }
        sent
    }

    /// Notes that `future` waits for an answer from process `from`, which
    /// error messages call `label`; returns where the answer must go.
    fn expect(&self, future: Arc<H::Future>, from: u32, label: String) -> FutureId {
        self.expect_for(Waiter::Here(future), from, label)
    }

    /// As [`Node::expect`], for whoever `waiter` is.
    fn expect_for(&self, waiter: Waiter<H::Future>, from: u32, label: String) -> FutureId {
        let id = self.new_id();
        lock(&self.pending).insert(
            id,
            Pending {
                waiter,
                from,
                label,
            },
        );
        FutureId {
            process: self.process,
            id,
        }
    }

    /// Sends a frame whose answer goes to `reply`, forgetting that wait if
    /// the frame could not be sent.
    fn send_expecting(
        &self,
        process: u32,
        header: &Frame,
        payload: &[u8],
        reply: FutureId,
    ) -> Result<(), SendError> {
        self.send_frame(process, header, payload).inspect_err(|_| {
            lock(&self.pending).remove(&reply.id);
        })
    }

    /// Asks the owner of `future` for its value; it arrives in `into`.
    ///
    /// # Errors
    /// Why the owner cannot be reached.
    pub fn subscribe(
        self: &Arc<Self>,
        future: FutureId,
        into: Arc<H::Future>,
    ) -> Result<(), SendError> {
        let reply = self.expect(into, future.process, "the future's owner".to_owned());
        if future.process == self.process {
            self.serve_subscription(future.id, reply);
            return Ok(());
        }
        self.send_expecting(
            future.process,
            &Frame::Subscribe { future, reply },
            &[],
            reply,
        )
    }

    /// Sends a pickled value (`ok`) or exception to a future here or elsewhere.
    /// A future whose process is gone is given up: nobody waits there.
    pub fn send_reply(&self, to: FutureId, ok: bool, payload: Payload) {
        self.send_resolution(to, Resolution::Pickled { ok, payload });
    }

    fn send_resolution(&self, to: FutureId, outcome: Resolution) {
        if to.process == self.process {
            self.complete(to.id, outcome);
            return;
        }
        let header = match &outcome {
            Resolution::Pickled { ok, .. } => Frame::Reply { to, ok: *ok },
            Resolution::Undeliverable(reason) => Frame::Undeliverable {
                to,
                reason: reason.clone(),
            },
        };
        let payload = match outcome {
            Resolution::Pickled { payload, .. } => payload,
            Resolution::Undeliverable(_) => Payload::default(),
        };
        // Any other failure means the asker's process is gone, and nobody waits.
        if let Err(SendError::TooLarge(why)) = self.send_frame_owned(to.process, &header, payload) {
            // The asker waits: tell it why its answer cannot come.
            self.send_resolution(
                to,
                Resolution::Undeliverable(format!("could not send its reply: {why}")),
            );
        }
    }

    fn send_undeliverable(&self, to: FutureId, reason: String) {
        self.send_resolution(to, Resolution::Undeliverable(reason));
    }

    /// Resolves future `id` of this process: one waiting for an answer, or
    /// one exported for another process to set.
    fn complete(&self, id: u64, outcome: Resolution) {
        let pending = lock(&self.pending).remove(&id);
        let (future, outcome) = match pending {
            Some(Pending {
                waiter: Waiter::There(asker),
                ..
            }) => {
                // Relayed: pass the answer on, as it came.
                self.send_resolution(asker, outcome);
                return;
            }
            Some(Pending {
                waiter: Waiter::Here(future),
                label,
                ..
            }) => {
                let outcome = match outcome {
                    Resolution::Undeliverable(reason) => {
                        Resolution::Undeliverable(format!("{label} {reason}"))
                    }
                    other @ Resolution::Pickled { .. } => other,
                };
                (future, outcome)
            }
            None => match self.local_future(id) {
                Some(future) => (future, outcome),
                // Given up already: its process died, or nobody holds it.
                None => return,
            },
        };
        // A future already answered keeps its first answer, as in Pykka.
        H::resolve(&future, outcome);
    }

    /// Puts a message into a local actor's mailbox, or passes it to a local
    /// relay, or says why it cannot.
    ///
    /// A bounded mailbox takes a message from another process only if it
    /// has room: this thread reads a link that every actor of the process
    /// shares, so it never waits for one actor. A told message that finds
    /// no room is a dead letter, an asker is answered [`MAILBOX_FULL`].
    fn deliver(self: &Arc<Self>, actor: u64, message: Payload, reply: Option<FutureId>) {
        let refusal = match self.local_mailbox(actor) {
            Some(mailbox) if mailbox.bound().is_some() && !H::is_control(message.bytes()) => {
                let size = size_of(&message);
                match mailbox.try_send(H::incoming(message, reply)) {
                    Ok(()) => None,
                    Err(Refused::Stopped(_)) => Some((size, false)),
                    Err(Refused::Full(_)) => Some((size, true)),
                }
            }
            Some(mailbox) => {
                let size = size_of(&message);
                mailbox
                    .send(H::incoming(message, reply))
                    .err()
                    .map(|_| (size, false))
            }
            None => match self.local_relay(actor) {
                Some(relay) => {
                    let size = size_of(&message);
                    self.relay_send(&relay, message, reply.map(Answer::There))
                        .err()
                        .map(|_| (size, false))
                }
                None => Some((size_of(&message), false)),
            },
        };
        let Some((size, full)) = refusal else { return };
        let receiver = format!("actor {actor} of process {}", self.process);
        let what = format!("<a pickled message of {size} bytes>");
        if full {
            dead_letters::record(receiver, what, "the mailbox was full".to_owned());
            if let Some(reply) = reply {
                self.send_undeliverable(reply, MAILBOX_FULL.to_owned());
            }
        } else {
            dead_letters::record(receiver, what, "the actor is gone".to_owned());
            if let Some(reply) = reply {
                self.send_undeliverable(reply, "not found".to_owned());
            } else {
                // Nobody else hears of it: say so.
                self.dead_letter(format!(
                    "a message to actor {actor} of process {} was dropped: the actor is gone",
                    self.process
                ));
            }
        }
    }

    /// Puts a message whose sender waits until it is queued into a local
    /// actor's mailbox, and tells `ack` (see [`Frame::Offer`]). A full
    /// `block` mailbox parks it: a thread of its own waits for room, so
    /// this thread (which reads a link every actor shares) never does. At
    /// most one message per waiting sender is parked, since a sender waits
    /// for its `ack` before it sends again.
    fn deliver_offer(
        self: &Arc<Self>,
        actor: u64,
        message: Payload,
        reply: Option<FutureId>,
        ack: FutureId,
    ) {
        let Some(mailbox) = self.local_mailbox(actor) else {
            if let Some(relay) = self.local_relay(actor) {
                // Passed on as an offer too: the actor's mailbox answers.
                let size = size_of(&message);
                let sent = self.relay_offer(
                    &relay,
                    message,
                    reply.map(Answer::There),
                    Answer::There(ack),
                );
                if sent.is_err() {
                    self.refuse_offer(actor, size, reply, ack, false);
                }
                return;
            }
            self.deliver(actor, message, reply);
            self.send_undeliverable(ack, "not found".to_owned());
            return;
        };
        let size = size_of(&message);
        let control = H::is_control(message.bytes());
        let envelope = H::incoming(message, reply);
        let sent = if control {
            mailbox
                .send_control(envelope)
                .map_err(|crate::mailbox::Stopped(envelope)| Refused::Stopped(envelope))
        } else {
            mailbox.try_send(envelope)
        };
        match sent {
            Ok(()) => self.confirm(ack),
            Err(Refused::Stopped(_)) => self.refuse_offer(actor, size, reply, ack, false),
            Err(Refused::Full(envelope)) => {
                if mailbox.bound().map(|bound| bound.overflow) == Some(Overflow::Block) {
                    self.park(mailbox, envelope, actor, size, reply, ack);
                } else {
                    self.refuse_offer(actor, size, reply, ack, true);
                }
            }
        }
    }

    /// Waits, on a thread of its own, for room for `envelope` in the full
    /// `mailbox`, then tells `ack`.
    fn park(
        self: &Arc<Self>,
        mailbox: Arc<Mailbox<H::Envelope>>,
        envelope: H::Envelope,
        actor: u64,
        size: u64,
        reply: Option<FutureId>,
        ack: FutureId,
    ) {
        let node = Arc::clone(self);
        let parked = std::thread::Builder::new()
            .name("pykka_rs-parked".to_owned())
            .spawn(move || match mailbox.send_waiting(envelope, None) {
                Ok(()) => node.confirm(ack),
                Err(_) => node.refuse_offer(actor, size, reply, ack, false),
            });
        if parked.is_err() {
            // No thread to wait on: refused as if the mailbox refused it.
            self.refuse_offer(actor, size, reply, ack, true);
        }
    }

    /// Tells `ack` that its message is queued.
    fn confirm(&self, ack: FutureId) {
        self.send_reply(ack, true, PICKLED_NONE.to_vec().into());
    }

    /// Answers an offered message that was refused (a full mailbox, or an
    /// actor gone) and logs it as a dead letter.
    fn refuse_offer(
        &self,
        actor: u64,
        size: u64,
        reply: Option<FutureId>,
        ack: FutureId,
        full: bool,
    ) {
        let (reason, why) = if full {
            (MAILBOX_FULL, "the mailbox was full")
        } else {
            ("not found", "the actor is gone")
        };
        dead_letters::record(
            format!("actor {actor} of process {}", self.process),
            format!("<a pickled message of {size} bytes>"),
            why.to_owned(),
        );
        if let Some(reply) = reply {
            self.send_undeliverable(reply, reason.to_owned());
        }
        self.send_undeliverable(ack, reason.to_owned());
    }

    fn dead_letter(&self, text: String) {
        drop(self.control.0.send(Control::DeadLetter(text)));
    }

    fn serve_subscription(self: &Arc<Self>, future: u64, reply: FutureId) {
        let Some(local) = self.local_future(future) else {
            self.send_undeliverable(reply, "has no such future".to_owned());
            return;
        };
        let node = Arc::downgrade(self);
        let served = Arc::clone(&local);
        H::when_resolved(
            &local,
            Box::new(move || {
                if let Some(node) = node.upgrade() {
                    node.send_resolution(reply, H::outcome(&served));
                }
            }),
        );
    }

    /// Tells the other processes that local actor `id` stopped.
    fn announce_stopped(&self, id: u64) {
        if self.is_disowned() {
            return;
        }
        lock(&self.exports).remove(&id);
        lock(&self.relays).remove(&id);
        let actor = Address {
            process: self.process,
            actor: id,
        };
        if self.process == 0 {
            self.broadcast(&Frame::Stopped { actor }, None);
        } else {
            drop(self.send_frame(0, &Frame::Stopped { actor }, &[]));
        }
    }

    /// Worker: tells the parent of local actor `id`, so every process's
    /// registry lists it; `payload` is what the registry shows of it.
    ///
    /// # Errors
    /// Why the parent cannot be reached.
    pub fn announce_registered(&self, id: u64, payload: &[u8]) -> Result<(), SendError> {
        let actor = Address {
            process: self.process,
            actor: id,
        };
        self.send_frame(0, &Frame::Registered { actor }, payload)
    }

    /// Worker: tells the parent that local actor `id` left the registry.
    ///
    /// # Errors
    /// Why the parent cannot be reached.
    pub fn announce_unregistered(&self, id: u64) -> Result<(), SendError> {
        let actor = Address {
            process: self.process,
            actor: id,
        };
        self.send_frame(0, &Frame::Unregistered { actor }, &[])
    }

    /// Parent: takes an actor of a worker out of the registry; returns
    /// whether it was there.
    pub fn withdraw(&self, actor: Address) -> bool {
        self.unregister(actor)
    }

    /// Parent: the actors of the workers that are registered and have not
    /// stopped, in the order the parent learnt of them.
    pub fn registered(&self) -> Vec<Registration> {
        lock(&self.registry).by_seq.values().cloned().collect()
    }

    fn register(&self, actor: Address, payload: Vec<u8>) {
        let seq = self.new_id();
        let mut registry = lock(&self.registry);
        if let Some(old) = registry.by_actor.insert(actor, seq) {
            registry.by_seq.remove(&old);
        }
        registry.by_seq.insert(
            seq,
            Registration {
                seq,
                actor,
                payload: payload.into(),
            },
        );
    }

    fn unregister(&self, actor: Address) -> bool {
        let mut registry = lock(&self.registry);
        let Some(seq) = registry.by_actor.remove(&actor) else {
            return false;
        };
        registry.by_seq.remove(&seq);
        true
    }

    fn unregister_process(&self, process: u32) {
        let mut registry = lock(&self.registry);
        let Registry { by_seq, by_actor } = &mut *registry;
        by_actor.retain(|actor, seq| {
            let keep = actor.process != process;
            if !keep {
                by_seq.remove(seq);
            }
            keep
        });
    }

    /// The links as they are now, so no lock is held while using them.
    fn links_now(&self) -> Vec<(u32, Arc<LinkState>)> {
        read(&self.links)
            .iter()
            .map(|(peer, link)| (*peer, Arc::clone(link)))
            .collect()
    }

    fn broadcast(&self, header: &Frame, except: Option<u32>) {
        self.broadcast_with(header, &[], except);
    }

    fn broadcast_with(&self, header: &Frame, payload: &[u8], except: Option<u32>) {
        for (process, link) in self.links_now() {
            if Some(process) != except {
                drop(link.out.transmit(header, payload));
            }
        }
    }

    /// Records how `actor` ended and tells the watches waiting for it.
    fn exited(&self, actor: Address, record: &ExitRecord) {
        let tokens = lock(&self.exits).record(actor, record.clone());
        for token in tokens {
            drop(self.control.0.send(Control::Down {
                token,
                actor,
                down: Down::Exited(record.clone()),
            }));
        }
    }

    /// Watches `actor` for its end: returns a token that a
    /// [`Control::Down`] will name once, or the end if it is known already
    /// (announced recently, or its process is dead).
    pub fn watch(&self, actor: Address) -> Watch {
        let mut exits = lock(&self.exits);
        if let Some(record) = exits.known(actor) {
            return Watch::Ended(Down::Exited(record.clone()));
        }
        // Under the exits lock: a death recorded after this check takes
        // the watch made below (see `process_died`).
        if let Some(cause) = self.death_of(actor.process) {
            return Watch::Ended(Down::ProcessDied(cause));
        }
        let token = self.new_id();
        exits.watch(actor, token);
        Watch::Watching(token)
    }

    /// Cancels a watch; returns whether it was still waiting.
    pub fn unwatch(&self, token: u64) -> bool {
        lock(&self.exits).unwatch(token)
    }

    /// Announces that local actor `id` ended, for `reason`, with the
    /// runtime's `payload` (its details): the watches of every process hear
    /// of it, this one's included. Call it once the actor has handled its
    /// last message.
    pub fn announce_exit(&self, id: u64, reason: &str, payload: &[u8]) {
        let actor = Address {
            process: self.process,
            actor: id,
        };
        self.exited(
            actor,
            &ExitRecord {
                reason: reason.to_owned(),
                payload: Arc::from(payload),
            },
        );
        if self.is_disowned() {
            return;
        }
        let header = Frame::Exited {
            actor,
            reason: reason.to_owned(),
        };
        if self.process == 0 {
            self.broadcast_with(&header, payload, None);
        } else {
            drop(self.send_frame(0, &header, payload));
        }
    }

    fn mark_stopped(&self, actor: Address) {
        let event = lock(&self.stops).stopped(actor);
        if let Some(event) = event {
            event.set();
        }
    }

    /// Records that `process` is gone: its actors count as stopped and
    /// whoever waits for an answer from it is told why.
    fn process_died(&self, process: u32, cause: &str) {
        lock(&self.dead).insert(process, cause.to_owned());
        write(&self.links).remove(&process);
        self.forget_process_counters(process);
        if let Some(peer) = lock(&self.peers).get_mut(&process) {
            peer.load.alive = false;
        }
        self.unregister_process(process);
        // Stop flags first: whoever wakes from a failed wait sees the actors dead.
        let stops = lock(&self.stops).of_process(process);
        for event in stops {
            event.set();
        }
        let orphans: Vec<Pending<H::Future>> = {
            let mut pending = lock(&self.pending);
            let ids: Vec<u64> = pending
                .iter()
                .filter(|(_, p)| p.from == process)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| pending.remove(&id))
                .collect()
        };
        for orphan in orphans {
            let reason = format!("died with its process: {cause}");
            match orphan.waiter {
                Waiter::Here(future) => {
                    H::resolve(
                        &future,
                        Resolution::Undeliverable(format!("{} {reason}", orphan.label)),
                    );
                }
                Waiter::There(asker) => self.send_undeliverable(asker, reason),
            }
        }
        let watches = lock(&self.exits).of_process(process);
        for (token, actor) in watches {
            drop(self.control.0.send(Control::Down {
                token,
                actor,
                down: Down::ProcessDied(cause.to_owned()),
            }));
        }
    }

    /// Handles one frame that arrived from process `from`.
    fn dispatch(self: &Arc<Self>, from: u32, header: Frame, payload: Payload) {
        if !payload.buffers().is_empty() && !header.may_carry_buffers() {
            // Dropping the payload closes the descriptors.
            self.refuse_frame(
                from,
                &header,
                "only messages and replies carry shared buffers",
            );
            return;
        }
        if let Some(process) = header.destination() {
            if process != self.process {
                if self.process == 0 {
                    self.forward(process, &header, payload);
                } else {
                    self.refuse_frame(from, &header, "it is addressed to another process");
                }
                return;
            }
        }
        let parent = self.process == 0;
        match header {
            // Frames only the parent sends, or only workers send.
            Frame::Spawn { .. }
            | Frame::ProcessDied { .. }
            | Frame::Shutdown
            | Frame::GatherStats { .. }
            | Frame::LogLevels
                if parent =>
            {
                self.refuse_frame(from, &header, "only the parent sends it");
            }
            Frame::Request { .. }
            | Frame::Log
            | Frame::Load { .. }
            | Frame::Registered { .. }
            | Frame::Unregistered { .. }
            | Frame::Stats
                if !parent =>
            {
                self.refuse_frame(from, &header, "only workers send it, to the parent");
            }
            Frame::Stopped { actor }
            | Frame::Registered { actor }
            | Frame::Unregistered { actor }
            | Frame::Exited { actor, .. }
                if parent && actor.process != from =>
            {
                self.refuse_frame(from, &header, "a process announces only its own actors");
            }
            Frame::ProcessDied { process, .. } if process == self.process => {
                self.refuse_frame(from, &header, "it names this very process");
            }
            header => self.handle(from, header, payload),
        }
    }

    /// Reports a frame that has no business where it arrived, answering
    /// whoever waits for a reply to it.
    fn refuse_frame(&self, from: u32, header: &Frame, why: &str) {
        match header {
            Frame::Ask { reply, .. }
            | Frame::Subscribe { reply, .. }
            | Frame::Spawn { reply }
            | Frame::Request { reply }
            | Frame::GatherStats { reply }
            | Frame::Offer { ack: reply, .. } => {
                self.send_undeliverable(*reply, format!("cannot be reached that way: {why}"));
            }
            Frame::OfferAsk { reply, ack, .. } => {
                self.send_undeliverable(*reply, format!("cannot be reached that way: {why}"));
                self.send_undeliverable(*ack, format!("cannot be reached that way: {why}"));
            }
            _ => {}
        }
        self.dead_letter(format!(
            "a frame from process {from} was ignored, since {why}: {header:?}"
        ));
    }

    /// Handles a frame that belongs where it arrived.
    fn handle(self: &Arc<Self>, from: u32, header: Frame, message: Payload) {
        let payload = match header {
            Frame::Tell { to } => return self.deliver(to.actor, message, None),
            Frame::Ask { to, reply } => return self.deliver(to.actor, message, Some(reply)),
            Frame::Offer { to, ack } => return self.deliver_offer(to.actor, message, None, ack),
            Frame::OfferAsk { to, reply, ack } => {
                return self.deliver_offer(to.actor, message, Some(reply), ack);
            }
            Frame::Reply { to, ok } => {
                return self.complete(
                    to.id,
                    Resolution::Pickled {
                        ok,
                        payload: message,
                    },
                );
            }
            // Other frames carry no buffers (see `dispatch`).
            _ => message.into_bytes(),
        };
        match header {
            Frame::Tell { .. }
            | Frame::Ask { .. }
            | Frame::Reply { .. }
            | Frame::Offer { .. }
            | Frame::OfferAsk { .. } => {
                unreachable!("handled above")
            }
            Frame::Undeliverable { to, reason } => {
                self.complete(to.id, Resolution::Undeliverable(reason));
            }
            Frame::Subscribe { future, reply } => self.serve_subscription(future.id, reply),
            Frame::Spawn { reply } => drop(self.control.0.send(Control::Spawn { reply, payload })),
            Frame::Request { reply } => {
                drop(self.control.0.send(Control::Request { reply, payload }));
            }
            Frame::Registered { actor } => self.register(actor, payload),
            Frame::Unregistered { actor } => {
                self.unregister(actor);
            }
            Frame::Stopped { actor } => {
                if self.process == 0 {
                    // Out of the registry first: whoever sees the flag set
                    // finds the actor gone from the registry too.
                    self.unregister(actor);
                    self.forget_counters(actor);
                    if let Some(peer) = lock(&self.peers).get_mut(&actor.process) {
                        peer.load.actors = peer.load.actors.saturating_sub(1);
                    }
                }
                self.mark_stopped(actor);
                if self.process == 0 {
                    self.broadcast(&Frame::Stopped { actor }, Some(from));
                }
            }
            Frame::ProcessDied { process, cause } => self.process_died(process, &cause),
            Frame::Log => drop(self.control.0.send(Control::Log(payload))),
            Frame::LogLevels => self.log_levels.update(&payload, |_| {}),
            Frame::Load { waiting, .. } => {
                if let Some(peer) = lock(&self.peers).get_mut(&from) {
                    peer.load.waiting = waiting;
                }
            }
            Frame::Shutdown => drop(self.control.0.send(Control::Shutdown)),
            Frame::GatherStats { reply } => self.answer_gather(reply),
            Frame::Stats => self.take_counters(from, &payload),
            Frame::Exited { actor, reason } => {
                let record = ExitRecord {
                    reason: reason.clone(),
                    payload: Arc::from(payload.as_slice()),
                };
                self.exited(actor, &record);
                if self.process == 0 {
                    self.broadcast_with(&Frame::Exited { actor, reason }, &payload, Some(from));
                }
            }
        }
    }

    /// Parent: passes a frame on to the process it is for.
    fn forward(&self, process: u32, header: &Frame, payload: Payload) {
        let payload_len = size_of(&payload);
        let Err(reason) = self.send_frame_owned(process, header, payload) else {
            return;
        };
        let unreachable = format!("is unreachable: {reason}");
        match header {
            Frame::Subscribe { reply, .. } => self.send_undeliverable(*reply, unreachable),
            Frame::Tell { to }
            | Frame::Ask { to, .. }
            | Frame::Offer { to, .. }
            | Frame::OfferAsk { to, .. } => {
                dead_letters::record(
                    format!("actor {} of process {}", to.actor, to.process),
                    format!("<a pickled message of {payload_len} bytes>"),
                    format!("its process could not be reached: {reason}"),
                );
                let waiting = match header {
                    Frame::Ask { reply, .. } | Frame::Offer { ack: reply, .. } => vec![*reply],
                    Frame::OfferAsk { reply, ack, .. } => vec![*reply, *ack],
                    _ => Vec::new(),
                };
                if waiting.is_empty() {
                    // Nobody else hears of it: say so.
                    self.dead_letter(format!(
                        "a message to actor {} of process {} was dropped: {reason}",
                        to.actor, to.process
                    ));
                }
                for future in waiting {
                    self.send_undeliverable(future, unreachable.clone());
                }
            }
            _ => {} // a reply for a process that is gone: nobody waits for it
        }
    }

    /// Starts reading frames from `peer` (whose process id is `pid`, if
    /// known) on a thread of its own, and lets this process send to it.
    ///
    /// # Errors
    /// If the stream cannot be duplicated or a thread started.
    pub fn connect(
        self: &Arc<Self>,
        peer: u32,
        stream: UnixStream,
        pid: Option<u32>,
    ) -> io::Result<()> {
        self.attach(peer, Arc::new(LinkState::new(stream, pid)?))
    }

    /// Starts reading frames from `peer`, a node in a subinterpreter of
    /// this process, through this node's `end` of an in-memory channel, on
    /// a thread of its own, and lets this node send to it.
    ///
    /// # Errors
    /// If the thread cannot be started.
    pub fn connect_memory(self: &Arc<Self>, peer: u32, end: memory::End) -> io::Result<()> {
        if self.process == 0 {
            lock(&self.peers).entry(peer).or_default().interpreter = true;
        }
        self.attach(peer, Arc::new(LinkState::memory(end)))
    }

    fn attach(self: &Arc<Self>, peer: u32, link: Arc<LinkState>) -> io::Result<()> {
        // A worker's first frame is the parent's latest logger levels, and
        // no newer table is broadcast before the link is listed.
        self.log_levels.with_latest(|latest| {
            if let Some(table) = latest.filter(|_| self.process == 0) {
                // A link that cannot take it is found broken by its reader.
                drop(link.out.transmit(&Frame::LogLevels, table));
            }
            write(&self.links).insert(peer, Arc::clone(&link));
        });
        self.linked.store(true, Ordering::Release);
        if self.process == 0 {
            lock(&self.peers).entry(peer).or_default().load.alive = true;
        }
        let node = Arc::clone(self);
        let watcher = std::thread::Builder::new()
            .name(format!("pykka_rs-link-{peer}"))
            .spawn(move || node.watch_link(peer, &link))?;
        lock(&self.watchers).insert(peer, watcher);
        Ok(())
    }

    /// The link's own thread: waits for frames and handles those no spinning
    /// thread took first, until the link or the peer process ends.
    fn watch_link(self: &Arc<Self>, peer: u32, link: &LinkState) {
        // The reader's turn when this thread last slept for it, and how long.
        let mut slept = (0, Duration::ZERO);
        let ended = loop {
            // Other threads are reading the links; waiting in poll would
            // only wake this thread for frames they take first.
            let woke = if self.sleep_while_read(&mut slept) {
                Woke::Readable
            } else if let Some(linger) = HELPERS_LINGER.checked_sub(self.since_help()) {
                std::thread::sleep(linger);
                Woke::Readable
            } else {
                match link.wait() {
                    Ok(woke) => woke,
                    Err(err) => break format!("broke its connection: {err}"),
                }
            };
            if matches!(woke, Woke::PeerEnded) {
                // What it sent before it ended is still worth handling.
                let mut inbound = lock(&link.inbound);
                drop(self.drain(peer, link, &mut inbound));
                break "ended".to_owned();
            }
            let Ok(mut inbound) = link.inbound.try_lock() else {
                continue; // a spinning thread is reading it
            };
            if let Err(err) = self.drain(peer, link, &mut inbound) {
                break format!("broke its connection: {err}");
            }
            if inbound.ended() {
                break "closed its connection".to_owned();
            }
        };
        link.out.close();
        self.link_lost(peer, &ended);
    }

    /// Sleeps while a thread is parked reading the links (see
    /// `READER_LINGER`); returns whether one was. `slept` is the reader's
    /// turn and the sleep when this thread last slept for one.
    fn sleep_while_read(&self, slept: &mut (u64, Duration)) -> bool {
        let turn = {
            let seat = lock(&self.reader_seat);
            if seat.reader.is_none() {
                return false;
            }
            seat.turn
        };
        let step = if slept.0 == turn {
            (slept.1 * 2).min(READER_LINGER)
        } else {
            HELPERS_LINGER
        };
        *slept = (turn, step);
        if step <= HELPERS_LINGER {
            std::thread::sleep(step);
            return true;
        }
        {
            let mut seat = lock(&self.reader_seat);
            if seat.turn != turn || seat.reader.is_none() {
                return true; // it changed: look again
            }
            seat.sleepers.push(std::thread::current());
        }
        std::thread::park_timeout(step);
        let me = std::thread::current().id();
        lock(&self.reader_seat)
            .sleepers
            .retain(|sleeper| sleeper.id() != me);
        true
    }

    /// How long since a spinning thread last read the links.
    fn since_help(&self) -> Duration {
        let now = self.epoch.elapsed().as_nanos() as u64;
        Duration::from_nanos(now.saturating_sub(self.last_help.load(Ordering::Relaxed)))
    }

    /// Reads what has arrived on a link and handles each whole frame.
    fn drain(
        self: &Arc<Self>,
        peer: u32,
        link: &LinkState,
        inbound: &mut Reader,
    ) -> io::Result<bool> {
        let mut handled = false;
        inbound.read_available()?;
        while let Some((header, payload)) = inbound.next_frame()? {
            self.dispatch(peer, header, payload);
            handled = true;
        }
        if handled {
            link.heard();
        }
        Ok(handled)
    }

    /// Handles every frame that has arrived by now, waiting for a thread
    /// that is reading a link to finish: afterwards this process knows all
    /// that the others sent it before the call (the stops they announced).
    pub fn catch_up(self: &Arc<Self>) {
        if !self.reads_links() {
            return;
        }
        for (peer, link) in self.links_now() {
            let mut inbound = lock(&link.inbound);
            if !inbound.ended() && self.drain(peer, &link, &mut inbound).is_err() {
                // The link's own thread will find the end and report it.
                link.out.close();
            }
        }
    }

    /// Reads every link that nobody else is reading right now; returns
    /// whether any frame was handled. Spinning threads call this.
    pub fn help(self: &Arc<Self>) -> bool {
        if !self.reads_links() {
            return false;
        }
        self.note_help();
        let mut handled = false;
        for (peer, link) in self.links_now() {
            let Ok(mut inbound) = link.inbound.try_lock() else {
                continue;
            };
            if inbound.ended() {
                continue;
            }
            match self.drain(peer, &link, &mut inbound) {
                Ok(done) => handled |= done,
                // The link's own thread will find the end and report it.
                Err(_) => link.out.close(),
            }
        }
        handled
    }

    /// Parks the calling thread in `poll` on this process's sockets and on
    /// `wakeup`, handling every frame that arrives, until `done()` holds
    /// (`Some(true)`) or `deadline` passes (`Some(false)`). Like a spinning
    /// thread, it keeps the links' own threads out of the way while it
    /// reads. `None` when it cannot: no link, a link in memory (which `poll`
    /// cannot watch), or another thread reading (see [`ReaderSeat`]); the
    /// caller then parks as usual. One reader at a time, as many would all
    /// wake for each frame to find it taken; a thread that has read for a
    /// while gives way to a newcomer, which is the more likely to wait for
    /// the next frame (an idle actor's thread to one that just sent an ask).
    pub fn read_parked(
        self: &Arc<Self>,
        wakeup: Wakeup,
        deadline: Option<Instant>,
        done: &dyn Fn() -> bool,
    ) -> Option<bool> {
        if !self.reads_links() {
            return None;
        }
        let links = self.links_now();
        let sockets: Vec<(u32, &LinkState, BorrowedFd<'_>)> = links
            .iter()
            .map(|(peer, link)| Some((*peer, link.as_ref(), link.socket()?)))
            .collect::<Option<_>>()?;
        let seat = ReaderSeat::take(&self.reader_seat, wakeup, Instant::now())?;
        // The sockets still read; `poll` says which have anything, so that
        // none is read only to find it empty.
        let mut open = vec![true; sockets.len()];
        loop {
            if !seat.held() {
                return None;
            }
            self.note_help();
            if done() {
                return Some(true);
            }
            let timeout = match deadline {
                None => None,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) => Some(Timespec::try_from(left).ok()?),
                    None => return Some(false),
                },
            };
            let watched: Vec<usize> = (0..sockets.len()).filter(|at| open[*at]).collect();
            if watched.is_empty() {
                return None;
            }
            let mut fds: Vec<PollFd<'_>> = watched
                .iter()
                .map(|at| sockets[*at].2)
                .chain(std::iter::once(wakeup.fd()))
                .map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN))
                .collect();
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => return None,
            }
            if fds.last().is_some_and(|woken| !woken.revents().is_empty()) {
                wakeup.clear();
            }
            for (at, fd) in watched.into_iter().zip(&fds) {
                if fd.revents().is_empty() {
                    continue;
                }
                let (peer, link, _) = sockets[at];
                // A thread that holds the lock is reading it already.
                let Ok(mut inbound) = link.inbound.try_lock() else {
                    continue;
                };
                let broken = self.drain(peer, link, &mut inbound).is_err();
                if broken {
                    link.out.close();
                }
                // Its own thread reports the end.
                open[at] = !broken && !inbound.ended();
            }
        }
    }

    /// Notes that a thread is reading the links: their own threads stay
    /// out of the way for a while.
    fn note_help(&self) {
        self.last_help
            .store(self.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn link_lost(&self, peer: u32, how: &str) {
        if self.process != 0 {
            // Every answer a worker waits for comes through its parent.
            let cause = format!("the parent process {how}");
            let everyone: Vec<u32> = lock(&self.pending).values().map(|p| p.from).collect();
            for process in std::iter::once(0).chain(everyone) {
                self.process_died(process, &cause);
            }
            self.parent_lost.set();
            drop(self.control.0.send(Control::ParentLost(how.to_owned())));
            return;
        }
        let (cause, expected) = self.reap(peer, how);
        self.process_died(peer, &cause);
        self.broadcast(
            &Frame::ProcessDied {
                process: peer,
                cause: cause.clone(),
            },
            Some(peer),
        );
        let hooks: Vec<Arc<LostHook>> = lock(&self.lost_hooks).clone();
        let done: Vec<Arc<LostHook>> = hooks
            .into_iter()
            .filter(|hook| !hook(peer, &cause, expected))
            .collect();
        lock(&self.lost_hooks).retain(|hook| !done.iter().any(|gone| Arc::ptr_eq(hook, gone)));
        drop(self.control.0.send(Control::ProcessLost {
            process: peer,
            cause,
            expected,
        }));
    }

    /// Parent: waits (up to a second) for a worker whose link ended, and
    /// says how it ended; kills it if it lingers without its link.
    fn reap(&self, peer: u32, how: &str) -> (String, bool) {
        let taken = lock(&self.peers).get_mut(&peer).and_then(|peer| {
            Some((
                peer.process.take()?,
                Arc::clone(&peer.retiring),
                peer.killed_because.take(),
            ))
        });
        let Some((mut worker, retiring, killed_because)) = taken else {
            let interpreter = lock(&self.peers)
                .remove_entry(&peer)
                .filter(|(_, entry)| entry.interpreter);
            return match interpreter {
                // No process to reap: the subinterpreter's node closed the
                // channel, or was cut off.
                Some((_, entry)) => {
                    let why = entry.killed_because.unwrap_or_else(|| how.to_owned());
                    (
                        format!("interpreter worker {peer} {why}"),
                        entry.retiring.load(Ordering::SeqCst),
                    )
                }
                None => (format!("worker process {peer} {how}"), false),
            };
        };
        let pid = worker.pid();
        let expected = retiring.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(1);
        let status = loop {
            match worker.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break None,
            }
        };
        let ended = if let Some(why) = killed_because {
            why
        } else if let Some(status) = status {
            exit_cause(status)
        } else {
            worker.kill();
            drop(worker.wait());
            format!("{how} and was killed")
        };
        lock(&self.peers).remove(&peer);
        (
            format!("worker process {peer} (pid {pid}) {ended}"),
            expected,
        )
    }

    /// Parent: keeps a worker's process, to reap it and report its end.
    /// Returns the flag that marks it as asked to end.
    pub fn adopt(&self, peer: u32, process: WorkerProcess) -> Arc<AtomicBool> {
        let mut peers = lock(&self.peers);
        let entry = peers.entry(peer).or_default();
        entry.process = Some(process);
        Arc::clone(&entry.retiring)
    }

    /// Parent: kills worker `process`; its link then ends as for any death,
    /// with `why` (if given) as the cause, e.g. "was killed after 10 seconds
    /// without a sign of life".
    pub fn kill(&self, process: u32, why: Option<String>) {
        let mut peers = lock(&self.peers);
        let Some(peer) = peers.get_mut(&process) else {
            return;
        };
        if let Some(worker) = peer.process.as_mut() {
            if why.is_some() {
                peer.killed_because = why;
            }
            worker.kill();
        } else if peer.interpreter {
            // A subinterpreter cannot be killed: it is cut off instead, and
            // its actors count as dead from now on.
            peer.killed_because =
                Some(why.unwrap_or_else(|| "was cut off from the system".to_owned()));
            drop(peers);
            if let Some(link) = read(&self.links).get(&process) {
                link.out.close();
            }
        }
    }

    /// Parent: waits until worker `process` has ended, been reaped and its
    /// link closed, killing it if it is still running at `deadline` (a
    /// subinterpreter is cut off instead: its link is closed); returns
    /// whether it had to be killed.
    pub fn await_exit(&self, process: u32, deadline: Instant) -> bool {
        let mut killed = false;
        while lock(&self.peers).contains_key(&process) {
            if !killed && Instant::now() >= deadline {
                self.kill(process, None);
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // The link's thread reaped it; once it returns, the sockets are closed.
        let watcher = lock(&self.watchers).remove(&process);
        if let Some(watcher) = watcher {
            drop(watcher.join());
        }
        killed
    }

    /// Worker: writes what is queued on every link and closes them, so the
    /// other end reads everything sent before it sees the end.
    pub fn close_links(&self) {
        if self.is_disowned() {
            return;
        }
        for (_, link) in self.links_now() {
            link.out.close();
        }
    }

    /// Parent: marks worker `process` as asked to end, so its end is expected.
    pub fn retire(&self, process: u32) {
        if let Some(peer) = lock(&self.peers).get(&process) {
            peer.retiring.store(true, Ordering::SeqCst);
        }
    }

    /// Queues work for the runtime.
    pub fn report(&self, work: Control) {
        drop(self.control.0.send(work));
    }

    /// Parent: the worker processes whose link has carried nothing for
    /// `silence`. Subinterpreters are not counted: they send no heartbeat,
    /// and could not be killed for missing one.
    pub fn silent_peers(&self, silence: Duration) -> Vec<u32> {
        self.links_now()
            .into_iter()
            .filter(|(_, link)| !link.in_memory() && link.silence() >= silence)
            .map(|(peer, _)| peer)
            .collect()
    }

    /// Parent: its loggers' levels are now `table`. Every worker gets it
    /// ahead of any frame sent after this call, and each new link gets the
    /// latest table first. A table equal to the last one is not sent again;
    /// a worker or a forked copy sends nothing.
    pub fn set_log_levels(&self, table: &[u8]) {
        if self.process != 0 || self.is_disowned() {
            return;
        }
        self.log_levels.update(table, |table| {
            self.broadcast_with(&Frame::LogLevels, table, None);
        });
    }

    /// The latest table of the parent's logger levels and its version, if
    /// it is not version `known` (0: no table yet).
    pub fn log_levels(&self, known: u64) -> Option<(u64, Arc<[u8]>)> {
        self.log_levels.newer_than(known)
    }

    /// Worker: asks the parent to run a request of the runtime; the answer
    /// goes to `into`.
    ///
    /// # Errors
    /// Why the parent cannot be reached.
    pub fn request(&self, payload: &[u8], into: Arc<H::Future>) -> Result<(), SendError> {
        let reply = self.expect(into, 0, "the parent process".to_owned());
        self.send_expecting(0, &Frame::Request { reply }, payload, reply)
    }

    /// Worker: how many actors this process hosts and how many messages
    /// wait in their mailboxes.
    pub fn own_load(&self) -> (u64, u64) {
        let exports = lock(&self.exports);
        exports
            .values()
            .filter_map(Weak::upgrade)
            .filter(|mailbox| !mailbox.stopped().is_set())
            .fold((0, 0), |(actors, waiting), mailbox| {
                (actors + 1, waiting + mailbox.stats().waiting())
            })
    }

    /// Parent: the load of each connected worker, by process number.
    pub fn loads(&self) -> HashMap<u32, Load> {
        lock(&self.peers)
            .iter()
            .map(|(process, peer)| (*process, peer.load))
            .collect()
    }

    /// Parent: counts an actor placed on a worker until its stop is announced.
    pub fn count_actor(&self, process: u32) {
        if let Some(peer) = lock(&self.peers).get_mut(&process) {
            peer.load.actors += 1;
        }
    }

    /// Asks worker `process` to make an actor; the answer goes to `into`.
    ///
    /// # Errors
    /// Why the worker cannot be reached.
    pub fn spawn(
        &self,
        process: u32,
        payload: &[u8],
        into: Arc<H::Future>,
        label: String,
    ) -> Result<(), SendError> {
        let reply = self.expect(into, process, label);
        self.send_expecting(process, &Frame::Spawn { reply }, payload, reply)
    }

    /// A flag the runtime sets once it has handled all the work queued for
    /// it so far: log records that arrived before a reply, say.
    pub fn control_barrier(&self) -> Arc<Event> {
        let barrier = Arc::new(Event::new());
        drop(self.control.0.send(Control::Barrier(Arc::clone(&barrier))));
        barrier
    }

    /// Takes the next piece of work for the runtime, waiting until `until`.
    pub fn next_control(&self, until: Instant) -> Option<Control> {
        self.control.1.recv_deadline(until).ok()
    }
}

#[cfg(test)]
mod tests;
