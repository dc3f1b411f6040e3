"""Event expressions: 0.1's chain, the text form, and what a negation may do."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from flask_bitmapist.domain import (
    And,
    Bitmap,
    BitmapistError,
    EventRef,
    Expression,
    InvalidEventName,
    InvalidExpression,
    Not,
    Or,
    parse_chain,
    parse_expression,
)

A, B, C, D, E, F, S = (EventRef(name) for name in "ABCDEFS")
a, b, c, d = (EventRef(name) for name in "abcd")


def chain(secondary: str, *steps: str) -> Expression:
    """``chain("A", "and B", "or C")`` is 0.1's ``A`` + ``[{"name": "B", "op": "and"}, ...]``."""
    additional = [{"op": op, "name": name} for op, name in (step.split() for step in steps)]
    return parse_chain(secondary, additional)


# Each event's users, chosen so that the precedence of a chain changes its result.
USERS = {
    "A": {1, 2, 3, 4, 5, 6},
    "B": {1, 2, 3, 10},
    "C": {2, 3, 4, 11},
    "D": {3, 4, 5, 12},
    "E": {4, 5, 6},
    "F": {5, 6, 7},
    "S": {6, 7, 8},
}


def users(expr: Expression, sets: Mapping[str, set[int]] = USERS) -> list[int]:
    return list(expr.evaluate(lambda name: Bitmap.from_ids(sets.get(name, set()))))


# -- 0.1's chain ----------------------------------------------------------------------


def test_a_chain_of_one_is_the_secondary_event() -> None:
    assert parse_chain("A") == A
    assert parse_chain("A", []) == A


def test_and_chains_intersect() -> None:
    assert chain("A", "and B", "and C") == And((A, B, C))
    assert users(chain("A", "and B", "and C")) == [2, 3]


def test_or_binds_to_its_predecessor() -> None:
    # A and B and C or D = A & B & (C | D)
    expr = chain("A", "and B", "and C", "or D")
    assert expr == And((A, B, Or((C, D))))
    assert users(expr) == [2, 3]  # (A&B&C)|D would also hold 4, 5 and 12


def test_or_between_two_ands_joins_its_neighbours_only() -> None:
    # A and B or C and D = A & (B | C) & D
    expr = chain("A", "and B", "or C", "and D")
    assert expr == And((A, Or((B, C)), D))
    assert users(expr) == [3, 4]


def test_consecutive_ors_group_together() -> None:
    expr = chain("A", "and B", "or C", "or D")
    assert expr == And((A, Or((B, C, D))))
    assert users(expr) == [1, 2, 3, 4, 5]


def test_an_or_right_after_the_secondary_joins_the_secondary() -> None:
    # S or E and F = (S | E) & F
    expr = chain("S", "or E", "and F")
    assert expr == And((Or((S, E)), F))
    assert users(expr) == [5, 6, 7]


def test_a_chain_of_ors_is_one_union() -> None:
    assert chain("S", "or E", "or F") == Or((S, E, F))


def test_an_or_term_counts_when_the_secondary_has_no_users() -> None:
    # 0.1 returned 0 for the whole chain when the secondary had no data.
    sets = {"S": set(), "E": {4, 5}, "F": {5, 9}}
    assert users(chain("S", "or E", "and F"), sets) == [5]
    assert users(chain("S", "or E"), sets) == [4, 5]


def test_op_is_case_insensitive_and_defaults_to_and() -> None:
    assert parse_chain("A", [{"name": "B", "op": " OR "}]) == Or((A, B))
    assert parse_chain("A", [{"name": "B"}]) == And((A, B))


def test_parse_chain_leaves_its_arguments_alone() -> None:
    additional: list[dict[str, object]] = [
        {"name": "B", "op": "and"},
        {"name": "C", "op": "or"},
    ]
    snapshot = [dict(item) for item in additional]
    parse_chain("A", additional)
    parse_chain("A", additional)
    assert additional == snapshot


