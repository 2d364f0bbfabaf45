"""The crypto core's one signature error, shared by the SSH and OpenPGP verifiers."""

from __future__ import annotations

from gitsecure.errors import EXIT_FINDINGS, GitsecureError


class BadSignature(GitsecureError):
    """A signature (or a key or certificate inside it) is malformed or does not verify.

    Deliberately opaque, like pyca's ``InvalidToken``: truncation, garbage, an unknown algorithm
    and a wrong key all look the same to the caller.
    """

    reference = "bad-signature"
    exit_code = EXIT_FINDINGS  # a verdict ("this is not signed"), not a usage error

    def __init__(self) -> None:
        super().__init__("bad signature")
