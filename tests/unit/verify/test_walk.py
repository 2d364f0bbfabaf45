"""Strict-mode ranges over real histories: anchors, merges, first-parent, seals (trusted or not), shallow clones."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitsecure.errors import InputError, UsageError
from gitsecure.verify.walk import commits_to_verify, resolve
from tests.support.fake_signer import SigningRepo

SEAL = "\n\nGitsecure-Seal: reviewed release"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repo(tmp_path: Path) -> SigningRepo:
    return SigningRepo(tmp_path / "repo", home=tmp_path)


class Trust:
    """A fake is_trusted: trusts the listed commits and records every question."""

    def __init__(self, *trusted: str) -> None:
        self.trusted = set(trusted)
        self.asked: list[str] = []

    def __call__(self, oid: str) -> bool:
        self.asked.append(oid)
        return oid in self.trusted


def strict(repo: SigningRepo, rev: str = "HEAD", trust: Trust | None = None, **kwargs: object) -> list[str]:
    return commits_to_verify(repo.path, rev, mode="strict", is_trusted=trust or Trust(), **kwargs)  # type: ignore[arg-type]


def linear(repo: SigningRepo, *messages: str) -> list[str]:
    return [repo.commit(message) for message in messages]


def test_head_mode_is_the_revision_alone(repo: SigningRepo) -> None:
    a, b = linear(repo, "a", "b")
    repo.tag("v1", target=a)
    trust = Trust()
    assert commits_to_verify(repo.path, "HEAD", mode="head", anchor=None, is_trusted=trust) == [b]
    assert commits_to_verify(repo.path, "v1", mode="head", anchor=b, is_trusted=trust) == [a]
    assert trust.asked == []


def test_strict_without_anchor_lists_all_history_newest_first(repo: SigningRepo) -> None:
    oids = linear(repo, "a", "b", "c", "d")
    assert strict(repo, anchor=None) == list(reversed(oids))


def test_anchor_bounds_the_range(repo: SigningRepo) -> None:
    _a, b, c, d = linear(repo, "a", "b", "c", "d")
    assert strict(repo, anchor=b) == [d, c]
    assert strict(repo, anchor=d) == []
    repo.tag("verified", target=b)
    assert strict(repo, anchor="verified") == [d, c]


def test_anchor_that_is_not_an_ancestor_is_an_error(repo: SigningRepo) -> None:
    a, b = linear(repo, "a", "b")
    repo.git("checkout", "-q", "-b", "rewritten", a)
    linear(repo, "force-pushed history")
    with pytest.raises(InputError) as caught:
        strict(repo, anchor=b)
    assert caught.value.reference == "anchor-not-ancestor"


def _merge_graph(repo: SigningRepo, topic_messages: tuple[str, ...] = ("t1", "t2")) -> dict[str, str]:
    # a - b ------- M        (main)
    #  \           /
    #   t1 - t2 --           (topic)
    names = {"a": repo.commit("a")}
    repo.git("checkout", "-q", "-b", "topic")
    for name, message in zip(("t1", "t2"), topic_messages, strict=True):
        names[name] = repo.commit(message)
    repo.git("checkout", "-q", "main")
    names["b"] = repo.commit("b")
    names["M"] = repo.merge("topic")
    return names


def test_merge_brings_in_every_parent_line(repo: SigningRepo) -> None:
    n = _merge_graph(repo)
    listed = strict(repo, anchor=None)
    assert listed[0] == n["M"]
    assert set(listed) == {n["M"], n["b"], n["t1"], n["t2"], n["a"]}
    assert set(strict(repo, anchor=n["b"])) == {n["M"], n["t1"], n["t2"]}


def test_first_parent_lists_only_the_mainline(repo: SigningRepo) -> None:
    n = _merge_graph(repo)
    assert strict(repo, anchor=None, first_parent=True) == [n["M"], n["b"], n["a"]]
    assert strict(repo, anchor=n["b"], first_parent=True) == [n["M"]]


def test_trusted_seal_stops_the_walk_and_is_itself_listed(repo: SigningRepo) -> None:
    _a, _b, seal, c, d = linear(repo, "a", "b", "seal" + SEAL, "c", "d")
    trust = Trust(seal)
    assert strict(repo, trust=trust, anchor=None) == [d, c, seal]
    assert trust.asked == [seal]


def test_untrusted_commit_with_the_trailer_is_not_a_seal(repo: SigningRepo) -> None:
    oids = linear(repo, "a", "fake seal" + SEAL, "c")
    trust = Trust()
    assert strict(repo, trust=trust, anchor=None) == list(reversed(oids))
    assert trust.asked == [oids[1]]


@pytest.mark.parametrize(
    ("message", "is_seal"),
    [
        ("seal\n\ngitsecure-seal: lower case key", True),
        ("seal\n\nSigned-off-by: A <a@example.invalid>\nGITSECURE-SEAL: with other trailers", True),
        ("not a trailer\n\nGitsecure-Seal: in the body\n\nlast paragraph is prose", False),
        ("seal?\n\nGitsecure-Seal-Extra: another key", False),
        ("subject only Gitsecure-Seal: x", False),
    ],
    ids=["lower-case", "among-trailers", "not-last-paragraph", "longer-key", "subject"],
)
def test_seal_trailer_is_found_by_git_trailer_rules(repo: SigningRepo, message: str, is_seal: bool) -> None:
    a, candidate, c = linear(repo, "a", message, "c")
    trust = Trust(candidate)
    listed = strict(repo, trust=trust, anchor=None)
    assert trust.asked == ([candidate] if is_seal else [])
    assert listed == ([c, candidate] if is_seal else [c, candidate, a])


def test_custom_seal_trailer(repo: SigningRepo) -> None:
    a, seal, c = linear(repo, "a", "seal\n\nArgocd-gpg-seal: migrated", "c")
    assert strict(repo, trust=Trust(seal), anchor=None, seal_trailer="Argocd-gpg-seal") == [c, seal]
    assert strict(repo, trust=Trust(seal), anchor=None) == [c, seal, a]


def test_only_the_most_recent_seal_is_asked(repo: SigningRepo) -> None:
    _a, old, _b, new, c = linear(repo, "a", "old" + SEAL, "b", "new" + SEAL, "c")
    trust = Trust(old, new)
    assert strict(repo, trust=trust, anchor=None) == [c, new]
    assert trust.asked == [new]


def test_untrusted_newer_seal_falls_back_to_an_older_trusted_one(repo: SigningRepo) -> None:
    _a, old, b, new, c = linear(repo, "a", "old" + SEAL, "b", "new" + SEAL, "c")
    trust = Trust(old)
    assert strict(repo, trust=trust, anchor=None) == [c, new, b, old]
    assert trust.asked == [new, old]


def test_seal_on_one_side_of_a_merge_bounds_only_what_it_vouches_for(repo: SigningRepo) -> None:
    # The seal on topic vouches for its ancestors (a), even though a is also reachable through b.
    n = _merge_graph(repo, topic_messages=("sealed topic" + SEAL, "t2"))
    listed = strict(repo, trust=Trust(n["t1"]), anchor=None)
    assert set(listed) == {n["M"], n["b"], n["t2"], n["t1"]}
    assert listed[0] == n["M"]


def test_first_parent_ignores_seals_off_the_mainline(repo: SigningRepo) -> None:
    n = _merge_graph(repo, topic_messages=("sealed topic" + SEAL, "t2"))
    trust = Trust(n["t1"])
    assert strict(repo, trust=trust, anchor=None, first_parent=True) == [n["M"], n["b"], n["a"]]
    assert trust.asked == []


def test_shallow_history_must_be_bounded(repo: SigningRepo, tmp_path: Path) -> None:
    _a, _b, seal, c, d = linear(repo, "a", "b", "seal" + SEAL, "c", "d")
    clone = tmp_path / "clone"
    repo.git("clone", "-q", "--depth", "3", f"file://{repo.path}", str(clone))
    shallow = SigningRepo(clone, home=tmp_path)
    with pytest.raises(InputError) as caught:
        strict(shallow, anchor=None)
    assert caught.value.reference == "shallow-history"
    assert strict(shallow, anchor=c) == [d]
    assert strict(shallow, trust=Trust(seal), anchor=None) == [d, c, seal]
    assert commits_to_verify(clone, "HEAD", mode="head", anchor=None, is_trusted=Trust()) == [d]


def test_replace_refs_cannot_hide_a_commit(repo: SigningRepo) -> None:
    a, hidden, c = linear(repo, "a", "unsigned in the middle", "c")
    repo.git("replace", "--graft", c, a)
    assert repo.git("rev-list", "HEAD").decode().split() == [c, a]  # what a replace-honouring walk would see
    assert strict(repo, anchor=None) == [c, hidden, a]


def test_grafts_file_cannot_hide_a_commit(repo: SigningRepo) -> None:
    a, hidden, c = linear(repo, "a", "unsigned in the middle", "c")
    (repo.path / ".git" / "info" / "grafts").write_text(f"{c} {a}\n")
    assert repo.git("rev-list", "HEAD").decode().split() == [c, a]
    assert strict(repo, anchor=None) == [c, hidden, a]


def test_invalid_arguments_are_usage_errors(repo: SigningRepo) -> None:
    linear(repo, "a")
    with pytest.raises(UsageError) as caught:
        strict(repo, anchor=None, seal_trailer="Seal,keyonly)")
    assert caught.value.reference == "invalid-seal-trailer"
    with pytest.raises(UsageError) as caught:
        commits_to_verify(repo.path, "HEAD", mode="tag", anchor=None, is_trusted=Trust())  # type: ignore[arg-type]
    assert caught.value.reference == "invalid-walk-mode"


def test_resolve_distinguishes_annotated_tags(repo: SigningRepo) -> None:
    a, b = linear(repo, "a", "b")
    annotated = repo.tag("v1", target=a)
    repo.git("tag", "light", a)
    outer = repo.rev("v1")
    repo.git("tag", "-a", "-m", "tag of a tag", "v1-outer", outer)
    assert resolve(repo.path, "HEAD") == (b, None)
    assert resolve(repo.path, "v1") == (a, annotated)
    assert resolve(repo.path, "light") == (a, None)
    assert resolve(repo.path, "v1-outer") == (a, repo.rev("v1-outer"))
    assert resolve(repo.path, b[:10]) == (b, None)


@pytest.mark.parametrize(
    ("setup", "rev", "reference"),
    [
        ("ambiguous", "main", "ambiguous-revision"),
        (None, "no-such-branch", "unknown-revision"),
        (None, "--all", "unknown-revision"),
        ("tree-tag", "tree-tag", "not-a-commit"),
        (None, "HEAD^{tree}", "not-a-commit"),
    ],
)
def test_resolve_refuses(repo: SigningRepo, setup: str | None, rev: str, reference: str) -> None:
    a, _b = linear(repo, "a", "b")
    if setup == "ambiguous":
        repo.git("tag", "main", a)  # a tag named like the branch: git would silently pick the tag
    elif setup == "tree-tag":
        repo.git("tag", "-a", "-m", "a tree", "tree-tag", "HEAD^{tree}")
    with pytest.raises(InputError) as caught:
        resolve(repo.path, rev)
    assert caught.value.reference == reference


def test_a_seal_reached_by_two_paths_is_asked_once(repo: SigningRepo) -> None:
    base = repo.commit("base")
    seal = repo.commit("untrusted seal" + SEAL)
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit("side")
    repo.git("checkout", "-q", "main")
    main = repo.commit("main")
    merge = repo.merge("side")
    trust = Trust()
    assert set(strict(repo, trust=trust, anchor=None)) == {merge, main, side, seal, base}
    assert trust.asked == [seal]
