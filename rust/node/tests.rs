//! The node's fault paths, frame by frame, with a fake host: a parent and a
//! worker node in one test process, linked by a socket pair.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::future::Slot;
use crate::metrics::census::Name;
use crate::pool::frame::{self, Address, Frame, FutureId};

/// Envelopes are the raw message and where its answer goes; futures are
/// one-shot slots of resolutions.
struct Fake;

#[derive(Default)]
struct FakeFuture(Slot<Resolution>);

impl FakeFuture {
    fn wait(&self) -> Resolution {
        self.0
            .wait(Some(Instant::now() + PATIENCE))
            .cloned()
            .expect("the future was resolved in time")
    }
}

impl Host for Fake {
    type Envelope = (Vec<u8>, Option<FutureId>);
    type Future = FakeFuture;

    /// The pickle, then the contents of each shared buffer, in one string.
    fn incoming(message: Payload, reply: Option<FutureId>) -> Self::Envelope {
        let (mut bytes, buffers) = message.into_parts();
        for buffer in buffers {
            let start = bytes.len();
            bytes.resize(start + buffer.len() as usize, 0);
            buffer.read_into(&mut bytes[start..]).unwrap();
        }
        (bytes, reply)
    }

    fn resolve(future: &FakeFuture, outcome: Resolution) -> bool {
        future.0.set(outcome).is_ok()
    }

    fn is_resolved(future: &FakeFuture) -> bool {
        future.0.is_set()
    }

    fn when_resolved(future: &FakeFuture, then: Box<dyn FnOnce() + Send>) {
        future.0.on_set(then);
    }

    fn outcome(future: &FakeFuture) -> Resolution {
        future
            .0
            .get()
            .cloned()
            .unwrap_or_else(|| Resolution::Undeliverable("was never resolved".into()))
    }
}

type FakeNode = Node<Fake>;
type FakeMailbox = Mailbox<(Vec<u8>, Option<FutureId>)>;

const PATIENCE: Duration = Duration::from_secs(5);

/// A parent and worker 1, linked; also the worker's end of the socket, to
/// break the link with.
fn linked() -> (Arc<FakeNode>, Arc<FakeNode>, UnixStream) {
    let parent = Arc::new(FakeNode::new(0));
    let worker = Arc::new(FakeNode::new(1));
    let (up, down) = UnixStream::pair().unwrap();
    let worker_end = down.try_clone().unwrap();
    parent.connect(1, up, None).unwrap();
    worker.connect(0, down, None).unwrap();
    (parent, worker, worker_end)
}

/// An actor of `node`: its mailbox and address.
fn actor(node: &Arc<FakeNode>) -> (Arc<FakeMailbox>, Address) {
    let mailbox = Arc::new(Mailbox::default());
    let id = node.export_actor(&mailbox);
    (
        mailbox,
        Address {
            process: node.process(),
            actor: id,
        },
    )
}

fn receive(mailbox: &FakeMailbox) -> (Vec<u8>, Option<FutureId>) {
    mailbox
        .recv(Some(Instant::now() + PATIENCE))
        .expect("a message arrived in time")
}

fn ask(node: &Arc<FakeNode>, to: Address, message: &[u8]) -> Arc<FakeFuture> {
    let future = Arc::new(FakeFuture::default());
    node.send_message(
        to,
        Payload::from(message.to_vec()),
        Some(Answer::Here(Arc::clone(&future), "Echo (urn:1)".into())),
    )
    .unwrap();
    future
}

/// The next control item that `wanted` picks, waiting for it.
fn control(node: &FakeNode, wanted: impl Fn(&Control) -> bool) -> Control {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let item = node.next_control(deadline).expect("a control item in time");
        if wanted(&item) {
            return item;
        }
    }
}

fn undeliverable(outcome: &Resolution) -> &str {
    match outcome {
        Resolution::Undeliverable(reason) => reason,
        Resolution::Pickled { .. } => panic!("expected no answer, got {outcome:?}"),
    }
}

#[test]
fn tells_reach_an_actor_of_another_process_in_the_order_sent() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    for i in 0..100u8 {
        parent
            .send_message(address, Payload::from(vec![i]), None)
            .unwrap();
    }
    for i in 0..100u8 {
        assert_eq!(receive(&mailbox), (vec![i], None));
    }
}

#[test]
fn an_ask_is_answered_across_the_link() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    let future = ask(&parent, address, b"ping");
    let (message, reply) = receive(&mailbox);
    assert_eq!(message, b"ping");
    worker.send_reply(reply.unwrap(), true, Payload::from(b"pong".to_vec()));
    assert_eq!(
        future.wait(),
        Resolution::Pickled {
            ok: true,
            payload: Payload::from(b"pong".to_vec())
        }
    );
}

#[test]
fn a_stop_announced_before_a_reply_is_known_when_the_reply_arrives() {
    for _ in 0..20 {
        let (parent, worker, _end) = linked();
        let (mailbox, address) = actor(&worker);
        let flag = parent.stop_flag(address);
        let future = ask(&parent, address, b"stop, then answer");
        let (_, reply) = receive(&mailbox);
        mailbox.stopped().set();
        worker.send_reply(reply.unwrap(), true, Payload::from(b"stopped".to_vec()));
        future.wait();
        assert!(flag.is_set(), "the reply overtook the stop");
    }
}

#[test]
fn an_ask_to_a_stopped_actor_is_answered_not_found() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    mailbox.stopped().set();
    let future = ask(&parent, address, b"anyone?");
    assert_eq!(undeliverable(&future.wait()), "Echo (urn:1) not found");
}

#[test]
fn a_tell_to_a_stopped_actor_is_reported_as_a_dead_letter() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    mailbox.stopped().set();
    parent
        .send_message(address, Payload::from(b"lost".to_vec()), None)
        .unwrap();
    let Control::DeadLetter(text) = control(&worker, |c| matches!(c, Control::DeadLetter(_)))
    else {
        unreachable!()
    };
    assert!(text.contains("was dropped: the actor is gone"), "{text}");
}

#[test]
fn a_dead_worker_fails_the_asks_waiting_on_it_and_sets_its_actors_stop_flags() {
    let (parent, worker, end) = linked();
    let (_mailbox, address) = actor(&worker);
    let flag = parent.stop_flag(address);
    let future = ask(&parent, address, b"never answered");
    end.shutdown(std::net::Shutdown::Both).unwrap();
    let reason = undeliverable(&future.wait()).to_owned();
    assert!(
        reason.starts_with("Echo (urn:1) died with its process: worker process 1"),
        "{reason}"
    );
    assert!(flag.is_set());
    let Control::ProcessLost {
        process, expected, ..
    } = control(&parent, |c| matches!(c, Control::ProcessLost { .. }))
    else {
        unreachable!()
    };
    assert_eq!((process, expected), (1, false));
    // Later sends fail at once, naming the cause.
    let err = parent
        .send_message(address, Payload::from(b"late".to_vec()), None)
        .unwrap_err();
    assert!(matches!(err, SendError::Gone(_)), "{err}");
    assert!(
        parent
            .stop_flag(Address {
                process: 1,
                actor: 999
            })
            .is_set()
    );
}

