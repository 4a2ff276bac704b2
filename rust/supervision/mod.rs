//! Supervision: the deciding half of an OTP supervisor, with no I/O.
//!
//! A [`Supervisor`] holds a supervisor's children and decides, as OTP's
//! `supervisor` module does, what happens when one of them exits, when a
//! restart fails, when the restart intensity is exceeded and when its API is
//! called. Whoever drives it (a Python supervisor actor, with thread or
//! process actors as children) feeds it events and carries out the
//! [`Action`]s it returns, in order:
//!
//! | Event (method)                          | Typical actions                          |
//! |-----------------------------------------|------------------------------------------|
//! | [`start`](Supervisor::start)            | `Start` each child in order, then `Ready`|
//! | [`started`](Supervisor::started) / [`start_failed`](Supervisor::start_failed) | what the start was part of continues |
//! | [`exited`](Supervisor::exited)          | `Stop`s and `Start`s of a restart, or `Schedule` (backoff), or `Stop`s then `Escalate` |
//! | [`timer_fired`](Supervisor::timer_fired)| `Start`s of the restart that waited      |
//! | [`shutdown`](Supervisor::shutdown)      | `Stop` each child in reverse order, then `Stopped` |
//! | [`start_child`](Supervisor::start_child) and the other calls | their work, then `Reply` |
//!
//! The driver answers each `Start` with `started` or `start_failed`, and
//! reports each child's end with `exited`, whether it was asked to stop or
//! not. A `Stop` is carried out with the child's [`Shutdown`]: ask it to
//! stop, kill it after the timeout. Each incarnation of a child (each time
//! it is started) has its own [`Incarnation`] number, so a late report about
//! an earlier incarnation is recognised and ignored, as OTP ignores the exit
//! of a pid it no longer knows.
//!
//! Like OTP's supervisor, which is a `gen_server` that blocks while it
//! starts or stops a child, the machine does one thing at a time: while it
//! waits for a start's outcome or a stop's exit, it queues every other event
//! and call, and takes them in order once the operation is done. A queued
//! exit of a child that the operation then stops is that stop's exit (OTP's
//! `unlink_flush`). The last action is always `Escalate` or `Stopped`; calls
//! still queued then are answered with [`CallError::ShuttingDown`].
//!
//! # OTP behaviours covered
//! - Child specs: id, restart type (permanent, transient, temporary),
//!   shutdown (`brutal_kill`, a timeout, `infinity`; defaults 5 s for
//!   workers and infinity for supervisors), kind (worker or supervisor).
//! - Children start in spec order; when the supervisor stops, they stop in
//!   reverse start order (`simple_one_for_one`: all at once, as in OTP).
//! - A failed start while the supervisor starts stops the children started
//!   so far, in reverse order, and fails the supervisor
//!   (`failed_to_start_child`).
//! - Restart types decide on the exit reason: permanent always restarts,
//!   transient only after an abnormal exit (not after normal or shutdown),
//!   temporary never; a temporary child is forgotten once it has stopped,
//!   also when a sibling's restart stopped it (`temporary_bystander`).
//! - Strategies `one_for_one`, `one_for_all`, `rest_for_one` (siblings stopped in
//!   reverse order, the group started again in order; as in OTP, the group
//!   includes children that were not running) and `simple_one_for_one` (a
//!   dynamic pool from one template, children started with extra arguments
//!   the driver keeps, terminated by id).
//! - Restart intensity: more than `max_restarts` restarts within `within`
//!   stops every child in reverse order and escalates
//!   (`reached_max_restart_intensity`); defaults 1 in 5 s.
//! - A restart whose start fails is retried after the events already queued
//!   (OTP's `try_again_restart`), and each retry counts as a restart; the
//!   child shows as restarting meanwhile, and in a group restart the
//!   children after it are left stopped until the retry.
//! - `start_child` (`already_started`, `already_present`, a failed start
//!   discards the spec), `terminate_child` (keeps the spec unless temporary;
//!   cancels a pending restart; terminating a dynamic child that is gone
//!   already is fine), `restart_child` (`running`, `restarting`,
//!   `not_found`), `delete_child`, `which_children`, `count_children`,
//!   `get_childspec`, and `simple_one_for_one` errors for the calls that
//!   need an id.
//!
//! Beyond OTP: an optional exponential backoff with jitter before each
//! restart (`backoff.rs`), during which the children of the restart show as
//! restarting and the supervisor handles other events; a later restart that
//! takes the same children along replaces the pending one. A retry belongs
//! to the failed start that asked for it, and does nothing once its child
//! waits for another restart (OTP retries any child shown as restarting).
//!
//! Not covered: `ignore` from a start function, significant children and
//! `auto_shutdown`, code change, and start functions' extra return info.
//! `which_children` lists children in start order (OTP: newest first).
//!
//! Rejected: a machine that emits every action of an operation at once and
//! trusts the driver to run them in order. A start's outcome decides what
//! comes next (OTP stops at the first failed start), and a stop must end
//! before the next begins for "reverse order" to mean anything, so the
//! machine hands out one start or stop at a time and waits for its report.

pub mod backoff;
pub mod intensity;
pub mod strategy;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use backoff::{Backoff, Random};
use intensity::{Clock, Intensity};
pub use strategy::{ExitReason, RestartType, Strategy};

/// How long a worker gets to stop before it is killed, unless its spec says
/// otherwise (OTP's 5000 ms).
pub const DEFAULT_WORKER_SHUTDOWN: Duration = Duration::from_secs(5);

/// A child of a supervisor, stable across the child's restarts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChildId {
    /// A child from a spec, named by the spec's id.
    Named(String),
    /// A child of a `simple_one_for_one` supervisor, numbered by it when
    /// `start_dynamic_child` is called.
    Dynamic(u64),
}

impl fmt::Display for ChildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(id) => write!(f, "{id:?}"),
            Self::Dynamic(number) => write!(f, "#{number}"),
        }
    }
}

/// One run of a child, from its start to its exit; numbered by the
/// supervisor, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Incarnation(pub u64);

/// A restart timer the driver was asked to set (see [`Action::Schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);

/// The driver's name for an API call, given back in its [`Action::Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// How a child is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once, with no chance to clean up.
    BrutalKill,
    /// Asked to stop, and killed if it has not stopped after this long.
    Timeout(Duration),
    /// Asked to stop, and waited for as long as it takes (for supervisors,
    /// so that their own children have time to stop).
    Infinity,
}

/// Whether a child is a worker or a supervisor of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChildKind {
    /// A worker.
    #[default]
    Worker,
    /// A supervisor.
    Supervisor,
}

impl ChildKind {
    /// OTP's name, `"worker"` or `"supervisor"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Supervisor => "supervisor",
        }
    }
}

/// What a supervisor knows of a child before starting it. How to start it
/// is the driver's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// The child's name among its siblings.
    pub id: String,
    /// When the child is restarted.
    pub restart: RestartType,
    /// How the child is stopped.
    pub shutdown: Shutdown,
    /// Worker or supervisor.
    pub kind: ChildKind,
}

impl ChildSpec {
    /// A permanent worker with OTP's 5 s shutdown timeout.
    pub fn worker(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            restart: RestartType::Permanent,
            shutdown: Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN),
            kind: ChildKind::Worker,
        }
    }

    /// A permanent supervisor, given all the time it needs to stop.
    pub fn supervisor(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            restart: RestartType::Permanent,
            shutdown: Shutdown::Infinity,
            kind: ChildKind::Supervisor,
        }
    }

    /// The same spec with restart type `restart`.
    #[must_use]
    pub fn with_restart(self, restart: RestartType) -> Self {
        Self { restart, ..self }
    }

    /// The same spec with shutdown `shutdown`.
    #[must_use]
    pub fn with_shutdown(self, shutdown: Shutdown) -> Self {
        Self { shutdown, ..self }
    }
}

/// A supervisor's settings (OTP's supervisor flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Flags {
    /// Which children a restart takes along.
    pub strategy: Strategy,
    /// How many restarts are allowed within `within` (OTP's intensity).
    pub max_restarts: u32,
    /// The length of the restart window (OTP's period); more than zero.
    pub within: Duration,
    /// An optional delay before each restart.
    pub backoff: Option<Backoff>,
}

impl Default for Flags {
    /// OTP's defaults: `one_for_one`, at most 1 restart in 5 seconds.
    fn default() -> Self {
        Self {
            strategy: Strategy::OneForOne,
            max_restarts: 1,
            within: Duration::from_secs(5),
            backoff: None,
        }
    }
}

/// What the driver is to do, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start `child`; report the outcome with `started(incarnation)` or
    /// `start_failed(incarnation, why)` before anything else about it.
    Start {
        /// The child to start.
        child: ChildId,
        /// The number of the run this start begins.
        incarnation: Incarnation,
    },
    /// Stop this incarnation of `child` as `shutdown` says, and report
    /// `exited(incarnation, reason)` once it is gone.
    Stop {
        /// The child to stop.
        child: ChildId,
        /// The run to end.
        incarnation: Incarnation,
        /// How to stop it.
        shutdown: Shutdown,
    },
    /// Call `timer_fired(timer)` after `after`: children wait for it to
    /// restart.
    Schedule {
        /// The timer to report.
        timer: TimerId,
        /// How long to wait.
        after: Duration,
    },
    /// Answer API call `call`.
    Reply {
        /// The driver's name for the call.
        call: CallId,
        /// The answer.
        result: Result<Reply, CallError>,
    },
    /// Every child has started: the supervisor's own start succeeded.
    Ready,
    /// Every child has stopped and the supervisor fails, for the reason
    /// given; its own supervisor decides what follows. Nothing follows.
    Escalate(Escalation),
    /// Every child has stopped after `shutdown()`. Nothing follows.
    Stopped,
}

/// A successful call's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Done; nothing to report.
    Done,
    /// The child was started, in this incarnation.
    Started {
        /// The child.
        child: ChildId,
        /// Its run.
        incarnation: Incarnation,
    },
}

/// Why a call was refused, with OTP's names (see [`CallError::code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No child has that id.
    NotFound,
    /// The child is running; stop it first.
    Running,
    /// The child waits to be restarted.
    Restarting,
    /// A child with that id runs already, in this incarnation.
    AlreadyStarted(Incarnation),
    /// A child with that id exists, not running; use `restart_child`.
    AlreadyPresent,
    /// The call needs a child id, which a `simple_one_for_one` supervisor's
    /// children do not have.
    SimpleOneForOne,
    /// The child did not start; carries the driver's reason.
    StartFailed(String),
    /// The supervisor is stopping or has stopped.
    ShuttingDown,
}

impl CallError {
    /// OTP's name for the error, e.g. `"not_found"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::AlreadyStarted(_) => "already_started",
            Self::AlreadyPresent => "already_present",
            Self::SimpleOneForOne => "simple_one_for_one",
            Self::StartFailed(_) => "start_failed",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no child has that id"),
            Self::Running => f.write_str("the child is running"),
            Self::Restarting => f.write_str("the child is waiting to be restarted"),
            Self::AlreadyStarted(incarnation) => {
                write!(
                    f,
                    "the child is already running (incarnation {})",
                    incarnation.0
                )
            }
            Self::AlreadyPresent => {
                f.write_str("a child with that id exists already; restart it instead")
            }
            Self::SimpleOneForOne => {
                f.write_str("a simple_one_for_one supervisor's children have no such id")
            }
            Self::StartFailed(why) => write!(f, "the child did not start: {why}"),
            Self::ShuttingDown => f.write_str("the supervisor is shutting down"),
        }
    }
}

/// Why a supervisor failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escalation {
    /// A restart of `child` would have exceeded the restart intensity (OTP's
    /// `reached_max_restart_intensity`).
    MaxRestartIntensity {
        /// The child whose restart was refused.
        child: ChildId,
    },
    /// `child` did not start while the supervisor started (OTP's
    /// `failed_to_start_child`).
    FailedToStart {
        /// The child.
        child: ChildId,
        /// The driver's reason.
        reason: String,
    },
}

impl Escalation {
    /// OTP's name for the reason, e.g. `"reached_max_restart_intensity"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MaxRestartIntensity { .. } => "reached_max_restart_intensity",
            Self::FailedToStart { .. } => "failed_to_start_child",
        }
    }

    /// The child the reason is about.
    pub fn child(&self) -> &ChildId {
        match self {
            Self::MaxRestartIntensity { child } | Self::FailedToStart { child, .. } => child,
        }
    }
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaxRestartIntensity { child } => write!(
                f,
                "restarting child {child} would exceed the restart intensity"
            ),
            Self::FailedToStart { child, reason } => {
                write!(f, "child {child} failed to start: {reason}")
            }
        }
    }
}

/// A misuse of the machine: an impossible setting, or an event it cannot
/// have caused. The machine is unchanged by the event that got one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupervisorError {
    /// Two specs share an id; carries it.
    DuplicateChild(String),
    /// A `simple_one_for_one` supervisor takes exactly one spec, its
    /// template; carries how many it was given.
    TemplateCount(usize),
    /// The restart window must be longer than zero.
    ZeroWindow,
    /// `start()` has not been called yet.
    NotStarted,
    /// `start()` was called before.
    StartedTwice,
    /// The call does not fit the supervisor's strategy.
    WrongStrategy {
        /// The call.
        call: &'static str,
        /// The strategy.
        strategy: Strategy,
    },
    /// A start's outcome for an incarnation whose start is not awaited.
    NotWaitingForStart(Incarnation),
    /// An exit of an incarnation whose start's outcome is not reported yet.
    ExitBeforeStart(Incarnation),
    /// An incarnation this supervisor never handed out.
    UnknownIncarnation(Incarnation),
    /// A timer not scheduled, or reported before.
    UnknownTimer(TimerId),
}

