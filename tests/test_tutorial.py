"""The tutorial's code runs: its own tests pass, as a reader would run them."""

from __future__ import annotations

import ast
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial"


def test_the_tutorial_tests_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(
        TUTORIAL,
        pytester.path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    pytester.makeini(
        """
        [pytest]
        addopts = -p no:cacheprovider --strict-markers
        filterwarnings = error
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    tests = ast.parse((TUTORIAL / "test_pager.py").read_text())
    count = sum(
        isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        for node in tests.body
    )

    result = pytester.runpytest_subprocess()

    assert count >= 8
    result.assert_outcomes(passed=count)
