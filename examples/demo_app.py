"""A small shop that shows the four ways to register events, and the dashboard.

- **Flask-Login**: logging in and out marks ``user:logged_in`` / ``user:logged_out``
  by itself, once the extension is initialised;
- **the SQLAlchemy mixin**: ``User`` is ``Bitmapistable``, so creating a user (on a SQLite
  database) marks ``user:created`` and changing one marks ``user:updated``, after the
  commit;
- **the decorator**: the ``/pay`` view is wrapped in ``@mark("user:paid")``, which marks
  the logged-in user on every call;
- **the function**: ``/refund`` calls ``mark_event("user:refunded", ...)`` only when there
  is something to refund (a branch a decorator cannot express).

Its bitmaps are in the embedded store, ``demo.db`` in the app's instance folder
(``instance/`` beside ``examples/``). At start-up, when that file holds no demo data yet, the
app fills it with generated history (see :mod:`flask_bitmapist.services.demo_data`) so the
dashboard at ``/bitmapist/cohort`` has data; the data survives a restart (the shop's
users too, in ``shop.db`` beside it), and the CLI (``flask --app examples.demo_app
bitmapist ...``) reads the same file. Run it with
``make demo``, or::

    python -m examples.demo_app

Environment: ``BITMAPIST_REDIS_URL`` (default ``sqlite:///demo.db``; ``memory://`` is the
in-process store, gone when the process ends; a ``redis://`` URL uses a Redis),
``BITMAPIST_TIMEZONE`` (default ``UTC``; e.g.
``America/Los_Angeles`` shows the demo in that zone's days), ``PORT`` (default 5000),
``DEMO_DAYS`` (90) and ``DEMO_USERS`` (5000). The server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_login import logout_user as flask_logout_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.wrappers import Response

from flask_bitmapist import (
    Bitmapistable,
    FlaskBitmapist,
    StorageUnavailable,
    current_state,
    mark,
    mark_event,
)
from flask_bitmapist.infra import redact_url
from flask_bitmapist.infra.urls import is_memory_url
from flask_bitmapist.services.demo_data import LOGGED_IN, SIGNED_UP, DemoDataSpec, write_demo_data

__all__ = ["DEMO_INSTANCE", "DEMO_STORE", "EXAMPLE_COHORT", "User", "create_app", "db", "main"]

#: The demo's storage unless BITMAPIST_REDIS_URL says otherwise: a file in its instance
#: folder, so that its CLI commands read the dashboard's data, and it survives a restart.
DEMO_STORE = "sqlite:///demo.db"
#: The demo's instance folder, ``instance/`` at the top of the repository: named here,
#: because Flask's default depends on the app's import name, which is ``__main__`` under
#: ``python -m examples.demo_app`` (``examples/instance``) and ``examples.demo_app`` under
#: ``flask --app examples.demo_app`` (``instance``): the CLI would read another file.
DEMO_INSTANCE = str(Path(__file__).resolve().parents[1] / "instance")

#: Weekly retention of the demo's sign-ups, so the first look at the dashboard has a table.
EXAMPLE_COHORT = (
    f"/bitmapist/cohort?primary={SIGNED_UP}&secondary={LOGGED_IN}"
    "&time_group=week&rows=10&cols=10&mode=recurring&as_percent=1"
)

#: CLI commands ``main`` suggests: they answer from the dashboard's data.
CLI_EXAMPLES = (
    "events",
    f"cohort {SIGNED_UP} {LOGGED_IN} --time-group weeks --rows 8 --cols 8 --mode recurring",
    f"trend {LOGGED_IN} --rolling 7",
    f"trend {LOGGED_IN} --breakdown channel --segment plan=paid",
)


class Base(DeclarativeBase):
    """The declarative base of the demo's models."""


db = SQLAlchemy(model_class=Base)
bitmapist = FlaskBitmapist()
login_manager = LoginManager()
login_manager.login_view = "index"


