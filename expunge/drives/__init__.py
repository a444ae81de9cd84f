"""Whole drives: discovery, identity, the safety interlocks, opening for a wipe, hot-plug.

The only module that imports pyudev. Discovery reads the kernel's view (sysfs) through
pyudev and works without a udev daemon: udev properties are used when a udev database
exists, sysfs attributes otherwise.

Safety model, in order of strength:

1. ``interlock_reasons`` is one pure function from drive facts and system facts to the
   reasons a drive must not be wiped. ``drive list`` shows them; ``open_for_wipe`` re-runs
   them on facts re-read after the device is open.
2. ``open_for_wipe`` opens the node with ``O_EXCL``: the kernel itself refuses while the
   disk or any partition is mounted, used as swap or held by device-mapper/md, and nobody
   can mount it while expunge holds it.
3. Through the open descriptor it re-reads size and diskseq and compares them, with the
   serial, to the identity the operator confirmed. A different medium behind the same node
   (a re-plugged stick, a re-attached loop image) is refused before a byte is written.

Virtual disks (loop, ram, zram, device-mapper, md) are treated like fixed disks: wiping
one needs ``allow_fixed``. ``include_virtual`` admits them without admitting physical
fixed disks; it exists so that station mode can be tested with loop devices.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyudev

from expunge.core.blockdev import (
    BLKGETDISKSEQ,
    BLKGETSIZE64,
    BLKPBSZGET,
    BLKSSZGET,
    ioctl_int,
    ioctl_u64,
    sysfs_holders,
)
from expunge.core.errors import RefusedError, TargetError

MOUNTINFO = Path("/proc/self/mountinfo")
SWAPS = Path("/proc/swaps")
SYS = Path("/sys")
BOOT_PATHS = ("/boot", "/boot/efi")

# Block-device ioctls from <linux/fs.h>: _IO(0x12, n) and _IOR(0x12, n, u64).

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Partition:
    """One partition of a disk, with what uses it."""

    node: str
    name: str
    devnum: str
    size: int
    mountpoints: tuple[str, ...] = ()
    holders: tuple[str, ...] = ()
    swap: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts."""
        data = asdict(self)
        data["mountpoints"] = list(self.mountpoints)
        data["holders"] = list(self.holders)
        return data