#[test]
fn a_worker_that_loses_its_parent_fails_its_asks_and_says_so() {
    let parent = Arc::new(FakeNode::new(0));
    let worker = Arc::new(FakeNode::new(1));
    let (up, down) = UnixStream::pair().unwrap();
    let parent_end = up.try_clone().unwrap();
    parent.connect(1, up, None).unwrap();
    worker.connect(0, down, None).unwrap();
    let (_mailbox, address) = actor(&parent);
    let future = ask(&worker, address, b"never answered");
    parent_end.shutdown(std::net::Shutdown::Both).unwrap();
    let reason = undeliverable(&future.wait()).to_owned();
    assert!(
        reason.contains("died with its process: the parent process"),
        "{reason}"
    );
    assert!(worker.parent_lost().wait(Some(Instant::now() + PATIENCE)));
    control(&worker, |c| matches!(c, Control::ParentLost(_)));
}

#[test]
fn a_forward_to_a_process_that_is_not_there_is_refused_back_to_the_asker() {
    let (_parent, worker, _end) = linked();
    let nowhere = Address {
        process: 7,
        actor: 1,
    };
    let future = ask(&worker, nowhere, b"hello?");
    let reason = undeliverable(&future.wait()).to_owned();
    assert_eq!(
        reason,
        "Echo (urn:1) is unreachable: process 7 is not connected"
    );
}

#[test]
fn a_corrupt_frame_breaks_only_its_link_and_fails_what_waited_on_it() {
    let parent = Arc::new(FakeNode::new(0));
    let (up, mut down) = UnixStream::pair().unwrap();
    parent.connect(1, up, None).unwrap();
    let future = ask(
        &parent,
        Address {
            process: 1,
            actor: 1,
        },
        b"asked before the garbage",
    );
    let mut garbage = Vec::new();
    frame::write_frame(&mut garbage, b"not a pickle at all", b"").unwrap();
    down.write_all(&garbage).unwrap();
    let reason = undeliverable(&future.wait()).to_owned();
    assert!(
        reason.contains("broke its connection: bad frame header"),
        "{reason}"
    );
    let Control::ProcessLost { cause, .. } =
        control(&parent, |c| matches!(c, Control::ProcessLost { .. }))
    else {
        unreachable!()
    };
    assert!(cause.contains("bad frame header"), "{cause}");
}

#[test]
fn an_oversized_frame_breaks_the_link_before_its_payload_is_read() {
    let parent = Arc::new(FakeNode::new(0));
    let (up, mut down) = UnixStream::pair().unwrap();
    parent.connect(1, up, None).unwrap();
    let mut lengths = 4u32.to_le_bytes().to_vec();
    lengths.extend_from_slice(&(frame::MAX_PAYLOAD + 1).to_le_bytes());
    down.write_all(&lengths).unwrap();
    let Control::ProcessLost { cause, .. } =
        control(&parent, |c| matches!(c, Control::ProcessLost { .. }))
    else {
        unreachable!()
    };
    assert!(cause.contains("over the limit"), "{cause}");
}

#[test]
fn a_process_announcing_a_stop_or_registration_of_another_is_ignored() {
    let (parent, worker, _end) = linked();
    let elsewhere = Address {
        process: 2,
        actor: 5,
    };
    let flag = parent.stop_flag(elsewhere);
    worker
        .send_frame(0, &Frame::Stopped { actor: elsewhere }, &[])
        .unwrap();
    worker
        .send_frame(0, &Frame::Registered { actor: elsewhere }, b"fake")
        .unwrap();
    for _ in 0..2 {
        let Control::DeadLetter(text) = control(&parent, |c| matches!(c, Control::DeadLetter(_)))
        else {
            unreachable!()
        };
        assert!(text.contains("announces only its own actors"), "{text}");
    }
    assert!(!flag.is_set());
    assert!(parent.registered().is_empty());
}

#[test]
fn frames_only_the_parent_may_send_are_refused_from_a_worker_and_the_asker_told() {
    let (parent, worker, _end) = linked();
    let future = Arc::new(FakeFuture::default());
    // A worker "spawning" in the parent: the parent refuses, and answers.
    worker
        .spawn(0, b"class", Arc::clone(&future), "Sneaky".into())
        .unwrap();
    let reason = undeliverable(&future.wait()).to_owned();
    assert!(reason.contains("only the parent sends it"), "{reason}");
    let Control::DeadLetter(_) = control(&parent, |c| matches!(c, Control::DeadLetter(_))) else {
        unreachable!()
    };
}

#[test]
fn a_worker_refuses_frames_addressed_to_a_third_process() {
    let (parent, worker, _end) = linked();
    let future = Arc::new(FakeFuture::default());
    let reply = parent.expect(Arc::clone(&future), 1, "Third".into());
    parent
        .send_frame(
            1,
            &Frame::Ask {
                to: Address {
                    process: 5,
                    actor: 1,
                },
                reply,
            },
            b"",
        )
        .unwrap();
    let reason = undeliverable(&future.wait()).to_owned();
    assert!(reason.contains("addressed to another process"), "{reason}");
    control(&worker, |c| matches!(c, Control::DeadLetter(_)));
}

#[test]
fn a_future_of_another_process_is_read_by_subscribing() {
    let (parent, worker, _end) = linked();
    let owned = Arc::new(FakeFuture::default());
    let id = worker.export_future(&owned);
    let copy = Arc::new(FakeFuture::default());
    parent
        .subscribe(FutureId { process: 1, id }, Arc::clone(&copy))
        .unwrap();
    assert!(!Fake::is_resolved(&copy));
    Fake::resolve(
        &owned,
        Resolution::Pickled {
            ok: false,
            payload: Payload::from(b"boom".to_vec()),
        },
    );
    assert_eq!(
        copy.wait(),
        Resolution::Pickled {
            ok: false,
            payload: Payload::from(b"boom".to_vec())
        }
    );
}

#[test]
fn a_future_of_another_process_can_be_answered_from_here() {
    let (parent, worker, _end) = linked();
    let owned = Arc::new(FakeFuture::default());
    let id = worker.export_future(&owned);
    parent.send_reply(
        FutureId { process: 1, id },
        true,
        Payload::from(b"set here".to_vec()),
    );
    assert_eq!(
        owned.wait(),
        Resolution::Pickled {
            ok: true,
            payload: Payload::from(b"set here".to_vec())
        }
    );
}

