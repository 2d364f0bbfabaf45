"""What a commit or tag claims: parents, author, committer, tagger, times and message.

These claims are covered by the signature, but chosen by the signer: a
policy uses the emails to tie a key to the people it may sign for (a web UI
signs everyone's commits with one platform key), and the committer or tagger
time is the moment git hands to ``ssh-keygen -Y verify`` as the signature
time. Parsing is strict where git's own readers are lenient: a header order
``git fsck`` rejects, a repeated author, or an identity with more than one
``<``/``>`` (which tools split differently) is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from gitsecure.verify.gitobject import GitObject, hash_name_of, header_fields, malformed, signed_payload

_TZ = re.compile(rb"[+-][0-9]{4}")


@dataclass(frozen=True)
class CommitInfo:
    """The parsed claims of a commit (emails as written, times with the offset the commit records)."""

    oid: str
    tree: str
    parents: tuple[str, ...]
    author_email: str
    committer_email: str
    author_time: datetime
    committer_time: datetime
    message: str


@dataclass(frozen=True)
class TagInfo:
    """The parsed claims of an annotated tag; the tagger is absent in some very old tags."""

    oid: str
    target: str
    target_kind: str
    name: str
    tagger_email: str | None
    tagger_time: datetime | None
    message: str


def commit_info(obj: GitObject) -> CommitInfo:
    """Parse a commit object; :class:`InputError` (``malformed-git-object``) on anything git fsck would flag."""
    if obj.kind != "commit":
        raise malformed(obj.oid, f"is a {obj.kind}, not a commit")
    fields, body = header_fields(obj)
    names = [name for name, _ in fields]
    count = 1
    while count < len(names) and names[count] == b"parent":
        count += 1
    # fsck's order: tree, the parents, author, committer; anything else may follow (encoding, mergetag, gpgsig...).
    if names[:1] != [b"tree"] or names[count : count + 2] != [b"author", b"committer"]:
        raise malformed(obj.oid, "commit headers are not tree, parents, author, committer")
    if names.count(b"tree") != 1 or names.count(b"author") != 1 or names.count(b"committer") != 1:
        raise malformed(obj.oid, "repeated tree, author or committer header")
    if b"parent" in names[count:]:
        raise malformed(obj.oid, "parent header out of place")
    tree = _object_id(obj, fields[0][1])
    parents = tuple(_object_id(obj, value) for _, value in fields[1:count])
    author_email, author_time = _identity(obj, fields[count][1])
    committer_email, committer_time = _identity(obj, fields[count + 1][1])
    return CommitInfo(
        oid=obj.oid,
        tree=tree,
        parents=parents,
        author_email=author_email,
        committer_email=committer_email,
        author_time=author_time,
        committer_time=committer_time,
        message=body.decode("utf-8", "replace"),
    )


def tag_info(obj: GitObject) -> TagInfo:
    """Parse an annotated tag object; its message excludes an appended signature."""
    if obj.kind != "tag":
        raise malformed(obj.oid, f"is a {obj.kind}, not a tag")
    signed = signed_payload(obj)
    fields, body = header_fields(GitObject(oid=obj.oid, kind="tag", raw=signed.payload) if signed else obj)
    names = [name for name, _ in fields]
    if names[:3] != [b"object", b"type", b"tag"] or names.count(b"tagger") > 1:
        raise malformed(obj.oid, "tag headers are not object, type, tag, tagger")
    values = {name: value for name, value in fields}
    email: str | None = None
    when: datetime | None = None
    if b"tagger" in values:
        email, when = _identity(obj, values[b"tagger"])
    return TagInfo(
        oid=obj.oid,
        target=_object_id(obj, values[b"object"]),
        target_kind=_single_line(obj, values[b"type"]),
        name=_single_line(obj, values[b"tag"]),
        tagger_email=email,
        tagger_time=when,
        message=body.decode("utf-8", "replace"),
    )


def _object_id(obj: GitObject, value: bytes) -> str:
    oid = _single_line(obj, value)
    if len(oid) != len(obj.oid):
        raise malformed(obj.oid, "refers to an object id of another hash")
    hash_name_of(oid)
    return oid


def _single_line(obj: GitObject, value: bytes) -> str:
    if not value.endswith(b"\n") or b"\n" in value[:-1]:
        raise malformed(obj.oid, "header value spans lines")
    try:
        return value[:-1].decode("utf-8")
    except UnicodeDecodeError:
        raise malformed(obj.oid, "header value is not UTF-8") from None


def _identity(obj: GitObject, value: bytes) -> tuple[str, datetime]:
    # "Name <email> 1700000000 +0100": one '<' and one '>' only, so every reader agrees on the email.
    if not value.endswith(b"\n") or b"\n" in value[:-1]:
        raise malformed(obj.oid, "header value spans lines")
    line = value[:-1]
    if line.count(b"<") != 1 or line.count(b">") != 1 or line.index(b"<") > line.index(b">"):
        raise malformed(obj.oid, "identity is not 'name <email> time zone'")
    try:  # the name may be in a legacy encoding; the email is compared with policy text, so it must be UTF-8
        email = line[line.index(b"<") + 1 : line.index(b">")].decode("utf-8")
    except UnicodeDecodeError:
        raise malformed(obj.oid, "identity email is not UTF-8") from None
    when = line[line.index(b">") + 1 :].split()
    if len(when) != 2 or not when[0].isdigit() or not _TZ.fullmatch(when[1]):
        raise malformed(obj.oid, "identity has no valid time and zone")
    sign = -1 if when[1][:1] == b"-" else 1
    hours, minutes = int(when[1][1:3]), int(when[1][3:5])
    try:
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return email, datetime.fromtimestamp(int(when[0]), tz=zone)
    except (ValueError, OverflowError, OSError):
        raise malformed(obj.oid, "identity time or zone out of range") from None
