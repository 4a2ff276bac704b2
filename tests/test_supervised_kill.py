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

import pykka_rs as pykka
from pykka_rs import ActorDeadError, ChildSpec, Supervisor
from supervised_actors import Recorder, Sequenced

CHILDREN = 4
SENDERS = 3
PER_SENDER = 150


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
    pids = {ref.proxy().pid().get() for ref in refs}
    assert len(pids) == 2, "the children should be spread over both workers"
    victim = sorted(pids)[0]

    halfway = threading.Barrier(SENDERS + 1)
    futures: list[list[tuple[int, int, pykka.Future[Any]]]] = [[] for _ in range(SENDERS)]

    def send(sender: int) -> None:
        for seq in range(PER_SENDER):
            if seq == PER_SENDER // 2:
                halfway.wait(30)
            for child, ref in enumerate(refs):
                futures[sender].append(
                    (child, seq, ref.ask((sender, seq, 2000), block=False))
                )

    senders = [threading.Thread(target=send, args=(s,)) for s in range(SENDERS)]
    for thread in senders:
        thread.start()
    halfway.wait(30)
    # Busy the victim's children with long messages, so that the kill finds
    # messages queued behind them.
    busy = [
        ref.ask((SENDERS, 0, 3_000_000), block=False)
        for ref in refs
        if ref.proxy().pid().get() == victim
    ]
    os.kill(victim, signal.SIGKILL)
    for thread in senders:
        thread.join(60)
        assert not thread.is_alive()

    handled = reported = 0
    for sender, sent in enumerate(futures):
        for child, seq, future in sent:
            try:
                answer = future.get(timeout=60)
            except ActorDeadError as error:
                assert "died with its process" in str(error), error
                reported += 1
            else:
                assert answer[:3] == (f"child-{child}", sender, seq)
                handled += 1
    assert handled + reported == SENDERS * PER_SENDER * CHILDREN
    for future in busy:
        try:
            future.get(timeout=60)
        except ActorDeadError:
            reported += 1
    assert reported > 0, "the kill should have caught messages in the dead worker"

    # Back on live workers, the same refs answering.
    live = {worker["pid"] for worker in pykka._process.workers()}  # noqa: SLF001
    for ref in refs:
        pid = ref.proxy().pid().get(timeout=60)
        assert pid != victim
        assert pid in live

    # Per sender and child, handled in the order sent.
    seen: dict[tuple[str, int], list[int]] = {}
    for child, sender, seq in recorder.proxy().history().get():
        if sender < SENDERS:
            seen.setdefault((child, sender), []).append(seq)
    for pair, seqs in seen.items():
        assert seqs == sorted(seqs), f"{pair} handled out of order"
        assert len(set(seqs)) == len(seqs), f"{pair} handled a message twice"
    assert sum(len(seqs) for seqs in seen.values()) >= handled

    sup.stop()
    recorder.stop()
