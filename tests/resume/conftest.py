"""Fixtures for the resume tests: faultfs images (``tests/faults``), torn down on exit."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.faults.faults_support import FaultyImage, serve_faulty_image


@pytest.fixture
def faulty_image(tmp_path: Path) -> Iterator[Callable[[int], FaultyImage]]:
    """``faulty_image(size)`` serves an image of ``size`` random bytes; every image is torn
    down (loop devices detached, unmounted, our process stopped) when the test ends."""
    numbers = itertools.count()
    with ExitStack() as stack:

        def make(size: int) -> FaultyImage:
            folder = tmp_path / f"faulty{next(numbers)}"
            folder.mkdir()
            return stack.enter_context(serve_faulty_image(folder, size))

        yield make
