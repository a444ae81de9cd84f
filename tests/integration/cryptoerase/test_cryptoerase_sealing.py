"""Sealed documents: round trips at every chunk boundary, and every tampering rejected.

A rejected unseal names what failed (header, or the chunk), and leaves neither OUT nor a
temporary file behind.
"""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import blake3
import pytest

from expunge.core.errors import (
    EXIT_INTEGRITY,
    EXIT_TARGET,
    ExpungeError,
    IntegrityError,
    TargetError,
    UsageError,
)
from expunge.shred import sealing
from expunge.shred.patterns import PassPattern, expected_bytes

MIB = 1 << 20
UNIT = sealing.CHUNK_SIZE + sealing.TAG_BYTES


def b3(path: Path) -> str:
    return blake3.blake3(path.read_bytes()).hexdigest()


def plaintext(path: Path, size: int) -> Path:
    path.write_bytes(expected_bytes(PassPattern.random(), 0, size))
    return path


@pytest.fixture
def key() -> bytes:
    return sealing.new_document_key()


def seal(tmp_path: Path, key: bytes, size: int, name: str = "doc") -> tuple[Path, Path]:
    plain = plaintext(tmp_path / f"{name}.bin", size)
    sealed = tmp_path / f"{name}.bin.sealed"
    sealing.seal_to_path(plain, sealed, key, "DOC-7")
    return plain, sealed


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@pytest.mark.parametrize(
    "size",
    [0, 1, 1000, MIB - 1, MIB, MIB + 1, 3 * MIB + 5, 4 * MIB, 4 * MIB + 1, 9 * MIB],
)
def test_round_trip(tmp_path: Path, key: bytes, size: int) -> None:
    plain = plaintext(tmp_path / "doc.bin", size)
    sealed = tmp_path / "doc.bin.sealed"
    info = sealing.seal_to_path(plain, sealed, key, "DOC-7")
    chunks = size // sealing.CHUNK_SIZE + 1  # the final chunk is short, possibly empty
    header = sealing.read_sealed_header(sealed)
    assert info.chunks == chunks and info.plaintext_bytes == size
    assert info.sealed_bytes == sealed.stat().st_size == header.size + size + 16 * chunks
    assert info.sealed_digest == b3(sealed)
    assert (header.doc_id, header.key_id.hex()) == ("DOC-7", sealing.key_id(key))
    assert info.key_id == sealing.key_id(key)
    assert sealed.stat().st_mode & 0o777 == 0o600

    out = tmp_path / "out.bin"
    unsealed = sealing.unseal_to_path(sealed, out, key)
    assert b3(out) == b3(plain) == unsealed.plaintext_digest
    assert (unsealed.chunks, unsealed.plaintext_bytes) == (chunks, size)
    assert unsealed.sealed_bytes == info.sealed_bytes
    assert leftovers(tmp_path) == []


def test_two_seals_of_one_document_differ(tmp_path: Path, key: bytes) -> None:
    plain = plaintext(tmp_path / "doc.bin", 5000)
    sealing.seal_to_path(plain, tmp_path / "a.sealed", key, "DOC-7")
    sealing.seal_to_path(plain, tmp_path / "b.sealed", key, "DOC-7")
    a, b = (tmp_path / "a.sealed").read_bytes(), (tmp_path / "b.sealed").read_bytes()
    assert len(a) == len(b) and a != b
    assert plain.read_bytes()[:64] not in a


def test_seal_and_unseal_stream_through_pipes(key: bytes) -> None:
    data = expected_bytes(PassPattern.random(), 0, 2 * MIB + 77)
    sealed = _through_pipe(lambda r, w: sealing.seal_stream(r, w, key, "PIPE-1"), data)
    back = _through_pipe(lambda r, w: sealing.unseal_stream(r, w, key), sealed)
    assert back == data


