//! This process's place among the processes of one pykka_rs system: its
//! number (0 for the parent, 1 and up for workers), its links to the other
//! processes, the actors and futures it lets them reach, and the replies it
//! waits for from them.
//!
//! The parent is the hub: a worker has one link, to the parent, and the
//! parent has one to each worker. Every frame a worker sends for another
//! worker passes through the parent's reading thread for that link, which
//! forwards it in Rust; Python in the parent never sees it. Frames from one
//! process to another travel one link each way, in order, so messages from
//! one sender to one actor keep their order, as in Erlang.
//!
//! Each link has a thread that waits (in `poll`) for frames to arrive. But a
//! thread that spins while it waits for a reply or a message reads the links
//! itself (see `crate::wait::set_helper`): in a busy exchange, the frame is
//! taken by the thread that wants it, and no thread sleeps or wakes. Frames
//! from a link are read and handled under that link's lock, so they are
//! handled in order, whoever reads them.
//!
//! Whoever reads a link never takes the GIL: a message for a local actor
//! goes into its mailbox still pickled (the actor unpickles it), and a reply
//! goes into its future still pickled (the first `get()` unpickles it). Work
//! that does need Python (a log record, a request to start an actor, a dead
//! process to replace) is queued for a Python thread as a [`Control`].
//!
//! Rejected: a mesh of links between workers (N² sockets and an address
//! exchange, for one hop saved on worker-to-worker messages), and a Python
//! thread per link (every message would wait for the GIL twice).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use super::envelope::{Envelope, Message, Reply};
use super::future::{FutureState, Outcome};
use crate::event::Event;
use crate::mailbox::{Mailbox, Stopped};
use crate::pool::frame::{Address, Frame, FutureId};
use crate::pool::ipc::{self, Inbound, Link};
use crate::pool::{Load, WorkerProcess, exit_cause};
use crate::swept::Swept;
use crate::sync::{lock, read, write};

/// Work the link threads hand to a Python thread.
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
    /// A one-way message nobody could take; for the log.
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
    /// Set this flag: everything queued before it has been handled.
    Barrier(Arc<Event>),
}

struct Export {
    mailbox: Weak<Mailbox<Envelope>>,
}

/// How long a link's thread leaves the link to spinning threads after one last
/// read it: it checks again after this, so a frame nobody spins for waits at
/// most this long for it.
const HELPERS_LINGER: Duration = Duration::from_micros(200);

/// An exported future, and when a sweep first found it done.
type SharedFuture = (Arc<FutureState>, Option<Instant>);

/// How long an exported future is kept once it is done.
const SHARED_FUTURE_LIFE: Duration = Duration::from_secs(60);

/// How many announced stops a process remembers for actors it has not heard of.
const RECENT_STOPS: usize = 4096;

/// The stop flags, in this process, of actors in other processes.
///
/// A stop can be announced before this process first hears of the actor:
/// an actor that stops in `on_start` announces it before the reply to its
/// spawn is sent, and a ref to a stopped actor may arrive after its stop.
/// So the latest announced stops are remembered, and a flag made later for
/// one of them starts set.
#[derive(Default)]
struct StopFlags {
    flags: Swept<Address, Weak<Event>>,
    recent: VecDeque<Address>,
    recent_set: HashSet<Address>,
}

impl StopFlags {
    fn flag(&mut self, actor: Address, process_dead: bool) -> Arc<Event> {
        if let Some(event) = self.flags.map().get(&actor).and_then(Weak::upgrade) {
            return event;
        }
        let event = Arc::new(Event::new());
        if process_dead || self.recent_set.contains(&actor) {
            event.set();
        }
        self.flags.insert(actor, Arc::downgrade(&event), |_, flag| {
            flag.strong_count() > 0
        });
        event
    }

    /// Records a stop; returns the flag to set, if this process has one.
    fn stopped(&mut self, actor: Address) -> Option<Arc<Event>> {
        if let Some(event) = self.flags.map().get(&actor).and_then(Weak::upgrade) {
            return Some(event);
        }
        if self.recent_set.insert(actor) {
            self.recent.push_back(actor);
            if self.recent.len() > RECENT_STOPS {
                if let Some(oldest) = self.recent.pop_front() {
                    self.recent_set.remove(&oldest);
                }
            }
        }
        None
    }

