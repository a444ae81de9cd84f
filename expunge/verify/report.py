"""The verification report, its digest, and what a sample plan can be expected to catch.

The report is a frozen value: what was planned, what was read, what differed. Its status is
computed here, never stored: ``success`` only if every planned sample was read and matched
the expected content and nothing was interrupted; ``skipped`` for mode ``none``; ``failed``
otherwise. ``to_dict`` / ``from_dict`` give the JSON form that certificates embed;
``from_dict`` is strict (unknown or missing keys, wrong types and inconsistent derived
fields raise ``IntegrityError``).

Sample digest. ``digest`` is BLAKE3 (32 bytes, hex) over the concatenation, in plan order
(ascending offset), of one 40-byte record per sample that was processed::

    offset.to_bytes(8, "big") || BLAKE3(bytes read from [offset, offset + length))

where a sample that could not be read (I/O error, short read) contributes 32 zero bytes in
place of the hash. For a successful verification every sample read equals the expected
content, so the digest equals ``expected_digest(plan, pattern)``: an auditor holding the
seed and the final pass (its key) can recompute it without the media.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import blake3

from expunge.core.clock import rfc3339
from expunge.core.errors import IntegrityError
from expunge.verify.plan import MODES, SamplePlan, VerifyMode, make_plan

Status = Literal["success", "failed", "skipped"]
CacheBypass = Literal["O_DIRECT", "fadvise-dontneed", "none"]
CACHE_BYPASS_METHODS: tuple[str, ...] = ("O_DIRECT", "fadvise-dontneed", "none")
UNREADABLE_HASH = bytes(32)
"""Stands in for the hash of a sample that could not be read, in the digest records."""

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")


def digest_record(offset: int, sample_hash: bytes) -> bytes:
    """One sample's 40-byte record in the report digest: 8-byte big-endian offset || hash."""
    return offset.to_bytes(8, "big") + sample_hash


def sample_digest(records: Iterable[tuple[int, bytes]]) -> str:
    """The report digest (hex) over ``(offset, hash)`` pairs given in plan order."""
    hasher = blake3.blake3()
    for offset, sample_hash in records:
        hasher.update(digest_record(offset, sample_hash))
    return hasher.hexdigest()


