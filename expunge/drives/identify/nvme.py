"""NVMe Identify Controller / Namespace data and the Sanitize Status and SMART / Health
log pages, read into frozen facts (NVM Express Base Specification 2.0, little-endian)."""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from expunge.core.errors import TargetError

IDENTIFY_BYTES = 4096
LOG_PAGE_BYTES = 512


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise TargetError(f"{what} is {len(data)} bytes, expected at least {size}")


def _text(data: bytes, start: int, end: int) -> str:
    return data[start:end].decode("ascii", "replace").strip(" \x00")


def _le(data: bytes, start: int, size: int) -> int:
    return int.from_bytes(data[start : start + size], "little")


@dataclass(frozen=True)
class SanitizeCapabilities:
    """SANICAP (bytes 328-331): which Sanitize actions the controller supports."""

    crypto_erase: bool
    block_erase: bool
    overwrite: bool
    no_deallocate_inhibited: bool

    @property
    def any(self) -> bool:
        """Whether the Sanitize command is supported at all."""
        return self.crypto_erase or self.block_erase or self.overwrite

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class NvmeController:
    """What an NVMe controller says of itself (Identify, CNS 01h).

    ``format_all_namespaces`` and ``secure_erase_all_namespaces`` (FNA bits 0-1) mean a
    Format NVM, or its secure erase, acts on every namespace of the controller, not only
    the one named; ``format_crypto_erase`` (FNA bit 2) that Format NVM can crypto-erase.
    ``namespaces`` is NN, the most namespaces the controller can hold.
    """

    vendor_id: int
    serial: str
    model: str
    firmware: str
    version: str
    format_nvm: bool
    namespace_management: bool
    sanitize: SanitizeCapabilities
    format_all_namespaces: bool
    secure_erase_all_namespaces: bool
    format_crypto_erase: bool
    namespaces: int
    total_capacity: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def parse_controller(data: bytes) -> NvmeController:
    """Read the 4096-byte Identify Controller data structure (Base 2.0 Figure 275)."""
    _need(data, IDENTIFY_BYTES, "NVMe Identify Controller data")
    oacs = _le(data, 256, 2)
    sanicap = _le(data, 328, 4)
    fna = data[524]
    ver = _le(data, 80, 4)
    return NvmeController(
        vendor_id=_le(data, 0, 2),
        serial=_text(data, 4, 24),
        model=_text(data, 24, 64),
        firmware=_text(data, 64, 72),
        version=f"{ver >> 16}.{ver >> 8 & 0xFF}.{ver & 0xFF}",
        format_nvm=bool(oacs & 0x2),
        namespace_management=bool(oacs & 0x8),
        sanitize=SanitizeCapabilities(
            crypto_erase=bool(sanicap & 0x1),
            block_erase=bool(sanicap & 0x2),
            overwrite=bool(sanicap & 0x4),
            no_deallocate_inhibited=bool(sanicap >> 29 & 1),
        ),
        format_all_namespaces=bool(fna & 0x1),
        secure_erase_all_namespaces=bool(fna & 0x2),
        format_crypto_erase=bool(fna & 0x4),
        namespaces=_le(data, 516, 4),
        total_capacity=_le(data, 280, 16),
    )


@dataclass(frozen=True)
class LbaFormat:
    """One LBA format of a namespace: data size ``2**lbads`` and metadata bytes."""

    metadata_size: int
    lbads: int
    relative_performance: int

    @property
    def block_size(self) -> int:
        """Bytes per logical block."""
        return 1 << self.lbads


@dataclass(frozen=True)
class NvmeNamespace:
    """What a namespace says of itself (Identify, CNS 00h).

    ``format_index`` is the LBA format in use (FLBAS); ``deallocated_reads`` what a
    deallocated block reads as (DLFEAT bits 2:0): ``zeros``, ``ones`` or ``unknown``,
    which is what a block erase may leave behind.
    """

    size_blocks: int
    capacity_blocks: int
    used_blocks: int
    formats: tuple[LbaFormat, ...]
    format_index: int
    deallocated_reads: str

    @property
    def block_size(self) -> int:
        """Bytes per logical block in the current format."""
        return self.formats[self.format_index].block_size

    @property
    def size_bytes(self) -> int:
        """The namespace's size in bytes."""
        return self.size_blocks * self.block_size

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "size_blocks": self.size_blocks,
            "capacity_blocks": self.capacity_blocks,
            "used_blocks": self.used_blocks,
            "block_size": self.block_size,
            "format_index": self.format_index,
            "deallocated_reads": self.deallocated_reads,
        }