impl fmt::Display for SupervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateChild(id) => write!(f, "two child specs have the id {id:?}"),
            Self::TemplateCount(count) => write!(
                f,
                "a simple_one_for_one supervisor takes exactly one child spec, not {count}"
            ),
            Self::ZeroWindow => f.write_str("the restart window must be longer than zero"),
            Self::NotStarted => f.write_str("the supervisor has not been started"),
            Self::StartedTwice => f.write_str("the supervisor was started already"),
            Self::WrongStrategy { call, strategy } => {
                write!(f, "{call} is not for a {strategy} supervisor")
            }
            Self::NotWaitingForStart(incarnation) => {
                write!(f, "no start of incarnation {} is awaited", incarnation.0)
            }
            Self::ExitBeforeStart(incarnation) => write!(
                f,
                "incarnation {} exited before its start was reported",
                incarnation.0
            ),
            Self::UnknownIncarnation(incarnation) => {
                write!(f, "no incarnation {} was handed out", incarnation.0)
            }
            Self::UnknownTimer(timer) => {
                write!(f, "timer {} is not scheduled", timer.0)
            }
        }
    }
}

impl std::error::Error for SupervisorError {}

/// A child's state as `which_children` reports it (OTP's pid, `restarting`
/// or `undefined`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    /// Running, in this incarnation.
    Running(Incarnation),
    /// Waiting to be restarted.
    Restarting,
    /// Not running (OTP's `undefined`).
    Undefined,
}

/// One line of `which_children`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child.
    pub id: ChildId,
    /// Its state.
    pub status: ChildStatus,
    /// Worker or supervisor.
    pub kind: ChildKind,
}

/// `count_children`'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Child specs, running or not (1 for `simple_one_for_one`: the template).
    pub specs: usize,
    /// Children running and not known to have exited.
    pub active: usize,
    /// Children whose kind is supervisor.
    pub supervisors: usize,
    /// Children whose kind is worker.
    pub workers: usize,
}

/// Where the supervisor is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Made, not started.
    Created,
    /// Starting its children.
    Starting,
    /// Supervising.
    Running,
    /// Stopping its children, to escalate or after `shutdown()`.
    Terminating,
    /// Done: `Escalate` or `Stopped` was the last action.
    Terminated,
}

impl Phase {
    /// A lower-case name, e.g. `"running"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Terminating => "terminating",
            Self::Terminated => "terminated",
        }
    }
}

/// A child's state inside the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running(Incarnation),
    /// Its exit was reported while the machine was busy; the decision waits
    /// in the queue.
    Exited(Incarnation),
    /// Waiting for the restart that holds this ticket (a timer, a retry, or
    /// the operation under way).
    Restarting(TimerId),
    /// Not running (OTP's `undefined`).
    Stopped,
}

#[derive(Debug)]
struct Child {
    spec: Arc<ChildSpec>,
    /// Its place in start order.
    seq: u64,
    state: State,
    /// Restarts since it last ran for the backoff's `reset_after`.
    attempt: u32,
    /// When its current or last incarnation started.
    started_at: Duration,
}

/// What waits in the queue while the machine is busy.
#[derive(Debug)]
enum Input {
    Exit(Incarnation, ExitReason),
    /// A timer ran out; the children that waited for it, in start order.
    Timer(TimerId, Vec<ChildId>),
    Call(CallId, Request),
    Shutdown,
    /// Try again the restart that failed to start this child (OTP's
    /// `try_again_restart`), if it still holds this ticket.
    Retry(ChildId, TimerId),
}

#[derive(Debug)]
enum Request {
    Start(ChildSpec),
    StartDynamic(u64),
    Terminate(ChildId),
    Restart(ChildId),
    Delete(ChildId),
}

/// One step of an operation.
#[derive(Debug)]
enum Step {
    /// Start a child while the supervisor starts; a failure fails it.
    Init(ChildId),
    /// Stop the child if it runs, and wait for its exit.
    Stop(ChildId),
    /// Stop these children at once and wait for all (`simple_one_for_one`).
    StopTogether(Vec<ChildId>),
    /// The stops of a restart are done: the group waits for `ticket`, and
    /// the driver sets a timer for it if there is a delay.
    Await {
        members: Vec<ChildId>,
        ticket: TimerId,
        delay: Option<Duration>,
    },
    /// Start the child if it still waits for `ticket`.
    Restart { child: ChildId, ticket: TimerId },
    /// Start a child that `start_child` adds.
    StartNew {
        call: CallId,
        child: ChildId,
        spec: Arc<ChildSpec>,
    },
    /// Start a stopped child for `restart_child`.
    StartExisting { call: CallId, child: ChildId },
    /// Forget the child, or mark it not running, unless it runs.
    Forget(ChildId),
}

#[derive(Debug)]
enum Waiting {
    Nothing,
    Start {
        incarnation: Incarnation,
        step: Step,
    },
    Stops(HashMap<Incarnation, ChildId>),
}

#[derive(Debug)]
enum End {
    Nothing,
    Ready,
    Reply(CallId),
    Terminate(Terminal),
}

#[derive(Debug)]
enum Terminal {
    Escalate(Escalation),
    Stopped,
}

/// An operation under way: what is left of it, what it waits for, and what
/// its end announces.
#[derive(Debug)]
struct Op {
    steps: VecDeque<Step>,
    waiting: Waiting,
    end: End,
}

impl Op {
    fn new(steps: impl IntoIterator<Item = Step>, end: End) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            waiting: Waiting::Nothing,
            end,
        }
    }
}

/// The supervisor's state machine. See the module documentation.
pub struct Supervisor {
    flags: Flags,
    /// The template of a `simple_one_for_one` supervisor.
    template: Option<Arc<ChildSpec>>,
    children: HashMap<ChildId, Child>,
    /// The children in start order.
    order: BTreeMap<u64, ChildId>,
    /// Which child each running incarnation belongs to.
    incarnations: HashMap<Incarnation, ChildId>,
    next_seq: u64,
    next_incarnation: u64,
    next_ticket: u64,
    next_dynamic: u64,
    /// Timers handed to the driver and not fired yet, with the children
    /// (in start order) that wait for each.
    scheduled: HashMap<TimerId, Vec<ChildId>>,
    intensity: Intensity<Box<dyn Clock + Send>>,
    random: Box<dyn Random + Send>,
    phase: Phase,
    op: Option<Op>,
    queue: VecDeque<Input>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("flags", &self.flags)
            .field("phase", &self.phase)
            .field("children", &self.which_children())
            .field("busy", &self.is_busy())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

type Outcome<T = Vec<Action>> = Result<T, SupervisorError>;

impl Supervisor {
    /// A supervisor with `flags` and the children `specs` (for
    /// `simple_one_for_one`, the one template), reading time from `clock`
    /// and jitter from `random`. Nothing starts before [`Supervisor::start`].
    ///
    /// # Errors
    /// [`SupervisorError::DuplicateChild`], [`SupervisorError::TemplateCount`]
    /// or [`SupervisorError::ZeroWindow`].
    pub fn new(
        flags: Flags,
        specs: Vec<ChildSpec>,
        clock: impl Clock + Send + 'static,
        random: impl Random + Send + 'static,
    ) -> Outcome<Self> {
        if flags.within.is_zero() {
            return Err(SupervisorError::ZeroWindow);
        }
        let intensity = Intensity::new(
            flags.max_restarts,
            flags.within,
            Box::new(clock) as Box<dyn Clock + Send>,
        );
        let mut supervisor = Self {
            flags,
            template: None,
            children: HashMap::new(),
            order: BTreeMap::new(),
            incarnations: HashMap::new(),
            next_seq: 0,
            next_incarnation: 0,
            next_ticket: 0,
            next_dynamic: 0,
            scheduled: HashMap::new(),
            intensity,
            random: Box::new(random),
            phase: Phase::Created,
            op: None,
            queue: VecDeque::new(),
        };
        if supervisor.is_simple() {
            let count = specs.len();
            let mut specs = specs.into_iter();
            match (specs.next(), specs.next()) {
                (Some(template), None) => supervisor.template = Some(Arc::new(template)),
                _ => return Err(SupervisorError::TemplateCount(count)),
            }
        } else {
            for spec in specs {
                let id = ChildId::Named(spec.id.clone());
                if supervisor.children.contains_key(&id) {
                    return Err(SupervisorError::DuplicateChild(spec.id));
                }
                supervisor.add(id, Arc::new(spec), State::Stopped);
            }
        }
        Ok(supervisor)
    }

    /// The settings.
    pub fn flags(&self) -> &Flags {
        &self.flags
    }

    /// The strategy.
    pub fn strategy(&self) -> Strategy {
        self.flags.strategy
    }

    /// Where the supervisor is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether an operation waits for a start's outcome or a stop's exit;
    /// events and calls queue meanwhile.
    pub fn is_busy(&self) -> bool {
        self.op.is_some()
    }

    /// The clock the supervisor reads.
    pub fn clock(&self) -> &dyn Clock {
        self.intensity.clock()
    }

    /// Starts the children, in order. Ends with `Ready`, or, if a child
    /// fails to start, with the others stopped and `Escalate`.
    ///
    /// # Errors
    /// [`SupervisorError::StartedTwice`].
    pub fn start(&mut self) -> Outcome {
        if self.phase != Phase::Created {
            return Err(SupervisorError::StartedTwice);
        }
        self.phase = Phase::Starting;
        let steps: Vec<Step> = self.order.values().cloned().map(Step::Init).collect();
        self.op = Some(Op::new(steps, End::Ready));
        Ok(self.pump())
    }

    /// The child started as `incarnation` (the last `Start` handed out) runs.
    ///
    /// # Errors
    /// [`SupervisorError::NotWaitingForStart`].
    pub fn started(&mut self, incarnation: Incarnation) -> Outcome {
        let step = self.take_awaited_start(incarnation)?;
        let mut out = Vec::new();
        self.on_started(incarnation, step, &mut out);
        self.pump_into(&mut out);
        Ok(out)
    }

    /// The child to be started as `incarnation` did not start, for `reason`.
    ///
    /// # Errors
    /// [`SupervisorError::NotWaitingForStart`].
    pub fn start_failed(&mut self, incarnation: Incarnation, reason: impl Into<String>) -> Outcome {
        let step = self.take_awaited_start(incarnation)?;
        let mut out = Vec::new();
        self.on_start_failed(step, reason.into(), &mut out);
        self.pump_into(&mut out);
        Ok(out)
    }

    /// Incarnation `incarnation` of a child has ended, for `reason`: asked
    /// to by a `Stop` or not. Reports about earlier incarnations, and any
    /// report once the supervisor has terminated, change nothing.
    ///
    /// # Errors
    /// [`SupervisorError::UnknownIncarnation`] or
    /// [`SupervisorError::ExitBeforeStart`].
    pub fn exited(&mut self, incarnation: Incarnation, reason: ExitReason) -> Outcome {
        if incarnation.0 >= self.next_incarnation {
            return Err(SupervisorError::UnknownIncarnation(incarnation));
        }
        if self.phase == Phase::Terminated {
            return Ok(Vec::new());
        }
        let mut stopped = None;
        if let Some(op) = &mut self.op {
            match &mut op.waiting {
                Waiting::Start {
                    incarnation: awaited,
                    ..
                } if *awaited == incarnation => {
                    return Err(SupervisorError::ExitBeforeStart(incarnation));
                }
                Waiting::Stops(stops) => {
                    stopped = stops.remove(&incarnation);
                    if stops.is_empty() {
                        op.waiting = Waiting::Nothing;
                    }
                }
                Waiting::Start { .. } | Waiting::Nothing => {}
            }
        }
        if let Some(id) = stopped {
            // The exit a `Stop` waited for.
            self.incarnations.remove(&incarnation);
            self.after_stop(&id);
        } else {
            let child = self
                .incarnations
                .get(&incarnation)
                .and_then(|id| self.children.get_mut(id));
            match child {
                Some(child) if child.state == State::Running(incarnation) => {
                    child.state = State::Exited(incarnation);
                }
                // An earlier incarnation's exit, or one reported twice.
                _ => return Ok(Vec::new()),
            }
            self.queue.push_back(Input::Exit(incarnation, reason));
        }
        Ok(self.pump())
    }

    /// The timer of a `Schedule` action has run out.
    ///
    /// # Errors
    /// [`SupervisorError::UnknownTimer`] for a timer not scheduled, or
    /// fired before.
    pub fn timer_fired(&mut self, timer: TimerId) -> Outcome {
        if self.phase == Phase::Terminated {
            return Ok(Vec::new());
        }
        let Some(members) = self.scheduled.remove(&timer) else {
            return Err(SupervisorError::UnknownTimer(timer));
        };
        self.queue.push_back(Input::Timer(timer, members));
        Ok(self.pump())
    }

    /// Stop every child, in reverse start order, then end with `Stopped`.
    /// Once the supervisor has terminated, does nothing.
    ///
    /// # Errors
    /// [`SupervisorError::NotStarted`].
    pub fn shutdown(&mut self) -> Outcome {
        match self.phase {
            Phase::Created => Err(SupervisorError::NotStarted),
            Phase::Terminated => Ok(Vec::new()),
            _ => {
                self.queue.push_back(Input::Shutdown);
                Ok(self.pump())
            }
        }
    }

    /// Add a child from `spec` and start it (not for `simple_one_for_one`).
    /// Answers `Started`, or `AlreadyStarted`, `AlreadyPresent`,
    /// `StartFailed` (the spec is then discarded).
    ///
    /// # Errors
    /// [`SupervisorError::WrongStrategy`] or [`SupervisorError::NotStarted`].
    pub fn start_child(&mut self, call: CallId, spec: ChildSpec) -> Outcome {
        if self.is_simple() {
            return Err(self.wrong_strategy("start_child"));
        }
        self.call(call, Request::Start(spec))
    }

