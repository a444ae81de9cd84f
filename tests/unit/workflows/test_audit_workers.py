"""The audit's verification workers: each envelope handed out is answered by its key, with
the verdict on exactly that envelope, and batches go to the worker with least queued."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from expunge.certificates import sign_certificate
from expunge.workflows.audit import forked
from expunge.workflows.audit.forked import Workers
from expunge.workflows.audit.verdicts import Verifier
from tests.support.tamper_fixtures import INTRUDER, STATION, TRUST, sample_certificate


def _envelopes() -> tuple[dict[str, Any], dict[str, Any]]:
    good = sign_certificate(sample_certificate(), STATION).to_dict()
    forged = sign_certificate(sample_certificate(), INTRUDER).to_dict()
    return good, forged


def test_each_envelope_is_answered_by_its_key_as_in_process() -> None:
    good, forged = _envelopes()
    tampered = copy.deepcopy(good)
    tampered["signatures"][0]["sig"] = tampered["signatures"][0]["sig"][::-1]
    handed = {(seq, bytes([seq]) * 32): envelope for seq, envelope in
              enumerate((good, forged, tampered, {"payload": 1}, good), start=1)}  # fmt: skip
    pool = Workers(TRUST, 2)
    try:
        for key, envelope in handed.items():
            pool.verify(key, envelope)
        answered = dict(pool.finish())
    finally:
        pool.close()
    here = Verifier(TRUST.station_keys)
    assert answered == {key: here.data(envelope) for key, envelope in handed.items()}
    assert answered[(1, bytes([1]) * 32)][0] is not None
    assert all(answered[(seq, bytes([seq]) * 32)][0] is None for seq in (2, 3, 4))


class _Connection:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


def test_a_batch_goes_to_the_worker_with_least_queued() -> None:
    pool = Workers(TRUST, 1)  # no process: the children are stand-ins
    busy, idle = (
        forked._Child(None, _Connection(), sent=3, answered=0),  # type: ignore[arg-type]
        forked._Child(None, _Connection(), sent=3, answered=2),  # type: ignore[arg-type]
    )
    pool.children = [busy, idle]
    good, _ = _envelopes()
    for seq in range(1, forked._BATCH + 1):
        pool.verify((seq, bytes(32)), good)
    assert busy.connection.sent == []  # type: ignore[attr-defined]
    ((envelopes, signed),) = idle.connection.sent  # type: ignore[attr-defined]
    assert len(envelopes) == forked._BATCH and signed == []
    assert idle.sent == 4


def test_the_verdict_cache_is_bounded_and_lets_the_oldest_go(monkeypatch: Any) -> None:
    from expunge.workflows.audit import verdicts

    monkeypatch.setattr(verdicts, "CACHED_VERDICTS", 2)
    verifier = Verifier(TRUST.station_keys)
    calls: list[bytes] = []
    verify = verifier._verify

    def counted(envelope: Any, digest: str) -> Any:
        calls.append(envelope.payload)
        return verify(envelope, digest)

    monkeypatch.setattr(verifier, "_verify", counted)
    envelopes = [
        sign_certificate(replace(sample_certificate(), target=f"/t/{n}"), STATION).to_dict()
        for n in range(3)
    ]
    for index in (0, 1, 0, 2, 1, 0):
        assert verifier.data(envelopes[index])[0] is not None
    # 0, 1 verified; 0 cached; 2 evicts 0 (the oldest); 1 cached; 0 verified again.
    assert len(calls) == 4 and len(verifier.cache) == 2
