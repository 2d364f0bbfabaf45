"""Gather an ExternalSecret's provider data into one map (reference §3.3 step 5 and §3.4).

All ``dataFrom`` entries first, in order (later ones win), then ``data[]`` (which override). A remote
secret that does not exist (:class:`NoSecretError`) is skipped with a ``MissingProviderSecret`` note,
unless ``deletionPolicy`` is ``Retain``, where it is an error. Every error names the entry the way ESO's
error chain does (``error processing spec.data[0] (key: password), err: …``) and keeps the sanitized
cause apart, so the Ready condition can show it without the chain.
"""

from __future__ import annotations

from collections.abc import Callable

from gitsecure.controller.external.conversion import convert_keys, rewrite_keys, validate_keys
from gitsecure.controller.external.gotemplate import render
from gitsecure.controller.external.model import DataFromItem, ExternalSecretSpec, RemoteRef, StoreRef
from gitsecure.controller.external.providers.base import Memo, NoSecretError, SecretsClient
from gitsecure.controller.external.values import decode_value
from gitsecure.errors import GitsecureError

ClientFor = Callable[[StoreRef | None], SecretsClient]
"""The client of an entry's store (None: the ExternalSecret's own ``secretStoreRef``)."""


class FetchError(GitsecureError):
    """Provider data could not be gathered; ``message`` is ESO's error chain, ``cause`` the real reason alone."""

    reference = "external-secret-fetch"

    def __init__(self, where: str, cause: str) -> None:
        super().__init__(f"error processing {where}, err: {cause}")
        self.where = where
        self.cause = cause


def _null_bytes(ref: RemoteRef, data: dict[str, bytes], where: str) -> None:
    if ref.null_byte_policy == "Fail":
        for key, value in data.items():
            if b"\x00" in value:
                raise FetchError(where, f"value of key {key!r} contains a null byte (nullBytePolicy=Fail)")


def fetch_data(spec: ExternalSecretSpec, client_for: ClientFor, missing: Callable[[str], None]) -> dict[str, bytes]:
    """The merged provider data; ``missing`` receives each ``MissingProviderSecret`` message."""
    retain = spec.target.deletion_policy in ("", "Retain")
    merged: dict[str, bytes] = {}
    # One memo per store for this reconcile: entries naming the same remote secret share one provider call.
    memos: dict[StoreRef | None, Memo] = {}
    for index, item in enumerate(spec.data_from):
        where = f"spec.dataFrom[{index}].{'extract' if item.extract is not None else 'find'}"
        try:
            found = _data_from(item, client_for, where, memos.setdefault(item.store_ref, {}))
        except NoSecretError as exc:
            if retain:
                raise FetchError(where, exc.message) from None
            missing(f"secret does not exist at provider using spec.dataFrom[{index}]")
            continue
        except FetchError:
            raise
        except GitsecureError as exc:
            raise FetchError(where, exc.message) from None
        merged.update(found)
    for index, entry in enumerate(spec.data):
        where = f"spec.data[{index}] (key: {entry.secret_key})"
        try:
            value = client_for(entry.store_ref).get_secret(entry.remote_ref, memos.setdefault(entry.store_ref, {}))
            value = decode_value(value, entry.remote_ref.decoding_strategy)
        except NoSecretError as exc:
            if retain:
                raise FetchError(where, exc.message) from None
            missing(f"secret does not exist at provider using spec.data[{index}] (key={entry.secret_key})")
            continue
        except GitsecureError as exc:
            raise FetchError(where, exc.message) from None
        _null_bytes(entry.remote_ref, {entry.secret_key: value}, where)
        merged[entry.secret_key] = value
    return merged


def _data_from(item: DataFromItem, client_for: ClientFor, where: str, memo: Memo) -> dict[str, bytes]:
    client = client_for(item.store_ref)
    if item.extract is not None:
        found = client.get_secret_map(item.extract, memo)
        conversion, decoding = item.extract.conversion_strategy, item.extract.decoding_strategy
    elif item.find is not None:
        try:
            found = client.get_all_secrets(item.find)
        except NoSecretError:
            raise
        except GitsecureError as exc:
            raise FetchError(where, f"error getting all secrets: {exc.message}") from None
        conversion, decoding = item.find.conversion_strategy, item.find.decoding_strategy
    else:
        raise FetchError(where, "a dataFrom entry needs extract or find")
    found = rewrite_keys(found, item.rewrite, render) if item.rewrite else convert_keys(found, conversion)
    found = validate_keys(found)
    decoded = {key: decode_value(value, decoding) for key, value in found.items()}
    if item.extract is not None:
        _null_bytes(item.extract, decoded, where)
    return decoded
