"""Overwrite benchmark: ``expunge shred`` against GNU ``shred``, ``dd`` and ``srm`` on one
random file, side by side in one run.

Usage::

    python benchmarks/bench_shred.py [--size 512M] [--repeat 5] [--dir DIR] [--json]
                                     [--no-scale] [--dod3] [--cold]

One run, one target file of random data (not zeros: the virtual disk stores zeros faster).
Every round runs each case once, in reversed order on odd rounds so that drift (other load,
the host's cache warming up) falls on both sides of each comparison, after one untimed
round (each tool's first run after the files are made is slower, whatever the tool). One
pass each:

* ``expunge shred --keep -m clear --verify none --json FILE``
* ``shred -n1 FILE`` (GNU coreutils)
* ``dd if=SOURCE of=FILE bs=4M oflag=direct conv=fdatasync,notrunc``: the disk's own pace
* ``srm -ll FILE`` (Debian's secure-delete; ``-ll`` is its one random pass). srm always
  removes the file, so it works on a fresh copy of the same random data, made (and synced)
  before the timer starts; its time includes its rename, truncate and unlink.

With ``--dod3`` every round also runs ``expunge -m dod-3`` against ``shred -n3``.

The target file is never refilled: what it holds does not change the cost of overwriting
it. Before every timed run: ``sync``, then the pages of the benchmark's own files (target,
source, srm's copy) are dropped from the page cache (``posix_fadvise(DONTNEED)``), so every
tool starts from the same state of the data, while programs stay cached as they are on a
station that runs them daily; then dd's random source is read back into the page cache, so
dd measures writing, not reading the same disk. ``--cold`` drops the whole page cache
instead (``echo 3 > /proc/sys/vm/drop_caches``, tolerated if it fails): the first run after
boot, where expunge also reads its interpreter and about 280 modules from the disk while
``shred`` and ``dd`` are small binaries.

Each child is timed (wall clock) and reaped with ``os.wait4``, whose rusage gives that
child's own peak RSS (``ru_maxrss``, KiB) and CPU time. For each case: the median, the
spread ``(max - min) / median`` and the ratios of medians. expunge's ``--json`` report also
gives the time of the pass itself and how it was written (``O_DIRECT`` or ``buffered``),
so start-up (imports, key, certificate) can be told from writing. With the scale check
(default), expunge also runs once on a 1 MiB file (start-up only) and on a file of twice
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

TARGET_RATIO_DD = 1.10  # expunge / dd oflag=direct, wall time
TARGET_RATIO_SHRED = 0.60  # expunge / GNU shred -n1, wall time
TARGET_RATIO_DOD3 = 0.85  # expunge -m dod-3 / shred -n3 (with --dod3)
TARGET_SPREAD = 0.20  # (max - min) / median of expunge's rounds
TARGET_RSS_MIB = 64.0  # expunge peak RSS, whatever the file size
# RSS may differ by a few MiB between runs (allocator, imports); more than this between a
# file of --size and one twice as large means something scales with the file.
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


def evict(paths: list[Path]) -> None:
    """``sync``, then drop the cached pages of ``paths`` (those that exist) only."""
    os.sync()
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


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


def copy_synced(source: Path, dest: Path) -> None:
    """``dest`` becomes a durable copy of ``source`` (for srm, which removes its target)."""
    shutil.copyfile(source, dest)
    fd = os.open(dest, os.O_WRONLY)
    try:
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
    """One timed child: wall and CPU seconds, peak RSS in KiB, exit status, load average
    when it started; for expunge, its passes' own seconds and write mode from its report."""

    seconds: float
    cpu_seconds: float
    max_rss_kib: int
    returncode: int
    load: float
    pass_seconds: float | None = None
    io: str | None = None


