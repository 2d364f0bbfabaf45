"""ExternalSecrets and stores from the API's plain dicts, checked as ESO's admission webhook checks them.

Without a webhook installed these checks run in the controller: an invalid ExternalSecret gets a Ready=False
condition naming the rule it breaks, never a half-applied sync. Optional enums are not defaulted into the
object (see ``model``); defaults are applied here, in code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, cast

from gitsecure.controller.external.model import (
    CLUSTER_STORE_KIND,
    STORE_KIND,
    DataFromItem,
    DataItem,
    ExternalSecretSpec,
    FindSpec,
    ProviderName,
    RemoteRef,
    Rewrite,
    StoreRef,
    StoreSpec,
    TargetSpec,
    TemplateSpec,
)
from gitsecure.controller.goflags import parse_go_duration
from gitsecure.errors import GitsecureError, UsageError

DEFAULT_REFRESH = dt.timedelta(hours=1)
SUPPORTED_PROVIDERS: tuple[ProviderName, ...] = ("vault", "aws")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_ENUMS = {
    "refreshPolicy": ("", "CreatedOnce", "Periodic", "OnChange"),
    "creationPolicy": ("", "Owner", "Orphan", "Merge", "None", "CreateOrMerge"),
    "deletionPolicy": ("", "Retain", "Delete", "Merge"),
    "conversionStrategy": ("", "Default", "Unicode"),
    "decodingStrategy": ("", "Auto", "Base64", "Base64URL", "None"),
    "metadataPolicy": ("", "None", "Fetch"),
    "nullBytePolicy": ("", "Ignore", "Fail"),
    "mergePolicy": ("", "Replace", "Merge"),
    "engineVersion": ("", "v2"),
}


class InvalidExternalSecret(GitsecureError):
    """The ExternalSecret breaks a rule ESO's webhook enforces (message says which)."""

    reference = "invalid-external-secret"


class InvalidStore(GitsecureError):
    """The SecretStore/ClusterSecretStore cannot be used (message says why)."""

    reference = "invalid-store"


