"""The ``loops`` fixture: loop devices the drive tests attach, always detached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from drives_support import Loops


@pytest.fixture
def loops() -> Iterator[Loops]:
    """Loop devices attached by the test, detached in teardown even on failure."""
    attached = Loops()
    try:
        yield attached
    finally:
        attached.cleanup()
