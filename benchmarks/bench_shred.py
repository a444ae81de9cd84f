"""Overwrite benchmark: ``expunge shred`` against GNU ``shred`` and ``dd`` on one random file.

Usage::

    python benchmarks/bench_shred.py [--size 1G] [--repeat 3] [--dir DIR] [--json] [--no-scale]

One run, one target file of random data (not zeros: the virtual disk stores zeros faster).
Every repetition runs all six cases, in reversed order on odd repetitions so that drift
(other load, the host's cache warming up) falls on both sides of each comparison:

* ``expunge shred --keep -m clear --verify none FILE``   vs  ``shred -n1 FILE``
* ``expunge shred --keep -m dod-3 --verify none FILE``   vs  ``shred -n3 FILE``
* ``dd if=SOURCE of=FILE bs=4M conv=fdatasync,notrunc``  (the practical limit of one pass)
* ``dd if=SOURCE of=FILE bs=4M oflag=direct conv=fdatasync,notrunc``  (for information: the
  same copy without the page cache, whose allocation costs dominate buffered dd on some VMs)

The file is never refilled: what it holds does not change the cost of overwriting it.
Before every timed run: ``sync`` and ``echo 3 > /proc/sys/vm/drop_caches`` (tolerated if it
fails), so that no run inherits another's dirty or cached pages; then dd's random source is
read back into the page cache, so dd measures writing, not reading the same disk.

Each child is timed (wall clock) and reaped with ``os.wait4``, whose rusage gives that
child's own peak RSS (``ru_maxrss``, KiB) and CPU time. Medians are reported. With the
scale check (default), expunge also runs once on a 1 MiB file and on a file of twice
``--size``, to show that its peak RSS does not grow with the file.

Files are created only in a fresh ``expunge-bench-*`` folder under ``--dir`` (default
``/var/tmp``; tmpfs is refused because it measures RAM) and removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MIB = 1 << 20
GIB = 1 << 30
# Small on purpose: a child's ru_maxrss can never read below this process's own peak RSS
# (see run_child), so this process keeps its memory low.
FILL_CHUNK = 1 * MIB

TARGET_RATIO_SHRED = 0.85  # expunge / shred, equal pass counts
TARGET_RATIO_DD = 1.10  # expunge one pass / dd one pass
TARGET_RSS_MIB = 64.0  # expunge peak RSS, whatever the file size
# RSS may differ by a few MiB between runs (allocator, imports); more than this between a
# small and a large file means something scales with the file.
RSS_GROWTH_SLACK_MIB = 4.0


# ---------------------------------------------------------------- small helpers


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``512K``, ``1GiB`` or plain bytes -> bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1G, 256M)")
    number, unit = int(match.group(1)), match.group(2).upper()
    size = number << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]
    if size < MIB or size % MIB:
        raise argparse.ArgumentTypeError("size must be a whole number of MiB, at least 1M")
    return size


def human(size: int) -> str:
    """Bytes as ``1 GiB`` / ``256 MiB``."""
    if size % GIB == 0:
        return f"{size // GIB} GiB"
    return f"{size / MIB:g} MiB"


def fs_type(path: Path) -> str:
    """The filesystem type of the mount holding ``path`` (longest mount-point match)."""
    best, kind = "", "unknown"
    real = os.path.realpath(path)
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, parts[2]
    return kind


def drop_caches() -> bool:
    """``sync`` then drop the page cache; False when not permitted (not root, container)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        return False
    return True