def _map(value: object, where: str, error: type[GitsecureError]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise error(f"{where} must be an object")
    return cast("Mapping[str, Any]", value)


def _list(value: object, where: str, error: type[GitsecureError]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise error(f"{where} must be a list")
    return value


def _enum(block: Mapping[str, Any], name: str, where: str, default: str) -> str:
    value = block.get(name)
    text = "" if value is None else str(value)
    if text not in _ENUMS[name]:
        allowed = ", ".join(v for v in _ENUMS[name] if v)
        raise InvalidExternalSecret(f"{where}.{name}: unsupported value {text!r} (one of {allowed})")
    return text or default


def _duration(value: object, where: str, error: type[GitsecureError], *, seconds_int: bool = False) -> dt.timedelta:
    if seconds_int and isinstance(value, int) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    try:
        duration = parse_go_duration(str(value))
    except UsageError as exc:
        raise error(f"{where}: {exc.message}") from None
    if duration < dt.timedelta(0):
        raise error(f"{where}: a negative duration is not allowed")
    return duration


def _store_ref(value: object, where: str) -> StoreRef | None:
    if value is None:
        return None
    block = _map(value, where, InvalidExternalSecret)
    name = str(block.get("name") or "")
    kind = str(block.get("kind") or STORE_KIND)
    if kind not in (STORE_KIND, CLUSTER_STORE_KIND):
        raise InvalidExternalSecret(f"{where}.kind must be SecretStore or ClusterSecretStore, not {kind!r}")
    if not name:
        raise InvalidExternalSecret(f"{where}.name is required")
    return StoreRef(name=name, kind=kind)


def _remote_ref(value: object, where: str) -> RemoteRef:
    block = _map(value, where, InvalidExternalSecret)
    key = block.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidExternalSecret(f"{where}.key is required")
    return RemoteRef(
        key=key,
        property=str(block.get("property") or ""),
        version=str(block.get("version") or ""),
        conversion_strategy=_enum(block, "conversionStrategy", where, "Default"),
        decoding_strategy=_enum(block, "decodingStrategy", where, "None"),
        metadata_policy=_enum(block, "metadataPolicy", where, "None"),
        null_byte_policy=_enum(block, "nullBytePolicy", where, "Ignore"),
    )


def _source_store(item: Mapping[str, Any], where: str) -> StoreRef | None:
    source = _map(item.get("sourceRef"), f"{where}.sourceRef", InvalidExternalSecret)
    if not source:
        return None
    if source.get("generatorRef") is not None:
        raise InvalidExternalSecret(f"{where}.sourceRef.generatorRef: generators are not supported")
    if source.get("storeRef") is None:
        raise InvalidExternalSecret(f"{where}.sourceRef must name a storeRef or a generatorRef")
    return _store_ref(source.get("storeRef"), f"{where}.sourceRef.storeRef")


def _find(value: object, where: str) -> FindSpec:
    block = _map(value, where, InvalidExternalSecret)
    name = _map(block.get("name"), f"{where}.name", InvalidExternalSecret)
    regexp = name.get("regexp")
    if regexp is not None:
        try:
            re.compile(str(regexp))
        except re.error as exc:
            raise InvalidExternalSecret(f"{where}.name.regexp is not a valid regular expression: {exc}") from None
    tags = _map(block.get("tags"), f"{where}.tags", InvalidExternalSecret)
    if regexp is None and not tags:
        raise InvalidExternalSecret(f"{where} needs name.regexp or tags")
    return FindSpec(
        path=None if block.get("path") is None else str(block["path"]),
        name_regexp=None if regexp is None else str(regexp),
        tags={str(k): str(v) for k, v in tags.items()},
        conversion_strategy=_enum(block, "conversionStrategy", where, "Default"),
        decoding_strategy=_enum(block, "decodingStrategy", where, "None"),
    )


def _rewrite(value: object, where: str) -> Rewrite:
    block = _map(value, where, InvalidExternalSecret)
    present = [kind for kind in ("regexp", "transform", "merge") if block.get(kind) is not None]
    if len(present) != 1:
        raise InvalidExternalSecret(f"{where} must have exactly one of regexp, transform, merge")
    body = _map(block[present[0]], f"{where}.{present[0]}", InvalidExternalSecret)
    if present[0] == "regexp":
        source = str(body.get("source") or "")
        try:
            re.compile(source)
        except re.error as exc:
            raise InvalidExternalSecret(f"{where}.regexp.source is not a valid regular expression: {exc}") from None
        return Rewrite(kind="regexp", source=source, target=str(body.get("target") or ""))
    if present[0] == "transform":
        return Rewrite(kind="transform", template=str(body.get("template") or ""))
    return Rewrite(kind="merge", raw=dict(body))


def _data_from(value: object, where: str) -> DataFromItem:
    block = _map(value, where, InvalidExternalSecret)
    chosen = [k for k in ("extract", "find") if block.get(k) is not None]
    source = _map(block.get("sourceRef"), f"{where}.sourceRef", InvalidExternalSecret)
    if source.get("generatorRef") is not None:
        chosen.append("sourceRef.generatorRef")
    if len(chosen) != 1:
        raise InvalidExternalSecret(f"{where} must have exactly one of extract, find or sourceRef.generatorRef")
    rewrites = tuple(
        _rewrite(item, f"{where}.rewrite[{i}]")
        for i, item in enumerate(_list(block.get("rewrite"), f"{where}.rewrite", InvalidExternalSecret))
    )
    return DataFromItem(
        extract=_remote_ref(block["extract"], f"{where}.extract") if chosen[0] == "extract" else None,
        find=_find(block["find"], f"{where}.find") if chosen[0] == "find" else None,
        rewrite=rewrites,
        store_ref=_source_store(block, where),
    )


def _template(value: object) -> TemplateSpec | None:
    if value is None:
        return None
    where = "spec.target.template"
    block = _map(value, where, InvalidExternalSecret)
    meta = _map(block.get("metadata"), f"{where}.metadata", InvalidExternalSecret)
    kind = str(block.get("type") or "")
    if kind == "bootstrap.kubernetes.io/token":
        raise InvalidExternalSecret(f"{where}.type {kind} is not allowed")
    template_from = []
    for index, item in enumerate(_list(block.get("templateFrom"), f"{where}.templateFrom", InvalidExternalSecret)):
        entry = _map(item, f"{where}.templateFrom[{index}]", InvalidExternalSecret)
        if str(entry.get("target") or "Data") not in ("Data", "Annotations", "Labels"):
            raise InvalidExternalSecret(f"{where}.templateFrom[{index}].target must be Data, Annotations or Labels")
        template_from.append(dict(entry))
    return TemplateSpec(
        type=kind,
        engine_version=_enum(block, "engineVersion", where, "v2"),
        merge_policy=_enum(block, "mergePolicy", where, "Replace"),
        labels={
            str(k): str(v)
            for k, v in _map(meta.get("labels"), f"{where}.metadata.labels", InvalidExternalSecret).items()
        },
        annotations={
            str(k): str(v)
            for k, v in _map(meta.get("annotations"), f"{where}.metadata.annotations", InvalidExternalSecret).items()
        },
        finalizers=tuple(
            str(f) for f in _list(meta.get("finalizers"), f"{where}.metadata.finalizers", InvalidExternalSecret)
        ),
        data={str(k): str(v) for k, v in _map(block.get("data"), f"{where}.data", InvalidExternalSecret).items()},
        template_from=tuple(template_from),
    )


def _target(value: object) -> TargetSpec:
    block = _map(value, "spec.target", InvalidExternalSecret)
    if block.get("manifest") is not None:
        raise InvalidExternalSecret("spec.target.manifest: generic targets are not supported")
    creation = _enum(block, "creationPolicy", "spec.target", "Owner")
    deletion = _enum(block, "deletionPolicy", "spec.target", "Retain")
    if deletion == "Delete" and creation in ("Merge", "None", "CreateOrMerge"):
        raise InvalidExternalSecret(f"deletionPolicy=Delete must not be used when creationPolicy={creation}")
    if deletion == "Merge" and creation == "None":
        raise InvalidExternalSecret("deletionPolicy=Merge must not be used with creationPolicy=None")
    return TargetSpec(
        name=str(block.get("name") or ""),
        creation_policy=creation,
        deletion_policy=deletion,
        immutable=block.get("immutable") is True,
        template=_template(block.get("template")),
    )


def parse_external_secret(body: Mapping[str, Any]) -> ExternalSecretSpec:
    """The spec of an ExternalSecret; raises :class:`InvalidExternalSecret` with the rule it breaks."""
    spec = _map(body.get("spec"), "spec", InvalidExternalSecret)
    store_ref = _store_ref(spec.get("secretStoreRef"), "spec.secretStoreRef")
    data = []
    for index, item in enumerate(_list(spec.get("data"), "spec.data", InvalidExternalSecret)):
        where = f"spec.data[{index}]"
        block = _map(item, where, InvalidExternalSecret)
        secret_key = str(block.get("secretKey") or "")
        if not _SECRET_KEY.fullmatch(secret_key) or len(secret_key) > 253:
            raise InvalidExternalSecret(f"{where}.secretKey {secret_key!r} is not a valid Secret key")
        data.append(
            DataItem(secret_key, _remote_ref(block.get("remoteRef"), f"{where}.remoteRef"), _source_store(block, where))
        )
    data_from = tuple(
        _data_from(item, f"spec.dataFrom[{index}]")
        for index, item in enumerate(_list(spec.get("dataFrom"), "spec.dataFrom", InvalidExternalSecret))
    )
    if not data and not data_from:
        raise InvalidExternalSecret("either data or dataFrom should be specified")
    target = _target(spec.get("target"))
    if target.deletion_policy == "Retain":
        keys = [item.secret_key for item in data]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise InvalidExternalSecret(f"duplicate secretKey {', '.join(duplicates)} (deletionPolicy=Retain)")
    needs_store = any(item.store_ref is None for item in data) or any(item.store_ref is None for item in data_from)
    if store_ref is None and needs_store:
        raise InvalidExternalSecret("spec.secretStoreRef is required when an entry has no sourceRef.storeRef")
    interval = spec.get("refreshInterval")
    return ExternalSecretSpec(
        store_ref=store_ref or StoreRef(name=""),
        refresh_policy=_enum(spec, "refreshPolicy", "spec", "Periodic"),
        refresh_interval=DEFAULT_REFRESH
        if interval is None
        else _duration(interval, "spec.refreshInterval", InvalidExternalSecret),
        data=tuple(data),
        data_from=data_from,
        target=target,
    )


def parse_store(body: Mapping[str, Any]) -> StoreSpec:
    """A SecretStore or ClusterSecretStore; raises :class:`InvalidStore` naming the problem."""
    kind = str(body.get("kind") or "")
    if kind not in (STORE_KIND, CLUSTER_STORE_KIND):
        raise InvalidStore(f"kind {kind!r} is not a secret store")
    meta = _map(body.get("metadata"), "metadata", InvalidStore)
    spec = _map(body.get("spec"), "spec", InvalidStore)
    provider = _map(spec.get("provider"), "spec.provider", InvalidStore)
    names = [name for name, block in provider.items() if block is not None]
    if len(names) != 1:
        raise InvalidStore(f"spec.provider must name exactly one provider, found {len(names)}")
    if names[0] not in SUPPORTED_PROVIDERS:
        raise InvalidStore(f"provider {names[0]!r} is not supported (gitsecure supports vault and aws)")
    retry = _map(spec.get("retrySettings"), "spec.retrySettings", InvalidStore)
    retry_max = retry.get("maxRetries")
    if retry_max is not None and (not isinstance(retry_max, int) or isinstance(retry_max, bool) or retry_max < 0):
        raise InvalidStore("spec.retrySettings.maxRetries must be a non-negative integer")
    conditions = tuple(
        dict(_map(item, f"spec.conditions[{i}]", InvalidStore))
        for i, item in enumerate(_list(spec.get("conditions"), "spec.conditions", InvalidStore))
    )
    for index, condition in enumerate(conditions):
        for pattern in condition.get("namespaceRegexes") or []:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                raise InvalidStore(
                    f"spec.conditions[{index}].namespaceRegexes: {pattern!r} is invalid: {exc}"
                ) from None
    interval = spec.get("refreshInterval")
    retry_interval = retry.get("retryInterval")
    return StoreSpec(
        kind=kind,
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace")) if kind == STORE_KIND and meta.get("namespace") else None,
        controller=str(spec.get("controller") or ""),
        provider_name=names[0],
        provider=dict(_map(provider[names[0]], f"spec.provider.{names[0]}", InvalidStore)),
        retry_max=retry_max,
        retry_interval=None
        if retry_interval is None
        else _duration(retry_interval, "spec.retrySettings.retryInterval", InvalidStore),
        refresh_interval=None
        if interval in (None, 0, "0", "")
        else _duration(interval, "spec.refreshInterval", InvalidStore, seconds_int=True),
        conditions=conditions,
        resource_version=str(meta.get("resourceVersion") or ""),
        uid=str(meta.get("uid") or ""),
    )


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels AND matchExpressions); an empty selector matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = str(expression.get("key") or ""), str(expression.get("operator") or "")
        values = [str(v) for v in expression.get("values") or []]
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False  # an unknown operator never matches: fail closed
    return True


def namespace_allowed(store: StoreSpec, namespace: str, namespace_labels: Mapping[str, str]) -> bool:
    """Whether a ClusterSecretStore's ``conditions`` let ``namespace`` use it (no conditions: yes; OR'ed)."""
    if not store.conditions:
        return True
    for condition in store.conditions:
        selector = condition.get("namespaceSelector")
        if isinstance(selector, Mapping) and _selector_matches(selector, namespace_labels):
            return True
        if namespace in [str(n) for n in condition.get("namespaces") or []]:
            return True
        if any(re.search(str(p), namespace) for p in condition.get("namespaceRegexes") or []):
            return True
    return False
