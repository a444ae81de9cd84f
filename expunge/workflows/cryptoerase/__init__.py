"""Cryptographic erase of sealed documents: seal, unseal, and destroy the key (layer 2).

A sealed document lives encrypted (``shred.sealing``) under its own document key; the key is
kept wrapped under the station's key-encryption key (``<home>/station.kek``, mode 0600) in
the key store (``<home>/keystore.db``), never beside the file. Destroying the wrapped key
(``SQLiteKeyStore.destroy``) kills every copy of the ciphertext at once, wherever it went:
NIST SP 800-88 cryptographic erase.

**Registration.** ``seal_document`` seals a registered document, or registers the file first
(``--classification`` is then required), so ``expunge seal PATH`` alone puts a new file
under the ledger's control. The ``seal`` event is recorded before the plaintext is
shredded (by ``destroy.seal_document``, with its own certificate).

**When the erase is Purge.** The certificate of a key erasure claims NIST Purge only when no
plaintext ever existed outside the original file, which the seal command overwrote: the
``seal`` event is the document's first event after ``register`` (no copy of the plaintext
was recorded before it), or the document was registered already sealed. Otherwise plaintext
copies may exist beyond the ledger's knowledge; the erase is then claimed as Clear and the
certificate names the plaintext copies that were overwritten.

The key-absence proof is a ``key-scan`` verification: every file of the key store (the
database and its ``-wal``/``-journal``/``-shm`` files) is scanned for the wrapped key's
bytes; each place they are found is a mismatch, and fails the certificate.
"""

from expunge.workflows.cryptoerase.kek import station_kek
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
from expunge.workflows.cryptoerase.sealed import (
    SEALED_SUFFIX,
    SealedDocument,
    check_sealable,
    seal_document,
    unseal_document,
)

__all__ = [
    "SEALED_SUFFIX",
    "LuksContainerErase",
    "SealedDocument",
    "check_luks_volume",
    "check_sealable",
    "erase_document_key",
    "erase_luks",
    "erase_luks_container",
    "record_key_certificate",
    "seal_document",
    "sealed_and_keyed",
    "sealed_before_copies",
    "station_kek",
    "unseal_document",
]
