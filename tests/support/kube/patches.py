"""PATCH bodies by content type: JSON merge patch, JSON patch and (a subset of) strategic merge patch.

Strategic merge patch is the ``kubernetes`` client's default for dict bodies on built-in kinds. Here it
is a merge patch plus the list semantics of the fields a sealed-secrets controller touches:
``metadata.ownerReferences`` merge by ``uid``, ``metadata.finalizers`` merge as a set, and the
``$patch: replace|delete`` and ``$deleteFromPrimitiveList/`` directives. Custom resources reject
it with 415, as on a real cluster. Server-side apply is not served (415).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch  # a dependency of kmock 0.8
import jsonpointer

from tests.support.kube.apistatus import ApiError, bad_request

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
_PRIMITIVE = ""
# Field path -> merge key of that list ("" = a list of scalars merged as a set).
_MERGE_KEYS: Mapping[tuple[str, ...], str] = {
    ("metadata", "ownerReferences"): "uid",
    ("metadata", "finalizers"): _PRIMITIVE,
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, ``null`` removes a key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_list(target: list[Any], patch: list[Any], merge_key: str, path: tuple[str, ...]) -> list[Any]:
    if merge_key == _PRIMITIVE:
        return list(target) + [item for item in patch if item not in target]
    result = list(target)
    for item in patch:
        if not isinstance(item, Mapping) or merge_key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {merge_key}")
        index = next(
            (i for i, old in enumerate(result) if isinstance(old, Mapping) and old.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item, path))
        else:
            result[index] = strategic_merge(result[index], item, path)
    return result


def strategic_merge(target: Mapping[str, Any], patch: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The strategic-merge subset described in the module docstring."""
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    result = dict(target)
    for key, value in patch.items():
        if key == "$patch" or key == "$retainKeys" or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [item for item in result.get(field) or [] if item not in value]
            continue
        here = (*path, key)
        old = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = strategic_merge(old if isinstance(old, Mapping) else {}, value, here)
        elif isinstance(value, list) and here in _MERGE_KEYS:
            result[key] = _merge_list(old if isinstance(old, list) else [], value, _MERGE_KEYS[here], here)
        else:
            result[key] = value
    return result


def apply_patch(current: Mapping[str, Any], patch: Any, content_type: str, *, custom: bool) -> dict[str, Any]:
    """The patched object (a new dict; ``current`` is left alone), or an ApiError (400/415/422)."""
    media = content_type.split(";", 1)[0].strip().lower()
    base = copy.deepcopy(dict(current))
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            result = jsonpatch.apply_patch(base, patch)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise ApiError(422, f"the server rejected our request due to an error in our request: {exc}") from None
        if not isinstance(result, dict):
            raise ApiError(422, "the server rejected our request: the patch does not leave an object")
        return result
    if media == MERGE or (media == STRATEGIC and not custom):
        if not isinstance(patch, Mapping):
            raise bad_request("the body of the request is not a JSON object")
        merged = merge_patch(base, patch) if media == MERGE else strategic_merge(base, patch)
        return copy.deepcopy(dict(merged))
    raise ApiError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE}" + ("" if custom else f", {STRATEGIC}"),
    )
