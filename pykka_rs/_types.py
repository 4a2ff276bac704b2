from __future__ import annotations

from types import TracebackType
from typing import TypeAlias

AttrPath: TypeAlias = tuple[str, ...]

# What sys.exc_info() returns, as typeshed spells it.
OptExcInfo = tuple[
    type[BaseException] | None,
    BaseException | None,
    TracebackType | None,
]
