"""A pykka_rs program of its own, for the tests of refs crossing systems.

Run as `python foreign_program.py MODE`, with this directory on `sys.path`
(the test does that). Both modes first start the same actors in the same
order, so that their addresses here are the addresses the other program's
actors have there: a recorder thread actor in this process, a recorder
process actor in the only worker, and a future. Then:

- `make`: print one line, the pickled refs, proxies and future (base64);
  read back one line of pickles from standard input, use each one, and print
  what the recorders saw, as JSON.
- `use`: read one line of pickles made by another program (a `make` run)
  from standard input, try each of them, and print as JSON what each raised
  and what this program's own recorders saw.
"""

from __future__ import annotations

import base64
import json
import pickle
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from proxy_actors import RecorderProcess, RecorderThread

import pykka_rs as pykka


def start() -> dict[str, Any]:
    """This program's recorders and future, always in the same order."""
    thread_ref = RecorderThread.start()
    process_ref = RecorderProcess.start()
    return {
        "thread_ref": thread_ref,
        "thread_proxy": thread_ref.proxy(),
        "process_ref": process_ref,
        "process_proxy": process_ref.proxy(),
        "future": pykka.ThreadingFuture(),
    }


def addresses(objects: dict[str, Any]) -> dict[str, list[Any]]:
    """Where each ref and future points, as its pickle says (system left out)."""
    found = {}
    for name in ("thread_ref", "process_ref", "future"):
        _, args = objects[name].__reduce__()
        found[name] = [args[1], args[2]]
    return found


def say(line: str) -> None:
    """Write `line` to the test, which reads it as soon as it is flushed."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def encode(objects: Any) -> str:
    return base64.b64encode(pickle.dumps(objects, protocol=5)).decode()


def decode(line: str) -> Any:
    return pickle.loads(base64.b64decode(line))  # noqa: S301 (our own test's bytes)


def outcome(action: Any) -> str:
    """`ok` or the exception `action()` raised, as `Type: message`."""
    try:
        action()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def seen(objects: dict[str, Any]) -> dict[str, Any]:
    return {
        "thread": objects["thread_ref"].proxy().history().get(timeout=30),
        "process": objects["process_ref"].proxy().history().get(timeout=30),
    }


def make(objects: dict[str, Any]) -> None:
    say(encode({**objects, "addresses": addresses(objects)}))
    back = decode(sys.stdin.readline())
    back["thread_ref"].tell("thread ref came home")
    back["process_ref"].tell("process ref came home")
    back["thread_proxy"].record("thread proxy came home").get(timeout=30)
    back["process_proxy"].record("process proxy came home").get(timeout=30)
    back["future"].set("future came home")
    result = {
        "seen": seen(objects),
        "future": objects["future"].get(timeout=30),
    }
    say(json.dumps(result))


def use(objects: dict[str, Any]) -> None:
    other = decode(sys.stdin.readline())
    result: dict[str, Any] = {
        "same_addresses": other["addresses"] == addresses(objects),
        "is_alive": [
            other["thread_ref"].is_alive(),
            other["process_ref"].is_alive(),
        ],
    }
    for kind in ("thread", "process"):
        ref = other[f"{kind}_ref"]
        proxy = other[f"{kind}_proxy"]
        result[kind] = {
            "tell": outcome(lambda ref=ref: ref.tell("stray")),
            "ask": outcome(lambda ref=ref: ref.ask("stray", timeout=5)),
            "proxy()": outcome(ref.proxy),
            "proxy call": outcome(
                lambda proxy=proxy: proxy.record("stray").get(timeout=5)
            ),
            "proxy defer": outcome(lambda proxy=proxy: proxy.record.defer("stray")),
            "stop": ref.stop(timeout=5),
        }
    future = other["future"]
    result["future"] = {
        "get": outcome(lambda: future.get(timeout=5)),
        "set": outcome(lambda: future.set("stray")),
    }
    result["seen"] = seen(objects)
    result["own_future"] = outcome(lambda: objects["future"].get(timeout=0))
    say(json.dumps(result))


if __name__ == "__main__":
    pykka.configure(workers=1)
    objects = start()
    try:
        {"make": make, "use": use}[sys.argv[1]](objects)
    finally:
        pykka.ActorRegistry.stop_all(timeout=30)
