"""The classification policy of ``<home>/policy.toml``, and the check a destruction must pass."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from expunge.core.config import Home
from expunge.core.errors import RefusedError, UsageError
from expunge.ledger.classification import (
    DEFAULT_POLICY,
    ClassificationPolicy,
    LevelRule,
    check_destruction_allowed,
)
from expunge.shred.methods import Method
from expunge.workflows.records.lookup import RegisteredLocation


def _level_line(text: str, level: str) -> int | None:
    """The line that names ``level`` as a key: ``[classification.LEVEL]``, ``LEVEL = {...}``
    under ``[classification]``, or a dotted key (tomllib keeps no positions)."""
    name = re.escape(level)
    key = re.compile(rf"""^\s*(\[\s*)?([\w".'-]+\.)?\s*["']?{name}["']?\s*(\]|\.|=)""")
    for number, line in enumerate(text.splitlines(), start=1):
        if key.match(line):
            return number
    return None


def policy_from_toml(
    data: Mapping[str, Any], source: str, text: str | None = None
) -> ClassificationPolicy:
    """The policy a parsed ``policy.toml`` defines: its ``[classification]`` tables over
    the defaults (see the module docstring). A table for a name that is not a level is a
    usage error naming ``source`` (with the line, when ``text`` is the file's text)."""
    tables = data.get("classification", {})
    if not isinstance(tables, Mapping):
        raise UsageError("[classification] must be a table of levels", target=source)
    known = DEFAULT_POLICY.names
    for level in tables:
        if level not in known:
            line = _level_line(text, level) if text is not None else None
            raise UsageError(
                f"unknown classification level {level!r} in [classification.{level}]",
                target=f"{source}:{line}" if line else source,
                remedy=f"known levels: {', '.join(known)}",
            )
    given = ClassificationPolicy.from_dict(tables, source) if tables else None
    if given is None:
        return DEFAULT_POLICY
    overrides = {rule.name: rule for rule in given.levels}
    return ClassificationPolicy(tuple(overrides.get(r.name, r) for r in DEFAULT_POLICY.levels))


def load_policy(home: Home) -> ClassificationPolicy:
    """The station's classification policy: ``<home>/policy.toml``, else the defaults."""
    path = home.policy_path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DEFAULT_POLICY
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the policy: {exc}", target=str(path), remedy="fix the file"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", target=str(path), remedy="fix the file") from exc
    return policy_from_toml(data, str(path), text)


def describe_rule(rule: LevelRule) -> str:
    """What a level requires, as people read it."""
    methods = (
        "any method" if rule.methods is None else "method " + " or ".join(sorted(rule.methods))
    )
    passes = f"at least {rule.min_passes} pass{'es' if rule.min_passes > 1 else ''}"
    return f"{rule.name} requires {methods}, {passes}, verification {rule.min_verify} or stronger"


def check_policy(
    found: Iterable[RegisteredLocation],
    method: Method,
    verify_mode: str,
    policy: ClassificationPolicy,
) -> None:
    """Refuse (``RefusedError``) a destruction weaker than a found document's level
    requires; called before anything is written."""
    for loc in found:
        reasons = check_destruction_allowed(
            loc.classification, method.name, method.pass_count, verify_mode, policy
        )
        if reasons:
            rule = policy.rule(loc.classification)
            raise RefusedError(
                f"{loc.doc_id} is classified {loc.classification}: {'; '.join(reasons)}",
                target=loc.path,
                remedy=(describe_rule(rule) if rule else "define the level in policy.toml")
                + "; nothing was written",
            )