    /// The flags of every actor of a process, to set when it dies.
    fn of_process(&self, process: u32) -> Vec<Arc<Event>> {
        self.flags
            .map()
            .iter()
            .filter(|(address, _)| address.process == process)
            .filter_map(|(_, event)| event.upgrade())
            .collect()
    }
}

/// A connection to another process.
struct LinkState {
    out: Link,
    inbound: Mutex<Inbound>,
    /// The same socket, for the link's thread to wait on without the lock.
    watch: UnixStream,
}

/// Where the answer to a message sent with [`Node::send_message`] goes.
pub enum Answer {
    /// A future of this process; the second field names the actor in error messages.
    Here(Arc<FutureState>, String),
    /// A future of another process, which the answer goes straight to.
    There(FutureId),
}

struct Pending {
    state: Arc<FutureState>,
    /// The process expected to answer: if it dies, so does the wait.
    from: u32,
    /// Names the awaited actor in error messages, e.g. "Echo (urn:uuid:…)".
    label: String,
}

/// A worker process as the parent knows it.
struct Worker {
    process: WorkerProcess,
    /// Set when the pool asked the worker to end.
    retiring: Arc<AtomicBool>,
}

/// This process in the system. One per process: see [`Node::get`].
pub struct Node {
    process: u32,
    links: RwLock<HashMap<u32, Arc<LinkState>>>,
    exports: Mutex<HashMap<u64, Export>>,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
    /// Exported futures, with when a sweep first found each one done.
    shared: Mutex<Swept<u64, SharedFuture>>,
    remote_stops: Mutex<StopFlags>,
    dead: Mutex<HashMap<u32, String>>,
    loads: Mutex<HashMap<u32, Load>>,
    workers: Mutex<HashMap<u32, Worker>>,
    watchers: Mutex<HashMap<u32, std::thread::JoinHandle<()>>>,
    control: (flume::Sender<Control>, flume::Receiver<Control>),
    epoch: Instant,
    /// When a spinning thread last read the links, in nanoseconds since `epoch`.
    last_help: AtomicU64,
}

static NODE: OnceLock<Arc<Node>> = OnceLock::new();

/// The spinning threads' helper: read this process's links.
fn help_read() -> bool {
    NODE.get().is_some_and(|node| node.help())
}

impl Node {
    fn new(process: u32) -> Self {
        Self {
            process,
            links: RwLock::default(),
            exports: Mutex::default(),
            next_id: AtomicU64::new(1),
            pending: Mutex::default(),
            shared: Mutex::default(),
            remote_stops: Mutex::default(),
            dead: Mutex::default(),
            loads: Mutex::default(),
            workers: Mutex::default(),
            watchers: Mutex::default(),
            control: flume::unbounded(),
            epoch: Instant::now(),
            last_help: AtomicU64::new(0),
        }
    }

