"""Classification levels and the weakest destruction each one accepts.

A level's rule has three parts, each explicit and checked separately:

- ``methods``: the method names accepted (``None``: any method);
- ``min_passes``: the fewest overwrite passes accepted;
- ``min_verify``: the weakest verification mode accepted, in the order
  ``none < quick < nist < full``.

The defaults accept the default method (``clear``: one verified random pass, NIST SP 800-88
Clear) with ``nist`` verification at every level; stricter minimums are configuration, read
from a mapping (a TOML table per level, lowest level first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from expunge.core.errors import UsageError

VERIFY_MODES: tuple[str, ...] = ("none", "quick", "nist", "full")
_LEVEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_RULE_KEYS = frozenset({"methods", "min_passes", "min_verify"})


def verify_rank(mode: str) -> int:
    """Position of ``mode`` in ``none < quick < nist < full``; a usage error otherwise."""
    try:
        return VERIFY_MODES.index(mode)
    except ValueError:
        raise UsageError(
            f"unknown verification mode {mode!r}",
            target="--verify",
            remedy=f"choose one of {', '.join(VERIFY_MODES)}",
        ) from None


@dataclass(frozen=True)
class LevelRule:
    """The weakest destruction a classification level accepts."""

    name: str
    methods: frozenset[str] | None = None
    min_passes: int = 1
    min_verify: str = "nist"

    def __post_init__(self) -> None:
        if not _LEVEL_NAME.fullmatch(self.name):
            raise UsageError(
                f"{self.name!r} is not a valid classification name",
                target="classification policy",
                remedy="use lowercase letters, digits, '-' and '_'",
            )
        if self.min_passes < 1:
            raise UsageError(
                f"min_passes of {self.name} must be at least 1", target="classification policy"
            )
        if self.methods is not None and not self.methods:
            raise UsageError(
                f"methods of {self.name} is empty: no destruction could ever be allowed",
                target="classification policy",
                remedy="list at least one method, or leave methods out to accept any",
            )
        verify_rank(self.min_verify)

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML form (without the name, which is the table's key)."""
        result: dict[str, Any] = {"min_passes": self.min_passes, "min_verify": self.min_verify}
        if self.methods is not None:
            result["methods"] = sorted(self.methods)
        return result


def _rule_from(name: str, table: object, source: str) -> LevelRule:
    where = f"[classification.{name}]"
    if not isinstance(table, Mapping):
        raise UsageError(f"{where} must be a table", target=source)
    unknown = set(table) - _RULE_KEYS
    if unknown:
        raise UsageError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}",
            target=source,
            remedy=f"allowed: {', '.join(sorted(_RULE_KEYS))}",
        )
    methods = table.get("methods")
    if methods is not None and (
        not isinstance(methods, list) or not all(isinstance(m, str) for m in methods)
    ):
        raise UsageError(f"{where} methods must be a list of method names", target=source)
    passes = table.get("min_passes", 1)
    if isinstance(passes, bool) or not isinstance(passes, int):
        raise UsageError(f"{where} min_passes must be an integer", target=source)
    verify = table.get("min_verify", "nist")
    if not isinstance(verify, str):
        raise UsageError(f"{where} min_verify must be a string", target=source)
    return LevelRule(name, frozenset(methods) if methods is not None else None, passes, verify)


@dataclass(frozen=True)
class ClassificationPolicy:
    """The configured levels, lowest first, each with its rule."""

    levels: tuple[LevelRule, ...]

    def __post_init__(self) -> None:
        if not self.levels:
            raise UsageError("no classification levels defined", target="classification policy")
        names = [rule.name for rule in self.levels]
        if len(set(names)) != len(names):
            raise UsageError(
                "a classification level is defined twice", target="classification policy"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Level names, lowest first."""
        return tuple(rule.name for rule in self.levels)

    def rule(self, level: str) -> LevelRule | None:
        """The rule of ``level``, or ``None`` when the policy does not define it."""
        return next((rule for rule in self.levels if rule.name == level), None)

    def require(self, level: str) -> LevelRule:
        """The rule of ``level``; a usage error listing the levels otherwise."""
        rule = self.rule(level)
        if rule is None:
            raise UsageError(
                f"unknown classification {level!r}",
                target="--classification",
                remedy=f"choose one of {', '.join(self.names)}",
            )
        return rule

    def to_dict(self) -> dict[str, Any]:
        """The mapping ``from_dict`` reads: level name -> rule, lowest first."""
        return {rule.name: rule.to_dict() for rule in self.levels}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], source: str = "classification policy"
    ) -> ClassificationPolicy:
        """Levels from ``{name: {methods?, min_passes?, min_verify?}}``, lowest first.

        Errors are usage errors naming ``source`` (the configuration file).
        """
        if not isinstance(data, Mapping):
            raise UsageError("the classification policy must be a table of levels", target=source)
        try:
            return cls(tuple(_rule_from(name, table, source) for name, table in data.items()))
        except UsageError as exc:
            if exc.target == source:
                raise
            raise UsageError(exc.message, target=source, remedy=exc.remedy) from exc


DEFAULT_POLICY = ClassificationPolicy(
    (
        LevelRule("public", min_verify="none"),
        LevelRule("internal", min_verify="quick"),
        LevelRule("confidential", min_verify="nist"),
        LevelRule("secret", min_verify="nist"),
        LevelRule("top-secret", min_verify="nist"),
    )
)


def check_destruction_allowed(
    level: str,
    method_name: str,
    pass_count: int,
    verify_mode: str,
    policy: ClassificationPolicy,
) -> list[str]:
    """Why destroying a ``level`` document this way is below the policy; empty when allowed.

    Layer 2 refuses, before anything is written, when the list is not empty.
    """
    given = verify_rank(verify_mode)
    rule = policy.rule(level)
    if rule is None:
        return [
            f"classification {level!r} is not defined in the policy "
            f"(defined: {', '.join(policy.names)})"
        ]
    reasons = []
    if rule.methods is not None and method_name not in rule.methods:
        reasons.append(
            f"{level} documents need one of the methods {', '.join(sorted(rule.methods))}, "
            f"not {method_name}"
        )
    if pass_count < rule.min_passes:
        reasons.append(
            f"{level} documents need at least {rule.min_passes} passes, not {pass_count}"
        )
    if given < verify_rank(rule.min_verify):
        reasons.append(
            f"{level} documents need verification {rule.min_verify} or stronger, not {verify_mode}"
        )
    return reasons
