"""Whole-drive benchmark: ``expunge drive wipe`` against dd, GNU shred and nwipe.

Usage::

    python benchmarks/bench_drives.py [--size 1G] [--repeat 3] [--dir /var/tmp] [--json]

Everything is written to loop devices this script attaches to files of its own, in a fresh
``expunge-bench-*`` folder under ``--dir``; every command names its loop device explicitly,
and the device's backing file is checked before each run. The devices are detached and the
folder removed at the end, also on error or Ctrl-C.

One device, each repetition running the four cases (reversed order on odd repetitions, so
that drift falls on both sides of each comparison):

* ``expunge drive wipe DEV --include-virtual --yes --expect TOKEN --verify none -m clear``
* ``dd if=RANDOM of=DEV bs=4M oflag=direct conv=fdatasync`` (RANDOM: a file of random bytes,
  read into the page cache first, so dd measures writing)
* ``shred -n1 DEV``
* ``nwipe --autonuke --nogui --method=zero --verify=off --noblank DEV`` (installed with
  ``apt-get install -y nwipe`` when missing)

Then two devices: ``expunge drive wipe DEV1 DEV2 ...`` against ``expunge drive wipe DEV1``,
alternating. Before every timed run: ``sync`` and ``drop_caches``.

Two throughputs per case: *wall* (device size / wall time of the whole command, start-up
included: what an operator waits for) and *tool* (what the tool reports for its writing
alone: expunge's pass throughput from its JSON, dd's own figure; shred and nwipe report
none). Targets: expunge / dd >= 0.95, expunge / nwipe >= 6 (wall).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from expunge.drives import find_drive
from expunge.shred.patterns import PassPattern

MIB = 1 << 20
GIB = 1 << 30
FILL_CHUNK = 4 * MIB
TARGET_DD = 0.95
TARGET_NWIPE = 6.0
CASES = ("expunge", "dd", "shred", "nwipe")
_DD_RATE = re.compile(r"(\d+) bytes .* copied, ([\d.]+) s")


def parse_size(text: str) -> int:
    """``1G``, ``256M`` or bytes -> bytes (whole MiB, at least 64 MiB)."""
    match = re.fullmatch(r"\s*(\d+)\s*([MG]?)\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1G, 256M)")
    size = int(match.group(1)) << {"": 0, "M": 20, "G": 30}[match.group(2).upper()]
    if size < 64 * MIB or size % MIB:
        raise argparse.ArgumentTypeError("size must be a whole number of MiB, at least 64M")
    return size


def fs_type(path: Path) -> str:
    """The filesystem type of the mount holding ``path``."""
    best, kind = "", "unknown"
    real = os.path.realpath(path)
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        mount = parts[1].replace("\\040", " ")
        if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, kind = mount, parts[2]
    return kind


def drop_caches() -> None:
    """``sync``, then drop the page cache so that no run inherits another's pages."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def fill_random(path: Path, size: int) -> None:
    """``size`` bytes of random data (an AES-CTR keystream), made durable."""
    stream = PassPattern.random().stream()
    buf = bytearray(FILL_CHUNK)
    with path.open("wb") as out:
        for offset in range(0, size, FILL_CHUNK):
            view = memoryview(buf)[: min(FILL_CHUNK, size - offset)]
            stream.fill(view, offset)
            out.write(view)
        out.flush()
        os.fsync(out.fileno())