class User(UserMixin, Bitmapistable, db.Model):  # type: ignore[misc, name-defined]
    """A shop customer: created, updated and deleted rows are marked as ``user:*``, and
    the plan is kept as the property ``plan`` (for segments and breakdowns)."""

    __bitmapist_properties__ = ("plan",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="free")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the session keeps the id as text."""
    return db.session.get(User, int(user_id))


def allow_local_requests() -> bool:
    """The dashboard is for whoever runs the demo: requests from this machine only."""
    return request.remote_addr in {"127.0.0.1", "::1"}


def _environ_int(name: str, default: int) -> int:
    text = os.environ.get(name, str(default))
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None


def create_app(
    config: Mapping[str, Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build the demo app; ``config`` overrides the defaults (tests use a small dataset),
    ``instance_path`` the instance folder (where ``sqlite:///demo.db`` is)."""
    app = Flask(__name__, instance_path=instance_path or DEMO_INSTANCE)
    storage = os.environ.get("BITMAPIST_REDIS_URL", DEMO_STORE)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(16),
        # The shop's users are kept as long as its events: in a file beside demo.db, so
        # that a user who signs up after a restart gets a new id, not one already marked
        # (in memory with memory://; Flask-SQLAlchemy then shares one connection).
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DEMO_DATABASE_URL", "sqlite://" if is_memory_url(storage) else "sqlite:///shop.db"
        ),
        BITMAPIST_REDIS_URL=storage,
        # A prefix of its own keeps demo data apart from an app's real data in a shared Redis.
        BITMAPIST_KEY_PREFIX=os.environ.get("BITMAPIST_KEY_PREFIX", "trackist_demo_"),
        BITMAPIST_TIMEZONE=os.environ.get("BITMAPIST_TIMEZONE", "UTC"),
        # Hour bitmaps too (history included), so every hourly answer has something to show.
        BITMAPIST_TRACK_HOURLY=True,
        BITMAPIST_DASHBOARD_PERMISSION=allow_local_requests,
        DEMO_DAYS=_environ_int("DEMO_DAYS", 90),
        DEMO_USERS=_environ_int("DEMO_USERS", 5000),
    )
    app.config.update(config or {})
    db.init_app(app)
    login_manager.init_app(app)
    bitmapist.init_app(app)
    app.register_blueprint(shop)
    with app.app_context():
        db.create_all()
        try:
            app.config["DEMO_GENERATED"] = generate_demo_data()
        except StorageUnavailable as exc:
            # Still start: the shop works (marking fails open) and the dashboard says 503.
            app.logger.warning("no demo data: %s", exc)
            app.config.update(DEMO_GENERATED=0, DEMO_STORAGE_ERROR=str(exc))
    return app


def generate_demo_data() -> int:
    """Fill the storage with history, unless it already holds the demo's (the file, or a
    Redis, of an earlier run). Returns how many events were written."""
    state = current_state()
    if SIGNED_UP in state.repository.event_names():
        return 0
    spec = DemoDataSpec.create(
        now=state.now(),
        days=current_app.config["DEMO_DAYS"],
        users=current_app.config["DEMO_USERS"],
    )
    return write_demo_data(state.repository, spec, policy=state.marking, id_mapper=state.id_mapper)