@pytest.mark.parametrize(
    ("additional", "index", "fragment"),
    [
        ([{"name": "B", "op": "xor"}], 0, "'xor'"),
        ([{"name": "B", "op": "and"}, {"name": "C", "op": "nand"}], 1, "'nand'"),
        ([{"name": "B", "op": "and"}, {"name": "C", "op": 1}], 1, "1"),
        ([{"name": "B"}, {"name": "bad\tname"}], 1, "'bad\\tname'"),
        ([{"name": "B"}, {"name": "C"}, {"op": "or"}], 2, "None"),
        ([{"name": ""}], 0, "empty"),
        ([{"name": "B"}, "C"], 1, "'C'"),
        ([None], 0, "None"),
    ],
)
def test_a_malformed_additional_event_is_refused_naming_its_index(
    additional: list[object], index: int, fragment: str
) -> None:
    with pytest.raises(InvalidExpression) as caught:
        parse_chain("A", additional)  # type: ignore[arg-type]
    assert f"additional_events[{index}]" in str(caught.value)
    assert fragment in str(caught.value)
    assert caught.value.position == index


def test_a_malformed_secondary_is_refused_naming_it() -> None:
    with pytest.raises(InvalidEventName, match=r"'bad\\nname'"):
        parse_chain("bad\nname", [{"name": "B"}])


def test_a_chain_may_name_events_with_spaces() -> None:
    # bitmapist accepts any name: events it wrote, such as "song played", can be chained.
    expr = parse_chain("song played", [{"name": "song skipped", "op": "or"}, {"name": "paid"}])
    assert expr == And((Or((EventRef("song played"), EventRef("song skipped"))), EventRef("paid")))
    sets = {"song played": {1, 2}, "song skipped": {3}, "paid": {2, 3, 4}}
    assert users(expr, sets) == [2, 3]


# -- the text form --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", a),
        ("a & b", And((a, b))),
        ("a | b & c", Or((a, And((b, c))))),
        ("a & b | c", Or((And((a, b)), c))),
        ("(a | b) & c", And((Or((a, b)), c))),
        ("a & (b | c) & ~d", And((a, Or((b, c)), Not(d)))),
        ("a & ~b | c", Or((And((a, Not(b))), c))),
        ("~b & a", And((Not(b), a))),
        ("a & ~(b | c)", And((a, Not(Or((b, c)))))),
        ("a & ~(b & ~c)", And((a, Not(And((b, Not(c))))))),
        ("a & b & c | d", Or((And((a, b, c)), d))),
        ("a | b | c", Or((a, b, c))),
        ("((a))", a),
        ("(a & b) & c", And((a, b, c))),
        ("a | (b | c)", Or((a, b, c))),
        ("~~a", a),
        ("a & ~~b", And((a, b))),
        ("a&b|c", Or((And((a, b)), c))),
        ("  a  &\tb  ", And((a, b))),
    ],
)
def test_text_has_ordinary_precedence_not_and_or(text: str, expected: Expression) -> None:
    assert parse_expression(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a and b", And((a, b))),
        ("a or b and c", Or((a, And((b, c))))),
        ("a and not b", And((a, Not(b)))),
        ("a AND (b OR c) AND NOT d", And((a, Or((b, c)), Not(d)))),
        ("a Or b", Or((a, b))),
    ],
)
def test_words_work_as_operators_in_any_case(text: str, expected: Expression) -> None:
    assert parse_expression(text) == expected


def test_real_event_names_parse_as_names() -> None:
    expr = parse_expression("user:paid & (user:returned | user:refunded) & ~user:banned")
    assert expr == And(
        (
            EventRef("user:paid"),
            Or((EventRef("user:returned"), EventRef("user:refunded"))),
            Not(EventRef("user:banned")),
        )
    )
    assert expr.events() == {"user:paid", "user:returned", "user:refunded", "user:banned"}


