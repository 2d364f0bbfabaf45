"""Content digests used as stable identities (baselines key findings on them).

``secret_digest`` is detect-secrets' ``hashed_secret``: the SHA-1 of the UTF-8
secret. SHA-1 is kept for compatibility with existing ``.secrets.baseline``
files; it identifies a value the scanner already saw, it does not protect it.
"""

from __future__ import annotations


def secret_digest(secret: str) -> str:
    """Return detect-secrets' ``hashed_secret`` for ``secret`` (lower-case SHA-1 hex)."""
    # Imported on the first finding: loading OpenSSL costs the clean pre-commit hook a few ms.
    import hashlib  # noqa: PLC0415

    return hashlib.sha1(secret.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