def _through_pipe(action: Callable[[int, int], object], data: bytes) -> bytes:
    """Run ``action(read_fd, write_fd)`` with pipes on both sides (nothing seekable)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    collected: list[bytes] = []

    def feed() -> None:
        with os.fdopen(in_w, "wb") as pipe:
            pipe.write(data)

    def drain() -> None:
        with os.fdopen(out_r, "rb") as pipe:
            collected.append(pipe.read())

    threads = [threading.Thread(target=feed), threading.Thread(target=drain)]
    for thread in threads:
        thread.start()
    try:
        action(in_r, out_w)
    finally:
        os.close(in_r)
        os.close(out_w)
        for thread in threads:
            thread.join()
    return collected[0]


def test_memory_stays_constant(tmp_path: Path, key: bytes) -> None:
    plain = plaintext(tmp_path / "doc.bin", 48 * MIB)
    tracemalloc.start()
    try:
        sealing.seal_to_path(plain, tmp_path / "doc.sealed", key, "DOC-7")
        sealing.unseal_to_path(tmp_path / "doc.sealed", tmp_path / "out", key)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * MIB, peak


def test_existing_outputs_are_never_replaced(tmp_path: Path, key: bytes) -> None:
    plain, sealed = seal(tmp_path, key, 1000)
    with pytest.raises(TargetError, match="already exists"):
        sealing.seal_to_path(plain, sealed, key, "DOC-7")
    out = tmp_path / "out"
    out.write_bytes(b"keep me")
    with pytest.raises(TargetError, match="already exists") as caught:
        sealing.unseal_to_path(sealed, out, key)
    assert caught.value.exit_code == EXIT_TARGET
    assert out.read_bytes() == b"keep me"
    sealing.unseal_to_path(sealed, out, key, overwrite=True)
    assert out.read_bytes() == plain.read_bytes()
    assert leftovers(tmp_path) == []


def test_bad_document_ids_are_usage_errors(tmp_path: Path, key: bytes) -> None:
    plain = plaintext(tmp_path / "doc.bin", 10)
    for bad in ("", "x" * 2000, "a\0b"):
        with pytest.raises(UsageError, match="document id"):
            sealing.seal_to_path(plain, tmp_path / "doc.sealed", key, bad)
    assert not (tmp_path / "doc.sealed").exists() and leftovers(tmp_path) == []


def test_a_file_that_is_not_sealed_is_a_target_error(tmp_path: Path, key: bytes) -> None:
    other = plaintext(tmp_path / "other.bin", 5000)
    with pytest.raises(TargetError, match="is not a sealed file") as caught:
        sealing.unseal_to_path(other, tmp_path / "out", key)
    assert caught.value.exit_code == EXIT_TARGET
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_wrong_key_is_rejected(tmp_path: Path, key: bytes) -> None:
    _plain, sealed = seal(tmp_path, key, 3 * MIB)
    other = sealing.new_document_key()
    out = tmp_path / "out"
    with pytest.raises(IntegrityError) as caught:
        sealing.unseal_to_path(sealed, out, other)
    line = caught.value.diagnostics()
    assert line.startswith(f"{sealed}: the key given does not open it")
    assert sealing.key_id(key) in line and sealing.key_id(other) in line
    assert caught.value.exit_code == EXIT_INTEGRITY
    assert not out.exists() and leftovers(tmp_path) == []


def flip(data: bytearray, offset: int) -> None:
    data[offset] ^= 0x01


def header_size(sealed: Path) -> int:
    return sealing.read_sealed_header(sealed).size


Tamper = Callable[[bytearray, int, bytes], bytearray]
"""(sealed bytes, header size, another sealed file under the same key) -> tampered bytes."""


def _flip_at(offset: Callable[[int], int]) -> Tamper:
    def tamper(data: bytearray, header: int, _other: bytes) -> bytearray:
        flip(data, offset(header))
        return data

    return tamper


def _cut(length: Callable[[int], int]) -> Tamper:
    return lambda data, header, _other: data[: length(header)]


def _swap_chunks(data: bytearray, header: int, _other: bytes) -> bytearray:
    first = data[header : header + UNIT]
    data[header : header + UNIT] = data[header + UNIT : header + 2 * UNIT]
    data[header + UNIT : header + 2 * UNIT] = first
    return data


def _splice(data: bytearray, header: int, other: bytes) -> bytearray:
    data[header + UNIT : header + 2 * UNIT] = other[header + UNIT : header + 2 * UNIT]
    return data


def _append(data: bytearray, _header: int, _other: bytes) -> bytearray:
    return data + b"\0" * 100


# The sealed file holds 3.5 MiB: chunks 0, 1, 2 are full, chunk 3 is the short final one.
TAMPERING: dict[str, tuple[Tamper, type[ExpungeError], str]] = {
    "magic": (_flip_at(lambda h: 2), TargetError, "is not a sealed file"),
    "version": (_flip_at(lambda h: 9), TargetError, "was sealed with format version 0"),
    "chunk size": (
        _flip_at(lambda h: 14),
        IntegrityError,
        "tampered or truncated header (chunk size",
    ),
    "nonce prefix": (
        _flip_at(lambda h: 17),
        IntegrityError,
        "tampered or truncated header (it does not authenticate",
    ),
    "key id": (_flip_at(lambda h: 30), IntegrityError, "wrong key, or the header was altered"),
    "doc id": (
        _flip_at(lambda h: h - 17),
        IntegrityError,
        "tampered or truncated header (it does not authenticate",
    ),
    "header tag": (
        _flip_at(lambda h: h - 1),
        IntegrityError,
        "tampered or truncated header (it does not authenticate",
    ),
    "header cut": (_cut(lambda h: h - 3), IntegrityError, "tampered or truncated header (it ends"),
    "chunk body": (
        _flip_at(lambda h: h + UNIT + 12345),
        IntegrityError,
        "tampered or truncated at chunk 1 (it does not authenticate)",
    ),
    "chunk tag": (
        _flip_at(lambda h: h + UNIT - 1),
        IntegrityError,
        "tampered or truncated at chunk 0 (it does not authenticate)",
    ),
    "final chunk tag": (
        _flip_at(lambda h: h + 3 * UNIT + MIB // 2 + 15),
        IntegrityError,
        "tampered or truncated at chunk 3 (it does not authenticate)",
    ),
    "cut at a chunk boundary": (
        _cut(lambda h: h + 2 * UNIT),
        IntegrityError,
        "tampered or truncated at chunk 2 (the final chunk is missing)",
    ),
    "cut before the final chunk": (
        _cut(lambda h: h + 3 * UNIT),
        IntegrityError,
        "tampered or truncated at chunk 3 (the final chunk is missing)",
    ),
    "cut inside a chunk": (
        _cut(lambda h: h + UNIT + 1000),
        IntegrityError,
        "tampered or truncated at chunk 1 (it does not authenticate)",
    ),
    "cut inside the final tag": (
        _cut(lambda h: h + 3 * UNIT + 7),
        IntegrityError,
        "tampered or truncated at chunk 3 (the file ends inside it)",
    ),
    "chunks swapped": (
        _swap_chunks,
        IntegrityError,
        "tampered or truncated at chunk 0 (it does not authenticate)",
    ),
    "chunk spliced from another file": (
        _splice,
        IntegrityError,
        "tampered or truncated at chunk 1 (it does not authenticate)",
    ),
    "garbage appended": (
        _append,
        IntegrityError,
        "tampered or truncated at chunk 3 (it does not authenticate)",
    ),
}


@pytest.fixture(scope="module")
def sealed_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, bytes, bytes]:
    """(key, plaintext, sealed, another sealed file of the same document and key)."""
    folder = tmp_path_factory.mktemp("sealed")
    key = sealing.new_document_key()
    plain = plaintext(folder / "doc.bin", 3 * MIB + MIB // 2)
    sealing.seal_to_path(plain, folder / "a.sealed", key, "DOC-7")
    sealing.seal_to_path(plain, folder / "b.sealed", key, "DOC-7")
    return (
        key,
        plain.read_bytes(),
        (folder / "a.sealed").read_bytes(),
        (folder / "b.sealed").read_bytes(),
    )


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_rejected_and_nothing_is_left_behind(
    tmp_path: Path, sealed_pair: tuple[bytes, bytes, bytes, bytes], case: str
) -> None:
    key, _plain, sealed, other = sealed_pair
    tamper, error, message = TAMPERING[case]
    probe = tmp_path / "probe.sealed"
    probe.write_bytes(sealed)
    header = sealing.read_sealed_header(probe).size
    damaged = tmp_path / "damaged.sealed"
    damaged.write_bytes(bytes(tamper(bytearray(sealed), header, other)))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "doc.bin"
    with pytest.raises(error) as caught:
        sealing.unseal_to_path(damaged, out, key)
    line = caught.value.diagnostics()
    assert line.startswith(f"{damaged}: ") and message in line, line
    assert "\n" not in line
    assert list(out_dir.iterdir()) == []


def test_the_untampered_pair_unseals(
    tmp_path: Path, sealed_pair: tuple[bytes, bytes, bytes, bytes]
) -> None:
    key, plain, sealed, other = sealed_pair
    for name, data in (("a", sealed), ("b", other)):
        (tmp_path / name).write_bytes(data)
        sealing.unseal_to_path(tmp_path / name, tmp_path / f"{name}.out", key)
        assert (tmp_path / f"{name}.out").read_bytes() == plain


def test_key_wrap_round_trip_and_wrong_kek() -> None:
    kek, key = sealing.new_kek(), sealing.new_document_key()
    wrapped = sealing.wrap_key(kek, key)
    assert len(wrapped) == 40 and key not in wrapped
    assert sealing.unwrap_key(kek, wrapped) == key
    with pytest.raises(IntegrityError, match="does not unwrap"):
        sealing.unwrap_key(sealing.new_kek(), wrapped)
    tampered = bytearray(wrapped)
    flip(tampered, 5)
    with pytest.raises(IntegrityError, match="does not unwrap"):
        sealing.unwrap_key(kek, bytes(tampered))
    with pytest.raises(UsageError, match="32 bytes"):
        sealing.wrap_key(kek[:16], key)


def test_key_ids_name_keys_without_revealing_them() -> None:
    key = sealing.new_document_key()
    assert sealing.key_id(key) == sealing.key_id(bytes(key))
    assert len(sealing.key_id(key)) == 32
    assert sealing.key_id(key) != sealing.key_id(sealing.new_document_key())
    assert key.hex()[:32] != sealing.key_id(key)
