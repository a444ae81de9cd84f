"""The certificate files of a home, as the audit reads them: names held, paths made only
for the files it opens.

A station keeps a certificate file per destruction: a quarter of a million beside a
ledger of a million entries. A ``Path`` weighs some 330 bytes and costs microseconds to
make; its name alone weighs 90. The audit opens only the files whose certificates the
ledger does not cite (those it cites are verified from the ledger), so it holds names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from expunge.workflows.certify import CERT_SUFFIX


def _certificate_id(name: str) -> str | None:
    return name[: -len(CERT_SUFFIX)] if name.endswith(CERT_SUFFIX) else None


@dataclass(frozen=True)
class CertificateFiles:
    """The ``*.cert.json`` files of ``folder``, by name, in name order."""

    folder: Path
    names: tuple[str, ...]

    @classmethod
    def of(cls, folder: Path) -> CertificateFiles:
        """The certificate files in ``folder`` (none when it is not a folder)."""
        if not folder.is_dir():
            return cls(folder, ())
        # scandir's entries know their type from the directory itself: no stat per file.
        with os.scandir(folder) as entries:
            names = (e.name for e in entries if e.name.endswith(CERT_SUFFIX) and e.is_file())
            return cls(folder, tuple(sorted(names)))

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[Path]:
        return (self.folder / name for name in self.names)

    def uncited(self, cited_ids: set[str]) -> Iterator[Path]:
        """The files whose certificate id (their name) is not in ``cited_ids``."""
        folder = self.folder
        return (folder / n for n in self.names if _certificate_id(n) not in cited_ids)


def uncited(files: Iterable[Path], cited_ids: set[str]) -> Iterator[Path]:
    """The files of ``files`` whose certificate id is not in ``cited_ids``."""
    if isinstance(files, CertificateFiles):
        return files.uncited(cited_ids)
    return (path for path in files if _certificate_id(path.name) not in cited_ids)
