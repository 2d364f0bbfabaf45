"""Injected API failures (``fail_next``) and the emulator's own cheap request log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.kube.apistatus import ApiError, qualified
from tests.support.kube.kinds import Target

_MESSAGES = {
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: injected by the test harness",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}


@dataclass(slots=True)
class RequestRecord:
    """One request as the emulator saw it; ``status`` is 0 while a watch stream is still open."""

    method: str
    path: str
    """The percent-decoded path, without the query string."""
    query: dict[str, str]
    data: Any
    """The parsed JSON body (None when there was none)."""
    status: int = 0

    @property
    def call(self) -> tuple[str, str]:
        """``(method, path)``: what most assertions need."""
        return (self.method, self.path)


@dataclass(slots=True)
class Fault:
    """Answer the next ``remaining`` matching requests with an error Status instead of serving them."""

    method: str
    plural: str
    status: int
    remaining: int
    subresource: str | None
    name: str | None
    namespace: str | None
    message: str | None

    def matches(self, method: str, watch: bool, target: Target) -> bool:
        """Whether a request (its method, watch flag and parsed path) is one to fail."""
        if self.method == "WATCH":
            method_ok = watch
        elif self.method == "LIST":
            method_ok = method == "GET" and not watch and target.name is None
        else:
            method_ok = self.method == method
        return (
            method_ok
            and self.plural == target.resource.plural
            and self.subresource == target.subresource
            and self.name in (None, target.name)
            and self.namespace in (None, target.namespace)
        )

    def error(self, target: Target) -> ApiError:
        """The Status to answer with, worded as the API server words that code."""
        resource = qualified(str(target.resource.group or ""), str(target.resource.plural))
        if self.message is not None:
            message = self.message
        elif self.status == 409:
            message = (
                f'Operation cannot be fulfilled on {resource} "{target.name}": the object has been modified; '
                "please apply your changes to the latest version and try again"
            )
        elif self.status == 404:
            message = f'{resource} "{target.name}" not found'
        else:
            message = _MESSAGES.get(self.status, f"injected failure {self.status}")
        details: dict[str, Any] = {"name": target.name, "kind": target.resource.plural} if target.name else {}
        if self.status in (429, 503):
            details["retryAfterSeconds"] = 1
        return ApiError(self.status, message, details=details)