@dataclass(frozen=True)
class Drive:
    """A whole disk as the kernel sees it, with everything that uses it.

    ``removable`` is the kernel's removable-media flag; ``bus`` is one of usb, ata, scsi,
    nvme, mmc, virtio, virtual or unknown. Sizes are in bytes.
    """

    node: str
    name: str
    devnum: str
    size: int
    bus: str
    removable: bool
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    wwn: str | None = None
    logical_block_size: int = 512
    physical_block_size: int = 512
    rotational: bool = False
    read_only: bool = False
    diskseq: int | None = None
    partitions: tuple[Partition, ...] = ()
    holders: tuple[str, ...] = ()
    mountpoints: tuple[str, ...] = ()
    swap: bool = False

    @property
    def identity_token(self) -> str:
        """What the operator types to confirm this drive: its serial, else ``diskseq:N``.

        A kernel without diskseq (before 5.15) leaves a serial-less disk only its node and
        size, which is weaker; ``open_for_wipe`` still re-checks the size.
        """
        if self.serial:
            return self.serial
        if self.diskseq is not None:
            return f"diskseq:{self.diskseq}"
        return f"{self.node}:{self.size}"

    @property
    def virtual(self) -> bool:
        """Backed by a file, memory or other block devices rather than by hardware."""
        return self.bus == "virtual"

    @property
    def hotpluggable(self) -> bool:
        """Removable media or a USB disk: what a wiping station is meant to take.

        USB hard disks report ``removable == 0`` yet are unplugged like sticks.
        """
        return self.removable or self.bus == "usb"

    @property
    def all_mountpoints(self) -> tuple[str, ...]:
        """Mount points of the disk itself and of every partition."""
        points = list(self.mountpoints)
        for part in self.partitions:
            points.extend(part.mountpoints)
        return tuple(points)

    @property
    def all_holders(self) -> tuple[str, ...]:
        """Devices stacked on the disk or any partition (dm, LVM, md)."""
        held = list(self.holders)
        for part in self.partitions:
            held.extend(part.holders)
        return tuple(held)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts, with the identity token."""
        data = asdict(self)
        data["partitions"] = [p.to_dict() for p in self.partitions]
        data["holders"] = list(self.holders)
        data["mountpoints"] = list(self.mountpoints)
        data["identity_token"] = self.identity_token
        return data


@dataclass(frozen=True)
class Identity:
    """What the operator confirmed: compared with the device once it is open."""

    node: str
    token: str
    size: int
    diskseq: int | None
    serial: str | None

    @classmethod
    def from_drive(cls, drive: Drive) -> Identity:
        """The identity of ``drive`` as listed now."""
        return cls(
            node=drive.node,
            token=drive.identity_token,
            size=drive.size,
            diskseq=drive.diskseq,
            serial=drive.serial,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class SystemFacts:
    """What the running system uses, by kernel disk name (``sda``, ``vda``, ``loop3``).

    A path's disks include every layer under it: ``/`` on dm-crypt on LVM on ``sda2``
    gives ``{"dm-1", "dm-0", "sda"}``. ``mounted`` holds ``major:minor`` numbers of every
    mounted block device.
    """

    root_disks: frozenset[str] = frozenset()
    boot_disks: frozenset[str] = frozenset()
    swap_disks: frozenset[str] = frozenset()
    home_disks: frozenset[str] = frozenset()
    mounted: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready sets, sorted."""
        return {k: sorted(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Reason:
    """Why a drive must not be wiped: a stable code, one line, and what to do."""

    code: str
    text: str
    remedy: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready fields."""
        return asdict(self)


class DriveRefused(RefusedError):
    """An interlock refused a drive; ``reasons`` lists every rule that applied."""

    def __init__(self, node: str, reasons: tuple[Reason, ...]):
        text = "; ".join(r.text for r in reasons)
        super().__init__(f"refused: {text}", target=node, remedy=reasons[0].remedy)
        self.reasons = reasons


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo that matters here."""

    devnum: str
    mountpoint: str
    fstype: str
    source: str


@dataclass(frozen=True)
class WatchFilter:
    """Which newly appeared disks station mode takes.

    ``buses`` None means any physical bus; virtual disks pass only with ``include_virtual``.
    """

    buses: frozenset[str] | None = frozenset({"usb"})
    min_size: int = 1
    include_virtual: bool = False

    def accepts(self, drive: Drive) -> bool:
        """True when ``drive`` should be offered to the station."""
        if drive.size < max(self.min_size, 1):
            return False
        if drive.virtual:
            return self.include_virtual
        return self.buses is None or drive.bus in self.buses


def interlock_reasons(
    drive: Drive, system: SystemFacts, *, allow_fixed: bool, include_virtual: bool = False
) -> tuple[Reason, ...]:
    """Every reason ``drive`` must not be wiped; empty when it may be.

    Pure: decides from the facts given. Fixed disks need ``allow_fixed``; virtual disks
    need ``allow_fixed`` or ``include_virtual``.
    """
    reasons: list[Reason] = []
    name = drive.name
    if name in system.root_disks:
        reasons.append(
            Reason("system-root", "holds / (the running system)", "choose another drive")
        )
    if name in system.boot_disks:
        reasons.append(
            Reason("system-boot", "holds /boot (the system's boot files)", "choose another drive")
        )
    if drive.swap or any(p.swap for p in drive.partitions) or name in system.swap_disks:
        reasons.append(
            Reason("swap", "holds active swap", "run swapoff on it first, or choose another drive")
        )
    if name in system.home_disks:
        reasons.append(
            Reason(
                "expunge-home",
                "holds expunge's home (station key, ledger, certificates)",
                "choose another drive, or move the home with --home",
            )
        )
    devnums = {drive.devnum, *(p.devnum for p in drive.partitions)}
    if drive.all_mountpoints or devnums & system.mounted:
        where = ", ".join(drive.all_mountpoints) or "a mounted filesystem"
        reasons.append(
            Reason("mounted", f"mounted at {where}", "unmount every filesystem on it first")
        )
    if drive.all_holders:
        reasons.append(
            Reason(
                "holders",
                f"in use by {', '.join(drive.all_holders)} (device-mapper, LVM, dm-crypt or md)",
                "close those devices first (vgchange -an, cryptsetup close, mdadm --stop)",
            )
        )
    if drive.read_only:
        reasons.append(
            Reason("read-only", "is read-only", "release the write-protect switch or lock")
        )
    if drive.size == 0:
        reasons.append(Reason("no-medium", "has no medium (size 0)", "insert the medium"))
    if drive.virtual:
        if not (allow_fixed or include_virtual):
            reasons.append(
                Reason(
                    "virtual",
                    "is a virtual disk (loop, ram, device-mapper or md)",
                    "pass --allow-fixed if you mean to wipe it",
                )
            )
    elif not drive.hotpluggable and not allow_fixed:
        reasons.append(
            Reason(
                "fixed",
                "is a fixed (non-removable) disk",
                "pass --allow-fixed if you mean to wipe it",
            )
        )
    return tuple(reasons)


def confirm_token_matches(drive: Drive, typed: str) -> bool:
    """True when ``typed`` (an operator's entry or an ``--expect`` value) names ``drive``.

    Exact match after trimming surrounding whitespace: a serial is not case-folded, and
    an empty entry never matches.
    """
    entry = typed.strip()
    return bool(entry) and entry == drive.identity_token


def parse_mountinfo(text: str) -> tuple[Mount, ...]:
    """The mounts in a /proc/self/mountinfo text (mount points unescaped)."""
    mounts = []
    for line in text.splitlines():
        fields_ = line.split()
        if "-" not in fields_:
            continue
        sep = fields_.index("-")
        if sep < 5 or len(fields_) < sep + 3:
            continue
        mounts.append(
            Mount(
                devnum=fields_[2],
                mountpoint=_unescape(fields_[4]),
                fstype=fields_[sep + 1],
                source=_unescape(fields_[sep + 2]),
            )
        )
    return tuple(mounts)


def parse_swaps(text: str) -> tuple[tuple[str, str], ...]:
    """``(filename, type)`` of each active swap area in a /proc/swaps text."""
    areas = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            areas.append((_unescape(parts[0]), parts[1]))
    return tuple(areas)


def system_facts(
    home: Path,
    *,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
    sys_root: Path = SYS,
) -> SystemFacts:
    """What the running system uses: the disks under ``/``, ``/boot``, swap and ``home``."""
    mounts = parse_mountinfo(mountinfo.read_text())
    by_devnum = _mounts_by_devnum(mounts)

    def disks_of(path: Path) -> frozenset[str]:
        devnum = _path_devnum(path, mounts)
        return _disks_under(devnum, sys_root) if devnum else frozenset()

    boot: set[str] = set()
    for where in BOOT_PATHS:
        if os.path.ismount(where):
            boot |= disks_of(Path(where))
    swap: set[str] = set()
    for filename, kind in parse_swaps(swaps.read_text()):
        devnum = _swap_devnum(filename, kind, mounts)
        if devnum:
            swap |= _disks_under(devnum, sys_root)
    return SystemFacts(
        root_disks=disks_of(Path("/")),
        boot_disks=frozenset(boot),
        swap_disks=frozenset(swap),
        home_disks=disks_of(_existing_ancestor(home)),
        mounted=frozenset(by_devnum),
    )


def list_drives(
    *,
    include_all: bool = False,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
) -> tuple[Drive, ...]:
    """Whole disks: removable and USB ones, or every disk with ``include_all``.

    Virtual disks with nothing behind them (detached loop devices, unused zram) are never
    listed: there is nothing to wipe.
    """
    ctx = context if context is not None else pyudev.Context()
    usage = _Usage.read(mountinfo, swaps)
    drives = []
    for device in ctx.list_devices(subsystem="block", DEVTYPE="disk"):
        drive = _drive_from_device(device, usage)
        if drive.virtual and drive.size == 0:
            continue
        if include_all or drive.hotpluggable:
            drives.append(drive)
    return tuple(sorted(drives, key=lambda d: _natural_key(d.name)))


def find_drive(
    node: str | os.PathLike[str],
    *,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
) -> Drive:
    """The whole disk named by ``node`` (symlinks such as /dev/disk/by-id are followed)."""
    try:
        st = os.stat(node)
    except OSError as exc:
        raise TargetError(
            f"cannot find the device: {exc.strerror}",
            target=str(node),
            remedy="check the name with 'expunge drive list --all'",
        ) from exc
    if not stat.S_ISBLK(st.st_mode):
        raise TargetError(
            "is not a block device",
            target=str(node),
            remedy="name a whole disk such as /dev/sdb; use 'expunge shred' for files",
        )
    ctx = context if context is not None else pyudev.Context()
    device = _device_by_rdev(ctx, st.st_rdev, str(node))
    if device.device_type != "disk":
        parent = device.find_parent("block", "disk")
        whole = parent.device_node if parent is not None else "the whole disk"
        raise TargetError(
            f"is a partition of {whole}",
            target=str(node),
            remedy=f"name the whole disk ({whole}); expunge wipes whole drives",
        )
    return _drive_from_device(device, _Usage.read(mountinfo, swaps))


class OpenDevice:
    """A whole disk opened exclusively for writing, with its identity re-read from the fd.

    ``direct`` says whether the kernel accepted ``O_DIRECT``; writes through ``fd`` must
    then be aligned to ``logical_block_size``. Close it (or use ``with``) when done.
    """

    def __init__(
        self,
        *,
        fd: int,
        drive: Drive,
        size: int,
        logical_block_size: int,
        physical_block_size: int,
        diskseq: int | None,
        direct: bool,
    ):
        self.fd = fd
        self.drive = drive
        self.node = drive.node
        self.size = size
        self.logical_block_size = logical_block_size
        self.physical_block_size = physical_block_size
        self.diskseq = diskseq
        self.direct = direct
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close`` has run."""
        return self._closed

    def fileno(self) -> int:
        """The open descriptor."""
        return self.fd

    def close(self) -> None:
        """Release the descriptor (and with it the exclusive claim); safe to call twice."""
        if not self._closed:
            self._closed = True
            os.close(self.fd)

    def __enter__(self) -> OpenDevice:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_for_wipe(
    drive: Drive,
    confirmed: Identity,
    *,
    home: Path,
    allow_fixed: bool = False,
    include_virtual: bool = False,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
    sys_root: Path = SYS,
) -> OpenDevice:
    """Open ``drive`` exclusively for writing, after proving it is what was confirmed.

    Raises RefusedError (nothing written, descriptor closed) when the kernel refuses the
    exclusive open (mounted, swap, held), when size, diskseq, serial or token differ from
    ``confirmed``, or when an interlock applies to facts re-read after opening.
    """
    if drive.node != confirmed.node:
        raise RefusedError(
            f"was confirmed as {confirmed.node}",
            target=drive.node,
            remedy="confirm the drive you mean to wipe again",
        )
    fd, direct = _open_exclusive(drive.node)
    try:
        st = os.fstat(fd)
        if not stat.S_ISBLK(st.st_mode):
            raise TargetError("is not a block device", target=drive.node, remedy="name a disk")
        devnum = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
        size = ioctl_u64(fd, BLKGETSIZE64)
        diskseq = _fd_diskseq(fd, devnum, sys_root)
        logical = ioctl_int(fd, BLKSSZGET)
        physical = ioctl_int(fd, BLKPBSZGET)
        ctx = context if context is not None else pyudev.Context()
        fresh = _drive_from_device(
            _device_by_rdev(ctx, st.st_rdev, drive.node), _Usage.read(mountinfo, swaps)
        )
        changes = _identity_changes(confirmed, devnum, drive.devnum, size, diskseq, fresh)
        if changes:
            raise RefusedError(
                f"is not the drive that was confirmed ({'; '.join(changes)})",
                target=drive.node,
                remedy="the medium changed since confirmation: list drives and confirm again",
            )
        system = system_facts(home, mountinfo=mountinfo, swaps=swaps, sys_root=sys_root)
        reasons = interlock_reasons(
            fresh, system, allow_fixed=allow_fixed, include_virtual=include_virtual
        )
        if reasons:
            raise DriveRefused(drive.node, reasons)
    except BaseException:
        os.close(fd)
        raise
    return OpenDevice(
        fd=fd,
        drive=fresh,
        size=size,
        logical_block_size=logical,
        physical_block_size=physical,
        diskseq=diskseq,
        direct=direct,
    )


def watch_drives(
    *,
    filters: WatchFilter,
    stop: threading.Event,
    context: Any = None,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
) -> Iterator[Drive]:
    """Yield each disk that appears from now on and passes ``filters``, until ``stop``.

    Listens to the kernel's uevents (not udevd's, which minimal hosts lack); listening has
    begun when this call returns, before the first ``next()``. A disk is yielded once per
    medium (per diskseq): a USB stick when plugged in, a card when inserted into a reader,
    a loop device when a file is attached to it. Returns within a fraction of a second
    after ``stop`` is set.
    """
    ctx = context if context is not None else pyudev.Context()
    monitor = pyudev.Monitor.from_netlink(ctx, source="kernel")
    monitor.filter_by("block", device_type="disk")
    monitor.start()
    return _watch(monitor, filters, stop, mountinfo, swaps)


def _watch(
    monitor: Any, filters: WatchFilter, stop: threading.Event, mountinfo: Path, swaps: Path
) -> Iterator[Drive]:
    # Seen media, by disk name: forgotten when the disk goes away or loses its medium, so
    # that a re-plugged stick without diskseq is offered again.
    # The netlink socket closes when the generator, and with it the monitor, is released.
    seen: dict[str, str] = {}
    while not stop.is_set():
        device = monitor.poll(timeout=POLL_SECONDS)
        if device is None or device.subsystem != "block" or device.device_type != "disk":
            continue
        name = str(device.sys_name)
        if device.action == "remove":
            seen.pop(name, None)
            continue
        if device.action not in ("add", "change"):
            continue
        drive = _drive_from_device(device, _Usage.read(mountinfo, swaps))
        if drive.size == 0:
            seen.pop(name, None)
            continue
        medium = str(drive.diskseq) if drive.diskseq is not None else "present"
        if seen.get(name) == medium:
            continue
        seen[name] = medium
        if filters.accepts(drive):
            yield drive


# --- internals -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Usage:
    """Mounts and swap, read once per listing."""

    mounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    swap_devnums: frozenset[str] = frozenset()

    @classmethod
    def read(cls, mountinfo: Path, swaps: Path) -> _Usage:
        mounts = parse_mountinfo(mountinfo.read_text())
        swap = {
            devnum
            for filename, kind in parse_swaps(swaps.read_text())
            if kind != "file" and (devnum := _swap_devnum(filename, kind, mounts))
        }
        return cls(mounts=_mounts_by_devnum(mounts), swap_devnums=frozenset(swap))


_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def _natural_key(name: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _rdev_devnum(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def _mounts_by_devnum(mounts: Iterable[Mount]) -> dict[str, tuple[str, ...]]:
    # btrfs and some others report an anonymous 0:N device; their source names the disk.
    result: dict[str, list[str]] = {}
    for mount in mounts:
        devnum: str | None = mount.devnum
        if mount.devnum.startswith("0:"):
            devnum = _rdev_devnum(mount.source) if mount.source.startswith("/dev/") else None
        if devnum:
            result.setdefault(devnum, []).append(mount.mountpoint)
    return {k: tuple(v) for k, v in result.items()}


def _path_devnum(path: Path, mounts: Iterable[Mount]) -> str | None:
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return None
    devnum = f"{os.major(dev)}:{os.minor(dev)}"
    if os.major(dev) != 0:
        return devnum
    for mount in mounts:
        if mount.devnum == devnum and mount.source.startswith("/dev/"):
            return _rdev_devnum(mount.source)
    return None


def _swap_devnum(filename: str, kind: str, mounts: Iterable[Mount]) -> str | None:
    if kind == "file":
        return _path_devnum(Path(filename), mounts)
    return _rdev_devnum(filename)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _disks_under(devnum: str, sys_root: Path) -> frozenset[str]:
    """The disk holding block device ``devnum`` and every disk it is stacked on."""
    names: set[str] = set()

    def visit(node: Path) -> None:
        if (node / "partition").exists():
            node = node.parent
        if node.name in names:
            return
        names.add(node.name)
        slaves = node / "slaves"
        if slaves.is_dir():
            for slave in slaves.iterdir():
                visit(slave.resolve())

    link = sys_root / "dev" / "block" / devnum
    if link.exists():
        visit(link.resolve())
    return frozenset(names)


def _read(base: Path, rel: str) -> str | None:
    try:
        raw = (base / rel).read_bytes()
    except OSError:
        return None
    text = raw.decode("utf-8", "replace").strip("\x00 \t\r\n")
    return text or None


def _vpd_serial(base: Path) -> str | None:
    # SCSI VPD page 0x80: 4-byte header, then the unit serial number in ASCII.
    try:
        raw = (base / "device" / "vpd_pg80").read_bytes()
    except OSError:
        return None
    if len(raw) < 4:
        return None
    length = int.from_bytes(raw[2:4], "big")
    text = raw[4 : 4 + length].decode("ascii", "replace").strip("\x00 ")
    return text or None


def _first(*values: str | None) -> str | None:
    for value in values:
        if value:
            return value
    return None


def _not_numeric_id(value: str | None) -> str | None:
    # virtio and PCI expose vendor IDs such as 0x1af4: not a name an operator recognizes.
    return None if value is None or value.startswith("0x") else value


def _bus(device: Any) -> str:
    # loop, ram, zram, device-mapper, md and nbd disks all live under /devices/virtual.
    if "/devices/virtual/" in str(device.sys_path):
        return "virtual"
    if device.find_parent("usb") is not None:
        return "usb"
    for subsystem in ("nvme", "mmc", "virtio"):
        if device.find_parent(subsystem) is not None:
            return subsystem
    if device.find_parent("scsi") is not None:
        return "ata" if re.search(r"/ata\d+/", str(device.sys_path)) else "scsi"
    return str(device.properties.get("ID_BUS") or "unknown")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _drive_from_device(device: Any, usage: _Usage) -> Drive:
    base = Path(device.sys_path)
    props = device.properties
    devnum = _read(base, "dev") or f"{props.get('MAJOR')}:{props.get('MINOR')}"
    usb = device.find_parent("usb", "usb_device")
    usb_base = Path(usb.sys_path) if usb is not None else None

    def usb_attr(name: str) -> str | None:
        return _read(usb_base, name) if usb_base is not None else None

    partitions = []
    for child in device.children:
        if child.subsystem != "block" or child.device_type != "partition":
            continue
        cbase = Path(child.sys_path)
        cdev = _read(cbase, "dev") or ""
        partitions.append(
            (
                _int(_read(cbase, "partition"), 0),
                Partition(
                    node=str(child.device_node or f"/dev/{child.sys_name}"),
                    name=str(child.sys_name),
                    devnum=cdev,
                    size=_int(_read(cbase, "size"), 0) * 512,
                    mountpoints=usage.mounts.get(cdev, ()),
                    holders=sysfs_holders(cbase),
                    swap=cdev in usage.swap_devnums,
                ),
            )
        )
    partitions.sort(key=lambda item: item[0])
    diskseq = props.get("DISKSEQ") or _read(base, "diskseq")
    return Drive(
        node=str(device.device_node or f"/dev/{device.sys_name}"),
        name=str(device.sys_name),
        devnum=devnum,
        size=_int(_read(base, "size"), 0) * 512,
        bus=_bus(device),
        removable=_read(base, "removable") == "1",
        vendor=_first(
            props.get("ID_VENDOR"),
            _not_numeric_id(_read(base, "device/vendor")),
            usb_attr("manufacturer"),
        ),
        model=_first(props.get("ID_MODEL"), _read(base, "device/model"), usb_attr("product")),
        serial=_first(
            props.get("ID_SERIAL_SHORT"),
            props.get("ID_SERIAL"),
            _read(base, "device/serial"),
            _vpd_serial(base),
            _read(base, "serial"),
            usb_attr("serial"),
        ),
        wwn=_first(
            props.get("ID_WWN_WITH_EXTENSION"),
            props.get("ID_WWN"),
            _read(base, "wwid"),
            _read(base, "device/wwid"),
        ),
        logical_block_size=_int(_read(base, "queue/logical_block_size"), 512),
        physical_block_size=_int(_read(base, "queue/physical_block_size"), 512),
        rotational=_read(base, "queue/rotational") == "1",
        read_only=_read(base, "ro") == "1",
        diskseq=_int(diskseq, 0) if diskseq else None,
        partitions=tuple(p for _, p in partitions),
        holders=sysfs_holders(base),
        mountpoints=usage.mounts.get(devnum, ()),
        swap=devnum in usage.swap_devnums,
    )


def _device_by_rdev(context: Any, rdev: int, node: str) -> Any:
    try:
        return pyudev.Devices.from_device_number(context, "block", rdev)
    except pyudev.DeviceNotFoundError as exc:
        raise TargetError(
            "the kernel does not list this device",
            target=node,
            remedy="check the name with 'expunge drive list --all'",
        ) from exc


def _open_exclusive(node: str) -> tuple[int, bool]:
    flags = os.O_RDWR | os.O_EXCL | os.O_CLOEXEC
    try:
        try:
            return os.open(node, flags | os.O_DIRECT), True
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            return os.open(node, flags), False
    except OSError as exc:
        raise _open_error(node, exc) from exc


def _open_error(node: str, exc: OSError) -> RefusedError | TargetError:
    if exc.errno == errno.EBUSY:
        return RefusedError(
            "in use: the kernel refused exclusive access (mounted, swap, held by "
            "device-mapper/LVM/md, or opened by another wipe)",
            target=node,
            remedy="unmount its filesystems, swapoff, close its holders, then retry",
        )
    if exc.errno == errno.EROFS:
        return RefusedError(
            "is read-only", target=node, remedy="release the write-protect switch or lock"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return TargetError(
            "permission denied opening the device for writing",
            target=node,
            remedy="run as root or as a member of the disk group",
        )
    if exc.errno in (errno.ENOENT, errno.ENXIO, errno.ENODEV, errno.ENOMEDIUM):
        return TargetError(
            f"device or medium is gone ({exc.strerror})",
            target=node,
            remedy="reconnect the drive, list drives and confirm again",
        )
    return TargetError(
        f"cannot open the device: {exc.strerror}", target=node, remedy="check the device"
    )


def _fd_diskseq(fd: int, devnum: str, sys_root: Path) -> int | None:
    try:
        return ioctl_u64(fd, BLKGETDISKSEQ)
    except OSError as exc:
        if exc.errno not in (errno.ENOTTY, errno.EINVAL):
            raise
    value = _read(sys_root / "dev" / "block" / devnum, "diskseq")
    return int(value) if value and value.isdigit() else None


def _identity_changes(
    confirmed: Identity,
    devnum: str,
    listed_devnum: str,
    size: int,
    diskseq: int | None,
    fresh: Drive,
) -> list[str]:
    changes = []
    if devnum != listed_devnum:
        changes.append(f"device number {listed_devnum} -> {devnum}")
    if size != confirmed.size:
        changes.append(f"size {confirmed.size} -> {size} bytes")
    if diskseq != confirmed.diskseq:
        changes.append(f"diskseq {confirmed.diskseq} -> {diskseq}")
    if fresh.serial != confirmed.serial:
        changes.append(f"serial {confirmed.serial} -> {fresh.serial}")
    if not changes and fresh.identity_token != confirmed.token:
        changes.append(f"identity token {confirmed.token} -> {fresh.identity_token}")
    return changes
