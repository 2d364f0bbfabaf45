"""Raw git objects and the bytes their signatures cover, extracted exactly as git extracts them.

A signature is checked against a payload re-derived from the stored object,
never rebuilt from parsed fields: a parser disagreeing with git by one byte
rejects good signatures or, worse, accepts bytes git never signed. The rules
mirror git's ``parse_buffer_signed_by_header`` (commits), ``parse_signed_buffer``
and ``remove_signature`` (tags):

* commit: the signature is the header named for the repository's hash
  (``gpgsig`` in SHA-1 repositories, ``gpgsig-sha256`` in SHA-256 ones) with
  its space-indented continuation lines; the payload is the object without it
  and without any other ``gpgsig*`` header (the other hash's signature);
* tag: the signature is appended; the payload is everything before the last
  line starting an armour (:data:`ARMOR_FORMATS`), minus a ``gpgsig`` or
  ``gpgsig-sha256`` header (the other hash's signature). A SHA-256 tag with no
  appended signature may carry its own in a ``gpgsig-sha256`` header.

What git would read two ways (two signatures of one kind; repeated or unknown
``gpgsig*`` headers in a tag, where git's removal has quirks) is refused.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, cast, get_args

from gitsecure.errors import InputError, UsageError
from gitsecure.verify.gitrun import git_argv, git_env

ObjectKind = Literal["commit", "tag", "tree", "blob"]
SignatureFormat = Literal["openpgp", "ssh", "x509", "unknown"]
_KINDS: tuple[str, ...] = get_args(ObjectKind)

#: The armour lines git recognises (gitformat-signature(5)) and the format each one announces.
ARMOR_FORMATS: tuple[tuple[bytes, SignatureFormat], ...] = (
    (b"-----BEGIN PGP SIGNATURE-----", "openpgp"),
    (b"-----BEGIN PGP MESSAGE-----", "openpgp"),
    (b"-----BEGIN SIGNED MESSAGE-----", "x509"),
    (b"-----BEGIN SSH SIGNATURE-----", "ssh"),
)
# The object id length tells the repository's hash: it picks the hash and the commit signature header.
_HASH_BY_LENGTH = {40: "sha1", 64: "sha256"}
_COMMIT_HEADER = {40: b"gpgsig", 64: b"gpgsig-sha256"}
_TAG_SIGNATURE_HEADERS = (b"gpgsig", b"gpgsig-sha256")


def malformed(oid: str, what: str) -> InputError:
    """The error for an object git could read in more than one way, or not at all."""
    return InputError(f"git object {oid}: {what}", reference="malformed-git-object")


@dataclass(frozen=True)
class GitObject:
    """One object as stored: its id, its type and its exact content (the id is checked against the content)."""

    oid: str
    kind: ObjectKind
    raw: bytes


@dataclass(frozen=True)
class SignedPayload:
    """A signature found in an object: the armoured signature (un-indented), the exact signed bytes, the format."""

    signature: bytes
    payload: bytes
    format: SignatureFormat


def object_id(kind: ObjectKind, raw: bytes, *, hash_name: str) -> str:
    """The git object id of ``raw`` as a ``kind`` object under ``hash_name`` (``sha1`` or ``sha256``)."""
    digest = hashlib.new(hash_name)  # git's object naming, not a choice of ours: SHA-1 repositories exist
    digest.update(b"%s %d\x00" % (kind.encode(), len(raw)))
    digest.update(raw)
    return digest.hexdigest()


def hash_name_of(oid: str) -> str:
    """``sha1`` or ``sha256`` from the length of an object id; anything else is refused."""
    name = _HASH_BY_LENGTH.get(len(oid))
    if name is None or any(c not in "0123456789abcdef" for c in oid):
        raise InputError(f"{oid!r} is not a git object id", reference="malformed-git-object")
    return name


class ObjectReader:
    """One ``git cat-file --batch`` process answering many object reads (not thread-safe).

    Each read writes one name and reads exactly the announced size, so the
    pipes never fill up. Every object's content is hashed and compared with
    its id: a tampered object store is an error, not a verdict on other bytes.
    """

    def __init__(self, repo: Path) -> None:
        """Start the batch process in ``repo``."""
        try:
            self._proc = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
                git_argv(repo, "cat-file", "--batch"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=git_env(),
            )
        except FileNotFoundError:
            raise UsageError("git is not installed or not on PATH", reference="git-missing") from None
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._stdout: IO[bytes] = self._proc.stdout

    def read(self, rev_or_oid: str) -> GitObject:
        """The object ``rev_or_oid`` names; :class:`InputError` when it is missing, ambiguous or corrupt."""
        if not rev_or_oid or any(c in rev_or_oid for c in "\n\r\x00"):
            raise InputError(f"{rev_or_oid!r} is not an object name", reference="missing-object")
        stdin, stdout = self._stdin, self._stdout
        try:
            stdin.write(rev_or_oid.encode("utf-8") + b"\n")
            stdin.flush()
        except BrokenPipeError:
            raise InputError("git cat-file stopped unexpectedly", reference="git-failed") from None
        header = stdout.readline()
        if not header.endswith(b"\n"):
            raise InputError("git cat-file stopped unexpectedly", reference="git-failed")
        fields = header[:-1].split(b" ")
        if fields[-1] in (b"missing", b"ambiguous") or len(fields) != 3 or not fields[2].isdigit():
            raise InputError(f"no single git object named {rev_or_oid!r}", reference="missing-object")
        oid, kind, size = fields[0].decode("ascii"), fields[1].decode("ascii"), int(fields[2])
        raw = stdout.read(size)
        if len(raw) != size or stdout.read(1) != b"\n":
            raise InputError("git cat-file stopped unexpectedly", reference="git-failed")
        if kind not in _KINDS:
            raise malformed(oid, f"unknown object type {kind!r}")
        obj = GitObject(oid=oid, kind=cast(ObjectKind, kind), raw=raw)
        if object_id(obj.kind, raw, hash_name=hash_name_of(oid)) != oid:
            raise InputError(f"git object {oid} does not match its id", reference="corrupt-git-object")
        return obj

    def close(self) -> None:
        """Stop the batch process."""
        self._stdin.close()
        self._stdout.close()
        self._proc.wait()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def signature_format(signature: bytes) -> SignatureFormat:
    """The format an armoured signature announces on its first line; ``unknown`` for anything else."""
    for marker, name in ARMOR_FORMATS:
        if signature.startswith(marker):
            return name
    return "unknown"


def signed_payload(obj: GitObject) -> SignedPayload | None:
    """The signature of a commit or tag and the exact bytes it covers; None when it carries none.

    Raises :class:`InputError` (``malformed-git-object``) when the object holds
    two signatures of the kind being checked, which git would concatenate.
    """
    if obj.kind == "commit":
        return _commit_signature(obj)
    if obj.kind == "tag":
        return _tag_signature(obj)
    return None


def mergetags(obj: GitObject) -> list[GitObject]:
    """The tag objects embedded in a merge commit's ``mergetag`` headers, un-indented, with their computed ids.

    ``git merge`` of a signed tag copies the whole tag object into the merge
    commit; its signature can then be checked like any tag's
    (:func:`signed_payload`). The merge commit's own signature is separate.
    """
    if obj.kind != "commit":
        return []
    hash_name, fields = hash_name_of(obj.oid), header_fields(obj)[0]
    tags = [value for name, value in fields if name == b"mergetag"]
    return [GitObject(oid=object_id("tag", raw, hash_name=hash_name), kind="tag", raw=raw) for raw in tags]


def header_fields(obj: GitObject) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The header fields of a commit or tag (name, value with continuations un-indented and newlines kept),
    and the body after the blank line. A header line without a name is refused."""
    fields: list[tuple[bytes, bytes]] = []
    lines, rest = _split_head(obj.raw)
    for line in lines:
        if line.startswith(b" "):
            if not fields:
                raise malformed(obj.oid, "continuation line before any header")
            fields[-1] = (fields[-1][0], fields[-1][1] + line[1:])
            continue
        name, space, value = line.partition(b" ")
        if not space or not name:
            raise malformed(obj.oid, "header line without a name")
        fields.append((name, value))
    return fields, rest[1:]


