"""Options shared by the drive commands: which drives a station takes, nwipe's --nowait."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from expunge.drives import WatchFilter

F = TypeVar("F", bound=Callable[..., Any])

BUSES = ("usb", "ata", "scsi", "nvme", "mmc", "virtio", "any")
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)


def parse_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``64M``, ``8G``, ``1TiB`` or plain bytes (binary units) -> bytes."""
    if value is None:
        return None
    match = _SIZE.fullmatch(value)
    if not match:
        raise click.BadParameter(f"{value!r} is not a size (examples: 512M, 8G)", ctx, param)
    number, unit = int(match.group(1)), match.group(2).upper()
    return number << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]


def station_filter_options(func: F) -> F:
    """``--bus``, ``--min-size``, ``--max-size``, ``--device``, ``--include-virtual``: the
    station's ``WatchFilter``, passed as ``filters``."""

    @click.option(
        "--bus",
        "buses",
        multiple=True,
        type=click.Choice(BUSES),
        default=("usb",),
        show_default=True,
        help="Buses to take drives from (repeatable); 'any' takes every physical bus.",
    )
    @click.option(
        "--min-size", callback=parse_size, default=None, help="Ignore smaller drives (64M, 8G)."
    )
    @click.option(
        "--max-size", callback=parse_size, default=None, help="Ignore larger drives (64M, 8G)."
    )
    @click.option(
        "--device",
        "devices",
        multiple=True,
        metavar="GLOB",
        help="Take only drives whose node, or loop device's backing file, matches (repeatable).",
    )
    @click.option(
        "--include-virtual",
        is_flag=True,
        help="Also take virtual disks (loop devices) named by --device.",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        buses: tuple[str, ...],
        min_size: int | None,
        max_size: int | None,
        devices: tuple[str, ...],
        include_virtual: bool,
        **kwargs: Any,
    ) -> Any:
        filters = WatchFilter(
            buses=None if "any" in buses else frozenset(buses),
            min_size=min_size or 1,
            max_size=max_size,
            include_virtual=include_virtual,
            devices=devices,
        )
        return func(*args, filters=filters, **kwargs)

    return wrapper  # type: ignore[return-value]


nowait_option = click.option(
    "--nowait",
    is_flag=True,
    expose_value=False,
    help="Accepted for nwipe users: expunge never waits for a key when it is done.",
)
"""nwipe's ``--nowait`` (exit when done), which is what expunge always does."""
