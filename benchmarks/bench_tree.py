"""Many small files: ``expunge shred -r`` against GNU ``shred -u`` and ``srm -r`` on identical
trees, side by side in one run; its linearity, memory, and the cost of one small file.

Usage::

    python benchmarks/bench_tree.py [--files 10000] [--small 1000] [--repeat 3]
                                    [--dir /var/tmp] [--json]
    python benchmarks/bench_tree.py --one-call 30 [--dir /var/tmp] [--json]

One template tree of ``--files`` files of 4 KiB of random data (folders of 100, some
nested deeper) is made once; before every timed run the tool gets a fresh synced copy of
it (untimed), then ``sync`` and ``drop_caches``. Every round runs, in reversed order on odd
rounds:

* ``expunge shred -r -q TREE`` (one random pass, NIST sampling read-back of every file,
  names removed, one certificate, the default)
* ``find TREE -type f -exec shred -u -n1 {} +`` (GNU coreutils: one pass, each file
  renamed and unlinked; no read-back, no certificate)
* ``srm -llr TREE`` (Debian's secure-delete: one random pass, files and folders removed)

Beside each tool's wall time, its CPU time (user and system, from its own rusage) and
that per file: divided by the number of cores, a floor no parallelism gets under.

Also, once: expunge on a tree of ``--small`` files (linearity: time per file should not grow
with the tree), ``expunge cert verify`` of the ``--files`` certificate, and ten rounds of
one 4 KiB file per call (``expunge shred -q FILE``, what ``find -exec expunge shred {} \\;``
pays per file) against ``python3 -c pass`` with the same interpreter, alternating, after
one untimed call that creates the station key. ``--one-call N`` runs only that comparison,
over N rounds (seconds, not minutes). expunge's bytecode is compiled before anything is
timed, as it is in an installed package.

Targets (PASS/FAIL; exit status 1 when any fails), from issue [3/8]:

* expunge / GNU shred <= 1.5 and expunge / srm <= 1.2 (median wall time, ``--files``)
* time at ``--files`` <= 11x the time at ``--small`` (for the default 10x the files)
* peak RSS of the ``--files`` run <= 100 MiB; ``cert verify`` of its certificate <= 1 s
* one small file, one call: <= 90 ms wall (median)
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_shred import Run, drop_caches, fs_type, run_child

FILE_SIZE = 4096
PER_FOLDER = 100
TARGET_GNU = 1.5
TARGET_SRM = 1.2
TARGET_LINEAR = 11.0
TARGET_RSS_MIB = 100.0
TARGET_VERIFY_S = 1.0
TARGET_ONE_FILE_S = 0.090
ONE_CALL_ROUNDS = 10


def make_tree(root: Path, files: int) -> None:
    """``files`` files of random data, in folders of PER_FOLDER, every seventh deeper."""
    for i in range(files):
        folder = root / f"d{i // PER_FOLDER:03d}"
        if i % 7 == 0:
            folder = folder / "deeper"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(os.urandom(FILE_SIZE))
    os.sync()


def compile_expunge() -> None:
    """Write expunge's bytecode before timing, as pip does when it installs the package.

    A checkout run with PYTHONDONTWRITEBYTECODE set (many CI shells) and no __pycache__
    would otherwise make every call compile each module again: about 100 ms of one small
    file's time, spent in the bytecode compiler rather than in expunge.
    """
    spec = importlib.util.find_spec("expunge")
    if spec is None or spec.origin is None:
        sys.exit("expunge is not importable by this interpreter")
    compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)


def fresh_copy(template: Path, target: Path) -> None:
    """``target`` becomes a synced copy of ``template`` (the tools remove what they wipe)."""
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["cp", "-a", str(template), str(target)], check=True)
    os.sync()


def expunge_env(home: Path) -> dict[str, str]:
    """The environment of an expunge run: its own throwaway home."""
    return {**os.environ, "EXPUNGE_HOME": str(home)}


def timed(argv: list[str], env: dict[str, str], log: Path) -> Run:
    """One timed child after dropping the page cache."""
    drop_caches()
    run = run_child(argv, env, log)
    if run.returncode != 0:
        sys.exit(f"failed ({run.returncode}): {' '.join(argv)}; see {log.with_suffix('.err')}")
    return run


def tree_cases(work: Path, tree: Path) -> dict[str, list[str]]:
    """The three tools, each on the fresh copy at ``tree``."""
    python = sys.executable
    return {
        "expunge": [python, "-m", "expunge", "shred", "-r", "-q", str(tree)],
        "gnu": ["find", str(tree), "-type", "f", "-exec", "shred", "-u", "-n1", "{}", "+"],
        "srm": ["srm", "-llr", str(tree)],
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Run every case; the figures as a JSON-ready dict."""
    for tool in ("shred", "srm", "find", "cp"):
        if shutil.which(tool) is None:
            sys.exit(f"needs {tool} (srm: apt-get install secure-delete)")
    base = Path(args.dir)
    if fs_type(base) in ("tmpfs", "ramfs"):
        sys.exit(f"{base} is {fs_type(base)}: that measures RAM, use a disk (--dir)")
    compile_expunge()
    work = Path(tempfile.mkdtemp(prefix="expunge-bench-", dir=base))
    try:
        template = work / "template"
        make_tree(template, args.files)
        tree = work / "tree"
        runs: dict[str, list[Run]] = {"expunge": [], "gnu": [], "srm": []}
        for round_no in range(args.repeat):
            order = list(tree_cases(work, tree).items())
            for key, argv in order if round_no % 2 == 0 else reversed(order):
                fresh_copy(template, tree)
                home = work / f"home-{key}-{round_no}"
                runs[key].append(timed(argv, expunge_env(home), work / f"{key}.log"))
        certificate = next((work / "home-expunge-0" / "certificates").glob("*.cert.json"))
        verify_argv = [sys.executable, "-m", "expunge", "cert", "verify", str(certificate)]
        verified = timed(verify_argv, expunge_env(work / "home-expunge-0"), work / "verify.log")

        small = work / "small-template"
        make_tree(small, args.small)
        fresh_copy(small, tree)
        small_argv = tree_cases(work, tree)["expunge"]
        small_run = timed(small_argv, expunge_env(work / "home-small"), work / "small.log")

        one, bare = one_call(work, ONE_CALL_ROUNDS)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return summarize(args, runs, verified, small_run, one, bare)