#[test]
fn the_parent_registry_lists_the_workers_actors_until_they_stop_or_die() {
    let (parent, worker, end) = linked();
    let (first, address) = actor(&worker);
    let (_second, other) = actor(&worker);
    worker.announce_registered(address.actor, b"first").unwrap();
    worker.announce_registered(other.actor, b"second").unwrap();
    // A round trip behind the announcements orders them before the check.
    let (echo, echo_address) = actor(&worker);
    let future = ask(&parent, echo_address, b"sync");
    let (_, reply) = receive(&echo);
    worker.send_reply(reply.unwrap(), true, Payload::default());
    future.wait();
    let listed: Vec<(Address, Vec<u8>)> = parent
        .registered()
        .into_iter()
        .map(|entry| (entry.actor, entry.payload.to_vec()))
        .collect();
    assert_eq!(
        listed,
        [(address, b"first".to_vec()), (other, b"second".to_vec())]
    );
    let flag = parent.stop_flag(address);
    first.stopped().set();
    assert!(flag.wait(Some(Instant::now() + PATIENCE)));
    let listed: Vec<Address> = parent.registered().iter().map(|e| e.actor).collect();
    assert_eq!(listed, [other]);
    end.shutdown(std::net::Shutdown::Both).unwrap();
    control(&parent, |c| matches!(c, Control::ProcessLost { .. }));
    assert!(parent.registered().is_empty());
}

#[test]
fn a_forked_copy_of_a_node_sends_nothing_and_sees_every_remote_actor_gone() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    parent.disown();
    let err = parent
        .send_message(address, Payload::from(b"from the fork".to_vec()), None)
        .unwrap_err();
    assert_eq!(err, SendError::Forked);
    assert!(err.to_string().contains("forked"));
    assert!(parent.stop_flag(address).is_set());
    assert!(
        mailbox
            .recv(Some(Instant::now() + Duration::from_millis(50)))
            .is_none()
    );
}

#[test]
fn a_node_without_links_is_not_disowned_by_a_fork() {
    let lonely = Arc::new(FakeNode::new(0));
    lonely.disown();
    let (mailbox, address) = actor(&lonely);
    lonely
        .send_message(address, Payload::from(b"here".to_vec()), None)
        .unwrap();
    assert_eq!(receive(&mailbox).0, b"here");
}

#[test]
fn a_quiet_link_is_found_silent_and_a_busy_one_is_not() {
    let (parent, worker, _end) = linked();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(parent.silent_peers(Duration::from_millis(20)), [1]);
    let (_mailbox, address) = actor(&parent);
    let future = ask(&worker, address, b"noise");
    drop(future);
    let deadline = Instant::now() + PATIENCE;
    while !parent.silent_peers(Duration::from_millis(20)).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the frame never counted as a sign of life"
        );
        std::thread::yield_now();
    }
}

// --- Metrics ---------------------------------------------------------------

fn decode<T: serde::de::DeserializeOwned>(outcome: &Resolution) -> T {
    match outcome {
        Resolution::Pickled { ok: true, payload } => {
            serde_pickle::from_slice(payload, serde_pickle::DeOptions::new()).unwrap()
        }
        other => panic!("expected a value, got {other:?}"),
    }
}

/// Waits until everything `worker` sent before now has been handled by the
/// parent: a tell to a parent actor, sent after it, arrives after it.
fn parent_caught_up(parent: &Arc<FakeNode>, worker: &Arc<FakeNode>) {
    let (mailbox, address) = actor(parent);
    worker
        .send_message(address, Payload::from(b"sync".to_vec()), None)
        .unwrap();
    receive(&mailbox);
}

#[test]
fn a_worker_answers_gather_stats_with_its_actors_and_usage() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    let name = Name {
        supervisor: Some("urn:uuid:1".into()),
        ..Name::new("Echo", "urn:uuid:7")
    };
    worker.enroll(&mailbox, name);
    for message in [b"one", b"two"] {
        parent
            .send_message(address, Payload::from(message.to_vec()), None)
            .unwrap();
    }
    let future = Arc::new(FakeFuture::default());
    parent.gather(1, Arc::clone(&future)).unwrap();
    let report: metrics::ProcessReport = decode(&future.wait());
    assert_eq!(report.process, 1);
    assert_eq!(report.usage.pid, std::process::id());
    assert_eq!(report.actors.len(), 1);
    let record = &report.actors[0];
    assert_eq!(
        (record.class.as_str(), record.urn.as_str(), record.number),
        ("Echo", "urn:uuid:7", address.actor)
    );
    assert_eq!(record.supervisor.as_deref(), Some("urn:uuid:1"));
    // The tells went out before the request, on the same link: both are in.
    assert_eq!(record.mailbox.waiting, 2);
}

#[test]
fn gather_stats_from_a_dead_worker_fails_with_why() {
    let (parent, _worker, end) = linked();
    end.shutdown(std::net::Shutdown::Both).unwrap();
    let future = Arc::new(FakeFuture::default());
    // Sent before or after the death is known: either way the answer is undeliverable.
    if parent.gather(1, Arc::clone(&future)).is_ok() {
        let reason = undeliverable(&future.wait()).to_owned();
        assert!(reason.starts_with("worker process 1"), "{reason}");
    }
}

#[test]
fn the_parent_refuses_gather_stats_and_workers_refuse_stats() {
    let (parent, worker, _end) = linked();
    let future = Arc::new(FakeFuture::default());
    worker.gather(0, Arc::clone(&future)).unwrap();
    assert!(undeliverable(&future.wait()).contains("only the parent sends it"));
    parent.send_frame(1, &Frame::Stats, &[]).unwrap();
    let Control::DeadLetter(text) = control(&worker, |c| matches!(c, Control::DeadLetter(_)))
    else {
        unreachable!()
    };
    assert!(text.contains("only workers send it"), "{text}");
}

#[test]
fn pushed_counters_reach_the_parent_and_only_changes_are_pushed() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    assert!(parent.remote_stats(address).is_none());
    mailbox.send((b"queued".to_vec(), None)).unwrap();
    let mut last = HashMap::new();
    worker.push_counters(&mut last).unwrap();
    parent_caught_up(&parent, &worker);
    let (age, counters) = parent.remote_stats(address).expect("counters arrived");
    assert_eq!((counters.waiting, counters.sent), (1, 1));
    assert!(age < PATIENCE);
    assert!(
        worker.changed_counters(&mut last).is_empty(),
        "nothing changed"
    );
    mailbox.try_recv();
    let changed = worker.changed_counters(&mut last);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].mailbox.waiting, 0);
}

