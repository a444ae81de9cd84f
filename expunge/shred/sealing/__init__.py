"""Sealed documents: a file encrypted under its own key, so destroying the key kills every copy.

A sealed file can be copied anywhere; while its 256-bit document key exists (wrapped under
the station's key-encryption key, in the ledger's key store, never beside the file) it can
be unsealed, and once the key is destroyed every copy is noise. Cryptographic erase in the
sense of NIST SP 800-88.

Format, version 1 (integers big-endian)::

    header body   magic         8  b"\\x89EXSEAL\\n"
                  version       2  1
                  algorithm     2  1 = AES-256-GCM
                  chunk size    4  1 MiB of plaintext per chunk
                  nonce prefix  8  random, per file
                  key id       16  HMAC-SHA256(document key, "expunge key id v1")[:16]
                  doc id len    2
                  doc id        n  UTF-8
    header tag   16  AES-GCM tag of nothing, AAD = header body, nonce = prefix || ffffffff
    chunk i          AES-GCM ciphertext || 16-byte tag, nonce = prefix || u32 i,
                     AAD = header body || u32 i || u8 final

Every chunk but the last holds exactly one chunk size of plaintext; the last one, flagged
final, holds less, possibly nothing (a 0-byte document is one empty final chunk; a 1 MiB
document is a full chunk and an empty final one). So a reader knows a chunk is final from
its length alone, and:

- truncation at a chunk boundary leaves no final chunk; truncation inside a chunk, or data
  appended after the final chunk, makes the last chunk fail to authenticate;
- reordered chunks fail: the index is in the nonce and in the AAD;
- a chunk spliced from another sealed file fails: another file has another nonce prefix
  and header (the header body is in every chunk's AAD), even under the same key;
- an edited header fails its own tag before any chunk is read.

The key id names the key in the key store without revealing it, and commits to it: GCM
alone does not, so checking the id first tells "wrong key" apart from "tampered".

Streaming in constant memory: 4 MiB of chunks are read at once and each chunk encrypted
(``update_into``) into one of two reused buffers, which a writer thread writes and hashes
(BLAKE3) while the next batch is read: the cipher, the hash and the copies run in parallel,
so the throughput is that of a plain copy. ``seal_to_path`` and ``unseal_to_path`` write to
a temporary file (``O_EXCL``, mode 0600) beside the destination and give it its name only
once complete and synced; a failed unseal overwrites the partial plaintext before removing
it, so no authenticated chunk survives in the free space of OUT's filesystem.
"""

from typing import TYPE_CHECKING

from expunge.core.lazy import lazy_exports

if TYPE_CHECKING:
    from expunge.shred.sealing.header import (
        ALGORITHM_AES256_GCM,
        CHUNK_SIZE,
        MAGIC,
        MAX_DOC_ID_BYTES,
        NONCE_PREFIX_BYTES,
        TAG_BYTES,
        VERSION,
        SealHeader,
        read_header,
    )
    from expunge.shred.sealing.keys import (
        KEY_BYTES,
        KEY_ID_BYTES,
        key_id,
        new_document_key,
        new_kek,
        unwrap_key,
        wrap_key,
    )
    from expunge.shred.sealing.paths import read_sealed_header, seal_to_path, unseal_to_path
    from expunge.shred.sealing.stream import SealInfo, UnsealInfo, seal_stream, unseal_stream

__all__ = [
    "ALGORITHM_AES256_GCM",
    "CHUNK_SIZE",
    "KEY_BYTES",
    "KEY_ID_BYTES",
    "MAGIC",
    "MAX_DOC_ID_BYTES",
    "NONCE_PREFIX_BYTES",
    "TAG_BYTES",
    "VERSION",
    "SealHeader",
    "SealInfo",
    "UnsealInfo",
    "key_id",
    "new_document_key",
    "new_kek",
    "read_header",
    "read_sealed_header",
    "seal_stream",
    "seal_to_path",
    "unseal_stream",
    "unseal_to_path",
    "unwrap_key",
    "wrap_key",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
