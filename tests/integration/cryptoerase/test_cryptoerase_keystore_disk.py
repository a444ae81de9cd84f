"""The key store on real filesystems: a destroyed key is gone from the raw image.

With the home on a loop-mounted image, documents are sealed and some destroyed through the
CLI; the image is then unmounted and read raw, as an attacker holding the disk would: every
occurrence of the destroyed keys' bytes (wrapped and raw) is searched for, and the KEK (read
from the image itself) is tried at every offset near every occurrence of each document's id.
A document whose key was not destroyed is the control: the same search finds and unwraps
it, so the search can fail. Where the filesystem does not overwrite in place (btrfs) or
journals data, the erase is still done but certified Clear, with the limitation named.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from cryptography.hazmat.primitives import keywrap

from tests.support import MountedImage, mounted_image, needs_root, unmount
from tests.support.sealflow import certificate, destroy, seal, wrapped_key

DOCS = [f"DOC-FX-{n}" for n in range(5)]
DESTROYED = DOCS[:3]
WINDOW = 1024


def _seal_all(home: Path, folder: Path) -> dict[str, tuple[bytes, bytes]]:
    """Seal every document of ``DOCS``; their (wrapped, raw) keys, read before any erase."""
    keys = {}
    for doc in DOCS:
        plain = folder / f"{doc}.txt"
        plain.write_bytes(f"{doc} secret content ".encode() * 3000)
        seal(home, plain, "--doc", doc, "--classification", "confidential")
        wrapped = wrapped_key(home, doc)
        kek = (home / "station.kek").read_bytes()
        keys[doc] = (wrapped, keywrap.aes_key_unwrap(kek, wrapped))
    return keys


def _unwraps_near_ids(image: bytes, kek: bytes, doc: str) -> set[bytes]:
    """Every key that unwraps under ``kek`` at any offset near an occurrence of ``doc``."""
    found: set[bytes] = set()
    needle = doc.encode()
    start = image.find(needle)
    tried: set[int] = set()
    while start != -1:
        for offset in range(max(0, start - WINDOW), min(len(image) - 40, start + WINDOW)):
            if offset in tried:
                continue
            tried.add(offset)
            with contextlib.suppress(keywrap.InvalidUnwrap):
                found.add(keywrap.aes_key_unwrap(kek, image[offset : offset + 40]))
        start = image.find(needle, start + 1)
    return found


@needs_root
def test_destroyed_keys_are_nowhere_on_the_raw_image(tmp_path: Path) -> None:
    with mounted_image(tmp_path, "ext4", 64 << 20) as image:
        home = image.mount / "home"
        home.mkdir()
        keys = _seal_all(home, image.mount)
        for doc in DESTROYED:
            payload = certificate(destroy(home, doc)["certificate"])
            assert payload["sanitization"]["category"] == "Purge", payload["sanitization"]
            (subject,) = [s for s in payload["subjects"] if s["key_erasure"]]
            assert [v["status"] for v in subject["verifications"]] == ["passed", "passed"]
        unmount(image)
        raw = image.image.read_bytes()
    kek = _kek_on_image(raw, keys)
    for doc in DOCS:
        wrapped, key = keys[doc]
        unwrapped = _unwraps_near_ids(raw, kek, doc)
        if doc in DESTROYED:
            assert raw.count(wrapped) == 0 and raw.count(key) == 0, doc
            assert unwrapped == set(), doc
        else:  # the control: the same search on the same image finds a live key
            assert raw.count(wrapped) >= 1 and key in unwrapped, doc


def _kek_on_image(raw: bytes, keys: dict[str, tuple[bytes, bytes]]) -> bytes:
    """The station KEK as an attacker finds it: any 32 bytes that unwrap a live key."""
    wrapped, key = keys[DOCS[-1]]
    for kek in {raw[i : i + 32] for i in range(0, len(raw) - 32, 1024)}:  # a file starts a block
        try:
            if keywrap.aes_key_unwrap(kek, wrapped) == key:
                return kek
        except (keywrap.InvalidUnwrap, ValueError):
            continue
    raise AssertionError("the KEK is not on the image: the search proves nothing")


def _erase_with_home_on(image: MountedImage, documents: Path) -> dict[str, object]:
    """Seal and destroy a document kept outside ``image``, the home being on it."""
    home = image.mount / "home"
    home.mkdir()
    plain = documents / "memo.txt"
    plain.write_bytes(b"memo " * 1000)
    seal(home, plain, "--doc", "DOC-M1", "--classification", "confidential")
    return certificate(destroy(home, "DOC-M1")["certificate"])


@needs_root
def test_a_key_store_on_copy_on_write_is_erased_but_certified_clear(
    tmp_path: Path, btrfs_image: MountedImage
) -> None:
    payload = _erase_with_home_on(btrfs_image, tmp_path)
    sanitization = payload["sanitization"]
    assert isinstance(sanitization, dict) and sanitization["category"] == "Clear"
    assert "copy-on-write" in sanitization["category_reason"]
    assert sanitization["post_classification"].startswith("unchanged")
    limitations = {lim["code"]: lim for lim in payload["limitations"]}  # type: ignore[attr-defined]
    store = limitations["copy-on-write"]
    assert store["target"] == str(btrfs_image.mount / "home/keystore/slots") and store["remedy"]


@needs_root
def test_a_key_store_whose_data_is_journaled_is_certified_clear(tmp_path: Path) -> None:
    with mounted_image(tmp_path, "ext4", 64 << 20, "data=journal") as image:
        payload = _erase_with_home_on(image, tmp_path)
    sanitization = payload["sanitization"]
    assert isinstance(sanitization, dict) and sanitization["category"] == "Clear"
    codes = {lim["code"] for lim in payload["limitations"]}  # type: ignore[attr-defined]
    assert "data-journal" in codes
