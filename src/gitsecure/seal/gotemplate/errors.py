"""The errors of the template engine: :class:`TemplateError` for callers, two for its functions.

Every message is fixed text, template positions or Go type names: the values
flowing through a template are decrypted secrets.
"""

from __future__ import annotations

from gitsecure.errors import InputError
from gitsecure.seal.gotemplate.limits import MAX_STRING


class TemplateError(InputError):
    """A ``spec.template.data`` template failed to parse or execute."""

    reference = "template-error"


class FuncError(Exception):
    """A template function failed; the message never carries a data value."""


class TooLarge(FuncError):
    """A result would pass :data:`MAX_STRING`; never swallowed, unlike Go's ignored JSON errors."""

    def __init__(self) -> None:
        super().__init__(f"result exceeds the {MAX_STRING} character limit")
