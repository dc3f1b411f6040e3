"""The domain is pure: no web framework, no storage driver, no clock."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import flask_bitmapist.domain

DOMAIN = Path(flask_bitmapist.domain.__file__).parent
BLOCKED = ("flask", "flask_login", "redis", "sqlalchemy", "fakeredis", "bitmapist")

# Run in a fresh interpreter: a finder at the head of sys.meta_path refuses every blocked
# module. Nothing stands in for the package top: ``import flask_bitmapist.domain`` runs
# ``flask_bitmapist/__init__.py`` first, which must load the facade only when asked.
SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys
    from datetime import datetime

    BLOCKED = {blocked!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked: the domain must not import it")
            return None

    sys.meta_path.insert(0, Blocker())

    import importlib
    import pkgutil

    import flask_bitmapist.services

    for info in pkgutil.walk_packages(
        flask_bitmapist.services.__path__, "flask_bitmapist.services."
    ):
        importlib.import_module(info.name)
    from flask_bitmapist.domain import (
        Bitmap, BitmapRepository, CohortEngine, CohortSpec, Mark, parse_chain,
        parse_expression,
    )

    class Store(BitmapRepository):
        def __init__(self):
            self.bits = {{}}

        def mark(self, marks):
            for mark in marks:
                for target in mark.targets():
                    self.bits.setdefault(target, set()).add(mark.user_id)

        def unmark(self, marks):
            raise NotImplementedError

        def fetch(self, ids, *, max_bytes=None):
            bits = [self.bits.get(i, ()) for i in ids]
            if max_bytes is not None:
                bits = [[u for u in users if u < 8 * max_bytes] for users in bits]
            return [Bitmap.from_ids(users) for users in bits]

        def event_names(self):
            return frozenset(i.event for i in self.bits)

    store = Store()
    now = datetime(2026, 11, 27, 12)
    store.mark([Mark.create("signup", u, datetime(2026, 11, 26, 9)) for u in (1, 2, 3)])
    store.mark([Mark.create("active", u, now) for u in (2, 3, 4)])
    store.mark([Mark.create("paid", 3, now)])
    spec = CohortSpec.create(
        parse_expression("signup"),
        parse_chain("active", [{{"name": "paid", "op": "and"}}]),
        now=now, rows=2, cols=2, mode="recurring",
    )
    cohort = CohortEngine(store).compute(spec)
    assert cohort.totals == (3, 0), cohort.totals
    assert cohort.cells == ((0, 1), (None, None)), cohort.cells
    leaked = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print("pure")
    """
)


def test_the_domain_and_services_import_and_work_with_flask_redis_sqlalchemy_blocked() -> None:
    script = SCRIPT.format(blocked=BLOCKED)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pure"


def domain_sources() -> dict[str, ast.Module]:
    return {path.name: ast.parse(path.read_text()) for path in sorted(DOMAIN.glob("*.py"))}


def test_the_domain_imports_only_the_stdlib_attrs_numpy_and_itself() -> None:
    allowed = {"attrs", "numpy"}
    foreign: list[str] = []
    for name, tree in domain_sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                inside = module == "flask_bitmapist.domain" or module.startswith(
                    "flask_bitmapist.domain."
                )
                if not (inside or top in allowed or top in sys.stdlib_module_names):
                    foreign.append(f"{name}: {module}")
    assert foreign == []


# Every way the domain could read the clock; callers pass ``now`` instead.
CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def clock_reads(name: str, tree: ast.Module) -> list[str]:
    """Where ``tree`` reads the clock: ``datetime.now()``, ``datetime.datetime.now()``,
    ``time.time()``... or imports a clock function by name."""
    reads: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if isinstance(owner, ast.Name):
                owner_name = owner.id
            elif isinstance(owner, ast.Attribute):
                owner_name = owner.attr
            else:
                continue
            if (owner_name, node.attr) in CLOCK_READS:
                reads.append(f"{name}:{node.lineno}: {owner_name}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module, alias.name) in CLOCK_READS:
                    reads.append(f"{name}:{node.lineno}: from {node.module} import {alias.name}")
    return reads


def test_the_domain_never_reads_the_clock() -> None:
    reads = [read for name, tree in domain_sources().items() for read in clock_reads(name, tree)]
    assert reads == []


def test_the_clock_scan_sees_the_usual_spellings() -> None:
    sample = ast.parse(
        "import datetime, time\n"
        "from time import time_ns\n"
        "a = datetime.datetime.now()\n"
        "b = datetime.date.today()\n"
        "c = time.time()\n"
        "d = datetime.utcnow()\n"
    )
    assert clock_reads("sample.py", sample) == [
        "sample.py:2: from time import time_ns",
        "sample.py:3: datetime.now",
        "sample.py:4: date.today",
        "sample.py:5: time.time",
        "sample.py:6: datetime.utcnow",
    ]