#[test]
fn pushed_counters_are_forgotten_when_the_actor_stops_or_its_process_dies() {
    let (parent, worker, end) = linked();
    let (first, first_address) = actor(&worker);
    let (_second, second_address) = actor(&worker);
    worker.push_counters(&mut HashMap::new()).unwrap();
    parent_caught_up(&parent, &worker);
    assert!(parent.remote_stats(first_address).is_some());
    first.stopped().set();
    parent_caught_up(&parent, &worker);
    assert!(parent.remote_stats(first_address).is_none());
    assert!(parent.remote_stats(second_address).is_some());
    end.shutdown(std::net::Shutdown::Both).unwrap();
    control(&parent, |c| matches!(c, Control::ProcessLost { .. }));
    assert!(parent.remote_stats(second_address).is_none());
}

#[test]
fn undecodable_stats_are_reported_and_change_nothing() {
    let (parent, worker, _end) = linked();
    worker
        .send_frame(0, &Frame::Stats, b"not a pickle")
        .unwrap();
    let Control::DeadLetter(text) = control(&parent, |c| matches!(c, Control::DeadLetter(_)))
    else {
        unreachable!()
    };
    assert!(text.contains("does not decode"), "{text}");
}

/// A parent and interpreter worker 1, linked in memory; also the worker's
/// end of the channel, to close it with.
fn linked_in_memory() -> (Arc<FakeNode>, Arc<FakeNode>, memory::End) {
    let parent = Arc::new(FakeNode::new(0));
    let worker = Arc::new(FakeNode::new(1));
    let (up, down) = memory::pair();
    let worker_end = down.clone();
    parent.connect_memory(1, up).unwrap();
    worker.connect_memory(0, down).unwrap();
    (parent, worker, worker_end)
}

#[test]
fn in_memory_tells_reach_an_actor_of_the_other_node_in_the_order_sent() {
    let (parent, worker, _end) = linked_in_memory();
    let (mailbox, address) = actor(&worker);
    for i in 0..100u8 {
        parent
            .send_message(address, Payload::from(vec![i]), None)
            .unwrap();
    }
    for i in 0..100u8 {
        assert_eq!(receive(&mailbox), (vec![i], None));
    }
}

#[test]
fn in_memory_asks_are_answered_both_ways() {
    let (parent, worker, _end) = linked_in_memory();
    let (down_box, down) = actor(&worker);
    let (up_box, up) = actor(&parent);
    let future = ask(&parent, down, b"ping");
    let (message, reply) = receive(&down_box);
    assert_eq!(message, b"ping");
    worker.send_reply(reply.unwrap(), true, Payload::from(b"pong".to_vec()));
    let back = ask(&worker, up, b"ping back");
    let (_, reply) = receive(&up_box);
    parent.send_reply(reply.unwrap(), false, Payload::from(b"boom".to_vec()));
    assert_eq!(
        future.wait(),
        Resolution::Pickled {
            ok: true,
            payload: Payload::from(b"pong".to_vec())
        }
    );
    assert_eq!(
        back.wait(),
        Resolution::Pickled {
            ok: false,
            payload: Payload::from(b"boom".to_vec())
        }
    );
}

#[test]
fn in_memory_a_large_payload_arrives_whole() {
    let (parent, worker, _end) = linked_in_memory();
    let (mailbox, address) = actor(&worker);
    let big: Vec<u8> = (0..10_000_000u32).map(|i| i as u8).collect();
    parent
        .send_message(address, Payload::from(big.clone()), None)
        .unwrap();
    assert_eq!(receive(&mailbox).0, big);
}

#[test]
fn in_memory_a_stop_announced_before_a_reply_is_known_when_the_reply_arrives() {
    for _ in 0..20 {
        let (parent, worker, _end) = linked_in_memory();
        let (mailbox, address) = actor(&worker);
        let flag = parent.stop_flag(address);
        let future = ask(&parent, address, b"stop, then answer");
        let (_, reply) = receive(&mailbox);
        mailbox.stopped().set();
        worker.send_reply(reply.unwrap(), true, Payload::from(b"stopped".to_vec()));
        future.wait();
        assert!(flag.is_set(), "the reply overtook the stop");
    }
}

#[test]
fn in_memory_a_worker_that_closes_its_end_fails_the_asks_waiting_on_it() {
    let (parent, worker, end) = linked_in_memory();
    let (_mailbox, address) = actor(&worker);
    let flag = parent.stop_flag(address);
    let future = ask(&parent, address, b"never answered");
    end.close();
    let reason = undeliverable(&future.wait()).to_owned();
    assert_eq!(
        reason,
        "Echo (urn:1) died with its process: interpreter worker 1 closed its connection"
    );
    assert!(flag.is_set());
    let Control::ProcessLost {
        process, expected, ..
    } = control(&parent, |c| matches!(c, Control::ProcessLost { .. }))
    else {
        unreachable!()
    };
    assert_eq!((process, expected), (1, false));
    assert!(worker.parent_lost().wait(Some(Instant::now() + PATIENCE)));
}

#[test]
fn in_memory_a_retired_worker_ends_as_expected() {
    let (parent, _worker, end) = linked_in_memory();
    parent.retire(1);
    end.close();
    assert!(!parent.await_exit(1, Instant::now() + PATIENCE));
    let Control::ProcessLost { expected, .. } =
        control(&parent, |c| matches!(c, Control::ProcessLost { .. }))
    else {
        unreachable!()
    };
    assert!(expected);
}

#[test]
fn in_memory_a_worker_that_does_not_end_in_time_is_cut_off() {
    let (parent, worker, _end) = linked_in_memory();
    let (_mailbox, address) = actor(&worker);
    let future = ask(&parent, address, b"stuck");
    assert!(parent.await_exit(1, Instant::now()));
    let reason = undeliverable(&future.wait()).to_owned();
    assert!(
        reason.ends_with("interpreter worker 1 was cut off from the system"),
        "{reason}"
    );
    // The worker's node sees its parent gone, as a worker process would.
    assert!(worker.parent_lost().wait(Some(Instant::now() + PATIENCE)));
}

#[test]
fn in_memory_workers_are_never_found_silent() {
    let (parent, _worker, _end) = linked_in_memory();
    std::thread::sleep(Duration::from_millis(30));
    assert!(parent.silent_peers(Duration::from_millis(20)).is_empty());
}

#[test]
fn in_memory_the_parent_registry_lists_the_workers_actors() {
    let (parent, worker, end) = linked_in_memory();
    let (_first, address) = actor(&worker);
    worker.announce_registered(address.actor, b"first").unwrap();
    let (echo, echo_address) = actor(&worker);
    let future = ask(&parent, echo_address, b"sync");
    let (_, reply) = receive(&echo);
    worker.send_reply(reply.unwrap(), true, Payload::default());
    future.wait();
    let listed: Vec<Address> = parent.registered().iter().map(|e| e.actor).collect();
    assert_eq!(listed, [address]);
    end.close();
    control(&parent, |c| matches!(c, Control::ProcessLost { .. }));
    assert!(parent.registered().is_empty());
}

