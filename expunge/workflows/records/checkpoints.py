"""Checkpoints and anchors: the station key signs, the trust store verifies, the head anchors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from expunge.certificates import LedgerAnchor, keyid
from expunge.core.errors import IntegrityError
from expunge.ledger.chain import CheckpointSigner, CheckpointVerifier
from expunge.ledger.store import LedgerStore

if TYPE_CHECKING:
    from expunge.certificates import TrustStore


def station_signer(key: Ed25519PrivateKey) -> CheckpointSigner:
    """Checkpoints signed with the station key (``keyid`` as in certificates)."""
    kid = keyid(key.public_key())
    return lambda message: (kid, key.sign(message))


def trust_verifier(trust: TrustStore) -> CheckpointVerifier:
    """Signatures (of checkpoints, entries, head records) accepted when made by a station
    key of ``trust``."""

    def verify(message: bytes, kid: str, signature: bytes) -> bool:
        public = trust.station_keys.get(kid)
        if public is None:
            raise IntegrityError(f"signed by key {kid}, which is not a trusted station key")
        try:
            public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return verify


def current_anchor(store: LedgerStore | None) -> LedgerAnchor | None:
    """The ledger's head now, as a certificate records it (see the module docstring);
    ``None`` without a ledger or for an empty one."""
    head = store.head() if store is not None else None
    if head is None:
        return None
    return LedgerAnchor(head.ledger_id, head.seq, head.hash.hex())
