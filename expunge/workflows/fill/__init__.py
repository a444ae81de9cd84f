"""Free-space wipes: ``expunge fill MOUNTPOINT``.

Layer 2, a job beside ``sweep`` and ``drive_wipe``. ``target`` judges the filesystem,
``state`` journals the fill for resuming, ``names`` refills FAT's free directory entries,
``writer`` fills, rewrites and reads back the fill files, ``limits`` says what a fill
cannot reach, ``run`` puts it together and certifies it.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.fill.run import FillRequest, FillResult, fill_free_space

__all__ = ["FillRequest", "FillResult", "fill_free_space"]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
