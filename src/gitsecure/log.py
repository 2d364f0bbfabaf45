"""Logging set-up with a redaction filter: secret material never reaches a log record."""

from __future__ import annotations

import functools
import logging
import re
import sys

REDACTED = "[REDACTED]"


class RedactionFilter(logging.Filter):
    """Masks private-key PEM blocks and any value registered with :meth:`add`."""

    def __init__(self) -> None:
        super().__init__()
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        """Never let ``value`` appear in a log line (short values would mask too much and are skipped)."""
        if len(value) >= 4:
            self._values.add(value)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _pem_private().sub(REDACTED, message)
        for value in self._values:
            redacted = redacted.replace(value, REDACTED)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


@functools.cache
def _pem_private() -> re.Pattern[str]:
    # Compiled on the first log record, not at start-up: most runs log nothing.
    return re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)


redaction = RedactionFilter()


def configure(verbosity: int) -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv, errors only with -q."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(redaction)
    root = logging.getLogger("gitsecure")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