def _commit_signature(obj: GitObject) -> SignedPayload | None:
    payload, signature, count = _split_header_signature(obj.raw, _COMMIT_HEADER[len(obj.oid)])
    if count == 0:
        return None
    if count > 1:
        raise malformed(obj.oid, "more than one signature header")
    return SignedPayload(signature=signature, payload=payload, format=signature_format(signature))


def _tag_signature(obj: GitObject) -> SignedPayload | None:
    raw = obj.raw
    start = _last_armor_line(raw)
    payload, header, header_signature = _remove_tag_header(obj.oid, raw if start is None else raw[:start])
    native_header = header == b"gpgsig-sha256" and len(obj.oid) == 64
    if start is not None:
        if native_header:
            raise malformed(obj.oid, "both an appended and a header signature")
        signature = raw[start:]
    elif native_header:
        signature = header_signature
    else:
        return None
    return SignedPayload(signature=signature, payload=payload, format=signature_format(signature))


def _split_head(raw: bytes) -> tuple[list[bytes], bytes]:
    # The header lines (newlines kept) and the rest from the blank line on, where git stops looking at lines.
    if raw.startswith(b"\n"):
        head, rest = b"", raw
    else:
        end = raw.find(b"\n\n")
        head, rest = (raw, b"") if end < 0 else (raw[: end + 1], raw[end + 1 :])
    pieces = head.split(b"\n")
    lines = [piece + b"\n" for piece in pieces[:-1]]
    return ([*lines, pieces[-1]] if pieces[-1] else lines), rest