def fill_random(path: Path, size: int) -> None:
    """Write ``size`` bytes of random data to ``path`` and make them durable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        offset = 0
        while offset < size:
            chunk = os.urandom(min(FILL_CHUNK, size - offset))
            offset += os.pwrite(fd, chunk, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_into_cache(path: Path) -> None:
    """Read a file once so that it sits in the page cache."""
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(FILL_CHUNK)
        while f.readinto(buf):
            pass


@dataclass
class Run:
    """One timed child: wall seconds, CPU seconds, peak RSS in KiB, exit status."""

    seconds: float
    cpu_seconds: float
    max_rss_kib: int
    returncode: int


def run_child(argv: list[str], env: dict[str, str], log: Path) -> Run:
    """Run ``argv``; time it and take its own rusage from ``os.wait4``.

    Caveat measured on Linux: the child is started with vfork (CPython's default), and at
    ``exec`` the kernel folds the peak RSS of the address space being left, ours, into the
    child's ``ru_maxrss``. A child's figure is therefore ``max(its real peak, our peak)``:
    exact above our own peak, only an upper bound at it (see ``rss_floor_kib``).
    """
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        returncode=proc.returncode,
    )


def rss_floor_kib(env: dict[str, str], log: Path) -> int:
    """The smallest ``ru_maxrss`` a child can show here: that of ``true``."""
    return run_child([shutil.which("true") or "true"], env, log).max_rss_kib


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------- the benchmark


@dataclass
class Case:
    """One tool invocation, run once per repetition."""

    key: str
    label: str
    argv: list[str]
    passes: int
    warm_source: bool = False
    runs: list[Run] = field(default_factory=list)

    @property
    def median_seconds(self) -> float:
        return median([r.seconds for r in self.runs])

    @property
    def median_cpu(self) -> float:
        return median([r.cpu_seconds for r in self.runs])

    @property
    def peak_rss_mib(self) -> float:
        return max((r.max_rss_kib for r in self.runs), default=0) / 1024


def expunge_argv() -> list[str]:
    return [sys.executable, "-m", "expunge"]


def verify_flag(env: dict[str, str]) -> list[str]:
    """``--verify none`` while ``expunge shred`` has the option; nothing once it is gone."""
    help_text = subprocess.run(
        [*expunge_argv(), "shred", "--help"], capture_output=True, text=True, env=env, check=False
    ).stdout
    return ["--verify", "none"] if "--verify" in help_text else []


def make_cases(target: Path, source: Path, env: dict[str, str]) -> list[Case]:
    ex = [*expunge_argv(), "shred", "--keep"]
    off = verify_flag(env)
    shred = shutil.which("shred") or "shred"
    dd = shutil.which("dd") or "dd"
    t = str(target)
    dd_argv = [dd, f"if={source}", f"of={t}", "bs=4M", "status=none"]
    direct = ["oflag=direct", "conv=fdatasync,notrunc"]
    return [
        Case("expunge-clear", "expunge -m clear", [*ex, "-m", "clear", *off, t], 1),
        Case("shred-n1", "shred -n1", [shred, "-n1", t], 1),
        Case("dd", "dd bs=4M fdatasync", [*dd_argv, "conv=fdatasync,notrunc"], 1, True),
        # Not a target: the same copy without the page cache. On VMs where fresh page-cache
        # pages are expensive (free page reporting), buffered dd is slowed by allocation,
        # not by the disk; this row shows the disk's own pace.
        Case("dd-direct", "dd oflag=direct", [*dd_argv, *direct], 1, True),
        Case("expunge-dod3", "expunge -m dod-3", [*ex, "-m", "dod-3", *off, t], 3),
        Case("shred-n3", "shred -n3", [shred, "-n3", t], 3),
    ]


def timed(case: Case, env: dict[str, str], work: Path, source: Path, state: dict[str, bool]) -> Run:
    """Sync, drop caches, warm dd's source if needed, then run ``case`` once."""
    state["drop_caches"] = drop_caches() and state["drop_caches"]
    if case.warm_source:
        read_into_cache(source)
    run = run_child(case.argv, env, work / "child.log")
    if run.returncode != 0:
        output = (work / "child.log").read_text(errors="replace").strip()
        raise SystemExit(f"{case.label} failed with exit code {run.returncode}:\n{output}")
    return run


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    parent = Path(args.dir)
    kind = fs_type(parent)
    if kind in {"tmpfs", "ramfs"}:
        raise SystemExit(f"{parent} is {kind}: it would measure RAM, not a disk; use --dir")
    size: int = args.size
    need = size * (3 if args.scale else 2) + 64 * MIB
    free = shutil.disk_usage(parent).free
    if free < need:
        raise SystemExit(f"{parent}: {human(free)} free, the benchmark needs {human(need)}")

    work = Path(tempfile.mkdtemp(prefix="expunge-bench-", dir=parent))
    env = dict(os.environ, EXPUNGE_HOME=str(work / "home"))
    state = {"drop_caches": True}
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    scale: list[dict[str, Any]] = []
    try:
        target, source = work / "target.bin", work / "random-source.bin"
        say(f"# filling {human(size)} target and dd source with random data in {work} ({kind})")
        fill_random(target, size)
        fill_random(source, size)
        cases = make_cases(target, source, env)
        load_start = os.getloadavg()[0]
        started = time.perf_counter()
        for rep in range(args.repeat):
            order = cases if rep % 2 == 0 else cases[::-1]
            for case in order:
                run = timed(case, env, work, source, state)
                case.runs.append(run)
                say(f"# rep {rep + 1}/{args.repeat} {case.label:<20} {run.seconds:7.2f} s")
        if args.scale:
            source.unlink()
            clear = cases[0]
            for scale_size in (MIB, size, 2 * size):
                if scale_size == size:
                    rss = clear.peak_rss_mib
                    scale.append({"size": size, "seconds": clear.median_seconds, "rss_mib": rss})
                    continue
                path = work / f"scale-{scale_size}.bin"
                fill_random(path, scale_size)
                argv = [*clear.argv[:-1], str(path)]
                once = timed(Case("scale", "expunge -m clear", argv, 1), env, work, source, state)
                path.unlink()
                rss = once.max_rss_kib / 1024
                scale.append({"size": scale_size, "seconds": once.seconds, "rss_mib": rss})
                say(f"# scale {human(scale_size):>8}  {once.seconds:7.2f} s  {rss:6.1f} MiB RSS")
        elapsed = time.perf_counter() - started
        floor = rss_floor_kib(env, work / "child.log") / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)

    measured = {"elapsed": elapsed, "rss_floor": floor, "load_start": load_start}
    return summarize(args, cases, scale, kind, state["drop_caches"], measured)


