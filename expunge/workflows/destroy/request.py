"""What ``expunge shred`` is asked to do, and what a dry run finds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from expunge.core import paths
from expunge.core.errors import UsageError
from expunge.shred.files import FileOptions
from expunge.shred.methods import Method, is_crypto_erase
from expunge.verify import VerifyOptions


@dataclass(frozen=True)
class Technique:
    """How files are destroyed: the method, the read-back, the file checks' overrides."""

    method: Method
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    file_options: FileOptions = field(default_factory=FileOptions)


@dataclass(frozen=True)
class ShredRequest:
    """Everything ``expunge shred`` was asked to do."""

    paths: tuple[str, ...]
    method: Method
    recursive: bool = False
    keep: bool = False
    dry_run: bool = False
    remove_on_failure: bool = False
    fingerprint: bool = False
    file_options: FileOptions = field(default_factory=FileOptions)
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    resume: bool = False
    on_error: Literal["continue", "abort"] = "continue"

    def __post_init__(self) -> None:
        if is_crypto_erase(self.method):
            raise UsageError(
                f"{self.method.name} erases LUKS volumes, not files",
                target="--method",
                remedy="use an overwrite method (see 'expunge methods'); for a LUKS container "
                "file use 'expunge shred -m luks-erase FILE'",
            )


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """What a dry run found: a file that would be destroyed, and its limitations."""

    path: str
    size: int
    filesystem: str
    limitations: tuple[str, ...]
    documents: tuple[str, ...] = ()
    device: int = 0
    inode: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the shape of a destroyed file's (``FileOutcome.to_dict``), with what
        only a run can tell null or empty, and what the checks found as ``plan``."""
        return {
            **paths.path_fields(self.path),
            "status": "planned",
            "content_blake3": None,
            "wipe": None,
            "verification": None,
            "pass_verifications": [],
            "plan": {
                "size": self.size,
                "filesystem": self.filesystem,
                "limitations": list(self.limitations),
                "documents": list(self.documents),
            },
        }

    def is_object(self, device: int, inode: int) -> bool:
        """Whether an opened file (its device and inode) is the one planned."""
        return (device, inode) == (self.device, self.inode)