def _split_header_signature(raw: bytes, header: bytes) -> tuple[bytes, bytes, int]:
    # git's parse_buffer_signed_by_header: the named header's lines become the signature; every other
    # header starting with "gpgsig" is dropped from the payload with its continuation lines.
    payload, signature, count = bytearray(), bytearray(), 0
    in_signature = other = False
    prefix = header + b" "
    lines, rest = _split_head(raw)
    for line in lines:
        if in_signature and line.startswith(b" "):
            signature += line[1:]
        elif line.startswith(prefix):
            signature += line[len(prefix) :]
            count, in_signature, other = count + 1, True, False
        else:
            if line.startswith(b"gpgsig"):
                other = True
            elif other and not line.startswith(b" "):
                other = False
            in_signature = False
            if not other:
                payload += line
    return bytes(payload + rest), bytes(signature), count


def _remove_tag_header(oid: str, raw: bytes) -> tuple[bytes, bytes | None, bytes]:
    # git's remove_signature drops gpgsig/gpgsig-sha256 headers, but with quirks for adjacent or repeated
    # headers and for other "gpgsig*" lines; only the unambiguous shape (one such header) is accepted.
    out, signature, header, in_signature = bytearray(), bytearray(), None, False
    lines, rest = _split_head(raw)
    for line in lines:
        if in_signature and line.startswith(b" "):
            signature += line[1:]
            continue
        in_signature = line.startswith(b"gpgsig")
        if in_signature:
            name, space, value = line.partition(b" ")
            if not space or name not in _TAG_SIGNATURE_HEADERS or header is not None:
                raise malformed(oid, "unexpected signature header in a tag")
            header = name
            signature += value
        else:
            out += line
    return bytes(out + rest), header, bytes(signature)


def _last_armor_line(raw: bytes) -> int | None:
    # git's parse_signed_buffer: the signature starts at the LAST line that begins with an armour marker.
    best = -1
    for marker, _ in ARMOR_FORMATS:
        at = raw.rfind(b"\n" + marker)
        if at >= 0:
            best = max(best, at + 1)
        elif raw.startswith(marker):
            best = max(best, 0)
    return best if best >= 0 else None