def run_child(argv: list[str], env: dict[str, str], log: Path) -> Run:
    """Run ``argv`` (stdout to ``log``, stderr beside it); time it and take its own rusage
    from ``os.wait4``.

    Caveat measured on Linux: the child is started with vfork (CPython's default), and at
    ``exec`` the kernel folds the peak RSS of the address space being left, ours, into the
    child's ``ru_maxrss``. A child's figure is therefore ``max(its real peak, our peak)``:
    exact above our own peak, only an upper bound at it (see ``rss_floor_kib``).
    """
    load = os.getloadavg()[0]
    with open(log, "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        returncode=proc.returncode,
        load=load,
    )


def rss_floor_kib(env: dict[str, str], log: Path) -> int:
    """The smallest ``ru_maxrss`` a child can show here: that of ``true``."""
    return run_child([shutil.which("true") or "true"], env, log).max_rss_kib


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> float:
    """``(max - min) / median``: how far apart the rounds of one case are."""
    return (max(values) - min(values)) / median(values) if values else float("nan")


def expunge_passes(log: Path) -> tuple[float, str] | None:
    """From ``expunge shred --json`` output: the seconds of all passes together, and how
    they were written (``O_DIRECT``, ``buffered``, or both joined by ``+``)."""
    try:
        report = json.loads(log.read_text())
        passes = report["items"][0]["files"][0]["wipe"]["passes"]
        seconds = sum(float(p["seconds"]) for p in passes)
        modes = "+".join(sorted({str(p.get("io")) for p in passes}))
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return seconds, modes


# ---------------------------------------------------------------- the benchmark


@dataclass
class Case:
    """One tool invocation, run once per round."""

    key: str
    label: str
    argv: list[str]
    passes: int
    warm_source: bool = False
    fresh_copy: Path | None = None
    """Where to put a fresh copy of the source before each run (the tool removes it)."""
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [r.seconds for r in self.runs]

    @property
    def median_seconds(self) -> float:
        return median(self.seconds)

    @property
    def median_cpu(self) -> float:
        return median([r.cpu_seconds for r in self.runs])

    @property
    def peak_rss_mib(self) -> float:
        return max((r.max_rss_kib for r in self.runs), default=0) / 1024

    @property
    def pass_seconds(self) -> list[float]:
        return [r.pass_seconds for r in self.runs if r.pass_seconds is not None]


def expunge_argv() -> list[str]:
    return [sys.executable, "-m", "expunge"]


def make_cases(work: Path, target: Path, source: Path, dod3: bool) -> list[Case]:
    ex = [*expunge_argv(), "shred", "--keep", "--verify", "none", "--json"]
    shred = shutil.which("shred") or "shred"
    dd = shutil.which("dd") or "dd"
    srm = shutil.which("srm")
    if srm is None:
        raise SystemExit("srm is not installed: apt-get install secure-delete")
    t = str(target)
    srm_target = work / "srm-target.bin"
    cases = [
        Case("expunge", "expunge -m clear", [*ex, "-m", "clear", t], 1),
        Case("shred", "shred -n1", [shred, "-n1", t], 1),
        Case(
            "dd",
            "dd oflag=direct",
            [dd, f"if={source}", f"of={t}", "bs=4M", "oflag=direct", "conv=fdatasync,notrunc"],
            1,
            warm_source=True,
        ),
        Case("srm", "srm -ll", [srm, "-ll", str(srm_target)], 1, fresh_copy=srm_target),
    ]
    if dod3:
        cases += [
            Case("expunge-dod3", "expunge -m dod-3", [*ex, "-m", "dod-3", t], 3),
            Case("shred-n3", "shred -n3", [shred, "-n3", t], 3),
        ]
    return cases


