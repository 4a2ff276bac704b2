"""Worker processes: death, replacement, shutdown, and what they leave behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import worker_processes
from helpers import own_temp_dirs, run_script, wait_until
from process_actors import Echo, SlowStart

import pykka_rs as pykka
from pykka_rs import _process

TESTS = Path(__file__).parent


def open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_a_killed_worker_fails_its_askers_and_spares_the_other_workers() -> None:
    victim = Echo.start_on(0, "victim")
    sink = Echo.start_on(1, "sink")
    victim_pid = victim.proxy().pid().get(timeout=10)
    pending = victim.proxy().sleep_then(60, "never")

    sent = threading.Event()

    def carry_load() -> None:
        for seq in range(5000):
            sink.tell(seq)
            if seq == 2500:
                sent.set()

    loader = threading.Thread(target=carry_load)
    loader.start()
    sent.wait(10)
    os.kill(victim_pid, signal.SIGKILL)
    killed = time.monotonic()
    with pytest.raises(pykka.ActorDeadError, match=r"killed by SIGKILL") as info:
        pending.get(timeout=10)
    assert time.monotonic() - killed < 1.0
    assert f"pid {victim_pid}" in str(info.value)
    assert str(info.value).startswith(str(victim))
    assert victim.actor_stopped.wait(1)
    assert not victim.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        victim.ask("anyone?")
    loader.join()
    # The other worker got every message, in order.
    assert sink.proxy().history().get(timeout=10) == list(range(5000))
    # The pool replaces the dead worker, in the same seat.
    # (The pool hears of the death just after the actors' flags are set.)
    wait_until(
        lambda: (
            [w["pid"] for w in _process.workers()].count(victim_pid) == 0
            and len(_process.workers()) == 2
        )
    )
    replacement = Echo.start_on(0, "replacement")
    assert replacement.proxy().pid().get(timeout=10) not in {victim_pid, os.getpid()}
    assert victim not in pykka.ActorRegistry.get_all()
    pykka.ActorRegistry.stop_all()


@pytest.mark.parametrize(
    ("how", "cause"),
    [
        ("os._exit(3)", "exited with status 3"),
        ("ctypes.string_at(0)", "killed by SIGSEGV"),
    ],
)
def test_a_worker_that_crashes_is_reported_with_its_cause(how: str, cause: str) -> None:
    victim = Echo.start_on(0, "victim")
    bystander = Echo.start_on(0, "bystander")
    crash = f"import os, ctypes; {how}"
    pending = bystander.proxy().sleep_then(60, "never")
    victim.proxy().run.defer(lambda: exec(crash))  # noqa: S102 (the test's own code)
    with pytest.raises(pykka.ActorDeadError, match=cause):
        pending.get(timeout=10)
    assert not victim.is_alive()
    assert not bystander.is_alive()
    pykka.ActorRegistry.stop_all()


def test_stop_all_ends_every_worker_and_leaves_nothing_behind() -> None:
    refs = [Echo.start(str(i)) for i in range(4)]
    pids = {ref.proxy().pid().get(timeout=10) for ref in refs}
    assert len(pids) == 2
    assert own_temp_dirs()
    started = time.monotonic()
    pykka.ActorRegistry.stop_all()
    assert time.monotonic() - started < 2.0
    assert worker_processes() == []
    assert own_temp_dirs() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_many_starts_and_stops_leave_no_process_descriptor_or_file() -> None:
    warm = Echo.start("warm")  # the pool starts here
    processes, fds, files = len(worker_processes()), open_fds(), own_temp_dirs()
    for i in range(1000):
        Echo.start(str(i)).stop()
    assert (len(worker_processes()), open_fds(), own_temp_dirs()) == (
        processes,
        fds,
        files,
    )
    assert sorted(w["actors"] for w in _process.workers()) in ([0, 1], [1, 0])
    warm.stop()


def test_slow_constructors_do_not_hold_up_the_next_start_on_their_worker() -> None:
    Echo.start_on(0, "warm").stop()  # the pool starts here
    slow: list[pykka.ActorRef[SlowStart]] = []
    starters = [
        threading.Thread(target=lambda: slow.append(SlowStart.start_on(0, 3.0)))
        for _ in range(2)
    ]
    for starter in starters:
        starter.start()
    time.sleep(0.5)  # both constructors are sleeping in the worker
    began = time.monotonic()
    fast = Echo.start_on(0, "fast")
    took = time.monotonic() - began
    assert fast.ask("hi", timeout=5) == "hi"
    assert took < 2.0, f"a start waited {took:.2f} s behind slow constructors"
    for starter in starters:
        starter.join(10)
    assert len(slow) == 2
    assert [ref.ask("up", timeout=5) for ref in slow] == ["up", "up"]
    pykka.ActorRegistry.stop_all()


def test_starts_one_after_another_leave_no_thread_behind_in_the_worker() -> None:
    Echo.start_on(0, "warm").stop()  # the pool starts here
    worker = next(w["pid"] for w in _process.workers() if w["seat"] == 0)
    tasks = Path(f"/proc/{worker}/task")
    before = len(list(tasks.iterdir()))
    for i in range(300):
        Echo.start_on(0, str(i)).stop()
    # At most the thread that made them waits on for the next request.
    wait_until(lambda: len(list(tasks.iterdir())) <= before + 1, timeout=5)


def test_pool_restarts_leave_no_process_descriptor_or_file() -> None:
    fds = open_fds()
    for i in range(20):
        Echo.start(str(i))
        pykka.ActorRegistry.stop_all()
    assert worker_processes() == []
    assert own_temp_dirs() == []
    assert open_fds() == fds


@pytest.mark.slow
def test_a_100_mb_message_goes_there_and_back() -> None:
    ref = Echo.start("big")
    big = os.urandom(1024) * (100 * 1024)
    assert len(big) == 100 * 1024 * 1024
    assert ref.proxy().echo(big).get(timeout=120) == big
    ref.stop()


def test_an_actor_class_from_main_works_as_with_multiprocessing_spawn() -> None:
    result = run_script("""
        import os
        import pykka_rs as pykka

        class Main(pykka.ProcessActor):
            def where(self):
                return __name__, os.getpid()

        if __name__ == "__main__":
            ref = Main.start()
            name, pid = ref.proxy().where().get(timeout=10)
            print(name, pid != os.getpid())
            pykka.ActorRegistry.stop_all()
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["__mp_main__", "True"]


