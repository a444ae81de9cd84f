"""A document's life through the commands people type: register, copy to a "USB stick",
destroy everywhere, audit; and a copy on a whole medium marked destroyed by that medium's
certificate."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expunge.certificates import Media, read_envelope
from expunge.certificates.drive_facts import DriveSubject
from expunge.core.clock import utc_now
from expunge.core.config import Home, StationSettings
from expunge.drives import find_drive
from expunge.shred.methods import get_method, resolve
from expunge.shred.overwrite import PassOptions, run_passes
from expunge.shred.report import TargetIdentity, WipeReport
from expunge.verify import make_plan, verify_fd
from expunge.workflows import certify, records
from tests.support import MountedImage, count_in_file, needs_root, run_cli, unmount
from tests.support.drivewipe import finished
from tests.support.records import digest_of, make_document, ok, register


def payload(cert: Path) -> dict[str, object]:
    """The signed certificate inside an envelope file."""
    value = json.loads(base64.b64decode(json.loads(cert.read_bytes())["payload"]))
    assert isinstance(value, dict)
    return value


@needs_root
def test_register_copy_to_stick_destroy_everywhere_audit(
    tmp_path: Path, cli_home: Path, ext4_image: MountedImage
) -> None:
    original = tmp_path / "merger-plan.pdf"
    content = make_document(original)
    doc = register(cli_home, original, "--title", "Merger plan", "--retain-for", "90d")
    stick_copy = ext4_image.mount / "merger-plan.pdf"
    stick_copy.write_bytes(content)
    os.sync()
    ok(run_cli("ledger", "copy", doc, "--to", stick_copy, home=cli_home))

    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    assert shown["status"] == "registered"
    assert shown["outstanding"] == [str(stick_copy)]
    assert shown["digest"] == digest_of(original)

    result = ok(run_cli("destroy", doc, "--yes", "--json", home=cli_home))
    report = json.loads(result.out)
    assert report["status"] == "success" and report["outstanding"] == []
    assert not original.exists() and not stick_copy.exists()
    (recorded,) = report["ledger"]["recorded"]
    assert recorded["doc_id"] == doc
    assert sorted(recorded["paths"]) == sorted([str(original), str(stick_copy)])

    # One certificate names both files as the document, and where the ledger stood.
    cert = Path(report["certificate"])
    signed = payload(cert)
    subjects = [s["subject"] for s in signed["subjects"]]  # type: ignore[union-attr]
    assert {s["path"] for s in subjects} == {str(original), str(stick_copy)}
    assert {s["document_id"] for s in subjects} == {doc}
    assert {s["content_blake3"] for s in subjects} == {shown["digest"]}
    anchor = signed["ledger_anchor"]
    assert isinstance(anchor, dict) and anchor["seq"] == recorded["seq"] - 1

    after = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    assert after["status"] == "destroyed" and after["outstanding"] == []
    audit = ok(run_cli("audit", home=cli_home))
    assert "audit: OK" in audit.out

    # The stick's raw bytes no longer hold the document anywhere.
    unmount(ext4_image)
    needles = [content[i : i + 64] for i in (0, len(content) // 2, len(content) - 64)]
    assert set(count_in_file(ext4_image.image, needles).values()) == {0}


def _drive_certificate(node: str, home: Path) -> certify.IssuedCertificate:
    """Wipe our loop device with one verified random pass and certify it, as a drive wipe
    does (built here from the engine, so this test does not depend on 'drive wipe')."""
    drive = find_drive(node)
    station = certify.Station.open(Home(home), StationSettings(operator="tester"), None)
    fd = os.open(node, os.O_RDWR | os.O_EXCL | os.O_CLOEXEC)
    try:
        started = utc_now()
        method = get_method("clear")
        (done,) = run_passes(fd, drive.size, resolve(method), PassOptions(task=node))
        check = verify_fd(fd, done.pattern, make_plan(drive.size, "quick", coverage=1.0))
        st = os.fstat(fd)
    finally:
        os.close(fd)
    identity = TargetIdentity(node, "device", drive.size, st.st_rdev, st.st_ino)
    wipe = WipeReport(identity, method.name, (done,), 1)
    subject = DriveSubject(
        node=node,
        vendor="",
        model="loop",
        serial=drive.serial,
        wwn=None,
        size=drive.size,
        logical_block_size=drive.logical_block_size,
        bus=drive.bus,
        removable=drive.removable,
        rotational=drive.rotational,
        identity_token=drive.identity_token,
    )
    with records.existing_ledger(Home(home)) as store:  # type: ignore[union-attr]
        anchor = records.current_anchor(store)
    draft = certify.CertificateDraft(
        target=node,
        started=started,
        finished=utc_now(),
        media=Media("loop", "", drive.serial or "", "loop device", "", ""),
        sanitization=certify.sanitization(method, "quick", ""),
        subjects=(certify.subject_record(subject, wipe, [(check, 0)], None),),
        ledger_anchor=anchor,
    )
    return certify.issue(draft, station)


@needs_root
def test_copy_on_a_wiped_medium_is_marked_destroyed(
    tmp_path: Path, cli_home: Path, loop_device: tuple[str, Path]
) -> None:
    node, backing = loop_device
    token = find_drive(node).identity_token
    original = tmp_path / "payroll.xlsx"
    make_document(original)
    doc = register(cli_home, original)
    other = tmp_path / "unrelated.txt"
    make_document(other, 4096)
    bystander = register(cli_home, other)
    ok(run_cli("ledger", "copy", doc, "--medium", token, home=cli_home))

    issued = _drive_certificate(node, cli_home)
    assert issued.outcome == "success"
    station = certify.Station.open(Home(cli_home), StationSettings(operator="tester"), None)
    with records.existing_ledger(Home(cli_home), station) as store:  # type: ignore[union-attr]
        marked = records.record_medium_destroyed(
            store, token, issued, actor="tester", now=datetime.now(UTC)
        )
        assert marked == (doc,)
        # A second time there is nothing left on that medium.
        assert records.record_medium_destroyed(store, token, issued, actor="t", now=utc_now()) == ()
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    assert shown["status"] == "registered"  # the original still exists
    (copy,) = [loc for loc in shown["locations"] if loc["kind"] == "copy"]
    assert copy["status"] == "destroyed"
    assert copy["destroyed_by"]["certificate_id"] == issued.certificate.certificate_id

    # Shredding the original by path finishes the document; the bystander is untouched.
    shred = ok(run_cli("shred", original, home=cli_home))
    assert f"ledger: {doc} destroyed at {original}" in shred.out
    listed = json.loads(ok(run_cli("ledger", "list", "--json", home=cli_home)).out)["items"]
    assert {d["doc_id"]: d["status"] for d in listed} == {doc: "destroyed", bystander: "registered"}
    assert ok(run_cli("audit", home=cli_home)).out.endswith("audit: OK\n")
    assert read_envelope(issued.path).payload_sha256 == issued.certificate.digest
    assert backing.stat().st_size == 64 << 20


def test_destroy_lists_copies_on_media_that_are_not_present(tmp_path: Path, cli_home: Path) -> None:
    original = tmp_path / "plan.txt"
    make_document(original, 8192)
    doc = register(cli_home, original)
    gone = tmp_path / "gone-copy.txt"
    gone.write_bytes(original.read_bytes())
    ok(run_cli("ledger", "copy", doc, "--to", gone, home=cli_home))
    ok(run_cli("ledger", "copy", doc, "--medium", "SERIAL-NOT-HERE", home=cli_home))
    gone.unlink()  # the copy went away with a stick nobody brought back

    result = ok(run_cli("destroy", doc, "--yes", home=cli_home))
    assert f"outstanding: {gone}" in result.out
    assert "outstanding: medium SERIAL-NOT-HERE" in result.out
    cert = next((cli_home / "certificates").glob("*.cert.json"))
    notes = payload(cert)["notes"]
    assert isinstance(notes, str)
    assert "SERIAL-NOT-HERE" in notes and str(gone) in notes

    audit = run_cli("audit", "--json", home=cli_home)
    assert audit.code == 7
    problems = json.loads(audit.out)["problems"]
    assert {p["kind"] for p in problems} == {"outstanding-copy"}
    assert sorted(p["seq"] for p in problems) == [2, 3]


@pytest.mark.parametrize("anchor_kind", ["checkpoint", "export-tail"])
def test_checkpoint_anchor_detects_a_ledger_replaced_by_an_older_copy(
    tmp_path: Path, cli_home: Path, anchor_kind: str
) -> None:
    first = tmp_path / "a.txt"
    make_document(first, 4096)
    register(cli_home, first)
    backup = tmp_path / "ledger-backup.db"
    backup.write_bytes((cli_home / "ledger.db").read_bytes())
    second = tmp_path / "b.txt"
    make_document(second, 4096)
    register(cli_home, second)
    anchor = tmp_path / "anchor.jsonl"
    if anchor_kind == "checkpoint":
        ok(run_cli("ledger", "checkpoint", "-o", anchor, home=cli_home))
    else:
        lines = ok(run_cli("ledger", "export", home=cli_home)).out.splitlines()
        anchor.write_text(lines[-1] + "\n")
    assert ok(run_cli("audit", "--anchor", anchor, home=cli_home)).code == 0

    # Someone restores the old file: one entry fewer, and a valid chain.
    for side in ("-wal", "-shm"):
        (cli_home / f"ledger.db{side}").unlink(missing_ok=True)
    (cli_home / "ledger.db").write_bytes(backup.read_bytes())
    result = run_cli("audit", "--anchor", anchor, home=cli_home)
    assert result.code == 7
    assert "seq 2: the ledger ends at seq 1" in result.out


@needs_root
def test_drive_wipe_through_the_cli_marks_copies_on_it_destroyed(
    tmp_path: Path, cli_home: Path, loop_device: tuple[str, Path]
) -> None:
    node, _backing = loop_device
    token = find_drive(node).identity_token
    original = tmp_path / "salaries.ods"
    make_document(original)
    doc = register(cli_home, original)
    ok(run_cli("ledger", "copy", doc, "--medium", token, home=cli_home))

    wiped = run_cli(
        "drive", "wipe", node, "--include-virtual", "--yes", "--expect", token,
        "--verify", "quick", "--json", home=cli_home,
    )  # fmt: skip
    assert wiped.code == 0, wiped
    (report,) = finished(wiped.out)
    assert report["ledger_documents_destroyed"] == [doc]
    shown = json.loads(ok(run_cli("ledger", "show", doc, "--json", home=cli_home)).out)
    (copy,) = [loc for loc in shown["locations"] if loc["kind"] == "copy"]
    assert copy["status"] == "destroyed"
    assert copy["destroyed_by"]["certificate_id"] in report["certificate"]
    assert ok(run_cli("audit", home=cli_home)).out.endswith("audit: OK\n")