def timed(case: Case, env: dict[str, str], work: Path, source: Path, state: dict[str, bool]) -> Run:
    """Prepare (a fresh copy, the data's pages or with ``--cold`` the whole page cache
    dropped, dd's source warmed), then run ``case`` once."""
    if case.fresh_copy is not None:
        copy_synced(source, case.fresh_copy)
    if state["cold"]:
        state["drop_caches"] = drop_caches() and state["drop_caches"]
    else:
        evict([*work.glob("*.bin")])
    if case.warm_source:
        read_into_cache(source)
    log = work / "child.log"
    run = run_child(case.argv, env, log)
    if run.returncode != 0:
        output = (log.read_text(errors="replace") + log.with_suffix(".err").read_text()).strip()
        raise SystemExit(f"{case.label} failed with exit code {run.returncode}:\n{output}")
    if case.argv[: len(expunge_argv())] == expunge_argv():
        found = expunge_passes(log)
        if found is not None:
            run.pass_seconds, run.io = found
    return run


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    parent = Path(args.dir)
    kind = fs_type(parent)
    if kind in {"tmpfs", "ramfs"}:
        raise SystemExit(f"{parent} is {kind}: it would measure RAM, not a disk; use --dir")
    size: int = args.size
    need = size * (4 if args.scale else 3) + 64 * MIB
    free = shutil.disk_usage(parent).free
    if free < need:
        raise SystemExit(f"{parent}: {human(free)} free, the benchmark needs {human(need)}")

    work = Path(tempfile.mkdtemp(prefix="expunge-bench-", dir=parent))
    env = dict(os.environ, EXPUNGE_HOME=str(work / "home"))
    state = {"drop_caches": args.cold, "cold": args.cold}
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    scale: list[dict[str, Any]] = []
    try:
        target, source = work / "target.bin", work / "random-source.bin"
        say(f"# filling {human(size)} target and source with random data in {work} ({kind})")
        fill_random(target, size)
        fill_random(source, size)
        cases = make_cases(work, target, source, args.dod3)
        load_start = os.getloadavg()[0]
        started = time.perf_counter()
        for case in cases:  # untimed: the first run of each tool warms the host's caches
            timed(case, env, work, source, state)
        for rnd in range(args.repeat):
            order = cases if rnd % 2 == 0 else cases[::-1]
            for case in order:
                run = timed(case, env, work, source, state)
                case.runs.append(run)
                engine = f"  (pass {run.pass_seconds:.2f} s {run.io})" if run.io else ""
                say(
                    f"# round {rnd + 1}/{args.repeat} {case.label:<18} {run.seconds:7.2f} s"
                    f"  load {run.load:.2f}{engine}"
                )
        if args.scale:
            clear = cases[0]
            for scale_size in (MIB, size, 2 * size):
                if scale_size == size:
                    rss = clear.peak_rss_mib
                    scale.append({"size": size, "seconds": clear.median_seconds, "rss_mib": rss})
                    continue
                path = work / f"scale-{scale_size}.bin"
                fill_random(path, scale_size)
                argv = [*clear.argv[:-1], str(path)]
                once = timed(Case("scale", clear.label, argv, 1), env, work, source, state)
                path.unlink()
                rss = once.max_rss_kib / 1024
                scale.append({"size": scale_size, "seconds": once.seconds, "rss_mib": rss})
                say(f"# scale {human(scale_size):>8}  {once.seconds:7.2f} s  {rss:6.1f} MiB RSS")
        elapsed = time.perf_counter() - started
        floor = rss_floor_kib(env, work / "child.log") / 1024
    finally:
        shutil.rmtree(work, ignore_errors=True)

    measured = {"elapsed": elapsed, "rss_floor": floor, "load_start": load_start}
    cache = "whole page cache dropped" if state["drop_caches"] else "data's pages dropped"
    if args.cold and not state["drop_caches"]:
        cache = "whole page cache NOT dropped (not permitted)"
    return summarize(args, cases, scale, kind, cache, measured)


def _ratio(cases: dict[str, Case], a: str, b: str) -> float:
    return cases[a].median_seconds / cases[b].median_seconds


