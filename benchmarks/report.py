"""Turning a results file into a table: plain text for the terminal, reST for
the docs (``docs/conf.py`` renders the newest committed results with it)."""

from __future__ import annotations

import json
import pathlib
import typing as t

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

HEADER = ["Fig.", "Measurement", "DB", "Subject", "Baseline", "Ratio", "Goal", "Met"]

_TIME_UNITS = ((1e-6, "ns", 1e9), (1e-3, "µs", 1e6), (1.0, "ms", 1e3))


def _time_unit(seconds: float) -> tuple[str, float]:
    for limit, unit, scale in _TIME_UNITS:
        if abs(seconds) < limit:
            return unit, scale
    return "s", 1.0


def _number(value: float) -> str:
    """Three significant digits, no exponent."""
    if value == 0:
        return "0"
    digits = max(0, 2 - len(str(int(abs(value)))) + 1) if abs(value) >= 1 else 3
    return f"{value:.{digits}f}"


def format_value(kind: str, value: float, total: int | None = None) -> str:
    """One value with its unit."""
    if kind == "time":
        unit, scale = _time_unit(value)
        return f"{_number(value * scale)} {unit}"
    if kind == "rate":
        return f"{value:,.0f}/s"
    if kind == "fraction":
        assert total is not None
        return f"{round(value * total)}/{total}"
    return f"{value:g}"


def _spread(kind: str, values: t.Mapping[str, t.Any]) -> str:
    median, low, high = values["median"], values["min"], values["max"]
    shown = format_value(kind, median, values.get("total"))
    if low == high or kind == "fraction":
        return shown
    if kind == "time":
        _, scale = _time_unit(median)
        return f"{shown} [{_number(low * scale)}–{_number(high * scale)}]"
    if kind == "rate":
        return f"{shown} [{low:,.0f}–{high:,.0f}]"
    return f"{shown} [{low:g}–{high:g}]"


def _ratio(row: t.Mapping[str, t.Any]) -> str:
    ratio = row.get("ratio")
    if not ratio:
        return "—"
    text = (
        f"{ratio['median']:.2f}× [{ratio['min']:.2f}–{ratio['max']:.2f}]"
        if ratio["median"] < 10
        else f"{ratio['median']:.1f}× [{ratio['min']:.1f}–{ratio['max']:.1f}]"
    )
    if row.get("show_difference") and row.get("difference"):
        difference = row["difference"]["median"]
        sign = "+" if difference >= 0 else "−"
        text += f", {sign}{format_value('time', abs(difference))}"
    return text


def _goal(row: t.Mapping[str, t.Any]) -> str:
    goal = row.get("goal")
    if not goal:
        return "—"
    if goal.get("reference"):
        return f"{goal['text']} (ref. {goal['reference']})"
    return str(goal["text"])


def _met(row: t.Mapping[str, t.Any]) -> str:
    if row.get("met") is None:
        return "—"
    return "yes" if row["met"] else "NO"


def table(results: t.Mapping[str, t.Any]) -> list[list[str]]:
    """The table's cells, header first."""
    lines = [HEADER]
    for row in results["rows"]:
        subject = row["subject"]
        baseline = row.get("baseline")
        lines.append(
            [
                row["figure"],
                row["name"],
                row.get("database") or "",
                _spread(subject["kind"], subject),
                _spread(baseline["kind"], baseline) if baseline else "—",
                _ratio(row),
                _goal(row),
                _met(row),
            ]
        )
    return lines


def machine_summary(results: t.Mapping[str, t.Any]) -> list[tuple[str, str]]:
    """The machine's details as (label, value) pairs."""
    machine = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    dirty = " (with uncommitted changes)" if machine["git_dirty"] else ""
    runs = sorted(
        {len(r["subject"]["samples"]) for r in results["rows"]}
        - {1}  # counts taken once
    )
    spread = f"{runs[0]} to {runs[-1]}" if len(runs) > 1 else f"{(runs or [1])[0]}"
    return [
        ("Date", results["date"]),
        ("Commit", f"{machine['git_commit'][:12]} ({machine['git_branch']}){dirty}"),
        ("CPU", f"{machine['cpu']}, {machine['cores']} cores"),
        ("OS", f"{machine['os']} (kernel {machine['kernel']})"),
        ("Load at start", " / ".join(f"{x:.2f}" for x in machine["load_average"])),
        ("Python", machine["python"]),
        ("SQLite", machine["sqlite"]),
        ("PostgreSQL", machine.get("postgresql") or "not measured"),
        ("Packages", packages),
        ("Figures", f"median [min–max] of {spread} runs each"),
    ]


def text_table(results: t.Mapping[str, t.Any]) -> str:
    """The table as aligned plain text, machine details first."""
    cells = table(results)
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    out = [f"{label}: {value}" for label, value in machine_summary(results)]
    out.append("")
    for number, line in enumerate(cells):
        out.append(
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        )
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _rst_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`") or " "


def rst_table(results: t.Mapping[str, t.Any]) -> str:
    """The table and the machine's details as reStructuredText."""
    out = [".. list-table::", "   :header-rows: 1", ""]
    for line in table(results):
        out.append(f"   * - {_rst_cell(line[0])}")
        out.extend(f"     - {_rst_cell(cell)}" for cell in line[1:])
    out += ["", ".. list-table:: The machine", "   :stub-columns: 1", ""]
    for label, value in machine_summary(results):
        out += [f"   * - {label}", f"     - {_rst_cell(value)}"]
    noted = [row for row in results["rows"] if row.get("notes")]
    if noted:
        out += ["", "Notes on the rows:", ""]
        for row in noted:
            name, notes_text = _rst_cell(row["name"]), _rst_cell(row["notes"])
            out.append(f"- Fig. {row['figure']}, {name}: {notes_text}")
    return "\n".join(out) + "\n"


def newest(
    folder: pathlib.Path = RESULTS,
) -> tuple[pathlib.Path, dict[str, t.Any]] | None:
    """The results file recorded last (by the date inside it), or ``None``."""
    found = []
    for path in sorted(folder.glob("*.json")):
        with path.open(encoding="utf-8") as file:
            found.append((path, json.load(file)))
    if not found:
        return None
    return max(found, key=lambda item: item[1]["date"])