#[test]
fn in_memory_garbage_from_the_worker_breaks_only_its_link() {
    let (parent, _worker, end) = linked_in_memory();
    end.send(b"not a pickle".to_vec(), Vec::new()).unwrap();
    let Control::ProcessLost { cause, .. } =
        control(&parent, |c| matches!(c, Control::ProcessLost { .. }))
    else {
        unreachable!()
    };
    assert!(cause.contains("bad frame header"), "{cause}");
}

/// The next `Control::Down` of `node`.
fn down(node: &FakeNode) -> (u64, Address, Down) {
    let Control::Down { token, actor, down } = control(node, |c| matches!(c, Control::Down { .. }))
    else {
        unreachable!()
    };
    (token, actor, down)
}

fn exited(reason: &str, payload: &[u8]) -> Down {
    Down::Exited(ExitRecord {
        reason: reason.into(),
        payload: Arc::from(payload),
    })
}

#[test]
fn an_end_announced_by_a_worker_reaches_a_watch_in_the_parent_once_with_its_reason() {
    let (parent, worker, _end) = linked();
    let (_mailbox, address) = actor(&worker);
    let Watch::Watching(token) = parent.watch(address) else {
        panic!("the actor has not ended yet")
    };
    worker.announce_exit(address.actor, "failure", b"ZeroDivisionError");
    assert_eq!(
        down(&parent),
        (token, address, exited("failure", b"ZeroDivisionError"))
    );
    // A later watch hears of the end at once, from memory.
    assert_eq!(
        parent.watch(address),
        Watch::Ended(exited("failure", b"ZeroDivisionError"))
    );
    // Told once: a second announcement tells nobody.
    worker.announce_exit(address.actor, "normal", b"");
    let barrier = parent.control_barrier();
    assert!(matches!(
        control(&parent, |c| matches!(
            c,
            Control::Down { .. } | Control::Barrier(_)
        )),
        Control::Barrier(_)
    ));
    drop(barrier);
}

#[test]
fn the_parent_passes_an_end_on_to_the_other_workers() {
    let parent = Arc::new(FakeNode::new(0));
    let first = Arc::new(FakeNode::new(1));
    let second = Arc::new(FakeNode::new(2));
    for (number, worker) in [(1, &first), (2, &second)] {
        let (up, down) = UnixStream::pair().unwrap();
        parent.connect(number, up, None).unwrap();
        worker.connect(0, down, None).unwrap();
    }
    let (_mailbox, address) = actor(&first);
    let Watch::Watching(token) = second.watch(address) else {
        panic!("the actor has not ended yet")
    };
    first.announce_exit(address.actor, "normal", b"");
    assert_eq!(down(&second), (token, address, exited("normal", b"")));
}

#[test]
fn a_watch_on_an_actor_whose_process_dies_is_told_the_cause() {
    let (parent, worker, end) = linked();
    let (_mailbox, address) = actor(&worker);
    let Watch::Watching(token) = parent.watch(address) else {
        panic!("the actor has not ended yet")
    };
    let Watch::Watching(cancelled) = parent.watch(address) else {
        panic!("the actor has not ended yet")
    };
    assert!(parent.unwatch(cancelled));
    end.shutdown(std::net::Shutdown::Both).unwrap();
    let (told, actor, down) = down(&parent);
    assert_eq!((told, actor), (token, address));
    let Down::ProcessDied(cause) = down else {
        panic!("expected a death, got {down:?}")
    };
    assert!(cause.starts_with("worker process 1"), "{cause}");
    assert!(matches!(
        parent.watch(address),
        Watch::Ended(Down::ProcessDied(_))
    ));
    assert!(!parent.unwatch(token));
}

#[test]
fn a_worker_announcing_the_end_of_another_process_actor_is_ignored() {
    let (parent, worker, _end) = linked();
    let elsewhere = Address {
        process: 2,
        actor: 5,
    };
    let Watch::Watching(_) = parent.watch(elsewhere) else {
        panic!("nothing ended yet")
    };
    worker
        .send_frame(
            0,
            &Frame::Exited {
                actor: elsewhere,
                reason: "normal".into(),
            },
            b"",
        )
        .unwrap();
    let Control::DeadLetter(text) = control(&parent, |c| {
        matches!(c, Control::DeadLetter(_) | Control::Down { .. })
    }) else {
        panic!("the forged end was believed")
    };
    assert!(text.contains("announces only its own actors"), "{text}");
}

/// A relay of `node`, exported, pointing at `target`.
fn relay(node: &Arc<FakeNode>, target: Option<Address>) -> (Arc<Relay<Fake>>, Address) {
    let relay = Arc::new(Relay::new());
    relay.set_label("Stable (urn:2)".into());
    node.redirect(&relay, target).unwrap();
    let id = node.export_relay(&relay);
    (
        relay,
        Address {
            process: node.process(),
            actor: id,
        },
    )
}

fn relay_ask(node: &Arc<FakeNode>, relay: &Relay<Fake>, message: &[u8]) -> Arc<FakeFuture> {
    let future = Arc::new(FakeFuture::default());
    let answer = Answer::Here(Arc::clone(&future), relay.label());
    assert!(
        node.relay_send(relay, Payload::from(message.to_vec()), Some(answer))
            .is_ok()
    );
    future
}

#[test]
fn a_relay_passes_messages_on_in_order_and_holds_them_without_a_target() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    let (relay, _) = relay(&parent, None);
    for i in 0..3u8 {
        assert!(
            parent
                .relay_send(&relay, Payload::from(vec![i]), None)
                .is_ok()
        );
    }
    assert_eq!(relay.held(), 3);
    parent.redirect(&relay, Some(address)).unwrap();
    for i in 3..6u8 {
        assert!(
            parent
                .relay_send(&relay, Payload::from(vec![i]), None)
                .is_ok()
        );
    }
    for i in 0..6u8 {
        assert_eq!(receive(&mailbox), (vec![i], None));
    }
    let future = relay_ask(&parent, &relay, b"ping");
    let (_, reply) = receive(&mailbox);
    worker.send_reply(reply.unwrap(), true, Payload::from(b"pong".to_vec()));
    assert_eq!(
        future.wait(),
        Resolution::Pickled {
            ok: true,
            payload: Payload::from(b"pong".to_vec())
        }
    );
}

