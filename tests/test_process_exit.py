"""How a program with process actors ends: killed, interrupted, forked, or
leaving with actors still busy. Each runs a real program in a fresh
interpreter (in a terminal where it matters) and looks at every process it
left.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest
from helpers import (
    fork_quietly,
    marked_processes,
    run_script,
    script_env,
    wait_until,
    write_script,
)

if TYPE_CHECKING:
    from pathlib import Path


def new_mark() -> str:
    return uuid.uuid4().hex


def default_sigint() -> None:
    """Let SIGINT through, even where the tests run with it ignored (nohup)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_workers_end_soon_after_the_parent_is_killed_even_in_a_slow_init(
    tmp_path: Path,
) -> None:
    started = tmp_path / "started"
    mark = new_mark()
    script = write_script(
        f"""
        import os, time
        import pykka_rs as pykka

        class Slow(pykka.ProcessActor):
            def __init__(self):
                super().__init__()
                open({str(started)!r}, "w").write(str(os.getpid()))
                time.sleep(60)  # the worker is busy making this actor

        if __name__ == "__main__":
            Slow.start()
        """,
        tmp_path,
    )
    parent = subprocess.Popen([sys.executable, str(script)], env=script_env(mark))
    try:
        wait_until(started.exists, 30)
        worker = int(started.read_text())
        assert worker in marked_processes(mark)
        parent.kill()
        parent.wait()
        # The worker goes within about a second, though its main work never ends.
        wait_until(lambda: marked_processes(mark) == [], 3)
    finally:
        for pid in marked_processes(mark):
            os.kill(pid, signal.SIGKILL)


SLOW_WORKERS = """
import os, time
launched = os.environ.get("PYKKA_RS_TEST_SLOW_START")
if launched and "pykka_rs._worker" in open("/proc/self/cmdline").read():
    open(launched, "a").write(f"{os.getpid()}\\n")
    time.sleep(60)
"""


def test_ctrl_c_while_the_pool_starts_leaves_no_worker_behind(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_WORKERS)
    launched = tmp_path / "launched"
    mark = new_mark()
    script = write_script(
        f"""
        import os
        from process_actors import Echo

        if __name__ == "__main__":
            os.environ["PYKKA_RS_TEST_SLOW_START"] = {str(launched)!r}
            try:
                Echo.start()
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                raise
        """,
        tmp_path,
    )
    env = script_env(mark)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C must reach it even when the tests run with SIGINT ignored.
        preexec_fn=default_sigint,  # noqa: PLW1509
    )
    try:
        # Both workers are launched and stuck before they could connect.
        wait_until(
            lambda: launched.exists() and len(launched.read_text().split()) == 2, 30
        )
        parent.send_signal(signal.SIGINT)
        out, err = parent.communicate(timeout=30)
        assert "interrupted" in out, err
        assert "KeyboardInterrupt" in err
        assert parent.returncode != 0
        # No worker was left behind, not even the ones still starting.
        wait_until(lambda: marked_processes(mark) == [], 5)
    finally:
        for pid in marked_processes(mark):
            os.kill(pid, signal.SIGKILL)


def read_terminal(fd: int, until: str, timeout: float = 30) -> str:
    """What the program writes to its terminal, until `until` appears."""
    seen = ""
    deadline = time.monotonic() + timeout
    while until not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{until!r} did not appear; the terminal showed:\n{seen}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:  # the terminal closed: the program ended
                break
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


def test_ctrl_c_in_a_terminal_stops_the_process_actors_in_order(tmp_path: Path) -> None:
    stops = tmp_path / "stops"
    mark = new_mark()
    script = write_script(
        f"""
        import os
        import pykka_rs as pykka

        class Worker(pykka.ProcessActor):
            def __init__(self, name):
                super().__init__()
                self.name = name

            def on_stop(self):
                with open({str(stops)!r}, "a") as file:
                    file.write(self.name + "\\n")

            def work_forever(self):
                pykka.ThreadingFuture().get()

        if __name__ == "__main__":
            refs = [Worker.start(name) for name in ("first", "second")]
            refs[0].proxy().work_forever()
            print("ready", flush=True)
            pykka.ThreadingFuture().get()  # waits until Ctrl-C
        """,
        tmp_path,
    )
    pid, fd = fork_quietly(terminal=True)
    if pid == 0:  # the child: the program, in a terminal of its own
        os.execve(sys.executable, [sys.executable, str(script)], script_env(mark))  # noqa: S606
    try:
        shown = read_terminal(fd, "ready")
        os.write(fd, b"\x03")  # Ctrl-C: the terminal signals its foreground group
        shown += read_terminal(fd, "no such text: read to the end")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    # One KeyboardInterrupt, the parent's; no worker printed a traceback.
    assert shown.count("Traceback") == 1, shown
    assert shown.count("KeyboardInterrupt") == 1, shown
    assert os.waitstatus_to_exitcode(status) != 0
    # The idle actor stopped in order; the busy one was stopped with its worker.
    assert "second" in stops.read_text().split()
    wait_until(lambda: marked_processes(mark) == [], 10)


