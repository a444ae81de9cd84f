"""Classification policy: explicit minimums per level, checked before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from expunge.core.errors import UsageError
from expunge.ledger.classification import (
    DEFAULT_POLICY,
    VERIFY_MODES,
    ClassificationPolicy,
    check_destruction_allowed,
)

STRICT: dict[str, Any] = {
    "public": {"min_verify": "none"},
    "confidential": {},
    "secret": {"methods": ["dod-3", "gutmann"], "min_passes": 3, "min_verify": "full"},
}


def test_default_levels_in_order() -> None:
    assert DEFAULT_POLICY.names == ("public", "internal", "confidential", "secret", "top-secret")


@pytest.mark.parametrize("level", DEFAULT_POLICY.names)
def test_defaults_accept_clear_with_nist_verification_at_every_level(level: str) -> None:
    assert check_destruction_allowed(level, "clear", 1, "nist", DEFAULT_POLICY) == []


def test_defaults_still_require_verification_for_confidential_documents() -> None:
    (reason,) = check_destruction_allowed("confidential", "clear", 1, "quick", DEFAULT_POLICY)
    assert "verification nist or stronger, not quick" in reason
    assert check_destruction_allowed("public", "zero", 1, "none", DEFAULT_POLICY) == []


def test_a_stricter_level_gives_every_reason() -> None:
    policy = ClassificationPolicy.from_dict(STRICT)
    reasons = check_destruction_allowed("secret", "clear", 1, "nist", policy)
    assert len(reasons) == 3
    assert "one of the methods dod-3, gutmann, not clear" in reasons[0]
    assert "at least 3 passes, not 1" in reasons[1]
    assert "verification full or stronger, not nist" in reasons[2]
    assert check_destruction_allowed("secret", "dod-3", 3, "full", policy) == []
    assert check_destruction_allowed("confidential", "clear", 1, "nist", policy) == []


def test_verification_modes_are_ordered_and_stronger_is_always_accepted() -> None:
    assert VERIFY_MODES == ("none", "quick", "nist", "full")
    for minimum in VERIFY_MODES:
        policy = ClassificationPolicy.from_dict({"x": {"min_verify": minimum}})
        accepted = [not check_destruction_allowed("x", "clear", 1, m, policy) for m in VERIFY_MODES]
        assert accepted == sorted(accepted)  # once accepted, every stronger mode is too
        assert accepted.index(True) == VERIFY_MODES.index(minimum)


def test_an_undefined_level_is_a_reason_and_an_unknown_mode_a_usage_error() -> None:
    (reason,) = check_destruction_allowed("cosmic", "clear", 1, "nist", DEFAULT_POLICY)
    assert "'cosmic' is not defined" in reason
    with pytest.raises(UsageError, match="unknown verification mode"):
        check_destruction_allowed("secret", "clear", 1, "thorough", DEFAULT_POLICY)
    with pytest.raises(UsageError, match="choose one of public, internal"):
        DEFAULT_POLICY.require("cosmic")


def test_policy_round_trips_through_its_mapping() -> None:
    policy = ClassificationPolicy.from_dict(STRICT)
    assert ClassificationPolicy.from_dict(policy.to_dict()) == policy
    assert policy.names == ("public", "confidential", "secret")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({}, "no classification levels"),
        ({"secret": {"min_pass": 3}}, "unknown key"),
        ({"secret": {"min_passes": "3"}}, "min_passes must be an integer"),
        ({"secret": {"min_passes": True}}, "min_passes must be an integer"),
        ({"secret": {"min_passes": 0}}, "at least 1"),
        ({"secret": {"methods": []}}, "methods of secret is empty"),
        ({"secret": {"methods": "clear"}}, "list of method names"),
        ({"secret": {"min_verify": "most"}}, "unknown verification mode"),
        ({"Secret Level": {}}, "not a valid classification name"),
        ({"secret": "high"}, "must be a table"),
    ],
)
def test_bad_configuration_is_one_usage_error_naming_the_file(data: Any, says: str) -> None:
    with pytest.raises(UsageError, match=says) as caught:
        ClassificationPolicy.from_dict(data, source="/etc/expunge/policy.toml")
    assert caught.value.target == "/etc/expunge/policy.toml"
