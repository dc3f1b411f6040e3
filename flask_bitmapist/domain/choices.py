"""Enums a request names by value (``"first_return"``, ``"dormant"``...), leniently."""

from __future__ import annotations

import enum
from typing import TypeVar

from flask_bitmapist.domain.errors import FieldError

__all__ = ["parse_choice"]

E = TypeVar("E", bound=enum.Enum)


def parse_choice(cls: type[E], value: object, *, field: str, error: FieldError) -> E:
    """``value`` if it is a member of ``cls``, else the member whose value it spells (any
    case, spaces around, ``-`` for ``_``); else ``error`` naming ``field`` and the choices.

    >>> from flask_bitmapist.domain.errors import InvalidAnswerSpec
    >>> class Mode(enum.Enum):
    ...     FIRST_RETURN = "first_return"
    >>> parse_choice(Mode, " First-Return ", field="mode", error=InvalidAnswerSpec)
    <Mode.FIRST_RETURN: 'first_return'>
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        name = value.strip().lower().replace("-", "_")
        for member in cls:
            if member.value == name:
                return member
    choices = ", ".join(str(member.value) for member in cls)
    raise error(f"unknown {field} {value!r}; expected one of {choices}", field=field)
