//! The in-memory transport: a link between two nodes of one process, for a
//! worker that runs in a subinterpreter of the parent's process.
//!
//! A channel is two byte queues, one each way, each with a condition
//! variable that wakes its reader. A frame travels as its encoded header and
//! its payload, the same bytes a socket would carry after the two lengths,
//! so both sides speak the wire protocol of `docs/protocol.md` unchanged:
//! the parent's node reads frames with the core's decoder, a subinterpreter
//! with `pykka_rs/_wire.py`. Nothing here holds anything but bytes and
//! wake-ups: the subinterpreter's end is reached through a table of ends
//! by process number ([`offer`], [`claim`]), which the raw C-API module
//! `pykka_rs._interp` reads, and no interpreter's object is ever stored.
//!
//! Closing either end closes both directions and wakes both readers, as
//! shutting a socket down does; frames queued before the close can still be
//! read. A payload is moved into the queue, never copied again on this side.
//!
//! One shortcut: the worker may give an actor an inbox of its own
//! ([`End::open_inbox`]). A `Tell` or `Ask` for that actor then goes into
//! its inbox, as the reply address and the payload (the parent's node has
//! the header decoded already), and wakes the actor's own thread, which
//! waits there ([`End::take`]); everything else still goes to the worker's
//! reader. Without it, every message would wake the reader, which would
//! then wake the actor: two wake-ups, each tens of microseconds on small
//! virtual machines, where a worker process needs one. Messages to one
//! actor keep their order, whichever way they go: an inbox is opened before
//! the actor's address is known to anyone, and closed (its leftovers handed
//! to the actor's mailbox) when it stops, after which messages for it go to
//! the reader, which refuses them.
//!
//! Another: the parent's logger levels (a `LogLevels` frame) are not
//! queued for the reader but kept in the channel ([`End::log_levels`]),
//! where an actor that logs reads them: a message in an inbox overtakes
//! the frames queued for the reader, and the levels sent before it must
//! already be the ones it is logged by.
//!
//! Rejected: a socket pair between the interpreters (every frame through
//! the kernel, two system calls and a copy each way, for a reader in the
//! same process), and flume channels carrying Python objects (an object
//! belongs to the interpreter that made it; another must never touch it).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use super::log_levels::LogLevels;
use crate::pool::frame::{self, Frame, FutureId};
use crate::sync::lock;

/// A frame as it travels in memory: its encoded header, then its payload.
pub type Bytes = (Vec<u8>, Vec<u8>);

#[derive(Default)]
struct Queue {
    frames: VecDeque<Bytes>,
    closed: bool,
}

/// One direction of a channel.
#[derive(Default)]
struct Pipe {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Pipe {
    fn close(&self) {
        lock(&self.queue).closed = true;
        self.ready.notify_all();
    }
}

/// Both directions: `pipes[0]` carries frames to the parent, `pipes[1]` to
/// the worker; the worker's actor inboxes, by actor number; and the latest
/// logger levels the parent sent.
#[derive(Default)]
struct Channel {
    pipes: [Pipe; 2],
    inboxes: Mutex<HashMap<u64, Arc<Inbox>>>,
    log_levels: LogLevels,
}

/// A message for one actor of the worker: where its answer goes (for an
/// ask), and the pickled message.
pub type Message = (Option<FutureId>, Vec<u8>);

#[derive(Default)]
struct InboxState {
    messages: VecDeque<Message>,
    /// Set by [`End::ring`]: the actor has something else to look at.
    rung: bool,
}

/// The messages that arrived for one actor of the worker, and what wakes it.
#[derive(Default)]
struct Inbox {
    state: Mutex<InboxState>,
    ready: Condvar,
}

/// What [`End::take`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// The next message for the actor.
    Message(Message),
    /// The actor was rung (or its inbox closed): it should look again.
    Rung,
    /// Nothing arrived in time.
    TimedOut,
}

/// What a blocking receive found.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The next frame.
    Frame(Bytes),
    /// Nothing arrived in time.
    TimedOut,
    /// The channel is closed and everything sent on it was read.
    Ended,
}

