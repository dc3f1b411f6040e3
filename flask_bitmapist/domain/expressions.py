"""Event expressions: which users did a combination of events in one period.

Two ways in: :func:`parse_chain` for 0.1's secondary event + ``additional_events`` list
(each OR binds to its immediate predecessor), and :func:`parse_expression` for text with
ordinary precedence (``~`` > ``&`` > ``|``) and parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeAlias

import attrs

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.errors import InvalidEventName, InvalidExpression
from flask_bitmapist.domain.events import validate_stored_event_name

__all__ = [
    "DEFAULT_MAX_EXPRESSION_TERMS",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "And",
    "EventRef",
    "Expression",
    "Not",
    "Or",
    "parse_chain",
    "parse_expression",
]

Lookup: TypeAlias = Callable[[str], Bitmap]

#: Most event names one expression may mention (``BITMAPIST_MAX_EXPRESSION_TERMS``): each
#: costs a bitmap per period read, so 10,000 of them in a cohort stall Redis for seconds.
DEFAULT_MAX_EXPRESSION_TERMS = 100
#: Deepest nesting of parentheses in a text expression: the parser and every walk over the
#: tree recurse once per level, so the bound keeps them far from Python's recursion limit.
MAX_EXPRESSION_DEPTH = 32
#: Longest text expression, in characters (read before anything else is looked at).
MAX_EXPRESSION_LENGTH = 65_536


def _as_terms(terms: Iterable[Expression]) -> tuple[Expression, ...]:
    # A typed converter: with the bare ``tuple`` builtin mypy cannot infer the item type.
    return tuple(terms)


@attrs.frozen
class EventRef:
    """The users who did one event.

    The name follows the reading rule (:func:`~flask_bitmapist.domain.events.
    validate_stored_event_name`): events written by other bitmapist clients, such as
    ``song played``, can be queried.
    """

    name: str = attrs.field(validator=lambda _i, _a, value: validate_stored_event_name(value))

    def events(self) -> frozenset[str]:
        """Every event name the expression mentions."""
        return frozenset((self.name,))

    def evaluate(self, lookup: Lookup) -> Bitmap:
        """The user set, given each event's bitmap for the period."""
        return lookup(self.name)

    def __str__(self) -> str:
        # Written so that parse_expression reads it back: names that hold a space, a quote
        # or an operator character, or spell an operator word, are quoted, with '"' and
        # '\' escaped by a backslash inside the quotes.
        name = self.name
        if _BARE_NAME.fullmatch(name) and name.lower() not in _WORDS:
            return name
        return '"' + _ESCAPED.sub(r"\\\g<0>", name) + '"'


@attrs.frozen
class Not:
    """Users who did *not* do ``term``; meaningful only in an :class:`And` with a positive term.

    A double negation is its positive: ``Not(Not(a))`` evaluates as ``a`` wherever it
    stands.
    """

    term: Expression

    def events(self) -> frozenset[str]:
        return self.term.events()

    def evaluate(self, lookup: Lookup) -> Bitmap:
        negated, core = _without_negations(self)
        if negated:
            raise InvalidExpression(
                f"cannot evaluate '{self}' on its own: a negation needs something positive "
                "to subtract from, e.g. 'a & ~b'"
            )
        return core.evaluate(lookup)

    def __str__(self) -> str:
        return f"~{_wrap(self.term)}"


@attrs.frozen
class And:
    """Users in every positive term and in no negated one (``a & b & ~c``)."""

    terms: tuple[Expression, ...] = attrs.field(converter=_as_terms)

    def __attrs_post_init__(self) -> None:
        if len(self.terms) < 2:
            raise InvalidExpression(f"And needs at least two terms, got {len(self.terms)}")
        if all(_without_negations(t)[0] for t in self.terms):
            raise InvalidExpression(
                f"'{self}' has only negated terms: a negation needs something positive "
                "to subtract from"
            )

    def events(self) -> frozenset[str]:
        return frozenset().union(*(t.events() for t in self.terms))

    def evaluate(self, lookup: Lookup) -> Bitmap:
        positive: list[Expression] = []
        negative: list[Expression] = []
        for term in self.terms:
            negated, core = _without_negations(term)
            (negative if negated else positive).append(core)
        result = positive[0].evaluate(lookup)
        for term in positive[1:]:
            result = result & term.evaluate(lookup)
        if negative:
            result = result - Bitmap.union(t.evaluate(lookup) for t in negative)
        return result

    def __str__(self) -> str:
        return " & ".join(_wrap(t) for t in self.terms)


