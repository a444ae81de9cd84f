"""The NIST SP 800-88 category a destruction may claim (Clear or Purge), and why.

Every claim a certificate makes about its category is written here, from what was done:
an overwrite is Clear; a crypto-erase is Purge only when nothing of the data can exist
outside what was erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from expunge import TOOL_NAME, __version__
from expunge.certificates import Category, MethodUsed, Sanitization
from expunge.shred import luks
from expunge.shred.methods import LUKS_ERASE, Method
from expunge.shred.report import Limitation as WipeLimitation
from expunge.verify import VerifyMode

if TYPE_CHECKING:
    from expunge.workflows.certify.device_work import SanitizeWork
    from expunge.workflows.certify.erase_work import KeyErasureOutcome, LuksWork

KEY_ERASE_METHOD = "cryptographic erase"
FLASH_NOTE = "; the medium is flash: remapped and over-provisioned blocks were not addressed"


def flash_note(flash: bool) -> str:
    """What an overwrite's Clear leaves out on flash media (empty for other media)."""
    return FLASH_NOTE if flash else ""


def sanitization(method: Method, verify_mode: str, media_note: str) -> Sanitization:
    """NIST "sanitization details" of an overwrite."""
    return Sanitization(
        category=Category.CLEAR,
        category_reason=(
            "overwrite of every user-addressable byte of the target with verification by "
            f"read-back (NIST SP 800-88 Clear){media_note}"
        ),
        method_used=MethodUsed.OVERWRITE,
        method_name=method.name,
        method_details=f"passes: {method.describe_passes()}; source: {method.source}",
        tool_name=TOOL_NAME,
        tool_version=__version__,
        verification_method=f"{verify_mode} read-back, BLAKE3 hash comparison"
        if verify_mode != VerifyMode.NONE
        else "none",
        post_classification="unclassified (media may be reused)",
    )


def _key_erasure_reason(erasure: KeyErasureOutcome) -> str:
    """Why a key erasure is Purge, or why it is only Clear."""
    if erasure.purge:
        return (
            "cryptographic erase: the document key's slot in the key store was overwritten in "
            "place and read back from the medium, and no key-store file holds its wrapped or "
            "raw bytes; the key store's filesystem lets an in-place overwrite reach the old "
            "blocks; the document was sealed before any copy of its plaintext was recorded "
            "and never unsealed since, so every remaining copy is ciphertext without a key "
            "(NIST SP 800-88 Purge)"
        )
    why = []
    if not erasure.key_unrecoverable:
        codes = ", ".join(lim.code for lim in erasure.limitations) or "see limitations"
        why.append(f"a copy of the key may survive on the key store's medium ({codes})")
    if not erasure.sealed_first:
        why.append("plaintext copies were recorded before or after sealing")
    if erasure.unsealed_to:
        why.append(f"the document was unsealed to {', '.join(erasure.unsealed_to)}")
    listed = ", ".join(erasure.plaintext_copies) or "none reachable"
    return (
        "cryptographic erase of the ciphertext, but "
        + "; ".join(why)
        + f"; the plaintext copies shredded by overwrite ({listed}) are Clear only "
        "(NIST SP 800-88 Clear)"
    )


def key_erasure_sanitization(erasure: KeyErasureOutcome, overwrite_details: str) -> Sanitization:
    """NIST "sanitization details" of a document key's erase (with the overwrite of the
    reachable files): Purge only when no plaintext existed outside the sealed file and no
    copy of the key can be read back from the key store's medium."""
    return Sanitization(
        category=Category.PURGE if erasure.purge else Category.CLEAR,
        category_reason=_key_erasure_reason(erasure),
        method_used=MethodUsed.CRYPTOGRAPHIC_ERASE,
        method_name=KEY_ERASE_METHOD,
        method_details=(
            "AES-256-GCM sealed document, key wrapped (RFC 3394) in a fixed slot of the key "
            "store; the slot overwritten in place (pwrite, fdatasync) and read back with "
            "O_DIRECT; every key-store file scanned for the wrapped and raw key; reachable "
            f"files overwritten: {overwrite_details}; source: NIST SP 800-88 Rev. 1 "
            "cryptographic erase"
        ),
        tool_name=TOOL_NAME,
        tool_version=__version__,
        verification_method="read-back of the key slot from the medium; key-scan of every "
        "key-store file; read-back of overwritten files, BLAKE3 hash comparison",
        post_classification="unclassified (ciphertext without a key)"
        if erasure.purge
        else "unchanged (copies of the key or of the plaintext may survive)",
    )