    /// This process's node; the parent's (process 0) unless
    /// [`Node::init_worker`] ran first.
    pub fn get() -> &'static Arc<Node> {
        NODE.get_or_init(|| Arc::new(Node::new(0)))
    }

    /// Makes this process worker number `process`. Must run before anything
    /// else uses the node.
    ///
    /// # Errors
    /// If the node already exists with another number.
    pub fn init_worker(process: u32) -> Result<&'static Arc<Node>, String> {
        let node = NODE.get_or_init(|| Arc::new(Node::new(process)));
        if node.process == process {
            Ok(node)
        } else {
            Err(format!(
                "this process is already process {} of a pykka_rs system",
                node.process
            ))
        }
    }

    /// This process's number: 0 for the parent.
    pub fn process(&self) -> u32 {
        self.process
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Lets other processes reach `mailbox`; returns its number here. Its
    /// stop is announced to the other processes when its stopped flag is set.
    pub fn export_actor(self: &Arc<Self>, mailbox: &Arc<Mailbox<Envelope>>) -> u64 {
        let id = self.new_id();
        lock(&self.exports).insert(
            id,
            Export {
                mailbox: Arc::downgrade(mailbox),
            },
        );
        let node = Arc::downgrade(self);
        mailbox.stopped().on_set(move || {
            if let Some(node) = node.upgrade() {
                node.announce_stopped(id);
            }
        });
        id
    }

    /// The local mailbox with this number, if its actor is still there.
    pub fn local_mailbox(&self, id: u64) -> Option<Arc<Mailbox<Envelope>>> {
        lock(&self.exports).get(&id)?.mailbox.upgrade()
    }

    /// Lets other processes read or set `state`; returns its number here.
    ///
    /// The node keeps an exported future until it is done and has been for
    /// [`SHARED_FUTURE_LIFE`]: a copy of it may still be on its way to
    /// another process, which may subscribe to it only then.
    pub fn export_future(&self, state: &Arc<FutureState>) -> u64 {
        let id = self.new_id();
        let now = Instant::now();
        lock(&self.shared).insert(id, (Arc::clone(state), None), |_, (state, done_at)| {
            if !state.is_done() {
                return true;
            }
            let done_at = *done_at.get_or_insert(now);
            now.duration_since(done_at) < SHARED_FUTURE_LIFE
        });
        id
    }

    /// The local future with this number, if it was exported.
    pub fn local_future(&self, id: u64) -> Option<Arc<FutureState>> {
        lock(&self.shared)
            .map()
            .get(&id)
            .map(|(state, _)| Arc::clone(state))
    }

    /// The stopped flag, here, of an actor in another process; set when its
    /// stop is announced or its process dies.
    pub fn stop_flag(&self, actor: Address) -> Arc<Event> {
        let dead = lock(&self.dead).contains_key(&actor.process);
        lock(&self.remote_stops).flag(actor, dead)
    }

    /// Why a process is gone, if it is.
    pub fn death_of(&self, process: u32) -> Option<String> {
        lock(&self.dead).get(&process).cloned()
    }

    fn link_to(&self, process: u32) -> Result<Arc<LinkState>, String> {
        if let Some(cause) = self.death_of(process) {
            return Err(cause);
        }
        // A worker reaches every other process through the parent.
        let hop = if self.process == 0 { process } else { 0 };
        let links = read(&self.links);
        links
            .get(&hop)
            .cloned()
            .ok_or_else(|| format!("process {process} is not connected"))
    }

    /// Sends a frame to one process, through the parent if need be.
    ///
    /// # Errors
    /// Why the process cannot be reached.
    pub fn send_frame(&self, process: u32, header: &Frame, payload: &[u8]) -> Result<(), String> {
        self.link_to(process)?
            .out
            .transmit(header, payload)
            .map_err(|err| format!("the link to process {process} failed: {err}"))
    }

    /// Sends a pickled message to an actor here or elsewhere; the answer, if
    /// one is wanted, goes where `answer` says.
    ///
    /// # Errors
    /// Why the actor cannot be reached (its process is dead, say); the
    /// message was not sent.
    pub fn send_message(
        &self,
        to: Address,
        message: Vec<u8>,
        answer: Option<Answer>,
    ) -> Result<(), String> {
        let mut registered = None;
        let reply = answer.map(|answer| match answer {
            Answer::There(future) => future,
            Answer::Here(state, label) => {
                let reply = self.expect(state, to.process, label);
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
        match registered {
            Some(reply) => self.send_expecting(to.process, &header, &message, reply),
            None => self.send_frame(to.process, &header, &message),
        }
    }

    /// Notes that `state` waits for an answer from process `from`, which
    /// error messages call `label`; returns where the answer must go.
    fn expect(&self, state: Arc<FutureState>, from: u32, label: String) -> FutureId {
        let id = self.new_id();
        lock(&self.pending).insert(id, Pending { state, from, label });
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
    ) -> Result<(), String> {
        self.send_frame(process, header, payload).inspect_err(|_| {
            lock(&self.pending).remove(&reply.id);
        })
    }

    /// Asks the owner of `future` for its value; it arrives in `state`.
    ///
    /// # Errors
    /// Why the owner cannot be reached.
    pub fn subscribe(&self, future: FutureId, state: Arc<FutureState>) -> Result<(), String> {
        let reply = self.expect(state, future.process, "the future's owner".to_owned());
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
    /// A future whose process is gone is silently given up: nobody waits there.
    pub fn send_reply(&self, to: FutureId, ok: bool, payload: Vec<u8>) {
        if to.process == self.process {
            self.complete(to.id, Outcome::Pickled { ok, payload });
        } else {
            // Failing means the asker's process is gone; nobody waits for this.
            drop(self.send_frame(to.process, &Frame::Reply { to, ok }, &payload));
        }
    }

    fn send_undeliverable(&self, to: FutureId, reason: String) {
        if to.process == self.process {
            self.complete(to.id, Outcome::Undeliverable(reason));
        } else {
            drop(self.send_frame(to.process, &Frame::Undeliverable { to, reason }, &[]));
        }
    }

    /// Resolves future `id` of this process: one waiting for an answer, or
    /// one exported for another process to set.
    fn complete(&self, id: u64, outcome: Outcome) {
        let pending = lock(&self.pending).remove(&id);
        let (state, outcome) = match pending {
            Some(pending) => {
                let outcome = match outcome {
                    Outcome::Undeliverable(reason) => {
                        Outcome::Undeliverable(format!("{} {reason}", pending.label))
                    }
                    other => other,
                };
                (pending.state, outcome)
            }
            None => match self.local_future(id) {
                Some(state) => (state, outcome),
                // Given up already: its process died, or nobody holds it.
                None => return,
            },
        };
        // A future already answered keeps its first answer, as in Pykka.
        drop(state.publish(outcome));
    }

    /// Puts a message into a local actor's mailbox, or says why it cannot.
    fn deliver(&self, actor: u64, message: Vec<u8>, reply: Option<FutureId>) {
        let envelope = Envelope {
            message: Message::Pickled(message),
            reply: reply.map_or(Reply::Nobody, Reply::Remote),
        };
        let refused = match self.local_mailbox(actor) {
            None => Some(envelope),
            Some(mailbox) => mailbox
                .send(envelope)
                .err()
                .map(|Stopped(envelope)| envelope),
        };
        if let Some(envelope) = refused {
            match envelope.reply {
                Reply::Remote(reply) => self.send_undeliverable(reply, "not found".to_owned()),
                _ => self.dead_letter(format!(
                    "a message to actor {actor} of process {} was dropped: the actor is gone",
                    self.process
                )),
            }
        }
    }

    fn dead_letter(&self, text: String) {
        drop(self.control.0.send(Control::DeadLetter(text)));
    }

    fn serve_subscription(&self, future: u64, reply: FutureId) {
        let Some(state) = self.local_future(future) else {
            self.send_undeliverable(reply, "has no such future".to_owned());
            return;
        };
        let node = Node::get();
        let served = Arc::clone(&state);
        state.on_done(move || node.answer_subscription(&served, reply));
    }

    /// Sends the value of a done future to a subscriber: straight on if it
    /// is still pickled, pickled now (with the GIL) otherwise.
    fn answer_subscription(&self, state: &FutureState, reply: FutureId) {
        match state.pickled() {
            Some(Ok((ok, payload))) => self.send_reply(reply, ok, payload.to_vec()),
            Some(Err(reason)) => self.send_undeliverable(reply, reason.to_owned()),
            None => match super::pickling::outcome_for_wire(state) {
                Ok((ok, payload)) => self.send_reply(reply, ok, payload),
                Err(reason) => self.send_undeliverable(reply, reason),
            },
        }
    }

    /// Tells the other processes that local actor `id` stopped.
    fn announce_stopped(&self, id: u64) {
        lock(&self.exports).remove(&id);
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

    /// Whether this process has a link to any other.
    pub fn is_linked(&self) -> bool {
        !read(&self.links).is_empty()
    }

    /// The links as they are now, so no lock is held while using them.
    fn links_now(&self) -> Vec<(u32, Arc<LinkState>)> {
        read(&self.links)
            .iter()
            .map(|(peer, link)| (*peer, Arc::clone(link)))
            .collect()
    }

    fn broadcast(&self, header: &Frame, except: Option<u32>) {
        for (process, link) in self.links_now() {
            if Some(process) != except {
                drop(link.out.transmit(header, &[]));
            }
        }
    }

    fn mark_stopped(&self, actor: Address) {
        let event = lock(&self.remote_stops).stopped(actor);
        if let Some(event) = event {
            event.set();
        }
    }

    /// Records that `process` is gone: its actors count as stopped and
    /// whoever waits for an answer from it gets `ActorDeadError`.
    fn process_died(&self, process: u32, cause: &str) {
        lock(&self.dead).insert(process, cause.to_owned());
        write(&self.links).remove(&process);
        lock(&self.loads).remove(&process);
        // Stop flags first: whoever wakes from a failed wait sees the actors dead.
        let stops = lock(&self.remote_stops).of_process(process);
        for event in stops {
            event.set();
        }
        let orphans: Vec<Pending> = {
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
            drop(orphan.state.publish(Outcome::Undeliverable(format!(
                "{} died with its process: {cause}",
                orphan.label
            ))));
        }
    }

    /// Handles one frame that arrived from process `from`.
    fn dispatch(&self, from: u32, header: Frame, payload: Vec<u8>) {
        if let Some(process) = header.destination() {
            if process != self.process {
                if self.process == 0 {
                    self.forward(process, &header, &payload);
                } else {
                    self.refuse_frame(from, &header, "it is addressed to another process");
                }
                return;
            }
        }
        let parent = self.process == 0;
        match header {
            // Frames only the parent sends, or only workers send.
            Frame::Spawn { .. } | Frame::ProcessDied { .. } | Frame::Shutdown if parent => {
                self.refuse_frame(from, &header, "only the parent sends it");
            }
            Frame::Request { .. } | Frame::Log | Frame::Load { .. } if !parent => {
                self.refuse_frame(from, &header, "only workers send it, to the parent");
            }
            Frame::Stopped { actor } if parent && actor.process != from => {
                self.refuse_frame(from, &header, "a process announces only its own actors");
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
            | Frame::Request { reply } => {
                self.send_undeliverable(*reply, format!("cannot be reached that way: {why}"));
            }
            _ => {}
        }
        self.dead_letter(format!(
            "a frame from process {from} was ignored, since {why}: {header:?}"
        ));
    }

    /// Handles a frame that belongs where it arrived.
    fn handle(&self, from: u32, header: Frame, payload: Vec<u8>) {
        match header {
            Frame::Tell { to } => self.deliver(to.actor, payload, None),
            Frame::Ask { to, reply } => self.deliver(to.actor, payload, Some(reply)),
            Frame::Reply { to, ok } => self.complete(to.id, Outcome::Pickled { ok, payload }),
            Frame::Undeliverable { to, reason } => {
                self.complete(to.id, Outcome::Undeliverable(reason));
            }
            Frame::Subscribe { future, reply } => self.serve_subscription(future.id, reply),
            Frame::Spawn { reply } => drop(self.control.0.send(Control::Spawn { reply, payload })),
            Frame::Request { reply } => {
                drop(self.control.0.send(Control::Request { reply, payload }));
            }
            Frame::Stopped { actor } => {
                self.mark_stopped(actor);
                if self.process == 0 {
                    if let Some(load) = lock(&self.loads).get_mut(&actor.process) {
                        load.actors = load.actors.saturating_sub(1);
                    }
                    self.broadcast(&Frame::Stopped { actor }, Some(from));
                }
            }
            Frame::ProcessDied { process, cause } => self.process_died(process, &cause),
            Frame::Log => drop(self.control.0.send(Control::Log(payload))),
            Frame::Load { waiting, .. } => {
                if let Some(load) = lock(&self.loads).get_mut(&from) {
                    load.waiting = waiting;
                }
            }
            Frame::Shutdown => drop(self.control.0.send(Control::Shutdown)),
        }
    }

    /// Parent: passes a frame on to the process it is for.
    fn forward(&self, process: u32, header: &Frame, payload: &[u8]) {
        if let Err(reason) = self.send_frame(process, header, payload) {
            match header {
                Frame::Ask { reply, .. } | Frame::Subscribe { reply, .. } => {
                    self.send_undeliverable(*reply, format!("is unreachable: {reason}"));
                }
                Frame::Tell { to } => self.dead_letter(format!(
                    "a message to actor {} of process {} was dropped: {reason}",
                    to.actor, to.process
                )),
                _ => {} // a reply for a process that is gone: nobody waits for it
            }
        }
    }

    /// Starts reading frames from `peer` on a thread of its own, and lets
    /// this process send to it.
    ///
    /// # Errors
    /// If the stream cannot be duplicated or the thread started.
    pub fn connect(self: &Arc<Self>, peer: u32, stream: UnixStream) -> io::Result<()> {
        let link = Arc::new(LinkState {
            out: Link::new(stream.try_clone()?)?,
            watch: stream.try_clone()?,
            inbound: Mutex::new(Inbound::new(stream)),
        });
        write(&self.links).insert(peer, Arc::clone(&link));
        crate::wait::set_helper(help_read);
        if self.process == 0 {
            lock(&self.loads).insert(
                peer,
                Load {
                    alive: true,
                    ..Load::default()
                },
            );
        }
        let node = Arc::clone(self);
        let watcher = std::thread::Builder::new()
            .name(format!("pykka_rs-link-{peer}"))
            .spawn(move || node.watch_link(peer, &link))?;
        lock(&self.watchers).insert(peer, watcher);
        Ok(())
    }

    /// The link's own thread: waits for frames and handles those no spinning
    /// thread took first, until the link ends.
    fn watch_link(&self, peer: u32, link: &LinkState) {
        let ended = loop {
            let since_help = self.since_help();
            if since_help < HELPERS_LINGER {
                // Spinning threads are reading the links; waiting in poll
                // would only wake this thread for frames they take first.
                std::thread::sleep(HELPERS_LINGER.saturating_sub(since_help));
            } else if let Err(err) = ipc::wait_readable(&link.watch, None) {
                break format!("broke its connection: {err}");
            }
            let Ok(mut inbound) = link.inbound.try_lock() else {
                continue; // a spinning thread is reading it
            };
            if let Err(err) = self.drain(peer, &mut inbound) {
                break format!("broke its connection: {err}");
            }
            if inbound.ended() {
                break "closed its connection".to_owned();
            }
        };
        link.out.close();
        self.link_lost(peer, ended);
    }

    /// How long since a spinning thread last read the links.
    fn since_help(&self) -> Duration {
        let now = self.epoch.elapsed().as_nanos() as u64;
        Duration::from_nanos(now.saturating_sub(self.last_help.load(Ordering::Relaxed)))
    }

    /// Reads what has arrived on a link and handles each whole frame.
    fn drain(&self, peer: u32, inbound: &mut Inbound) -> io::Result<bool> {
        let mut handled = false;
        inbound.read_available()?;
        while let Some((header, payload)) = inbound.next_frame()? {
            self.dispatch(peer, header, payload);
            handled = true;
        }
        Ok(handled)
    }

    /// Handles every frame that has arrived by now, waiting for a thread
    /// that is reading a link to finish: afterwards this process knows all
    /// that the others sent it before the call (the stops they announced).
    pub fn catch_up(&self) {
        for (peer, link) in self.links_now() {
            let mut inbound = lock(&link.inbound);
            if !inbound.ended() && self.drain(peer, &mut inbound).is_err() {
                // The link's own thread will find the end and report it.
                link.out.close();
            }
        }
    }

    /// Reads every link that nobody else is reading right now; returns
    /// whether any frame was handled. Spinning threads call this.
    fn help(&self) -> bool {
        self.last_help
            .store(self.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let mut handled = false;
        for (peer, link) in self.links_now() {
            let Ok(mut inbound) = link.inbound.try_lock() else {
                continue;
            };
            if inbound.ended() {
                continue;
            }
            match self.drain(peer, &mut inbound) {
                Ok(done) => handled |= done,
                // The link's own thread will find the end and report it.
                Err(_) => link.out.close(),
            }
        }
        handled
    }

    fn link_lost(&self, peer: u32, how: String) {
        if self.process != 0 {
            // Every answer a worker waits for comes through its parent.
            let cause = format!("the parent process {how}");
            let everyone: Vec<u32> = lock(&self.pending).values().map(|p| p.from).collect();
            for process in std::iter::once(0).chain(everyone) {
                self.process_died(process, &cause);
            }
            drop(self.control.0.send(Control::ParentLost(how)));
            return;
        }
        let (cause, expected) = self.reap(peer, &how);
        self.process_died(peer, &cause);
        self.broadcast(
            &Frame::ProcessDied {
                process: peer,
                cause: cause.clone(),
            },
            Some(peer),
        );
        drop(self.control.0.send(Control::ProcessLost {
            process: peer,
            cause,
            expected,
        }));
    }

    /// Parent: waits (up to a second) for a worker whose link ended, and
    /// says how it ended; kills it if it lingers without its link.
    fn reap(&self, peer: u32, how: &str) -> (String, bool) {
        let Some(mut worker) = lock(&self.workers).remove(&peer) else {
            return (format!("worker process {peer} {how}"), false);
        };
        let pid = worker.process.pid();
        let expected = worker.retiring.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(1);
        let status = loop {
            match worker.process.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break None,
            }
        };
        let ended = if let Some(status) = status {
            exit_cause(status)
        } else {
            worker.process.kill();
            drop(worker.process.wait());
            format!("{how} and was killed")
        };
        (
            format!("worker process {peer} (pid {pid}) {ended}"),
            expected,
        )
    }

    /// Parent: keeps a worker's process, to reap it and report its end.
    pub fn adopt(&self, peer: u32, process: WorkerProcess) -> Arc<AtomicBool> {
        let retiring = Arc::new(AtomicBool::new(false));
        lock(&self.workers).insert(
            peer,
            Worker {
                process,
                retiring: Arc::clone(&retiring),
            },
        );
        retiring
    }

    /// Parent: waits until worker `process` has ended, been reaped and its
    /// link closed, killing it if it is still running at `deadline`.
    pub fn await_exit(&self, process: u32, deadline: Instant) {
        let mut killed = false;
        while lock(&self.workers).contains_key(&process) {
            if !killed && Instant::now() >= deadline {
                if let Some(worker) = lock(&self.workers).get_mut(&process) {
                    worker.process.kill();
                }
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // The link's thread reaped it; once it returns, the sockets are closed.
        let watcher = lock(&self.watchers).remove(&process);
        if let Some(watcher) = watcher {
            drop(watcher.join());
        }
    }

    /// Worker: asks the parent to run a Python request; the answer goes to `state`.
    ///
    /// # Errors
    /// Why the parent cannot be reached.
    pub fn request(&self, payload: &[u8], state: Arc<FutureState>) -> Result<(), String> {
        let reply = self.expect(state, 0, "the parent process".to_owned());
        self.send_expecting(0, &Frame::Request { reply }, payload, reply)
    }

    /// Worker: how many actors this process hosts and how many messages
    /// wait in their mailboxes.
    pub fn own_load(&self) -> (u64, u64) {
        let exports = lock(&self.exports);
        exports
            .values()
            .filter_map(|export| export.mailbox.upgrade())
            .filter(|mailbox| !mailbox.stopped().is_set())
            .fold((0, 0), |(actors, waiting), mailbox| {
                (actors + 1, waiting + mailbox.stats().waiting())
            })
    }

    /// Parent: the load of each connected worker, by process number.
    pub fn loads(&self) -> HashMap<u32, Load> {
        lock(&self.loads).clone()
    }

    /// Parent: counts an actor placed on a worker until its stop is announced.
    pub fn count_actor(&self, process: u32) {
        if let Some(load) = lock(&self.loads).get_mut(&process) {
            load.actors += 1;
        }
    }

    /// Asks worker `process` to make an actor; the answer goes to `state`.
    ///
    /// # Errors
    /// Why the worker cannot be reached.
    pub fn spawn(
        &self,
        process: u32,
        payload: &[u8],
        state: Arc<FutureState>,
        label: String,
    ) -> Result<(), String> {
        let reply = self.expect(state, process, label);
        self.send_expecting(process, &Frame::Spawn { reply }, payload, reply)
    }

    /// A flag the Python thread sets once it has handled all the work queued
    /// for it so far: log records that arrived before a reply, say.
    pub fn control_barrier(&self) -> Arc<Event> {
        let barrier = Arc::new(Event::new());
        drop(self.control.0.send(Control::Barrier(Arc::clone(&barrier))));
        barrier
    }

    /// Takes the next piece of work for Python, waiting until `until`.
    pub fn next_control(&self, until: Instant) -> Option<Control> {
        self.control.1.recv_deadline(until).ok()
    }
}
