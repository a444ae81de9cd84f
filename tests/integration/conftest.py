"""The ``faulty_image`` fixture: images served by faultfs, always unmounted in teardown."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.faults import FaultyImage, serve_faulty_image


@pytest.fixture
def faulty_image(tmp_path: Path) -> Iterator[Callable[[int], FaultyImage]]:
    """A factory: ``faulty_image(size)`` serves an image of ``size`` random bytes.

    Each image gets its own folder under ``tmp_path``; every one is torn down (loop devices
    detached, unmounted, process stopped) when the test ends, also on failure.
    """
    numbers = itertools.count()
    with ExitStack() as stack:

        def make(size: int) -> FaultyImage:
            folder = tmp_path / f"faulty{next(numbers)}"
            folder.mkdir()
            return stack.enter_context(serve_faulty_image(folder, size))

        yield make
