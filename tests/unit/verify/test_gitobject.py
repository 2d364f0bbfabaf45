"""Signed payloads byte-for-byte equal to what git hands its signer and its verifier; raw object reading."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from gitsecure.errors import InputError
from gitsecure.verify.commitinfo import commit_info, tag_info
from gitsecure.verify.gitobject import GitObject, ObjectReader, mergetags, object_id, signature_format, signed_payload
from tests.support.fake_signer import FAKE_PGP, SigningRepo

FORMATS = ["sha1", "sha256"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The code under test runs git with this process's environment: keep the user's configuration out.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def make_repo(tmp_path: Path, object_format: str = "sha1", name: str = "repo") -> SigningRepo:
    return SigningRepo(tmp_path / name, home=tmp_path, object_format=object_format)


def read(repo: SigningRepo, rev: str) -> GitObject:
    with ObjectReader(repo.path) as reader:
        return reader.read(rev)


@pytest.mark.parametrize("object_format", FORMATS)
def test_commit_payload_is_what_git_signed_and_verifies(tmp_path: Path, object_format: str) -> None:
    repo = make_repo(tmp_path, object_format)
    repo.commit("first")
    oid = repo.commit("second\n\nwith a body\n", sign="openpgp")
    sent_to_signer = repo.signed()
    obj = read(repo, oid)
    header = b"gpgsig-sha256 " if object_format == "sha256" else b"gpgsig "
    assert header in obj.raw
    signed = signed_payload(obj)
    assert signed is not None
    assert signed.payload == sent_to_signer
    assert signed.signature == FAKE_PGP
    assert signed.format == "openpgp"
    assert repo.verified("commit", oid) == (signed.payload, signed.signature)


@pytest.mark.parametrize(("fmt", "armor", "expected"), [("ssh", None, "ssh"), ("x509", "SIGNED MESSAGE", "x509")])
def test_ssh_and_x509_commits_are_detected_from_the_armour(tmp_path: Path, fmt: str, armor: str, expected: str) -> None:
    repo = make_repo(tmp_path)
    oid = repo.commit("signed", sign=fmt, armor=armor)
    signed = signed_payload(read(repo, oid))
    assert signed is not None
    assert signed.payload == repo.signed()
    assert signed.format == expected


def test_unsigned_objects_have_no_payload(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit = repo.commit("plain")
    tag = repo.tag("v1", sign=False)
    with ObjectReader(repo.path) as reader:
        assert signed_payload(reader.read(commit)) is None
        assert signed_payload(reader.read(tag)) is None
        assert signed_payload(reader.read(f"{commit}^{{tree}}")) is None


@pytest.mark.parametrize("object_format", FORMATS)
def test_tag_payload_is_what_git_signed_and_verifies(tmp_path: Path, object_format: str) -> None:
    repo = make_repo(tmp_path, object_format)
    repo.commit("first")
    oid = repo.tag("v1", "release notes\n\nmore", sign=True)
    obj = read(repo, oid)
    signed = signed_payload(obj)
    assert signed is not None
    assert signed.payload == repo.signed()
    assert signed.signature == FAKE_PGP
    assert obj.raw == signed.payload + signed.signature
    assert repo.verified("tag", oid) == (signed.payload, signed.signature)
    info = tag_info(obj)
    assert (info.name, info.target_kind, info.message) == ("v1", "commit", "release notes\n\nmore\n")
    assert info.target == repo.rev("HEAD") and info.tagger_email == "test@example.invalid"


def test_tag_splits_at_the_last_armour_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    message = "quoting an old signature:\n-----BEGIN PGP SIGNATURE-----\nnot this one\n-----END PGP SIGNATURE-----\nend"
    oid = repo.tag("v1", message, sign=True)
    signed = signed_payload(read(repo, oid))
    assert signed is not None
    assert signed.payload == repo.signed()
    assert signed.signature == FAKE_PGP
    assert repo.verified("tag", oid)[0] == signed.payload


@pytest.mark.parametrize("object_format", FORMATS)
def test_mergetag_is_unindented_to_the_signed_tag(tmp_path: Path, object_format: str) -> None:
    repo = make_repo(tmp_path, object_format)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit("topic work")
    tag_oid = repo.tag("topic-v1", "signed topic", sign=True)
    tag_payload = repo.signed()
    repo.git("checkout", "-q", "main")
    repo.commit("main work")
    merge = repo.merge("topic-v1", "merge signed tag", sign=True)
    merge_obj = read(repo, merge)
    assert b"\nmergetag object " in merge_obj.raw
    tags = mergetags(merge_obj)
    assert [t.oid for t in tags] == [tag_oid]
    assert tags[0].raw == read(repo, tag_oid).raw
    embedded = signed_payload(tags[0])
    assert embedded is not None and embedded.payload == tag_payload and embedded.signature == FAKE_PGP
    # The merge commit's own signature covers the mergetag header, indented as stored.
    own = signed_payload(merge_obj)
    assert own is not None and own.payload == repo.signed()
    assert b"\nmergetag object " in own.payload
    assert len(commit_info(merge_obj).parents) == 2


def test_mergetags_of_other_objects_are_empty(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit = repo.commit("plain")
    assert mergetags(read(repo, commit)) == []
    assert mergetags(read(repo, repo.tag("v1"))) == []


def _commit_bytes(repo: SigningRepo, *headers: bytes, message: bytes = b"hand made\n") -> bytes:
    tree = repo.rev("HEAD^{tree}").encode()
    ident = b"A U Thor <author@example.invalid> 1700000000 +0200"
    return b"tree %s\nauthor %s\ncommitter %s\n%s\n%s" % (tree, ident, ident, b"".join(headers), message)


def test_other_hash_signature_header_is_dropped_like_git_does(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    raw = _commit_bytes(
        repo,
        b"gpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n \n b3RoZXI=\n -----END PGP SIGNATURE-----\n",
        b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n ZmFrZQ==\n =abcd\n -----END PGP SIGNATURE-----\n",
        b"x-unknown kept\n continued\n",
    )
    oid = repo.write_object("commit", raw)
    signed = signed_payload(read(repo, oid))
    assert signed is not None
    assert signed.signature == FAKE_PGP
    assert signed.payload == _commit_bytes(repo, b"x-unknown kept\n continued\n")
    assert repo.verified("commit", oid) == (signed.payload, signed.signature)


def test_two_signature_headers_of_one_kind_are_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    sig = b"gpgsig -----BEGIN PGP SIGNATURE-----\n ZmFrZQ==\n -----END PGP SIGNATURE-----\n"
    oid = repo.write_object("commit", _commit_bytes(repo, sig, sig))
    with pytest.raises(InputError) as caught:
        signed_payload(read(repo, oid))
    assert caught.value.reference == "malformed-git-object"
    assert "more than one signature header" in caught.value.message


def test_unknown_armour_is_reported_as_unknown(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    oid = repo.write_object("commit", _commit_bytes(repo, b"gpgsig -----BEGIN FANCY SIGNATURE-----\n eA==\n"))
    signed = signed_payload(read(repo, oid))
    assert signed is not None and signed.format == "unknown"
    assert signature_format(b"-----BEGIN PGP MESSAGE-----\n") == "openpgp"
    assert signature_format(b"") == "unknown"


def _tag_bytes(repo: SigningRepo, *headers: bytes, body: bytes = b"msg\n") -> bytes:
    target = repo.rev("HEAD").encode()
    return b"object %s\ntype commit\ntag hand\ntagger T <t@example.invalid> 1700000000 +0000\n%s\n%s" % (
        target,
        b"".join(headers),
        body,
    )


def test_tag_with_compat_header_signature_matches_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    compat = b"gpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n \n b3RoZXI=\n -----END PGP SIGNATURE-----\n"
    oid = repo.write_object("tag", _tag_bytes(repo, compat, body=b"msg\n" + FAKE_PGP))
    signed = signed_payload(read(repo, oid))
    assert signed is not None
    assert signed.payload == _tag_bytes(repo)
    assert repo.verified("tag", oid) == (signed.payload, signed.signature)


def test_sha256_tag_may_carry_its_signature_in_a_header(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "sha256")
    repo.commit("first")
    header = b"gpgsig-sha256 -----BEGIN SSH SIGNATURE-----\n eA==\n -----END SSH SIGNATURE-----\n"
    obj = read(repo, repo.write_object("tag", _tag_bytes(repo, header)))
    signed = signed_payload(obj)
    assert signed is not None
    assert (signed.payload, signed.format) == (_tag_bytes(repo), "ssh")
    assert signed.signature == b"-----BEGIN SSH SIGNATURE-----\neA==\n-----END SSH SIGNATURE-----\n"
    both = read(repo, repo.write_object("tag", _tag_bytes(repo, header, body=b"msg\n" + FAKE_PGP)))
    with pytest.raises(InputError, match="both an appended and a header signature"):
        signed_payload(both)


@pytest.mark.parametrize(
    "headers",
    [
        (b"gpgsig-foo x\n y\n",),
        (b"gpgsig a\n b\n", b"gpgsig-sha256 c\n d\n"),
        (b"gpgsig a\n", b"gpgsig a\n"),
    ],
    ids=["unknown-gpgsig-header", "two-header-signatures", "repeated-header"],
)
def test_tags_with_quirky_signature_headers_are_refused(tmp_path: Path, headers: tuple[bytes, ...]) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    oid = repo.write_object("tag", _tag_bytes(repo, *headers, body=b"msg\n" + FAKE_PGP))
    with pytest.raises(InputError) as caught:
        signed_payload(read(repo, oid))
    assert caught.value.reference == "malformed-git-object"
    assert "unexpected signature header in a tag" in caught.value.message


def test_reader_serves_many_objects_from_one_process(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    oids = [repo.commit(f"c{i}") for i in range(30)]
    with ObjectReader(repo.path) as reader:
        objects = [reader.read(oid) for oid in reversed(oids)]
        assert reader.read("HEAD").oid == oids[-1]
        assert reader.read("HEAD~29").oid == oids[0]
    assert [o.oid for o in objects] == list(reversed(oids))
    assert all(o.kind == "commit" for o in objects)


@pytest.mark.parametrize("name", ["0" * 40, "no-such-ref", "name with spaces", "bad\nname", ""])
def test_reader_refuses_missing_objects(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path)
    repo.commit("only")
    with ObjectReader(repo.path) as reader:
        with pytest.raises(InputError) as caught:
            reader.read(name)
        assert caught.value.reference == "missing-object"
        assert reader.read("HEAD").kind == "commit"  # the process survives a miss


def test_reader_refuses_an_object_whose_content_does_not_match_its_id(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    oid = repo.commit("original")
    raw = repo.git("cat-file", "commit", oid)
    tampered = raw.replace(b"original", b"tampered")
    path = repo.path / ".git" / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    path.write_bytes(zlib.compress(b"commit %d\x00" % len(tampered) + tampered))
    with ObjectReader(repo.path) as reader, pytest.raises(InputError) as caught:
        reader.read(oid)
    assert caught.value.reference == "corrupt-git-object"


@pytest.mark.parametrize("object_format", FORMATS)
def test_object_id_matches_git(tmp_path: Path, object_format: str) -> None:
    repo = make_repo(tmp_path, object_format)
    oid = repo.commit("x")
    obj = read(repo, oid)
    assert object_id("commit", obj.raw, hash_name=object_format) == oid


def test_commit_info_reads_parents_identities_and_zones(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = repo.commit("first")
    oid = repo.write_object(
        "commit",
        b"tree %s\nparent %s\nauthor A <a@example.invalid> 1700000000 -0130\ncommitter C <c@example.invalid> "
        b"1700000100 +0530\nencoding ISO-8859-1\n\nsubject\n" % (repo.rev("HEAD^{tree}").encode(), first.encode()),
    )
    info = commit_info(read(repo, oid))
    assert info.parents == (first,)
    assert (info.author_email, info.committer_email) == ("a@example.invalid", "c@example.invalid")
    assert info.author_time.timestamp() == 1_700_000_000
    assert info.author_time.utcoffset().total_seconds() == -5400  # type: ignore[union-attr]
    assert info.committer_time.utcoffset().total_seconds() == 19800  # type: ignore[union-attr]
    assert info.message == "subject\n"


@pytest.mark.parametrize(
    ("author", "reason"),
    [
        (b"author Eve <eve@example.invalid> <alice@example.invalid> 1700000000 +0000\n", "identity is not"),
        (b"author Eve eve@example.invalid 1700000000 +0000\n", "identity is not"),
        (b"author Eve <eve@example.invalid> 1700000000\n", "no valid time"),
        (b"author Eve <eve@example.invalid> soon +0000\n", "no valid time"),
        (b"author Eve <eve@example.invalid> 1700000000 +0000\nauthor Alice <a@x> 1 +0000\n", "headers are not"),
    ],
    ids=["two-emails", "no-brackets", "no-zone", "no-time", "two-authors"],
)
def test_commit_info_refuses_ambiguous_identities(tmp_path: Path, author: bytes, reason: str) -> None:
    repo = make_repo(tmp_path)
    repo.commit("first")
    tree = repo.rev("HEAD^{tree}").encode()
    raw = b"tree %s\n%scommitter C <c@example.invalid> 1700000000 +0000\n\nmsg\n" % (tree, author)
    with pytest.raises(InputError) as caught:
        commit_info(read(repo, repo.write_object("commit", raw)))
    assert caught.value.reference == "malformed-git-object"
    assert reason in caught.value.message


def test_commit_info_refuses_headers_out_of_order(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = repo.commit("first")
    tree = repo.rev("HEAD^{tree}")
    ident = "C <c@example.invalid> 1700000000 +0000"
    raw = f"tree {tree}\nauthor {ident}\nparent {first}\ncommitter {ident}\n\nmsg\n".encode()
    with pytest.raises(InputError, match="commit headers are not tree, parents, author, committer"):
        commit_info(read(repo, repo.write_object("commit", raw)))


def test_tag_info_without_tagger_and_wrong_kinds(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit = repo.commit("first")
    oid = repo.write_object("tag", b"object %s\ntype commit\ntag old\n\nancient\n" % commit.encode())
    info = tag_info(read(repo, oid))
    assert (info.name, info.tagger_email, info.tagger_time, info.message) == ("old", None, None, "ancient\n")
    with pytest.raises(InputError, match="not a commit"):
        commit_info(read(repo, oid))
    with pytest.raises(InputError, match="not a tag"):
        tag_info(read(repo, commit))
