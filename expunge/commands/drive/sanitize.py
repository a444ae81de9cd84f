"""How ``drive list`` and ``drive wipe`` show what a drive can do itself, and what its own
erase did."""

from __future__ import annotations

from collections.abc import Iterator

from expunge.drives import Drive
from expunge.workflows.certify.device_work import SanitizeWork


def profile_lines(drive: Drive) -> Iterator[str]:
    """What the drive answered when asked: its own erase operations, its state, health."""
    profile = drive.profile
    if profile is None:
        return
    ops = ", ".join(profile.operations) or "none"
    firmware = f", firmware {profile.firmware}" if profile.firmware else ""
    yield f"  {profile.transport}{firmware}; its own erase: {ops}"
    sec = profile.security
    if sec is not None and sec.supported and (sec.frozen or sec.locked or sec.enabled):
        states = [n for n, on in (("frozen", sec.frozen), ("locked", sec.locked)) if on]
        states += ["password set"] if sec.enabled else []
        yield f"  ATA security: {', '.join(states)}"
    if profile.sanitize_frozen:
        yield "  ATA sanitize: frozen until power-cycled"
    h = profile.health
    if h is not None:
        verdict = {True: "passed", False: "FAILED", None: "unknown"}[h.smart_passed]
        counts = [
            f"{value} {name}"
            for name, value in (
                ("power-on hours", h.power_on_hours),
                ("reallocated", h.reallocated_sectors),
                ("pending", h.pending_sectors),
                ("media errors", h.media_errors),
            )
            if value is not None
        ]
        yield f"  health: SMART {verdict}" + (f", {', '.join(counts)}" if counts else "")
    hidden = profile.hidden
    if hidden is not None and (hidden.hpa_sectors or hidden.dco_sectors):
        yield f"  hidden: HPA {hidden.hpa_sectors} sectors, DCO {hidden.dco_sectors} sectors"


def sanitize_lines(work: SanitizeWork) -> Iterator[str]:
    """What the drive's own erase did and what its read-back showed."""
    op = work.operation
    state = "completed" if work.completed else "NOT completed"
    yield f"  {op.command}: {state}; drive reported: {work.report}"
    check = work.check
    if check is None:
        yield "  read-back: none"
    else:
        expected = f", {check.unexpected} not {check.expected}" if check.expected else ""
        yield (
            f"  read-back ({check.mode}, before and after): {check.samples_read} samples, "
            f"{check.changed} changed, {check.unchanged} kept their content, {check.blank} "
            f"blank before{expected}: {check.status}"
        )
    verdict = "Purge" if work.confirmed and op.purge else "Clear at most"
    yield f"  claim: {verdict}"
    for lim in work.limitations:
        yield f"  note: {lim.text}"
