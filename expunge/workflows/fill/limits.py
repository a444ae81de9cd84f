"""What filling the free space cannot promise, on each kind of filesystem."""

from __future__ import annotations

import os

from expunge.shred.report import Limitation
from expunge.workflows.fill.target import FillTarget

_WHOLE_DRIVE = "wipe the whole drive (expunge drive wipe) to reach it"
JOURNALED = frozenset({"ext4", "ext3", "jfs", "xfs", "reiserfs", "ntfs", "ntfs3"})


def fill_limitations(
    target: FillTarget, held_back: int = 0, unflushed: bool = False
) -> tuple[Limitation, ...]:
    """The limitations a fill of ``target`` records in its report and certificate;
    ``held_back`` bytes of ext4 reserved clusters could not be taken; ``unflushed``: the
    journal could not be checkpointed before the fill was removed."""
    found = [
        Limitation(
            "file-slack",
            "the unused end of the last block of every file still in use (its slack) keeps "
            "what was there before: it is not free space",
            "shred the files themselves, or " + _WHOLE_DRIVE,
        )
    ]
    if target.kind in JOURNALED:
        found.append(
            Limitation(
                "journal",
                f"the {target.kind} journal is not free space: it may keep copies of metadata "
                "(names, sizes) and, where data is journaled, of content written earlier",
                _WHOLE_DRIVE,
            )
        )
    if target.fat:
        if target.fstype.startswith("fuse."):
            found.append(
                Limitation(
                    "fat-single-entries",
                    "this driver writes a long name for every file, so a deleted entry of "
                    "a single slot between two files in use keeps its short name",
                    "mount with the kernel's vfat driver to refill single slots as well",
                )
            )
    else:
        found.append(
            Limitation(
                "deleted-names",
                f"{target.kind} reuses the directory entries of deleted files "
                "unpredictably: their names may remain in directory blocks",
                _WHOLE_DRIVE,
            )
        )
    if os.geteuid() != 0 and target.reserved:
        found.append(
            Limitation(
                "reserved-blocks",
                f"{target.reserved} bytes reserved for root were not overwritten",
                "run expunge fill as root",
            )
        )
    if held_back:
        found.append(
            Limitation(
                "reserved-clusters",
                f"{held_back} bytes of ext4 reserved clusters (free blocks kept from "
                "ordinary writes) were not overwritten",
                "run expunge fill as root, so that the pool is released for the fill",
            )
        )
    if unflushed:
        found.append(
            Limitation(
                "fill-metadata",
                "the filesystem could not be frozen to write its journal home: the few "
                "blocks that held the fill's own metadata (its folder, extent index "
                "blocks) may have returned to the free space with their old content",
                "run expunge fill as root",
            )
        )
    if target.rotational is False:
        found.append(
            Limitation(
                "flash-media",
                "flash medium: wear levelling may keep old copies in blocks no file can "
                "reach, free or not",
                "use the drive's own sanitize command (expunge drive wipe -m sanitize)",
            )
        )
    return tuple(found)
