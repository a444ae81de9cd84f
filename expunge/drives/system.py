"""Facts of the running system: what is mounted, what is swap, what is stacked on what, and
which disks hold ``/``, ``/boot`` and expunge's home, read from /proc and sysfs.

Stacking has two sources: sysfs ``holders``/``slaves`` links (device-mapper, md, LVM) and
loop devices, which keep no such link to a block device they are backed by (``losetup
/dev/loopB /dev/loopA``): their ``loop/backing_file`` names it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from expunge.core.blockdev import sysfs_holders
from expunge.drives.model import SystemFacts

MOUNTINFO = Path("/proc/self/mountinfo")
SWAPS = Path("/proc/swaps")
SYS = Path("/sys")
BOOT_PATHS = ("/boot", "/boot/efi")

_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo that matters here."""

    devnum: str
    mountpoint: str
    fstype: str
    source: str


@dataclass(frozen=True)
class Usage:
    """Mount points and swap areas by ``major:minor``, read once per listing."""

    mounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    swap_devnums: frozenset[str] = frozenset()
    loops: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sys_root: Path = SYS

    @classmethod
    def read(cls, mountinfo: Path, swaps: Path, sys_root: Path = SYS) -> Usage:
        """What uses which block device now.

        A swap file makes its filesystem busy, not its partition a swap area: only swap
        partitions and disks count here.
        """
        mounts = parse_mountinfo(_read_table(mountinfo))
        swap = {
            devnum
            for filename, kind in parse_swaps(_read_table(swaps))
            if kind != "file" and (devnum := _swap_devnum(filename, kind, mounts))
        }
        return cls(
            mounts=_mounts_by_devnum(mounts),
            swap_devnums=frozenset(swap),
            loops=loops_by_backing(sys_root),
            sys_root=sys_root,
        )

    def holders(self, block_dir: Path, devnum: str) -> tuple[str, ...]:
        """Every device stacked on the block device ``devnum`` (sysfs folder ``block_dir``),
        recursively: its sysfs holders and the loop devices it backs, then theirs."""
        found: list[str] = []
        pending = [(block_dir, devnum)]
        while pending:
            base, number = pending.pop(0)
            for name in (*sysfs_holders(base), *self.loops.get(number, ())):
                if name not in found:
                    found.append(name)
                    above = self.sys_root / "class" / "block" / name
                    pending.append((above, _read(above / "dev") or ""))
        return tuple(found)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _backing_devnum(backing: str, sys_root: Path) -> str | None:
    """``major:minor`` of a loop device's backing file when it is a block device."""
    try:
        st = os.stat(backing)
    except OSError:
        # A node outside this mount namespace: its kernel name may still be known.
        name = Path(backing).name if backing.startswith("/dev/") else ""
        return _read(sys_root / "class" / "block" / name / "dev") if name else None
    if not stat.S_ISBLK(st.st_mode):
        return None
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def loops_by_backing(sys_root: Path = SYS) -> dict[str, tuple[str, ...]]:
    """The loop devices backed by each block device, by its ``major:minor``."""
    found: dict[str, list[str]] = {}
    for loop in sorted((sys_root / "block").glob("loop*")):
        backing = _read(loop / "loop" / "backing_file")
        devnum = _backing_devnum(backing, sys_root) if backing else None
        if devnum:
            found.setdefault(devnum, []).append(loop.name)
    return {k: tuple(v) for k, v in found.items()}


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


def _read_table(table: Path) -> str:
    """A kernel table as text: a mount point or swap file may be any bytes, kept as
    surrogate escapes rather than failing the whole read."""
    return table.read_text(errors="surrogateescape")


def system_facts(
    home: Path,
    *,
    mountinfo: Path = MOUNTINFO,
    swaps: Path = SWAPS,
    sys_root: Path = SYS,
) -> SystemFacts:
    """What the running system uses: the disks under ``/``, ``/boot``, swap and ``home``."""
    mounts = parse_mountinfo(_read_table(mountinfo))
    return SystemFacts(
        root_disks=_disks_of_path(Path("/"), mounts, sys_root),
        boot_disks=_boot_disks(mounts, sys_root),
        swap_disks=_swap_disks(parse_swaps(_read_table(swaps)), mounts, sys_root),
        home_disks=_disks_of_path(_existing_ancestor(home), mounts, sys_root),
        mounted=frozenset(_mounts_by_devnum(mounts)),
    )


def _boot_disks(mounts: Iterable[Mount], sys_root: Path) -> frozenset[str]:
    """The disks under /boot and /boot/efi, where they are mount points of their own."""
    disks: set[str] = set()
    for where in BOOT_PATHS:
        if os.path.ismount(where):
            disks |= _disks_of_path(Path(where), mounts, sys_root)
    return frozenset(disks)


def _swap_disks(
    areas: Iterable[tuple[str, str]], mounts: Iterable[Mount], sys_root: Path
) -> frozenset[str]:
    """The disks under every active swap area, swap files included."""
    disks: set[str] = set()
    for filename, kind in areas:
        devnum = _swap_devnum(filename, kind, mounts)
        if devnum:
            disks |= _disks_under(devnum, sys_root)
    return frozenset(disks)


def _disks_of_path(path: Path, mounts: Iterable[Mount], sys_root: Path) -> frozenset[str]:
    devnum = _path_devnum(path, mounts)
    return _disks_under(devnum, sys_root) if devnum else frozenset()


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


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
    """The disk holding block device ``devnum`` and every disk it is stacked on: its
    slaves (device-mapper, md) and, for a loop device, the block device backing it."""
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
        backing = _read(node / "loop" / "backing_file")
        below = _backing_devnum(backing, sys_root) if backing else None
        if below and (sys_root / "dev" / "block" / below).exists():
            visit((sys_root / "dev" / "block" / below).resolve())

    link = sys_root / "dev" / "block" / devnum
    if link.exists():
        visit(link.resolve())
    return frozenset(names)
