"""The ``loops`` fixture for the whole-drive tests: loop devices of ours, always detached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.drives.drives_support import Loops


@pytest.fixture
def loops() -> Iterator[Loops]:
    """Loop devices attached by the test, unmounted and detached in teardown."""
    attached = Loops()
    try:
        yield attached
    finally:
        attached.cleanup()
