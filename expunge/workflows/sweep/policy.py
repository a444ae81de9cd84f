"""The sweep policy file: retention per level and path rules, validated with line numbers."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from expunge.core import clock
from expunge.core.config import Home
from expunge.core.errors import UsageError
from expunge.ledger.classification import (
    DEFAULT_POLICY,
    VERIFY_MODES,
    ClassificationPolicy,
    LevelRule,
    verify_rank,
)
from expunge.ledger.state import DocumentState
from expunge.shred.methods import Method, get_method
from expunge.workflows import records

_TOP_KEYS = frozenset({"classification", "retention", "paths"})


_RULE_KEYS = frozenset({"root", "glob", "max_age", "classification", "method", "verify"})


_RULE_REQUIRED = ("root", "glob", "max_age", "classification")


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PathRule:
    """Unregistered files under ``root`` matching ``glob``, older than ``max_age``."""

    index: int
    root: str
    glob: str
    max_age: str
    classification: str
    method: str | None = None
    verify: str | None = None

    def describe(self) -> str:
        """The rule as people read it, for reports and logs."""
        return f"paths[{self.index}]: {self.root} {self.glob} older than {self.max_age}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "index": self.index,
            "root": self.root,
            "glob": self.glob,
            "max_age": self.max_age,
            "classification": self.classification,
            "method": self.method,
            "verify": self.verify,
        }


@dataclass(frozen=True)
class SweepPolicy:
    """What a sweep destroys and how: classification minimums, retention, path rules."""

    source: str | None
    classification: ClassificationPolicy = DEFAULT_POLICY
    retention: Mapping[str, str] = field(default_factory=dict)
    paths: tuple[PathRule, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": self.source,
            "classification": self.classification.to_dict(),
            "retention": dict(self.retention),
            "paths": [rule.to_dict() for rule in self.paths],
        }


class _Lines:
    """Line numbers of keys and tables in a TOML text (tomllib gives no positions)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def find(self, pattern: str, start: int = 0) -> int | None:
        regex = re.compile(pattern)
        for number in range(start, len(self.lines)):
            if regex.match(self.lines[number]):
                return number + 1
        return None

    def table(self, name: str, occurrence: int = 0) -> int | None:
        header = rf"\s*\[\[\s*{re.escape(name)}\s*\]\]" if name == "paths" else None
        pattern = header or rf"\s*\[\s*{re.escape(name)}\s*\]"
        line: int | None = 0
        for _ in range(occurrence + 1):
            line = self.find(pattern, line or 0)
            if line is None:
                return None
        return line

    def key(self, key: str, table_line: int | None = None) -> int | None:
        pattern = rf"\s*[\"']?{re.escape(key)}[\"']?\s*="
        return self.find(pattern, table_line or 0) or table_line

    def error(self, message: str, line: int | None, remedy: str | None = None) -> UsageError:
        where = f"{self.source}:{line}" if line else self.source
        return UsageError(message, target=where, remedy=remedy)


def _check_duration(value: object, what: str, lines: _Lines, line: int | None) -> str:
    if not isinstance(value, str):
        raise lines.error(f'{what} must be a string such as "30d"', line)
    try:
        clock.add_duration(EPOCH, value, what)
    except UsageError as exc:
        raise lines.error(exc.message, line, exc.remedy) from None
    return value


def _classification_line(data: Mapping[str, Any], message: str, lines: _Lines) -> int | None:
    """The line of the level (and key) an error message of classification.py names."""
    tables = data.get("classification")
    for level in tables if isinstance(tables, Mapping) else ():
        if re.search(rf"(?<![\w-]){re.escape(level)}(?![\w-])", message):
            table_line = lines.table(f"classification.{level}")
            key = next((k for k in ("min_passes", "min_verify", "methods") if k in message), None)
            return lines.key(key, table_line) if key else table_line
    return lines.table("classification")


def _classification(data: Mapping[str, Any], lines: _Lines) -> ClassificationPolicy:
    try:
        return records.policy_from_toml(data, lines.source)
    except UsageError as exc:
        line = _classification_line(data, exc.message, lines)
        raise lines.error(exc.message, line, exc.remedy) from None


def _retention(data: object, levels: ClassificationPolicy, lines: _Lines) -> dict[str, str]:
    table_line = lines.table("retention")
    if not isinstance(data, Mapping):
        raise lines.error("[retention] must be a table of level = duration", table_line)
    result: dict[str, str] = {}
    for level, value in data.items():
        line = lines.key(level, table_line)
        if levels.rule(level) is None:
            raise lines.error(
                f"[retention] names unknown classification {level!r}",
                line,
                f"choose one of {', '.join(levels.names)}",
            )
        result[level] = _check_duration(value, f"[retention] {level}", lines, line)
    return result


