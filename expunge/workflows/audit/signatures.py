"""Entry signatures checked under the trust store's station keys, the many of a ledger
appended one command at a time verified in worker processes.

A worker returns what verified as ``(keyid, signature, BLAKE3 of the message)``; the
verifier the chain walk uses answers from that set and verifies anything else itself. The
message is part of the key, so a signature copied onto another entry is never taken for
verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import blake3
from cryptography.exceptions import InvalidSignature

from expunge.certificates import TrustStore
from expunge.ledger.entries import RawEntry
from expunge.ledger.signing import EntryVerifier, entry_message, unsigned_record
from expunge.workflows.records import trust_verifier

SIGNED_MARK = b'"signature":{'

Verified = frozenset[tuple[str, bytes, bytes]]


def verify_entry_signatures(raws: Iterable[RawEntry], trust: TrustStore) -> Verified:
    """In a worker: the signatures of signed records that verify under station keys.

    Records are read with the plain JSON parser only to find the station and signature;
    the parent reads them strictly, and walks them itself.
    """
    found: set[tuple[str, bytes, bytes]] = set()
    keys = trust.station_keys
    for raw in raws:
        try:
            record = json.loads(raw.record)
            kid, sig = record["station"]["keyid"], record["signature"]["sig"]
            public, signature = keys[kid], bytes.fromhex(sig)
        except (ValueError, KeyError, TypeError):
            continue
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


def entry_verifier(trust: TrustStore, verified: Verified = frozenset()) -> EntryVerifier:
    """Signatures accepted when made by a station key of ``trust``; those in ``verified``
    (from workers) are not verified again."""
    verify = trust_verifier(trust)

    def check(message: bytes, kid: str, signature: bytes) -> bool:
        if (kid, signature, blake3.blake3(message).digest()) in verified:
            return True
        return verify(message, kid, signature)

    return check
