"""Fixtures shared by every test folder (helpers live in the tests.support package)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import MountedImage, attach_loop, detach_loop, mounted_image
from tests.support.certificate_schema import (
    SchemaCheck,
    certificate_validator,
    check_certificates,
)
from tests.support.drives import Loops

_SCHEMA_CHECK = pytest.StashKey[SchemaCheck]()


@pytest.fixture(scope="session", autouse=True)
def certificates_match_the_schema(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """At the end of the run, hold every certificate it issued to the published schema."""
    yield
    found = check_certificates(tmp_path_factory.getbasetemp(), certificate_validator())
    request.config.stash[_SCHEMA_CHECK] = found
    if found.failures:
        pytest.fail("certificates that do not match the schema:\n" + "\n".join(found.failures))


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """How many certificates were held to the schema (so a sweep that found none shows)."""
    found = config.stash.get(_SCHEMA_CHECK, None)
    if found is not None:
        terminalreporter.write_line(
            f"certificate schema: {found.validated} certificates issued by this run validated;"
            f" {found.not_certificates} other .cert.json files (rejected by expunge) skipped"
        )


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    """A fresh expunge home for one test."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A 64 MiB loop device backed by a file of ours: ``(node, backing file)``."""
    if os.geteuid() != 0:
        pytest.skip("needs root to attach loop devices")
    backing = tmp_path / "disk.img"
    with open(backing, "wb") as f:
        f.truncate(64 << 20)
    node = attach_loop(backing)
    try:
        yield node, backing
    finally:
        detach_loop(node)


@pytest.fixture
def ext4_image(tmp_path: Path) -> Iterator[MountedImage]:
    """A mounted 64 MiB ext4 image (default ordered mode)."""
    with mounted_image(tmp_path, "ext4") as image:
        yield image


@pytest.fixture
def btrfs_image(tmp_path: Path) -> Iterator[MountedImage]:
    """A mounted 128 MiB btrfs image (copy-on-write)."""
    with mounted_image(tmp_path, "btrfs", 128 << 20) as image:
        yield image


@pytest.fixture
def loops() -> Iterator[Loops]:
    """Loop devices attached by the test, unmounted and detached in teardown even on failure."""
    attached = Loops()
    try:
        yield attached
    finally:
        attached.cleanup()


# PostgreSQL (the shared ledger): pg_server, pg_database, pg_ledger.
from tests.support.postgres_fixtures import pg_database, pg_ledger, pg_server  # noqa: E402

__all__ = ["pg_database", "pg_ledger", "pg_server"]
