"""The ``flask bitmapist`` commands: events, cohort tables, trends, lifecycles,
stickiness, funnels, imports, demo data.

``init_app`` adds :data:`bitmapist_cli` to the app's ``flask`` command, so with
``flask --app yourapp`` these run against the app's configured storage::

    flask --app yourapp bitmapist events
    flask --app yourapp bitmapist cohort user:created user:logged_in --time-group weeks
    flask --app yourapp bitmapist trend user:active --rolling 7
    flask --app yourapp bitmapist lifecycle user:active --time-group weeks --periods 12
    flask --app yourapp bitmapist stickiness user:logged_in --periods 30
    flask --app yourapp bitmapist funnel product:viewed cart:added user:paid
    flask --app yourapp bitmapist import events.csv
    flask --app yourapp bitmapist import plans.csv --properties
    flask --app yourapp bitmapist saved-cohorts save beta_testers 1 2 3
    flask --app yourapp bitmapist demo-data --days 90 --users 5000
    flask --app yourapp bitmapist copy --to redis://localhost:6379/0
    flask --app yourapp bitmapist retention --apply
    flask --app yourapp bitmapist storage --format json

Bad arguments are usage errors (exit status 2); storage that cannot be reached, a file
that cannot be imported, or rows that were skipped end with status 1 and a message on
stderr, never a traceback.

One module per command, except the answers (trend, lifecycle, stickiness, funnel): each
of those is made from its kind by :func:`.answers.answer_command`, and prints what the
app's answer pipeline (:class:`~flask_bitmapist.services.answers.Answers`) gives, so its
JSON is the API's. :mod:`.options` holds what commands share (the app's state, storage
errors as one-line messages, ``--now``, ``--format``, ``--time-group``, event-name
arguments, progress bars) and :mod:`.tables` the aligned text tables (from
:mod:`flask_bitmapist.services.reports`, as on the dashboard).

Adding a command:

1. an answer kind: describe it once in ``services/answers/`` (see
   docs/adding-an-answer-kind.md), then make its command here with one
   ``answer_command(...)`` line in :mod:`.answers`;
2. any other command: write ``name.py`` beside the others, defining ``name_command``
   with ``@click.command("name")`` then ``@with_appcontext`` and the shared options from
   :mod:`.options`; the work itself belongs in ``services/``, where the dashboard reaches
   the same code, and ``--format csv`` text comes from
   :func:`~flask_bitmapist.services.reports.to_csv`, the one CSV writer;
3. register it with one line in ``COMMANDS`` below (and its import above it);
4. show it in the manual: a ``$ flask --app examples.demo_app bitmapist ...`` line in a
   console block of ``docs/cli.md`` (or the page of its topic), which
   ``tests/unit/test_docs.py`` runs; that test also checks every command is shown.

Its tests go in ``tests/unit/flask/cli/``, driven through the ``Cli`` fixture there;
``tests/unit/flask/cli/test_package.py`` fails for a command module that is not
registered.
"""

from __future__ import annotations

from typing import Final

import click
from flask.cli import AppGroup

from flask_bitmapist.flask.cli.answers import (
    funnel_command,
    lifecycle_command,
    stickiness_command,
    trend_command,
)
from flask_bitmapist.flask.cli.cohort import cohort_command
from flask_bitmapist.flask.cli.copy import copy_command
from flask_bitmapist.flask.cli.demo_data import demo_data_command
from flask_bitmapist.flask.cli.events import events_command
from flask_bitmapist.flask.cli.import_events import import_command
from flask_bitmapist.flask.cli.retention import retention_command
from flask_bitmapist.flask.cli.saved_cohorts import saved_cohorts_command
from flask_bitmapist.flask.cli.storage import storage_command

__all__ = ["COMMANDS", "bitmapist_cli"]

#: Every ``flask bitmapist`` subcommand (``--help`` lists them by name).
COMMANDS: Final[tuple[click.Command, ...]] = (
    events_command,
    cohort_command,
    stickiness_command,
    funnel_command,
    import_command,
    demo_data_command,
    trend_command,
    lifecycle_command,
    copy_command,
    saved_cohorts_command,
    retention_command,
    storage_command,
)

bitmapist_cli = AppGroup(
    "bitmapist",
    help="Bitmap analytics: list events, print cohort tables, trends, lifecycles, "
    "stickiness and funnels, "
    "import past events and properties, keep saved cohorts, generate demo data, apply the "
    "retention policy, report storage, copy the store to another.",
)
for _command in COMMANDS:
    bitmapist_cli.add_command(_command)
