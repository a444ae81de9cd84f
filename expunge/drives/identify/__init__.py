"""What a drive says of itself: ATA IDENTIFY and DCO data, NVMe Identify and log pages,
SCSI VPD pages and sense data, SMART health (its own tables or ``smartctl -j``), hidden
areas, and the profile they add up to (``probe`` asks a drive for all of it).

The parsers are pure: bytes in, frozen facts out, so they are tested on data captured
from real drives (``tests/data``).
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.drives.identify.health import DriveHealth, HiddenAreas
    from expunge.drives.identify.profile import DriveProfile

__all__ = ["DriveHealth", "DriveProfile", "HiddenAreas"]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
