"""Sweep benchmark: ``expunge sweep`` of N expired documents vs ``expunge shred -r``.

    python benchmarks/bench_sweep.py [--files 5000] [--size 4096] [--dir /var/tmp]
                                     [--sizes 500,1000] [--json]

Two identical trees of ``--files`` files of ``--size`` random bytes (100 per folder) are
made. The first is registered in one call (``ledger register -r``, retention already past:
timed too) and destroyed by ``expunge sweep``: one certificate and one ``destroy`` event
per document, each file overwritten (clear), verified (nist) and removed. The second is
destroyed by ``expunge shred -r -m clear --verify nist``: one certificate for the tree.
Both are wall times of the whole command as a user runs it. Goal: sweep <= 3x shred -r.

``--sizes`` adds sweeps of smaller sets (the register and sweep only), so that the time
per document can be compared across sizes: a sweep must be linear in the documents.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_tree(root: Path, files: int, size: int) -> None:
    """``files`` files of ``size`` random bytes, 100 per folder."""
    for n in range(files):
        folder = root / f"d{n // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n:05d}.pdf").write_bytes(os.urandom(size))


def expunge(home: Path, *args: str) -> float:
    """Wall time of ``expunge ARGS`` with ``home``; exits if the command fails."""
    env = {**os.environ, "EXPUNGE_HOME": str(home)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "expunge", *args], capture_output=True, text=True, env=env
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"expunge {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-800:]}"
        )
    return elapsed


def sweep_case(folder: Path, files: int, size: int) -> dict[str, float]:
    """Register ``files`` expired documents in one call, then sweep them."""
    home, tree = folder / f"home-sweep-{files}", folder / f"sweep-{files}"
    make_tree(tree, files, size)
    registered = expunge(
        home, "ledger", "register", "-r", str(tree), "--classification", "confidential",
        "--retain-until", "2020-01-01",
    )  # fmt: skip
    swept = expunge(home, "sweep")
    left = sum(len(f) for _, _, f in os.walk(tree))
    certificates = len(list((home / "certificates").glob("*.cert.json")))
    if left or certificates != files:
        raise SystemExit(f"sweep left {left} files and wrote {certificates} certificates")
    return {
        "files": files,
        "register_seconds": registered,
        "sweep_seconds": swept,
        "sweep_ms_per_document": swept / files * 1000,
    }


def main() -> None:
    """Build the trees, time the commands, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--sizes", default="", help="smaller sweeps too, e.g. 500,1000")
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="expunge-bench-sweep-", dir=args.dir) as tmp:
        folder = Path(tmp)
        smaller = [sweep_case(folder, int(n), args.size) for n in args.sizes.split(",") if n]
        tree = folder / "shred"
        make_tree(tree, args.files, args.size)
        shred = expunge(
            folder / "home-shred", "shred", "-r", "-m", "clear", "--verify", "nist", str(tree)
        )
        case = sweep_case(folder, args.files, args.size)
    figures = {
        **case,
        "shred_r_seconds": shred,
        "sweep_over_shred_r": case["sweep_seconds"] / shred,
        "smaller": smaller,
        "load_average": os.getloadavg(),
        "goal": "sweep <= 3x shred -r",
        "passed": case["sweep_seconds"] <= 3 * shred,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        print(f"{name:>22}: {value}")


if __name__ == "__main__":
    main()