#[test]
fn a_relay_whose_target_died_holds_until_redirected_to_a_new_one() {
    let parent = Arc::new(FakeNode::new(0));
    let first = Arc::new(FakeNode::new(1));
    let second = Arc::new(FakeNode::new(2));
    let (up, down) = UnixStream::pair().unwrap();
    let first_end = down.try_clone().unwrap();
    parent.connect(1, up, None).unwrap();
    first.connect(0, down, None).unwrap();
    let (up, down) = UnixStream::pair().unwrap();
    parent.connect(2, up, None).unwrap();
    second.connect(0, down, None).unwrap();
    let (_old, old_address) = actor(&first);
    let (relay, _) = relay(&parent, Some(old_address));
    let lost = relay_ask(&parent, &relay, b"in the dying worker");
    first_end.shutdown(std::net::Shutdown::Both).unwrap();
    assert!(
        undeliverable(&lost.wait()).starts_with("Stable (urn:2) died with its process"),
        "{:?}",
        lost.wait()
    );
    // Sent after the death: held, then passed to the new run, in order.
    assert!(
        parent
            .relay_send(&relay, Payload::from(b"one".to_vec()), None)
            .is_ok()
    );
    let answered = relay_ask(&parent, &relay, b"two");
    assert_eq!(relay.target(), None);
    let (new, new_address) = actor(&second);
    parent.redirect(&relay, Some(new_address)).unwrap();
    assert_eq!(receive(&new), (b"one".to_vec(), None));
    let (message, reply) = receive(&new);
    assert_eq!(message, b"two");
    second.send_reply(
        reply.unwrap(),
        true,
        Payload::from(b"from the new run".to_vec()),
    );
    assert_eq!(
        answered.wait(),
        Resolution::Pickled {
            ok: true,
            payload: Payload::from(b"from the new run".to_vec())
        }
    );
}

#[test]
fn an_ask_from_another_process_through_a_relay_is_failed_when_the_target_dies() {
    // The relay is in the parent; the asker in worker 1; the target in worker 2.
    let parent = Arc::new(FakeNode::new(0));
    let asker = Arc::new(FakeNode::new(1));
    let host = Arc::new(FakeNode::new(2));
    let (up, down) = UnixStream::pair().unwrap();
    parent.connect(1, up, None).unwrap();
    asker.connect(0, down, None).unwrap();
    let (up, down) = UnixStream::pair().unwrap();
    let host_end = down.try_clone().unwrap();
    parent.connect(2, up, None).unwrap();
    host.connect(0, down, None).unwrap();
    let (mailbox, target) = actor(&host);
    let (_relay, stable) = relay(&parent, Some(target));
    let answered = ask(&asker, stable, b"first");
    let (_, reply) = receive(&mailbox);
    host.send_reply(reply.unwrap(), true, Payload::from(b"answered".to_vec()));
    assert_eq!(
        answered.wait(),
        Resolution::Pickled {
            ok: true,
            payload: Payload::from(b"answered".to_vec())
        }
    );
    let stranded = ask(&asker, stable, b"second");
    receive(&mailbox);
    host_end.shutdown(std::net::Shutdown::Both).unwrap();
    let reason = undeliverable(&stranded.wait()).to_owned();
    assert!(
        reason.starts_with("Echo (urn:1) died with its process: worker process 2"),
        "{reason}"
    );
}

#[test]
fn a_closed_relay_fails_what_it_held_and_is_announced_stopped() {
    let (parent, worker, _end) = linked();
    let (relay, stable) = relay(&parent, None);
    let flag = worker.stop_flag(stable);
    assert!(
        parent
            .relay_send(&relay, Payload::from(b"told".to_vec()), None)
            .is_ok()
    );
    let held = relay_ask(&parent, &relay, b"asked");
    assert_eq!(parent.close_relay(&relay), 1);
    assert_eq!(
        undeliverable(&held.wait()),
        "Stable (urn:2) stopped before handling the message"
    );
    assert!(flag.wait(Some(Instant::now() + PATIENCE)));
    assert!(matches!(
        parent.relay_send(&relay, Payload::from(b"late".to_vec()), None),
        Err(RelayRefused::Closed(None))
    ));
    // From elsewhere, the closed relay is an actor that is not found.
    let refused = ask(&worker, stable, b"anyone?");
    assert_eq!(undeliverable(&refused.wait()), "Echo (urn:1) not found");
}

fn shared(data: &[u8]) -> crate::payload::SharedBuffer {
    let writer = crate::payload::BufferWriter::new(data.len() as u64).unwrap();
    writer.write_all(data).unwrap();
    writer.seal().unwrap()
}

#[test]
fn shared_buffers_travel_from_worker_to_worker_through_the_parent_and_back() {
    let parent = Arc::new(FakeNode::new(0));
    let workers: Vec<_> = (1..=2)
        .map(|process| {
            let worker = Arc::new(FakeNode::new(process));
            let (up, down) = UnixStream::pair().unwrap();
            parent.connect(process, up, None).unwrap();
            worker.connect(0, down, None).unwrap();
            worker
        })
        .collect();
    let (mailbox, address) = actor(&workers[1]);
    let big = vec![7u8; 1 << 20];
    let future = Arc::new(FakeFuture::default());
    workers[0]
        .send_message(
            address,
            Payload::new(b"ask:".to_vec(), vec![shared(b"one,"), shared(&big)]),
            Some(Answer::Here(Arc::clone(&future), "Echo (urn:2)".into())),
        )
        .unwrap();
    let (message, reply) = receive(&mailbox);
    let mut expected = b"ask:one,".to_vec();
    expected.extend_from_slice(&big);
    assert_eq!(message, expected);
    workers[1].send_reply(
        reply.unwrap(),
        true,
        Payload::new(b"reply".to_vec(), vec![shared(b"back")]),
    );
    let Resolution::Pickled { ok: true, payload } = future.wait() else {
        panic!("expected a value");
    };
    assert_eq!(payload.bytes(), b"reply");
    let mut back = vec![0; 4];
    payload.buffers()[0].read_into(&mut back).unwrap();
    assert_eq!(back, b"back");
}

#[test]
fn shared_buffers_on_a_frame_that_carries_none_are_refused_and_closed() {
    let parent = Arc::new(FakeNode::new(0));
    let (up, down) = UnixStream::pair().unwrap();
    parent.connect(1, up, None).unwrap();
    let link = crate::pool::ipc::Link::new(down).unwrap();
    link.transmit_payload(
        &Frame::Log,
        &Payload::new(b"record".to_vec(), vec![shared(b"x")]),
    )
    .unwrap();
    let refused = control(&parent, |item| matches!(item, Control::DeadLetter(_)));
    let Control::DeadLetter(text) = refused else {
        unreachable!()
    };
    assert!(
        text.contains("only messages and replies carry shared buffers"),
        "{text}"
    );
}

/// An actor of `node` whose mailbox holds `capacity` messages.
fn bounded_actor(
    node: &Arc<FakeNode>,
    capacity: usize,
    overflow: crate::mailbox::Overflow,
) -> (Arc<FakeMailbox>, Address) {
    let (mailbox, address) = actor(node);
    mailbox
        .set_bound(crate::mailbox::Bound { capacity, overflow })
        .unwrap();
    (mailbox, address)
}

