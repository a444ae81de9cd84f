"""The invariants checked after every hazardous run (see the package docstring)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from expunge.core.paths import from_fields
from tests.support import run_cli
from tests.support.hazards.runs import no_traceback
from tests.support.hazards.snapshots import Entry, changes, entry
from tests.support.hazards.trees import FileFacts, Scene
from tests.support.json_output import report_json


@dataclass(frozen=True)
class Claim:
    """One certificate subject naming a file: the certificate and what it says was done."""

    certificate: str
    genuine: bool
    outcome: str
    subject: dict[str, object]

    @property
    def complete(self) -> bool:
        """Every planned pass written over the whole size, and no read-back failed."""
        passes = self.subject["passes"]
        size = self.subject["subject"]["size"]  # type: ignore[index]
        assert isinstance(passes, list)
        return (
            len(passes) == self.subject["planned_passes"]
            and all(p["bytes_written"] == size and not p["unwritten"] for p in passes)
            and all(v["status"] == "passed" for v in self.subject["verifications"])  # type: ignore[attr-defined]
        )


def claims(home: Path) -> dict[bytes, list[Claim]]:
    """Every file subject of every certificate in the home, by raw path."""
    files = sorted((home / "certificates").glob("*.cert.json")) if home.is_dir() else []
    if not files:
        return {}
    checked = run_cli("cert", "verify", "--json", *files, home=home)
    no_traceback(checked)
    verdicts = {entry["path"]: entry for entry in report_json(checked, "cert-verify")["items"]}
    found: dict[bytes, list[Claim]] = {}
    for path in files:
        verdict = verdicts[str(path)]
        # Genuine: signed by the station; a recorded failure is still a genuine statement.
        genuine = verdict["ok"] or [r["reason"] for r in verdict["reasons"]] == [
            "outcome-not-success"
        ]
        payload = json.loads(base64.b64decode(json.loads(path.read_bytes())["payload"]))
        for subject in payload["subjects"]:
            facts = subject["subject"]
            if facts.get("kind") != "file":
                continue
            name = os.fsencode(from_fields(facts["path"], facts.get("path_bytes")))
            claim = Claim(payload["certificate_id"], genuine, payload["outcome"], subject)
            found.setdefault(name, []).append(claim)
    return found


def certificate_outcomes(home: Path) -> list[str]:
    """The outcome each certificate in the home records (read from its payload)."""
    folder = home / "certificates"
    return (
        [
            json.loads(base64.b64decode(json.loads(path.read_bytes())["payload"]))["outcome"]
            for path in sorted(folder.glob("*.cert.json"))
        ]
        if folder.is_dir()
        else []
    )


def ledger_entries(home: Path) -> list[dict[str, object]]:
    """The ledger's entries (empty when nothing was ever registered)."""
    if not (home / "ledger.db").exists():
        return []
    exported = run_cli("ledger", "export", home=home)
    no_traceback(exported)
    assert exported.code == 0, exported
    return [json.loads(line) for line in exported.out.splitlines() if line.strip()]


def violations(
    home: Path,
    scene: Scene,
    protected: dict[bytes, Entry],
    targets: dict[bytes, FileFacts],
    docs: dict[str, bytes] | None = None,
    *,
    folder_times: bool = True,
) -> list[str]:
    """Every broken invariant after a run (see the module docstring); empty when all hold.

    ``protected`` is the snapshot, taken before the run, of everything the run must not
    touch; ``targets`` the files named (directly or by a named tree or document); ``docs``
    the registered documents and their paths.
    """
    found = [f"outside the targets: {c}" for c in _protected_changes(protected, folder_times)]
    by_path = claims(home)
    for path, facts in targets.items():
        said = by_path.get(path, [])
        if os.path.lexists(path):
            with open(path, "rb") as f:
                now = hashlib.sha256(f.read()).hexdigest()
            if now != facts.sha256:
                found.append(f"{path!r}: changed but not destroyed")
            found += [
                f"{path!r}: present, yet {c.certificate} says removed"
                for c in said
                if c.subject["removed"]
            ]
            found += [
                f"{path!r}: present, yet named by success {c.certificate}"
                for c in said
                if c.outcome == "success"
            ]
            continue
        proof = [c for c in said if c.genuine and c.subject["removed"] and c.complete]
        if not proof:
            found.append(f"{path!r}: gone without a genuine certificate of complete passes")
        for claim in proof:
            subject = claim.subject["subject"]
            assert isinstance(subject, dict)
            if subject["size"] != facts.size:
                found.append(f"{path!r}: {claim.certificate} states size {subject['size']}")
            if subject.get("content_blake3") not in (None, facts.blake3):
                found.append(f"{path!r}: {claim.certificate} states another content digest")
    for folder in ("journal", "runs"):
        left = sorted(p.name for p in (home / folder).iterdir()) if (home / folder).is_dir() else []
        if left:
            found.append(f"left in {folder}/: {left}")
    found += _ledger_violations(home, docs or {}, by_path)
    return found


def _protected_changes(protected: dict[bytes, Entry], folder_times: bool) -> list[str]:
    after = {}
    for path in protected:
        if os.path.lexists(path):
            after.update(entry(path))
    return [c for c in changes(protected, after, folder_times=folder_times) if "appeared" not in c]


def _ledger_violations(
    home: Path, docs: dict[str, bytes], by_path: dict[bytes, list[Claim]]
) -> list[str]:
    entries = ledger_entries(home)
    if not entries:
        return [f"{doc}: registered, yet the ledger is empty" for doc in docs]
    found = []
    audited = run_cli("audit", home=home)
    no_traceback(audited)
    if audited.code != 0:
        found.append(f"audit exit {audited.code}: {audited.out[-400:]} {audited.err[-400:]}")
    for doc, path in docs.items():
        destroys = [
            e["event"]
            for e in entries
            if e["event"]["type"] == "destroy" and e["event"]["doc_id"] == doc  # type: ignore[index]
        ]
        if os.path.lexists(path):
            if destroys:
                found.append(f"{doc}: its file is present, yet the ledger records it destroyed")
            continue
        if len(destroys) != 1:
            found.append(f"{doc}: gone, recorded destroyed {len(destroys)} times")
            continue
        cited = destroys[0]["certificate_id"]  # type: ignore[index]
        if not any(
            c.certificate == cited and c.subject["subject"].get("document_id") == doc  # type: ignore[attr-defined]
            for c in by_path.get(path, [])
        ):
            found.append(f"{doc}: recorded destroyed by {cited}, which does not name it")
    return found
