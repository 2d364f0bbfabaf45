"""Sealing scopes and the OAEP label each one binds a value to."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from gitsecure.errors import UsageError

ANNOTATION_PREFIX = "sealedsecrets.bitnami.com/"
CLUSTER_WIDE_ANNOTATION = ANNOTATION_PREFIX + "cluster-wide"
NAMESPACE_WIDE_ANNOTATION = ANNOTATION_PREFIX + "namespace-wide"


class Scope(enum.Enum):
    """Where a sealed value may be opened.

    strict: only under the same name and namespace; namespace-wide: under any
    name in the same namespace; cluster-wide: anywhere.
    """

    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"

    @classmethod
    def parse(cls, value: str) -> Scope:
        """Parse a ``--scope`` value; the empty string means strict, as in kubeseal."""
        if value == "":
            return cls.STRICT
        try:
            return cls(value)
        except ValueError:
            raise UsageError(
                "--scope must be one of: strict, namespace-wide, cluster-wide", reference="bad-scope"
            ) from None

    @property
    def annotation(self) -> str | None:
        """The metadata annotation that declares this scope, None for strict."""
        return {
            Scope.STRICT: None,
            Scope.NAMESPACE_WIDE: NAMESPACE_WIDE_ANNOTATION,
            Scope.CLUSTER_WIDE: CLUSTER_WIDE_ANNOTATION,
        }[self]


def scope_from_annotations(annotations: Mapping[str, object] | None) -> Scope:
    """The scope the annotations declare: only the exact string "true" counts; cluster-wide wins."""
    annotations = annotations or {}
    if annotations.get(CLUSTER_WIDE_ANNOTATION) == "true":
        return Scope.CLUSTER_WIDE
    if annotations.get(NAMESPACE_WIDE_ANNOTATION) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def label_for(scope: Scope, *, namespace: str, name: str) -> bytes:
    """The OAEP label: ``namespace/name`` (strict), ``namespace`` (namespace-wide) or empty."""
    # surrogateescape: a name given as raw non-UTF-8 bytes on the command line keeps those bytes.
    if scope is Scope.STRICT:
        return f"{namespace}/{name}".encode("utf-8", "surrogateescape")
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode("utf-8", "surrogateescape")
    return b""
