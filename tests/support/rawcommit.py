"""The tests' own oracle for a signed commit: cut the ``gpgsig`` header out of raw commit bytes.

Written independently of ``gitsecure.verify.gitobject`` on purpose, so tests of the verifiers do
not take their expected payload from the code under test.
"""

from __future__ import annotations


def split_commit(raw: bytes) -> tuple[bytes, bytes]:
    """(armoured signature, payload): the ``gpgsig`` header and its continuation lines removed, byte-exactly.

    The signature is empty when the commit carries no ``gpgsig`` header.
    """
    header, _, message = raw.partition(b"\n\n")
    kept: list[bytes] = []
    signature: list[bytes] = []
    inside = False
    for line in header.split(b"\n"):
        if line.startswith(b"gpgsig "):
            inside = True
            signature.append(line[len(b"gpgsig ") :])
        elif inside and line.startswith(b" "):
            signature.append(line[1:])
        else:
            inside = False
            kept.append(line)
    armored = b"\n".join(signature) + b"\n" if signature else b""
    return armored, b"\n".join(kept) + b"\n\n" + message
