"""``cert show --pdf`` on certificates the commands issued, and without the PDF extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from expunge.certificates import load_trust, verify_certificate
from tests.support import need_tool, run_cli
from tests.support.json_output import report_json
from tests.support.pdf import pdf_pages


def _shred_directory(tmp_path: Path, home: Path, count: int) -> tuple[Path, list[Path]]:
    folder = tmp_path / "Протоколы 2025"
    folder.mkdir()
    files = [folder / f"minutes-{i:03}-völlig-geheim.txt" for i in range(count)]
    for number, path in enumerate(files):
        path.write_bytes(b"CONFIDENTIAL %d\n" % number)
    result = run_cli("shred", "-r", folder, "--json", home=home)
    assert result.code == 0, result
    (report,) = report_json(result, "shred")["items"]
    return Path(report["certificate"]), files


@pytest.mark.slow
def test_a_500_file_certificate_prints_every_file_and_carries_itself(
    tmp_path: Path, cli_home: Path
) -> None:
    cert, files = _shred_directory(tmp_path, cli_home, 500)
    pdf = tmp_path / "certificate.pdf"
    shown = run_cli("cert", "show", cert, "--pdf", pdf, home=cli_home)
    assert shown.code == 0, shown
    assert shown.out == f"wrote {pdf}\n"

    text = " ".join(pdf_pages(pdf))
    for path in files:
        assert str(path) in text, path
    pages = int(text.rsplit(" of ", 1)[1].split()[0])
    assert pages > 1
    for number in range(1, pages + 1):
        assert f"page {number} of {pages}" in text

    detached = tmp_path / "detached"
    detached.mkdir()
    subprocess.run([need_tool("pdfdetach"), "-saveall", "-o", str(detached), str(pdf)], check=True)
    attached = detached / cert.name
    assert attached.read_bytes() == cert.read_bytes()
    assert verify_certificate(attached.read_bytes(), load_trust([cli_home / "station.pub"])).ok
    verified = run_cli("cert", "verify", attached, "--trust", cli_home / "station.pub")
    assert verified.code == 0, verified


def test_an_untrusted_certificate_is_printed_marked_and_exits_7(
    tmp_path: Path, cli_home: Path
) -> None:
    cert, _ = _shred_directory(tmp_path, cli_home, 2)
    pdf = tmp_path / "untrusted.pdf"
    stranger = tmp_path / "auditor-home"
    result = run_cli("cert", "show", cert, "--pdf", pdf, home=stranger)
    assert result.code == 7, result
    assert "not in the trust store" in result.err
    assert "Traceback" not in result.err
    assert "UNTRUSTED: signed by key" in " ".join(pdf_pages(pdf))


def test_pdf_without_the_pdf_extra_names_the_remedy(tmp_path: Path, cli_home: Path) -> None:
    cert, _ = _shred_directory(tmp_path, cli_home, 1)
    # A sitecustomize that makes fpdf unimportable, as in an install without expunge[pdf].
    blocker = tmp_path / "no-pdf-extra"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['fpdf'] = None\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPUNGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), env.get("PYTHONPATH", "")])
    env["EXPUNGE_HOME"] = str(cli_home)
    pdf = tmp_path / "never.pdf"

    def without_extra(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "expunge", "cert", "show", str(cert), *args],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    proc = without_extra("--pdf", str(pdf))
    assert proc.returncode == 2, proc
    (line,) = proc.stderr.splitlines()
    assert "fpdf" in line and "pip install 'expunge[pdf]'" in line
    assert not pdf.exists()
    # Everything else still works without it.
    shown = without_extra()
    assert shown.returncode == 0, shown
    assert cert.stem.split(".")[0] in shown.stdout
