"""The per-seq hash map of a chain walk: appends, gaps, re-sets and refusals."""

from __future__ import annotations

import pytest

from expunge.ledger.seqhashes import SeqHashes


def _digest(n: int) -> bytes:
    return bytes([n]) * 32


def test_consecutive_seqs_read_back() -> None:
    hashes = SeqHashes()
    for seq in range(1, 6):
        hashes[seq] = _digest(seq)
    assert [hashes.get(seq) for seq in range(1, 6)] == [_digest(seq) for seq in range(1, 6)]
    assert hashes.get(6) is None and hashes.get(0) is None
    assert 5 in hashes and 6 not in hashes


def test_a_gap_leaves_the_missing_seqs_without_hash() -> None:
    hashes = SeqHashes()
    hashes[1] = _digest(1)
    hashes[4] = _digest(4)
    hashes[5] = _digest(5)  # the next seq after a gap
    assert hashes.get(2) is None and hashes.get(3) is None
    assert 3 not in hashes
    assert hashes.get(4) == _digest(4) and hashes.get(5) == _digest(5)
    hashes[2] = _digest(2)  # filled in later
    assert hashes.get(2) == _digest(2) and hashes.get(3) is None


def test_a_seq_set_again_keeps_the_last_hash() -> None:
    hashes = SeqHashes()
    hashes[1] = _digest(1)
    hashes[2] = _digest(2)
    hashes[1] = _digest(9)
    assert hashes.get(1) == _digest(9) and hashes.get(2) == _digest(2)


@pytest.mark.parametrize(("seq", "digest"), [(0, bytes(32)), (1, bytes(31)), (1, bytes(33))])
def test_bad_seq_or_hash_is_refused(seq: int, digest: bytes) -> None:
    hashes = SeqHashes()
    with pytest.raises(ValueError):
        hashes[seq] = digest
    assert hashes.get(1) is None
