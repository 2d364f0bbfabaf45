"""Modes: ``head``, ``tag``, ``tag-and-head`` and ``strict`` (ranges, merges, seals, anchors, the state file).

Alice's key is the only trusted one (``--gpg-key``); Mallory signs what must not pass. Histories::

    R ── A ── B ── D                          good (D: after a recorded anchor)
    R ── U ── C                               gap: U unsigned
    R ── M1 ─┬─ MG                            merged: S1 unsigned, MG a signed merge
    R ── S1 ─┘
    X0 ── SEAL ── Y                           X0 unsigned; SEAL signed with the seal trailer
    X0 ── FAKE ── Z                           FAKE unsigned with the seal trailer
    X0 ── MSEAL ── W                          MSEAL signed by Mallory with the seal trailer
    X0 ── A1 ── A2                            anchored at A1
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.verify.conftest import GpgKeys
from tests.integration.verify.kit import (
    SEAL,
    Run,
    SignedRepo,
    assert_error,
    assert_rejected,
    assert_trusted,
    verify,
)

pytestmark = pytest.mark.timeout(300)


@dataclass
class World:
    """The repository, commits and tags by name."""

    repo: SignedRepo
    oid: dict[str, str]
    keys: GpgKeys
    home: Path

    def verify(self, action: str, rev: str, *extra: str | Path, json_format: bool = True) -> Run:
        return verify(
            action, rev, "--repo", self.repo.path, *self.keys.flags("alice"), "--no-cache", *extra,
            home=self.home, json_format=json_format,
        )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, gpg_keys: GpgKeys, home: Path) -> World:
    tmp = tmp_path_factory.mktemp("verify-modes")
    repo = SignedRepo(tmp / "repo", home=tmp / "home", gnupghome=gpg_keys.kit.home)
    alice, mallory = gpg_keys.fpr["alice"], gpg_keys.fpr["mallory"]
    o: dict[str, str] = {}

    def c(
        name: str, *parents: str, gpg: str | None = alice, message: str | None = None, branch: str | None = None
    ) -> str:
        o[name] = repo.commit(message or name, parents=tuple(o[p] for p in parents), gpg=gpg, branch=branch)
        return o[name]

    c("R")
    c("A", "R")
    c("B", "A", branch="good")
    c("D", "B")
    c("U", "R", gpg=None)
    c("C", "U", branch="gap")
    c("M1", "R")
    c("S1", "R", gpg=None)
    c("MG", "M1", "S1", branch="merged")
    c("X0", gpg=None)
    c("SEAL", "X0", message=f"release 1.0 reviewed\n\n{SEAL}")
    c("Y", "SEAL", branch="sealed")
    c("FAKE", "X0", gpg=None, message=f"nothing to see\n\n{SEAL}")
    c("Z", "FAKE", branch="fakeseal")
    c("MSEAL", "X0", gpg=mallory, message=f"trust me\n\n{SEAL}")
    c("W", "MSEAL", branch="malloryseal")
    c("A1", "X0")
    c("A2", "A1", branch="anchored")
    o["v-good"] = repo.tag("v-good", o["B"], gpg=alice)
    o["light"] = repo.tag("light", o["B"], annotated=False)
    o["v-unsigned"] = repo.tag("v-unsigned", o["B"])
    o["v-mallory"] = repo.tag("v-mallory", o["B"], gpg=mallory, tagger="mallory@example.com")
    o["v-over-unsigned"] = repo.tag("v-over-unsigned", o["U"], gpg=alice)
    repo.git("update-ref", "refs/tags/v9", o["v-good"])  # Alice's v-good tag object re-published as v9
    # Merges of signed tags: git copies the tag into the merge commit as a mergetag header.
    c("T1", "R")
    c("T2", "R")
    repo.tag("mt-mallory", o["T1"], gpg=mallory, tagger="mallory@example.com")
    repo.tag("mt-alice", o["T2"], gpg=alice)
    o["merge-mallory-tag"] = repo.merge_tag(o["M1"], "mt-mallory", gpg=alice, branch="mt1")
    o["merge-alice-tag"] = repo.merge_tag(o["M1"], "mt-alice", gpg=alice, branch="mt2")
    assert b"\nmergetag object " in repo.raw(o["merge-mallory-tag"])
    return World(repo, o, gpg_keys, home)


# -- head and strict over commits ------------------------------------------------------------------------------------


def test_strict_range_all_signed(world: World) -> None:
    run = world.verify("commit", "good", "--mode", "strict")
    verdict = assert_trusted(run)
    assert verdict["mode"] == "strict"
    assert run.checked() == [world.oid[n] for n in ("B", "A", "R")]


def test_head_mode_sees_only_the_tip(world: World) -> None:
    # The documented limit of head mode: the unsigned U behind C is not looked at.
    run = world.verify("commit", "gap", "--mode", "head")
    assert_trusted(run)
    assert run.checked() == [world.oid["C"]]


def test_strict_catches_an_unsigned_commit_in_the_middle(world: World) -> None:
    run = world.verify("commit", "gap", "--mode", "strict")
    assert_rejected(run, "unsigned", oid=world.oid["U"])
    assert run.check(world.oid["C"])["problems"] == []
    text = world.verify("commit", "gap", "--mode", "strict", json_format=False)
    assert text.rc == 1
    assert any(line.startswith("FAIL") and "unsigned" in line for line in text.stdout.splitlines())
    assert "rejected: gap" in text.stdout


def test_strict_catches_a_merged_unsigned_branch(world: World) -> None:
    run = world.verify("commit", "merged", "--mode", "strict")
    assert_rejected(run, "unsigned", oid=world.oid["S1"])
    assert run.check(world.oid["MG"])["problems"] == []


def test_first_parent_trusts_the_signed_merge(world: World) -> None:
    # Documented: with --first-parent, commits brought in by a merge are vouched for by the signed merge.
    run = world.verify("commit", "merged", "--mode", "strict", "--first-parent")
    assert_trusted(run)
    assert world.oid["S1"] not in run.checked()
    assert run.checked() == [world.oid[n] for n in ("MG", "M1", "R")]


def test_trusted_seal_bounds_the_range(world: World) -> None:
    run = world.verify("commit", "sealed", "--mode", "strict")
    assert_trusted(run)
    assert run.checked() == [world.oid["Y"], world.oid["SEAL"]]  # X0 (unsigned) lies behind the seal


def test_unsigned_commit_with_the_seal_trailer_is_not_a_seal(world: World) -> None:
    run = world.verify("commit", "fakeseal", "--mode", "strict")
    assert_rejected(run, "unsigned", oid=world.oid["FAKE"])
    assert_rejected(run, "unsigned", oid=world.oid["X0"])  # the walk went on past it


def test_untrusted_signed_seal_is_not_a_seal(world: World) -> None:
    run = world.verify("commit", "malloryseal", "--mode", "strict")
    assert_rejected(run, "untrusted key", oid=world.oid["MSEAL"])
    assert_rejected(run, "unsigned", oid=world.oid["X0"])


def test_anchor_bounds_the_range(world: World) -> None:
    run = world.verify("commit", "anchored", "--mode", "strict", "--anchor", world.oid["A1"])
    assert_trusted(run)
    assert run.checked() == [world.oid["A2"]]


def test_anchor_that_is_not_an_ancestor_is_an_error(world: World) -> None:
    run = world.verify("commit", "anchored", "--mode", "strict", "--anchor", world.oid["B"])
    assert_error(run, "is not an ancestor")


def test_state_file_records_and_ratchets(world: World, tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert_trusted(world.verify("commit", "good", "--mode", "strict", "--state-file", state))
    assert state.read_text() == world.oid["B"] + "\n"
    run = world.verify("commit", world.oid["D"], "--mode", "strict", "--state-file", state)
    assert_trusted(run)
    assert run.checked() == [world.oid["D"]]
    assert state.read_text() == world.oid["D"] + "\n"
    # A revision that does not descend from the recorded one (a force-push) is an error, not a shortcut.
    assert_error(world.verify("commit", "gap", "--mode", "strict", "--state-file", state), "is not an ancestor")


def test_rejected_strict_run_does_not_move_the_anchor(world: World, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text(world.oid["R"] + "\n")
    state.chmod(0o600)
    assert_rejected(world.verify("commit", "gap", "--mode", "strict", "--state-file", state), "unsigned")
    assert state.read_text() == world.oid["R"] + "\n"


# -- tags -----------------------------------------------------------------------------------------------------------


def test_tag_mode_signed_tag(world: World) -> None:
    run = world.verify("commit", "v-good", "--mode", "tag")
    assert_trusted(run)
    assert run.check(world.oid["v-good"], "tag")["signer"] == "gpg-key"


def test_verify_tag_subcommand(world: World) -> None:
    run = world.verify("tag", "v-good")
    verdict = assert_trusted(run)
    assert verdict["mode"] == "tag"
    assert run.check(world.oid["v-good"], "tag")["format"] == "openpgp"


def test_tag_and_head(world: World) -> None:
    run = world.verify("commit", "v-good", "--mode", "tag-and-head")
    assert_trusted(run)
    assert sorted(run.checked()) == sorted([world.oid["v-good"], world.oid["B"]])


def test_strict_through_a_tag_checks_the_tag_too(world: World) -> None:
    run = world.verify("commit", "v-good", "--mode", "strict")
    assert_trusted(run)
    assert set(run.checked()) == {world.oid[n] for n in ("v-good", "B", "A", "R")}


def test_tag_mode_on_a_lightweight_tag(world: World) -> None:
    run = world.verify("commit", "light", "--mode", "tag")
    assert_rejected(run, "light is not an annotated tag")


def test_verify_tag_on_a_lightweight_tag(world: World) -> None:
    assert_rejected(world.verify("tag", "light"), "light is not an annotated tag")


def test_unsigned_annotated_tag(world: World) -> None:
    assert_rejected(world.verify("tag", "v-unsigned"), "unsigned", oid=world.oid["v-unsigned"], kind="tag")


def test_tag_signed_by_an_untrusted_key(world: World) -> None:
    assert_rejected(world.verify("tag", "v-mallory"), "untrusted key", oid=world.oid["v-mallory"], kind="tag")


def test_tag_and_head_with_a_good_tag_over_an_unsigned_commit(world: World) -> None:
    run = world.verify("commit", "v-over-unsigned", "--mode", "tag-and-head")
    assert_rejected(run, "unsigned", oid=world.oid["U"])
    assert run.check(world.oid["v-over-unsigned"], "tag")["problems"] == []


def test_signed_tag_under_another_name(world: World) -> None:
    run = world.verify("tag", "v9")
    assert_rejected(run, "tag object is named 'v-good', not 'v9'", oid=world.oid["v-good"], kind="tag")


# -- mergetags --------------------------------------------------------------------------------------------------------


def test_merged_tag_signed_by_an_untrusted_key(world: World) -> None:
    run = world.verify("commit", "mt1")
    assert run.check(world.oid["merge-mallory-tag"])["problems"] == []
    tags = [check for check in run.verdict["checks"] if check["kind"] == "tag"]
    assert len(tags) == 1
    assert_rejected(run, "untrusted key", oid=tags[0]["oid"], kind="tag")


def test_merged_tag_signed_by_a_trusted_key(world: World) -> None:
    run = world.verify("commit", "mt2")
    assert_trusted(run)
    assert [check["kind"] for check in run.verdict["checks"]] == ["commit", "tag"]


# -- what the repository cannot be allowed to hide -------------------------------------------------------------------


def test_shallow_history_is_an_error(world: World, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    world.repo.git("clone", "-q", "--depth", "1", "--branch", "good", f"file://{world.repo.path}", str(clone))
    run = verify(
        "commit", "good", "--repo", clone, "--mode", "strict", *world.keys.flags("alice"), "--no-cache", home=world.home
    )
    assert_error(run, "is shallow")


def test_replace_refs_and_grafts_do_not_hide_an_unsigned_commit(world: World, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    world.repo.git("clone", "-q", "--mirror", str(world.repo.path), str(clone))
    o = world.oid
    # refs/replace shows Alice's signed A in place of the unsigned U; info/grafts cuts U out of C's parents.
    subprocess.run(["git", "replace", o["U"], o["A"]], cwd=clone, env=world.repo.env, check=True)
    (clone / "info").mkdir(exist_ok=True)
    (clone / "info" / "grafts").write_text(f"{o['C']} {o['R']}\n")
    run = verify(
        "commit", "gap", "--repo", clone, "--mode", "strict", *world.keys.flags("alice"), "--no-cache", home=world.home
    )
    assert_rejected(run, "unsigned", oid=o["U"])