/// One end of a channel: it sends on one pipe and reads the other.
#[derive(Clone)]
pub struct End {
    channel: Arc<Channel>,
    /// The index of the pipe this end reads.
    reads: usize,
}

impl std::fmt::Debug for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("End")
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

/// A new channel: the parent's end and the worker's.
pub fn pair() -> (End, End) {
    let channel = Arc::new(Channel::default());
    (
        End {
            channel: Arc::clone(&channel),
            reads: 0,
        },
        End { channel, reads: 1 },
    )
}

impl End {
    fn incoming(&self) -> &Pipe {
        &self.channel.pipes[self.reads]
    }

    fn outgoing(&self) -> &Pipe {
        &self.channel.pipes[1 - self.reads]
    }

    /// Queues an encoded header and its payload for the other end.
    ///
    /// # Errors
    /// `InvalidData` for a frame over the size limits (nothing is sent);
    /// `BrokenPipe` once the channel is closed.
    pub fn send(&self, header: Vec<u8>, payload: Vec<u8>) -> io::Result<()> {
        check(&header, &payload)?;
        let pipe = self.outgoing();
        let mut queue = lock(&pipe.queue);
        if queue.closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the channel is closed",
            ));
        }
        let was_empty = queue.frames.is_empty();
        queue.frames.push_back((header, payload));
        drop(queue);
        if was_empty {
            pipe.ready.notify_all();
        }
        Ok(())
    }

    /// Encodes `header` and queues it with `payload` for the other end.
    /// A message for an actor of the worker whose inbox is open goes
    /// straight into that inbox, waking its actor, not the worker's reader.
    ///
    /// # Errors
    /// As for [`End::send`].
    pub fn send_frame(&self, header: &Frame, payload: Vec<u8>) -> io::Result<()> {
        if self.reads == 0 && matches!(header, Frame::LogLevels) {
            check(&[], &payload)?;
            self.channel.log_levels.update(&payload, |_| {});
            return Ok(());
        }
        if self.reads == 0 {
            let (to, reply) = match header {
                Frame::Tell { to } => (Some(to), None),
                Frame::Ask { to, reply } => (Some(to), Some(*reply)),
                _ => (None, None),
            };
            if let Some(to) = to {
                check(&[], &payload)?;
                if self.is_closed() {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the channel is closed",
                    ));
                }
                let inbox = lock(&self.channel.inboxes).get(&to.actor).cloned();
                if let Some(inbox) = inbox {
                    lock(&inbox.state).messages.push_back((reply, payload));
                    inbox.ready.notify_one();
                    return Ok(());
                }
            }
        }
        self.send(frame::encode_header(header)?, payload)
    }

    /// Worker: the latest logger levels the parent sent and their version,
    /// if it is not version `known` (0: none yet).
    pub fn log_levels(&self, known: u64) -> Option<(u64, Arc<[u8]>)> {
        self.channel.log_levels.newer_than(known)
    }

    /// Worker: from now on, messages for actor `actor` go to an inbox of
    /// its own ([`End::take`]) instead of the reader.
    pub fn open_inbox(&self, actor: u64) {
        lock(&self.channel.inboxes)
            .entry(actor)
            .or_insert_with(|| Arc::new(Inbox::default()));
    }

    /// Worker: closes actor `actor`'s inbox (later messages go to the
    /// reader again) and returns the messages still in it.
    pub fn close_inbox(&self, actor: u64) -> Vec<Message> {
        let Some(inbox) = lock(&self.channel.inboxes).remove(&actor) else {
            return Vec::new();
        };
        let mut state = lock(&inbox.state);
        state.rung = true;
        inbox.ready.notify_all();
        state.messages.drain(..).collect()
    }

    /// Worker: how many messages wait in actor `actor`'s inbox.
    pub fn inbox_len(&self, actor: u64) -> usize {
        lock(&self.channel.inboxes)
            .get(&actor)
            .map_or(0, |inbox| lock(&inbox.state).messages.len())
    }

    /// Worker: wakes actor `actor` if it waits in [`End::take`].
    pub fn ring(&self, actor: u64) {
        let inbox = lock(&self.channel.inboxes).get(&actor).cloned();
        if let Some(inbox) = inbox {
            lock(&inbox.state).rung = true;
            inbox.ready.notify_all();
        }
    }

    /// Worker: the next message for actor `actor`, waiting until `until`
    /// (`None`: as long as it takes) unless the actor is rung first.
    /// An actor without an open inbox is as if rung.
    pub fn take(&self, actor: u64, until: Option<Instant>) -> Taken {
        let Some(inbox) = lock(&self.channel.inboxes).get(&actor).cloned() else {
            return Taken::Rung;
        };
        let mut state = lock(&inbox.state);
        loop {
            if let Some(message) = state.messages.pop_front() {
                return Taken::Message(message);
            }
            if std::mem::take(&mut state.rung) {
                return Taken::Rung;
            }
            state = match until {
                None => inbox
                    .ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(until) => {
                    let Some(left) = until.checked_duration_since(Instant::now()) else {
                        return Taken::TimedOut;
                    };
                    inbox
                        .ready
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Takes every frame that has arrived, without waiting; also says
    /// whether the channel is closed.
    pub fn take_all(&self, into: &mut VecDeque<Bytes>) -> bool {
        let mut queue = lock(&self.incoming().queue);
        into.append(&mut queue.frames);
        queue.closed
    }

    /// Waits until a frame has arrived or the channel is closed, or until
    /// `until` (`None`: as long as it takes), and takes the frame.
    pub fn recv(&self, until: Option<Instant>) -> Received {
        let pipe = self.incoming();
        let mut queue = lock(&pipe.queue);
        loop {
            if let Some(frame) = queue.frames.pop_front() {
                return Received::Frame(frame);
            }
            if queue.closed {
                return Received::Ended;
            }
            queue = match until {
                None => pipe
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(until) => {
                    let Some(left) = until.checked_duration_since(Instant::now()) else {
                        return Received::TimedOut;
                    };
                    pipe.ready
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Waits until a frame is there to read or the channel is closed, or
    /// until `until` (`None`: as long as it takes); does not take the
    /// frame. Returns false at the deadline.
    pub fn wait_readable(&self, until: Option<Instant>) -> bool {
        let pipe = self.incoming();
        let mut queue = lock(&pipe.queue);
        while queue.frames.is_empty() && !queue.closed {
            queue = match until {
                None => pipe
                    .ready
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(until) => {
                    let Some(left) = until.checked_duration_since(Instant::now()) else {
                        return false;
                    };
                    pipe.ready
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }

    /// Whether a frame is there to read, or the channel is closed.
    pub fn has_input(&self) -> bool {
        let queue = lock(&self.incoming().queue);
        !queue.frames.is_empty() || queue.closed
    }

    /// Whether this end has been closed, from either side.
    pub fn is_closed(&self) -> bool {
        lock(&self.incoming().queue).closed
    }

    /// Closes both directions and wakes both readers; frames already queued
    /// can still be read.
    pub fn close(&self) {
        for pipe in &self.channel.pipes {
            pipe.close();
        }
        let inboxes: Vec<Arc<Inbox>> = lock(&self.channel.inboxes).values().cloned().collect();
        for inbox in inboxes {
            lock(&inbox.state).rung = true;
            inbox.ready.notify_all();
        }
    }
}

/// Refuses a frame over the size limits, as a socket's writer does.
fn check(header: &[u8], payload: &[u8]) -> io::Result<()> {
    let limit = frame::payload_limit();
    if header.len() > frame::MAX_HEADER || payload.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a frame of {} payload bytes (header {} bytes) is over the limit of \
                 {limit} payload bytes and {} header bytes",
                payload.len(),
                header.len(),
                frame::MAX_HEADER
            ),
        ));
    }
    Ok(())
}

/// The reading half of an end as the node uses it: frames taken off the
/// channel so far, decoded one at a time.
pub struct Reader {
    end: End,
    taken: VecDeque<Bytes>,
    ended: bool,
}

impl Reader {
    /// Reads what arrives at `end`.
    pub fn new(end: End) -> Self {
        Self {
            end,
            taken: VecDeque::new(),
            ended: false,
        }
    }

    /// Whether the channel is closed and every frame sent on it was taken.
    pub fn ended(&self) -> bool {
        self.ended && self.taken.is_empty()
    }

    /// Takes whatever frames have arrived, without waiting. Returns whether any did.
    pub fn read_available(&mut self) -> bool {
        let before = self.taken.len();
        self.ended = self.end.take_all(&mut self.taken);
        self.taken.len() > before
    }

    /// The next frame taken so far, decoded.
    ///
    /// # Errors
    /// `InvalidData` for a header that does not decode or a frame over the limits.
    pub fn next_frame(&mut self) -> io::Result<Option<(Frame, Vec<u8>)>> {
        let Some((header, payload)) = self.taken.pop_front() else {
            return Ok(None);
        };
        let limit = frame::payload_limit();
        if header.len() > frame::MAX_HEADER || payload.len() as u64 > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a frame of {} payload bytes is over the limit of {limit} payload bytes",
                    payload.len()
                ),
            ));
        }
        Ok(Some((frame::decode_header(&header)?, payload)))
    }
}

/// The worker ends waiting to be claimed, by process number.
static OFFERED: Mutex<Option<HashMap<u32, End>>> = Mutex::new(None);

/// Leaves the worker's end of a channel for process `process` to claim.
pub fn offer(process: u32, end: End) {
    lock(&OFFERED)
        .get_or_insert_with(HashMap::new)
        .insert(process, end);
}

/// Takes the end offered for process `process`, if there is one; an end is
/// claimed once.
pub fn claim(process: u32) -> Option<End> {
    lock(&OFFERED).as_mut()?.remove(&process)
}

/// Withdraws an offer nobody claimed; closing it tells the parent.
pub fn withdraw(process: u32) {
    if let Some(end) = claim(process) {
        end.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::frame::Address;
    use std::time::Duration;

    #[test]
    fn messages_for_an_actor_with_an_inbox_go_to_it_in_order_and_others_to_the_reader() {
        let (parent, worker) = pair();
        worker.open_inbox(7);
        let to = |actor| Address { process: 1, actor };
        let reply = FutureId { process: 0, id: 3 };
        parent
            .send_frame(&Frame::Tell { to: to(7) }, b"one".to_vec())
            .unwrap();
        parent
            .send_frame(&Frame::Ask { to: to(7), reply }, b"two".to_vec())
            .unwrap();
        parent
            .send_frame(&Frame::Tell { to: to(8) }, b"other".to_vec())
            .unwrap();
        assert_eq!(
            worker.take(7, None),
            Taken::Message((None, b"one".to_vec()))
        );
        assert_eq!(
            worker.take(7, None),
            Taken::Message((Some(reply), b"two".to_vec()))
        );
        let soon = Instant::now() + Duration::from_millis(10);
        assert_eq!(worker.take(7, Some(soon)), Taken::TimedOut);
        let Received::Frame((header, payload)) = worker.recv(None) else {
            panic!("the other actor's message went to the reader")
        };
        assert_eq!(
            frame::decode_header(&header).unwrap(),
            Frame::Tell { to: to(8) }
        );
        assert_eq!(payload, b"other");
    }

    #[test]
    fn a_waiting_actor_is_woken_by_its_message_or_a_ring_and_its_leftovers_returned() {
        let (parent, worker) = pair();
        worker.open_inbox(1);
        let waiting = {
            let worker = worker.clone();
            std::thread::spawn(move || worker.take(1, None))
        };
        let to = Address {
            process: 1,
            actor: 1,
        };
        parent
            .send_frame(&Frame::Tell { to }, b"hi".to_vec())
            .unwrap();
        assert_eq!(
            waiting.join().unwrap(),
            Taken::Message((None, b"hi".to_vec()))
        );
        let waiting = {
            let worker = worker.clone();
            std::thread::spawn(move || worker.take(1, None))
        };
        worker.ring(1);
        assert_eq!(waiting.join().unwrap(), Taken::Rung);
        parent
            .send_frame(&Frame::Tell { to }, b"left".to_vec())
            .unwrap();
        assert_eq!(worker.inbox_len(1), 1);
        assert_eq!(worker.close_inbox(1), vec![(None, b"left".to_vec())]);
        assert_eq!(worker.take(1, None), Taken::Rung);
    }

    #[test]
    fn frames_arrive_in_order_at_the_other_end_only() {
        let (parent, worker) = pair();
        for i in 0..10u8 {
            parent.send(vec![i], vec![i, i]).unwrap();
        }
        worker.send(b"up".to_vec(), Vec::new()).unwrap();
        for i in 0..10u8 {
            assert_eq!(worker.recv(None), Received::Frame((vec![i], vec![i, i])));
        }
        assert_eq!(
            parent.recv(None),
            Received::Frame((b"up".to_vec(), Vec::new()))
        );
        let soon = Instant::now() + Duration::from_millis(10);
        assert_eq!(worker.recv(Some(soon)), Received::TimedOut);
    }

    #[test]
    fn a_receiver_blocked_on_an_empty_channel_is_woken_by_a_send() {
        let (parent, worker) = pair();
        let reader = std::thread::spawn(move || worker.recv(None));
        parent.send(b"h".to_vec(), b"p".to_vec()).unwrap();
        assert_eq!(
            reader.join().unwrap(),
            Received::Frame((b"h".to_vec(), b"p".to_vec()))
        );
    }

    #[test]
    fn closing_wakes_both_ends_and_keeps_what_was_queued() {
        let (parent, worker) = pair();
        parent.send(b"last".to_vec(), Vec::new()).unwrap();
        let waiting = {
            let parent = parent.clone();
            std::thread::spawn(move || parent.recv(None))
        };
        worker.close();
        assert_eq!(waiting.join().unwrap(), Received::Ended);
        assert!(parent.is_closed());
        let err = parent.send(Vec::new(), Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(
            worker.recv(None),
            Received::Frame((b"last".to_vec(), Vec::new()))
        );
        assert_eq!(worker.recv(None), Received::Ended);
    }

    #[test]
    fn an_oversized_header_is_refused_at_the_sender() {
        let (parent, _worker) = pair();
        let err = parent
            .send(vec![0; frame::MAX_HEADER + 1], Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn the_reader_decodes_frames_and_notices_the_end() {
        let (parent, worker) = pair();
        let mut reader = Reader::new(parent);
        assert!(!reader.read_available());
        worker.send_frame(&Frame::Log, b"record".to_vec()).unwrap();
        worker.send(b"garbage".to_vec(), Vec::new()).unwrap();
        worker.close();
        assert!(reader.read_available());
        assert!(!reader.ended());
        assert_eq!(
            reader.next_frame().unwrap(),
            Some((Frame::Log, b"record".to_vec()))
        );
        assert_eq!(
            reader.next_frame().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert!(reader.ended());
    }

    #[test]
    fn log_levels_wait_in_the_channel_ahead_of_later_messages() {
        let (parent, worker) = pair();
        worker.open_inbox(7);
        assert_eq!(worker.log_levels(0), None);
        parent
            .send_frame(&Frame::LogLevels, b"info".to_vec())
            .unwrap();
        let to = frame::Address {
            process: 1,
            actor: 7,
        };
        parent
            .send_frame(&Frame::Tell { to }, b"log!".to_vec())
            .unwrap();
        assert!(matches!(worker.take(7, None), Taken::Message((None, _))));
        let (version, table) = worker.log_levels(0).unwrap();
        assert_eq!((version, &*table), (1, &b"info"[..]));
        assert_eq!(worker.log_levels(1), None);
        // Not queued for the reader.
        assert!(!worker.has_input());
    }

    #[test]
    fn an_offered_end_is_claimed_once() {
        let (_parent, worker) = pair();
        offer(4_000_000_001, worker);
        assert!(claim(4_000_000_001).is_some());
        assert!(claim(4_000_000_001).is_none());
    }
}