def summarize(
    args: argparse.Namespace,
    cases: list[Case],
    scale: list[dict[str, Any]],
    kind: str,
    dropped: bool,
    measured: dict[str, float],
) -> dict[str, Any]:
    by = {c.key: c for c in cases}
    clear, dod3 = by["expunge-clear"], by["expunge-dod3"]
    rss = max([clear.peak_rss_mib, dod3.peak_rss_mib, *(float(s["rss_mib"]) for s in scale)])
    targets = [
        _target(
            "expunge clear / shred -n1 (time)",
            clear.median_seconds / by["shred-n1"].median_seconds,
            TARGET_RATIO_SHRED,
        ),
        _target(
            "expunge dod-3 / shred -n3 (time)",
            dod3.median_seconds / by["shred-n3"].median_seconds,
            TARGET_RATIO_SHRED,
        ),
        _target(
            "expunge clear / dd (time)",
            clear.median_seconds / by["dd"].median_seconds,
            TARGET_RATIO_DD,
        ),
        _target(
            "expunge clear / dd oflag=direct",
            clear.median_seconds / by["dd-direct"].median_seconds,
            None,
        ),
        _target("expunge peak RSS", rss, TARGET_RSS_MIB, "MiB"),
    ]
    if scale:
        # From --size to twice --size: both use the full write buffer, so any growth here
        # is memory that scales with the file.
        growth = float(scale[-1]["rss_mib"]) - float(scale[-2]["rss_mib"])
        label = f"RSS growth {human(args.size)} -> {human(2 * args.size)}"
        targets.append(_target(label, growth, RSS_GROWTH_SLACK_MIB, "MiB"))
    return {
        "size": args.size,
        "repeat": args.repeat,
        "filesystem": kind,
        "drop_caches": dropped,
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "loadavg_start": measured["load_start"],
        "loadavg_end": os.getloadavg()[0],
        "elapsed_seconds": measured["elapsed"],
        "rss_floor_mib": measured["rss_floor"],
        "cases": [
            {
                "key": c.key,
                "label": c.label,
                "argv": c.argv,
                "passes": c.passes,
                "median_seconds": c.median_seconds,
                "median_cpu_seconds": c.median_cpu,
                "mb_per_s": c.passes * args.size / c.median_seconds / 1e6,
                "peak_rss_mib": c.peak_rss_mib,
                "runs": [asdict(r) for r in c.runs],
            }
            for c in cases
        ],
        "scale": scale,
        "targets": targets,
    }


