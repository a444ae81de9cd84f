"""Pattern streams are seekable, methods match the published table, custom passes parse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expunge.core.errors import UsageError
from expunge.shred.methods import REGISTRY, choose_method, parse_passes, resolve
from expunge.shred.patterns import PassPattern, expected_bytes

STREAM_LEN = 3 * 4096 + 17


@settings(max_examples=200, deadline=None)
@given(
    pattern=st.one_of(
        st.binary(min_size=1, max_size=7).map(PassPattern.fixed),
        st.binary(min_size=32, max_size=32).map(PassPattern.random),
    ),
    offset=st.integers(0, STREAM_LEN),
    length=st.integers(0, STREAM_LEN),
)
def test_any_slice_equals_the_same_slice_of_the_whole_stream(
    pattern: PassPattern, offset: int, length: int
) -> None:
    whole = expected_bytes(pattern, 0, STREAM_LEN * 2)
    assert expected_bytes(pattern, offset, length) == whole[offset : offset + length]


def test_three_byte_pattern_keeps_phase_across_buffers() -> None:
    pattern = PassPattern.fixed(bytes.fromhex("924924"))
    stream = pattern.stream()
    out = bytearray(10)
    stream.fill(memoryview(out)[:4], 0)
    stream.fill(memoryview(out)[4:], 4)
    assert bytes(out) == bytes.fromhex("92492492492492492492")


def test_random_pass_is_aes_ctr_from_key_and_differs_between_keys() -> None:
    a = expected_bytes(PassPattern.random(b"\x01" * 32), 1 << 40, 64)
    b = expected_bytes(PassPattern.random(b"\x02" * 32), 1 << 40, 64)
    assert a != b
    assert a == expected_bytes(PassPattern.random(b"\x01" * 32), 1 << 40, 64)
    assert len(set(expected_bytes(PassPattern.random(), 0, 4096))) > 200


def test_registry_matches_the_design_table() -> None:
    counts = {name: m.pass_count for name, m in REGISTRY.items()}
    assert counts == {
        "clear": 1,
        "zero": 1,
        "one": 1,
        "dod-3": 3,
        "dod-7": 7,
        "gutmann": 35,
        "schneier": 7,
        "bsi-vsitr": 7,
        "ops-ii": 7,
        "hmg-is5-baseline": 1,
        "hmg-is5-enhanced": 3,
        "nnsa": 3,
    }
    assert all(m.source for m in REGISTRY.values())


def test_dod3_writes_a_byte_its_complement_and_random() -> None:
    first, second, third = resolve(REGISTRY["dod-3"])
    assert first.kind == second.kind == "fixed"
    assert first.pattern[0] ^ 0xFF == second.pattern[0]
    assert third.kind == "random" and third.key is not None


def test_gutmann_shuffles_only_the_middle_27_passes() -> None:
    passes = resolve(REGISTRY["gutmann"])
    assert [p.kind for p in passes[:4] + passes[31:]] == ["random"] * 8
    middle = sorted(p.pattern for p in passes[4:31])
    assert middle == sorted(bytes.fromhex(t) for t in REGISTRY["gutmann"].passes[4:31])
    orders = {tuple(p.pattern for p in resolve(REGISTRY["gutmann"])[4:31]) for _ in range(5)}
    assert len(orders) > 1


def test_custom_passes_and_blank() -> None:
    method = choose_method(None, "00, FF,r,55aa", blank=True)
    assert method.passes == ("00", "ff", "R", "55aa", "00")
    labels = [p.label for p in resolve(method)]
    assert labels == ["00", "ff", "random", "55 aa", "00"]


@pytest.mark.parametrize("text", ["", "00,,ff", "0", "zz", "00,1234567", "R" + ",R" * 64])
def test_bad_custom_passes_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_passes(text)
    assert err.value.exit_code == 2
    assert "--passes" in err.value.diagnostics()


def test_unknown_method_names_the_choices() -> None:
    with pytest.raises(UsageError, match="choose one of clear"):
        choose_method("dod-99", None, blank=False)