@attrs.frozen
class Or:
    """Users in any of the terms (``a | b``)."""

    terms: tuple[Expression, ...] = attrs.field(converter=_as_terms)

    def __attrs_post_init__(self) -> None:
        if len(self.terms) < 2:
            raise InvalidExpression(f"Or needs at least two terms, got {len(self.terms)}")
        for term in self.terms:
            if _without_negations(term)[0]:
                raise InvalidExpression(
                    f"'{self}' ORs a negation, which has no universe: "
                    "combine negations with & against a positive term"
                )

    def events(self) -> frozenset[str]:
        return frozenset().union(*(t.events() for t in self.terms))

    def evaluate(self, lookup: Lookup) -> Bitmap:
        return Bitmap.union(t.evaluate(lookup) for t in self.terms)

    def __str__(self) -> str:
        return " | ".join(_wrap(t) for t in self.terms)


Expression: TypeAlias = EventRef | Not | And | Or


def _without_negations(expr: Expression) -> tuple[bool, Expression]:
    """Strip every ``Not`` around ``expr``: (whether an odd number was stripped, the rest)."""
    negated = False
    while isinstance(expr, Not):
        negated = not negated
        expr = expr.term
    return negated, expr


def _wrap(expr: Expression) -> str:
    return f"({expr})" if isinstance(expr, And | Or) else str(expr)


def _and(terms: Sequence[Expression]) -> Expression:
    flat: list[Expression] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, And) else (term,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _or(terms: Sequence[Expression]) -> Expression:
    flat: list[Expression] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, Or) else (term,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def check_positive(expr: Expression, text: str = "") -> Expression:
    """Refuse a lone negation at the top of an expression (a double negation is positive)."""
    if _without_negations(expr)[0]:
        raise InvalidExpression(
            f"'{expr}' at position 0 is a lone negation: it has no universe; write it "
            "against something positive, e.g. 'a & ~b'",
            text=text,
            position=0,
        )
    return expr


# -- 0.1's chain ----------------------------------------------------------------------


def parse_chain(
    secondary: str,
    additional_events: Sequence[Mapping[str, object]] = (),
    *,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
) -> Expression:
    """Build 0.1's chain: ``secondary`` then ``[{"name": ..., "op": "and" | "or"}, ...]``.

    Each OR binds to its immediate predecessor, so OR binds tighter than AND:

    >>> str(parse_chain("a", [{"name": "b", "op": "and"}, {"name": "c", "op": "or"}]))
    'a & (b | c)'

    A chain of more than ``max_terms`` events is refused (:class:`InvalidExpression`).
    """
    if len(additional_events) + 1 > max_terms:
        raise InvalidExpression(
            f"additional_events has {len(additional_events)} events; with the secondary "
            f"event at most {max_terms} terms are allowed (BITMAPIST_MAX_EXPRESSION_TERMS)",
            position=max_terms - 1,
        )
    groups: list[list[Expression]] = [[EventRef(secondary)]]
    for index, item in enumerate(additional_events):
        where = f"additional_events[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidExpression(
                f"{where} must be a mapping with 'name' and 'op', got {item!r}", position=index
            )
        name, op = item.get("name"), item.get("op", "and")
        try:
            ref = EventRef(name)  # type: ignore[arg-type]
        except InvalidEventName as exc:
            raise InvalidExpression(f"{where}: {exc}", position=index) from exc
        if not isinstance(op, str) or op.strip().lower() not in ("and", "or"):
            raise InvalidExpression(
                f"{where}: op must be 'and' or 'or', got {op!r}", position=index
            )
        if op.strip().lower() == "or":
            groups[-1].append(ref)
        else:
            groups.append([ref])
    return _and([_or(group) for group in groups])


# -- text expressions -----------------------------------------------------------------

# A name written without quotes: anything but whitespace, operators and quotes. The
# tokenizer reads names with it and EventRef.__str__ quotes whatever it would not read.
_BARE = r'[^\s&|~()"]+'
_BARE_NAME = re.compile(_BARE)
# Inside quotes a backslash escapes the next character: "say \"hi\"" is say "hi".
_TOKEN = re.compile(rf'(?P<op>[&|~()])|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<name>{_BARE})')
_ESCAPED = re.compile(r'["\\]')
_ESCAPE = re.compile(r"\\(.)")
_WORDS = {"and": "&", "or": "|", "not": "~"}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return tokens
        match = _TOKEN.match(text, position)
        if match is None:
            raise InvalidExpression(
                f"unexpected {text[position]!r} at position {position} in {text!r}",
                text=text,
                position=position,
            )
        start = match.start(match.lastgroup or 0)
        if match.group("op"):
            tokens.append(("op", match.group("op"), start))
        elif match.group("quoted") is not None:
            tokens.append(("name", _ESCAPE.sub(r"\1", match.group("quoted")), start - 1))
        else:
            word = match.group("name")
            if word.lower() in _WORDS:
                tokens.append(("op", _WORDS[word.lower()], start))
            else:
                tokens.append(("name", word, start))
        position = match.end()


