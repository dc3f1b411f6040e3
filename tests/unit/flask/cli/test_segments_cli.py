"""``flask bitmapist saved-cohorts save|list|delete`` and ``import --properties``."""

from __future__ import annotations

import json
from pathlib import Path

from flask_bitmapist.domain import Bitmap
from flask_bitmapist.services.segments import get_properties, get_saved_cohorts
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- saved cohorts ------------------------------------------------------------------------


def test_save_list_and_delete_a_cohort(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "saved-cohorts",
        "save",
        "beta_testers",
        "3",
        "1",
        "--file",
        write(tmp_path, "ids", "2\n\n7\n"),
    )
    assert result.exit_code == 0, result.output
    assert result.output == "Saved 4 users as 'beta_testers'.\n"
    assert get_saved_cohorts(cli.repository) == {"beta_testers": Bitmap.from_ids([1, 2, 3, 7])}

    listed = cli("saved-cohorts", "list")
    assert listed.output.split() == ["saved", "cohort", "users", "beta_testers", "4"]
    as_json = json.loads(cli("saved-cohorts", "list", "--format", "json").output)
    assert as_json == [{"name": "beta_testers", "users": 4}]
    assert cli("saved-cohorts", "list", "--format", "csv").output == "name,users\nbeta_testers,4\n"

    assert cli("saved-cohorts", "delete", "beta_testers").output == (
        "Deleted the saved cohort 'beta_testers'.\n"
    )
    again = cli("saved-cohorts", "delete", "beta_testers")
    assert again.exit_code == 0 and "nothing to delete" in again.output
    assert cli("saved-cohorts", "list").output == "No saved cohorts.\n"


def test_bad_names_and_ids_are_usage_errors_and_save_nothing(cli: Cli) -> None:
    assert_clean_failure(cli("saved-cohorts", "save", "a=b", "1"), 2, "saved cohort name 'a=b'")
    assert_clean_failure(cli("saved-cohorts", "save", "beta", "1", "x"), 2, "BITMAPIST_MAP_IDS")
    assert_clean_failure(cli("saved-cohorts", "save", "beta", "--", "-1"), 2, "out of range")
    assert get_saved_cohorts(cli.repository) == {}


def test_mapped_ids_are_saved_through_the_id_map() -> None:
    cli = Cli(make_app(BITMAPIST_MAP_IDS=True))
    assert cli("saved-cohorts", "save", "beta", "alice", "42").exit_code == 0
    with cli.app.app_context():
        assert cli.state.id_mapper is not None
        assert cli.state.id_mapper.find(["alice", 42]) == [0, 1]


# -- importing properties ----------------------------------------------------------------

PROPERTIES_CSV = (
    "user_id,property,value\n"  # 1
    "1,plan,pro\n"  # 2
    "2,plan,free\n"  # 3
    "1,plan,team\n"  # 4: moves user 1
    "3,plan,gold\n"  # 5: past a cap of 2 values
    "2,channel,ads\n"  # 6
    "2,channel,\n"  # 7: removes it
    "4,my plan,pro\n"  # 8: whitespace in the name
    "-1,plan,pro\n"  # 9: a bad id
)


def test_import_properties_sets_them_and_reports_bad_rows_by_line(tmp_path: Path) -> None:
    cli = Cli(make_app(BITMAPIST_MAX_PROPERTY_VALUES=2))
    result = cli("import", write(tmp_path, "plans.csv", PROPERTIES_CSV), "--properties")
    assert_clean_failure(result, 1, "Imported 5 of 8 rows")
    assert get_properties(cli.repository) == {
        "plan": {"free": Bitmap.from_ids([2]), "team": Bitmap.from_ids([1])}
    }
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert [line.split(":")[0] for line in skipped] == [
        "skipped line 5",
        "skipped line 8",
        "skipped line 9",
    ]
    assert "BITMAPIST_MAX_PROPERTY_VALUES" in skipped[0]


def test_import_properties_from_json_lines(cli: Cli, tmp_path: Path) -> None:
    lines = '{"user_id": 5, "property": "plan", "value": "pro"}\n'
    lines += '{"user_id": 5, "property": "plan", "value": null}\n'
    lines += '{"user_id": 6, "property": "plan", "value": "pro"}\n'
    result = cli("import", write(tmp_path, "plans.jsonl", lines), "--properties")
    assert result.exit_code == 0, result.output
    assert get_properties(cli.repository) == {"plan": {"pro": Bitmap.from_ids([6])}}


def test_a_file_of_the_other_kind_is_refused_with_a_hint(cli: Cli, tmp_path: Path) -> None:
    plans = write(tmp_path, "plans.csv", PROPERTIES_CSV)
    assert_clean_failure(cli("import", plans), 2, "import it with --properties")
    events = write(tmp_path, "events.csv", "user_id,event,timestamp\n1,a,2026-11-27\n")
    assert_clean_failure(cli("import", events, "--properties"), 2, "without --properties")
    assert get_properties(cli.repository) == {}
    assert cli.repository.event_names() == frozenset()


def test_import_properties_maps_text_ids(tmp_path: Path) -> None:
    cli = Cli(make_app(BITMAPIST_MAP_IDS=True))
    rows = "user_id,property,value\nalice,plan,pro\n42,plan,free\n"
    result = cli("import", write(tmp_path, "plans.csv", rows), "--properties")
    assert result.exit_code == 0, result.output
    with cli.app.app_context():
        assert cli.state.id_mapper is not None
        assert cli.state.id_mapper.find(["alice", 42]) == [0, 1]
    assert get_properties(cli.repository) == {
        "plan": {"pro": Bitmap.from_ids([0]), "free": Bitmap.from_ids([1])}
    }