fn offer(node: &Arc<FakeNode>, to: Address, message: &[u8]) -> Arc<FakeFuture> {
    let ack = Arc::new(FakeFuture::default());
    node.send_offer(
        to,
        Payload::from(message.to_vec()),
        None,
        Arc::clone(&ack),
        "Bounded (urn:2)".into(),
    )
    .unwrap();
    ack
}

fn confirmed(outcome: &Resolution) -> bool {
    *outcome
        == Resolution::Pickled {
            ok: true,
            payload: Payload::from(PICKLED_NONE.to_vec()),
        }
}

#[test]
fn an_offer_to_a_full_block_mailbox_is_confirmed_once_there_is_room() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = bounded_actor(&worker, 1, crate::mailbox::Overflow::Block);
    assert!(confirmed(&offer(&parent, address, b"first").wait()));
    let second = offer(&parent, address, b"second");
    // Parked in the worker: the mailbox stays at its bound, unconfirmed.
    std::thread::sleep(Duration::from_millis(50));
    assert!(!second.0.is_set());
    assert_eq!(mailbox.len(), 1);
    assert_eq!(receive(&mailbox).0, b"first");
    assert!(confirmed(&second.wait()));
    assert_eq!(receive(&mailbox).0, b"second");
}

#[test]
fn a_parked_offer_is_refused_when_the_actor_stops() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = bounded_actor(&worker, 1, crate::mailbox::Overflow::Block);
    assert!(confirmed(&offer(&parent, address, b"first").wait()));
    let second = offer(&parent, address, b"second");
    std::thread::sleep(Duration::from_millis(20));
    mailbox.stopped().set();
    assert_eq!(undeliverable(&second.wait()), "Bounded (urn:2) not found");
    assert_eq!(mailbox.drain_stopped().len(), 1);
}

#[test]
fn an_offer_to_a_full_fail_mailbox_is_refused_as_full() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = bounded_actor(&worker, 1, crate::mailbox::Overflow::Fail);
    assert!(confirmed(&offer(&parent, address, b"first").wait()));
    let before = crate::metrics::dead_letters();
    let refused = offer(&parent, address, b"second").wait();
    assert!(
        undeliverable(&refused).ends_with(MAILBOX_FULL),
        "{refused:?}"
    );
    assert_eq!(mailbox.len(), 1);
    assert!(crate::metrics::dead_letters() > before);
}

#[test]
fn a_tell_or_ask_to_a_full_mailbox_is_refused_without_waiting() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = bounded_actor(&worker, 1, crate::mailbox::Overflow::Block);
    parent
        .send_message(address, Payload::from(b"first".to_vec()), None)
        .unwrap();
    let asked = ask(&parent, address, b"second");
    assert!(undeliverable(&asked.wait()).ends_with(MAILBOX_FULL));
    parent
        .send_message(address, Payload::from(b"third".to_vec()), None)
        .unwrap();
    // Behind the refused ones, on the same link: the first is all there is.
    let ping = ask(&parent, address, b"fourth");
    assert!(undeliverable(&ping.wait()).ends_with(MAILBOX_FULL));
    assert_eq!(mailbox.len(), 1);
}

#[test]
fn a_relay_holds_an_offer_and_passes_it_on_as_an_offer() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = bounded_actor(&worker, 1, crate::mailbox::Overflow::Block);
    let (relay, _) = relay(&parent, None);
    let offered = |message: &[u8]| {
        let ack = Arc::new(FakeFuture::default());
        let answer = Answer::Here(Arc::clone(&ack), relay.label());
        assert!(
            parent
                .relay_offer(&relay, Payload::from(message.to_vec()), None, answer)
                .is_ok()
        );
        ack
    };
    let first = offered(b"first");
    let second = offered(b"second");
    // Held without a target: nobody has queued them yet.
    assert_eq!(relay.held(), 2);
    assert!(!first.0.is_set());
    parent.redirect(&relay, Some(address)).unwrap();
    assert!(confirmed(&first.wait()));
    // The second waits for room in the worker, as any offer does.
    assert_eq!(receive(&mailbox).0, b"first");
    assert!(confirmed(&second.wait()));
    assert_eq!(receive(&mailbox).0, b"second");
}

#[test]
fn a_closed_relay_refuses_the_offers_it_held() {
    let (parent, _worker, _end) = linked();
    let (relay, _) = relay(&parent, None);
    let ack = Arc::new(FakeFuture::default());
    let answer = Answer::Here(Arc::clone(&ack), relay.label());
    assert!(
        parent
            .relay_offer(&relay, Payload::from(b"held".to_vec()), None, answer)
            .is_ok()
    );
    assert_eq!(parent.close_relay(&relay), 1);
    assert!(undeliverable(&ack.wait()).ends_with("stopped before handling the message"));
}

/// The CPU time the calling thread has used.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec.unsigned_abs(), t.tv_nsec.unsigned_abs() as u32)
}

fn wakeup() -> crate::wait::Wakeup {
    crate::wait::Wakeup::of_this_thread().expect("an eventfd")
}

fn within(patience: Duration) -> Instant {
    Instant::now() + patience
}

#[test]
fn a_thread_parked_reading_the_links_gets_its_reply() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    let echo = std::thread::spawn(move || {
        for _ in 0..50 {
            let (message, reply) = receive(&mailbox);
            worker.send_reply(reply.unwrap(), true, Payload::from(message));
        }
    });
    let mine = wakeup();
    for i in 0..50u8 {
        let future = ask(&parent, address, &[i]);
        // The link's own thread may read the reply instead; then, as for
        // any waiter, whoever resolves the future wakes the reader.
        future.0.on_set(move || mine.wake());
        let parked = parent.read_parked(mine, Some(within(PATIENCE)), &|| future.0.is_set());
        assert_eq!(parked, Some(true));
        assert_eq!(
            future.wait(),
            Resolution::Pickled {
                ok: true,
                payload: Payload::from(vec![i])
            }
        );
    }
    echo.join().unwrap();
}

#[test]
fn a_thread_parked_reading_quiet_links_sleeps_until_its_deadline() {
    let (parent, _worker, _end) = linked();
    let started = Instant::now();
    let cpu = thread_cpu();
    let parked = parent.read_parked(wakeup(), Some(within(Duration::from_millis(300))), &|| {
        false
    });
    assert_eq!(parked, Some(false));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        thread_cpu().saturating_sub(cpu) < Duration::from_millis(30),
        "it spun"
    );
}