def test_at_exit_a_busy_process_actor_finishes_its_message_and_runs_on_stop(
    tmp_path: Path,
) -> None:
    stopped = tmp_path / "stopped"
    result = run_script(f"""
        import pykka_rs as pykka
        import time

        class Busy(pykka.ProcessActor):
            def work(self, seconds):
                time.sleep(seconds)
                return "done"

            def on_stop(self):
                open({str(stopped)!r}, "w").write("stopped after its work")

        if __name__ == "__main__":
            Busy.start().proxy().work(1.0)
            # Interpreter exit, with the work under way.
    """)
    assert result.returncode == 0, result.stderr
    assert stopped.read_text() == "stopped after its work"
    assert "was killed" not in result.stderr


def test_at_exit_a_process_actor_still_busy_after_the_grace_is_killed_and_named() -> (
    None
):
    result = run_script("""
        import pykka_rs as pykka
        import time

        class Stuck(pykka.ProcessActor):
            def work(self):
                time.sleep(60)

        if __name__ == "__main__":
            pykka.configure(shutdown_grace=0.5)
            ref = Stuck.start()
            ref.proxy().work()
            print(ref.actor_urn, flush=True)
    """)
    assert result.returncode == 0, result.stderr
    urn = result.stdout.strip()
    assert (
        f"Stuck ({urn}) did not stop within 0.5 seconds of the shutdown"
        in result.stderr
    )


def test_a_fork_leaves_the_parents_workers_alone() -> None:
    result = run_script("""
        import os, sys, warnings
        import pykka_rs as pykka
        from process_actors import Echo, LocalEcho

        if __name__ == "__main__":
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
            echo = Echo.start("parent's")
            assert echo.ask("before") == "before"
            child = os.fork()
            if child == 0:
                # The child may use thread actors, but not the parent's workers.
                local = LocalEcho.start()
                echoed = local.proxy().echo("in the child").get(timeout=10)
                assert echoed == "in the child"
                local.stop()
                try:
                    echo.ask("from the child", timeout=5)
                except pykka.ActorDeadError as exc:
                    assert "forked" in str(exc), exc
                else:
                    sys.exit("the child reached the parent's actor")
                try:
                    Echo.start("child's")
                except RuntimeError as exc:
                    assert "forked" in str(exc), exc
                else:
                    sys.exit("the child started a process actor on the parent's pool")
                sys.exit(0)  # atexit runs here: it must not touch the parent's pool
            _, status = os.waitpid(child, 0)
            assert os.waitstatus_to_exitcode(status) == 0, status
            # The parent's workers and links are as they were.
            assert echo.ask("after") == "after"
            assert Echo.start("another").ask("fine") == "fine"
            pykka.ActorRegistry.stop_all()
            print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_fork_inside_a_process_actor_leaves_the_worker_alone() -> None:
    result = run_script("""
        import logging, os, warnings
        import pykka_rs as pykka

        class Forker(pykka.ProcessActor):
            def fork_and_wait(self):
                warnings.simplefilter("ignore", DeprecationWarning)
                child = os.fork()
                if child == 0:
                    logging.getLogger("child").warning("a record from the fork")
                    os._exit(0)
                _, status = os.waitpid(child, 0)
                return os.waitstatus_to_exitcode(status)

            def ping(self):
                return "pong"

        if __name__ == "__main__":
            ref = Forker.start()
            assert ref.proxy().fork_and_wait().get(timeout=30) == 0
            assert ref.proxy().ping().get(timeout=10) == "pong"
            pykka.ActorRegistry.stop_all()
            print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("ignored", [signal.SIGINT])
def test_a_program_started_with_sigint_ignored_still_ends(ignored: int) -> None:
    # As under nohup and many CI runners: SIGINT is ignored from the start.
    script = write_script("""
        import pykka_rs as pykka
        from process_actors import Echo

        if __name__ == "__main__":
            assert Echo.start().ask("hi") == "hi"
            pykka.ActorRegistry.stop_all()
            print("ok")
    """)
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=script_env(),
        preexec_fn=lambda: signal.signal(ignored, signal.SIG_IGN),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
