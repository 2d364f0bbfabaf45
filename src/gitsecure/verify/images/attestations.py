"""in-toto Statements inside verified DSSE envelopes: type, subject digest binding and predicate type.

A verified envelope only proves who signed *some* Statement. It says something about the admitted image only when
its ``payloadType`` is in-toto, its ``_type`` is Statement v0.1 or v1, one ``subject`` carries
``digest.sha256 == <admitted digest>`` and the ``predicateType`` is one the caller asked for
(``https://sigstore.dev/cosign/sign/v1`` for cosign v3 image signatures). Anything else is a
:class:`StatementRejected` with a kebab-case reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitsecure.errors import EXIT_FINDINGS, GitsecureError

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = frozenset({"https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"})
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
_HEX = re.compile(r"[0-9a-f]{64}")


class StatementRejected(GitsecureError):
    """A Statement is not about the admitted image or not of the wanted kind; ``reference`` says why."""

    exit_code = EXIT_FINDINGS

    def __init__(self, reference: str, message: str) -> None:
        super().__init__(message, reference=reference)


@dataclass(frozen=True)
class Statement:
    """The accepted Statement: its predicate type and predicate, and the matching subject's annotations."""

    predicate_type: str
    predicate: Any
    annotations: Mapping[str, str] = field(default_factory=dict)


def check_statement(
    payload_type: str | None, payload: bytes, digest: str, predicate_types: Collection[str]
) -> Statement:
    """Accept an in-toto Statement about ``digest`` (``sha256:<hex>``) with one of ``predicate_types``.

    An empty ``predicate_types`` is refused: "any predicate" would let an SBOM count as a signature.
    """
    if not predicate_types:
        raise StatementRejected("no-predicate-type", "no predicate type selected")
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise StatementRejected("unknown-payload-type", "the envelope does not hold an in-toto Statement")
    algorithm, _, want = digest.partition(":")
    if algorithm != "sha256" or not _HEX.fullmatch(want):
        raise StatementRejected("digest-mismatch", "the admitted digest is not a sha256 digest")
    try:
        doc = json.loads(payload, object_pairs_hook=_no_duplicates)
        if not isinstance(doc, dict):
            raise TypeError("statement is not an object")
        if doc.get("_type") not in STATEMENT_TYPES:
            raise StatementRejected("unknown-statement-type", "unknown in-toto Statement type")
        subjects = doc["subject"]
        predicate_type = doc["predicateType"]
        if not isinstance(subjects, list) or not subjects or not isinstance(predicate_type, str):
            raise TypeError("bad subject or predicateType")
        matching = [s for s in subjects if _subject_digest(s) == want]
    except (ValueError, TypeError, KeyError, UnicodeError):
        raise StatementRejected("malformed-statement", "malformed in-toto Statement") from None
    if not matching:
        raise StatementRejected("digest-mismatch", "the Statement is about another artifact")
    if predicate_type not in predicate_types:
        raise StatementRejected("predicate-type-mismatch", f"unexpected predicate type {predicate_type!r}")
    annotations = matching[0].get("annotations") or {}
    if not isinstance(annotations, dict):
        raise StatementRejected("malformed-statement", "malformed subject annotations")
    # cosign -a values are strings; other JSON values are kept as their JSON text for policy matching.
    flat = {str(k): v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in annotations.items()}
    return Statement(predicate_type=predicate_type, predicate=doc.get("predicate"), annotations=flat)


def _subject_digest(subject: object) -> str | None:
    if not isinstance(subject, dict):
        raise TypeError("subject is not an object")
    digests = subject["digest"]
    if not isinstance(digests, dict):
        raise TypeError("subject digest is not an object")
    value = digests.get("sha256")
    if value is not None and not isinstance(value, str):
        raise TypeError("sha256 is not a string")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers disagreeing on a duplicated "subject" is how binding checks get bypassed.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out