def one_call(work: Path, rounds: int) -> tuple[list[float], list[float]]:
    """``rounds`` timed pairs: ``expunge shred -q FILE`` of a fresh 4 KiB file, and
    ``python3 -c pass`` with the same interpreter (in reversed order on odd rounds, so
    that drift falls on both). The first call, which creates the station key, is untimed."""
    env = expunge_env(work / "home-one")
    shred = [sys.executable, "-m", "expunge", "shred", "-q"]
    bare_argv = [sys.executable, "-c", "pass"]
    one: list[float] = []
    bare: list[float] = []
    for i in range(-1, rounds):
        doc = work / f"one-{i}.bin"
        doc.write_bytes(os.urandom(FILE_SIZE))
        os.sync()
        if i < 0:
            timed([*shred, str(doc)], env, work / "one.log")
            continue
        pair = [(one, [*shred, str(doc)]), (bare, bare_argv)]
        for times, argv in pair if i % 2 == 0 else reversed(pair):
            run = run_child(argv, env, work / "one.log")
            if run.returncode != 0:
                sys.exit(f"failed ({run.returncode}): {' '.join(argv)}")
            times.append(run.seconds)
    return one, bare


def one_call_only(args: argparse.Namespace) -> dict[str, Any]:
    """``--one-call N``: only the one-small-file figure, over N rounds."""
    base = Path(args.dir)
    compile_expunge()
    work = Path(tempfile.mkdtemp(prefix="expunge-bench-", dir=base))
    try:
        one, bare = one_call(work, args.one_call)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one_file = statistics.median(one)
    return {
        "rounds": args.one_call,
        "load_average": os.getloadavg(),
        "one_file_seconds": one_file,
        "python_pass_seconds": statistics.median(bare),
        "one_file_runs": one,
        "python_pass_runs": bare,
        "targets": [_target("one small file, one call (s)", one_file, TARGET_ONE_FILE_S)],
    }


