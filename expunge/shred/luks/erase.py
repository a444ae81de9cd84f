"""The crypto-erase of a LUKS volume: one random pass over its key material, then the proof.

What is erased is ``LuksLayout.erase_range``, written as one random pass (an AES-256-CTR
keystream, ``PassPattern.random``) through the overwrite engine and synced, then read back
(``verify_erased``). The key of the pass is kept in the report as the verification seed,
so ``expunge verify`` can re-check the range later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expunge.core.blockdev import round_up, target_size
from expunge.core.errors import TargetError
from expunge.core.outcome import Outcome
from expunge.shred.luks.layout import ALIGN, LuksLayout
from expunge.shred.luks.verification import LuksVerification, verify_erased
from expunge.shred.overwrite import CHUNK_BYTES, PassOptions, WriteBuffer, write_pass
from expunge.shred.patterns import PassPattern
from expunge.shred.report import ByteRange, Limitation, PassResult

METHOD = "cryptographic erase (LUKS keyslots)"
NIST_CATEGORY = "Purge"
HEADER_BACKUP_NOTE = Limitation(
    "luks-header-backups",
    "header backups (cryptsetup luksHeaderBackup) and copies of this volume's header kept "
    "outside this device are not controlled: any such copy, with a passphrase, opens the "
    "remaining ciphertext again",
    "destroy every header backup too, or overwrite the whole volume after the erase",
)


@dataclass(frozen=True)
class LuksEraseReport:
    """The crypto-erase of one LUKS volume: what was overwritten, and what read back."""

    layout: LuksLayout
    erased: tuple[ByteRange, ...]
    pass_result: PassResult
    verification: LuksVerification
    limitations: tuple[Limitation, ...] = (HEADER_BACKUP_NOTE,)
    method: str = METHOD
    nist_category: str = NIST_CATEGORY

    @property
    def verification_seed(self) -> bytes | None:
        """The key of the random pass: recomputes what the erased range must hold."""
        return self.pass_result.pattern.key

    @property
    def status(self) -> Outcome:
        """``success`` only when the pass completed and the read-back passed."""
        if self.pass_result.interrupted:
            return Outcome.INTERRUPTED
        if self.pass_result.complete and self.verification.passed:
            return Outcome.SUCCESS
        return Outcome.FAILED

    def to_dict(self) -> dict[str, Any]:
        """JSON form; the pass key is the verification seed (it protects nothing)."""
        seed = self.verification_seed
        return {
            "method": self.method,
            "nist_category": self.nist_category,
            "layout": self.layout.to_dict(),
            "erased": [r.to_dict() for r in self.erased],
            "pass": self.pass_result.to_dict(),
            "final_pass": {
                "pattern": self.pass_result.pattern.label,
                "kind": self.pass_result.pattern.kind,
                "key": seed.hex() if seed else None,
            },
            "verification": self.verification.to_dict(),
            "limitations": [lim.to_dict() for lim in self.limitations],
            "status": self.status,
        }


def luks_erase(
    fd: int,
    layout: LuksLayout,
    *,
    key: bytes | None = None,
    options: PassOptions | None = None,
) -> LuksEraseReport:
    """Overwrite ``layout.erase_range`` of ``fd`` with a random pass, sync, and verify it.

    ``fd`` is the read-write descriptor ``layout`` was read from (``O_DIRECT`` is fine:
    pass ``PassOptions(buffered=False)``). ``key`` fixes the pass's AES-256 key (the
    verification seed); by default a fresh one is drawn. Call ``refuse_if_open`` (and, for
    drives, the drive interlocks) first. A whole-volume overwrite (``--then``) composes:
    ``run_passes(fd, size, passes, options)`` afterwards on the same descriptor.
    """
    size = target_size(fd)
    if size != layout.target_size:
        raise TargetError(
            f"changed size since its header was read ({layout.target_size} -> {size} bytes)",
            target=layout.target,
            remedy="read its layout again; nothing was written",
        )
    erase = layout.erase_range
    pattern = PassPattern.random(key)
    buffer = WriteBuffer(min(CHUNK_BYTES, round_up(erase.end, ALIGN)))
    try:
        result = write_pass(
            fd, erase.end, pattern, 1, buffer, options or PassOptions(task="luks-erase")
        )
    finally:
        buffer.close()
    verification = verify_erased(fd, layout, pattern)
    return LuksEraseReport(layout, (erase,), result, verification)