    /// Start a new child of a `simple_one_for_one` supervisor from its
    /// template; return the id it gets, so the driver can keep its extra
    /// arguments under it. Answers `Started` or `StartFailed`.
    ///
    /// # Errors
    /// [`SupervisorError::WrongStrategy`] or [`SupervisorError::NotStarted`].
    pub fn start_dynamic_child(&mut self, call: CallId) -> Outcome<(ChildId, Vec<Action>)> {
        if !self.is_simple() {
            return Err(self.wrong_strategy("start_dynamic_child"));
        }
        if self.phase == Phase::Created {
            return Err(SupervisorError::NotStarted);
        }
        let number = self.next_dynamic;
        self.next_dynamic += 1;
        let actions = self.call(call, Request::StartDynamic(number))?;
        Ok((ChildId::Dynamic(number), actions))
    }

    /// Stop a child; keep its spec unless it is temporary or dynamic.
    /// Cancels a restart it waits for. Answers `Done`, `NotFound` or
    /// `SimpleOneForOne` (a named id for a `simple_one_for_one` supervisor).
    ///
    /// # Errors
    /// [`SupervisorError::NotStarted`].
    pub fn terminate_child(&mut self, call: CallId, id: ChildId) -> Outcome {
        self.call(call, Request::Terminate(id))
    }

    /// Start a child that is not running. Answers `Started`, `Running`,
    /// `Restarting`, `NotFound`, `StartFailed` or `SimpleOneForOne`.
    ///
    /// # Errors
    /// [`SupervisorError::NotStarted`].
    pub fn restart_child(&mut self, call: CallId, id: ChildId) -> Outcome {
        self.call(call, Request::Restart(id))
    }

    /// Forget a child that is not running. Answers `Done`, `Running`,
    /// `Restarting`, `NotFound` or `SimpleOneForOne`.
    ///
    /// # Errors
    /// [`SupervisorError::NotStarted`].
    pub fn delete_child(&mut self, call: CallId, id: ChildId) -> Outcome {
        self.call(call, Request::Delete(id))
    }

    /// Every child, in start order, with its state.
    pub fn which_children(&self) -> Vec<ChildInfo> {
        self.order
            .values()
            .map(|id| {
                let child = &self.children[id];
                let status = match child.state {
                    State::Running(incarnation) | State::Exited(incarnation) => {
                        ChildStatus::Running(incarnation)
                    }
                    State::Restarting(_) => ChildStatus::Restarting,
                    State::Stopped => ChildStatus::Undefined,
                };
                ChildInfo {
                    id: id.clone(),
                    status,
                    kind: child.spec.kind,
                }
            })
            .collect()
    }

    /// The counts OTP's `count_children` gives.
    pub fn count_children(&self) -> ChildCounts {
        let mut counts = ChildCounts {
            specs: if self.is_simple() {
                1
            } else {
                self.children.len()
            },
            ..ChildCounts::default()
        };
        for child in self.children.values() {
            if matches!(child.state, State::Running(_)) {
                counts.active += 1;
            }
            match child.spec.kind {
                ChildKind::Worker => counts.workers += 1,
                ChildKind::Supervisor => counts.supervisors += 1,
            }
        }
        counts
    }

    /// The spec of a child (for a dynamic child, the template), if the
    /// supervisor has it (OTP's `get_childspec`).
    pub fn child_spec(&self, id: &ChildId) -> Option<&ChildSpec> {
        self.children.get(id).map(|child| child.spec.as_ref())
    }

    /// The template of a `simple_one_for_one` supervisor.
    pub fn template(&self) -> Option<&ChildSpec> {
        self.template.as_deref()
    }

    // ----- the machine -----

    fn is_simple(&self) -> bool {
        self.flags.strategy == Strategy::SimpleOneForOne
    }

    fn wrong_strategy(&self, call: &'static str) -> SupervisorError {
        SupervisorError::WrongStrategy {
            call,
            strategy: self.flags.strategy,
        }
    }

    fn now(&self) -> Duration {
        self.intensity.clock().now()
    }