def luks_sanitization(
    work: LuksWork, verify_mode: str, medium: Sequence[WipeLimitation] = ()
) -> Sanitization:
    """NIST "sanitization details" of a LUKS crypto-erase: Purge, or Clear where ``medium``
    says the old header may survive (copy-on-write, flash...)."""
    layout = work.report.layout
    then = (
        f"; then the whole volume overwritten with {work.then_method.name} "
        f"({work.then_method.describe_passes()})"
        if work.then_method
        else ""
    )
    reason = (
        "cryptographic erase: every LUKS header, JSON area and keyslot area was "
        "overwritten and read back, so no passphrase can recover the volume key and "
        "the data area is ciphertext without a key (NIST SP 800-88 Purge); header "
        "backups made outside this device are not controlled"
    )
    if medium:
        reason = (
            "cryptographic erase: every LUKS header, JSON area and keyslot area was "
            "overwritten and read back, but the old header may survive on the medium ("
            + ", ".join(lim.code for lim in medium)
            + "), where an old passphrase would open the volume again (NIST SP 800-88 Clear)"
        )
    return Sanitization(
        category=Category.CLEAR if medium else Category.PURGE,
        category_reason=reason,
        method_used=MethodUsed.CRYPTOGRAPHIC_ERASE,
        method_name=luks.METHOD,
        method_details=(
            f"LUKS{layout.version}: bytes [0, {layout.erase_range.end}) overwritten with "
            f"one random pass{then}; source: {LUKS_ERASE.source}"
        ),
        tool_name=TOOL_NAME,
        tool_version=__version__,
        verification_method="O_DIRECT read-back of the erased range against the keystream; "
        "no LUKS magic at any header offset"
        + (f"; {verify_mode} read-back of the final pass" if work.then_check else ""),
        post_classification="unchanged (the old header may survive)"
        if medium
        else "unclassified (media may be reused)",
    )


def device_sanitization(work: SanitizeWork, method: Method, verify_mode: str) -> Sanitization:
    """NIST "sanitization details" of the drive's own sanitize operation.

    Purge only when the operation counts as Purge, the drive reported it completed, and
    the samples read back agree: none still holds its old content, and at least one
    shows the change (or the known result). Otherwise Clear at most, saying why.
    """
    op, check = work.operation, work.check
    if work.confirmed and op.purge:
        assert check is not None
        category, reason = (
            Category.PURGE,
            (
                f"{op.basis}; the drive reported the operation completed and the read-back "
                f"agrees: {check.changed} of {check.samples_read} sampled blocks changed, none "
                "kept its content (NIST SP 800-88 Purge)"
            ),
        )
    elif not op.purge:
        category, reason = Category.CLEAR, op.basis
    elif not work.completed:
        category, reason = Category.CLEAR, f"{op.basis}; the drive did not report completion"
    elif check is None:
        category, reason = (
            Category.CLEAR,
            (f"{op.basis}; not read back (--verify none), so Purge is not claimed"),
        )
    elif check.status == "inconclusive":
        category, reason = (
            Category.CLEAR,
            (
                f"{op.basis}; the drive reported success, but the read-back cannot confirm it "
                "(every sampled block was blank before the erase), so Purge is not claimed"
            ),
        )
    else:
        category, reason = (
            Category.CLEAR,
            (
                f"{op.basis}; the read-back contradicts the drive: {check.unchanged} sampled "
                f"blocks kept their content, {check.unexpected} do not hold what the erase leaves"
            ),
        )
    expected = f"; each must read as {op.expected.label} afterwards" if op.expected else ""
    return Sanitization(
        category=category,
        category_reason=reason,
        method_used=MethodUsed(op.method_used),
        method_name=method.name,
        method_details=f"{op.command} ({op.protocol} command); source: {method.source}",
        tool_name=TOOL_NAME,
        tool_version=__version__,
        verification_method=f"{verify_mode} sample read back just before and after the erase, "
        f"compared by BLAKE3 (a block still holding its old content fails){expected}"
        if verify_mode != VerifyMode.NONE
        else "none",
        post_classification="unclassified (media may be reused)",
    )
