"""Typed proxies, checked by `mypy --strict` in the test command.

`assert_type` fails the check if an inferred type differs; each deliberate
misuse carries a `type: ignore[code]`, which `warn_unused_ignores` (part of
--strict) turns into an error if mypy ever stops flagging it.
"""

from __future__ import annotations

from typing import Any, assert_type, cast

import pykka_rs as pykka
from pykka_rs.typing import ActorMemberMixin, proxy_field, proxy_method


class Circle(pykka.ThreadingActor):
    pi = 3.14

    def area(self, radius: float) -> float:
        return self.pi * radius**2


class CircleProxy(ActorMemberMixin, pykka.ActorProxy[Circle]):
    pi = proxy_field(Circle.pi)
    area = proxy_method(Circle.area)


def use(ref: pykka.ActorRef[Circle]) -> None:
    proxy = cast("CircleProxy", ref.proxy())
    assert_type(proxy.pi, pykka.Future[float])
    assert_type(proxy.area(2.0), pykka.Future[float])
    assert_type(proxy.area(2.0).get(), float)
    assert_type(proxy.stop(), pykka.Future[None])
    assert_type(ref.ask("x", block=False), pykka.Future[Any])
    assert_type(ref.stop(block=False), pykka.Future[bool])
    assert_type(ref.stop(block=True), bool)
    assert_type(Circle.start(), pykka.ActorRef[Circle])

    proxy.area("two")  # type: ignore[arg-type]
    proxy.area(1.0, 2.0)  # type: ignore[call-arg]
    proxy.pi.get().upper()  # type: ignore[attr-defined]
