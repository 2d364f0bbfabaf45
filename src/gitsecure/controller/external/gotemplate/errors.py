"""The one error a template raises."""

from __future__ import annotations

from gitsecure.errors import GitsecureError


class TemplateError(GitsecureError):
    """A template does not parse or does not execute; the message names where and why, never a value."""

    reference = "template-error"
