"""Sphinx configuration for the flask-integrations documentation."""

import os
import pathlib
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "flask-integrations"
copyright = "flask-integrations contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_static_path = ["_static"]
exclude_patterns = ["_build", "_generated"]
nitpicky = False


def write_benchmark_results(app):
    """Render the newest committed benchmark results into the file that
    performance.rst includes, so the page always shows what was recorded."""
    from benchmarks import report

    found = report.newest()
    if found is None:
        text = "No results are recorded yet: run ``make bench`` and commit them.\n"
    else:
        path, results = found
        text = (
            f"Recorded in ``benchmarks/results/{path.name}``.\n\n"
            + report.rst_table(results)
        )
    target = pathlib.Path(app.srcdir) / "_generated" / "benchmark-results.inc"
    target.parent.mkdir(exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_benchmark_results)