    fn add(&mut self, id: ChildId, spec: Arc<ChildSpec>, state: State) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, id.clone());
        let started_at = self.now();
        self.children.insert(
            id,
            Child {
                spec,
                seq,
                state,
                attempt: 0,
                started_at,
            },
        );
    }

    fn remove(&mut self, id: &ChildId) {
        if let Some(child) = self.children.remove(id) {
            self.order.remove(&child.seq);
        }
    }

    fn child_mut(&mut self, id: &ChildId) -> &mut Child {
        self.children
            .get_mut(id)
            .expect("the machine only names children it has")
    }

    fn new_incarnation(&mut self) -> Incarnation {
        let incarnation = Incarnation(self.next_incarnation);
        self.next_incarnation += 1;
        incarnation
    }

    fn new_ticket(&mut self) -> TimerId {
        let ticket = TimerId(self.next_ticket);
        self.next_ticket += 1;
        ticket
    }

    fn call(&mut self, call: CallId, request: Request) -> Outcome {
        match self.phase {
            Phase::Created => Err(SupervisorError::NotStarted),
            Phase::Terminated => Ok(vec![Action::Reply {
                call,
                result: Err(CallError::ShuttingDown),
            }]),
            _ => {
                self.queue.push_back(Input::Call(call, request));
                Ok(self.pump())
            }
        }
    }

    fn take_awaited_start(&mut self, incarnation: Incarnation) -> Outcome<Step> {
        let Some(op) = &mut self.op else {
            return Err(SupervisorError::NotWaitingForStart(incarnation));
        };
        match std::mem::replace(&mut op.waiting, Waiting::Nothing) {
            Waiting::Start {
                incarnation: awaited,
                step,
            } if awaited == incarnation => Ok(step),
            other => {
                op.waiting = other;
                Err(SupervisorError::NotWaitingForStart(incarnation))
            }
        }
    }

    fn pump(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.pump_into(&mut out);
        out
    }

    /// Runs the operation under way as far as it goes, then the queued
    /// inputs, until something must be waited for or nothing is left.
    fn pump_into(&mut self, out: &mut Vec<Action>) {
        loop {
            self.advance(out);
            if self.op.is_some() || self.phase == Phase::Terminated {
                return;
            }
            let Some(input) = self.queue.pop_front() else {
                return;
            };
            self.handle(input, out);
        }
    }

    /// Runs steps of the operation until it waits or ends.
    fn advance(&mut self, out: &mut Vec<Action>) {
        loop {
            let Some(op) = &mut self.op else { return };
            if !matches!(op.waiting, Waiting::Nothing) {
                return;
            }
            if let Some(step) = op.steps.pop_front() {
                self.run(step, out);
            } else {
                let op = self.op.take().expect("checked above");
                self.finish(op.end, out);
            }
        }
    }

    fn wait(&mut self, waiting: Waiting) {
        self.op
            .as_mut()
            .expect("steps run inside an operation")
            .waiting = waiting;
    }

    fn run(&mut self, step: Step, out: &mut Vec<Action>) {
        match step {
            Step::Init(_) | Step::StartExisting { .. } | Step::StartNew { .. } => {
                self.issue_start(step, out);
            }
            Step::Restart { ref child, ticket } => {
                let waits = self
                    .children
                    .get(child)
                    .is_some_and(|c| c.state == State::Restarting(ticket));
                if waits {
                    self.issue_start(step, out);
                }
            }
            Step::Stop(id) => {
                if let Some(incarnation) = self.stop(&id, out) {
                    self.wait(Waiting::Stops(HashMap::from([(incarnation, id)])));
                }
            }
            Step::StopTogether(ids) => {
                let mut stops = HashMap::new();
                for id in ids {
                    if let Some(incarnation) = self.stop(&id, out) {
                        stops.insert(incarnation, id);
                    }
                }
                if !stops.is_empty() {
                    self.wait(Waiting::Stops(stops));
                }
            }
            Step::Await {
                members,
                ticket,
                delay,
            } => {
                for id in &members {
                    if let Some(child) = self.children.get_mut(id) {
                        child.state = State::Restarting(ticket);
                    }
                }
                if let Some(after) = delay {
                    self.scheduled.insert(ticket, members);
                    out.push(Action::Schedule {
                        timer: ticket,
                        after,
                    });
                }
            }
            Step::Forget(id) => {
                let idle = self
                    .children
                    .get(&id)
                    .is_some_and(|c| matches!(c.state, State::Restarting(_) | State::Stopped));
                if idle {
                    self.del_child(&id);
                }
            }
        }
    }

    fn issue_start(&mut self, step: Step, out: &mut Vec<Action>) {
        let child = match &step {
            Step::Init(child)
            | Step::StartExisting { child, .. }
            | Step::StartNew { child, .. }
            | Step::Restart { child, .. } => child.clone(),
            Step::Stop(_) | Step::StopTogether(_) | Step::Await { .. } | Step::Forget(_) => {
                unreachable!("only start steps start children")
            }
        };
        let incarnation = self.new_incarnation();
        out.push(Action::Start { child, incarnation });
        self.wait(Waiting::Start { incarnation, step });
    }

    /// Stops `id` if it runs: returns the incarnation to wait for. A child
    /// whose exit is known already counts as stopped at once.
    fn stop(&mut self, id: &ChildId, out: &mut Vec<Action>) -> Option<Incarnation> {
        let child = self.children.get(id)?;
        match child.state {
            State::Running(incarnation) => {
                out.push(Action::Stop {
                    child: id.clone(),
                    incarnation,
                    shutdown: child.spec.shutdown,
                });
                Some(incarnation)
            }
            State::Exited(incarnation) => {
                self.incarnations.remove(&incarnation);
                self.after_stop(id);
                None
            }
            State::Restarting(_) | State::Stopped => None,
        }
    }

    /// A child stopped by the supervisor is forgotten if temporary or
    /// dynamic, and otherwise kept, not running.
    fn after_stop(&mut self, id: &ChildId) {
        self.del_child(id);
    }

    /// OTP's `del_child`: forget a temporary or dynamic child; mark any
    /// other not running.
    fn del_child(&mut self, id: &ChildId) {
        let forget = matches!(id, ChildId::Dynamic(_))
            || self
                .children
                .get(id)
                .is_some_and(|c| c.spec.restart == RestartType::Temporary);
        if forget {
            self.remove(id);
        } else if let Some(child) = self.children.get_mut(id) {
            child.state = State::Stopped;
        }
    }

    fn on_started(&mut self, incarnation: Incarnation, step: Step, out: &mut Vec<Action>) {
        let now = self.now();
        match step {
            Step::StartNew { call, child, spec } => {
                self.add(child.clone(), spec, State::Running(incarnation));
                self.incarnations.insert(incarnation, child.clone());
                out.push(Action::Reply {
                    call,
                    result: Ok(Reply::Started { child, incarnation }),
                });
            }
            Step::Init(child) | Step::Restart { child, .. } => {
                self.mark_running(&child, incarnation, now);
            }
            Step::StartExisting { call, child } => {
                self.mark_running(&child, incarnation, now);
                out.push(Action::Reply {
                    call,
                    result: Ok(Reply::Started { child, incarnation }),
                });
            }
            Step::Stop(_) | Step::StopTogether(_) | Step::Await { .. } | Step::Forget(_) => {
                unreachable!("only start steps wait for a start")
            }
        }
    }

    fn mark_running(&mut self, id: &ChildId, incarnation: Incarnation, now: Duration) {
        let child = self.child_mut(id);
        child.state = State::Running(incarnation);
        child.started_at = now;
        self.incarnations.insert(incarnation, id.clone());
    }

    fn on_start_failed(&mut self, step: Step, reason: String, out: &mut Vec<Action>) {
        match step {
            Step::Init(child) => {
                self.begin_termination(Terminal::Escalate(Escalation::FailedToStart {
                    child,
                    reason,
                }));
            }
            Step::Restart { child, ticket } => {
                // The child waits for a retry; the rest of its group is left
                // stopped until then, as OTP leaves it.
                let retry = self.new_ticket();
                self.child_mut(&child).state = State::Restarting(retry);
                let op = self.op.as_mut().expect("a start runs inside an operation");
                let rest: Vec<Step> = op.steps.drain(..).collect();
                for step in rest {
                    let Step::Restart {
                        child: other,
                        ticket: theirs,
                    } = step
                    else {
                        continue;
                    };
                    if let Some(c) = self.children.get_mut(&other) {
                        if theirs == ticket && c.state == State::Restarting(ticket) {
                            c.state = State::Stopped;
                        }
                    }
                }
                self.queue.push_back(Input::Retry(child, retry));
            }
            Step::StartNew { call, .. } | Step::StartExisting { call, .. } => {
                out.push(Action::Reply {
                    call,
                    result: Err(CallError::StartFailed(reason)),
                });
            }
            Step::Stop(_) | Step::StopTogether(_) | Step::Await { .. } | Step::Forget(_) => {
                unreachable!("only start steps wait for a start")
            }
        }
    }

    fn finish(&mut self, end: End, out: &mut Vec<Action>) {
        match end {
            End::Nothing => {}
            End::Ready => {
                self.phase = Phase::Running;
                out.push(Action::Ready);
            }
            End::Reply(call) => out.push(Action::Reply {
                call,
                result: Ok(Reply::Done),
            }),
            End::Terminate(terminal) => {
                self.phase = Phase::Terminated;
                self.scheduled.clear();
                for input in std::mem::take(&mut self.queue) {
                    if let Input::Call(call, _) = input {
                        out.push(Action::Reply {
                            call,
                            result: Err(CallError::ShuttingDown),
                        });
                    }
                }
                out.push(match terminal {
                    Terminal::Escalate(escalation) => Action::Escalate(escalation),
                    Terminal::Stopped => Action::Stopped,
                });
            }
        }
    }

    /// Takes one queued input; the machine is idle.
    fn handle(&mut self, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Exit(incarnation, reason) => {
                let Some(id) = self.incarnations.get(&incarnation).cloned() else {
                    return;
                };
                let exited = self
                    .children
                    .get(&id)
                    .is_some_and(|c| c.state == State::Exited(incarnation));
                if exited {
                    self.incarnations.remove(&incarnation);
                    self.on_exit(&id, &reason);
                }
            }
            Input::Timer(ticket, members) => {
                // Those still waiting for it: a call or a later restart may
                // have taken some elsewhere.
                let starts: Vec<Step> = members
                    .into_iter()
                    .filter(|id| {
                        self.children
                            .get(id)
                            .is_some_and(|c| c.state == State::Restarting(ticket))
                    })
                    .map(|child| Step::Restart { child, ticket })
                    .collect();
                if !starts.is_empty() {
                    self.op = Some(Op::new(starts, End::Nothing));
                }
            }
            Input::Call(call, request) => self.handle_call(call, request, out),
            Input::Shutdown => self.begin_termination(Terminal::Stopped),
            Input::Retry(id, ticket) => {
                let waits = self
                    .children
                    .get(&id)
                    .is_some_and(|c| c.state == State::Restarting(ticket));
                if waits {
                    self.restart(&id, None);
                }
            }
        }
    }

    /// OTP's `do_restart`: the restart type decides.
    fn on_exit(&mut self, id: &ChildId, reason: &ExitReason) {
        let child = &self.children[id];
        if !child.spec.restart.restarts_after(reason) {
            self.del_child(id);
            return;
        }
        let ran = self.now().saturating_sub(child.started_at);
        self.restart(id, Some(ran));
    }

    /// OTP's `restart`: count the restart against the intensity, then stop
    /// and start again the group the strategy names. `ran` is how long the
    /// child's last run lasted, `None` for a retry after a failed start.
    fn restart(&mut self, id: &ChildId, ran: Option<Duration>) {
        if self.intensity.record_restart().is_err() {
            self.del_child(id);
            self.begin_termination(Terminal::Escalate(Escalation::MaxRestartIntensity {
                child: id.clone(),
            }));
            return;
        }
        let delay = self.backoff_delay(id, ran);
        let ticket = self.new_ticket();
        self.child_mut(id).state = State::Stopped;
        let members: Vec<ChildId> = match self.flags.strategy {
            Strategy::OneForOne | Strategy::SimpleOneForOne => vec![id.clone()],
            Strategy::OneForAll | Strategy::RestForOne => {
                let in_order: Vec<ChildId> = self.order.values().cloned().collect();
                let trigger = in_order
                    .iter()
                    .position(|other| other == id)
                    .expect("the child to restart is one of the children");
                self.flags.strategy.group(&in_order, trigger).to_vec()
            }
        };
        let mut steps: Vec<Step> = members.iter().rev().cloned().map(Step::Stop).collect();
        let starts: Vec<Step> = if delay.is_none() {
            members
                .iter()
                .map(|child| Step::Restart {
                    child: child.clone(),
                    ticket,
                })
                .collect()
        } else {
            Vec::new()
        };
        steps.push(Step::Await {
            members,
            ticket,
            delay,
        });
        steps.extend(starts);
        self.op = Some(Op::new(steps, End::Nothing));
    }

    /// The backoff before restarting `id`, if the supervisor has one.
    fn backoff_delay(&mut self, id: &ChildId, ran: Option<Duration>) -> Option<Duration> {
        let backoff = self.flags.backoff.as_ref()?;
        let child = self
            .children
            .get_mut(id)
            .expect("the child to restart is one of the children");
        if ran.is_some_and(|ran| ran >= backoff.reset_after()) {
            child.attempt = 0;
        }
        let delay = backoff.delay(child.attempt, &mut *self.random);
        child.attempt = child.attempt.saturating_add(1);
        Some(delay)
    }

    /// Stop every child (in reverse start order; a `simple_one_for_one`
    /// supervisor's all at once), then end as `terminal` says. Replaces the
    /// operation under way, if any (a failed start while starting).
    fn begin_termination(&mut self, terminal: Terminal) {
        self.phase = Phase::Terminating;
        let ids: Vec<ChildId> = self.order.values().rev().cloned().collect();
        let steps = if self.is_simple() {
            vec![Step::StopTogether(ids)]
        } else {
            ids.into_iter().map(Step::Stop).collect()
        };
        self.op = Some(Op::new(steps, End::Terminate(terminal)));
    }

    fn reply(out: &mut Vec<Action>, call: CallId, result: Result<Reply, CallError>) {
        out.push(Action::Reply { call, result });
    }

    fn handle_call(&mut self, call: CallId, request: Request, out: &mut Vec<Action>) {
        let simple = self.is_simple();
        match request {
            Request::Start(spec) => {
                let id = ChildId::Named(spec.id.clone());
                match self.children.get(&id).map(|c| c.state) {
                    Some(State::Running(incarnation) | State::Exited(incarnation)) => {
                        Self::reply(out, call, Err(CallError::AlreadyStarted(incarnation)));
                    }
                    Some(_) => Self::reply(out, call, Err(CallError::AlreadyPresent)),
                    None => {
                        let step = Step::StartNew {
                            call,
                            child: id,
                            spec: Arc::new(spec),
                        };
                        self.op = Some(Op::new([step], End::Nothing));
                    }
                }
            }
            Request::StartDynamic(number) => {
                let spec = Arc::clone(
                    self.template
                        .as_ref()
                        .expect("a simple_one_for_one supervisor has a template"),
                );
                let step = Step::StartNew {
                    call,
                    child: ChildId::Dynamic(number),
                    spec,
                };
                self.op = Some(Op::new([step], End::Nothing));
            }
            Request::Terminate(id) => {
                if simple && matches!(id, ChildId::Named(_)) {
                    Self::reply(out, call, Err(CallError::SimpleOneForOne));
                } else if self.children.contains_key(&id) {
                    let steps = [Step::Stop(id.clone()), Step::Forget(id)];
                    self.op = Some(Op::new(steps, End::Reply(call)));
                } else if matches!(id, ChildId::Dynamic(n) if simple && n < self.next_dynamic) {
                    // Gone already, as OTP answers for a dead pid.
                    Self::reply(out, call, Ok(Reply::Done));
                } else {
                    Self::reply(out, call, Err(CallError::NotFound));
                }
            }
            Request::Restart(id) => {
                let result = self.idle_child(simple, &id);
                match result {
                    Ok(()) => {
                        let step = Step::StartExisting { call, child: id };
                        self.op = Some(Op::new([step], End::Nothing));
                    }
                    Err(err) => Self::reply(out, call, Err(err)),
                }
            }
            Request::Delete(id) => {
                let result = self.idle_child(simple, &id);
                if result.is_ok() {
                    self.remove(&id);
                }
                Self::reply(out, call, result.map(|()| Reply::Done));
            }
        }
    }

    /// Whether `id` names a child that exists and is not running, as
    /// `restart_child` and `delete_child` need.
    fn idle_child(&self, simple: bool, id: &ChildId) -> Result<(), CallError> {
        if simple {
            return Err(CallError::SimpleOneForOne);
        }
        match self.children.get(id).map(|c| c.state) {
            None => Err(CallError::NotFound),
            Some(State::Running(_) | State::Exited(_)) => Err(CallError::Running),
            Some(State::Restarting(_)) => Err(CallError::Restarting),
            Some(State::Stopped) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Cases follow OTP's `supervisor_SUITE` where one applies (its name is
    //! in the comment), with a fake clock and a driver played by the test.

    use super::*;
    use crate::supervision::intensity::FakeClock;

    const SECOND: Duration = Duration::from_secs(1);

    fn named(id: &str) -> ChildId {
        ChildId::Named(id.to_owned())
    }

    fn crash() -> ExitReason {
        ExitReason::Failure("crashed".into())
    }

    fn worker(id: &str) -> ChildSpec {
        ChildSpec::worker(id)
    }

    /// Flags generous enough that intensity plays no part unless a test
    /// says so (OTP's suite uses 2 restarts in 3600 s for the same reason).
    fn lenient(strategy: Strategy) -> Flags {
        Flags {
            strategy,
            max_restarts: 100,
            within: Duration::from_secs(3600),
            backoff: None,
        }
    }

    fn backoff(min_ms: u64, max_ms: u64) -> Backoff {
        Backoff::new(
            Duration::from_millis(min_ms),
            Duration::from_millis(max_ms),
            0.0,
        )
        .unwrap()
    }

    fn make(flags: Flags, specs: Vec<ChildSpec>) -> (Supervisor, Arc<FakeClock>) {
        let clock = Arc::new(FakeClock::default());
        let supervisor = Supervisor::new(flags, specs, Arc::clone(&clock), || 0.0).unwrap();
        (supervisor, clock)
    }

    /// Makes the supervisor and starts it with every start succeeding.
    fn boot(flags: Flags, specs: Vec<ChildSpec>) -> (Supervisor, Arc<FakeClock>) {
        let (mut supervisor, clock) = make(flags, specs);
        let first = supervisor.start().unwrap();
        let log = carry_out(first, &mut supervisor);
        assert_eq!(log.last(), Some(&Action::Ready));
        (supervisor, clock)
    }

    /// An obliging driver: every start succeeds, every stop ends in a
    /// shutdown exit. Returns every action, `first` included, in order.
    fn carry_out(first: Vec<Action>, supervisor: &mut Supervisor) -> Vec<Action> {
        let mut log = Vec::new();
        let mut pending: VecDeque<Action> = first.into();
        while let Some(action) = pending.pop_front() {
            let more = match &action {
                Action::Start { incarnation, .. } => supervisor.started(*incarnation).unwrap(),
                Action::Stop { incarnation, .. } => supervisor
                    .exited(*incarnation, ExitReason::Shutdown)
                    .unwrap(),
                _ => Vec::new(),
            };
            log.push(action);
            pending.extend(more);
        }
        log
    }

    fn name(id: &ChildId) -> String {
        match id {
            ChildId::Named(id) => id.clone(),
            ChildId::Dynamic(number) => format!("#{number}"),
        }
    }

    /// The actions, one short line each, for comparing sequences.
    fn show(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|action| match action {
                Action::Start { child, .. } => format!("start {}", name(child)),
                Action::Stop { child, .. } => format!("stop {}", name(child)),
                Action::Schedule { after, .. } => format!("schedule {}ms", after.as_millis()),
                Action::Reply { call, result } => match result {
                    Ok(Reply::Done) => format!("reply {} ok", call.0),
                    Ok(Reply::Started { child, .. }) => {
                        format!("reply {} started {}", call.0, name(child))
                    }
                    Err(err) => format!("reply {} {}", call.0, err.code()),
                },
                Action::Ready => "ready".to_owned(),
                Action::Escalate(why) => format!("escalate {} {}", why.code(), name(why.child())),
                Action::Stopped => "stopped".to_owned(),
            })
            .collect()
    }

    /// `which_children` as (id, "running" | "restarting" | "undefined").
    fn statuses(supervisor: &Supervisor) -> Vec<(String, &'static str)> {
        supervisor
            .which_children()
            .iter()
            .map(|info| {
                let status = match info.status {
                    ChildStatus::Running(_) => "running",
                    ChildStatus::Restarting => "restarting",
                    ChildStatus::Undefined => "undefined",
                };
                (name(&info.id), status)
            })
            .collect()
    }

    fn pairs(expected: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        expected
            .iter()
            .map(|(id, status)| ((*id).to_owned(), *status))
            .collect()
    }

    /// `count_children` as OTP's suite writes it: [specs, active,
    /// supervisors, workers].
    fn counts(supervisor: &Supervisor) -> [usize; 4] {
        let c = supervisor.count_children();
        [c.specs, c.active, c.supervisors, c.workers]
    }

    /// The running incarnation of `id`.
    fn incarnation(supervisor: &Supervisor, id: &ChildId) -> Incarnation {
        supervisor
            .which_children()
            .into_iter()
            .find(|info| &info.id == id)
            .and_then(|info| match info.status {
                ChildStatus::Running(incarnation) => Some(incarnation),
                ChildStatus::Restarting | ChildStatus::Undefined => None,
            })
            .unwrap_or_else(|| panic!("{id} is not running"))
    }

    fn started_incarnation(actions: &[Action]) -> Incarnation {
        match actions.last() {
            Some(Action::Start { incarnation, .. }) => *incarnation,
            other => panic!("expected a start last, got {other:?}"),
        }
    }

    /// Crashes `id` and lets the obliging driver carry out what follows.
    fn crash_and_carry_out(id: &str, supervisor: &mut Supervisor) -> Vec<String> {
        let running = incarnation(supervisor, &named(id));
        let first = supervisor.exited(running, crash()).unwrap();
        show(&carry_out(first, supervisor))
    }

    // ----- starting and stopping the supervisor -----

    #[test]
    fn children_start_in_spec_order_then_the_supervisor_is_ready() {
        // order_of_children
        let (mut supervisor, _) = make(
            lenient(Strategy::RestForOne),
            ["ch7", "ch3", "ch10", "ch2", "ch5"].map(worker).to_vec(),
        );
        assert_eq!(supervisor.phase(), Phase::Created);
        let first = supervisor.start().unwrap();
        assert_eq!(show(&first), ["start ch7"]);
        assert_eq!(supervisor.phase(), Phase::Starting);
        let log = carry_out(first, &mut supervisor);
        assert_eq!(
            show(&log),
            [
                "start ch7",
                "start ch3",
                "start ch10",
                "start ch2",
                "start ch5",
                "ready"
            ]
        );
        assert_eq!(supervisor.phase(), Phase::Running);
    }

    #[test]
    fn a_supervisor_without_children_is_ready_at_once() {
        // sup_start_normal
        let (mut supervisor, _) = make(Flags::default(), Vec::new());
        assert_eq!(supervisor.start().unwrap(), [Action::Ready]);
        assert_eq!(supervisor.shutdown().unwrap(), [Action::Stopped]);
        assert_eq!(supervisor.phase(), Phase::Terminated);
    }

    #[test]
    fn shutdown_stops_children_in_reverse_start_order_one_at_a_time() {
        // order_of_children, sup_stop_*
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b", "c"].map(worker).to_vec(),
        );
        let first = supervisor.shutdown().unwrap();
        assert_eq!(show(&first), ["stop c"], "one stop at a time");
        assert_eq!(supervisor.phase(), Phase::Terminating);
        let log = carry_out(first, &mut supervisor);
        assert_eq!(show(&log), ["stop c", "stop b", "stop a", "stopped"]);
        assert_eq!(supervisor.phase(), Phase::Terminated);
    }

    #[test]
    fn each_stop_carries_the_childs_shutdown_with_otps_defaults() {
        // sup_start_map, sup_stop_infinity, sup_stop_timeout, sup_stop_brutal_kill
        let specs = vec![
            worker("timeout"),
            ChildSpec::supervisor("sup"),
            worker("brutal").with_shutdown(Shutdown::BrutalKill),
            worker("forever").with_shutdown(Shutdown::Infinity),
        ];
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), specs);
        let log = carry_out(supervisor.shutdown().unwrap(), &mut supervisor);
        let shutdowns: Vec<(String, Shutdown)> = log
            .iter()
            .filter_map(|action| match action {
                Action::Stop {
                    child, shutdown, ..
                } => Some((name(child), *shutdown)),
                _ => None,
            })
            .collect();
        assert_eq!(
            shutdowns,
            [
                ("forever".to_owned(), Shutdown::Infinity),
                ("brutal".to_owned(), Shutdown::BrutalKill),
                ("sup".to_owned(), Shutdown::Infinity),
                (
                    "timeout".to_owned(),
                    Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN)
                ),
            ]
        );
        assert_eq!(DEFAULT_WORKER_SHUTDOWN, Duration::from_secs(5));
    }

    #[test]
    fn a_child_that_fails_to_start_stops_those_before_it_and_fails_the_supervisor() {
        // sup_start_fail, faulty_application_shutdown
        let (mut supervisor, _) = make(
            lenient(Strategy::OneForOne),
            ["a", "b", "c", "d"].map(worker).to_vec(),
        );
        let mut log = supervisor.start().unwrap();
        let more = supervisor.started(started_incarnation(&log)).unwrap();
        log.extend(more);
        let more = supervisor.started(started_incarnation(&log)).unwrap();
        log.extend(more);
        let more = supervisor
            .start_failed(started_incarnation(&log), "no database")
            .unwrap();
        log.extend(more);
        assert_eq!(
            show(&log),
            ["start a", "start b", "start c", "stop b"],
            "c failed: b and a stop, newest first; d never starts"
        );
        let log = carry_out(log.split_off(3), &mut supervisor);
        assert_eq!(
            show(&log),
            ["stop b", "stop a", "escalate failed_to_start_child c"]
        );
        assert_eq!(
            log.last(),
            Some(&Action::Escalate(Escalation::FailedToStart {
                child: named("c"),
                reason: "no database".into()
            }))
        );
        assert_eq!(supervisor.phase(), Phase::Terminated);
    }

    #[test]
    fn a_simple_one_for_one_supervisor_stops_its_children_all_at_once() {
        // simple_one_for_one_shutdown
        let (mut supervisor, _) =
            boot(lenient(Strategy::SimpleOneForOne), vec![worker("template")]);
        for call in 0..3 {
            let (_, actions) = supervisor.start_dynamic_child(CallId(call)).unwrap();
            carry_out(actions, &mut supervisor);
        }
        let stops = supervisor.shutdown().unwrap();
        assert_eq!(show(&stops), ["stop #2", "stop #1", "stop #0"]);
        let incarnations: Vec<Incarnation> = stops
            .iter()
            .map(|action| match action {
                Action::Stop { incarnation, .. } => *incarnation,
                other => panic!("{other:?}"),
            })
            .collect();
        // In any order; the supervisor ends after the last.
        assert!(
            supervisor
                .exited(incarnations[1], ExitReason::Shutdown)
                .unwrap()
                .is_empty()
        );
        assert!(
            supervisor
                .exited(incarnations[2], ExitReason::Shutdown)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            supervisor
                .exited(incarnations[0], ExitReason::Shutdown)
                .unwrap(),
            [Action::Stopped]
        );
    }

    // ----- restart types -----

    #[test]
    fn a_permanent_child_is_restarted_after_any_exit() {
        // permanent_normal, permanent_shutdown, permanent_abnormal
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("a")]);
        for reason in [ExitReason::Normal, ExitReason::Shutdown, crash()] {
            let before = incarnation(&supervisor, &named("a"));
            let log = carry_out(supervisor.exited(before, reason).unwrap(), &mut supervisor);
            assert_eq!(show(&log), ["start a"]);
            assert_ne!(incarnation(&supervisor, &named("a")), before);
            assert_eq!(counts(&supervisor), [1, 1, 0, 1]);
        }
    }

    #[test]
    fn a_transient_child_is_restarted_only_after_an_abnormal_exit() {
        // transient_normal, transient_shutdown, transient_abnormal
        let spec = worker("a").with_restart(RestartType::Transient);
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![spec]);
        let log = crash_and_carry_out("a", &mut supervisor);
        assert_eq!(log, ["start a"]);
        for (call, reason) in [(1, ExitReason::Normal), (2, ExitReason::Shutdown)] {
            let running = incarnation(&supervisor, &named("a"));
            assert!(supervisor.exited(running, reason).unwrap().is_empty());
            assert_eq!(statuses(&supervisor), pairs(&[("a", "undefined")]));
            assert_eq!(counts(&supervisor), [1, 0, 0, 1]);
            let log = carry_out(
                supervisor.restart_child(CallId(call), named("a")).unwrap(),
                &mut supervisor,
            );
            assert_eq!(
                show(&log),
                ["start a".to_owned(), format!("reply {call} started a")]
            );
        }
    }

    #[test]
    fn a_temporary_child_is_forgotten_whatever_its_exit() {
        // temporary_normal, temporary_shutdown, temporary_abnormal,
        // do_not_save_child_specs_for_temporary_children
        for reason in [ExitReason::Normal, ExitReason::Shutdown, crash()] {
            let spec = worker("a").with_restart(RestartType::Temporary);
            let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![spec.clone()]);
            let running = incarnation(&supervisor, &named("a"));
            assert!(supervisor.exited(running, reason).unwrap().is_empty());
            assert!(supervisor.which_children().is_empty());
            assert_eq!(counts(&supervisor), [0, 0, 0, 0]);
            // Its spec is gone, so the same id starts afresh.
            let log = carry_out(
                supervisor.start_child(CallId(1), spec).unwrap(),
                &mut supervisor,
            );
            assert_eq!(show(&log), ["start a", "reply 1 started a"]);
        }
    }

    #[test]
    fn a_temporary_bystander_is_stopped_and_forgotten_by_a_siblings_restart() {
        // temporary_bystander
        for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
            let specs = vec![
                worker("child1"),
                worker("child2").with_restart(RestartType::Temporary),
            ];
            let (mut supervisor, _) = boot(lenient(strategy), specs);
            let running = incarnation(&supervisor, &named("child1"));
            let first = supervisor.exited(running, ExitReason::Normal).unwrap();
            let log = carry_out(first, &mut supervisor);
            assert_eq!(show(&log), ["stop child2", "start child1"], "{strategy}");
            assert_eq!(statuses(&supervisor), pairs(&[("child1", "running")]));
        }
    }

    #[test]
    fn exits_that_restart_nothing_do_not_count_against_the_intensity() {
        let spec = worker("a").with_restart(RestartType::Transient);
        let (mut supervisor, _) = boot(Flags::default(), vec![spec]);
        for call in 0..5 {
            let running = incarnation(&supervisor, &named("a"));
            assert!(
                supervisor
                    .exited(running, ExitReason::Normal)
                    .unwrap()
                    .is_empty()
            );
            carry_out(
                supervisor.restart_child(CallId(call), named("a")).unwrap(),
                &mut supervisor,
            );
        }
        assert_eq!(crash_and_carry_out("a", &mut supervisor), ["start a"]);
    }

    // ----- strategies -----

    #[test]
    fn one_for_one_restarts_only_the_child_that_exited() {
        // one_for_one
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b", "c"].map(worker).to_vec(),
        );
        let b_before = incarnation(&supervisor, &named("b"));
        assert_eq!(crash_and_carry_out("a", &mut supervisor), ["start a"]);
        assert_eq!(incarnation(&supervisor, &named("b")), b_before);
        assert_eq!(counts(&supervisor), [3, 3, 0, 3]);
    }

    #[test]
    fn one_for_all_stops_the_others_newest_first_then_starts_all_in_order() {
        // one_for_all
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForAll),
            ["a", "b", "c"].map(worker).to_vec(),
        );
        let before: Vec<Incarnation> = ["a", "b", "c"]
            .iter()
            .map(|id| incarnation(&supervisor, &named(id)))
            .collect();
        assert_eq!(
            crash_and_carry_out("b", &mut supervisor),
            ["stop c", "stop a", "start a", "start b", "start c"]
        );
        for (id, old) in ["a", "b", "c"].iter().zip(before) {
            assert_ne!(incarnation(&supervisor, &named(id)), old, "{id}");
        }
    }

    #[test]
    fn rest_for_one_restarts_the_child_and_those_started_after_it() {
        // rest_for_one, order_of_children
        let (mut supervisor, _) = boot(
            lenient(Strategy::RestForOne),
            ["ch7", "ch3", "ch10", "ch2", "ch5"].map(worker).to_vec(),
        );
        let first = incarnation(&supervisor, &named("ch7"));
        assert_eq!(
            crash_and_carry_out("ch10", &mut supervisor),
            [
                "stop ch5",
                "stop ch2",
                "start ch10",
                "start ch2",
                "start ch5"
            ]
        );
        assert_eq!(incarnation(&supervisor, &named("ch7")), first);
        assert_eq!(crash_and_carry_out("ch5", &mut supervisor), ["start ch5"]);
    }

    #[test]
    fn a_group_restart_starts_children_that_were_not_running_as_otp_does() {
        let specs = vec![
            worker("a"),
            worker("b").with_restart(RestartType::Transient),
            worker("c"),
        ];
        let (mut supervisor, _) = boot(lenient(Strategy::OneForAll), specs);
        let b = incarnation(&supervisor, &named("b"));
        supervisor.exited(b, ExitReason::Normal).unwrap();
        assert_eq!(
            statuses(&supervisor),
            pairs(&[("a", "running"), ("b", "undefined"), ("c", "running")])
        );
        assert_eq!(
            crash_and_carry_out("c", &mut supervisor),
            ["stop a", "start a", "start b", "start c"]
        );
    }

    #[test]
    fn a_group_restart_counts_once_against_the_intensity() {
        // one_for_all with intensity 1: one crash restarts three children.
        let flags = Flags {
            strategy: Strategy::OneForAll,
            ..Flags::default()
        };
        let (mut supervisor, _) = boot(flags, ["a", "b", "c"].map(worker).to_vec());
        assert_eq!(
            crash_and_carry_out("a", &mut supervisor),
            ["stop c", "stop b", "start a", "start b", "start c"]
        );
        assert_eq!(
            crash_and_carry_out("a", &mut supervisor),
            [
                "stop c",
                "stop b",
                "escalate reached_max_restart_intensity a"
            ]
        );
    }

    // ----- intensity and escalation -----

    #[test]
    fn exceeding_the_intensity_stops_every_child_newest_first_and_escalates() {
        // one_for_one_escalation, rest_for_one_escalation, one_for_one
        for strategy in [Strategy::OneForOne, Strategy::RestForOne] {
            let flags = Flags {
                strategy,
                ..Flags::default()
            };
            let (mut supervisor, clock) = boot(flags, ["a", "b", "c"].map(worker).to_vec());
            crash_and_carry_out("c", &mut supervisor);
            clock.advance(SECOND);
            let log = crash_and_carry_out("a", &mut supervisor);
            let expected = [
                "stop c",
                "stop b",
                "escalate reached_max_restart_intensity a",
            ];
            assert_eq!(log, expected, "{strategy}");
            assert_eq!(supervisor.phase(), Phase::Terminated);
        }
    }

    #[test]
    fn restarts_spread_wider_than_the_window_never_escalate() {
        // multiple_restarts
        let flags = Flags {
            max_restarts: 1,
            within: SECOND,
            ..Flags::default()
        };
        let (mut supervisor, clock) = boot(flags, vec![worker("child1")]);
        for _ in 0..4 {
            assert_eq!(
                crash_and_carry_out("child1", &mut supervisor),
                ["start child1"]
            );
            clock.advance(Duration::from_millis(2100));
        }
        assert_eq!(supervisor.phase(), Phase::Running);
    }

    #[test]
    fn zero_max_restarts_escalates_on_the_first_restart() {
        let flags = Flags {
            max_restarts: 0,
            ..Flags::default()
        };
        let (mut supervisor, _) = boot(flags, vec![worker("a")]);
        assert_eq!(
            crash_and_carry_out("a", &mut supervisor),
            ["escalate reached_max_restart_intensity a"]
        );
    }

    #[test]
    fn a_simple_one_for_one_supervisor_escalates_with_its_children_stopped() {
        // simple_one_for_one, simple_one_for_one_escalation
        let flags = Flags {
            strategy: Strategy::SimpleOneForOne,
            ..Flags::default()
        };
        let (mut supervisor, _) = boot(flags, vec![worker("child")]);
        for call in 0..2 {
            let (_, actions) = supervisor.start_dynamic_child(CallId(call)).unwrap();
            carry_out(actions, &mut supervisor);
        }
        let first = incarnation(&supervisor, &ChildId::Dynamic(0));
        let log = carry_out(supervisor.exited(first, crash()).unwrap(), &mut supervisor);
        assert_eq!(show(&log), ["start #0"]);
        assert_eq!(counts(&supervisor), [1, 2, 0, 2]);
        let again = incarnation(&supervisor, &ChildId::Dynamic(0));
        let log = carry_out(supervisor.exited(again, crash()).unwrap(), &mut supervisor);
        assert_eq!(
            show(&log),
            ["stop #1", "escalate reached_max_restart_intensity #0"]
        );
    }

    // ----- restarts that fail to start -----

    #[test]
    fn a_failed_restart_is_retried_and_each_retry_counts_as_a_restart() {
        // one_for_all_escalation, rest_for_one_escalation: a child that
        // cannot start exhausts the intensity.
        let flags = Flags {
            max_restarts: 2,
            ..Flags::default()
        };
        let (mut supervisor, _) = boot(flags, ["a", "b"].map(worker).to_vec());
        let b = incarnation(&supervisor, &named("b"));
        let attempt = supervisor.exited(b, crash()).unwrap();
        assert_eq!(show(&attempt), ["start b"]);
        let retry = supervisor
            .start_failed(started_incarnation(&attempt), "still broken")
            .unwrap();
        assert_eq!(show(&retry), ["start b"], "the second restart");
        assert_eq!(
            statuses(&supervisor),
            pairs(&[("a", "running"), ("b", "restarting")])
        );
        let last = supervisor
            .start_failed(started_incarnation(&retry), "still broken")
            .unwrap();
        assert_eq!(
            show(&last),
            ["stop a"],
            "a third restart within the window exceeds 2"
        );
        let log = carry_out(last, &mut supervisor);
        assert_eq!(
            show(&log),
            ["stop a", "escalate reached_max_restart_intensity b"]
        );
    }

    #[test]
    fn a_retry_waits_behind_the_events_queued_before_it() {
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let b = incarnation(&supervisor, &named("b"));
        let attempt = supervisor.exited(a, crash()).unwrap();
        // b crashes while a's restart is under way: queued.
        assert!(supervisor.exited(b, crash()).unwrap().is_empty());
        let next = supervisor
            .start_failed(started_incarnation(&attempt), "nope")
            .unwrap();
        assert_eq!(show(&next), ["start b"], "b's exit was queued first");
        let next = supervisor.started(started_incarnation(&next)).unwrap();
        assert_eq!(show(&next), ["start a"], "then a's retry");
    }

    #[test]
    fn a_restarting_child_refuses_restart_and_delete_but_can_be_terminated() {
        // hanging_restart_loop
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("child1")]);
        let running = incarnation(&supervisor, &named("child1"));
        let attempt = supervisor.exited(running, crash()).unwrap();
        let retry = supervisor
            .start_failed(started_incarnation(&attempt), "fail_start")
            .unwrap();
        assert_eq!(show(&retry), ["start child1"]);
        assert_eq!(statuses(&supervisor), pairs(&[("child1", "restarting")]));
        assert_eq!(counts(&supervisor), [1, 0, 0, 1]);
        // Calls queue behind the retry under way.
        let mut log = Vec::new();
        log.extend(supervisor.start_child(CallId(1), worker("child1")).unwrap());
        log.extend(
            supervisor
                .restart_child(CallId(2), named("child1"))
                .unwrap(),
        );
        log.extend(supervisor.delete_child(CallId(3), named("child1")).unwrap());
        log.extend(
            supervisor
                .terminate_child(CallId(4), named("child1"))
                .unwrap(),
        );
        assert!(log.is_empty());
        let log = supervisor
            .start_failed(started_incarnation(&retry), "fail_start")
            .unwrap();
        assert_eq!(
            show(&log),
            [
                "reply 1 already_present",
                "reply 2 restarting",
                "reply 3 restarting",
                "reply 4 ok"
            ],
            "and the retry queued after them finds the child terminated"
        );
        assert_eq!(statuses(&supervisor), pairs(&[("child1", "undefined")]));
        let log = carry_out(
            supervisor
                .restart_child(CallId(5), named("child1"))
                .unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["start child1", "reply 5 started child1"]);
    }

    #[test]
    fn in_rest_for_one_the_children_after_a_failed_restart_stay_undefined() {
        // hanging_restart_loop_rest_for_one, rest_for_one_other_child_fails_restart
        let (mut supervisor, _) = boot(
            lenient(Strategy::RestForOne),
            ["child1", "child2", "child3"].map(worker).to_vec(),
        );
        let running = incarnation(&supervisor, &named("child2"));
        let stop = supervisor.exited(running, crash()).unwrap();
        let attempt = drive_stops(&mut supervisor, stop);
        assert_eq!(show(&attempt), ["start child2"]);
        let retry = supervisor
            .start_failed(started_incarnation(&attempt), "fail_start")
            .unwrap();
        assert_eq!(show(&retry), ["start child2"], "child1 is left alone");
        let mut log = Vec::new();
        log.extend(
            supervisor
                .restart_child(CallId(1), named("child2"))
                .unwrap(),
        );
        log.extend(
            supervisor
                .terminate_child(CallId(2), named("child2"))
                .unwrap(),
        );
        log.extend(
            supervisor
                .start_failed(started_incarnation(&retry), "fail_start")
                .unwrap(),
        );
        assert_eq!(show(&log), ["reply 1 restarting", "reply 2 ok"]);
        assert_eq!(
            statuses(&supervisor),
            pairs(&[
                ("child1", "running"),
                ("child2", "undefined"),
                ("child3", "undefined")
            ])
        );
        assert_eq!(counts(&supervisor), [3, 1, 0, 3]);
    }

    /// Answers the stops among `actions` and returns what follows them.
    fn drive_stops(supervisor: &mut Supervisor, actions: Vec<Action>) -> Vec<Action> {
        let mut next = Vec::new();
        for action in actions {
            match action {
                Action::Stop { incarnation, .. } => {
                    next = supervisor
                        .exited(incarnation, ExitReason::Shutdown)
                        .unwrap();
                }
                other => next.push(other),
            }
        }
        if next.iter().any(|a| matches!(a, Action::Stop { .. })) {
            drive_stops(supervisor, next)
        } else {
            next
        }
    }

    #[test]
    fn in_one_for_all_a_sibling_failing_to_restart_takes_the_restarted_ones_down_again() {
        // one_for_all_other_child_fails_restart
        let flags = Flags {
            strategy: Strategy::OneForAll,
            max_restarts: 3,
            within: Duration::from_secs(3600),
            backoff: None,
        };
        let (mut supervisor, _) = boot(flags, ["child1", "child2"].map(worker).to_vec());
        let running = incarnation(&supervisor, &named("child1"));
        let stops = supervisor.exited(running, crash()).unwrap();
        let start1 = drive_stops(&mut supervisor, stops);
        assert_eq!(show(&start1), ["start child1"]);
        let start2 = supervisor.started(started_incarnation(&start1)).unwrap();
        assert_eq!(show(&start2), ["start child2"]);
        let log = supervisor
            .start_failed(started_incarnation(&start2), "normal")
            .unwrap();
        assert_eq!(
            show(&log),
            ["stop child1"],
            "the restarted child1 is stopped"
        );
        let log = carry_out(log, &mut supervisor);
        assert_eq!(show(&log), ["stop child1", "start child1", "start child2"]);
    }

    #[test]
    fn a_dynamic_child_failing_to_restart_shows_as_restarting_until_terminated() {
        // hanging_restart_loop_simple, count_restarting_children
        let (mut supervisor, _) = boot(
            lenient(Strategy::SimpleOneForOne),
            vec![worker("child1").with_shutdown(Shutdown::BrutalKill)],
        );
        let (id, actions) = supervisor.start_dynamic_child(CallId(1)).unwrap();
        carry_out(actions, &mut supervisor);
        let running = incarnation(&supervisor, &id);
        let attempt = supervisor.exited(running, crash()).unwrap();
        let retry = supervisor
            .start_failed(started_incarnation(&attempt), "fail_start")
            .unwrap();
        assert_eq!(show(&retry), ["start #0"]);
        assert_eq!(statuses(&supervisor), pairs(&[("#0", "restarting")]));
        assert_eq!(counts(&supervisor), [1, 0, 0, 1]);
        assert!(
            supervisor
                .restart_child(CallId(2), named("child1"))
                .unwrap()
                .is_empty()
        );
        assert!(
            supervisor
                .terminate_child(CallId(3), id)
                .unwrap()
                .is_empty()
        );
        let log = supervisor
            .start_failed(started_incarnation(&retry), "fail_start")
            .unwrap();
        assert_eq!(show(&log), ["reply 2 simple_one_for_one", "reply 3 ok"]);
        assert!(supervisor.which_children().is_empty());
        assert_eq!(counts(&supervisor), [1, 0, 0, 0]);
    }

    // ----- the API -----

    #[test]
    fn child_administration_answers_as_otp_does() {
        // child_adm, extra_return
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("child1")]);
        assert_eq!(counts(&supervisor), [1, 1, 0, 1]);
        let cpid = incarnation(&supervisor, &named("child1"));
        let mut call = 0;
        let mut ask = |supervisor: &mut Supervisor, request: &str| {
            call += 1;
            let id = CallId(call);
            let actions = match request {
                "start" => supervisor.start_child(id, worker("child1")),
                "terminate hej" => supervisor.terminate_child(id, named("hej")),
                "terminate" => supervisor.terminate_child(id, named("child1")),
                "restart" => supervisor.restart_child(id, named("child1")),
                "restart child2" => supervisor.restart_child(id, named("child2")),
                "delete" => supervisor.delete_child(id, named("child1")),
                "delete hej" => supervisor.delete_child(id, named("hej")),
                "terminate dynamic" => supervisor.terminate_child(id, ChildId::Dynamic(0)),
                other => panic!("{other}"),
            }
            .unwrap();
            let log = show(&carry_out(actions, supervisor));
            let reply = log.last().unwrap().clone();
            let prefix = format!("reply {call} ");
            reply.strip_prefix(&prefix).unwrap().to_owned()
        };
        assert_eq!(ask(&mut supervisor, "start"), "already_started");
        match &supervisor
            .start_child(CallId(99), worker("child1"))
            .unwrap()[..]
        {
            [Action::Reply { result, .. }] => {
                assert_eq!(result, &Err(CallError::AlreadyStarted(cpid)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ask(&mut supervisor, "terminate hej"), "not_found");
        assert_eq!(ask(&mut supervisor, "terminate"), "ok");
        assert_eq!(statuses(&supervisor), pairs(&[("child1", "undefined")]));
        assert_eq!(counts(&supervisor), [1, 0, 0, 1]);
        assert_eq!(
            ask(&mut supervisor, "terminate"),
            "ok",
            "terminating twice is fine"
        );
        assert_eq!(ask(&mut supervisor, "start"), "already_present");
        assert_eq!(ask(&mut supervisor, "restart"), "started child1");
        assert_eq!(counts(&supervisor), [1, 1, 0, 1]);
        assert_eq!(ask(&mut supervisor, "restart"), "running");
        assert_eq!(ask(&mut supervisor, "restart child2"), "not_found");
        assert_eq!(ask(&mut supervisor, "delete"), "running");
        assert_eq!(ask(&mut supervisor, "delete hej"), "not_found");
        assert_eq!(ask(&mut supervisor, "terminate"), "ok");
        assert_eq!(ask(&mut supervisor, "delete"), "ok");
        assert_eq!(ask(&mut supervisor, "restart"), "not_found");
        assert!(supervisor.which_children().is_empty());
        assert_eq!(counts(&supervisor), [0, 0, 0, 0]);
        assert_eq!(ask(&mut supervisor, "start"), "started child1");
        assert_eq!(counts(&supervisor), [1, 1, 0, 1]);
        assert_eq!(
            ask(&mut supervisor, "terminate dynamic"),
            "not_found",
            "a named supervisor has no dynamic children"
        );
    }

    #[test]
    fn the_stop_of_terminate_child_waits_for_the_exit_before_replying() {
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("a")]);
        let stop = supervisor.terminate_child(CallId(7), named("a")).unwrap();
        assert_eq!(show(&stop), ["stop a"]);
        let running = incarnation(&supervisor, &named("a"));
        let reply = supervisor.exited(running, ExitReason::Shutdown).unwrap();
        assert_eq!(show(&reply), ["reply 7 ok"]);
    }

    #[test]
    fn a_child_that_fails_to_start_from_start_child_is_not_kept() {
        // sup_start_child_returns_error
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), Vec::new());
        let start = supervisor.start_child(CallId(1), worker("child1")).unwrap();
        let reply = supervisor
            .start_failed(started_incarnation(&start), "reason")
            .unwrap();
        assert_eq!(
            reply,
            [Action::Reply {
                call: CallId(1),
                result: Err(CallError::StartFailed("reason".into()))
            }]
        );
        assert!(supervisor.which_children().is_empty());
    }

    #[test]
    fn a_child_that_fails_to_start_from_restart_child_stays_undefined() {
        // sup_start_restart_child_returns_error
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("child1")]);
        carry_out(
            supervisor
                .terminate_child(CallId(1), named("child1"))
                .unwrap(),
            &mut supervisor,
        );
        let start = supervisor
            .restart_child(CallId(2), named("child1"))
            .unwrap();
        let reply = supervisor
            .start_failed(started_incarnation(&start), "function_clause")
            .unwrap();
        assert_eq!(show(&reply), ["reply 2 start_failed"]);
        assert_eq!(statuses(&supervisor), pairs(&[("child1", "undefined")]));
    }

    #[test]
    fn simple_one_for_one_children_are_added_and_terminated_by_number() {
        // child_adm_simple, sup_start_child_returns_error_simple
        let (mut supervisor, _) = boot(lenient(Strategy::SimpleOneForOne), vec![worker("child")]);
        assert!(supervisor.which_children().is_empty());
        assert_eq!(counts(&supervisor), [1, 0, 0, 0]);
        let (first, actions) = supervisor.start_dynamic_child(CallId(1)).unwrap();
        assert_eq!(first, ChildId::Dynamic(0));
        assert_eq!(
            show(&carry_out(actions, &mut supervisor)),
            ["start #0", "reply 1 started #0"]
        );
        let (second, actions) = supervisor.start_dynamic_child(CallId(2)).unwrap();
        carry_out(actions, &mut supervisor);
        assert_eq!(counts(&supervisor), [1, 2, 0, 2]);
        let refused = supervisor
            .terminate_child(CallId(3), named("child1"))
            .unwrap();
        assert_eq!(show(&refused), ["reply 3 simple_one_for_one"]);
        let log = carry_out(
            supervisor
                .terminate_child(CallId(4), first.clone())
                .unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["stop #0", "reply 4 ok"]);
        assert_eq!(statuses(&supervisor), pairs(&[("#1", "running")]));
        assert_eq!(counts(&supervisor), [1, 1, 0, 1]);
        let again = supervisor.terminate_child(CallId(5), first).unwrap();
        assert_eq!(show(&again), ["reply 5 ok"], "gone already is fine");
        let never = supervisor
            .terminate_child(CallId(6), ChildId::Dynamic(99))
            .unwrap();
        assert_eq!(show(&never), ["reply 6 not_found"]);
        let restart = supervisor.restart_child(CallId(7), second.clone()).unwrap();
        let delete = supervisor.delete_child(CallId(8), second).unwrap();
        assert_eq!(
            show(&[restart, delete].concat()),
            ["reply 7 simple_one_for_one", "reply 8 simple_one_for_one"]
        );
        // A start that fails adds nothing.
        let (_, start) = supervisor.start_dynamic_child(CallId(9)).unwrap();
        let reply = supervisor
            .start_failed(started_incarnation(&start), "reason")
            .unwrap();
        assert_eq!(show(&reply), ["reply 9 start_failed"]);
        assert_eq!(counts(&supervisor), [1, 1, 0, 1]);
    }

    #[test]
    fn a_dynamic_child_is_restarted_under_the_same_number() {
        // simple_one_for_one, simple_one_for_one_extra
        let (mut supervisor, _) = boot(lenient(Strategy::SimpleOneForOne), vec![worker("child")]);
        for call in 0..2 {
            let (_, actions) = supervisor.start_dynamic_child(CallId(call)).unwrap();
            carry_out(actions, &mut supervisor);
        }
        let before = incarnation(&supervisor, &ChildId::Dynamic(1));
        let log = carry_out(supervisor.exited(before, crash()).unwrap(), &mut supervisor);
        assert_eq!(show(&log), ["start #1"]);
        assert_ne!(incarnation(&supervisor, &ChildId::Dynamic(1)), before);
        assert_eq!(
            statuses(&supervisor),
            pairs(&[("#0", "running"), ("#1", "running")])
        );
    }

    #[test]
    fn a_transient_dynamic_child_that_ends_normally_is_forgotten() {
        let template = worker("child").with_restart(RestartType::Transient);
        let (mut supervisor, _) = boot(lenient(Strategy::SimpleOneForOne), vec![template]);
        let (id, actions) = supervisor.start_dynamic_child(CallId(0)).unwrap();
        carry_out(actions, &mut supervisor);
        let running = incarnation(&supervisor, &id);
        assert!(
            supervisor
                .exited(running, ExitReason::Normal)
                .unwrap()
                .is_empty()
        );
        assert!(supervisor.which_children().is_empty());
        assert_eq!(counts(&supervisor), [1, 0, 0, 0]);
    }

    #[test]
    fn count_children_counts_supervisors_and_workers_running_or_not() {
        // tree, count_children, count_children_supervisor
        let specs = vec![
            ChildSpec::supervisor("supchild1"),
            ChildSpec::supervisor("supchild2"),
            worker("w").with_restart(RestartType::Transient),
        ];
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), specs);
        assert_eq!(counts(&supervisor), [3, 3, 2, 1]);
        let w = incarnation(&supervisor, &named("w"));
        supervisor.exited(w, ExitReason::Normal).unwrap();
        assert_eq!(counts(&supervisor), [3, 2, 2, 1]);

        let template = ChildSpec::supervisor("child").with_restart(RestartType::Temporary);
        let (mut simple, _) = boot(lenient(Strategy::SimpleOneForOne), vec![template]);
        for call in 0..3 {
            let (_, actions) = simple.start_dynamic_child(CallId(call)).unwrap();
            carry_out(actions, &mut simple);
        }
        assert_eq!(counts(&simple), [1, 3, 3, 0]);
    }

    #[test]
    fn active_leaves_out_a_child_whose_exit_is_known_but_not_yet_handled() {
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b"].map(worker).to_vec(),
        );
        carry_out(
            supervisor.terminate_child(CallId(1), named("a")).unwrap(),
            &mut supervisor,
        );
        let restart = supervisor.restart_child(CallId(2), named("a")).unwrap();
        let b = incarnation(&supervisor, &named("b"));
        assert!(supervisor.exited(b, crash()).unwrap().is_empty(), "queued");
        assert_eq!(
            statuses(&supervisor),
            pairs(&[("a", "undefined"), ("b", "running")])
        );
        assert_eq!(counts(&supervisor), [2, 0, 0, 2]);
        let log = carry_out(restart, &mut supervisor);
        assert_eq!(show(&log), ["start a", "reply 2 started a", "start b"]);
    }

    #[test]
    fn a_child_whose_exit_is_not_yet_handled_still_counts_as_started() {
        // OTP keeps the pid until it takes the EXIT from its mailbox.
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let b = incarnation(&supervisor, &named("b"));
        let start_a = supervisor.exited(a, crash()).unwrap();
        let mut log = supervisor.start_child(CallId(1), worker("b")).unwrap();
        log.extend(supervisor.restart_child(CallId(2), named("b")).unwrap());
        log.extend(supervisor.exited(b, crash()).unwrap());
        assert!(log.is_empty());
        let log = carry_out(start_a, &mut supervisor);
        assert_eq!(
            show(&log),
            [
                "start a",
                "reply 1 already_started",
                "reply 2 running",
                "start b"
            ]
        );
        assert!(matches!(
            &log[1],
            Action::Reply { result: Err(CallError::AlreadyStarted(old)), .. } if *old == b
        ));
    }

    #[test]
    fn a_childs_spec_reads_back_with_otps_defaults() {
        // sup_start_map, get_childspec
        let specs = vec![
            worker("child1"),
            worker("child2").with_shutdown(Shutdown::BrutalKill),
            ChildSpec::supervisor("child3"),
        ];
        let (supervisor, _) = make(Flags::default(), specs);
        let child1 = supervisor.child_spec(&named("child1")).unwrap();
        assert_eq!(child1.restart, RestartType::Permanent);
        assert_eq!(child1.shutdown, Shutdown::Timeout(Duration::from_secs(5)));
        assert_eq!(child1.kind, ChildKind::Worker);
        let child2 = supervisor.child_spec(&named("child2")).unwrap();
        assert_eq!(child2.shutdown, Shutdown::BrutalKill);
        let child3 = supervisor.child_spec(&named("child3")).unwrap();
        assert_eq!(child3.shutdown, Shutdown::Infinity);
        assert_eq!(child3.kind, ChildKind::Supervisor);
        assert_eq!(supervisor.child_spec(&named("child4")), None);
        assert_eq!(supervisor.template(), None);
    }

    #[test]
    fn a_dynamic_childs_spec_is_the_template() {
        // sup_start_map_simple
        let (mut supervisor, _) = boot(
            lenient(Strategy::SimpleOneForOne),
            vec![worker("template").with_restart(RestartType::Transient)],
        );
        let (id, actions) = supervisor.start_dynamic_child(CallId(0)).unwrap();
        carry_out(actions, &mut supervisor);
        assert_eq!(supervisor.child_spec(&id), supervisor.template());
        assert_eq!(
            supervisor.template().unwrap().restart,
            RestartType::Transient
        );
    }

    // ----- settings and misuse -----

    #[test]
    fn a_simple_one_for_one_supervisor_takes_exactly_one_template() {
        // child_specs: bad_start_spec
        for specs in [Vec::new(), vec![worker("c1"), worker("c2")]] {
            let count = specs.len();
            let err = Supervisor::new(
                lenient(Strategy::SimpleOneForOne),
                specs,
                FakeClock::default(),
                || 0.0,
            )
            .unwrap_err();
            assert_eq!(err, SupervisorError::TemplateCount(count));
        }
    }

    #[test]
    fn two_children_with_one_id_are_refused() {
        // child_specs: duplicate_child_name
        let err = Supervisor::new(
            Flags::default(),
            vec![worker("child"), ChildSpec::supervisor("child")],
            FakeClock::default(),
            || 0.0,
        )
        .unwrap_err();
        assert_eq!(err, SupervisorError::DuplicateChild("child".into()));
        assert_eq!(err.to_string(), "two child specs have the id \"child\"");
    }

    #[test]
    fn a_restart_window_of_zero_is_refused() {
        // sup_flags: invalid_period
        let flags = Flags {
            within: Duration::ZERO,
            ..Flags::default()
        };
        let err = Supervisor::new(flags, Vec::new(), FakeClock::default(), || 0.0).unwrap_err();
        assert_eq!(err, SupervisorError::ZeroWindow);
    }

    #[test]
    fn the_default_flags_are_otps() {
        let flags = Flags::default();
        assert_eq!(flags.strategy, Strategy::OneForOne);
        assert_eq!(flags.max_restarts, 1);
        assert_eq!(flags.within, Duration::from_secs(5));
        assert_eq!(flags.backoff, None);
    }

    #[test]
    fn each_way_to_start_a_child_belongs_to_its_strategy() {
        let (mut named_sup, _) = boot(Flags::default(), Vec::new());
        assert_eq!(
            named_sup.start_dynamic_child(CallId(1)).unwrap_err(),
            SupervisorError::WrongStrategy {
                call: "start_dynamic_child",
                strategy: Strategy::OneForOne
            }
        );
        let (mut simple, _) = boot(lenient(Strategy::SimpleOneForOne), vec![worker("t")]);
        let err = simple.start_child(CallId(1), worker("x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "start_child is not for a simple_one_for_one supervisor"
        );
    }

    #[test]
    fn nothing_but_start_is_accepted_before_start_and_start_only_once() {
        let (mut supervisor, _) = make(Flags::default(), vec![worker("a")]);
        assert_eq!(supervisor.shutdown(), Err(SupervisorError::NotStarted));
        assert_eq!(
            supervisor.terminate_child(CallId(1), named("a")),
            Err(SupervisorError::NotStarted)
        );
        assert_eq!(
            supervisor.exited(Incarnation(0), ExitReason::Normal),
            Err(SupervisorError::UnknownIncarnation(Incarnation(0)))
        );
        let (mut simple, _) = make(lenient(Strategy::SimpleOneForOne), vec![worker("t")]);
        assert_eq!(
            simple.start_dynamic_child(CallId(1)),
            Err(SupervisorError::NotStarted)
        );
        supervisor.start().unwrap();
        assert_eq!(supervisor.start(), Err(SupervisorError::StartedTwice));
    }

    #[test]
    fn a_start_report_nobody_waits_for_is_an_error_and_changes_nothing() {
        let (mut supervisor, _) = make(Flags::default(), ["a", "b"].map(worker).to_vec());
        let first = supervisor.start().unwrap();
        let awaited = started_incarnation(&first);
        let wrong = Incarnation(awaited.0 + 1);
        assert_eq!(
            supervisor.started(wrong),
            Err(SupervisorError::NotWaitingForStart(wrong))
        );
        assert_eq!(
            supervisor.start_failed(wrong, "x"),
            Err(SupervisorError::NotWaitingForStart(wrong))
        );
        assert_eq!(
            supervisor.exited(awaited, crash()),
            Err(SupervisorError::ExitBeforeStart(awaited))
        );
        // The awaited start still completes the normal way.
        let log = carry_out(supervisor.started(awaited).unwrap(), &mut supervisor);
        assert_eq!(show(&log), ["start b", "ready"]);
        assert_eq!(
            supervisor.started(awaited),
            Err(SupervisorError::NotWaitingForStart(awaited)),
            "reported twice"
        );
    }

    #[test]
    fn an_unknown_timer_is_an_error() {
        let (mut supervisor, _) = boot(Flags::default(), vec![worker("a")]);
        assert_eq!(
            supervisor.timer_fired(TimerId(0)),
            Err(SupervisorError::UnknownTimer(TimerId(0)))
        );
        assert_eq!(
            SupervisorError::UnknownTimer(TimerId(3)).to_string(),
            "timer 3 is not scheduled"
        );
    }

    #[test]
    fn a_late_report_about_an_earlier_incarnation_changes_nothing() {
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("a")]);
        let old = incarnation(&supervisor, &named("a"));
        crash_and_carry_out("a", &mut supervisor);
        let new = incarnation(&supervisor, &named("a"));
        assert!(supervisor.exited(old, crash()).unwrap().is_empty());
        assert_eq!(incarnation(&supervisor, &named("a")), new);
    }

    #[test]
    fn an_exit_reported_twice_is_decided_once() {
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let b = incarnation(&supervisor, &named("b"));
        let restart = supervisor.exited(a, crash()).unwrap();
        assert!(supervisor.exited(b, crash()).unwrap().is_empty());
        assert!(supervisor.exited(b, crash()).unwrap().is_empty());
        let log = carry_out(restart, &mut supervisor);
        assert_eq!(show(&log), ["start a", "start b"]);
    }

    // ----- one thing at a time -----

    #[test]
    fn an_exit_during_an_operation_is_decided_after_it() {
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let b = incarnation(&supervisor, &named("b"));
        let start_a = supervisor.exited(a, crash()).unwrap();
        assert!(supervisor.is_busy());
        assert!(supervisor.exited(b, crash()).unwrap().is_empty());
        let next = supervisor.started(started_incarnation(&start_a)).unwrap();
        assert_eq!(show(&next), ["start b"]);
    }

    #[test]
    fn a_queued_exit_of_a_child_the_operation_stops_counts_as_its_stop() {
        // OTP's unlink_flush: the EXIT already in the mailbox ends the stop.
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForAll),
            ["a", "b", "c"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let c = incarnation(&supervisor, &named("c"));
        let stop_b = supervisor.exited(c, crash()).unwrap();
        assert_eq!(show(&stop_b), ["stop b"]);
        assert!(supervisor.exited(a, crash()).unwrap().is_empty(), "queued");
        let b = incarnation(&supervisor, &named("b"));
        let log = carry_out(
            supervisor.exited(b, ExitReason::Shutdown).unwrap(),
            &mut supervisor,
        );
        assert_eq!(
            show(&log),
            ["start a", "start b", "start c"],
            "no stop for a, whose exit is known, and no second restart"
        );
        assert!(
            supervisor
                .which_children()
                .iter()
                .all(|info| matches!(info.status, ChildStatus::Running(_)))
        );
    }

    #[test]
    fn calls_during_an_operation_are_answered_in_order_after_it() {
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForOne),
            ["a", "b"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let start_a = supervisor.exited(a, crash()).unwrap();
        assert!(
            supervisor
                .terminate_child(CallId(1), named("b"))
                .unwrap()
                .is_empty()
        );
        assert!(
            supervisor
                .delete_child(CallId(2), named("b"))
                .unwrap()
                .is_empty()
        );
        assert!(
            supervisor
                .delete_child(CallId(3), named("zz"))
                .unwrap()
                .is_empty()
        );
        let log = carry_out(start_a, &mut supervisor);
        assert_eq!(
            show(&log),
            [
                "start a",
                "stop b",
                "reply 1 ok",
                "reply 2 ok",
                "reply 3 not_found"
            ]
        );
        assert_eq!(statuses(&supervisor), pairs(&[("a", "running")]));
    }

    #[test]
    fn calls_still_queued_when_the_supervisor_ends_are_refused_before_its_last_action() {
        let (mut supervisor, _) = boot(Flags::default(), ["a", "b"].map(worker).to_vec());
        crash_and_carry_out("a", &mut supervisor);
        let a = incarnation(&supervisor, &named("a"));
        let stop_b = supervisor.exited(a, crash()).unwrap();
        assert_eq!(show(&stop_b), ["stop b"]);
        assert!(
            supervisor
                .restart_child(CallId(1), named("a"))
                .unwrap()
                .is_empty()
        );
        let b = incarnation(&supervisor, &named("b"));
        let log = supervisor.exited(b, ExitReason::Shutdown).unwrap();
        assert_eq!(
            show(&log),
            [
                "reply 1 shutting_down",
                "escalate reached_max_restart_intensity a"
            ]
        );
    }

    #[test]
    fn after_the_end_calls_are_refused_and_reports_ignored() {
        let (mut supervisor, _) = boot(lenient(Strategy::OneForOne), vec![worker("a")]);
        let old = incarnation(&supervisor, &named("a"));
        carry_out(supervisor.shutdown().unwrap(), &mut supervisor);
        assert_eq!(
            show(&supervisor.restart_child(CallId(4), named("a")).unwrap()),
            ["reply 4 shutting_down"]
        );
        assert!(supervisor.exited(old, crash()).unwrap().is_empty());
        assert!(supervisor.shutdown().unwrap().is_empty());
        assert!(supervisor.timer_fired(TimerId(0)).unwrap().is_empty());
        assert_eq!(supervisor.phase(), Phase::Terminated);
    }

    #[test]
    fn a_shutdown_during_the_start_waits_for_it_then_stops_everything() {
        let (mut supervisor, _) = make(Flags::default(), ["a", "b"].map(worker).to_vec());
        let start_a = supervisor.start().unwrap();
        assert!(supervisor.shutdown().unwrap().is_empty());
        let log = carry_out(start_a, &mut supervisor);
        assert_eq!(
            show(&log),
            ["start a", "start b", "ready", "stop b", "stop a", "stopped"]
        );
    }

    // ----- backoff -----

    fn with_backoff(strategy: Strategy, backoff: Backoff) -> Flags {
        Flags {
            backoff: Some(backoff),
            ..lenient(strategy)
        }
    }

    fn scheduled(actions: &[Action]) -> TimerId {
        match actions.last() {
            Some(Action::Schedule { timer, .. }) => *timer,
            other => panic!("expected a schedule last, got {other:?}"),
        }
    }

    #[test]
    fn with_backoff_a_restart_waits_for_its_timer() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 1000)),
            ["a", "b"].map(worker).to_vec(),
        );
        let a = incarnation(&supervisor, &named("a"));
        let wait = supervisor.exited(a, crash()).unwrap();
        assert_eq!(show(&wait), ["schedule 100ms"]);
        assert!(!supervisor.is_busy(), "the supervisor works on meanwhile");
        assert_eq!(
            statuses(&supervisor),
            pairs(&[("a", "restarting"), ("b", "running")])
        );
        let log = carry_out(
            supervisor.timer_fired(scheduled(&wait)).unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["start a"]);
        assert_eq!(
            supervisor.timer_fired(scheduled(&wait)),
            Err(SupervisorError::UnknownTimer(scheduled(&wait))),
            "a timer fires once"
        );
    }

    fn crash_and_wait(supervisor: &mut Supervisor, id: &str) -> (String, TimerId) {
        let running = incarnation(supervisor, &named(id));
        let wait = supervisor.exited(running, crash()).unwrap();
        let line = show(&wait).last().unwrap().clone();
        (line, scheduled(&wait))
    }

    #[test]
    fn backoff_doubles_for_a_child_that_keeps_crashing_up_to_max() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 500)),
            vec![worker("a")],
        );
        let mut delays = Vec::new();
        for _ in 0..5 {
            let (line, timer) = crash_and_wait(&mut supervisor, "a");
            delays.push(line);
            carry_out(supervisor.timer_fired(timer).unwrap(), &mut supervisor);
        }
        assert_eq!(
            delays,
            [
                "schedule 100ms",
                "schedule 200ms",
                "schedule 400ms",
                "schedule 500ms",
                "schedule 500ms"
            ]
        );
    }

    #[test]
    fn backoff_starts_over_once_a_child_ran_for_reset_after() {
        let (mut supervisor, clock) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 800)),
            vec![worker("a")],
        );
        for expected in ["schedule 100ms", "schedule 200ms", "schedule 400ms"] {
            let (line, timer) = crash_and_wait(&mut supervisor, "a");
            assert_eq!(line, expected);
            carry_out(supervisor.timer_fired(timer).unwrap(), &mut supervisor);
            clock.advance(Duration::from_millis(799));
        }
        clock.advance(Duration::from_millis(1));
        let (line, _) = crash_and_wait(&mut supervisor, "a");
        assert_eq!(line, "schedule 100ms", "it ran 800 ms, the max delay");
    }

    #[test]
    fn backoff_jitter_comes_from_the_random_source() {
        let clock = Arc::new(FakeClock::default());
        let mut draws = vec![0.5, 0.25].into_iter();
        let flags = with_backoff(
            Strategy::OneForOne,
            Backoff::new(Duration::from_millis(100), SECOND, 1.0).unwrap(),
        );
        let mut supervisor = Supervisor::new(flags, vec![worker("a")], clock, move || {
            draws.next().unwrap()
        })
        .unwrap();
        carry_out(supervisor.start().unwrap(), &mut supervisor);
        let (first, timer) = crash_and_wait(&mut supervisor, "a");
        carry_out(supervisor.timer_fired(timer).unwrap(), &mut supervisor);
        let (second, _) = crash_and_wait(&mut supervisor, "a");
        assert_eq!([first, second], ["schedule 150ms", "schedule 250ms"]);
    }

    #[test]
    fn a_failed_start_after_backoff_waits_longer_before_the_retry() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 1000)),
            vec![worker("a")],
        );
        let (_, timer) = crash_and_wait(&mut supervisor, "a");
        let start = supervisor.timer_fired(timer).unwrap();
        let retry = supervisor
            .start_failed(started_incarnation(&start), "not yet")
            .unwrap();
        assert_eq!(show(&retry), ["schedule 200ms"]);
        assert_eq!(statuses(&supervisor), pairs(&[("a", "restarting")]));
        let log = carry_out(
            supervisor.timer_fired(scheduled(&retry)).unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["start a"]);
    }

    #[test]
    fn a_group_restart_with_backoff_stops_now_and_starts_when_the_timer_fires() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::RestForOne, backoff(100, 1000)),
            ["a", "b", "c"].map(worker).to_vec(),
        );
        let b = incarnation(&supervisor, &named("b"));
        let log = carry_out(supervisor.exited(b, crash()).unwrap(), &mut supervisor);
        assert_eq!(show(&log), ["stop c", "schedule 100ms"]);
        assert_eq!(
            statuses(&supervisor),
            pairs(&[("a", "running"), ("b", "restarting"), ("c", "restarting")])
        );
        let log = carry_out(
            supervisor.timer_fired(scheduled(&log)).unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["start b", "start c"]);
    }

    #[test]
    fn a_crash_before_a_waiting_group_takes_it_into_the_new_restart() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::RestForOne, backoff(100, 1000)),
            ["a", "b", "c"].map(worker).to_vec(),
        );
        let b = incarnation(&supervisor, &named("b"));
        let first = carry_out(supervisor.exited(b, crash()).unwrap(), &mut supervisor);
        let a = incarnation(&supervisor, &named("a"));
        let second = carry_out(supervisor.exited(a, crash()).unwrap(), &mut supervisor);
        assert_eq!(
            show(&second),
            ["schedule 100ms"],
            "b and c are stopped already"
        );
        assert!(
            supervisor
                .timer_fired(scheduled(&first))
                .unwrap()
                .is_empty()
        );
        let log = carry_out(
            supervisor.timer_fired(scheduled(&second)).unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["start a", "start b", "start c"]);
    }

    #[test]
    fn terminating_a_child_cancels_the_restart_it_waits_for() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 1000)),
            vec![worker("a")],
        );
        let (_, timer) = crash_and_wait(&mut supervisor, "a");
        let reply = supervisor.terminate_child(CallId(1), named("a")).unwrap();
        assert_eq!(show(&reply), ["reply 1 ok"]);
        assert!(supervisor.timer_fired(timer).unwrap().is_empty());
        assert_eq!(statuses(&supervisor), pairs(&[("a", "undefined")]));
    }

    #[test]
    fn a_shutdown_while_a_restart_waits_stops_only_the_running_children() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 1000)),
            ["a", "b"].map(worker).to_vec(),
        );
        let (_, timer) = crash_and_wait(&mut supervisor, "a");
        let log = carry_out(supervisor.shutdown().unwrap(), &mut supervisor);
        assert_eq!(show(&log), ["stop b", "stopped"]);
        assert!(supervisor.timer_fired(timer).unwrap().is_empty());
    }

    #[test]
    fn a_timer_that_fires_while_the_supervisor_is_busy_waits_its_turn() {
        let (mut supervisor, _) = boot(
            with_backoff(Strategy::OneForOne, backoff(100, 1000)),
            ["a", "b"].map(worker).to_vec(),
        );
        let (_, timer) = crash_and_wait(&mut supervisor, "a");
        let stop_b = supervisor.terminate_child(CallId(1), named("b")).unwrap();
        assert_eq!(show(&stop_b), ["stop b"]);
        assert!(supervisor.timer_fired(timer).unwrap().is_empty());
        let b = incarnation(&supervisor, &named("b"));
        let log = carry_out(
            supervisor.exited(b, ExitReason::Shutdown).unwrap(),
            &mut supervisor,
        );
        assert_eq!(show(&log), ["reply 1 ok", "start a"]);
    }

    // ----- reasons and names -----

    #[test]
    fn errors_and_reasons_read_well_and_carry_otps_names() {
        assert_eq!(CallError::NotFound.code(), "not_found");
        assert_eq!(
            CallError::AlreadyStarted(Incarnation(3)).code(),
            "already_started"
        );
        assert_eq!(
            CallError::AlreadyStarted(Incarnation(3)).to_string(),
            "the child is already running (incarnation 3)"
        );
        assert_eq!(
            CallError::StartFailed("boom".into()).to_string(),
            "the child did not start: boom"
        );
        let escalation = Escalation::MaxRestartIntensity { child: named("db") };
        assert_eq!(escalation.code(), "reached_max_restart_intensity");
        assert_eq!(
            escalation.to_string(),
            "restarting child \"db\" would exceed the restart intensity"
        );
        assert_eq!(
            Escalation::FailedToStart {
                child: ChildId::Dynamic(4),
                reason: "no port".into()
            }
            .to_string(),
            "child #4 failed to start: no port"
        );
        assert_eq!(ChildKind::Supervisor.name(), "supervisor");
        assert_eq!(Phase::Terminating.name(), "terminating");
    }

    #[test]
    fn a_nested_supervisor_child_is_stopped_with_infinity_and_restarted_like_any_child() {
        // tree
        let (mut supervisor, _) = boot(
            lenient(Strategy::OneForAll),
            vec![
                ChildSpec::supervisor("supchild1"),
                ChildSpec::supervisor("supchild2"),
            ],
        );
        assert_eq!(counts(&supervisor), [2, 2, 2, 0]);
        let child = incarnation(&supervisor, &named("supchild2"));
        // The child supervisor escalated: its exit is a failure to us.
        let stops = supervisor
            .exited(
                child,
                ExitReason::Failure("reached_max_restart_intensity".into()),
            )
            .unwrap();
        assert_eq!(
            stops,
            [Action::Stop {
                child: named("supchild1"),
                incarnation: incarnation(&supervisor, &named("supchild1")),
                shutdown: Shutdown::Infinity
            }]
        );
        let log = carry_out(stops, &mut supervisor);
        assert_eq!(
            show(&log),
            ["stop supchild1", "start supchild1", "start supchild2"]
        );
    }
}
