"""What the printed certificate says once, however many subjects it applies to.

A directory of 1,000 files on ext4 carries the same journal limitation 1,000 times in the
certificate (one per subject, each with its target); on paper that is one note and a count.
Fields a newer certificate carries that this renderer does not lay out by name are listed
generically, so nothing signed is left off the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from expunge.certificates.model import Certificate


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The payload fields laid out by name (``render.nist_sections`` and the subject list);
# anything else in a payload is printed under "Further fields".
_SHOWN: Mapping[str, frozenset[str]] = {
    "": _names(
        "schema version certificate_id target issued_at started_at finished_at host person"
        " media sanitization subjects limitations errors interrupted_by destination notes"
        " previous_certificate_sha256 ledger_anchor outcome"
    ),
    "person": _names("name title organization location"),
    "media": _names("manufacturer model serial media_type source classification"),
    "sanitization": _names(
        "category category_reason method_used method_name method_details tool_name"
        " tool_version verification_method post_classification"
    ),
}
_SHOWN_TARGETS = 3


@dataclass(frozen=True)
class Note:
    """One limitation or error, and the targets it was recorded for."""

    text: str
    targets: tuple[str, ...]
    untargeted: int

    @property
    def count(self) -> int:
        """How many times the certificate records it."""
        return len(self.targets) + self.untargeted

    def line(self) -> str:
        """The note as printed: its text, then whom it applies to when more than one."""
        if self.count == 1:
            return self.text + (f" [{self.targets[0]}]" if self.targets else "")
        where = ""
        if self.targets and len(self.targets) <= _SHOWN_TARGETS:
            where = ": " + ", ".join(self.targets)
        return f"{self.text} (applies to {self.count} subjects{where})"


def grouped_notes(certificate: Certificate) -> list[Note]:
    """Limitations, then errors, each distinct text once, in the order first recorded."""
    groups: dict[str, tuple[list[str], list[int]]] = {}
    records = [
        (f"Limitation {x.code}: {x.text}; {x.remedy}", x.target) for x in certificate.limitations
    ] + [(f"Error {x.code}: {x.text}", x.target) for x in certificate.errors]
    for text, target in records:
        targets, untargeted = groups.setdefault(text, ([], [0]))
        if target:
            targets.append(target)
        else:
            untargeted[0] += 1
    return [Note(text, tuple(t), u[0]) for text, (t, u) in groups.items()]


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        return [row for key, item in value.items() for row in _flatten(f"{prefix}.{key}", item)]
    if isinstance(value, list):
        return [row for i, item in enumerate(value) for row in _flatten(f"{prefix}[{i}]", item)]
    return [(prefix, "-" if value is None else str(value))]


def further_fields(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every payload field not laid out by name, as ``(dotted.name, value)`` rows."""
    rows = []
    for key, value in payload.items():
        if key not in _SHOWN[""]:
            rows += _flatten(key, value)
        elif key in _SHOWN and isinstance(value, Mapping):
            for inner, item in value.items():
                if inner not in _SHOWN[key]:
                    rows += _flatten(f"{key}.{inner}", item)
    return rows
