"""pykka_rs exports Pykka's names, with Pykka's signatures, plus its own additions.

Pykka itself is imported from its sdist (fetched at test time) to compare.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

import pykka_rs

sys.path.insert(0, str(Path(__file__).parent / "compat"))
from sdist import unpacked_pykka

if typing.TYPE_CHECKING:
    from types import ModuleType

# Names pykka_rs adds to Pykka's public API.
ADDITIONS = {
    "ActorExit",
    "ActorStats",
    "Backoff",
    "Channel",
    "ChannelClosed",
    "ChannelEmpty",
    "ChannelFull",
    "ChannelStats",
    "ChildSpec",
    "DeadLetter",
    "InterpreterActor",
    "LinkError",
    "MailboxFull",
    "MetricsServer",
    "Monitor",
    "ProcessActor",
    "RemoteError",
    "StatsCollector",
    "StatsServer",
    "Supervisor",
    "SupervisorError",
    "SystemStats",
    "WorkerStats",
    "configure",
    "dead_letters",
    "keep_dead_letters",
    "link",
    "monitor",
    "on_dead_letter",
    "serve_metrics",
    "serve_stats",
    "stats",
    "top",
    "unlink",
}

MODULES = ["", ".messages", ".typing", ".debug"]


@pytest.fixture(scope="module")
def pykka() -> Any:
    """Pykka 4.5.0 itself, imported from its sdist's sources."""
    src = str(unpacked_pykka() / "src")
    sys.path.insert(0, src)
    try:
        module = importlib.import_module("pykka")
        assert module.__file__ is not None
        assert module.__file__.startswith(src)
        yield module
    finally:
        sys.path.remove(src)
        for name in [n for n in sys.modules if n == "pykka" or n.startswith("pykka.")]:
            del sys.modules[name]


def public_names(module: ModuleType) -> set[str]:
    return set(
        getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
    )


def test_all_is_pykkas_plus_the_additions(pykka: Any) -> None:
    assert set(pykka_rs.__all__) == set(pykka.__all__) | ADDITIONS
    assert pykka_rs.__all__ == sorted(pykka_rs.__all__)


@pytest.mark.parametrize("suffix", MODULES)
def test_each_module_has_pykkas_names(pykka: Any, suffix: str) -> None:
    theirs = importlib.import_module(f"pykka{suffix}")
    ours = importlib.import_module(f"pykka_rs{suffix}")
    assert public_names(theirs) <= public_names(ours) | set()
    if suffix != "":
        assert public_names(ours) == public_names(theirs)


def signatures(obj: Any) -> list[str]:
    """The signature of `obj` and of each of its overloads, as text."""
    found = []
    try:
        found.append(str(inspect.signature(obj)))
    except (TypeError, ValueError):
        return []
    found += [str(inspect.signature(unwrap(o))) for o in typing.get_overloads(obj)]
    return found


def members(cls: type) -> dict[str, Any]:
    """Public members defined by `cls` or its bases, excluding object's."""
    result = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__ in {"typing", "abc", "builtins"}:
            continue
        for name in vars(klass):
            if not name.startswith("_") or name == "__init__":
                result[name] = inspect.getattr_static(cls, name)
    return result


def unwrap(member: Any) -> Any:
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__
    if isinstance(member, property):
        return member.fget
    return member


@pytest.mark.parametrize("suffix", MODULES)
def test_every_shared_name_has_pykkas_signatures(pykka: Any, suffix: str) -> None:
    theirs = importlib.import_module(f"pykka{suffix}")
    ours = importlib.import_module(f"pykka_rs{suffix}")
    mismatches = []
    for name in sorted(public_names(theirs)):
        their_obj, our_obj = getattr(theirs, name), getattr(ours, name)
        if inspect.isclass(their_obj):
            assert inspect.isclass(our_obj), name
            their_members = members(their_obj)
            our_members = members(our_obj)
            missing = set(their_members) - set(our_members)
            assert not missing, f"{name} lacks {missing}"
            for member, value in their_members.items():
                theirs_sig = signatures(unwrap(value))
                ours_sig = signatures(unwrap(our_members[member]))
                if theirs_sig != ours_sig:
                    mismatches.append((f"{name}.{member}", theirs_sig, ours_sig))
        elif callable(their_obj) and signatures(their_obj) != signatures(our_obj):
            mismatches.append((name, signatures(their_obj), signatures(our_obj)))
    assert not mismatches


def test_exceptions_are_ordinary_exceptions(pykka: Any) -> None:
    for name in ("ActorDeadError", "Timeout"):
        assert getattr(pykka_rs, name).__mro__[1:] == getattr(pykka, name).__mro__[1:]
