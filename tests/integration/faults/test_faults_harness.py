"""The fault-injection harness itself: faults are applied as configured, and only then."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

import pytest

from tests.support.faults import FaultyImage, MiB

Image = Callable[[int], FaultyImage]


def test_a_clean_image_reads_and_writes_like_a_file(faulty_image: Image) -> None:
    image = faulty_image(2 * MiB)
    data = os.urandom(MiB)
    fd = os.open(image.path, os.O_RDWR)
    try:
        assert os.pread(fd, 4096, MiB) == image.original[MiB : MiB + 4096]
        assert os.pwrite(fd, data, 512) == MiB
        os.fdatasync(fd)
    finally:
        os.close(fd)
    assert image.content() == image.original[:512] + data + image.original[512 + MiB :]
    assert image.stats()["write_errors"] == 0


def test_a_misspelt_fault_is_refused_not_ignored(faulty_image: Image) -> None:
    image = faulty_image(MiB)
    with pytest.raises(ValueError, match="write_error"):
        image.set_faults(write_error=[[0, 512]])


def test_a_failing_flush_fails_close(faulty_image: Image) -> None:
    image = faulty_image(MiB)
    image.set_faults(flush_error=True)
    fd = os.open(image.path, os.O_RDWR)
    os.pwrite(fd, b"x" * 512, 0)
    with pytest.raises(OSError) as failed:
        os.close(fd)
    assert failed.value.errno == errno.EIO


def test_a_power_cut_loses_exactly_what_was_not_synced(faulty_image: Image) -> None:
    image = faulty_image(2 * MiB)
    image.set_faults(volatile=True)
    fd = os.open(image.path, os.O_RDWR)
    try:
        os.pwrite(fd, b"\x01" * MiB, 0)
        os.fdatasync(fd)
        os.pwrite(fd, b"\x02" * MiB, MiB)
        # Written but not synced: readable through the mount, absent from the medium.
        assert os.pread(fd, 16, MiB) == b"\x02" * 16
        assert image.stats()["pending_bytes"] == MiB
    finally:
        os.close(fd)
    image.power_cut()
    assert image.content() == b"\x01" * MiB + image.original[MiB:]
    assert image.stats()["pending_bytes"] == 0
