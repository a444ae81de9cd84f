"""Entry signatures checked under the trust store's station keys, the many of a ledger
appended one command at a time verified in worker processes.

A worker returns what verified as ``(keyid, signature, BLAKE3 of the message)``; the
verifier the chain walk uses answers from that set and verifies anything else itself. The
message is part of the key, so a signature copied onto another entry is never taken for
verified.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

import blake3
from cryptography.exceptions import InvalidSignature

from expunge.certificates import TrustStore
from expunge.ledger.entries import RawEntry
from expunge.ledger.signing import EntryVerifier, entry_message, unsigned_record
from expunge.workflows.records import trust_verifier

SIGNED_MARK = b'"signature":{'
# The end of a canonical v2 record that closes a transaction (keys sorted: signature,
# station, time, version). Only a shortcut for the workers: whatever it finds is verified,
# and what it misses the parent verifies itself.
_CLOSING = re.compile(
    rb'"signature":\{"from_seq":\d+,"sig":"([0-9a-f]{128})"\},'
    rb'"station":\{"host":"(?:[^"\\]|\\.)*","keyid":"([0-9a-f]{64})"\},"time":"[^"]*",'
    rb'"version":2\}$'
)

Verified = frozenset[tuple[str, bytes, bytes]]


def verify_entry_signatures(raws: Iterable[RawEntry], trust: TrustStore) -> Verified:
    """In a worker: the signatures of signed records that verify under station keys.

    The station and signature are found at the end of the record's bytes, without parsing
    it; the parent reads every record strictly, and walks them itself.
    """
    found: set[tuple[str, bytes, bytes]] = set()
    keys = trust.station_keys
    for raw in raws:
        closing = _CLOSING.search(raw.record, max(len(raw.record) - 512, 0))
        if closing is None:
            continue
        sig, kid = closing.group(1).decode(), closing.group(2).decode()
        public = keys.get(kid)
        if public is None:
            continue
        signature = bytes.fromhex(sig)
        unsigned = unsigned_record(raw.record, sig)
        if unsigned is None:
            continue
        message = entry_message(raw.ledger_id, raw.seq, raw.prev_hash, unsigned)
        try:
            public.verify(signature, message)
        except InvalidSignature:
            continue
        found.add((kid, signature, blake3.blake3(message).digest()))
    return frozenset(found)


def entry_verifier(
    trust: TrustStore, verified: Callable[[], Verified] = frozenset
) -> EntryVerifier:
    """Signatures accepted when made by a station key of ``trust``; those ``verified``
    returns (what the workers verified, collected when first asked) are not verified
    again."""
    verify = trust_verifier(trust)
    known = functools.cache(verified)

    def check(message: bytes, kid: str, signature: bytes) -> bool:
        if (kid, signature, blake3.blake3(message).digest()) in known():
            return True
        return verify(message, kid, signature)

    return check
