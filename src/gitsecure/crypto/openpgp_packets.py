"""OpenPGP framing (RFC 4880 / RFC 9580): ASCII armour, packet headers, MPIs, subpackets.

Everything here is a strict reader of untrusted bytes: a length that runs past
its container, an unknown header form or a bad armour checksum raises
:class:`FormatError`, which callers turn into their own opaque error. Nothing
here decides whether a signature is good.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

_ARMOR_BEGIN = re.compile(rb"^-----BEGIN PGP ([A-Z ,/0-9]+)-----$")
_ARMOR_HEADER = re.compile(rb"^[!-9;-~]+: ?.*$")
_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB

# RFC 9580: partial body lengths are allowed only for data packets,
# never for the signature and key packets read here.
_PARTIAL_LENGTH_FIRST = 224


class FormatError(ValueError):
    """Bytes that are not well-formed OpenPGP (armour, packet or subpacket framing)."""


@dataclass(frozen=True)
class Packet:
    """One OpenPGP packet: its tag and body."""

    tag: int
    body: bytes


@dataclass(frozen=True)
class Subpacket:
    """One signature subpacket: type (critical bit removed), criticality and value."""

    type: int
    critical: bool
    value: bytes


def _crc24_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
        table.append(crc & 0xFFFFFF)
    return tuple(table)


# A byte-at-a-time table: the bitwise loop cost more than the RSA math for every commit.
_CRC24_TABLE = _crc24_table()


def crc24(data: bytes) -> int:
    """The armour checksum, CRC-24 (RFC 4880 section 6.1; optional since RFC 9580)."""
    crc = _CRC24_INIT
    table = _CRC24_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ byte]
    return crc


def dearmor(armored: bytes, *, label: str) -> bytes:
    """Decode one armoured block whose label is ``label`` (e.g. ``SIGNATURE``).

    Header lines are skipped; the blank line after them is required. The CRC24
    line is optional (RFC 9580 drops it) but checked when present. Only
    whitespace may surround the block.
    """
    lines = [line.rstrip(b" \t\r") for line in armored.strip().split(b"\n")]
    if len(lines) < 3:
        raise FormatError("armour too short")
    begin = _ARMOR_BEGIN.match(lines[0])
    if begin is None or begin.group(1) != label.encode():
        raise FormatError("not the expected armour")
    if lines[-1] != b"-----END PGP " + label.encode() + b"-----":
        raise FormatError("armour end line missing")
    index = 1
    while index < len(lines) - 1 and lines[index] and _ARMOR_HEADER.match(lines[index]):
        index += 1
    if lines[index] != b"":
        raise FormatError("armour header not followed by a blank line")
    body = lines[index + 1 : -1]
    checksum: bytes | None = None
    if body and body[-1].startswith(b"="):
        checksum = body.pop()[1:]
    try:
        data = base64.b64decode(b"".join(body), validate=True)
    except binascii.Error as exc:
        raise FormatError("bad armour base64") from exc
    if checksum is not None:
        try:
            expected = base64.b64decode(checksum, validate=True)
        except binascii.Error as exc:
            raise FormatError("bad armour checksum encoding") from exc
        if len(expected) != 3 or int.from_bytes(expected, "big") != crc24(data):
            raise FormatError("armour checksum mismatch")
    if not data:
        raise FormatError("empty armour")
    return data


def iter_packets(data: bytes) -> Iterator[Packet]:
    """Split ``data`` into packets, accepting old- and new-format headers."""
    offset = 0
    while offset < len(data):
        first = data[offset]
        if not first & 0x80:
            raise FormatError("not a packet header")
        if first & 0x40:
            tag = first & 0x3F
            length, offset = _new_length(data, offset + 1)
        else:
            tag = (first >> 2) & 0x0F
            length_type = first & 0x03
            if length_type == 3:
                raise FormatError("indeterminate packet length")
            size = 1 << length_type
            if offset + 1 + size > len(data):
                raise FormatError("truncated packet header")
            length = int.from_bytes(data[offset + 1 : offset + 1 + size], "big")
            offset += 1 + size
        end = offset + length
        if end > len(data):
            raise FormatError("truncated packet")
        yield Packet(tag, data[offset:end])
        offset = end


def _new_length(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data):
        raise FormatError("truncated packet header")
    first = data[offset]
    if first < 192:
        return first, offset + 1
    if first < _PARTIAL_LENGTH_FIRST:
        if offset + 1 >= len(data):
            raise FormatError("truncated packet header")
        return ((first - 192) << 8) + data[offset + 1] + 192, offset + 2
    if first == 255:
        if offset + 5 > len(data):
            raise FormatError("truncated packet header")
        return int.from_bytes(data[offset + 1 : offset + 5], "big"), offset + 5
    raise FormatError("partial body length")


def iter_subpackets(area: bytes) -> Iterator[Subpacket]:
    """Split a hashed or unhashed subpacket area."""
    offset = 0
    while offset < len(area):
        first = area[offset]
        if first < 192:
            length, offset = first, offset + 1
        elif first < 255:
            if offset + 1 >= len(area):
                raise FormatError("truncated subpacket length")
            length, offset = ((first - 192) << 8) + area[offset + 1] + 192, offset + 2
        else:
            if offset + 5 > len(area):
                raise FormatError("truncated subpacket length")
            length, offset = int.from_bytes(area[offset + 1 : offset + 5], "big"), offset + 5
        if length == 0 or offset + length > len(area):
            raise FormatError("bad subpacket length")
        kind = area[offset]
        yield Subpacket(kind & 0x7F, bool(kind & 0x80), area[offset + 1 : offset + length])
        offset += length


class Reader:
    """A cursor over a packet body that raises :class:`FormatError` instead of reading past the end."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes."""
        end = self.offset + count
        if count < 0 or end > len(self.data):
            raise FormatError("truncated field")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def uint(self, size: int) -> int:
        """A big-endian unsigned integer of ``size`` bytes."""
        return int.from_bytes(self.take(size), "big")

    def mpi(self) -> bytes:
        """A multiprecision integer's magnitude bytes.

        The bit count is used for the length only: some implementations keep
        leading zero bytes in EdDSA values, and the math decides either way.
        """
        bits = self.uint(2)
        return self.take((bits + 7) // 8)

    def rest(self) -> bytes:
        """Everything not read yet."""
        return self.take(len(self.data) - self.offset)

    def at_end(self) -> bool:
        """Whether every byte has been read."""
        return self.offset == len(self.data)
