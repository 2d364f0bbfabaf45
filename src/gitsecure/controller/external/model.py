"""The ExternalSecret, SecretStore and ClusterSecretStore resources as frozen dataclasses.

Parsed from the plain dicts the API returns. Optional enums are never defaulted into the stored object (ESO
stopped doing that in v2.9 because GitOps tools showed it as drift); an empty string means "the default" here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

GROUP = "external-secrets.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
ES_KIND = "ExternalSecret"
STORE_KIND = "SecretStore"
CLUSTER_STORE_KIND = "ClusterSecretStore"
ES_PLURAL = "externalsecrets"
STORE_PLURAL = "secretstores"
CLUSTER_STORE_PLURAL = "clustersecretstores"

MANAGED_LABEL = "reconcile.external-secrets.io/managed"
DATA_HASH_ANNOTATION = "reconcile.external-secrets.io/data-hash"
CREATED_BY_LABEL = "reconcile.external-secrets.io/created-by"
FINALIZER = "externalsecrets.external-secrets.io/externalsecret-cleanup"

ProviderName = Literal["vault", "aws"]


@dataclass(frozen=True)
class RemoteRef:
    """``data[].remoteRef`` and ``dataFrom[].extract``."""

    key: str
    property: str = ""
    version: str = ""
    conversion_strategy: str = "Default"
    decoding_strategy: str = "None"
    metadata_policy: str = "None"
    null_byte_policy: str = "Ignore"


@dataclass(frozen=True)
class StoreRef:
    """``secretStoreRef`` or a per-entry ``sourceRef.storeRef``."""

    name: str
    kind: str = STORE_KIND


@dataclass(frozen=True)
class DataItem:
    """One ``data[]`` entry: one Secret key."""

    secret_key: str
    remote_ref: RemoteRef
    store_ref: StoreRef | None = None


@dataclass(frozen=True)
class FindSpec:
    """``dataFrom[].find``: many remote secrets, one Secret key each."""

    path: str | None = None
    name_regexp: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    conversion_strategy: str = "Default"
    decoding_strategy: str = "None"


@dataclass(frozen=True)
class Rewrite:
    """One ``dataFrom[].rewrite[]`` item; ``raw`` keeps the options of ``merge``."""

    kind: Literal["regexp", "transform", "merge"]
    source: str = ""
    target: str = ""
    template: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataFromItem:
    """One ``dataFrom[]`` entry: exactly one of ``extract`` and ``find``."""

    extract: RemoteRef | None = None
    find: FindSpec | None = None
    rewrite: tuple[Rewrite, ...] = ()
    store_ref: StoreRef | None = None


@dataclass(frozen=True)
class TemplateSpec:
    """``target.template``."""

    type: str = ""
    engine_version: str = "v2"
    merge_policy: str = "Replace"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    finalizers: tuple[str, ...] = ()
    data: Mapping[str, str] = field(default_factory=dict)
    template_from: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class TargetSpec:
    """``target``: which Secret, how it is created and what happens when the provider has nothing."""

    name: str
    creation_policy: str = "Owner"
    deletion_policy: str = "Retain"
    immutable: bool = False
    template: TemplateSpec | None = None


@dataclass(frozen=True)
class ExternalSecretSpec:
    """An ExternalSecret's spec, with defaults applied in code."""

    store_ref: StoreRef
    refresh_policy: str
    refresh_interval: dt.timedelta
    data: tuple[DataItem, ...]
    data_from: tuple[DataFromItem, ...]
    target: TargetSpec


@dataclass(frozen=True)
class StoreSpec:
    """A SecretStore or ClusterSecretStore; ``provider`` is the raw block of the one provider it names."""

    kind: str
    name: str
    namespace: str | None
    controller: str
    provider_name: ProviderName
    provider: Mapping[str, Any]
    retry_max: int | None = None
    retry_interval: dt.timedelta | None = None
    refresh_interval: dt.timedelta | None = None
    conditions: tuple[Mapping[str, Any], ...] = ()
    resource_version: str = ""
    uid: str = ""
