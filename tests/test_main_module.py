"""Process actors defined where workers cannot import the main module.

A class defined in `python -c`, a script read from standard input, a
package's `__main__`, an interactive REPL or a Jupyter notebook has no file
or module name that a worker process could import; it travels by value.
Each test runs the program for real, in a fresh interpreter started from a
temporary directory, so that the installed pykka_rs is the one imported.
"""

from __future__ import annotations

import importlib.util
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

from helpers import unavailable

if TYPE_CHECKING:
    from pathlib import Path

# No blank line inside a block and one after each top-level block, so that
# the REPL reads it as a file would be read. No `if __name__ == "__main__"`
# guard: workers do not run any of it.
PROGRAM = """\
import dataclasses
import os
import pykka_rs as pykka
pykka.configure(workers=1)

@dataclasses.dataclass
class Point:
    x: int
    y: int

class CodedError(Exception):
    def __init__(self, code, detail):
        super().__init__(f"error {code}: {detail}")
        self.code = code

def double(n):
    return 2 * n

class Adder(pykka.ProcessActor):
    def add(self, a, b):
        return a + b, os.getpid()
    def move(self, point):
        return Point(double(point.x), point.y + 1)
    def fail(self, code):
        raise CodedError(code, "from the actor")
    def me(self):
        return self.actor_ref

ref = Adder.start()
value, pid = ref.proxy().add(1, 2).get(timeout=30)
print("RESULT", "add", value, pid != os.getpid())
moved = ref.proxy().move(Point(2, 3)).get(timeout=30)
print("RESULT", "move", moved, type(moved) is Point)
try:
    ref.proxy().fail(7).get(timeout=30)
except CodedError as error:
    print("RESULT", "fail", error.code, error)

print("RESULT", "ref", ref.proxy().me().get(timeout=30) is ref)
pykka.ActorRegistry.stop_all()
print("RESULT", "done")
"""

EXPECTED = [
    "RESULT add 3 True",
    "RESULT move Point(x=4, y=4) True",
    "RESULT fail 7 error 7: from the actor",
    "RESULT ref True",
    "RESULT done",
]

# Long enough for a slow machine to start an interpreter and a worker.
PATIENCE = 120


def results(output: str) -> list[str]:
    """The lines the program printed, wherever a prompt put them."""
    return [
        "RESULT" + line.split("RESULT", 1)[1].rstrip("\r")
        for line in output.splitlines()
        if "RESULT " in line
    ]


def environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHON_BASIC_REPL", None)
    env["TERM"] = "dumb"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "jupyter")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    return env


def run(tmp_path: Path, args: list[str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(tmp_path),
        timeout=PATIENCE,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_process_actor_defined_in_a_package_main_works(tmp_path: Path) -> None:
    # `python -m app` runs app/__main__.py, which spawn does not import.
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(PROGRAM)
    out = run(tmp_path, ["-m", "app"])
    assert results(out) == EXPECTED, out


def test_a_process_actor_defined_in_python_dash_c_works(tmp_path: Path) -> None:
    out = run(tmp_path, ["-c", PROGRAM])
    assert results(out) == EXPECTED, out


def test_a_process_actor_defined_in_a_script_read_from_stdin_works(
    tmp_path: Path,
) -> None:
    out = run(tmp_path, ["-"], stdin=PROGRAM)
    assert results(out) == EXPECTED, out


# One-line statements: the REPL of Python 3.13 and later indents the lines
# of a block itself, so a block typed in line by line would be indented twice.
ONE_LINERS = """\
import os, pykka_rs as pykka
pykka.configure(workers=1)
def double(n): return 2 * n

class Adder(pykka.ProcessActor): add = lambda self, a, b: (double(a + b), os.getpid())

value, pid = Adder.start().proxy().add(1, 2).get(timeout=30)
print("RESULT", "add", value, pid != os.getpid())
pykka.ActorRegistry.stop_all()
print("RESULT", "done")
"""


def interact(tmp_path: Path, env: dict[str, str], typed: str, enter: bytes) -> str:
    """What a REPL on a terminal prints while `typed` is typed into it."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-q", "-i"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    output = b""
    try:
        # Typed ahead, line by line; the terminal holds it until it is read.
        for line in [*typed.splitlines(), "", "exit()"]:
            os.write(controller, line.encode() + enter)
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the REPL exited: the terminal is closed
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(timeout=PATIENCE) == 0, output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    # Without the terminal's escape sequences (colours, cursor moves).
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace"))


def test_a_process_actor_defined_in_the_basic_repl_works(tmp_path: Path) -> None:
    env = environment(tmp_path)
    env["PYTHON_BASIC_REPL"] = "1"
    text = interact(tmp_path, env, PROGRAM, b"\n")
    assert results(text) == EXPECTED, text


def test_a_process_actor_defined_in_the_default_repl_works(tmp_path: Path) -> None:
    # From Python 3.13 on, the default REPL gives __main__ a __spec__ named
    # "__main__", which spawn does not import either.
    env = environment(tmp_path)
    env["TERM"] = "xterm"
    text = interact(tmp_path, env, ONE_LINERS, b"\r")
    assert results(text) == ["RESULT add 6 True", "RESULT done"], text


KERNEL_DRIVER = """\
import sys
from jupyter_client.manager import start_new_kernel

manager, client = start_new_kernel(
    kernel_name="python3", startup_timeout={patience}, cwd=sys.argv[1]
)
failed = []


def show(message):
    content = message["content"]
    if message["msg_type"] == "stream":
        sys.stdout.write(content["text"])
    elif message["msg_type"] == "error":
        failed.append("\\n".join(content["traceback"]))


try:
    reply = client.execute_interactive(
        sys.stdin.read(), timeout={patience}, output_hook=show
    )
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=False)
print("STATUS", reply["content"]["status"], *failed)
"""


def test_a_process_actor_defined_in_a_jupyter_notebook_works(tmp_path: Path) -> None:
    # Looked for, not imported: the kernel runs in interpreters of its own.
    for needed in ("jupyter_client", "ipykernel"):
        if importlib.util.find_spec(needed) is None:
            unavailable(f"{needed} is not installed (see .ci/requirements.txt)")
    driver = textwrap.dedent(KERNEL_DRIVER).format(patience=PATIENCE)
    out = run(tmp_path, ["-c", driver, str(tmp_path)], stdin=PROGRAM)
    assert "STATUS ok" in out, out
    assert results(out) == EXPECTED, out
