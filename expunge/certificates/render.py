"""``cert show``: a certificate as people read it (the CLI prints the string).

The sections follow NIST SP 800-88's sample certificate, so a reader who knows the paper
form finds every field where they expect it; the PDF (``expunge.certificates.pdf``) lays
out the same sections.
"""

from __future__ import annotations

from expunge.certificates.check import CertificateCheck
from expunge.certificates.countersignature import CountersignatureCheck
from expunge.certificates.drive_facts import DriveSubject, FreeSpaceSubject
from expunge.certificates.model import Certificate
from expunge.certificates.subjects import FileSubject, PassKind, SubjectRecord

Section = tuple[str, list[tuple[str, str]]]

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(count: int | float) -> str:
    """``1.5 GiB``: binary units, one decimal; plain bytes below 1 KiB."""
    value, unit = float(count), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{int(count)} bytes" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


def verdict(check: CertificateCheck) -> str:
    """One line: VALID, or NOT VALID with the first reason."""
    if check.ok:
        return "VALID"
    first = check.reasons[0]
    return f"NOT VALID ({first.reason}): {first.message}"


def subject_status(record: SubjectRecord) -> str:
    """``destroyed``, or what keeps the subject from counting as destroyed."""
    if record.destroyed:
        return "destroyed"
    missing = []
    if not record.sanitized:
        if record.device_command is not None and not record.device_command.completed:
            missing.append("drive command not completed")
        else:
            missing.append("passes incomplete" if record.planned_passes else "key not destroyed")
    if record.verification_failed:
        missing.append("verification FAILED")
    elif not record.verified:
        missing.append("not verified")
    if record.removed is False:
        missing.append("name not removed")
    return "NOT destroyed: " + ", ".join(missing)


def _identity(record: SubjectRecord) -> str:
    subject = record.subject
    if isinstance(subject, FileSubject):
        text = f"{subject.path}  ({human_bytes(subject.size)}, inode {subject.inode}"
        text += f", {subject.filesystem})" if subject.filesystem else ")"
        if subject.document_id:
            text += f"  document {subject.document_id}"
        return text
    if isinstance(subject, FreeSpaceSubject):
        return subject.describe()
    removable = "removable" if subject.removable else "fixed"
    return (
        f"{subject.node}  {subject.vendor} {subject.model}, serial {subject.serial or 'none'}"
        f", {human_bytes(subject.size)}, {subject.bus}, {removable}"
        + (f", WWN {subject.wwn}" if subject.wwn else "")
    )


def _drive_facts(record: SubjectRecord) -> list[str]:
    """The drive's own sanitize command, health and hidden areas, where recorded."""
    lines = []
    command = record.device_command
    if command is not None:
        state = "completed" if command.completed else "NOT completed"
        lines.append(f"drive command ({command.protocol}): {command.command}, {state}")
        lines.append(f"drive reported: {command.report}")
    subject = record.subject
    if isinstance(subject, DriveSubject):
        if subject.health is not None:
            h = subject.health
            verdict = {True: "passed", False: "FAILED", None: "unknown"}[h.smart_passed]
            lines.append(
                f"health ({h.source}): SMART {verdict}, {h.power_on_hours} power-on hours, "
                f"{h.reallocated_sectors} reallocated, {h.pending_sectors} pending, "
                f"{h.media_errors} media errors"
            )
        if subject.hidden_areas is not None:
            lines.append(subject.hidden_areas.describe())
    return lines


def subject_lines(record: SubjectRecord) -> list[str]:
    """A subject as a few lines: identity, passes, final-pass key, verification, status."""
    lines = [_identity(record)]
    if isinstance(record.subject, FileSubject) and record.subject.content_blake3:
        lines.append(f"content BLAKE3 before wiping: {record.subject.content_blake3}")
    if record.planned_passes:
        labels = ", ".join(p.label for p in record.passes) or "none"
        speed = [p.throughput for p in record.passes if p.throughput]
        rate = f", {human_bytes(min(speed))}/s slowest" if speed else ""
        done = sum(p.complete for p in record.passes)
        lines.append(f"passes {done}/{record.planned_passes} complete: {labels}{rate}")
    final = record.final_pass
    if final is not None:
        if final.kind is PassKind.RANDOM:
            seed = final.key_hex or "(not recorded)"
            lines.append(f"final pass: random, AES-256-CTR key {seed}")
        else:
            lines.append(f"final pass: fixed pattern {final.pattern_hex}")
    lines.extend(_drive_facts(record))
    if record.key_erasure is not None:
        erasure = record.key_erasure
        state = "destroyed" if erasure.destroyed else "NOT destroyed"
        lines.append(f"key erasure ({erasure.scope}): {erasure.key_reference} {state}")
    for check in record.verifications:
        lines.append(
            f"verification {check.mode}: {check.blocks_checked}/{check.blocks_planned} blocks"
            f" of {human_bytes(check.block_size)}, coverage {check.coverage:.2%},"
            f" {check.mismatches} mismatches, {check.status}"
        )
    lines.append(subject_status(record))
    return lines


