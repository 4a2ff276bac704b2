"""kill -9 of a worker under load, with supervised process actors.

Several sender threads keep asking every child of a supervisor (each
message numbered by its sender) while one worker process is killed with
SIGKILL. Then:

- the children come back on live workers (not on the dead one), with the
  same refs, and answer;
- every message accepted before the kill was either handled (its ask has
  its answer) or reported (its ask failed with `ActorDeadError`): none is
  left waiting, and none fails any other way;
- for every sender and child, the messages the child handled came in the
  order the sender sent them, the restart included (each child reports
  what it handles to a recorder in the parent, which survives the kill).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from supervised_actors import Recorder, Sequenced

import pykka_rs as pykka
from pykka_rs import ActorDeadError, ChildSpec, Supervisor

CHILDREN = 4
SENDERS = 3
PER_SENDER = 150

# (sender, child, seq, future of the answer)
Sent = list[tuple[int, int, int, pykka.Future[Any]]]


def start_load(
    refs: list[pykka.ActorRef[Any]], halfway: threading.Barrier
) -> tuple[list[threading.Thread], Sent]:
    """Start SENDERS threads asking every child PER_SENDER times.

    Each waits at `halfway` once, half way through.
    """
    sent: Sent = []
    lock = threading.Lock()

    def send(sender: int) -> None:
        for seq in range(PER_SENDER):
            if seq == PER_SENDER // 2:
                halfway.wait(30)
            for child, ref in enumerate(refs):
                future = ref.ask((sender, seq, 2000), block=False)
                with lock:
                    sent.append((sender, child, seq, future))

    threads = [threading.Thread(target=send, args=(s,)) for s in range(SENDERS)]
    for thread in threads:
        thread.start()
    return threads, sent


def outcome(future: pykka.Future[Any]) -> Any:
    """The answer, or the `ActorDeadError` that reported the message lost."""
    try:
        return future.get(timeout=60)
    except ActorDeadError as error:
        return error


def handled_in_order(history: list[tuple[str, int, int]]) -> dict[Any, list[int]]:
    """What each child handled from each sender, in the order it handled it."""
    seen: dict[tuple[str, int], list[int]] = {}
    for child, sender, seq in history:
        if sender < SENDERS:
            seen.setdefault((child, sender), []).append(seq)
    return seen


def test_kill_9_of_a_worker_under_load_loses_nothing_silently_and_keeps_order() -> None:
    recorder = Recorder.start()
    sup = Supervisor.start(
        [
            ChildSpec(Sequenced, (f"child-{n}", recorder), id=f"child-{n}")
            for n in range(CHILDREN)
        ],
        max_restarts=CHILDREN * 2,
        within=60.0,
    )
    refs = [ref for _, ref, _ in sup.proxy().which_children().get()]
    pids = [ref.proxy().pid().get() for ref in refs]
    assert len(set(pids)) == 2, "the children should be spread over both workers"
    victim = min(pids)

    halfway = threading.Barrier(SENDERS + 1)
    threads, sent = start_load(refs, halfway)
    halfway.wait(30)
    # Busy the victim's children with long messages, so that the kill finds
    # messages queued behind them.
    busy = [
        ref.ask((SENDERS, 0, 3_000_000), block=False)
        for ref, pid in zip(refs, pids, strict=True)
        if pid == victim
    ]
    os.kill(victim, signal.SIGKILL)
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()

    outcomes = [(sender, child, seq, outcome(f)) for sender, child, seq, f in sent]
    lost = [o for *_, o in outcomes if isinstance(o, ActorDeadError)]
    answers = [(s, c, q, o) for s, c, q, o in outcomes if not isinstance(o, Exception)]
    assert len(lost) + len(answers) == SENDERS * PER_SENDER * CHILDREN
    assert all("died with its process" in str(error) for error in lost)
    assert all(o[:3] == (f"child-{c}", s, q) for s, c, q, o in answers)
    lost += [o for o in map(outcome, busy) if isinstance(o, ActorDeadError)]
    assert lost, "the kill should have caught messages in the dead worker"

    # Back on live workers, the same refs answering.
    live = {worker["pid"] for worker in pykka._process.workers()}
    new_pids = [ref.proxy().pid().get(timeout=60) for ref in refs]
    assert victim not in new_pids
    assert set(new_pids) <= live

    # Per sender and child: handled in the order sent, none twice.
    seen = handled_in_order(recorder.proxy().history().get())
    for pair, seqs in seen.items():
        assert seqs == sorted(set(seqs)), f"{pair} handled out of order, or twice"
    assert sum(map(len, seen.values())) >= len(answers)

    sup.stop()
    recorder.stop()
