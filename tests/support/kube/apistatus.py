"""Kubernetes ``meta/v1`` Status answers: the error bodies the API server sends, with its reasons and messages.

The messages follow the API server's wording (``secrets "x" not found``, ``Operation cannot be
fulfilled on ...``) so that code under test sees what it would see on a real cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# HTTP code -> the StatusReason the API server uses for it.
REASONS: Mapping[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(
    code: int, message: str, *, reason: str | None = None, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A failure ``Status`` object as the API server serialises it."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
    }
    if details:
        body["details"] = dict(details)
    body["code"] = code
    return body


class ApiError(Exception):
    """An API error answered as a Status body with its HTTP code (never a bug of the emulator)."""

    def __init__(
        self, code: int, message: str, *, reason: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = dict(details or {})

    def body(self) -> dict[str, Any]:
        """The Status object to send."""
        return status_body(self.code, self.message, reason=self.reason, details=self.details)


def _details(group: str, plural: str, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": plural}
    if name is not None:
        details = {"name": name, **details}
    if group:
        details["group"] = group
    return details


def qualified(group: str, plural: str) -> str:
    """``secrets`` or ``sealedsecrets.bitnami.com``: how the API server names a resource in messages."""
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    """404 for a missing object."""
    return ApiError(404, f'{qualified(group, plural)} "{name}" not found', details=_details(group, plural, name))


def already_exists(group: str, plural: str, name: str) -> ApiError:
    """409 AlreadyExists for a create over a live object."""
    return ApiError(
        409,
        f'{qualified(group, plural)} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str, why: str | None = None) -> ApiError:
    """409 Conflict: a stale resourceVersion or a failed precondition."""
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(group, plural)} "{name}": {why}',
        details=_details(group, plural, name),
    )


def invalid(kind: str, group: str, name: str, causes: Sequence[tuple[str, str, str]]) -> ApiError:
    """422 Invalid. ``causes`` are ``(field, cause reason, message)``, e.g. ``("data", "FieldValueForbidden", ...)``."""
    text = ", ".join(f"{field}: {message}" for field, _, message in causes)
    text = f"[{text}]" if len(causes) > 1 else text
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    details["causes"] = [{"reason": reason, "message": message, "field": field} for field, reason, message in causes]
    return ApiError(422, f'{kind} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, message)


def method_not_allowed() -> ApiError:
    """405: the resource does not serve this verb."""
    return ApiError(405, "the server does not allow this method on the requested resource")


def endpoint_not_found() -> ApiError:
    """404 for a path the API server does not serve at all."""
    return ApiError(404, "the server could not find the requested resource", details={})
