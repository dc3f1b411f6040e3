"""Segments: the user sets an answer can be restricted to (DESIGN section 13).

- A **property** holds each user's current value of something (``plan`` -> ``pro``): one
  timeless user set per (property, value), a user in at most one value of a property.
- A **saved cohort** is a static user set kept under a name.
- A **segment** combines them in text with the operators of event expressions (section 5):
  ``plan=pro & ~beta_testers`` (``NAME=VALUE``: a property value; ``NAME``: a saved cohort).
  The text is read by :func:`~flask_bitmapist.domain.expressions.parse_expression`, so
  precedence, quoting, bounds and the refusal of a lone negation are those of events.

Names and values follow the rules of event names (:func:`~flask_bitmapist.domain.events.
validate_event_name`); a property's name also refuses ``=`` (a segment term splits at its
first ``=``) and braces (Redis Cluster reads them as hash tags, see the Redis repository),
and a saved cohort's name refuses ``=``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, TypeAlias

import attrs

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.errors import (
    InvalidEventName,
    InvalidExpression,
    InvalidSegmentName,
    TooManyPropertyValues,
)
from flask_bitmapist.domain.events import (
    DEFAULT_MAX_USER_ID,
    REDIS_MAX_USER_ID,
    validate_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.expressions import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    Expression,
    parse_expression,
)

__all__ = [
    "DEFAULT_MAX_PROPERTY_VALUES",
    "PropertyAssignment",
    "PropertyValue",
    "SavedCohort",
    "Segment",
    "UserSetId",
    "check_max_values",
    "checked_assignments",
    "term_of",
    "too_many_values",
    "validate_cohort_name",
    "validate_property_name",
    "validate_property_value",
]

#: Most values one property may hold (``BITMAPIST_MAX_PROPERTY_VALUES``): a property is a
#: category (plan, channel, country), and moving a user costs one bit test per value.
DEFAULT_MAX_PROPERTY_VALUES: Final = 1_000


def check_max_values(max_values: object) -> int:
    """``max_values`` if it is an int of 1 or more (what ``set_properties`` takes)."""
    if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 1:
        raise ValueError(f"max_values must be an int of 1 or more, got {max_values!r}")
    return max_values


def _named(kind: str, text: object, refused: str = "") -> str:
    try:
        name = validate_event_name(text)
    except InvalidEventName as exc:
        # The rules are those of event names; the message names what was checked.
        raise InvalidSegmentName(str(exc).replace("event name", kind, 1)) from None
    for char in refused:
        if char in name:
            raise InvalidSegmentName(
                f"{kind} {name!r} contains {char!r} at position {name.index(char)}; "
                f"{' and '.join(repr(c) for c in refused)} are not allowed in a {kind}"
            )
    return name


def validate_property_name(name: object) -> str:
    """``name`` if it may name a property: an event name without ``=``, ``{`` or ``}``."""
    return _named("property name", name, "={}")


def validate_property_value(value: object) -> str:
    """``value`` if a property may hold it: the rules of event names."""
    return _named("property value", value)


def validate_cohort_name(name: object) -> str:
    """``name`` if it may name a saved cohort: an event name without ``=``."""
    return _named("saved cohort name", name, "=")


@attrs.frozen(order=True)
class PropertyValue:
    """The users whose property ``name`` holds ``value`` (``plan=pro``)."""

    name: str = attrs.field(converter=validate_property_name)
    value: str = attrs.field(converter=validate_property_value)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


@attrs.frozen(order=True)
class SavedCohort:
    """The users saved under ``name``."""

    name: str = attrs.field(converter=validate_cohort_name)

    def __str__(self) -> str:
        return self.name


#: A named, timeless user set a repository stores besides events.
UserSetId: TypeAlias = PropertyValue | SavedCohort


@attrs.frozen
class PropertyAssignment:
    """Set user ``user_id``'s property ``name`` to ``value`` (None: remove it).

    Build with :meth:`create`, which validates. A repository applies each assignment
    atomically: the user leaves every other value of the property, then joins ``value``.
    """

    user_id: int
    name: str
    value: str | None

    @classmethod
    def create(
        cls, user_id: object, name: object, value: object, *, max_user_id: int = DEFAULT_MAX_USER_ID
    ) -> PropertyAssignment:
        """Validate the id, the name and the value (None removes the property)."""
        return cls(
            validate_user_id(user_id, max_user_id),
            validate_property_name(name),
            None if value is None else validate_property_value(value),
        )


def checked_assignments(items: Iterable[object]) -> list[PropertyAssignment]:
    """``items`` as a list, each checked: repositories call it before writing anything."""
    checked = []
    # Names and values repeat (a few per property): each distinct pair is checked once.
    seen: set[tuple[str, str | None]] = set()
    for item in items:
        if not isinstance(item, PropertyAssignment):
            raise TypeError(f"expected a PropertyAssignment, got {item!r} ({type(item).__name__})")
        # Built by PropertyAssignment.create they are valid; one built directly might not be.
        pair = (item.name, item.value)
        if pair not in seen:
            validate_property_name(item.name)
            if item.value is not None:
                validate_property_value(item.value)
            seen.add(pair)
        validate_user_id(item.user_id, REDIS_MAX_USER_ID)
        checked.append(item)
    return checked


def too_many_values(item: PropertyAssignment, max_values: int) -> TooManyPropertyValues:
    """The error of a value past the cap: it names the setting that would make room."""
    return TooManyPropertyValues(
        f"property {item.name!r} already holds {max_values:,} values, the most "
        f"BITMAPIST_MAX_PROPERTY_VALUES allows: {item.value!r} is not added (user "
        f"{item.user_id} keeps their value). A property is a category: store values with "
        "many distinct values (ids, emails) elsewhere, or raise the setting"
    )


def term_of(text: str) -> UserSetId:
    """The user set a segment term names: ``NAME=VALUE`` (split at the first ``=``) or a
    saved cohort's ``NAME``; :class:`InvalidSegmentName` when it cannot name one."""
    name, equals, value = text.partition("=")
    if not equals:
        return SavedCohort(text)
    if not name:
        raise InvalidSegmentName(f"{text!r} names no property before '='")
    if not value:
        raise InvalidSegmentName(f"{text!r} names no value after '=': write {name}=VALUE")
    return PropertyValue(name, value)