def nist_sections(certificate: Certificate) -> list[Section]:
    """The NIST SP 800-88 sample certificate's sections, with expunge's additions."""
    person, media, method = certificate.person, certificate.media, certificate.sanitization
    return [
        (
            "Person performing sanitization",
            [
                ("Name", person.name),
                ("Title", person.title),
                ("Organization", person.organization),
                ("Location", person.location),
                ("Phone", person.phone or ""),
                ("Host", certificate.host),
            ],
        ),
        (
            "Media information",
            [
                ("Manufacturer", media.manufacturer),
                ("Model", media.model),
                ("Serial number", media.serial),
                ("Media type", media.media_type),
                ("Media source", media.source),
                ("Asset tag", media.asset_tag or ""),
                ("Classification", media.classification),
            ],
        ),
        (
            "Sanitization details",
            [
                ("Method type", f"{method.category} ({method.category_reason})"),
                ("Method used", method.method_used.value),
                ("Method", f"{method.method_name}: {method.method_details}"),
                ("Tool used", f"{method.tool_name} {method.tool_version}"),
                ("Verification method", method.verification_method),
                ("Post-sanitization classification", method.post_classification),
                ("Media destination", certificate.destination),
                ("Notes", certificate.notes),
            ],
        ),
        (
            "Record",
            [
                ("Target", certificate.target),
                ("Outcome", certificate.outcome.value.upper()),
                ("Started", certificate.started_at),
                ("Finished", certificate.finished_at),
                ("Issued", certificate.issued_at),
                ("Interrupted by", certificate.interrupted_by or "-"),
                ("Previous certificate", certificate.previous_certificate_sha256 or "none"),
                ("Ledger anchor", _anchor(certificate)),
            ],
        ),
    ]


def _anchor(certificate: Certificate) -> str:
    anchor = certificate.ledger_anchor
    if anchor is None:
        return "none"
    return f"{anchor.ledger_id} entry {anchor.seq}, head {anchor.head_hash}"


def countersignature_line(check: CountersignatureCheck) -> str:
    """Who validated, when, with what note, and whether it holds."""
    statement = check.validation
    if statement is None:
        return f"{check.status}: key {check.keyid}" + (
            f" ({check.problem})" if check.problem else ""
        )
    who = statement.validator
    return (
        f"{check.status}: {who.name}, {who.title}, {who.organization} ({who.location})"
        f" at {statement.signed_at}, key {check.keyid}"
        + (f": {statement.note}" if statement.note else "")
    )


def banner(check: CertificateCheck) -> str | None:
    """The warning above a certificate that must not be relied on; None when it holds."""
    if check.certificate is None:
        return (
            "*** UNTRUSTED - NOT VALID: the signature did not verify under a trusted key; "
            "what follows is what the file claims, not evidence ***"
        )
    if not check.ok:
        return f"*** NOT VALID: outcome {check.certificate.outcome.value.upper()} ***"
    return None


def render_text(check: CertificateCheck, claimed: Certificate | None = None) -> str:
    """The human summary of a checked certificate, under a banner when it is not valid.

    ``claimed`` is the payload read without trusting it, shown when the signature did not
    verify (``check.certificate`` is None), so an operator sees what the file says.
    """
    lines = [f"Certificate check: {verdict(check)}"]
    for finding in check.reasons[1:]:
        lines.append(f"  also ({finding.reason}): {finding.message}")
    if check.reasons and check.reasons[0].remedy:
        lines.append(f"  what to do: {check.reasons[0].remedy}")
    warning = banner(check)
    if warning is not None:
        lines += ["", warning]
    certificate = check.certificate or claimed
    if certificate is None:
        lines.append("Contents not shown: the file holds no readable certificate.")
        return "\n".join(lines) + "\n"
    lines += [
        "",
        "CERTIFICATE OF SANITIZATION (NIST SP 800-88)",
        f"Certificate id      {certificate.certificate_id}",
        f"Certificate SHA-256 {certificate.digest}",
        f"Signed by key       {check.signer or 'NOT VERIFIED'}",
    ]
    for title, rows in nist_sections(certificate):
        lines += ["", title]
        width = max(len(label) for label, _ in rows)
        lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    lines += ["", f"Subjects ({len(certificate.subjects)})"]
    for number, record in enumerate(certificate.subjects, 1):
        first, *rest = subject_lines(record)
        lines.append(f"  {number}. {first}")
        lines += [f"     {line}" for line in rest]
    if certificate.limitations:
        lines += ["", "Limitations"]
        for limitation in certificate.limitations:
            where = f" [{limitation.target}]" if limitation.target else ""
            lines.append(f"  {limitation.code}{where}: {limitation.text}; {limitation.remedy}")
    if certificate.errors:
        lines += ["", "Errors"]
        for error in certificate.errors:
            where = f" [{error.target}]" if error.target else ""
            lines.append(f"  {error.code}{where}: {error.text}")
    lines += ["", "Validation (countersignatures)"]
    lines += [f"  {countersignature_line(c)}" for c in check.countersignatures] or ["  none"]
    return "\n".join(lines) + "\n"
