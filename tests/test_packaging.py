"""Packaging metadata that builds without warnings (pip prints setuptools' warnings on every
install, three times during ``make run`` on a fresh machine)."""

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_license_is_an_spdx_string_not_a_deprecated_table():
    project = tomllib.loads(PYPROJECT.read_text())
    assert isinstance(project["project"]["license"], str)
    # A string license needs setuptools 77 or newer; older ones reject it.
    assert "setuptools>=77" in project["build-system"]["requires"]
