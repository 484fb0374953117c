"""Shared fixtures and the rule for tests that need a real external program.

Tests that need LibreOffice or Chromium are skipped on a developer machine
without them, but fail in CI (CI=true): `.ci/run` installs both, so a skip
there would hide a broken install step.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_program(*names: str) -> str:
    """Path of the first program found, else skip (locally) or fail (in CI)."""
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    msg = f"needs {' or '.join(names)} (installed by .ci/run)"
    if IN_CI:
        pytest.fail(msg + " — missing in CI")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
