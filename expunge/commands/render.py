"""How reports reach the user: JSON documents, and the text lines shared by several commands."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

import click

from expunge.commands.json_output import emit_json
from expunge.shred.report import ByteRange
from expunge.verify import VerificationReport
from expunge.workflows import cryptoerase

MAX_OFFSETS_SHOWN = 8
# Text output lists this many unwritten ranges per target; --json lists them all.
SHOWN_RANGES = 10


class Reportable(Protocol):
    """A result that has a JSON form."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""


R = TypeVar("R", bound="Reportable | Sequence[Reportable]")


class Format(ABC):
    """How a command's report reaches stdout: one class per format."""

    @abstractmethod
    def report(self, value: R, text: Callable[[R], Iterable[str]]) -> None:
        """Print ``value``; ``text`` gives its text lines (only the text format uses it)."""


class JsonFormat(Format):
    """``--json``: the report as one JSON document of kind ``schema``."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    def report(self, value: R, text: Callable[[R], Iterable[str]]) -> None:
        """Print ``value``'s JSON form (several results as the document's ``items``)."""
        if isinstance(value, Sequence):
            emit_json(self.schema, [v.to_dict() for v in value])
        else:
            emit_json(self.schema, value.to_dict())


class TextFormat(Format):
    """The default: lines for people."""

    def report(self, value: R, text: Callable[[R], Iterable[str]]) -> None:
        """Print ``value``'s text lines."""
        for line in text(value):
            click.echo(line)


def output_format(as_json: bool, schema: str) -> Format:
    """The format ``--json`` asks for; ``schema`` names the kind of its JSON document."""
    return JsonFormat(schema) if as_json else TextFormat()


def human_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def verification_line(report: VerificationReport) -> str:
    """One line summarizing a read-back, with the first mismatching offsets."""
    line = (
        f"verification {report.status}: {report.mode}, {report.blocks_checked} blocks, "
        f"{human_bytes(report.bytes_checked)} read ({report.coverage:.1%}), "
        f"{report.cache_bypass}"
    )
    if report.mismatches:
        shown = ", ".join(str(o) for o in report.mismatches[:MAX_OFFSETS_SHOWN])
        more = len(report.mismatches) - MAX_OFFSETS_SHOWN
        line += f"; MISMATCH at offset(s) {shown}" + (f" and {more} more" if more > 0 else "")
    return line


def unwritten_lines(ranges: tuple[ByteRange, ...]) -> list[str]:
    """The ranges the medium refused, as text lines (at most ``SHOWN_RANGES``)."""
    if not ranges:
        return []
    total = sum(r.length for r in ranges)
    lines = [f"unwritten: {len(ranges)} range(s), {total} bytes"]
    lines += [f"  [{r.start}, {r.end}) {r.length} bytes" for r in ranges[:SHOWN_RANGES]]
    if len(ranges) > SHOWN_RANGES:
        lines.append(f"  ... and {len(ranges) - SHOWN_RANGES} more (--json lists all)")
    return lines


def luks_container_lines(result: cryptoerase.LuksContainerErase) -> Iterator[str]:
    """What a LUKS container's crypto-erase did, and its certificate."""
    report = result.work.report
    erased = report.layout.erase_range
    yield (
        f"crypto-erased: {result.path} (LUKS{report.layout.version} {report.layout.uuid}, "
        f"bytes [0, {erased.end}) overwritten, read back: "
        f"{'clean' if report.verification.passed else 'MISMATCH'}; file kept)"
    )
    for lim in report.limitations:
        yield f"  note: {lim.text}"
    yield f"certificate ({result.certificate.outcome}): {result.certificate.path}"