@pytest.mark.parametrize("flags", [[], ["-P"], ["-I"]])
def test_workers_import_pykka_rs_from_where_the_parent_did(
    flags: list[str], tmp_path: Path
) -> None:
    # A decoy package in the working directory, where `python -m` would look
    # first: the workers must use the parent's pykka_rs all the same.
    decoy = tmp_path / "cwd" / "pykka_rs"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy pykka_rs')\n")
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent("""
            import pykka_rs as pykka

            class Where(pykka.ProcessActor):
                def where(self):
                    return pykka.__file__

            if __name__ == "__main__":
                print(pykka.__file__)
                print(Where.start().proxy().where().get(timeout=10))
                pykka.ActorRegistry.stop_all()
        """)
    )
    result = subprocess.run(
        [sys.executable, *flags, str(script)],
        cwd=decoy.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    parents, workers = result.stdout.split()
    assert parents == workers == pykka.__file__


def test_an_unguarded_start_in_main_fails_clearly_in_the_workers() -> None:
    result = run_script("""
        import pykka_rs as pykka

        class Main(pykka.ProcessActor):
            pass

        ref = Main.start()  # not under `if __name__ == "__main__":`
        print("started", ref.is_alive())
        pykka.ActorRegistry.stop_all()
    """)
    # The parent starts the actor, but each worker, importing the script as
    # __mp_main__, fails with a clear error instead of starting a pool.
    assert result.returncode != 0
    assert "ran while a worker process was importing the main module" in result.stderr
    assert "if __name__ == '__main__':" in result.stderr


def test_interpreter_exit_ends_the_workers_and_removes_the_socket() -> None:
    result = run_script("""
        import os
        import pykka_rs as pykka
        from process_actors import Echo

        if __name__ == "__main__":
            refs = [Echo.start(str(i)) for i in range(3)]
            print(os.getpid(), *sorted({r.proxy().pid().get(timeout=10) for r in refs}))
            # No stop: interpreter exit must end the workers.
    """)
    assert result.returncode == 0, result.stderr
    parent, *workers = (int(pid) for pid in result.stdout.split())
    assert len(workers) == 2
    for pid in workers:
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), timeout=2)
    leftovers = [
        path.name
        for path in Path(tempfile.gettempdir()).iterdir()
        if path.name.startswith(f"pykka_rs-{parent}-")
    ]
    assert leftovers == []


def test_workers_of_a_killed_parent_exit_and_the_next_pool_sweeps_its_directory(
    tmp_path: Path,
) -> None:
    # A temporary directory of the test's own: pools started meanwhile by
    # other programs of this user sweep only theirs.
    temp = tmp_path / "tmp"
    temp.mkdir()
    script = textwrap.dedent("""
        import os, signal, sys
        import pykka_rs as pykka
        from process_actors import Echo

        if __name__ == "__main__":
            refs = [Echo.start(str(i)) for i in range(2)]
            pids = sorted({r.proxy().pid().get(timeout=10) for r in refs})
            print(os.getpid(), *pids, flush=True)
            if sys.argv[1:] == ["die"]:
                os.kill(os.getpid(), signal.SIGKILL)
            pykka.ActorRegistry.stop_all()
    """)
    result = run_script(script, args=["die"], TMPDIR=str(temp))
    assert result.returncode == -signal.SIGKILL
    parent, *workers = (int(pid) for pid in result.stdout.split())
    for pid in workers:
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists(), timeout=2)
    # Workers never remove their parent's directory (it could be a live
    # parent's); the next pool of this user removes those of dead parents.
    assert list(temp.glob(f"pykka_rs-{parent}-*"))
    assert run_script(script, TMPDIR=str(temp)).returncode == 0
    assert not list(temp.glob(f"pykka_rs-{parent}-*"))


def test_workers_of_a_killed_parent_stop_their_actors_quietly() -> None:
    # Once the parent is gone, a worker has no one to forward its logs or
    # its registry changes to: its actors' on_stop() still runs, warnings
    # reach stderr as logging with no handler would print them, and the
    # unreachable parent is no error of theirs.
    script = textwrap.dedent("""
        import logging, os, signal
        import pykka_rs as pykka

        class Leaving(pykka.ProcessActor):
            def on_stop(self):
                logging.getLogger("leaving").warning("farewell from the worker")

        if __name__ == "__main__":
            Leaving.start().ask("ready")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = run_script(script)
    assert result.returncode == -signal.SIGKILL
    # The workers write to the same stderr: it ends once they have exited.
    assert "farewell from the worker" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "Logging error" not in result.stderr, result.stderr
