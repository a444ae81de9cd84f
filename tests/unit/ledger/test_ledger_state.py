"""Document state derived from events: locations, destruction, sealing, retention."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from expunge.core.errors import ExpungeError, RefusedError, TargetError, UsageError
from expunge.ledger.entries import Entry
from expunge.ledger.events import Copy, DocumentEvent, Event, Seal, Transfer, WriteOff
from expunge.ledger.state import (
    DocumentFolds,
    DocumentState,
    all_documents,
    check_event,
    consistency_problems,
    document_state,
)
from tests.support.ledger import NOW, chain, destroy, register

DOC = "DOC-2026-000001"
ORIGINAL = f"/docs/{DOC}.pdf"


def state_after(*events: Event) -> DocumentState:
    found = document_state(chain(events), DOC, NOW + timedelta(days=1))
    assert found is not None
    return found


def test_lifecycle_copy_to_a_stick_wipe_it_then_shred_the_original() -> None:
    events: list[Event] = [register(DOC), Copy(DOC, to_medium="STICK-1")]
    (on_stick,) = state_after(*events).outstanding
    assert (on_stick.kind, on_stick.medium, on_stick.status) == ("copy", "STICK-1", "outstanding")

    events.append(destroy(DOC, media=["STICK-1"], cert="CERT-WIPE"))
    state = state_after(*events)
    assert state.status == "registered" and not state.destroyed
    assert state.copies[0].destroyed_by is not None
    assert state.copies[0].destroyed_by.certificate_id == "CERT-WIPE"
    assert state.outstanding == ()

    events.append(destroy(DOC, paths=[ORIGINAL], cert="CERT-SHRED"))
    state = state_after(*events)
    assert state.status == "destroyed"
    assert state.destroyed_by is not None and state.destroyed_by.certificate_id == "CERT-SHRED"
    assert state.outstanding == ()
    assert [d.seq for d in state.destructions] == [3, 4]


def test_a_destroyed_document_keeps_copies_it_could_not_reach() -> None:
    state = state_after(
        register(DOC),
        Copy(DOC, to_medium="STICK-AWAY"),
        Copy(DOC, to_path="/share/copy.pdf"),
        destroy(DOC, paths=[ORIGINAL, "/share/copy.pdf"]),
    )
    assert state.destroyed
    assert [loc.describe() for loc in state.outstanding] == ["medium STICK-AWAY"]


def test_a_copy_made_after_a_wipe_is_a_new_outstanding_copy() -> None:
    events: list[Event] = [
        register(DOC),
        Copy(DOC, to_medium="STICK-1"),
        destroy(DOC, media=["STICK-1"]),
        Copy(DOC, to_medium="STICK-1"),
    ]
    state = state_after(*events)
    assert [c.status for c in state.copies] == ["destroyed", "outstanding"]
    assert [loc.seq for loc in state.outstanding] == [4]


def test_erasing_the_key_destroys_ciphertext_copies_but_not_earlier_plaintext() -> None:
    state = state_after(
        register(DOC),
        Copy(DOC, to_medium="PLAIN-STICK"),
        Seal(DOC, f"{ORIGINAL}.sealed", "key-1"),
        Copy(DOC, to_medium="SEALED-STICK"),
        Copy(DOC, to_path="/far/away.sealed"),
        destroy(DOC, key_erased=True),
    )
    assert state.status == "destroyed"
    assert state.key_erased_by is not None and state.key_erased_by.seq == 6
    assert {loc.describe(): loc.ciphertext for loc in state.outstanding} == {
        ORIGINAL: False,
        "medium PLAIN-STICK": False,
    }
    assert all(not loc.outstanding for loc in state.locations if loc.ciphertext)


def test_a_document_sealed_at_registration_has_no_plaintext_location() -> None:
    sealed_path = "/docs/plan.sealed"
    state = state_after(
        register(DOC, path=sealed_path, sealed=True),
        Copy(DOC, to_medium="STICK-1"),
        Seal(DOC, sealed_path, "key-1"),
        destroy(DOC, key_erased=True),
    )
    assert state.seal is not None and state.seal.at_registration
    assert [loc.kind for loc in state.locations] == ["original", "copy"]
    assert all(loc.ciphertext and not loc.outstanding for loc in state.locations)
    assert state.destroyed


def test_sealed_status_and_custodian_follow_the_events() -> None:
    state = state_after(
        register(DOC), Transfer(DOC, "bob"), Seal(DOC, f"{ORIGINAL}.sealed", "key-1")
    )
    assert (state.status, state.custodian) == ("sealed", "bob")
    assert state.primary.path == f"{ORIGINAL}.sealed"
    assert [loc.describe() for loc in state.outstanding] == [ORIGINAL]
    assert state.history == (1, 2, 3)


@pytest.mark.parametrize(
    ("retain_days", "destroyed", "overdue"),
    [(-1, False, True), (-1, True, False), (2, False, False), (None, False, False)],
)
def test_overdue_means_past_retention_and_not_destroyed(
    retain_days: int | None, destroyed: bool, overdue: bool
) -> None:
    retain = NOW + timedelta(days=retain_days) if retain_days is not None else None
    events: list[Event] = [register(DOC, retain_until=retain)]
    if destroyed:
        events.append(destroy(DOC, paths=[ORIGINAL]))
    (state,) = all_documents(chain(events), NOW + timedelta(hours=1))
    assert state.overdue is overdue
    assert state.to_dict()["overdue"] is overdue


def test_all_documents_in_registration_order_and_unknown_is_none() -> None:
    entries = chain([register("B-doc"), register("A-doc"), Transfer("B-doc", "carol")])
    assert [d.doc_id for d in all_documents(entries, NOW)] == ["B-doc", "A-doc"]
    assert document_state(entries, "C-doc", NOW) is None
    json.dumps([d.to_dict() for d in all_documents(entries, NOW)])


REFUSALS: list[tuple[list[Event], DocumentEvent, type[ExpungeError], str]] = [
    ([register(DOC)], register(DOC), UsageError, "already registered"),
    ([], Copy(DOC, to_medium="S"), TargetError, "no such document"),
    (
        [register(DOC), destroy(DOC, paths=[ORIGINAL])],
        Copy(DOC, to_medium="S"),
        RefusedError,
        "destroyed at seq 2",
    ),
    (
        [register(DOC), destroy(DOC, paths=[ORIGINAL])],
        Transfer(DOC, "bob"),
        RefusedError,
        "destroyed",
    ),
    (
        [register(DOC), Seal(DOC, "/s", "k")],
        Seal(DOC, "/t", "k2"),
        RefusedError,
        "already sealed",
    ),
    ([register(DOC)], destroy(DOC, key_erased=True), RefusedError, "not sealed"),
    (
        [register(DOC), Seal(DOC, "/s", "k"), destroy(DOC, key_erased=True)],
        destroy(DOC, key_erased=True),
        RefusedError,
        "already erased",
    ),
    ([register(DOC)], destroy(DOC, paths=["/elsewhere"]), RefusedError, "no outstanding"),
    ([register(DOC)], destroy(DOC, media=["NEVER-COPIED"]), RefusedError, "no outstanding"),
    (
        [register(DOC), Copy(DOC, to_medium="S1"), destroy(DOC, media=["S1"])],
        destroy(DOC, media=["S1"]),
        RefusedError,
        "no outstanding copy on medium S1",
    ),
]


@pytest.mark.parametrize(("history", "event", "error", "says"), REFUSALS)
def test_events_that_may_not_follow_the_history(
    history: list[Event], event: DocumentEvent, error: type[ExpungeError], says: str
) -> None:
    with pytest.raises(error, match=says):
        check_event(chain(history), event)


def test_a_copy_left_behind_may_still_be_destroyed_after_the_document() -> None:
    history = chain([register(DOC), Copy(DOC, to_medium="S1"), destroy(DOC, paths=[ORIGINAL])])
    check_event(history, destroy(DOC, media=["S1"]))


def test_consistency_problems_name_the_seq_of_each_impossible_event() -> None:
    entries: list[Entry] = chain(
        [
            register(DOC),
            Copy("DOC-UNKNOWN", to_medium="S"),
            destroy(DOC, paths=[ORIGINAL]),
            Copy(DOC, to_medium="S"),
            register(DOC),
        ]
    )
    assert [p.seq for p in consistency_problems(entries)] == [2, 4, 5]
    assert consistency_problems(chain([register(DOC), Copy(DOC, to_medium="S")])) == ()


def test_a_write_off_closes_one_outstanding_copy_and_only_a_copy() -> None:
    events: list[Event] = [
        register(DOC),
        Copy(DOC, to_medium="LOST"),
        Copy(DOC, to_medium="HERE"),
        destroy(DOC, paths=[ORIGINAL], media=["HERE"]),
        WriteOff(DOC, 2, "lost", "Bea"),
    ]
    state = state_after(*events)
    assert state.destroyed and state.outstanding == ()
    lost, here = state.copies
    assert (lost.status, here.status) == ("written-off", "destroyed")
    assert lost.written_off is not None and lost.written_off.witness == "Bea"
    assert state.to_dict()["written_off"] == ["medium LOST"]
    entries = chain(events)
    for bad, words in (
        (WriteOff(DOC, 2, "lost", "again"), "already written off at seq 5"),
        (WriteOff(DOC, 3, "lost", "x"), "was destroyed at seq 4"),
        (WriteOff(DOC, 1, "lost", "x"), "seq 1 did not record a copy"),
    ):
        with pytest.raises(RefusedError, match=words):
            check_event(entries, bad)
    assert consistency_problems(chain([*events, WriteOff(DOC, 2, "lost", "again")])) != ()


def test_folds_freeze_in_order_of_registration_each_dropped_as_frozen() -> None:
    folds = DocumentFolds()
    ids = [f"DOC-{n:03d}" for n in (5, 1, 3, 2, 4)]
    for entry in chain([register(doc) for doc in ids]):
        folds.feed(entry)
    frozen = []
    for state in folds.freeze(NOW):
        frozen.append(state.doc_id)
        assert state.doc_id not in folds.folds
        assert len(folds.folds) == len(ids) - len(frozen)
    assert frozen == ids and folds.folds == {}
