"""The API server's validation of what a controller writes: names, labels, ownerReferences, Secrets.

Each check returns 422 causes ``(field, reason, message)`` rather than raising, so one answer lists
every problem like the API server does. Only the rules a sealed-secrets controller can trip over
are here; see the module list of gaps in ``emulator.py``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from tests.support.kube.apistatus import bad_request

Cause = tuple[str, str, str]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_IMMUTABLE = "field is immutable when `immutable` is set"
MAX_SECRET_BYTES = 1024 * 1024
# Keys the API server requires for typed Secrets (a controller writing a template's type must honour them).
_TYPE_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}
MAX_GENERATED_PREFIX = 58  # 63 minus the 5 random characters


def _invalid(field: str, value: Any, why: str) -> Cause:
    return (field, "FieldValueInvalid", f"Invalid value: {value!r}: {why}")


def check_name(name: Any, *, dns_label: bool) -> list[Cause]:
    """``metadata.name``: an RFC 1123 label (namespaces) or subdomain (most kinds)."""
    if not isinstance(name, str) or not name:
        return [("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")]
    if dns_label and (len(name) > 63 or not _DNS_LABEL.match(name)):
        return [
            _invalid(
                "metadata.name",
                name,
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'",
            )
        ]
    if not dns_label and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
        return [
            _invalid(
                "metadata.name",
                name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
            )
        ]
    return []


def _check_key(field: str, key: Any) -> list[Cause]:
    if not isinstance(key, str):
        return [_invalid(field, key, "must be a string")]
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return [_invalid(field, key, "prefix part must be a lowercase RFC 1123 subdomain")]
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return [_invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.'")]
    return []


def check_metadata(meta: Mapping[str, Any]) -> list[Cause]:
    """Labels, annotations and ownerReferences."""
    causes: list[Cause] = []
    labels = meta.get("labels") or {}
    for key, value in labels.items():
        causes += _check_key("metadata.labels", key)
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(_invalid("metadata.labels", value, "a valid label value must be 63 characters or less"))
    for key, value in (meta.get("annotations") or {}).items():
        causes += _check_key("metadata.annotations", key)
        if not isinstance(value, str):
            causes.append(_invalid("metadata.annotations", value, "must be a string"))
    controllers = 0
    for index, ref in enumerate(meta.get("ownerReferences") or []):
        field = f"metadata.ownerReferences[{index}]"
        if not isinstance(ref, Mapping):
            causes.append(_invalid(field, ref, "must be an object"))
            continue
        for required in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(required):
                causes.append(
                    (
                        f"{field}.{required}",
                        "FieldValueInvalid",
                        f"Invalid value: {ref.get(required)!r}: {required} must not be empty",
                    )
                )
        controllers += bool(ref.get("controller"))
    if controllers > 1:
        causes.append(
            (
                "metadata.ownerReferences",
                "FieldValueInvalid",
                "Invalid value: only one reference can have Controller set to true",
            )
        )
    finalizers = meta.get("finalizers") or []
    for value in finalizers:
        causes += _check_key("metadata.finalizers", value)
    return causes


def normalize_secret(obj: dict[str, Any]) -> list[Cause]:
    """In place: ``stringData`` folded into ``data``, ``type`` defaulted; then the Secret's own rules.

    Bad base64 is a 400, as the API server fails to decode the body before validating it.
    """
    data = obj.get("data") or {}
    if not isinstance(data, Mapping):
        raise bad_request("json: cannot unmarshal data into Go struct field Secret.data of type map[string][]uint8")
    data = dict(data)
    size = 0
    for key, value in data.items():
        try:
            size += len(base64.b64decode(value, validate=True)) if value is not None else 0
        except (binascii.Error, TypeError, ValueError):
            raise bad_request(f"illegal base64 data in Secret.data[{key!r}]") from None
    for key, value in (obj.pop("stringData", None) or {}).items():
        encoded = str(value).encode("utf-8")
        data[key] = base64.b64encode(encoded).decode("ascii")
        size += len(encoded)
    if data or "data" in obj:
        obj["data"] = data
    obj.setdefault("type", "Opaque")
    causes: list[Cause] = []
    for key in data:
        if not _SECRET_KEY.match(key) or len(key) > 253:
            causes.append(
                _invalid(
                    f"data[{key}]", key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
                )
            )
    if size > MAX_SECRET_BYTES:
        causes.append(("data", "FieldValueTooLong", f"Too long: must have at most {MAX_SECRET_BYTES} bytes"))
    for key in _TYPE_KEYS.get(str(obj.get("type")), ()):
        if key not in data:
            causes.append((f"data[{key}]", "FieldValueRequired", "Required value"))
    return causes


def update_causes(plural: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Cause]:
    """Update rules: immutable Secrets/ConfigMaps keep their data; a Secret keeps its type."""
    causes: list[Cause] = []
    if plural in ("secrets", "configmaps") and old.get("immutable") is True:
        fields = ("data",) if plural == "secrets" else ("data", "binaryData")
        for field in fields:
            if (old.get(field) or {}) != (new.get(field) or {}):
                causes.append((field, "FieldValueForbidden", f"Forbidden: {_IMMUTABLE}"))
        if new.get("immutable") is not True:
            causes.append(("immutable", "FieldValueForbidden", f"Forbidden: {_IMMUTABLE}"))
    if plural == "secrets" and old.get("type") != new.get("type"):
        causes.append(_invalid("type", new.get("type"), "field is immutable"))
    return causes
