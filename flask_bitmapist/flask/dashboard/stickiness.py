"""The stickiness page, ``/api/stickiness`` (JSON or CSV) and ``/api/stickiness/users``.

``GET /api/stickiness?expr=E&time_group=&periods=&now=`` answers ``{"periods": N,
"counts": [...]}`` (see docs/answers.md); every count lists its users. The answer
comes from the app's pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlencode

import attrs
from flask import Blueprint, Response, request, url_for

from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import StickinessChart
from flask_bitmapist.flask.dashboard.forms import window_args
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.reports import period_label

__all__ = ["StickinessForm", "register"]


def register(bp: Blueprint) -> None:
    """Add the stickiness page and its API routes to the dashboard blueprint."""
    responses.add_answer_routes(
        bp, "stickiness", "/stickiness", stickiness_page, api_stickiness, api_stickiness_users
    )


@attrs.frozen
class StickinessForm:
    """The stickiness request as typed: ``expr``, ``time_group``, ``periods``, ``now``."""

    #: The query-string keys of the form; a request with none of them shows the default.
    KEYS: ClassVar[tuple[str, ...]] = ("expr", "time_group", "periods", "now", "segment")

    expr: str = ""
    time_group: str = "day"
    periods: str = "30"
    now: str = ""
    segment: str = ""
    compare: str = ""
    breakdown: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> StickinessForm:
        """Read the form from a query string."""
        return cls(expr=(args.get("expr") or "").strip(), **window_args(args))

    @staticmethod
    def is_submitted(args: Mapping[str, str]) -> bool:
        """Whether the query string holds any field (else: show an empty form)."""
        return any(key in args for key in StickinessForm.KEYS)

    def fields(self) -> dict[str, object]:
        """The request's fields, as the answer pipeline reads them."""
        return {
            "expr": self.expr,
            "time_group": self.time_group,
            "periods": self.periods,
            "now": self.now,
            "segment": self.segment,
            "compare": self.compare,
            "breakdown": self.breakdown,
        }

    def query(self, **overrides: object) -> str:
        """The form as a query string, ``overrides`` added."""
        pairs = [("expr", self.expr), ("time_group", self.time_group), ("periods", self.periods)]
        if self.now:
            pairs.append(("now", self.now))
        if self.segment:
            pairs.append(("segment", self.segment))
        if self.compare:
            pairs.append(("compare", self.compare))
        if self.breakdown:
            pairs.append(("breakdown", self.breakdown))
        pairs += [(key, str(value)) for key, value in overrides.items()]
        return urlencode(pairs)


def stickiness_page() -> Response:
    """The form and, once submitted, a bar chart and a table whose numbers list users."""
    state = current_state()
    args = responses.default_args("stickiness", request.args, StickinessForm.KEYS)
    form = StickinessForm.from_args(args)
    submitted = StickinessForm.is_submitted(args)
    answer, error = responses.try_answer(
        (lambda: state.answers.answer("stickiness", form.fields())) if submitted else None
    )
    stickiness = answer.result if answer else None
    return responses.page_response(
        "bitmapist/stickiness.html",
        answer=answer,
        error=error,
        form=form,
        stickiness=stickiness,
        chart=StickinessChart.build(stickiness) if stickiness else None,
        labels=[period_label(stickiness.spec.time_group, d) for d in stickiness.dates]
        if stickiness
        else [],
        query=form.query(),
        users_url=url_for("bitmapist.api_stickiness_users") + "?" + form.query(),
    )


def api_stickiness() -> Response:
    """``{"periods": N, "counts": [...]}`` (``format=csv``: a line per k)."""
    return responses.api_answer("stickiness", StickinessForm.from_args(request.args).fields())


def api_stickiness_users() -> Response:
    """The users who matched in exactly ``k`` periods, a page at a time."""
    fields = StickinessForm.from_args(request.args).fields()
    return responses.api_users("stickiness", fields, "k")