def _parse_time(text: Any, key: str) -> datetime:
    if not isinstance(text, str) or not text.endswith("Z"):
        raise IntegrityError(f"verification report: {key} must be an RFC 3339 UTC time")
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise IntegrityError(f"verification report: {key} is not an RFC 3339 time") from exc
    return moment


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What a read-back verification planned, read and found.

    ``mismatches`` lists the start offset of every sample that did not hold the expected
    content, including samples that could not be read; ``read_errors`` gives, for the latter,
    ``(offset, note)`` such as ``(1048576, "EIO: Input/output error")``. ``blocks_checked``
    and ``bytes_checked`` count the samples actually read and compared. ``observed_size`` is
    the target's size when it was read (``None`` if it was not opened); a target that is not
    the size the plan covers fails. ``cache_bypass`` says how the page cache was avoided:
    ``O_DIRECT``, ``fadvise-dontneed`` (sync, then ``posix_fadvise(POSIX_FADV_DONTNEED)``
    before buffered reads, where the kernel refuses ``O_DIRECT``), or ``none`` (nothing
    read). ``requested_coverage`` and ``align`` are kept so that ``plan()`` replays the plan.
    """

    mode: VerifyMode
    seed: str
    block_size: int
    align: int
    requested_coverage: float | None
    target_size: int
    observed_size: int | None
    pattern: str
    blocks_planned: int
    blocks_checked: int
    bytes_checked: int
    mismatches: tuple[int, ...]
    read_errors: tuple[tuple[int, str], ...]
    digest: str
    cache_bypass: str
    started: datetime
    ended: datetime
    duration_s: float
    interrupted: bool

    @property
    def coverage(self) -> float:
        """Fraction of the target's bytes that were read and compared."""
        if self.mode == VerifyMode.NONE:
            return 0.0
        if self.target_size == 0:
            return 1.0 if self.blocks_checked == self.blocks_planned else 0.0
        return self.bytes_checked / self.target_size

    @property
    def status(self) -> Status:
        """``success``, ``skipped`` (mode ``none``) or ``failed``."""
        if self.mode == VerifyMode.NONE:
            return "skipped"
        if (
            not self.interrupted
            and not self.mismatches
            and not self.read_errors
            and self.blocks_checked == self.blocks_planned
            and self.observed_size == self.target_size
        ):
            return "success"
        return "failed"

    @property
    def ok(self) -> bool:
        """True only for ``success``."""
        return self.status == "success"

    def plan(self) -> SamplePlan:
        """Replay the sample plan this report followed."""
        return make_plan(
            self.target_size,
            self.mode,
            block_size=self.block_size,
            coverage=self.requested_coverage,
            seed=bytes.fromhex(self.seed),
            align=self.align,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (times RFC 3339 UTC), including computed status and coverage."""
        return {
            "mode": self.mode,
            "seed": self.seed,
            "block_size": self.block_size,
            "align": self.align,
            "requested_coverage": self.requested_coverage,
            "target_size": self.target_size,
            "observed_size": self.observed_size,
            "pattern": self.pattern,
            "blocks_planned": self.blocks_planned,
            "blocks_checked": self.blocks_checked,
            "bytes_checked": self.bytes_checked,
            "coverage": self.coverage,
            "mismatches": list(self.mismatches),
            "read_errors": [{"offset": offset, "error": note} for offset, note in self.read_errors],
            "digest": self.digest,
            "cache_bypass": self.cache_bypass,
            "started": rfc3339(self.started, "microseconds"),
            "ended": rfc3339(self.ended, "microseconds"),
            "duration_s": self.duration_s,
            "interrupted": self.interrupted,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationReport:
        """Parse ``to_dict`` output strictly; anything unexpected raises ``IntegrityError``."""
        if not isinstance(data, Mapping):
            raise IntegrityError("verification report must be a JSON object")
        keys = set(data)
        if keys != _REPORT_KEYS:
            extra = sorted(keys - _REPORT_KEYS)
            missing = sorted(_REPORT_KEYS - keys)
            raise IntegrityError(
                f"verification report: unknown keys {extra}, missing keys {missing}"
            )

        def integer(key: str, *, nullable: bool = False) -> Any:
            value = data[key]
            if nullable and value is None:
                return None
            if type(value) is not int or value < 0:
                raise IntegrityError(f"verification report: {key} must be a non-negative integer")
            return value

        def number(key: str, *, nullable: bool = False) -> Any:
            value = data[key]
            if nullable and value is None:
                return None
            if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
                raise IntegrityError(f"verification report: {key} must be a non-negative number")
            return float(value)

        def text(key: str) -> str:
            value = data[key]
            if not isinstance(value, str):
                raise IntegrityError(f"verification report: {key} must be a string")
            return value

        mode = text("mode")
        if mode not in MODES:
            raise IntegrityError(f"verification report: unknown mode {mode!r}")
        seed = text("seed")
        if not _HEX.match(seed):
            raise IntegrityError("verification report: seed must be lowercase hex")
        digest = text("digest")
        if not _HEX64.match(digest):
            raise IntegrityError("verification report: digest must be 64 lowercase hex digits")
        bypass = text("cache_bypass")
        if bypass not in CACHE_BYPASS_METHODS:
            raise IntegrityError(f"verification report: unknown cache bypass {bypass!r}")
        mismatches = data["mismatches"]
        if not isinstance(mismatches, list) or any(type(o) is not int or o < 0 for o in mismatches):
            raise IntegrityError("verification report: mismatches must be a list of offsets")
        if mismatches != sorted(set(mismatches)):
            raise IntegrityError("verification report: mismatches must be ascending and unique")
        errors_raw = data["read_errors"]
        if not isinstance(errors_raw, list):
            raise IntegrityError("verification report: read_errors must be a list")
        read_errors: list[tuple[int, str]] = []
        for item in errors_raw:
            if (
                not isinstance(item, Mapping)
                or set(item) != {"offset", "error"}
                or type(item["offset"]) is not int
                or not isinstance(item["error"], str)
            ):
                raise IntegrityError(
                    "verification report: each read error is {offset: int, error: str}"
                )
            read_errors.append((item["offset"], item["error"]))
        if not {offset for offset, _ in read_errors} <= set(mismatches):
            raise IntegrityError("verification report: a read error is not listed as mismatch")
        interrupted = data["interrupted"]
        if not isinstance(interrupted, bool):
            raise IntegrityError("verification report: interrupted must be true or false")
        started = _parse_time(data["started"], "started")
        ended = _parse_time(data["ended"], "ended")
        if ended < started:
            raise IntegrityError("verification report: ended before it started")

        report = cls(
            mode=VerifyMode(mode),
            seed=seed,
            block_size=integer("block_size"),
            align=integer("align"),
            requested_coverage=number("requested_coverage", nullable=True),
            target_size=integer("target_size"),
            observed_size=integer("observed_size", nullable=True),
            pattern=text("pattern"),
            blocks_planned=integer("blocks_planned"),
            blocks_checked=integer("blocks_checked"),
            bytes_checked=integer("bytes_checked"),
            mismatches=tuple(mismatches),
            read_errors=tuple(read_errors),
            digest=digest,
            cache_bypass=bypass,
            started=started,
            ended=ended,
            duration_s=number("duration_s"),
            interrupted=interrupted,
        )
        if report.blocks_checked > report.blocks_planned:
            raise IntegrityError("verification report: more blocks checked than planned")
        if report.bytes_checked > report.target_size:
            raise IntegrityError("verification report: more bytes checked than the target has")
        coverage = number("coverage")
        if not math.isclose(coverage, report.coverage, rel_tol=1e-12, abs_tol=1e-15):
            raise IntegrityError("verification report: coverage does not match bytes checked")
        if data["status"] != report.status:
            raise IntegrityError(
                f"verification report: recorded status {data['status']!r} contradicts the "
                f"findings ({report.status})"
            )
        return report


_REPORT_KEYS = frozenset(
    {
        "mode",
        "seed",
        "block_size",
        "align",
        "requested_coverage",
        "target_size",
        "observed_size",
        "pattern",
        "blocks_planned",
        "blocks_checked",
        "bytes_checked",
        "coverage",
        "mismatches",
        "read_errors",
        "digest",
        "cache_bypass",
        "started",
        "ended",
        "duration_s",
        "interrupted",
        "status",
    }
)