def test_quoted_names_may_hold_operators_and_words() -> None:
    assert parse_expression('"a&b" | c') == Or((EventRef("a&b"), c))
    assert parse_expression('"or" & "not"') == And((EventRef("or"), EventRef("not")))
    assert parse_expression('"f(x)"&~"~y"') == And((EventRef("f(x)"), Not(EventRef("~y"))))


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("   ", 0),
        ("a &", 3),
        ("& a", 0),
        ("a b", 2),
        ("a & & b", 4),
        ("a | | b", 4),
        ("(a | b", 6),
        ("a)", 1),
        ("a & ()", 5),
        ("()", 1),
        ("a ~ b", 2),
        ('"abc', 0),
        ('a & "b', 4),
        ('""', 0),
        ("a & bitop_x", 4),
        ("bitop_x | a", 0),
        ("a & (b | c", 10),
        ("a and or b", 6),
        ("not", 3),
        ("a & b |", 7),
    ],
)
def test_malformed_text_is_refused_naming_the_position(text: str, position: int) -> None:
    with pytest.raises(InvalidExpression) as caught:
        parse_expression(text)
    assert caught.value.position == position
    assert caught.value.text == text
    assert f"position {position}" in str(caught.value)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    "text", ["~a", "not a", "(~a)", "~(a | b)", "~a & ~b", "not a and not b", "~(a & b)"]
)
def test_a_lone_negation_is_refused(text: str) -> None:
    with pytest.raises(InvalidExpression, match="negat") as caught:
        parse_expression(text)
    assert caught.value.position is not None


@pytest.mark.parametrize("text", ["a | ~b", "~b | a", "a & (~b | c)", "a | not b"])
def test_a_negation_cannot_be_ored(text: str) -> None:
    with pytest.raises(InvalidExpression, match="negation") as caught:
        parse_expression(text)
    assert caught.value.position is not None
    assert "position" in str(caught.value)


def test_an_expression_must_be_text() -> None:
    with pytest.raises(InvalidExpression, match="42"):
        parse_expression(42)  # type: ignore[arg-type]


def test_invalid_expression_is_a_value_error_of_the_package() -> None:
    assert issubclass(InvalidExpression, BitmapistError)
    assert issubclass(InvalidExpression, ValueError)


# -- the expression objects -----------------------------------------------------------


def test_and_subtracts_every_negated_term() -> None:
    expr = parse_expression("A & ~B & ~(C & D)")
    # A - B - (C & D) = {1..6} - {1,2,3,10} - {3,4}
    assert users(expr) == [5, 6]


def test_a_negation_inside_a_negation_subtracts_back() -> None:
    # A & ~(B & ~C): A minus those who did B but not C.
    assert users(parse_expression("A & ~(B & ~C)")) == [2, 3, 4, 5, 6]


def test_evaluating_a_lone_negation_is_refused() -> None:
    with pytest.raises(InvalidExpression, match="a & ~b"):
        Not(a).evaluate(lambda name: Bitmap())


def test_and_and_or_need_two_terms() -> None:
    with pytest.raises(InvalidExpression, match="two terms"):
        And((a,))
    with pytest.raises(InvalidExpression, match="two terms"):
        Or(())


def test_an_and_of_negations_only_is_refused() -> None:
    with pytest.raises(InvalidExpression, match="only negated"):
        And((Not(a), Not(b)))


def test_an_or_of_a_negation_is_refused() -> None:
    with pytest.raises(InvalidExpression, match="negation"):
        Or((a, Not(b)))


def test_event_refs_validate_their_name() -> None:
    with pytest.raises(InvalidEventName, match=r"'bad\\tname'"):
        EventRef("bad\tname")
    with pytest.raises(InvalidEventName, match="bitop_"):
        EventRef("bitop_and")
    with pytest.raises(InvalidEventName, match="empty"):
        EventRef("")


def test_event_refs_accept_names_with_spaces_as_bitmapist_data_has_them() -> None:
    assert EventRef("song played").name == "song played"
    assert EventRef("<img src=x onerror=alert(1)>").events() == {"<img src=x onerror=alert(1)>"}