def summarize(
    args: argparse.Namespace,
    cases: list[Case],
    scale: list[dict[str, Any]],
    kind: str,
    cache: str,
    measured: dict[str, float],
) -> dict[str, Any]:
    by = {c.key: c for c in cases}
    ex = by["expunge"]
    engine = median(ex.pass_seconds)
    rss = max([c.peak_rss_mib for k, c in by.items() if k.startswith("expunge")] + [0.0])
    rss = max([rss, *(float(s["rss_mib"]) for s in scale)])
    targets = [
        _target("expunge / dd oflag=direct (wall)", _ratio(by, "expunge", "dd"), TARGET_RATIO_DD),
        _target("expunge / shred -n1 (wall)", _ratio(by, "expunge", "shred"), TARGET_RATIO_SHRED),
        _target("expunge / srm -ll (wall)", _ratio(by, "expunge", "srm"), None),
        _target("expunge spread of rounds", spread(ex.seconds), TARGET_SPREAD),
        # The pass alone, without start-up: what the engine itself costs next to dd.
        _target("expunge pass / dd oflag=direct", engine / by["dd"].median_seconds, None),
        _target("expunge pass spread of rounds", spread(ex.pass_seconds), None),
        _target("expunge peak RSS", rss, TARGET_RSS_MIB, "MiB"),
    ]
    if "expunge-dod3" in by:
        ratio = _ratio(by, "expunge-dod3", "shred-n3")
        targets.insert(3, _target("expunge dod-3 / shred -n3 (wall)", ratio, TARGET_RATIO_DOD3))
    if scale:
        growth = float(scale[-1]["rss_mib"]) - float(scale[-2]["rss_mib"])
        label = f"RSS growth {human(args.size)} -> {human(2 * args.size)}"
        targets.append(_target(label, growth, RSS_GROWTH_SLACK_MIB, "MiB"))
    return {
        "size": args.size,
        "repeat": args.repeat,
        "filesystem": kind,
        "cache": cache,
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
                "spread": spread(c.seconds),
                "median_cpu_seconds": c.median_cpu,
                "mb_per_s": c.passes * args.size / c.median_seconds / 1e6,
                "peak_rss_mib": c.peak_rss_mib,
                "median_pass_seconds": median(c.pass_seconds) if c.pass_seconds else None,
                "io": sorted({r.io for r in c.runs if r.io}),
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
        f"{result['filesystem']}, {result['repeat']} rounds, "
        f"{result['cache']}, {result['cpus']} CPUs, "
        f"kernel {result['kernel']}, load {result['loadavg_start']:.2f} -> "
        f"{result['loadavg_end']:.2f}"
    )
    head = f"{'case':<18} {'runs (s)':<31} {'median s':>8} {'spread':>6} {'MB/s':>6}"
    print(f"\n{head} {'CPU s':>6} {'RSS MiB':>8}  pass s (io)")
    for c in result["cases"]:
        runs = " ".join(f"{r['seconds']:.2f}" for r in c["runs"])
        engine = ""
        if c["median_pass_seconds"] is not None:
            engine = f"  {c['median_pass_seconds']:.2f} ({', '.join(c['io'])})"
        print(
            f"{c['label']:<18} {runs:<31} {c['median_seconds']:>8.2f} {c['spread']:>6.0%} "
            f"{c['mb_per_s']:>6.0f} {c['median_cpu_seconds']:>6.2f} "
            f"{_rss(c['peak_rss_mib'], floor):>8}{engine}"
        )
    print(f"(RSS below {floor:.1f} MiB, this script's own peak, cannot be seen: shown as <=)")
    if result["scale"]:
        print("\nexpunge -m clear by file size (1 MiB: start-up, imports and certificate only):")
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
    parser.add_argument("--size", type=parse_size, default=512 * MIB, help="default 512M")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--dir", default="/var/tmp", help="parent of the scratch folder (default /var/tmp)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--no-scale", dest="scale", action="store_false", help="skip the 1 MiB and 2x size runs"
    )
    parser.add_argument(
        "--dod3", action="store_true", help="also expunge -m dod-3 against shred -n3"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="drop the whole page cache before each run (programs too), not the data's pages",
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
    sys.exit(main(sys.argv[1:]))
