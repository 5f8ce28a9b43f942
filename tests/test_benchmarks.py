"""The benchmark harness runs and records its results (timings are never
checked here: they belong to ``make bench``)."""

from __future__ import annotations

import json
import pathlib

from benchmarks import report, run


def test_quick_run_records_every_row_and_the_machine(tmp_path: pathlib.Path) -> None:
    path = run.main(
        [
            "--quick",
            "--only",
            "1",
            "--only",
            "3",
            "--database-url",
            "",
            "--results-dir",
            str(tmp_path),
        ]
    )

    assert path is not None and path.parent == tmp_path
    results = json.loads(path.read_text(encoding="utf-8"))
    assert results["options"]["figures"] == ["1", "3"]
    assert [row["figure"] for row in results["rows"]] == ["1", "1", "3"]
    for row in results["rows"]:
        runs = results["options"]["runs"]
        assert len(row["subject"]["samples"]) == runs
        assert len(row["baseline"]["samples"]) == runs
        assert len(row["ratio"]["samples"]) == runs
        assert isinstance(row["met"], (bool, type(None)))
    machine = results["machine"]
    assert machine["package_from_checkout"] is True
    assert machine["postgresql"] is None
    assert {"cpu", "cores", "python", "sqlite", "git_commit"} <= set(machine)
    assert "flask" in machine["packages"]


def test_the_docs_table_is_made_from_the_newest_results(
    tmp_path: pathlib.Path,
) -> None:
    path = run.main(
        ["--quick", "--only", "1", "--database-url", "", "--results-dir", str(tmp_path)]
    )
    assert path is not None
    older = json.loads(path.read_text(encoding="utf-8"))
    older["date"] = "2000-01-01T00:00:00+00:00"
    older["rows"][0]["name"] = "an older figure"
    (tmp_path / "2000-01-01-old.json").write_text(json.dumps(older))

    found = report.newest(tmp_path)

    assert found is not None and found[0] == path
    rst = report.rst_table(found[1])
    assert rst.startswith(".. list-table::")
    assert "get_configs(), no filter" in rst
    assert "an older figure" not in rst
