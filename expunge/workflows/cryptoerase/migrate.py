"""Moving an earlier version's SQLite key store (``keystore.db``) into the slot store, once.

The old store deleted keys with SQLite's ``secure_delete``, which never reached the copies
SQLite and the filesystem had made (WAL frames cut by a checkpoint, pages moved by
``VACUUM``, the rollback journal), in blocks the filesystem had freed: wrapped copies of
live *and* already destroyed keys may lie in free space, where the station KEK beside them
unwraps them. So the first command that opens such a home, under the store's writer lock:

1. writes a new KEK to ``station.kek.next``;
2. re-wraps every live key of ``keystore.db`` under it into the slot store (same key id,
   same creation time, origin ``migrated``) and takes over the tombstones;
3. destroys ``keystore.db`` and its side files like ``shred`` (one random pass in place,
   synced, then truncated and removed);
4. overwrites ``station.kek`` in place with the new KEK (the old KEK's block is
   overwritten, not freed) and destroys ``station.kek.next``.

Every wrapped copy the old store left behind is then wrapped under a KEK that no longer
exists, where in-place overwrite reaches the blocks of ``station.kek``; the filesystem
checks of ``shred`` say where that holds (``medium``). What was done is recorded in the
store (``MIGRATION_NOTE``), so that every later erase of a migrated key names it, and is
Clear where the old KEK may survive. Each step is
repeatable: a crash at any point leaves ``keystore.db`` or ``station.kek.next`` (or
both), and the next open resumes from there without unwrapping anything twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expunge.core.clock import rfc3339
from expunge.core.config import Home
from expunge.core.errors import IntegrityError, MediaIOError
from expunge.ledger.keystore import KeyStore, SQLiteKeyStore, legacy_files
from expunge.shred import sealing
from expunge.shred.report import Limitation
from expunge.workflows.cryptoerase.kek import (
    discard_next_kek,
    kek_tag,
    next_kek,
    next_kek_path,
    read_next_kek,
    replace_kek_in_place,
    station_kek,
)
from expunge.workflows.cryptoerase.medium import destroy_in_place, path_facts

MIGRATION_NOTE = "migrated-from-sqlite"
LEFTOVERS = Limitation(
    "legacy-keystore",
    "the key was kept in the SQLite key store of an earlier version (keystore.db) until the "
    "store was migrated: copies of its wrapped form may remain in blocks that file freed "
    "(WAL, journal, moved pages); on migration it was re-wrapped under a new key-encryption "
    "key and the old one overwritten in place, so those copies no longer unwrap",
    "destroy every backup of the old station.kek; to remove the leftovers themselves, "
    "overwrite the free space of the home's filesystem, or move the home and wipe the drive",
)


@dataclass(frozen=True)
class Migration:
    """What migrating the old store did, as recorded in the new one (once the old store's
    keys were taken over, before its files are destroyed)."""

    time: datetime
    keys: int
    tombstones: int
    kek_replaced: bool
    old_kek_limitations: tuple[Limitation, ...]
    """Why the old KEK may survive on the medium (and unwrap the old store's leftovers)."""

    @property
    def limitations(self) -> tuple[Limitation, ...]:
        """What every later erase of a migrated key must name."""
        return (LEFTOVERS, *self.old_kek_limitations)

    @property
    def leftovers_unwrap(self) -> bool:
        """Whether the old store's leftovers may still be unwrapped (so no Purge)."""
        return bool(self.old_kek_limitations)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also the form recorded in the store)."""
        return {
            "time": rfc3339(self.time, "seconds"),
            "keys": self.keys,
            "tombstones": self.tombstones,
            "kek_replaced": self.kek_replaced,
            "old_kek_limitations": [lim.to_dict() for lim in self.old_kek_limitations],
        }


def migration_pending(home: Home) -> bool:
    """Whether an old key store, or a KEK replacement, is waiting to be finished."""
    return bool(legacy_files(home.keystore_path)) or next_kek_path(home).exists()


def recorded_migration(store: KeyStore) -> Migration | None:
    """The migration recorded in ``store``, if it was migrated."""
    raw = store.meta(MIGRATION_NOTE)
    if raw is None:
        return None
    data = json.loads(raw)
    return Migration(
        time=datetime.fromisoformat(data["time"]),
        keys=int(data["keys"]),
        tombstones=int(data["tombstones"]),
        kek_replaced=bool(data["kek_replaced"]),
        old_kek_limitations=tuple(
            Limitation(d["code"], d["text"], d["remedy"]) for d in data["old_kek_limitations"]
        ),
    )


def migrate_legacy(home: Home, store: KeyStore, *, now: datetime) -> Migration | None:
    """Finish moving the old key store of ``home`` into ``store`` (see the module notes).

    The migration is recorded once every key was taken over, before any old file is
    destroyed; a resumed run finds that record and only finishes the destruction.
    """
    with store.exclusive():
        if not migration_pending(home):
            return None  # another process finished it while this one waited
        done = recorded_migration(store)
        if done is None:
            keys, tombs = _take_over(home, store) if home.keystore_path.exists() else (0, 0)
            replacing = next_kek_path(home).exists()
            survives = _old_kek_survives(home) if replacing else ()
            done = Migration(now, keys, tombs, replacing, survives)
            store.note(MIGRATION_NOTE, json.dumps(done.to_dict()))
        for path in legacy_files(home.keystore_path):
            destroy_in_place(path)
        if next_kek_path(home).exists():
            _replace_kek(home, store)
    return done


def _take_over(home: Home, store: KeyStore) -> tuple[int, int]:
    with SQLiteKeyStore(home.keystore_path, create=False) as old:
        live = old.live_keys()
        tombs = old.tombstones()
    pending = [k for k in live if store.info(k.doc_id) is None]
    if pending:
        old_kek, new_kek = station_kek(home, create=False), next_kek(home)
        for key in pending:
            document_key = sealing.unwrap_key(old_kek, key.wrapped)
            store.put(
                key.doc_id,
                sealing.wrap_key(new_kek, document_key),
                kek=kek_tag(new_kek),
                now=key.created,
                key_id=key.key_id,
                origin="migrated",
            )
    elif home.kek_path.exists():
        next_kek(home)  # no key to move, but the old KEK still unwraps the leftovers
    for tomb in tombs:
        store.bury(tomb)
    return len(live), len(tombs)


def _old_kek_survives(home: Home) -> tuple[Limitation, ...]:
    """Why overwriting ``station.kek`` in place may leave the old KEK on the medium."""
    return tuple(
        Limitation(
            f"old-kek-{lim.code}",
            f"the previous key-encryption key was overwritten in place, but {lim.text}: it "
            "may survive on the medium and unwrap the old store's leftovers",
            lim.remedy,
        )
        for lim in path_facts(str(home.kek_path)).blocking
    )


def _replace_kek(home: Home, store: KeyStore) -> None:
    """Put the new KEK in place of the old one (overwritten, read back), then discard the
    spare copy. Which of the two the keys need is read from their KEK tags, so a run killed
    anywhere in between (even while the spare was being zeroed) resumes correctly."""
    spare = read_next_kek(home)
    current = station_kek(home, create=False)
    needed = {k.kek for k in store.live_keys()}
    if kek_tag(spare) in needed or (not needed and any(spare)):
        if current != spare:
            check = replace_kek_in_place(home, spare)
            if not check.matches:
                raise MediaIOError(
                    "the new key-encryption key did not read back as written",
                    target=str(home.kek_path),
                    remedy=f"check the home's disk, then run the command again "
                    f"({next_kek_path(home)} holds the key every sealed document now needs)",
                )
    elif needed and kek_tag(current) not in needed:
        raise IntegrityError(
            "neither station.kek nor station.kek.next unwraps the stored keys",
            target=str(home.kek_path),
            remedy="restore the home (station.kek and the keystore folder) from a backup",
        )
    discard_next_kek(home)
