"""Every answer kind, described once, and the one pipeline that runs them (see
docs/adding-an-answer-kind.md).

:data:`KINDS` maps each kind's name to its description (an :class:`AnswerKind`: spec from
fields, engine, read plan, JSON, CSV rows, text table, drill-downs), one module each;
:class:`Answers` runs them for one app with its zone, clock and read budget. The Python
functions, the JSON/CSV API, the CLI and the dashboard all ask an :class:`Answers` for an
answer by kind; none of them builds an engine.

The request builders of :mod:`.specs` (``trend_spec``...) stay importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from flask_bitmapist.services.answers.cohort import CohortKind
from flask_bitmapist.services.answers.fields import Fields, parse_count, parse_now
from flask_bitmapist.services.answers.funnel import FunnelKind
from flask_bitmapist.services.answers.lifecycle import LifecycleKind
from flask_bitmapist.services.answers.pipeline import (
    DEFAULT_MAX_READ_BYTES,
    DEFAULT_MAX_READ_KEYS,
    Answer,
    AnswerKind,
    Answers,
    Breakdown,
    Drill,
    ReadBudget,
    ReadPlan,
    complete_flags,
    no_data_warnings,
    read_plan,
)
from flask_bitmapist.services.answers.specs import (
    as_expression,
    as_expressions,
    funnel_spec,
    lifecycle_spec,
    stickiness_spec,
    trend_spec,
)
from flask_bitmapist.services.answers.stickiness import StickinessKind
from flask_bitmapist.services.answers.trend import TrendKind

__all__ = [
    "DEFAULT_MAX_READ_BYTES",
    "DEFAULT_MAX_READ_KEYS",
    "KINDS",
    "Answer",
    "AnswerKind",
    "Answers",
    "Breakdown",
    "Drill",
    "Fields",
    "ReadBudget",
    "ReadPlan",
    "as_expression",
    "as_expressions",
    "complete_flags",
    "funnel_spec",
    "lifecycle_spec",
    "no_data_warnings",
    "parse_count",
    "parse_now",
    "read_plan",
    "stickiness_spec",
    "trend_spec",
]

#: Every answer kind by name, in the dashboard's order.
KINDS: Final[Mapping[str, AnswerKind[Any, Any]]] = {
    kind.name: kind
    for kind in (CohortKind(), TrendKind(), LifecycleKind(), StickinessKind(), FunnelKind())
}
