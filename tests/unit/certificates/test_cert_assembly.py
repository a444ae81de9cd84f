"""Certificates serialized record by record, and read back record by record before signing."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from expunge.certificates import (
    Certificate,
    FileSubject,
    Limitation,
    Media,
    PassRecord,
    sign_certificate,
    verify_envelope,
)
from expunge.certificates.assembly import assemble
from expunge.certificates.keys import keyid
from expunge.core.canonical import strict_loads
from expunge.core.errors import IntegrityError
from tests.support.tamper_fixtures import file_record, sample_certificate

# Paths as a tree gives them: any text, astral characters included (RFC 8785 orders
# names by UTF-16 units, and Python's encoder is not used where they appear).
paths = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


def _certificate(names: list[str], sizes: list[int], interrupted: bool) -> Certificate:
    records = tuple(
        file_record(f"/srv/{name}", size, 1000 + index)
        for index, (name, size) in enumerate(zip(names, sizes, strict=False))
    )
    limitations = tuple(
        Limitation("journal-metadata", f"names may survive: {name}", "wipe the drive", name)
        for name in names[::2]
    )
    return replace(
        sample_certificate(),
        subjects=records,
        limitations=limitations,
        interrupted_by="stopped" if interrupted else None,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(paths, max_size=6),
    st.lists(st.integers(1, 2**40), min_size=6, max_size=6),
    st.booleans(),
)
def test_assembled_bytes_are_rfc8785s_of_the_whole(
    names: list[str], sizes: list[int], interrupted: bool
) -> None:
    """Record by record, the bytes are RFC 8785's of the whole certificate (throughputs
    that are whole floats and fractions, paths outside the BMP, no subject at all), and
    each item and the rest of the document sit where the assembly says."""
    certificate = _certificate(names, sizes, interrupted)
    whole = certificate.to_dict()
    assembled = certificate.assembled()
    assert assembled.data == bytes(rfc8785.dumps(whole))
    for name in ("subjects", "limitations"):
        for index, record in enumerate(whole[name]):
            assert assembled.item(name, index) == bytes(rfc8785.dumps(record))
    assert strict_loads(assembled.head()) == {**whole, "subjects": [], "limitations": []}


def test_members_must_have_ascii_names_that_do_not_repeat() -> None:
    with pytest.raises(IntegrityError, match="not ASCII"):
        assemble({"é": 1}, {})
    with pytest.raises(IntegrityError, match="repeat"):
        assemble({"a": 1}, {"a": ()})


def _signed(certificate: Certificate) -> Certificate:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    envelope = sign_certificate(certificate, key)
    return verify_envelope(envelope, {keyid(key.public_key()): key.public_key()}).certificate


def test_a_signed_certificate_of_many_subjects_verifies_as_itself() -> None:
    names = [f"d{i // 50}/f{i:04d}" for i in range(400)]
    certificate = _certificate(names, [4096] * 400, interrupted=False)
    assert _signed(certificate) == certificate
    assert _signed(replace(certificate, subjects=(), interrupted_by="stopped")).subjects == ()


def _dropping(key: str, original: Any) -> Any:
    def to_dict(self: object) -> dict[str, Any]:
        data: dict[str, Any] = original(self)
        data.pop(key)
        return data

    return to_dict


@pytest.mark.parametrize(
    ("record", "key", "where"),
    [
        (PassRecord, "synced", r"certificate\.subjects\[0\]\.passes\[0\]"),
        (FileSubject, "inode", r"certificate\.subjects\[0\]\.subject"),
        (Limitation, "remedy", r"certificate\.limitations\[0\]"),
        (Media, "serial", r"certificate\.media"),
    ],
)
def test_a_record_that_would_not_read_back_is_never_signed(
    monkeypatch: pytest.MonkeyPatch, record: type, key: str, where: str
) -> None:
    """A serialization that loses a field (a bug in a record's ``to_dict``) is refused at
    signing, naming where, in a subject, a limitation or the rest of the certificate."""
    monkeypatch.setattr(record, "to_dict", _dropping(key, record.to_dict))
    with pytest.raises(IntegrityError, match=where):
        _signed(sample_certificate())


def test_a_value_that_reads_back_as_another_is_never_signed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bytes that parse, but as a different certificate, are refused too."""
    original = Media.to_dict

    def upper(self: Media) -> dict[str, Any]:
        return {**original(self), "model": self.model.lower()}

    monkeypatch.setattr(Media, "to_dict", upper)
    with pytest.raises(IntegrityError, match=r"changes when read back \(certificate\)"):
        _signed(sample_certificate())


@settings(max_examples=8, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 2))
def test_an_envelope_written_in_chunks_is_its_canonical_json(
    tail: bytes, countersigned: int
) -> None:
    """The file's bytes, written a chunk of base64 at a time (a payload across several
    chunks, and countersignatures before it in name order), are RFC 8785's of the envelope."""
    from expunge.certificates.dsse import _BASE64_CHUNK, Envelope, Signature

    payload = bytes(range(256)) * (2 * _BASE64_CHUNK // 256) + tail
    signature = Signature("ab" * 32, bytes(64))
    nested = Envelope("application/vnd.expunge.validation+json", b"{}", (signature,))
    envelope = Envelope("t", payload, (signature,), (nested,) * countersigned)
    chunks = list(envelope.json_chunks())
    assert len(chunks) > 3
    assert b"".join(chunks) == bytes(rfc8785.dumps(envelope.to_dict())) + b"\n"
    assert Envelope.from_json(b"".join(chunks)) == envelope
