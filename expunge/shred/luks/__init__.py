"""Crypto-erase of LUKS volumes: overwrite every copy of the key material, then prove it.

A LUKS volume's data is encrypted under a master key that exists on the device only inside
keyslots (each one the master key encrypted under a passphrase-derived key). Overwrite both
headers, the JSON areas and every keyslot area, and no passphrase can ever open the volume
again: the ciphertext that remains is noise. This takes well under a second whatever the
size of the volume, because only the metadata area is written.

Layout (``headers``, ``layout``). The headers are parsed from the binary structures, and
what is erased is one range, ``[0, end)``, where ``end`` is the data segment offset or the
end of the last metadata or keyslot area, whichever is further, rounded up to 4096 bytes
(and never past the end of the target). It covers both headers, both JSON areas, every
keyslot area, the padding between them that may hold stale key material, and any other
LUKS header found at a probe offset.

Erase and proof (``erase``, ``verification``). The range is written as one random pass
through the overwrite engine and synced, then read back in full from the media and
compared with the keystream; no LUKS magic may remain.

A volume that is open (a dm-crypt mapping holds the device, or a loop device over the
container file) is refused before any write (``holders``).
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.shred.luks.erase import (
        HEADER_BACKUP_NOTE,
        METHOD,
        NIST_CATEGORY,
        LuksEraseReport,
        luks_erase,
    )
    from expunge.shred.luks.headers import read_layout
    from expunge.shred.luks.holders import (
        BlockUse,
        VolumeKey,
        open_holders,
        read_block_uses,
        refuse_if_open,
    )
    from expunge.shred.luks.layout import (
        LUKS2_SECONDARY_MAGIC,
        LUKS_MAGIC,
        MAGIC_OFFSETS,
        LuksLayout,
    )
    from expunge.shred.luks.verification import LuksVerification, verify_erased

__all__ = [
    "HEADER_BACKUP_NOTE",
    "LUKS2_SECONDARY_MAGIC",
    "LUKS_MAGIC",
    "MAGIC_OFFSETS",
    "METHOD",
    "NIST_CATEGORY",
    "BlockUse",
    "LuksEraseReport",
    "LuksLayout",
    "LuksVerification",
    "VolumeKey",
    "luks_erase",
    "open_holders",
    "read_block_uses",
    "read_layout",
    "refuse_if_open",
    "verify_erased",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
