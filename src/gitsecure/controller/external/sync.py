"""The Secret-side steps of an ExternalSecret pass: read the target, render, write, delete, clean up orphans.

Each step posts ESO's Events (§3.6) and returns ESO's condition message on failure; API conflicts are
raised so that the pass starts again at once. Nothing here sees or logs a value beyond building the body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitsecure.controller.external.cluster import ClusterApi, secret_data
from gitsecure.controller.external.model import CREATED_BY_LABEL, MANAGED_LABEL, ExternalSecretSpec
from gitsecure.controller.external.target import (
    Rendered,
    TargetError,
    comparable,
    controlled_by,
    created_by,
    desired_secret,
    plain_metadata,
)
from gitsecure.controller.external.templating import render_template
from gitsecure.controller.kubetransport import ApiError, Conflict
from gitsecure.errors import GitsecureError

EventSink = Callable[[Mapping[str, Any], str, str, str], None]


class SyncSteps:
    """The Secret-side steps for one ExternalSecret ``es`` in one pass."""

    def __init__(self, api: ClusterApi, es: Mapping[str, Any], event: EventSink) -> None:
        """``event(es, type, reason, message)`` posts an Event about the ExternalSecret."""
        self._api = api
        self._es = es
        self._event = event
        meta = es.get("metadata") or {}
        self.namespace = str(meta.get("namespace") or "")
        self.name = str(meta.get("name") or "")
        self.uid = str(meta.get("uid") or "")
        self.last_error = ""
        """The full error text of the last failed step (for the UpdateFailed Event)."""

    def target_secret(self, target: str, policy: str) -> dict[str, Any] | None:
        """The target Secret (None when absent or ``creationPolicy=None``), marked managed if it was not."""
        if policy == "None":
            return None
        secret = self._api.get_secret(self.namespace, target)
        if secret is not None and ((secret.get("metadata") or {}).get("labels") or {}).get(MANAGED_LABEL) != "true":
            # ESO labels a pre-existing target first, so that its managed-Secret watch sees it from now on.
            secret = self._api.patch_secret(self.namespace, target, {"metadata": {"labels": {MANAGED_LABEL: "true"}}})
        return secret

    def render(self, spec: ExternalSecretSpec, data: dict[str, bytes]) -> Rendered:
        """Provider data through ``target.template`` (or copied as is, with the ExternalSecret's metadata)."""
        template = spec.target.template
        if template is None:
            labels, annotations = plain_metadata(self._es)
            return Rendered(dict(data), labels, annotations)
        out = render_template(template, data, config_maps=self._config_map, secrets=self._secret, existing=None)
        return Rendered(dict(out.data), dict(out.labels), dict(out.annotations), out.type, tuple(out.finalizers))

    def _config_map(self, name: str) -> Mapping[str, str]:
        try:
            found = self._api.get_config_map(self.namespace, name)
        except ApiError as exc:
            raise TargetError(f"cannot get ConfigMap {self.namespace}/{name}: {exc.message}") from None
        if found is None:
            raise TargetError(f"ConfigMap {self.namespace}/{name} not found")
        return {str(k): str(v) for k, v in (found.get("data") or {}).items()}

    def _secret(self, name: str) -> Mapping[str, bytes]:
        try:
            found = self._api.get_secret(self.namespace, name)
        except ApiError as exc:
            raise TargetError(f"cannot get Secret {self.namespace}/{name}: {exc.message}") from None
        if found is None:
            raise TargetError(f"Secret {self.namespace}/{name} not found")
        return secret_data(found)

    def write(
        self, spec: ExternalSecretSpec, data: dict[str, bytes], secret: Mapping[str, Any] | None, target: str
    ) -> tuple[str, bool] | None:
        """Create or update the target when it differs; ``(condition message, retry)`` on failure."""
        try:
            rendered = self.render(spec, data)
        except GitsecureError as exc:
            self.last_error = f"could not apply template: {exc.message}"
            return f"could not update secret: {exc.message}", True
        try:
            body = desired_secret(self._es, spec, rendered, secret)
        except TargetError as exc:
            self.last_error = exc.message
            return exc.message, False
        try:
            if secret is None:
                self._api.create_secret(self.namespace, body)
                self._event(self._es, "Normal", "Created", "secret created")
            elif comparable(body) != comparable(secret):
                self._api.replace_secret(self.namespace, target, body)
                self._event(self._es, "Normal", "Updated", "secret updated")
        except Conflict:
            raise
        except ApiError as exc:
            self.last_error = f"could not update secret: {exc.message}"
            if exc.status == 422 and "immutable" in exc.message.lower():
                return "could not update secret, target is immutable", False
            return self.last_error, True
        return None

    def delete_for_policy(self, secret: Mapping[str, Any] | None, policy: str) -> str | None:
        """``deletionPolicy=Delete`` with no provider data; the condition message on failure."""
        if policy != "Owner":
            self.last_error = f"could not delete secret: deletionPolicy=Delete needs creationPolicy=Owner, not {policy}"
            return "could not delete secret"
        if secret is not None and controlled_by(secret, self.uid):
            meta = secret.get("metadata") or {}
            try:
                self._api.delete_secret(self.namespace, str(meta.get("name")), uid_precondition=meta.get("uid"))
            except ApiError as exc:
                self.last_error = f"could not delete secret: {exc.message}"
                return "could not delete secret"
            self._event(self._es, "Normal", "Deleted", "secret deleted due to DeletionPolicy=Delete")
        return None

    def delete_owned(self, target: str) -> None:
        """On ExternalSecret deletion with ``deletionPolicy=Delete``: delete the target if this one controls it."""
        secret = self._api.get_secret(self.namespace, target)
        if secret is not None and controlled_by(secret, self.uid):
            meta = secret.get("metadata") or {}
            if self._api.delete_secret(self.namespace, target, uid_precondition=meta.get("uid")):
                self._event(self._es, "Normal", "Deleted", "secret deleted due to DeletionPolicy=Delete")

    def delete_orphans(self, target: str, previous: str) -> str | None:
        """Delete Secrets this ExternalSecret created under another name (``target.name`` changed).

        The list call is made only when the target name differs from the last synced one (or none was
        recorded), not on every refresh. Returns the condition message on failure.
        """
        if previous == target:
            return None
        selector = f"{CREATED_BY_LABEL}={created_by(self.namespace, self.name)}"
        try:
            found, _ = self._api.list_secrets(self.namespace, selector)
            for secret in found:
                meta = secret.get("metadata") or {}
                if meta.get("name") == target or not controlled_by(secret, self.uid):
                    continue
                if self._api.delete_secret(self.namespace, str(meta.get("name")), uid_precondition=meta.get("uid")):
                    self._event(self._es, "Normal", "Deleted", "secret deleted because it was orphaned")
        except ApiError as exc:
            self.last_error = f"could not delete orphaned secrets: {exc.message}"
            return "could not delete orphaned secrets"
        return None
