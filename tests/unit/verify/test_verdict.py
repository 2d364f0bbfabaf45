"""Verdicts: stable JSON, text rendering, and no trust without checks."""

from __future__ import annotations

import json

import pytest

from gitsecure.verify.verdict import CommitCheck, Verdict, render_text

HASH = "sha256:" + "ab" * 32
OID1 = "1" * 40
OID2 = "2" * 40
GOOD = CommitCheck(OID1, "commit", signer="alice", key="SHA256:abc", format="ssh")
BAD = CommitCheck(OID2, "commit", problems=("unsigned",))
TAG = CommitCheck(
    "3" * 64, "tag", signer="release", key="billy@chainguard.dev (https://accounts.google.com)", format="x509"
)


def test_json_field_names_are_stable() -> None:
    verdict = Verdict.decide(revision="main", mode="strict", policy_hash=HASH, checks=[TAG, GOOD])
    data = json.loads(verdict.to_json())
    assert list(data) == ["trusted", "revision", "mode", "policy_hash", "checks", "problems"]
    assert data["trusted"] is True
    assert data["checks"][1] == {
        "oid": OID1,
        "kind": "commit",
        "signer": "alice",
        "key": "SHA256:abc",
        "format": "ssh",
        "problems": [],
    }
    assert data["checks"][0]["kind"] == "tag"


def test_decide_rejects_on_any_failure_or_problem_or_nothing_checked() -> None:
    assert not Verdict.decide(revision="r", mode="head", policy_hash=HASH, checks=[GOOD, BAD]).trusted
    assert not Verdict.decide(revision="r", mode="head", policy_hash=HASH, checks=[GOOD], problems=["x"]).trusted
    assert not Verdict.decide(revision="r", mode="head", policy_hash=HASH, checks=[]).trusted


@pytest.mark.parametrize(
    ("checks", "problems"),
    [((), ()), ((GOOD, BAD), ()), ((GOOD,), ("rules[0] needs 2 distinct signers of 2, got alice",))],
)
def test_a_trusted_verdict_must_be_earned(checks: tuple[CommitCheck, ...], problems: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="trusted verdict"):
        Verdict(True, "r", "head", HASH, checks, problems)


def test_check_without_problems_needs_signer_key_and_format() -> None:
    with pytest.raises(ValueError, match="needs a signer"):
        CommitCheck(OID1, "commit", signer="alice", format="ssh")
    with pytest.raises(ValueError, match="needs a signer"):
        CommitCheck(OID1, "commit", signer="alice", key="k", format="unknown")
    with pytest.raises(ValueError, match="kind"):
        CommitCheck(OID1, "blob", problems=("x",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format"):
        CommitCheck(OID1, "commit", format="pgp", problems=("x",))  # type: ignore[arg-type]


def test_check_round_trip_and_malformed_dicts() -> None:
    for check in (GOOD, BAD, TAG):
        assert CommitCheck.from_dict(check.to_dict()) == check
    for broken in (
        {**GOOD.to_dict(), "extra": 1},
        {**GOOD.to_dict(), "problems": "unsigned"},
        {**GOOD.to_dict(), "problems": [1]},
        {**GOOD.to_dict(), "oid": 5},
        {**GOOD.to_dict(), "signer": None},  # would be a pass without a signer
        {**GOOD.to_dict(), "kind": "tree"},
    ):
        with pytest.raises(ValueError):
            CommitCheck.from_dict(broken)


def test_text_rendering() -> None:
    verdict = Verdict.decide(
        revision="v1.0", mode="tag-and-head", policy_hash=HASH, checks=[TAG, BAD], problems=["seal not found"]
    )
    lines = render_text(verdict).splitlines()
    assert lines[0].startswith("ok   tag    333333333333  release x509 billy@chainguard.dev")
    assert lines[1] == "FAIL commit 222222222222: unsigned"
    assert lines[2] == "problem: seal not found"
    assert lines[3] == "rejected: v1.0 (mode tag-and-head, 2 objects checked, 1 failed, policy sha256:abababababab)"
    trusted = Verdict.decide(revision="main", mode="head", policy_hash=HASH, checks=[GOOD])
    assert render_text(trusted).splitlines()[-1].startswith("trusted: main (mode head, 1 object checked,")


def test_text_rendering_limit_shows_failures_first() -> None:
    checks = [CommitCheck(f"{index:040x}", "commit", signer="a", key="k", format="ssh") for index in range(10)]
    checks[7] = CommitCheck(f"{7:040x}", "commit", problems=("untrusted key",))
    verdict = Verdict.decide(revision="main", mode="strict", policy_hash=HASH, checks=checks)
    lines = render_text(verdict, max_checks=3).splitlines()
    assert [line[:4] for line in lines[:3]] == ["ok  ", "ok  ", "FAIL"]
    assert lines[3] == "... 7 more checks not shown (0 of them failed)"
    assert lines[-1].startswith("rejected: main (mode strict, 10 objects checked, 1 failed")
