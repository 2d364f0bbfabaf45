"""Sprig's encoding and hashing functions: base64, base32, SHA digests and JSON.

The decoders are Go's, not Python's: they accept and refuse the same input and
report the same offset of the first bad byte, which Sprig returns as the
result text instead of failing.
"""

from __future__ import annotations

import base64
import hashlib

from gitsecure.seal.gotemplate.gojson import from_json, json_encode, json_or_empty
from gitsecure.seal.gotemplate.values import A, Func, S, from_bytes, to_bytes

_B64 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_B32 = {c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}
_NL, _PAD = (10, 13), ord("=")


def _b64_decode(src: bytes) -> bytes | int:
    """Go's base64.StdEncoding.DecodeString: the bytes, or the offset of the first bad input byte."""
    out, si, n = bytearray(), 0, len(src)
    while True:
        quantum, j = [0, 0, 0, 0], 0
        while j < 4:
            if si == n:
                return bytes(out) if j == 0 else si - j
            c = src[si]
            si += 1
            if c in _B64:
                quantum[j] = _B64[c]
                j += 1
                continue
            if c in _NL:
                continue
            if c != _PAD or j < 2:
                return si - 1
            if j == 2:  # "==" expected
                while si < n and src[si] in _NL:
                    si += 1
                if si == n:
                    return n
                if src[si] != _PAD:
                    return si - 1
                si += 1
            while si < n and src[si] in _NL:
                si += 1
            if si < n:
                return si  # trailing garbage after padding
            break
        val = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        out += val.to_bytes(3, "big")[: j - 1 if j < 4 else 3]
        if j < 4:
            return bytes(out)


def _b32_decode(text: bytes) -> bytes | int:
    """Go's base32.StdEncoding.DecodeString (newlines stripped first, as Go does)."""
    src = text.replace(b"\r", b"").replace(b"\n", b"")
    out, i, n, done = bytearray(), 0, len(src), False
    while i < n and not done:
        quantum, dlen, j = [0] * 8, 8, 0
        while j < 8:
            if i == n:
                return n - j
            c = src[i]
            i += 1
            rest = n - i
            if c == _PAD and j >= 2 and rest < 8:
                if rest + j < 7:
                    return n
                for k in range(7 - j):
                    if rest > k and src[i + k] != _PAD:
                        return i + k - 1
                dlen, done = j, True
                if dlen in (1, 3, 6):
                    return i - 1
                break
            if c not in _B32:
                return i - 1
            quantum[j] = _B32[c]
            j += 1
        val = 0
        for x in quantum:
            val = val << 5 | x
        out += val.to_bytes(5, "big")[: {8: 5, 7: 4, 5: 3, 4: 2, 2: 1}[dlen]]
    return bytes(out)


def _b64dec(s: str) -> str:
    result = _b64_decode(to_bytes(s))
    return from_bytes(result) if isinstance(result, bytes) else f"illegal base64 data at input byte {result}"


def _b32dec(s: str) -> str:
    result = _b32_decode(to_bytes(s))
    return from_bytes(result) if isinstance(result, bytes) else f"illegal base32 data at input byte {result}"


ENCODING: dict[str, Func] = {
    "b64enc": Func(lambda s: base64.b64encode(to_bytes(s)).decode("ascii"), (S,)),
    "b64dec": Func(_b64dec, (S,)),
    "b32enc": Func(lambda s: base64.b32encode(to_bytes(s)).decode("ascii"), (S,)),
    "b32dec": Func(_b32dec, (S,)),
    "sha256sum": Func(lambda s: hashlib.sha256(to_bytes(s)).hexdigest(), (S,)),
    "sha1sum": Func(lambda s: hashlib.sha1(to_bytes(s)).hexdigest(), (S,)),  # noqa: S324 - Sprig's digest, not security
    "toJson": Func(json_or_empty, (A,)),
    "toPrettyJson": Func(lambda v: json_or_empty(v, indent="  "), (A,)),
    "toRawJson": Func(lambda v: json_encode(v, html=False), (A,)),
    "fromJson": Func(from_json, (S,)),
}
