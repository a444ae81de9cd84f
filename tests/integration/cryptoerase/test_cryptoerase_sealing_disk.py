"""Sealed documents on real disks: a large round trip, and no plaintext left by a failed unseal.

A failed unseal has already written the chunks that authenticated before the damaged one.
They must not survive in the free space of OUT's filesystem: the raw image is scanned for
a canary that fills the plaintext. A control file deleted the ordinary way is found by the
same scan, so the test can fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from expunge.core.errors import IntegrityError
from expunge.shred import sealing
from expunge.shred.patterns import PassPattern
from tests.support import count_in_file, mounted_image, needs_root, unmount

MIB = 1 << 20


def b3_file(path: Path) -> str:
    digest = blake3.blake3()
    with open(path, "rb") as f:
        while block := f.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.slow
def test_a_large_document_round_trips(tmp_path: Path) -> None:
    size = 256 * MIB + 4097
    plain = tmp_path / "large.bin"
    stream = PassPattern.random().stream()
    buffer = bytearray(8 * MIB)
    with open(plain, "wb") as f:
        for offset in range(0, size, len(buffer)):
            view = memoryview(buffer)[: min(len(buffer), size - offset)]
            stream.fill(view, offset)
            f.write(view)
    key = sealing.new_document_key()
    sealed = tmp_path / "large.bin.sealed"
    info = sealing.seal_to_path(plain, sealed, key, "LARGE-1")
    assert info.chunks == 257 and info.sealed_digest == b3_file(sealed)
    out = tmp_path / "large.out"
    unsealed = sealing.unseal_to_path(sealed, out, key)
    assert unsealed.plaintext_bytes == size
    assert b3_file(out) == b3_file(plain) == unsealed.plaintext_digest


@needs_root
def test_a_failed_unseal_leaves_no_plaintext_on_the_disk(tmp_path: Path) -> None:
    marker = f"UNSEAL-CANARY-{os.urandom(6).hex()}|".encode()
    control = f"CONTROL-CANARY-{os.urandom(6).hex()}|".encode()
    plain = tmp_path / "doc.bin"
    plain.write_bytes((marker * (96 * MIB // len(marker) + 1))[: 96 * MIB])
    key = sealing.new_document_key()
    sealed = tmp_path / "doc.bin.sealed"
    sealing.seal_to_path(plain, sealed, key, "DOC-9")
    damaged = bytearray(sealed.read_bytes())
    header = sealing.read_sealed_header(sealed).size
    damaged[header + 90 * (MIB + 16) + 5] ^= 0x01  # chunks 0..89 authenticate first
    sealed.write_bytes(bytes(damaged))

    with mounted_image(tmp_path, "ext4", 192 * MIB) as image:
        deleted = image.mount / "control.bin"
        with open(deleted, "wb") as f:
            f.write(control * (4 * MIB // len(control)))
            f.flush()
            os.fsync(f.fileno())
        deleted.unlink()
        with pytest.raises(IntegrityError, match="at chunk 90"):
            sealing.unseal_to_path(sealed, image.mount / "doc.bin", key)
        assert list(image.mount.iterdir()) == [image.mount / "lost+found"]
        unmount(image)
        found = count_in_file(image.image, [marker, control])
    assert found[control] > 0, "the scan cannot see deleted data: the test proves nothing"
    assert found[marker] == 0, found
