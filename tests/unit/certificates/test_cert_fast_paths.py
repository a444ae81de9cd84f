"""The fast paths of certificate reading give the verdict of the strict paths they skip:
the same certificate, or the same error, on any bytes (tampered ones above all)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expunge.certificates import Certificate
from expunge.certificates.dsse import _b64decode, _b64decode_lenient
from expunge.core.errors import IntegrityError
from tests.support.tamper_fixtures import sample_certificate

PAYLOAD = sample_certificate().canonical()


def _outcome(read: Any, data: Any) -> tuple[str, Any]:
    try:
        return "read", read(data)
    except IntegrityError as exc:
        return type(exc).__name__, exc.message


def _same_verdict(data: bytes) -> None:
    fast = _outcome(Certificate.from_json, data)
    assert fast == _outcome(Certificate._from_json_strictly, data)


def test_the_canonical_payload_reads_back_as_its_certificate() -> None:
    assert Certificate.from_json(PAYLOAD) == sample_certificate()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # A duplicate key: the parsed object has one, the bytes two.
        (b'{"certificate_id":', b'{"certificate_id":"' + b"0" * 26 + b'","certificate_id":'),
        # A whole number written as a float: Python writes it back the same, RFC 8785 not.
        (b'"block_size":4096', b'"block_size":4096.0'),
        (b'"block_size":4096', b'"block_size":1e+16'),
        # An integer beyond 2**53 (and so beyond what every reader holds exactly).
        (b'"inode":1001', b'"inode":36028797018963968'),
        (b'"inode":1001', b'"inode":-36028797018963968'),
        (b'"inode":1001', b'"inode":NaN'),
        # Not the canonical bytes: spacing, escapes, key order, a BOM, trailing data.
        (b'{"certificate_id":', b'{ "certificate_id":'),
        (b'"host":"wipe-station-1"', b'"host":"wipe\\u002dstation-1"'),
        (b'"errors":[],"finished_at"', b'"finished_at":"2026-03-02T09:15:59.500Z","errors":[],"x"'),
        (b'{"certificate_id":', b'\xef\xbb\xbf{"certificate_id":'),
        (b'"version":1}', b'"version":1} '),
        (b'"version":1}', b'"version":1}{}'),
        # A character outside the BMP escaped (RFC 8785 writes it raw).
        (b'"notes":"retention expired"', b'"notes":"\\ud83d\\udd12"'),
        (b'"host":"wipe-station-1"', b'"host":"\xff"'),
        # A value of the wrong type, an unknown field (canonical, but not a certificate).
        (b'"inode":1001', b'"inode":"1001"'),
        (b'"version":1}', b'"version":1,"zzz":1}'),
    ],
)
def test_a_tampered_payload_gets_the_strict_verdict(old: bytes, new: bytes) -> None:
    assert old in PAYLOAD
    data = PAYLOAD.replace(old, new, 1)
    _same_verdict(data)
    with pytest.raises(IntegrityError):
        Certificate.from_json(data)


def test_a_character_outside_the_bmp_reads_alike() -> None:
    # Where RFC 8785 and Python may order keys apart, the fast path defers to rfc8785.
    data = PAYLOAD.replace(b'"retention expired"', '"\U0001f512"'.encode(), 1)
    _same_verdict(data)
    assert Certificate.from_json(data).notes == "\U0001f512"


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(PAYLOAD) - 1), st.integers(0, 255))
def test_any_changed_byte_gets_the_strict_verdict(position: int, value: int) -> None:
    data = PAYLOAD[:position] + bytes([value]) + PAYLOAD[position + 1 :]
    _same_verdict(data)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="QUJDab09+/-_=", max_size=14))
def test_base64_fast_path_decodes_as_the_lenient_reader(text: str) -> None:
    assert _outcome(lambda t: _b64decode(t, "x"), text) == _outcome(
        lambda t: _b64decode_lenient(t, "x"), text
    )


@pytest.mark.parametrize("text", ["QUJD===", "QUJD====", "QQ==QQ==", "=QUJD"])
def test_base64_padding_that_strict_c_decoding_lets_through_is_refused(text: str) -> None:
    with pytest.raises(IntegrityError, match="misplaced '='"):
        _b64decode(text, "payload")