#[test]
fn a_thread_parked_reading_the_links_wakes_when_told_to() {
    let (parent, _worker, _end) = linked();
    let slot = Arc::new(Slot::new());
    let mine = wakeup();
    let setter = {
        let slot = Arc::clone(&slot);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            slot.set(()).unwrap();
            mine.wake();
        })
    };
    let started = Instant::now();
    let parked = parent.read_parked(mine, Some(within(PATIENCE)), &|| slot.is_set());
    assert_eq!(parked, Some(true));
    assert!(started.elapsed() < PATIENCE / 2);
    setter.join().unwrap();
}

#[test]
fn the_reading_seat_goes_to_a_newcomer_only_once_its_holder_sat_a_while() {
    let seat = Mutex::default();
    let (first, second) = (wakeup(), wakeup());
    let start = Instant::now();
    let held = ReaderSeat::take(&seat, first, start).unwrap();
    let soon = start + SEAT_HELD_FOR / 2;
    assert!(ReaderSeat::take(&seat, second, soon).is_none());
    assert!(held.held());
    let later = start + SEAT_HELD_FOR * 2;
    let taken = ReaderSeat::take(&seat, second, later).unwrap();
    assert!(!held.held());
    drop(held); // leaving a seat taken from you leaves it to the taker
    assert!(taken.held());
    drop(taken);
    assert!(ReaderSeat::take(&seat, first, later).is_some());
}

#[test]
fn a_reader_that_gives_way_leaves_its_park() {
    let (parent, _worker, _end) = linked();
    let first = {
        let parent = Arc::clone(&parent);
        std::thread::spawn(move || parent.read_parked(wakeup(), Some(within(PATIENCE)), &|| false))
    };
    std::thread::sleep(SEAT_HELD_FOR * 50);
    let started = Instant::now();
    let second = parent.read_parked(wakeup(), Some(within(Duration::from_millis(100))), &|| {
        false
    });
    assert_eq!(second, Some(false));
    assert_eq!(first.join().unwrap(), None);
    assert!(started.elapsed() < PATIENCE / 2);
}

#[test]
fn no_thread_parks_reading_without_a_socket_to_read() {
    let alone = Arc::new(FakeNode::new(0));
    assert_eq!(
        alone.read_parked(wakeup(), Some(within(PATIENCE)), &|| false),
        None
    );
    let (parent, _worker, _end) = linked_in_memory();
    assert_eq!(
        parent.read_parked(wakeup(), Some(within(PATIENCE)), &|| false),
        None
    );
}

#[test]
fn a_link_that_ends_under_a_parked_reader_is_reported_and_not_spun_on() {
    let (parent, worker, end) = linked();
    let (_mailbox, address) = actor(&worker);
    let future = ask(&parent, address, b"never answered");
    drop(worker);
    end.shutdown(std::net::Shutdown::Both).unwrap();
    let cpu = thread_cpu();
    let started = Instant::now();
    let parked = parent.read_parked(wakeup(), Some(within(PATIENCE)), &|| future.0.is_set());
    // The reader sees the end and leaves it to the link's thread, which
    // fails the ask; or it reads the end and fails it itself.
    assert!(matches!(parked, None | Some(true)), "{parked:?}");
    assert!(undeliverable(&future.wait()).contains("process 1"));
    assert!(started.elapsed() < PATIENCE / 2);
    assert!(
        thread_cpu().saturating_sub(cpu) < Duration::from_millis(100),
        "it spun"
    );
}

/// The table of levels `worker` holds once `address`, one of its actors,
/// received a tell the parent sent after `set_log_levels`.
fn levels_on_arrival(
    parent: &Arc<FakeNode>,
    worker: &Arc<FakeNode>,
    mailbox: &FakeMailbox,
    address: Address,
) -> Option<(u64, Vec<u8>)> {
    parent
        .send_message(address, Payload::from(b"after".to_vec()), None)
        .unwrap();
    receive(mailbox);
    worker
        .log_levels(0)
        .map(|(version, table)| (version, table.to_vec()))
}

#[test]
fn new_log_levels_reach_a_worker_ahead_of_the_frames_sent_after_them() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    assert!(
        worker.log_levels(0).is_none(),
        "a table before any was sent"
    );
    for (round, table) in [b"warning", b"debug!!"].into_iter().enumerate() {
        parent.set_log_levels(table);
        let expected = (round as u64 + 1, table.to_vec());
        assert_eq!(
            levels_on_arrival(&parent, &worker, &mailbox, address),
            Some(expected)
        );
    }
    // What a reader already has is not handed out again.
    assert!(worker.log_levels(2).is_none());
}

#[test]
fn a_new_link_starts_with_the_parents_latest_log_levels() {
    let parent = Arc::new(FakeNode::new(0));
    parent.set_log_levels(b"before any worker");
    parent.set_log_levels(b"the latest");
    let worker = Arc::new(FakeNode::new(1));
    let (up, down) = UnixStream::pair().unwrap();
    parent.connect(1, up, None).unwrap();
    worker.connect(0, down, None).unwrap();
    let (mailbox, address) = actor(&worker);
    assert_eq!(
        levels_on_arrival(&parent, &worker, &mailbox, address),
        Some((1, b"the latest".to_vec()))
    );
}

#[test]
fn unchanged_log_levels_are_not_sent_again() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    parent.set_log_levels(b"same");
    parent.set_log_levels(b"same");
    assert_eq!(
        levels_on_arrival(&parent, &worker, &mailbox, address),
        Some((1, b"same".to_vec()))
    );
}

#[test]
fn only_the_parent_sends_log_levels() {
    let (parent, worker, mut end) = linked();
    // A worker's node keeps its levels to itself.
    worker.set_log_levels(b"from a worker");
    // A worker that sends them anyway is refused.
    let header = frame::encode_header(&Frame::LogLevels).unwrap();
    frame::write_frame(&mut end, &header, b"sneaky").unwrap();
    let Control::DeadLetter(text) = control(&parent, |c| matches!(c, Control::DeadLetter(_)))
    else {
        unreachable!()
    };
    assert!(text.contains("only the parent sends it"), "{text}");
    assert!(parent.log_levels(0).is_none());
}

#[test]
fn a_forked_copy_of_the_parent_sends_no_log_levels() {
    let (parent, worker, _end) = linked();
    let (mailbox, address) = actor(&worker);
    parent.set_log_levels(b"original");
    assert!(levels_on_arrival(&parent, &worker, &mailbox, address).is_some());
    parent.disown();
    parent.set_log_levels(b"from the fork");
    // Neither kept nor sent: the table is bumped before it is sent.
    assert!(parent.log_levels(1).is_none());
}

#[test]
fn in_memory_log_levels_wait_in_the_channel_for_the_worker() {
    let (parent, _worker, end) = linked_in_memory();
    parent.set_log_levels(b"info");
    let (version, table) = end.log_levels(0).expect("the table is in the channel");
    assert_eq!((version, &*table), (1, &b"info"[..]));
}
