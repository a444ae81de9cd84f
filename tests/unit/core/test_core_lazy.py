"""Lazy package facades: every re-export resolves, and a one-file shred stays small."""

from __future__ import annotations

import ast
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import expunge
from expunge.core import logsocket
from expunge.core.lazy import _exports_of

_RUN_AND_LIST = """
import json, runpy, sys
sys.argv = ["expunge", *sys.argv[1:]]
try:
    runpy.run_module("expunge", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _facades() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(expunge.__path__, "expunge."):
        if not info.ispkg:
            continue
        module = importlib.import_module(info.name)
        if "__getattr__" in vars(module) and hasattr(module, "__all__"):
            found.append(info.name)
    return found


def test_there_are_facades_to_check() -> None:
    # The loop below must not pass by finding nothing.
    assert {"expunge.certificates", "expunge.drives", "expunge.workflows.certify"} <= set(
        _facades()
    )


@pytest.mark.parametrize("package", _facades())
def test_every_name_a_facade_exports_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    assert set(module.__all__) <= set(dir(module))


def _parsed_exports(source: str) -> dict[str, tuple[str, str]]:
    """What the Python parser finds under the facade's ``if TYPE_CHECKING:``."""
    tree = ast.parse(Path(source).read_text(encoding="utf-8"), source)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module, source
                for alias in statement.names:
                    found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


@pytest.mark.parametrize("package", _facades())
def test_a_facade_s_exports_are_read_as_the_parser_reads_them(package: str) -> None:
    source = importlib.import_module(package).__file__
    assert source is not None
    assert _exports_of(source) == _parsed_exports(source)


def test_exports_are_read_through_comments_aliases_and_one_line_imports(tmp_path: Path) -> None:
    source = tmp_path / "facade.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from a.b import one, two as deux  # a comment\n"
        "\n"
        "    from c import (\n"
        "        three,  # why three\n"
        "        four as quatre,\n"
        "    )\n"
        "from d import not_an_export\n"
    )
    assert (
        _exports_of(str(source))
        == _parsed_exports(str(source))
        == {
            "one": ("a.b", "one"),
            "deux": ("a.b", "two"),
            "three": ("c", "three"),
            "quatre": ("c", "four"),
        }
    )


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = expunge.certificates.nothing_here  # type: ignore[attr-defined]


def test_eager_mode_imports_every_re_export_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "EXPUNGE_EAGER_IMPORTS": "1"}
    probe = "import sys, expunge.drives; print('expunge.drives.watch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def test_a_one_file_shred_loads_no_drive_luks_ledger_or_report_code(tmp_path: Path) -> None:
    # What ``find -exec expunge shred {} \;`` pays per file is mostly imports: the home
    # has no ledger (nothing registered), so the ledger's store and events stay unloaded.
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"secret\n" * 100)
    env = {**os.environ, "EXPUNGE_HOME": str(tmp_path / "home")}
    env.pop("EXPUNGE_EAGER_IMPORTS", None)
    # The first call creates the station key; every later call only reads it.
    subprocess.run(
        [sys.executable, "-m", "expunge", "key", "init"], env=env, capture_output=True, check=True
    )
    result = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, "shred", "-q", str(doc)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["code"] in (0, None), result.stderr
    assert not doc.exists()
    loaded = set(report["modules"])
    needless = {
        "pyudev",
        "tqdm",
        "fpdf",
        "qrcode",
        "jsonschema",
        "psycopg",
        "textual",
        "importlib.resources",
        "shutil",
        "tomllib",
        "calendar",
        "expunge.ledger.store",
        "expunge.ledger.events",
        "expunge.ledger.entries",
        "expunge.ledger.classification",
        "expunge.workflows.records.outbox",
        # An empty outbox is seen by listing its folder (outbox_names).
        "expunge.ledger.outbox",
        "expunge.workflows.records.head",
        "expunge.shred.tree",
        "expunge.shred.folders",
        "expunge.workflows.destroy.tree_run",
        "concurrent.futures",
        "click.shell_completion",
        "logging",
        "ctypes.util",
        "expunge.drives.discovery",
        "expunge.drives.identify.ata",
        "expunge.drives.watch",
        "expunge.shred.luks.erase",
        "expunge.shred.sealing.stream",
        "expunge.ledger.keystore.store",
        "expunge.certificates.countersignature",
        "expunge.workflows.cryptoerase.keys",
        "expunge.workflows.certify.drafts.drives",
        "expunge.verify.differs",
        # Built only for a crypto-erase or a drive (each frozen dataclass costs ~0.5 ms):
        "expunge.workflows.certify.erase_work",
        "expunge.certificates.drive_facts",
        "expunge.workflows.records.lookup",
        # A small file's read-back is one read: no native AIO.
        "expunge.verify.readback.aio_engine",
        "expunge.verify.readback.linux_aio",
        # Read back only to recover a dead run.
        "expunge.workflows.destroy.logged_run",
        "expunge.certificates.register_query",
        "expunge.certificates.keyinfo",
        "expunge.workflows.records.recording",
        "expunge.verify.detection",
        "expunge.verify.readback.probe",
        # The station key is read without cryptography's serialization package.
        "cryptography.hazmat.primitives.serialization",
        # SHA-256 comes from cryptography, random names from os.urandom: hashlib would
        # load the system's libcrypto, secrets imports hmac, hashlib and random.
        "hashlib",
        "secrets",
        "hmac",
        "random",
        # Off a terminal no progress bar is drawn.
        "expunge.commands.bars",
        # A station that signs verifies no envelope.
        "expunge.certificates.verified",
        "expunge.certificates.key_erasure",
        # Only an interrupted wipe is told how to resume.
        "shlex",
    }
    if logsocket.destination(env) is None:
        # No system log to send to: no event is built.
        needless.add("expunge.core.syslog")
    assert loaded.isdisjoint(needless), sorted(loaded & needless)


def test_an_export_named_like_a_submodule_is_refused_when_asked_for(tmp_path: Path) -> None:
    package = tmp_path / "facade_clash"
    package.mkdir()
    (package / "thing.py").write_text("def thing():\n    return 1\n")
    (package / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from expunge.core.lazy import lazy_exports\n"
        "if TYPE_CHECKING:\n"
        "    from facade_clash.thing import thing\n"
        "__getattr__, __dir__ = lazy_exports(__name__, __file__)\n"
    )
    probe = "from facade_clash import thing"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "exports thing, also the name of a submodule" in out.stderr