class _Parser:
    """Recursive descent, one level per parenthesis (bounded by ``MAX_EXPRESSION_DEPTH``);
    a run of ``~`` is read in a loop, so ``~~~~...a`` costs no recursion."""

    def __init__(self, text: str, max_terms: int, noun: str = "event name") -> None:
        self.text = text
        self.noun = noun
        self.tokens = _tokenize(text)
        self.index = 0
        self.max_terms = max_terms
        self.terms = 0
        self.depth = 0

    def fail(self, message: str, position: int | None = None) -> InvalidExpression:
        if position is None:
            position = (
                self.tokens[self.index][2] if self.index < len(self.tokens) else len(self.text)
            )
        shown = self.text if len(self.text) <= 200 else f"{self.text[:80]}..."
        return InvalidExpression(
            f"{message} at position {position} in {shown!r}", text=self.text, position=position
        )

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def accept(self, op: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] == op:
            self.index += 1
            return True
        return False

    def parse(self) -> Expression:
        if not self.tokens:
            raise self.fail("empty expression", 0)
        expr = self.or_expr()
        if self.peek() is not None:
            token = self.tokens[self.index]
            raise self.fail(f"unexpected {token[1]!r}")
        return check_positive(expr, self.text)

    def or_expr(self) -> Expression:
        terms = [self.and_expr()]
        while self.accept("|"):
            terms.append(self.and_expr())
        return self.build(_or, terms)

    def and_expr(self) -> Expression:
        terms = [self.not_expr()]
        while self.accept("&"):
            terms.append(self.not_expr())
        return self.build(_and, terms)

    def build(
        self, combine: Callable[[Sequence[Expression]], Expression], terms: list[Expression]
    ) -> Expression:
        start = self.tokens[self.index - 1][2] if self.index else 0
        try:
            return combine(terms)
        except InvalidExpression as exc:
            raise self.fail(str(exc), start) from None

    def not_expr(self) -> Expression:
        negations = 0
        while self.accept("~"):
            negations += 1
        inner = self.atom()
        if negations % 2 == 0:
            return inner  # a double negation is its positive
        return inner.term if isinstance(inner, Not) else Not(inner)

    def atom(self) -> Expression:
        token = self.peek()
        if token is None:
            raise self.fail(f"expected {self._a_noun} or '('")
        kind, value, position = token
        if kind == "name":
            self.index += 1
            self.terms += 1
            if self.terms > self.max_terms:
                raise self.fail(
                    f"too many terms: at most {self.max_terms} {self.noun}s are allowed "
                    "(BITMAPIST_MAX_EXPRESSION_TERMS)",
                    position,
                )
            try:
                return EventRef(value)
            except InvalidEventName as exc:
                raise self.fail(str(exc), position) from None
        if value == "(":
            self.index += 1
            self.depth += 1
            if self.depth > MAX_EXPRESSION_DEPTH:
                raise self.fail(
                    f"parentheses nested too deeply: at most {MAX_EXPRESSION_DEPTH} levels "
                    "are allowed",
                    position,
                )
            expr = self.or_expr()
            if not self.accept(")"):
                raise self.fail(f"the '(' at position {position} is not closed: expected ')'")
            self.depth -= 1
            return expr
        raise self.fail(f"expected {self._a_noun} or '(', got {value!r}")

    @property
    def _a_noun(self) -> str:
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"


def parse_expression(
    text: str, *, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS, noun: str = "event name"
) -> Expression:
    """Parse ``a & (b | c) & ~d``; ``and``/``or``/``not`` work as words too.

    Quote names with double quotes when they contain a space or ``&|~()``, or spell an
    operator word (``"song played" & ~"and"``). Errors name the position:

    >>> str(parse_expression("user:paid & (user:returned | user:refunded) & ~user:banned"))
    'user:paid & (user:returned | user:refunded) & ~user:banned'

    Bounded: at most ``max_terms`` event names, ``MAX_EXPRESSION_DEPTH`` levels of
    parentheses and ``MAX_EXPRESSION_LENGTH`` characters, else :class:`InvalidExpression`.
    ``noun`` is what errors call a term (segments, :mod:`~flask_bitmapist.domain.segments`,
    parse their text here too and call them "terms").
    """
    if not isinstance(text, str):
        raise InvalidExpression(f"expression must be a str, got {text!r}")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise InvalidExpression(
            f"expression {text[:40]!r}... is {len(text)} characters long; at most "
            f"{MAX_EXPRESSION_LENGTH} are allowed",
            text=text[:MAX_EXPRESSION_LENGTH],
            position=MAX_EXPRESSION_LENGTH,
        )
    return _Parser(text, max_terms, noun).parse()
