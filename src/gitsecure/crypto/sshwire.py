"""The SSH wire encoding (RFC 4251 §5): a strict reader and the few writers the verifiers need.

Every read is bounds-checked and every malformation raises :class:`MalformedWire`; callers turn
that into their own opaque error. Integers (``mpint``) must be positive and minimally encoded so
that two encodings of one key never compare unequal, and strings may not hide NUL bytes.
"""

from __future__ import annotations

import struct


class MalformedWire(ValueError):
    """The bytes are not a well-formed SSH wire structure."""


class WireReader:
    """Reads SSH wire fields from ``data`` front to back."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def position(self) -> int:
        """How many bytes have been consumed."""
        return self._pos

    def _take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise MalformedWire("truncated")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def raw(self, n: int) -> bytes:
        """Exactly ``n`` bytes."""
        return self._take(n)

    def u8(self) -> int:
        """One byte."""
        return self._take(1)[0]

    def u32(self) -> int:
        """A big-endian uint32."""
        value: int = struct.unpack(">I", self._take(4))[0]
        return value

    def u64(self) -> int:
        """A big-endian uint64."""
        value: int = struct.unpack(">Q", self._take(8))[0]
        return value

    def string(self) -> bytes:
        """A length-prefixed byte string."""
        return self._take(self.u32())

    def cstring(self) -> bytes:
        """A string that must not contain NUL (OpenSSH's ``sshbuf_get_cstring``)."""
        value = self.string()
        if b"\x00" in value:
            raise MalformedWire("NUL in string")
        return value

    def text(self) -> str:
        """A NUL-free UTF-8 string: names, namespaces, principals."""
        try:
            return self.cstring().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedWire("not UTF-8") from exc

    def mpint(self) -> int:
        """A positive, minimally encoded multiple-precision integer."""
        value = self.string()
        if not value:
            raise MalformedWire("zero mpint")
        if value[0] & 0x80:
            raise MalformedWire("negative mpint")
        # A leading zero byte is only allowed to keep the sign bit clear.
        if value[0] == 0 and (len(value) == 1 or not value[1] & 0x80):
            raise MalformedWire("non-minimal mpint")
        return int.from_bytes(value, "big")

    def done(self) -> None:
        """Refuse trailing bytes: every structure must be consumed exactly."""
        if self._pos != len(self._data):
            raise MalformedWire("trailing bytes")


def ssh_string(value: bytes | str) -> bytes:
    """``value`` as a length-prefixed SSH string."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return struct.pack(">I", len(data)) + data


def ssh_mpint(value: int) -> bytes:
    """``value`` (positive) as a minimal SSH mpint."""
    if value <= 0:
        raise ValueError("mpint must be positive")
    return ssh_string(value.to_bytes(value.bit_length() // 8 + 1, "big"))
