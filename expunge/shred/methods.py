"""The method registry: named lists of passes, each with the standard it follows.

A method is data. Its passes are *tokens*: ``R`` (a random AES-CTR pass), hex bytes
(``00``, ``92 49 24``), or ``c1``/``~c1`` (one random byte chosen per run, and its
complement). ``resolve`` turns tokens into concrete ``PassPattern`` values for one run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from expunge.core.errors import UsageError
from expunge.shred.patterns import PassPattern

if TYPE_CHECKING:
    from random import Random

_HEX = re.compile(r"^(?:[0-9a-f]{2})+$")
_CHOSEN = re.compile(r"^(~?)c(\d+)$")
MAX_PATTERN_BYTES = 64
MAX_PASSES = 64


@dataclass(frozen=True)
class Method:
    """A named overwrite method.

    ``shuffle`` is a half-open range of pass indexes whose order is randomized per run
    (Gutmann's middle passes).
    """

    name: str
    passes: tuple[str, ...]
    source: str
    note: str = ""
    shuffle: tuple[int, int] | None = None

    @property
    def pass_count(self) -> int:
        """How many passes the method writes."""
        return len(self.passes)

    def describe_passes(self) -> str:
        """The pass list as people read it: ``c, ~c, R``."""
        return ", ".join(self.passes)

    def to_dict(self) -> dict[str, object]:
        """JSON form for ``expunge methods --json`` and certificates."""
        return {
            "name": self.name,
            "passes": list(self.passes),
            "source": self.source,
            "note": self.note,
            "randomized_order": list(self.shuffle) if self.shuffle else None,
        }


_GUTMANN_MIDDLE = (
    "55",
    "aa",
    "924924",
    "492492",
    "249249",
    *(f"{n:x}{n:x}" for n in range(16)),
    "924924",
    "492492",
    "249249",
    "6db6db",
    "b6db6d",
    "db6db6",
)

REGISTRY: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "clear",
            ("R",),
            "NIST SP 800-88 Rev. 2 (2025), Clear: one overwrite of all user-addressable storage",
            "random, so that no controller can compress or skip it; still verifiable "
            "because the keystream can be recomputed",
        ),
        Method("zero", ("00",), "single fixed-value pass (zeros)"),
        Method("one", ("ff",), "single fixed-value pass (ones)"),
        Method(
            "dod-3",
            ("c1", "~c1", "R"),
            "DoD 5220.22-M (1995), short form, as nwipe 'dodshort'",
            "c1 is one random byte chosen per run, ~c1 its complement",
        ),
        Method(
            "dod-7",
            ("c1", "~c1", "R", "c2", "c3", "~c3", "R"),
            "DoD 5220.22-M ECE, 7 passes, as nwipe 'dod522022m' and Eraser",
            "c1..c3 are random bytes chosen per run, ~c their complements",
        ),
        Method(
            "gutmann",
            ("R",) * 4 + _GUTMANN_MIDDLE + ("R",) * 4,
            "P. Gutmann, Secure Deletion of Data from Magnetic and Solid-State Memory, "
            "USENIX Security 1996: 35 passes",
            "passes 5-31 are written in a random order chosen per run, as the paper says; "
            "meant for MFM/RLL drives, pointless on modern media",
            shuffle=(4, 31),
        ),
        Method(
            "schneier",
            ("ff", "00", "R", "R", "R", "R", "R"),
            "B. Schneier, Applied Cryptography (2nd ed., 1996), ch. 10.9",
        ),
        Method(
            "bsi-vsitr",
            ("00", "ff", "00", "ff", "00", "ff", "aa"),
            "BSI VSITR (Germany), as commonly published",
            "published readings differ on the final pass; this follows the 0xAA reading",
        ),
        Method(
            "ops-ii",
            ("00", "ff", "00", "ff", "00", "ff", "R"),
            "RCMP TSSIT OPS-II (Canada)",
        ),
        Method(
            "hmg-is5-baseline",
            ("00",),
            "HMG Infosec Standard 5 (UK), baseline: one zero pass, verified",
        ),
        Method(
            "hmg-is5-enhanced",
            ("00", "ff", "R"),
            "HMG Infosec Standard 5 (UK), enhanced: zeros, ones, random; last pass verified",
        ),
        Method(
            "nnsa",
            ("R", "R", "00"),
            "NNSA Policy Letter NAP-14.1-C (US)",
        ),
    )
}

DEFAULT_METHOD = "clear"

LUKS_ERASE = Method(
    "luks-erase",
    (),
    "NIST SP 800-88 Rev. 1, Purge by cryptographic erase: every LUKS header, JSON area and "
    "keyslot area overwritten (one random pass) and read back",
    "LUKS volumes only ('drive wipe', or 'shred' of a container file, which is kept); "
    "--then METHOD overwrites the whole volume afterwards",
)
CRYPTO_METHODS: dict[str, Method] = {LUKS_ERASE.name: LUKS_ERASE}
"""Methods that destroy keys rather than overwrite content: no passes of their own."""


_DRIVE_ONLY = "whole drives only ('drive wipe'); verified by reading samples back"
SANITIZE_METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "sanitize",
            (),
            "the drive's own sanitize command (NIST SP 800-88 Rev. 1 Purge): the strongest "
            "it supports, crypto erase, then block erase, then overwrite",
            f"NVMe Sanitize, ATA SANITIZE, SCSI SANITIZE or eMMC secure discard; {_DRIVE_ONLY}",
        ),
        Method(
            "sanitize:crypto",
            (),
            "the drive's cryptographic erase: NVMe Sanitize Crypto Erase, ATA CRYPTO "
            "SCRAMBLE EXT, SCSI SANITIZE CRYPTOGRAPHIC ERASE (NIST SP 800-88 Purge)",
            _DRIVE_ONLY,
        ),
        Method(
            "sanitize:block",
            (),
            "the drive's block erase: NVMe Sanitize Block Erase, ATA BLOCK ERASE EXT, "
            "SCSI SANITIZE BLOCK ERASE (NIST SP 800-88 Purge)",
            _DRIVE_ONLY,
        ),
        Method(
            "sanitize:overwrite",
            (),
            "the drive's own overwrite of every block, spares included: NVMe Sanitize "
            "Overwrite, ATA OVERWRITE EXT, SCSI SANITIZE OVERWRITE (NIST SP 800-88 Purge)",
            f"one pass of zeros; {_DRIVE_ONLY}",
        ),
        Method(
            "secure-erase",
            (),
            "ATA SECURITY ERASE UNIT (enhanced where supported), or NVMe Format NVM with "
            "Secure Erase Settings (cryptographic where supported)",
            f"Purge on hard disks and NVMe; Clear on ATA flash; {_DRIVE_ONLY}",
        ),
        Method(
            "discard",
            (),
            "block-layer discard of every block (BLKDISCARD: TRIM, UNMAP, Deallocate), read "
            "back as zeros: NIST SP 800-88 Clear at most",
            f"the cells may keep the data until the controller erases them; {_DRIVE_ONLY}",
        ),
    )
}
"""The drive's own erase operations: no passes; the drive does the work."""


def is_crypto_erase(method: Method) -> bool:
    """Whether ``method`` erases keys (``luks-erase``) instead of overwriting content."""
    return method.name in CRYPTO_METHODS


def is_device_sanitize(method: Method) -> bool:
    """Whether ``method`` is one of the drive's own erase operations (``sanitize``...)."""
    return method.name in SANITIZE_METHODS


def get_drive_method(name: str) -> Method:
    """A method a whole drive can be wiped with: the registry, or a sanitize operation."""
    return SANITIZE_METHODS.get(name) or get_method(name)


def get_method(name: str) -> Method:
    """The registry entry called ``name``; a usage error naming the choices otherwise."""
    if name in SANITIZE_METHODS:
        raise UsageError(
            f"{name} is the drive's own sanitize command: it erases whole drives only",
            target="--method",
            remedy=f"use 'expunge drive wipe -m {name} DEVICE', or an overwrite method here",
        )
    found = REGISTRY.get(name) or CRYPTO_METHODS.get(name)
    if found is None:
        raise UsageError(
            f"unknown method {name!r}",
            target="--method",
            remedy=f"choose one of {', '.join([*REGISTRY, *CRYPTO_METHODS])} "
            "(see 'expunge methods')",
        )
    return found


def _normalize_token(token: str) -> str:
    token = token.strip().lower().replace(" ", "").removeprefix("0x")
    if token in ("r", "random"):
        return "R"
    return token


def parse_passes(text: str) -> Method:
    """A custom method from ``--passes 00,ff,R,55aa``."""
    tokens = [_normalize_token(t) for t in text.split(",")]
    if not text.strip() or not all(tokens):
        raise UsageError(
            f"empty pass in {text!r}", target="--passes", remedy="e.g. --passes 00,ff,R"
        )
    for token in tokens:
        if token == "R":
            continue
        if not _HEX.match(token) or len(token) > 2 * MAX_PATTERN_BYTES:
            raise UsageError(
                f"pass {token!r} is neither R nor whole hex bytes (up to {MAX_PATTERN_BYTES})",
                target="--passes",
                remedy="write patterns as hex bytes, e.g. 00, ff, 924924, or R for random",
            )
    if len(tokens) > MAX_PASSES:
        raise UsageError(
            f"{len(tokens)} passes is more than {MAX_PASSES}", target="--passes", remedy=""
        )
    return Method("custom", tuple(tokens), "custom pass list given with --passes", text.strip())


def with_blank(method: Method) -> Method:
    """``--blank``: the method followed by a final zero pass (verification checks zeros)."""
    return Method(
        f"{method.name}+blank",
        (*method.passes, "00"),
        method.source,
        (method.note + "; " if method.note else "") + "a final zero pass was added (--blank)",
        method.shuffle,
    )


def choose_method(
    name: str | None, passes: str | None, blank: bool, *, whole_drive: bool = False
) -> Method:
    """The method the options name: ``--passes`` or ``--method``, then ``--blank``.

    ``whole_drive`` admits the drive's own sanitize operations (``drive wipe``).
    """
    if name and passes:
        raise UsageError(
            "--method and --passes both given", target="--passes", remedy="give one of them"
        )
    if passes is not None and not passes.strip():
        raise UsageError(
            "is empty", target="--passes", remedy="list the passes, e.g. --passes 00,ff,R"
        )
    if name is not None and not name.strip():
        raise UsageError("is empty", target="--method", remedy="see 'expunge methods'")
    lookup = get_drive_method if whole_drive else get_method
    method = parse_passes(passes) if passes else lookup(name or DEFAULT_METHOD)
    if blank and is_device_sanitize(method):
        raise UsageError(
            f"--blank does not apply to {method.name}: the drive erases itself",
            target="--blank",
            remedy="drop --blank",
        )
    if blank and is_crypto_erase(method):
        raise UsageError(
            f"--blank does not apply to {method.name}",
            target="--blank",
            remedy="use --then METHOD to overwrite the volume after the erase",
        )
    return with_blank(method) if blank else method


def _system_random() -> Random:
    # Imported only when a method shuffles or picks bytes: the default (one random pass)
    # does neither, so a one-file shred does not import random.
    from random import SystemRandom

    return SystemRandom()


def resolve(method: Method, rng: Random | None = None) -> tuple[PassPattern, ...]:
    """Concrete passes for one run: chosen bytes picked, fresh keys drawn, order shuffled.

    ``rng`` (for tests) replaces the system's random source for the shuffle and the picks.
    """
    chosen: dict[str, int] = {}
    tokens: list[str] = list(method.passes)
    if method.shuffle:
        rng = rng or _system_random()
        start, end = method.shuffle
        middle = tokens[start:end]
        rng.shuffle(middle)
        tokens[start:end] = middle
    passes: list[PassPattern] = []
    for token in tokens:
        if token == "R":
            passes.append(PassPattern.random())
            continue
        match = _CHOSEN.match(token)
        if match:
            rng = rng or _system_random()
            complement, name = match.groups()
            value = chosen.setdefault(name, rng.randrange(256))
            passes.append(PassPattern.fixed(bytes([value ^ 0xFF if complement else value])))
            continue
        passes.append(PassPattern.fixed(bytes.fromhex(token)))
    return tuple(passes)


def method_names() -> Sequence[str]:
    """Registered method names, in registry order."""
    return tuple(REGISTRY)