# -- the shop -------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flask-Bitmapist demo shop</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  form { display: inline-block; margin: 0 .5rem .5rem 0; }
  .flash { background: #eef6ee; padding: .5rem 1rem; }
</style></head>
<body>
<h1>Demo shop</h1>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
{% if current_user.is_authenticated %}
  <p>Hello {{ current_user.name }} (user {{ current_user.id }}, plan {{ current_user.plan }}).</p>
  <form method="post" action="{{ url_for('shop.pay') }}"><button>Pay</button></form>
  <form method="post" action="{{ url_for('shop.refund') }}"><button>Ask for a refund</button></form>
  <form method="post" action="{{ url_for('shop.logout') }}"><button>Log out</button></form>
{% else %}
  <p>Sign up or log in with any name (no passwords: this is a demo).</p>
  <form method="post" action="{{ url_for('shop.signup') }}">
    <input name="name" required placeholder="name"> <button>Sign up</button></form>
  <form method="post" action="{{ url_for('shop.login') }}">
    <input name="name" required placeholder="name"> <button>Log in</button></form>
{% endif %}
<p>Each click registers an event. See them, and {{ generated }} generated ones, on the
<a href="{{ url_for('bitmapist.cohort') }}">cohort page</a> or the
<a href="{{ url_for('bitmapist.index') }}">event list</a>.</p>
</body></html>
"""


shop = Blueprint("shop", __name__)


@shop.get("/")
def index() -> str:
    """The shop: sign up, log in, pay, ask for a refund, log out."""
    return render_template_string(PAGE, generated=f"{current_app.config['DEMO_GENERATED']:,}")


@shop.post("/signup")
def signup() -> Response:
    """Create a user (the mixin marks ``user:created``) and log them in."""
    name = request.form.get("name", "").strip()
    if not name or db.session.scalar(select(User).where(User.name == name)):
        flash(f"Pick another name than {name!r}.")
        return redirect(url_for("shop.index"))
    # Ids continue after the generated users, so a new user is a new bit.
    last = db.session.scalar(select(func.max(User.id))) or current_app.config["DEMO_USERS"]
    user = User(id=last + 1, name=name)
    db.session.add(user)
    db.session.commit()  # the mixin marks user:created
    login_user(user)  # Flask-Login's signal marks user:logged_in
    flash(f"Welcome, {name}: marked user:created and user:logged_in.")
    return redirect(url_for("shop.index"))


@shop.post("/login")
def login() -> Response:
    """Log a user in by name (Flask-Login marks ``user:logged_in``)."""
    name = request.form.get("name", "").strip()
    user = db.session.scalar(select(User).where(User.name == name))
    if user is None:
        flash(f"No user called {name!r}: sign up first.")
    else:
        login_user(user)
        flash("Marked user:logged_in.")
    return redirect(url_for("shop.index"))


@shop.post("/logout")
@login_required
def logout() -> Response:
    """Log out (Flask-Login marks ``user:logged_out``)."""
    flask_logout_user()
    flash("Marked user:logged_out.")
    return redirect(url_for("shop.index"))


@shop.post("/pay")
@login_required
@mark("user:paid")  # no uuid: the current Flask-Login user, resolved on each request
def pay() -> Response:
    """Upgrade to the paid plan; ``@mark`` marks ``user:paid``."""
    current_user.plan = "paid"
    db.session.commit()  # the mixin marks user:updated
    flash("Marked user:paid (and user:updated).")
    return redirect(url_for("shop.index"))


@shop.post("/refund")
@login_required
def refund() -> Response:
    """Refund a paid plan, marking ``user:refunded`` only then."""
    if current_user.plan != "paid":
        flash("Nothing to refund: nothing marked.")
    else:
        current_user.plan = "free"
        db.session.commit()
        mark_event("user:refunded", current_user.id)
        flash("Marked user:refunded (and user:updated).")
    return redirect(url_for("shop.index"))


def main() -> None:
    """Serve the demo on 127.0.0.1 (``PORT``, default 5000) and print where to look."""
    try:
        port = int(os.environ.get("PORT", "5000"))
        if not 1 <= port <= 65535:
            raise ValueError
    except ValueError:
        sys.exit(f"PORT must be a TCP port number (1-65535), got {os.environ.get('PORT')!r}")
    app = create_app()
    with app.app_context():
        url = redact_url(current_state().settings.redis_url)
    if "DEMO_STORAGE_ERROR" in app.config:
        sys.exit(
            f"Cannot write the demo data: {app.config['DEMO_STORAGE_ERROR']}\n"
            "Start that Redis (or repair that file), or unset BITMAPIST_REDIS_URL to use "
            "the demo's own file."
        )
    generated = app.config["DEMO_GENERATED"]
    if generated:
        days, users = app.config["DEMO_DAYS"], app.config["DEMO_USERS"]
        print(f"Generated {generated:,} events of {users:,} users over {days} days in {url}.")
    else:
        print(f"Using the demo data already in {url}.")
    print(f"Demo shop:   http://127.0.0.1:{port}/")
    print(f"Cohort page: http://127.0.0.1:{port}/bitmapist/cohort")
    print(f"An example:  http://127.0.0.1:{port}{EXAMPLE_COHORT}")
    if not is_memory_url(url):
        print("The CLI reads the same data (in another terminal):")
        for command in CLI_EXAMPLES:
            print(f"  flask --app examples.demo_app bitmapist {command}")
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