def _rule(index: int, data: object, levels: ClassificationPolicy, lines: _Lines) -> PathRule:
    table_line = lines.table("paths", index)
    where = f"[[paths]] #{index + 1}"
    if not isinstance(data, Mapping):
        raise lines.error(f"{where} must be a table", table_line)
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise lines.error(
            f"{where} has unknown key {unknown[0]!r}",
            lines.key(unknown[0], table_line),
            f"allowed: {', '.join(sorted(_RULE_KEYS))}",
        )
    for key in _RULE_REQUIRED:
        if key not in data:
            raise lines.error(
                f"{where} lacks {key!r}", table_line, f"required: {', '.join(_RULE_REQUIRED)}"
            )
    for key, value in data.items():
        if not isinstance(value, str):
            raise lines.error(
                f"{where} {key} must be a string, not {type(value).__name__}",
                lines.key(key, table_line),
                f'write it in quotes, e.g. {key} = "..."',
            )
    root, glob = data["root"], data["glob"]
    if not os.path.isabs(root) or os.path.normpath(root) == "/":
        raise lines.error(
            f"{where} root {root!r} must be an absolute folder other than /",
            lines.key("root", table_line),
        )
    if not glob or glob.startswith("/") or ".." in PurePosixPath(glob).parts:
        raise lines.error(
            f"{where} glob {glob!r} must be relative to the root, without '..'",
            lines.key("glob", table_line),
        )
    level = data["classification"]
    if levels.rule(level) is None:
        raise lines.error(
            f"{where} names unknown classification {level!r}",
            lines.key("classification", table_line),
            f"choose one of {', '.join(levels.names)}",
        )
    method = data.get("method")
    if method is not None:
        try:
            get_method(method)
        except UsageError as exc:
            raise lines.error(exc.message, lines.key("method", table_line), exc.remedy) from None
    verify = data.get("verify")
    if verify is not None and verify not in VERIFY_MODES:
        raise lines.error(
            f"{where} verify {verify!r} is not a verification mode",
            lines.key("verify", table_line),
            f"choose one of {', '.join(VERIFY_MODES)}",
        )
    max_age = _check_duration(
        data["max_age"], f"{where} max_age", lines, lines.key("max_age", table_line)
    )
    return PathRule(index + 1, os.path.normpath(root), glob, max_age, level, method, verify)


def parse_policy(text: str, source: str) -> SweepPolicy:
    """A policy from TOML ``text``; errors name ``source`` and the line (exit 2)."""
    lines = _Lines(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", target=source, remedy="fix the file") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise lines.error(
            f"unknown key {unknown[0]!r}",
            lines.table(unknown[0]) or lines.key(unknown[0]),
            f"allowed: {', '.join(sorted(_TOP_KEYS))}",
        )
    levels = _classification(data, lines)
    retention = _retention(data.get("retention", {}), levels, lines)
    rules = data.get("paths", [])
    if not isinstance(rules, list):
        raise lines.error("paths must be [[paths]] tables", lines.key("paths"))
    return SweepPolicy(
        source,
        levels,
        retention,
        tuple(_rule(i, rule, levels, lines) for i, rule in enumerate(rules)),
    )


def load_policy(home: Home, path: Path | None = None) -> SweepPolicy:
    """``path`` (``--policy``, which must exist), else ``<home>/policy.toml`` if present,
    else the defaults: documents past their ``retain-until``, nothing else."""
    chosen = path or home.policy_path
    try:
        text = chosen.read_text(encoding="utf-8")
    except FileNotFoundError:
        if path is None:
            return SweepPolicy(None)
        raise UsageError(
            "no such policy file", target=str(path), remedy="check the --policy path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the policy: {exc}", target=str(chosen), remedy="fix the file"
        ) from None
    return parse_policy(text, str(chosen))


def method_for(
    rule: LevelRule | None, method: str | None = None, verify: str | None = None
) -> tuple[Method, str]:
    """The method and verification mode a sweep uses for a level: as given, else
    ``clear`` (or the first method the level accepts) and ``nist`` (or stronger)."""
    if method is None:
        accepted = rule.methods if rule is not None else None
        method = "clear" if accepted is None or "clear" in accepted else sorted(accepted)[0]
    if verify is None:
        verify = "nist"
        if rule is not None and verify_rank(rule.min_verify) > verify_rank(verify):
            verify = rule.min_verify
    return get_method(method), verify


def due_date(state: DocumentState, policy: SweepPolicy) -> datetime | None:
    """When ``state`` is due for destruction: its ``retain-until``, else registration plus
    the policy's retention for its level; ``None``: kept until someone decides."""
    if state.retain_until is not None:
        return state.retain_until
    period = policy.retention.get(state.classification)
    if period is None:
        return None
    return clock.add_duration(state.registered_at, period, "[retention]")
