"""Cryptographic erase of sealed documents and LUKS volumes: seal, unseal, destroy the key.

A sealed document lives encrypted (``shred.sealing``) under its own document key; the key is
kept wrapped under the station's key-encryption key (``<home>/station.kek``, mode 0600) in
one fixed slot of the key store (``<home>/keystore/``, ``ledger.keystore``), never beside
the file. Destroying it (``KeyStore.destroy``: the slot overwritten in place, synced, read
back from the medium) kills every copy of the ciphertext at once, wherever it went: NIST SP
800-88 cryptographic erase. A key store of an earlier version (``keystore.db``) is migrated
on first use (``migrate``).

**Registration.** ``seal_document`` seals a registered document, or registers the file first
(``--classification`` is then required), so ``expunge seal PATH`` alone puts a new file
under the ledger's control. The ``seal`` event is recorded before the plaintext is
shredded (by ``destroy.seal_document``, with its own certificate).

**When the erase is Purge.** The certificate of a key erasure claims NIST Purge only when
(1) no plaintext ever existed outside the original file, which the seal command overwrote:
the ``seal`` event is the document's first event after ``register`` and no plaintext copy
was recorded since (``unseal -o OUT`` records OUT as one, and the key store records every
release of the key for plaintext); and (2) no copy of the key can be read back from the key
store's medium: the slot file's filesystem passes the checks ``shred`` applies and is not
on flash or in memory (``medium``), and a migrated key's old KEK was overwritten where that
holds too. Otherwise the erase is Clear, and the certificate says why (the plaintext copies
overwritten, the limitations of the key store).

The key-absence proof is two verifications: the slot read back from the medium
(``key-slot-read-back``: zeros) and a ``key-scan`` of every file of the key store for the
wrapped and the raw key; each place they are found is a mismatch, and fails the certificate.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.workflows.cryptoerase.kek import kek_tag, station_kek
    from expunge.workflows.cryptoerase.keys import (
        erase_document_key,
        record_key_certificate,
        sealed_and_keyed,
        sealed_before_copies,
    )
    from expunge.workflows.cryptoerase.luks import (
        LuksContainerErase,
        check_luks_volume,
        erase_luks,
        erase_luks_container,
    )
    from expunge.workflows.cryptoerase.migrate import Migration, migrate_legacy, migration_pending
    from expunge.workflows.cryptoerase.opening import keystore_folder, open_keystore
    from expunge.workflows.cryptoerase.sealed import (
        SEALED_SUFFIX,
        SealedDocument,
        Unsealed,
        check_sealable,
        seal_document,
        unseal_document,
    )

__all__ = [
    "SEALED_SUFFIX",
    "LuksContainerErase",
    "Migration",
    "SealedDocument",
    "Unsealed",
    "check_luks_volume",
    "check_sealable",
    "erase_document_key",
    "erase_luks",
    "erase_luks_container",
    "kek_tag",
    "keystore_folder",
    "migrate_legacy",
    "migration_pending",
    "open_keystore",
    "record_key_certificate",
    "seal_document",
    "sealed_and_keyed",
    "sealed_before_copies",
    "station_kek",
    "unseal_document",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