def test_a_double_negation_in_an_and_is_its_positive() -> None:
    # A - B, whichever way round the double negation stands.
    assert users(And((A, Not(Not(B))))) == [1, 2, 3]
    assert users(And((Not(Not(A)), Not(B)))) == [4, 5, 6]
    assert users(And((A, Not(Not(Not(B)))))) == [4, 5, 6]


def test_a_double_negation_in_an_or_is_its_positive() -> None:
    assert users(Or((E, Not(Not(S))))) == [4, 5, 6, 7, 8]


def test_a_double_negation_alone_evaluates_as_its_term() -> None:
    assert users(Not(Not(A))) == users(A)


def test_an_odd_number_of_negations_is_still_a_negation() -> None:
    with pytest.raises(InvalidExpression, match="~~~a"):
        Not(Not(Not(a))).evaluate(lambda name: Bitmap())
    with pytest.raises(InvalidExpression, match="only negated"):
        And((Not(Not(Not(a))), Not(b)))
    with pytest.raises(InvalidExpression, match="negation"):
        Or((a, Not(Not(Not(b)))))


def test_events_lists_every_name_mentioned() -> None:
    assert parse_expression("a & (b | c) & ~d").events() == {"a", "b", "c", "d"}
    assert Not(a).events() == {"a"}


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("a", "a"),
        ("a and b", "a & b"),
        ("a | b & c", "a | (b & c)"),
        ("(a | b) & c", "(a | b) & c"),
        ("a & (b | c) & not d", "a & (b | c) & ~d"),
        ("a & ~(b | c)", "a & ~(b | c)"),
        ("a & ~(b & ~c) | d", "(a & ~(b & ~c)) | d"),
        (
            "user:paid & (user:returned | user:refunded) & ~user:banned",
            "user:paid & (user:returned | user:refunded) & ~user:banned",
        ),
    ],
)
def test_str_is_text_that_parses_back_to_the_same_expression(text: str, written: str) -> None:
    expr = parse_expression(text)
    assert str(expr) == written
    assert parse_expression(str(expr)) == expr


@pytest.mark.parametrize("name", ["a&b", "or", "NOT", "f(x)", "~y", "a|b"])
def test_str_quotes_names_that_would_read_as_operators(name: str) -> None:
    assert str(EventRef(name)) == f'"{name}"'
    expr = And((EventRef(name), Not(EventRef("plain")), Or((EventRef(name), a))))
    assert parse_expression(str(expr)) == expr


@pytest.mark.parametrize(
    "name", ["song played", "<img src=x onerror=alert(1)>", " leading", "two  spaces"]
)
def test_str_quotes_names_with_spaces_and_reads_them_back(name: str) -> None:
    assert str(EventRef(name)) == f'"{name}"'
    expr = And((EventRef(name), Or((a, EventRef(name))), Not(EventRef(name))))
    assert parse_expression(str(expr)) == expr


def test_quoted_names_may_hold_spaces() -> None:
    expr = parse_expression('"song played" & ~"song skipped" | paid')
    assert expr == Or(
        (And((EventRef("song played"), Not(EventRef("song skipped")))), EventRef("paid"))
    )


def test_a_quoted_name_with_a_tab_is_refused_naming_its_position() -> None:
    with pytest.raises(InvalidExpression, match=r"'a\\tb'") as caught:
        parse_expression('paid & "a\tb"')
    assert caught.value.position == 7


@pytest.mark.parametrize(
    ("name", "written"),
    [('say"hi', r'"say\"hi"'), ('a "b"', r'"a \"b\""'), ("x\\y z", r'"x\\y z"')],
)
def test_str_escapes_quotes_and_backslashes_inside_quotes(name: str, written: str) -> None:
    assert str(EventRef(name)) == written
    expr = And((EventRef(name), Not(EventRef("plain"))))
    assert parse_expression(str(expr)) == expr


def test_a_bare_backslash_is_part_of_a_name() -> None:
    assert parse_expression("a\\b") == EventRef("a\\b")
