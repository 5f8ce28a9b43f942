"""The wheel carries the templates, static files and py.typed, and builds
without setuptools' warnings."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import zipfile

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
