"""The developer commands: what ``make run``, ``make test`` and CI would run,
read with ``make -n`` (nothing is installed or started)."""

from __future__ import annotations

import configparser
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def planned(tmp_path: pathlib.Path, *args: str) -> list[str]:
    """The commands ``make`` would run on a fresh checkout (no venv yet)."""
    result = subprocess.run(
        [
            "make",
            "-n",
            "--no-print-directory",
            "-C",
            str(ROOT),
            f"VENV={tmp_path / 'venv'}",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    return [c for c in commands if "pip install" in c and "--upgrade pip" not in c]


def test_make_run_installs_only_the_package_and_the_example_app(
    tmp_path: pathlib.Path,
) -> None:
    commands = planned(tmp_path, "run", "PORT=5099")
    (install,) = installs(commands)
    assert install.endswith("-e . -r example_app/requirements.txt")
    assert any("init-example --base-url http://127.0.0.1:5099" in c for c in commands)
    assert any(c.endswith("run --host 127.0.0.1 --port 5099") for c in commands)


def test_make_test_installs_the_extras(tmp_path: pathlib.Path) -> None:
    (install,) = installs(planned(tmp_path, "test"))
    assert '-e ".[test,docs,dev]"' in install
    assert "-r example_app/requirements.txt" in install


def test_the_readme_says_how_to_choose_the_port() -> None:
    assert "make run PORT=" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ci_lints_and_type_checks_the_package(tmp_path: pathlib.Path) -> None:
    commands = planned(tmp_path, "lint")
    assert commands[-3:] == [
        f"{tmp_path}/venv/bin/ruff check .",
        f"{tmp_path}/venv/bin/ruff format --check .",
        f"{tmp_path}/venv/bin/mypy",
    ]
    mypy = configparser.ConfigParser()
    mypy.read(ROOT / "setup.cfg", encoding="utf-8")
    assert mypy["mypy"]["strict"] == "True"
    assert mypy["mypy"]["files"] == "flask_integrations"

    steps = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.startswith("make ")
    ]
    assert steps.index("make lint") < next(
        i for i, step in enumerate(steps) if step.startswith("make test")
    )


def test_the_suite_sums_skips_up_by_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make test`` prints one line per skip reason, with a count; failures
    and errors keep their full report."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    pytester.makeini(f"[pytest]\naddopts = {setup['tool:pytest']['addopts']}\n")
    pytester.makeconftest("from tests.conftest import pytest_terminal_summary")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_needs_a_database(n):
            pytest.skip("no database here")

        @pytest.mark.skip(reason="no browser here")
        def test_needs_a_browser():
            pass

        def test_fails():
            assert 1 + 1 == 3, "arithmetic is broken"

        @pytest.fixture
        def broken():
            raise RuntimeError("the fixture broke")

        def test_errors(broken):
            pass
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    result = pytester.runpytest_subprocess()

    result.assert_outcomes(skipped=4, failed=1, errors=1)
    assert "SKIPPED" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_errors*",
            "E       RuntimeError: the fixture broke",
            "*_ test_fails _*",
            "E       AssertionError: arithmetic is broken",
            "*skipped tests, by reason*",
            "    3  no database here",
            "    1  no browser here",
            "*short test summary info*",
            "FAILED *::test_fails - AssertionError*",
            "ERROR *::test_errors - RuntimeError*",
        ]
    )