class Loop:
    """A loop device attached by this script to one of its files."""

    def __init__(self, image: Path) -> None:
        self.image = image.resolve()
        self.node = subprocess.run(
            ["losetup", "-f", "--show", str(self.image)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        self.check()
        self.token = find_drive(self.node).identity_token

    def check(self) -> None:
        """Refuse to go on unless the node is still backed by our file."""
        backing = Path(f"/sys/block/{Path(self.node).name}/loop/backing_file")
        try:
            ours = Path(backing.read_text().strip()) == self.image
        except OSError:
            ours = False
        if not ours:
            raise SystemExit(f"{self.node} is no longer backed by {self.image}: stopping")

    def detach(self) -> None:
        """Detach if still ours."""
        try:
            self.check()
        except SystemExit:
            return
        subprocess.run(["losetup", "-d", self.node], check=False)


@dataclass
class Run:
    """One timed command."""

    case: str
    wall: float
    cpu: float
    tool_rate: float | None  # bytes/s the tool reports for its writing, if any
    bytes: int


@dataclass
class Bench:
    """Everything measured in one invocation."""

    size: int
    repeat: int
    folder_fs: str
    loadavg_before: str
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of(self, case: str) -> list[Run]:
        return [r for r in self.runs if r.case == case]

    def median_wall(self, case: str) -> float:
        return statistics.median(r.wall for r in self.of(case))

    def wall_rate(self, case: str) -> float:
        runs = self.of(case)
        return statistics.median(r.bytes / r.wall for r in runs)

    def tool_rate(self, case: str) -> float | None:
        rates = [r.tool_rate for r in self.of(case) if r.tool_rate is not None]
        return statistics.median(rates) if rates else None


def timed(case: str, argv: Sequence[str], size: int, *, env: dict[str, str], cwd: Path) -> Run:
    """Run ``argv`` once; wall time and the child's CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, errors="replace", env=env, cwd=cwd, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{case} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(case, wall, cpu, tool_rate(case, done.stdout, done.stderr), size)


def tool_rate(case: str, out: str, err: str) -> float | None:
    """The writing rate the tool itself reports (expunge: its passes; dd: its copy)."""
    if case.startswith("expunge"):
        results = [e for e in map(json.loads, out.splitlines()) if e["event"] == "finished"]
        passes = [p for r in results for p in r["wipe"]["passes"]]
        starts = [datetime.fromisoformat(p["start"].replace("Z", "+00:00")) for p in passes]
        ends = [datetime.fromisoformat(p["end"].replace("Z", "+00:00")) for p in passes]
        window = (max(ends) - min(starts)).total_seconds()
        return sum(p["bytes"] for p in passes) / window if window else None
    if case == "dd":
        match = _DD_RATE.search(err)
        return int(match.group(1)) / float(match.group(2)) if match else None
    return None


def ensure_nwipe(notes: list[str]) -> str | None:
    """nwipe's path, installing the Debian package when missing."""
    if shutil.which("nwipe") is None:
        subprocess.run(["apt-get", "install", "-y", "nwipe"], capture_output=True, check=False)
    path = shutil.which("nwipe")
    if path is None:
        notes.append("nwipe could not be installed: its case was skipped")
    return path


def run(args: argparse.Namespace) -> Bench:
    """Set up, measure, tear down."""
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark attaches loop devices")
    folder = Path(tempfile.mkdtemp(prefix="expunge-bench-", dir=args.dir))
    bench = Bench(args.size, args.repeat, fs_type(folder), Path("/proc/loadavg").read_text())
    if bench.folder_fs == "tmpfs":
        shutil.rmtree(folder)
        raise SystemExit(f"{args.dir} is tmpfs: it would measure RAM; use --dir on a disk")
    loops: list[Loop] = []
    try:
        nwipe = ensure_nwipe(bench.notes)
        source = folder / "random.bin"
        images = [folder / "disk1.img", folder / "disk2.img"]
        for path in (source, *images):
            fill_random(path, args.size)
        for image in images:
            loops.append(Loop(image))
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
        env["EXPUNGE_HOME"] = str(folder / "home")

        def expunge(*targets: Loop) -> list[str]:
            expects = [a for t in targets for a in ("--expect", t.token)]
            nodes = [t.node for t in targets]
            return [sys.executable, "-m", "expunge", "drive", "wipe", *nodes,
                    "--include-virtual", "--yes", *expects, "--verify", "none", "-m", "clear",
                    "--json"]  # fmt: skip

        one = loops[0]
        commands = {
            "expunge": expunge(one),
            "dd": [
                "dd",
                f"if={source}",
                f"of={one.node}",
                "bs=4M",
                "oflag=direct",
                "conv=fdatasync",
            ],
            "shred": ["shred", "-n1", one.node],
            "nwipe": [
                nwipe or "nwipe",
                "--autonuke",
                "--nogui",
                "--method=zero",
                "--verify=off",
                "--noblank",
                one.node,
            ],
        }
        cases = [c for c in CASES if c != "nwipe" or nwipe is not None]
        for repetition in range(args.repeat):
            for case in cases if repetition % 2 == 0 else reversed(cases):
                one.check()
                drop_caches()
                if case == "dd":
                    subprocess.run(["cat", str(source)], stdout=subprocess.DEVNULL, check=True)
                run_ = timed(case, commands[case], args.size, env=env, cwd=folder)
                bench.runs.append(run_)
                print(f"  {case:<8} {run_.wall:6.2f} s", file=sys.stderr)
        pair = [("expunge-1", expunge(one), args.size),
                ("expunge-2", expunge(*loops), 2 * args.size)]  # fmt: skip
        for repetition in range(args.repeat):
            for case, argv, size in pair if repetition % 2 == 0 else reversed(pair):
                for loop in loops:
                    loop.check()
                drop_caches()
                run_ = timed(case, argv, size, env=env, cwd=folder)
                bench.runs.append(run_)
                print(f"  {case:<8} {run_.wall:6.2f} s", file=sys.stderr)
    finally:
        for loop in loops:
            loop.detach()
        shutil.rmtree(folder, ignore_errors=True)
    return bench


def ratios(bench: Bench) -> dict[str, float | None]:
    """The comparisons the targets are about."""
    out: dict[str, float | None] = {
        "expunge/dd wall": bench.wall_rate("expunge") / bench.wall_rate("dd"),
        "expunge/nwipe wall": bench.wall_rate("expunge") / bench.wall_rate("nwipe")
        if bench.of("nwipe")
        else None,
        "two drives/one wall": bench.wall_rate("expunge-2") / bench.wall_rate("expunge-1"),
    }
    e_tool, d_tool = bench.tool_rate("expunge"), bench.tool_rate("dd")
    out["expunge/dd tool"] = e_tool / d_tool if e_tool and d_tool else None
    p2, p1 = bench.tool_rate("expunge-2"), bench.tool_rate("expunge-1")
    out["two drives/one tool"] = p2 / p1 if p2 and p1 else None
    return out


def report(bench: Bench) -> bool:
    """Print the table; True when every target is met."""
    mb = 1e6
    load = " ".join(bench.loadavg_before.split()[:3])
    print(
        f"\nwhole-drive wipe, {bench.size // MIB} MiB loop device(s) on {bench.folder_fs}, "
        f"{bench.repeat} runs each, load average before: {load}"
    )
    print(f"{'case':<12} {'wall s':>8} {'wall MB/s':>10} {'tool MB/s':>10} {'cpu s':>7}  runs (s)")
    for case in (*CASES, "expunge-1", "expunge-2"):
        runs = bench.of(case)
        if not runs:
            continue
        tool = bench.tool_rate(case)
        cpu = statistics.median(r.cpu for r in runs)
        print(
            f"{case:<12} {bench.median_wall(case):8.2f} {bench.wall_rate(case) / mb:10.0f} "
            f"{(tool / mb if tool else 0):10.0f} {cpu:7.2f}  "
            + " ".join(f"{r.wall:.2f}" for r in runs)
        )
    found = ratios(bench)
    ok = True
    targets = {"expunge/dd wall": TARGET_DD, "expunge/nwipe wall": TARGET_NWIPE}
    for name, value in found.items():
        if value is None:
            print(f"{name:<22} n/a")
            continue
        target = targets.get(name)
        verdict = "info"
        if target is not None:
            verdict = f"target >= {target}: " + ("PASS" if value >= target else "FAIL")
            ok = ok and value >= target
        print(f"{name:<22} {value:6.2f}  {verdict}")
    for note in bench.notes:
        print(f"note: {note}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=GIB, help="device size (default 1G)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"), help="scratch folder")
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    args = parser.parse_args(argv)
    bench = run(args)
    if args.json:
        print(json.dumps({**asdict(bench), "ratios": ratios(bench)}, indent=2))
        return 0
    return 0 if report(bench) else 1


if __name__ == "__main__":
    sys.exit(main())