@attrs.frozen
class Segment:
    """A parsed segment expression: ``plan=pro & ~beta_testers``.

    >>> segment = Segment.parse("plan=pro & ~beta_testers")
    >>> sorted(str(term) for term in segment.terms())
    ['beta_testers', 'plan=pro']
    """

    expression: Expression

    @classmethod
    def parse(cls, text: str, *, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS) -> Segment:
        """Read ``text``; :class:`InvalidExpression` (naming the position) when it is not a
        segment: bad syntax, a lone negation, more than ``max_terms`` terms, or a term that
        cannot name a property value or a saved cohort."""
        expression = parse_expression(text, max_terms=max_terms, noun="term")
        segment = cls(expression)
        for term in sorted(expression.events()):
            try:
                term_of(term)
            except InvalidSegmentName as exc:
                position = max(text.find(term), 0)
                raise InvalidExpression(
                    f"{exc} (at position {position} in {text[:200]!r})",
                    text=text,
                    position=position,
                ) from None
        return segment

    def terms(self) -> frozenset[UserSetId]:
        """Every property value and saved cohort the segment names."""
        return frozenset(term_of(text) for text in self.expression.events())

    def evaluate(self, user_sets: Mapping[UserSetId, Bitmap]) -> Bitmap:
        """The segment's users, given the users of each of its :meth:`terms`."""
        return self.expression.evaluate(lambda text: user_sets[term_of(text)])

    def __str__(self) -> str:
        return str(self.expression)
