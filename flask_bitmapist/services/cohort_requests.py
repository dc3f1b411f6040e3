"""What every front end does with a cohort request before the engine sees it: turn 0.1's
``with_replacement`` into a mode, and build the spec with errors that name fields as that
front end calls them (``num_rows`` in 0.1's JSON body, ``--rows`` on the command line).

The Python API (``get_cohort``), the dashboard's forms and the CLI all go through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask_bitmapist.domain import CohortMode, CohortSpec, Expression, InvalidCohortSpec

__all__ = ["create_cohort_spec", "legacy_mode", "rename_field", "with_replacement"]


def legacy_mode(mode: str | CohortMode | None, *, with_replacement: bool) -> str | CohortMode:
    """The mode a request asks for: ``mode`` when given (it wins), else 0.1's
    ``with_replacement`` (``True``: ``recurring``; ``False``: ``first_return``).

    >>> legacy_mode(None, with_replacement=True)
    <CohortMode.RECURRING: 'recurring'>
    >>> legacy_mode("cumulative", with_replacement=True)
    'cumulative'
    """
    if mode is not None:
        return mode
    return CohortMode.RECURRING if with_replacement else CohortMode.FIRST_RETURN


def with_replacement(mode: CohortMode) -> bool:
    """0.1's ``with_replacement`` flag for ``mode``, as 0.1's JSON answer reports it."""
    return mode is CohortMode.RECURRING


def rename_field(exc: InvalidCohortSpec, names: Mapping[str, str]) -> InvalidCohortSpec:
    """``exc`` in the front end's words: its ``field`` renamed through ``names`` (a field
    not in ``names`` keeps the domain's name), and its message led by that name.

    >>> str(rename_field(InvalidCohortSpec("rows must be ...", field="rows"), {"rows": "num_rows"}))
    'num_rows must be ...'
    >>> str(rename_field(InvalidCohortSpec("a cohort of ...", field="cols"), {}))
    'cols: a cohort of ...'
    """
    field = names.get(exc.field, exc.field)
    message = str(exc)
    if message.startswith(exc.field):
        message = field + message[len(exc.field) :]
    else:
        message = f"{field}: {message}"
    return InvalidCohortSpec(message, field=field)


def create_cohort_spec(
    primary: Expression,
    secondary: Expression,
    *,
    now: datetime,
    time_group: object,
    rows: int,
    cols: int,
    mode: object,
    max_cells: int,
    field_names: Mapping[str, str],
    first_time: bool = False,
) -> CohortSpec:
    """:meth:`CohortSpec.create`, an error naming its field as ``field_names`` says (see
    :func:`rename_field`)."""
    try:
        return CohortSpec.create(
            primary,
            secondary,
            now=now,
            time_group=time_group,  # type: ignore[arg-type]
            rows=rows,
            cols=cols,
            mode=mode,  # type: ignore[arg-type]
            max_cells=max_cells,
            first_time=first_time,
        )
    except InvalidCohortSpec as exc:
        raise rename_field(exc, field_names) from exc