def _target(name: str, value: float, limit: float | None, unit: str = "ratio") -> dict[str, Any]:
    """A figure with its limit; ``limit=None`` is shown for information, never fails."""
    verdict = None if limit is None else value <= limit
    return {"name": name, "value": value, "limit": limit, "unit": unit, "pass": verdict}


def _rss(mib: float, floor: float) -> str:
    """A child's peak RSS; at the floor it is only an upper bound (see run_child)."""
    return f"<={mib:.1f}" if mib <= floor + 0.05 else f"{mib:.1f}"


def print_table(result: dict[str, Any]) -> None:
    floor = result["rss_floor_mib"]
    print(
        f"\nexpunge overwrite benchmark: {human(result['size'])} random file on "
        f"{result['filesystem']}, {result['repeat']} repetitions, "
        f"drop_caches={'yes' if result['drop_caches'] else 'NO'}, {result['cpus']} CPUs, "
        f"kernel {result['kernel']}, load {result['loadavg_start']:.2f} -> "
        f"{result['loadavg_end']:.2f}"
    )
    head = f"{'case':<20} {'passes':>6} {'runs (s)':<20} {'median s':>9} {'MB/s':>7}"
    print(f"\n{head} {'CPU s':>6} {'peak RSS MiB':>13}")
    for c in result["cases"]:
        runs = " ".join(f"{r['seconds']:.2f}" for r in c["runs"])
        print(
            f"{c['label']:<20} {c['passes']:>6} {runs:<20} {c['median_seconds']:>9.2f} "
            f"{c['mb_per_s']:>7.0f} {c['median_cpu_seconds']:>6.2f} "
            f"{_rss(c['peak_rss_mib'], floor):>13}"
        )
    print(f"(RSS below {floor:.1f} MiB, this script's own peak, cannot be seen: shown as <=)")
    if result["scale"]:
        print("\nexpunge -m clear by file size (1 MiB: start-up and imports only):")
        for s in result["scale"]:
            print(f"  {human(s['size']):>8}  {s['seconds']:7.2f} s  {s['rss_mib']:6.1f} MiB")
    print(f"\n{'target':<36} {'value':>9} {'limit':>9}  result")
    for t in result["targets"]:
        unit = "" if t["unit"] == "ratio" else f" {t['unit']}"
        value = f"{t['value']:.2f}{unit}"
        if t["limit"] is None:
            print(f"{t['name']:<36} {value:>9} {'-':>9}  info")
            continue
        limit = f"{t['limit']:.2f}{unit}"
        print(f"{t['name']:<36} {value:>9} {limit:>9}  {'PASS' if t['pass'] else 'FAIL'}")
    print(f"\nwall time of the measured part: {result['elapsed_seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=GIB, help="file size (default 1G)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--dir", default="/var/tmp", help="parent of the scratch folder (default /var/tmp)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--no-scale", dest="scale", action="store_false", help="skip the 1 MiB and 2x size runs"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    result = benchmark(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    # Exit 1 when a target fails, so the script can gate a CI job.
    return 0 if all(t["pass"] is not False for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