def parse_namespace(data: bytes) -> NvmeNamespace:
    """Read the 4096-byte Identify Namespace data structure (NVM Command Set 1.0)."""
    _need(data, IDENTIFY_BYTES, "NVMe Identify Namespace data")
    count = data[25] + 1
    formats = tuple(
        LbaFormat(_le(data, 128 + 4 * i, 2), data[130 + 4 * i], data[131 + 4 * i] & 0x3)
        for i in range(count)
    )
    flbas = data[26]
    index = (flbas & 0x0F) | (flbas >> 5 & 0x3) << 4
    if index >= count or not 9 <= formats[index].lbads <= 16:
        raise TargetError(f"NVMe namespace data names LBA format {index}, which is not valid")
    reads = {1: "zeros", 2: "ones"}.get(data[33] & 0x7, "unknown")
    return NvmeNamespace(
        size_blocks=_le(data, 0, 8),
        capacity_blocks=_le(data, 8, 8),
        used_blocks=_le(data, 16, 8),
        formats=formats,
        format_index=index,
        deallocated_reads=reads,
    )


def parse_active_namespaces(data: bytes) -> tuple[int, ...]:
    """The Active Namespace ID list (Identify, CNS 02h): ascending IDs, zero-terminated."""
    _need(data, IDENTIFY_BYTES, "NVMe active namespace list")
    ids = []
    for (nsid,) in struct.iter_unpack("<I", data[:IDENTIFY_BYTES]):
        if nsid == 0:
            break
        ids.append(nsid)
    return tuple(ids)


class SanitizeState(IntEnum):
    """SSTAT bits 2:0: how the most recent sanitize ended, or that one is running."""

    NEVER = 0
    SUCCEEDED = 1
    IN_PROGRESS = 2
    FAILED = 3
    SUCCEEDED_NO_DEALLOCATE = 4


@dataclass(frozen=True)
class SanitizeStatus:
    """The Sanitize Status log page (Log Identifier 81h).

    ``progress`` is SPROG as a fraction (0..1) of the operation in progress;
    ``global_data_erased`` says no user data has been written since the last sanitize
    (or since manufacture); ``action`` is the SANACT of the last Sanitize command.
    Estimated times are seconds, None when the controller does not report them.
    """

    progress: float
    state: SanitizeState
    overwrite_passes_done: int
    global_data_erased: bool
    action: int
    estimated_seconds: dict[str, int | None]

    @property
    def running(self) -> bool:
        """A sanitize operation is in progress."""
        return self.state is SanitizeState.IN_PROGRESS

    @property
    def succeeded(self) -> bool:
        """The most recent sanitize completed successfully."""
        return self.state in (SanitizeState.SUCCEEDED, SanitizeState.SUCCEEDED_NO_DEALLOCATE)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**asdict(self), "state": self.state.name.lower()}


def parse_sanitize_log(data: bytes) -> SanitizeStatus:
    """Read the Sanitize Status log page (Base 2.0 Figure 287)."""
    _need(data, 32, "NVMe Sanitize Status log page")
    sstat = _le(data, 2, 2)
    try:
        state = SanitizeState(sstat & 0x7)
    except ValueError:
        raise TargetError(f"NVMe sanitize status {sstat & 0x7} is not defined") from None
    names = ("overwrite", "block_erase", "crypto_erase")
    times = {
        name: None if (value := _le(data, 8 + 4 * i, 4)) == 0xFFFFFFFF else value
        for i, name in enumerate(names)
    }
    return SanitizeStatus(
        progress=_le(data, 0, 2) / 65536 if state is SanitizeState.IN_PROGRESS else 1.0,
        state=state,
        overwrite_passes_done=sstat >> 3 & 0x1F,
        global_data_erased=bool(sstat >> 8 & 1),
        action=_le(data, 4, 4) & 0x7,
        estimated_seconds=times,
    )


@dataclass(frozen=True)
class NvmeSmartLog:
    """The SMART / Health Information log page (Log Identifier 02h)."""

    critical_warning: int
    temperature_kelvin: int
    available_spare: int
    available_spare_threshold: int
    percentage_used: int
    data_units_written: int
    power_cycles: int
    power_on_hours: int
    unsafe_shutdowns: int
    media_errors: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def parse_smart_log(data: bytes) -> NvmeSmartLog:
    """Read the SMART / Health Information log page (Base 2.0 Figure 207)."""
    _need(data, LOG_PAGE_BYTES, "NVMe SMART / Health log page")
    return NvmeSmartLog(
        critical_warning=data[0],
        temperature_kelvin=_le(data, 1, 2),
        available_spare=data[3],
        available_spare_threshold=data[4],
        percentage_used=data[5],
        data_units_written=_le(data, 48, 16),
        power_cycles=_le(data, 112, 16),
        power_on_hours=_le(data, 128, 16),
        unsafe_shutdowns=_le(data, 144, 16),
        media_errors=_le(data, 160, 16),
    )