def _median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def summarize(
    args: argparse.Namespace,
    runs: dict[str, list[Run]],
    verified: Run,
    small_run: Run,
    one: list[float],
    bare: list[float],
) -> dict[str, Any]:
    """Medians, ratios and the targets."""
    expunge, gnu, srm = (_median(runs[k]) for k in ("expunge", "gnu", "srm"))
    rss_mib = max(r.max_rss_kib for r in runs["expunge"]) / 1024
    one_file, python = statistics.median(one), statistics.median(bare)
    linear = expunge / small_run.seconds
    targets = [
        _target("expunge / GNU shred -u -n1", expunge / gnu, TARGET_GNU),
        _target("expunge / srm -llr", expunge / srm, TARGET_SRM),
        _target(f"time at {args.files} / time at {args.small}", linear, TARGET_LINEAR),
        _target("peak RSS (MiB)", rss_mib, TARGET_RSS_MIB),
        _target("cert verify (s)", verified.seconds, TARGET_VERIFY_S),
        _target("one small file, one call (s)", one_file, TARGET_ONE_FILE_S),
    ]
    return {
        "files": args.files,
        "small": args.small,
        "repeat": args.repeat,
        "load_average": os.getloadavg(),
        "seconds": {k: [r.seconds for r in v] for k, v in runs.items()},
        "median_seconds": {"expunge": expunge, "gnu": gnu, "srm": srm},
        "median_cpu_seconds": {
            k: statistics.median(r.cpu_seconds for r in v) for k, v in runs.items()
        },
        "files_per_second": {"expunge": args.files / expunge, "gnu": args.files / gnu},
        "small_seconds": small_run.seconds,
        "cert_verify_seconds": verified.seconds,
        "one_file_seconds": one_file,
        "python_pass_seconds": python,
        "targets": targets,
    }


def _target(name: str, value: float, limit: float) -> dict[str, Any]:
    return {"name": name, "value": value, "limit": limit, "pass": value <= limit}


def print_table(result: dict[str, Any]) -> None:
    """The figures for a terminal."""
    med = result["median_seconds"]
    load = ", ".join(f"{x:.1f}" for x in result["load_average"])
    print(f"{result['files']} files of 4 KiB, {result['repeat']} rounds, load average {load}")
    for key, label in (
        ("expunge", "expunge shred -r"),
        ("gnu", "GNU shred -u -n1"),
        ("srm", "srm -llr"),
    ):
        runs = ", ".join(f"{s:.1f}" for s in result["seconds"][key])
        cpu = result["median_cpu_seconds"][key]
        per_file = cpu / result["files"] * 1000
        print(
            f"  {label:<18} median {med[key]:7.2f} s   runs {runs}   "
            f"CPU {cpu:.1f} s ({per_file:.2f} ms/file)"
        )
    print(f"  expunge on {result['small']} files: {result['small_seconds']:.2f} s")
    verify = result["cert_verify_seconds"]
    print(f"  cert verify of the {result['files']}-file certificate: {verify:.2f} s")
    print(
        f"  one file per call: {result['one_file_seconds'] * 1000:.0f} ms "
        f"(python3 -c pass: {result['python_pass_seconds'] * 1000:.0f} ms)"
    )
    for t in result["targets"]:
        mark = "PASS" if t["pass"] else "FAIL"
        print(f"  {mark} {t['name']}: {t['value']:.3f} (limit {t['limit']})")


def print_one_call(result: dict[str, Any]) -> None:
    """The ``--one-call`` figures for a terminal."""
    load = ", ".join(f"{x:.1f}" for x in result["load_average"])
    print(f"one 4 KiB file per call, {result['rounds']} rounds, load average {load}")
    print(
        f"  expunge shred -q FILE: median {result['one_file_seconds'] * 1000:.0f} ms "
        f"(min {min(result['one_file_runs']) * 1000:.0f}); python3 -c pass: median "
        f"{result['python_pass_seconds'] * 1000:.0f} ms "
        f"(min {min(result['python_pass_runs']) * 1000:.0f})"
    )
    for t in result["targets"]:
        mark = "PASS" if t["pass"] else "FAIL"
        print(f"  {mark} {t['name']}: {t['value']:.3f} (limit {t['limit']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--one-call",
        type=int,
        metavar="N",
        help="only the one-small-file figure, over N rounds (no trees)",
    )
    args = parser.parse_args(argv)
    if args.one_call is not None and args.one_call < 1:
        parser.error("--one-call must be at least 1")
    result = benchmark(args) if args.one_call is None else one_call_only(args)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    elif args.one_call is None:
        print_table(result)
    else:
        print_one_call(result)
    return 0 if all(t["pass"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
