"""The wheel carries the templates, static files and py.typed, and builds
without setuptools' warnings; the test extra brings what the suite needs."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata as metadata
import pathlib
import subprocess
import sys
import typing as t
import zipfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_wheel_includes_package_data(tmp_path: pathlib.Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    # e.g. setuptools' "Package would be ignored" for a data folder that is
    # not declared as a package, which every pip install would print.
    assert "Warning" not in build.stderr, build.stderr
    (wheel,) = tmp_path.glob("flask_integrations-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "flask_integrations/py.typed",
        "flask_integrations/templates/flask_integrations/list.html",
        "flask_integrations/templates/flask_integrations/config.html",
        "flask_integrations/templates/flask_integrations/delete.html",
        "flask_integrations/templates/flask_integrations/_macros.html",
        "flask_integrations/static/flask_integrations/integrations.css",
        "flask_integrations/static/flask_integrations/default-icon.svg",
        "flask_integrations/migrations/__init__.py",
    }
    assert expected <= names
    assert any(
        n.startswith("flask_integrations/migrations/versions/")
        and n.endswith(".py")
        and not n.endswith("__init__.py")
        for n in names
    )
    assert not any(name.startswith(("tests/", "example_app/")) for name in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Python: >=3.10" in text
    assert "Requires-Dist: Flask>=3.0" in text


# What the suite runs: its own files, and the code they import or start.
SUITE_FOLDERS = ("tests", "example_app", "docs/tutorial", "benchmarks")


def _setup_cfg_requirements(key: str) -> list[Requirement]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    section = "options" if key == "install_requires" else "options.extras_require"
    lines = parser[section][key].splitlines()
    return [Requirement(line) for line in lines if line.strip()]


def _imported_modules(folders: t.Iterable[pathlib.Path]) -> dict[str, str]:
    """The top-level modules imported by the files under ``folders``, each
    with one file that imports it."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    found.setdefault(
                        name.partition(".")[0], str(path.relative_to(ROOT))
                    )
    return found


def _local_modules(folders: t.Iterable[pathlib.Path]) -> set[str]:
    return {
        path.stem
        for folder in folders
        for path in folder.iterdir()
        if path.suffix == ".py" or (path / "__init__.py").exists()
    }


def _installed_closure(requirements: list[Requirement]) -> set[str]:
    """The names of the distributions ``requirements`` bring, with theirs."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        extras = requirement.extras or {""}
        for line in metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            marker = needed.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras):
                todo.append(needed)
    return seen


def test_the_test_extra_covers_what_the_suite_imports() -> None:
    """``pip install -e .[test]`` is enough to run ``pytest``."""
    folders = [ROOT / name for name in SUITE_FOLDERS] + [ROOT / "flask_integrations"]
    local = _local_modules([ROOT, ROOT / "docs" / "tutorial"])
    test_extra = _setup_cfg_requirements("test")
    provided = _installed_closure(
        _setup_cfg_requirements("install_requires") + test_extra
    )
    distributions = metadata.packages_distributions()

    missing = []
    for module, path in sorted(_imported_modules(folders).items()):
        if module in sys.stdlib_module_names or module in local:
            continue
        names = {canonicalize_name(n) for n in distributions.get(module, [])}
        if not names & provided:
            missing.append(f"{module} (imported by {path})")
    assert missing == [], "not brought by the 'test' extra: " + ", ".join(missing)

    # The suite runs the example app, so the extra brings what it needs too
    # (the PostgreSQL driver is loaded by SQLAlchemy, not imported).
    example = (ROOT / "example_app" / "requirements.txt").read_text(encoding="utf-8")
    needed = {
        canonicalize_name(Requirement(line).name)
        for line in example.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert needed <= {canonicalize_name(r.name) for r in test_extra}
