#!/usr/bin/env python3
"""Time read-back verification against a one-pass wipe and a raw direct read.

On a 1 GiB file (created under /var/tmp unless a path is given), each repetition:

1. writes one random pass (AES-256-CTR keystream, 4 MiB ``pwrite`` chunks, writeback
   started every 64 MiB, one ``fdatasync``), the way ``expunge shred`` writes it, over a
   file whose pages were first dropped from the page cache (as a real wipe finds them);
2. verifies it with ``nist``, ``quick`` (1%) and ``full`` plans (``O_DIRECT`` reads);
3. reads the whole file with ``dd if=FILE of=/dev/null bs=4M iflag=direct``.

Steps alternate within each repetition so that drift affects all of them alike; medians
are printed with the ratios the project targets: quick <= 5% of a pass, nist <= 25% of a
pass, full within 1.2x of dd. A file the script created is deleted at the end.

    .venv/bin/python benchmarks/bench_verify.py [--size-mib 1024] [--reps 3] [PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from expunge.shred.patterns import PassPattern
from expunge.verify.plan import SamplePlan, make_plan
from expunge.verify.readback import verify_path

CHUNK = 4 << 20
WRITEBACK_BYTES = 64 << 20
DONTNEED = os.POSIX_FADV_DONTNEED
TARGETS = {
    "quick/pass": 0.05,
    "nist/pass": 0.25,
    "full/dd": 1.2,
}


def write_pass(path: Path, pattern: PassPattern, size: int) -> None:
    """One pass, shaped like expunge's engine: the keystream into a reused 4 MiB buffer,
    ``pwrite``, writeback started every 64 MiB (``POSIX_FADV_DONTNEED``), one
    ``fdatasync``."""
    stream = pattern.stream()
    buffer = bytearray(CHUNK)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        offset = last_writeback = 0
        while offset < size:
            count = min(CHUNK, size - offset)
            view = memoryview(buffer)[:count]
            stream.fill(view, offset)
            offset += os.pwrite(fd, view, offset)
            if offset - last_writeback >= WRITEBACK_BYTES:
                os.posix_fadvise(fd, last_writeback, offset - last_writeback, DONTNEED)
                last_writeback = offset
        os.fdatasync(fd)
    finally:
        os.close(fd)


def uncache(path: Path) -> None:
    """Drop the file's pages from the page cache (untimed): each pass then starts like a
    real wipe, of data that is on the disk and not in RAM. Only this file is affected."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, DONTNEED)
    finally:
        os.close(fd)


def dd_direct(path: Path) -> None:
    subprocess.run(
        ["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"],
        check=True,
        capture_output=True,
    )


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process and its children, user + system)."""
    before = _cpu()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start, _cpu() - before


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    with open("/proc/loadavg", encoding="ascii") as handle:
        return " ".join(handle.read().split()[:3])


def verify_once(path: Path, pattern: PassPattern, plan: SamplePlan) -> None:
    report = verify_path(path, pattern, plan)
    if report.status != "success" or report.cache_bypass != "O_DIRECT":
        raise SystemExit(f"verification did not succeed with O_DIRECT: {report.to_dict()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="target file (default: a new file in /var/tmp)")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    size = args.size_mib << 20
    created = args.path is None
    if created:
        handle, name = tempfile.mkstemp(prefix="expunge-bench-verify-", dir="/var/tmp")
        os.close(handle)
        path = Path(name)
    else:
        path = Path(args.path)
    steps = ("pass", "nist", "quick", "full", "dd")
    times: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}
    samples: dict[str, int] = {}
    load_before = _load()

    def record(step: str, action: Callable[[], object]) -> None:
        wall, used = timed(action)
        times[step].append(wall)
        cpu[step].append(used)

    try:
        for _ in range(args.reps):
            pattern = PassPattern.random()
            uncache(path)
            record("pass", partial(write_pass, path, pattern, size))
            for mode, coverage in (("nist", None), ("quick", 1.0), ("full", None)):
                plan = make_plan(size, mode, coverage=coverage)
                samples[mode] = plan.sample_count
                record(mode, partial(verify_once, path, pattern, plan))
            record("dd", partial(dd_direct, path))
    finally:
        if created:
            path.unlink(missing_ok=True)

    median = {k: statistics.median(v) for k, v in times.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratios = {
        "quick/pass": median["quick"] / median["pass"],
        "nist/pass": median["nist"] / median["pass"],
        "full/dd": median["full"] / median["dd"],
    }
    if args.json:
        print(
            json.dumps(
                {
                    "size": size,
                    "reps": args.reps,
                    "seconds": times,
                    "median": median,
                    "cpu_seconds": cpu,
                    "load_average": {"before": load_before, "after": _load()},
                    "ratios": ratios,
                    "samples": samples,
                },
                indent=2,
            )
        )
    else:
        print(
            f"target {size >> 20} MiB, {args.reps} repetitions, medians "
            f"(load average before {load_before}, after {_load()}):"
        )
        for key in steps:
            rate = size / median[key] / 1e6
            extra = f" ({samples[key]} samples)" if key in samples else ""
            print(
                f"  {key:6} {median[key]:8.3f} s  {rate:8.0f} MB/s  "
                f"cpu {median_cpu[key]:6.3f} s{extra}"
            )
        for key, value in ratios.items():
            verdict = "ok" if value <= TARGETS[key] else "MISSED"
            print(f"  {key:10} {value:6.3f}  (target <= {TARGETS[key]:g}: {verdict})")
    return 0 if all(ratios[k] <= TARGETS[k] for k in TARGETS) else 1


if __name__ == "__main__":
    sys.exit(main())
