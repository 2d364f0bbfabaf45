"""The single error root of gitsecure.

Every failure a user can cause or fix is a :class:`GitsecureError` carrying a
kebab-case ``reference`` (stable, greppable, documented), a one-line
``message`` and an optional ``hint``. The CLI catches only this root; anything
else that escapes is a bug.
"""

from __future__ import annotations

# Documented process exit codes shared by every command. Commands that report
# findings or verdicts (scan, verify) use FINDINGS for "ran fine, said no".
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class GitsecureError(Exception):
    """Base of every error gitsecure reports to a user."""

    reference: str = "gitsecure-error"
    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None, reference: str | None = None) -> None:
        # One line, always: a multi-line message would break `error: ...` parsing in scripts.
        self.message = " ".join(message.split("\n")).strip()
        self.hint = hint
        if reference is not None:
            self.reference = reference
        super().__init__(self.message)


class UsageError(GitsecureError):
    """A flag, argument or combination of them is invalid."""

    reference = "usage-error"


class InputError(GitsecureError):
    """Input data (a manifest, a key, a certificate) cannot be used."""

    reference = "invalid-input"


class OutputError(GitsecureError):
    """An output file could not be written."""

    reference = "output-error"


class RemoteError(GitsecureError):
    """A remote endpoint (controller, URL, API server) failed or is unreachable."""

    reference = "remote-error"
