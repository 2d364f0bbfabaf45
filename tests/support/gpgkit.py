"""OpenPGP test material: real ``gpg`` in a throwaway GNUPGHOME, and hand-built packets for what gpg will not make.

``GpgKit`` never touches the user's ~/.gnupg: GNUPGHOME and HOME point into a tmp dir, and
:meth:`GpgKit.close` stops the gpg-agent that signing starts. The ``forge_*`` helpers build v4
signature packets with pyca keys recovered from ``gpg --export-secret-keys`` (unprotected, since the
keys have an empty passphrase), for signatures gpg refuses to produce (an encryption-only subkey
signing, a date before the key existed, unusual subpackets).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from gitsecure.crypto.openpgp_packets import Reader, crc24, iter_packets, iter_subpackets

_QUICK = ["--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
_HASH_IDS = {"SHA1": 2, "SHA256": 8, "SHA384": 9, "SHA512": 10, "SHA224": 11}
_PYCA = {2: hashes.SHA1, 8: hashes.SHA256, 9: hashes.SHA384, 10: hashes.SHA512, 11: hashes.SHA224}
# gpg --gen-revoke's menu: 0 no reason, 1 compromised, 2 superseded, 3 no longer used.
REVOKE_NO_REASON, REVOKE_COMPROMISED, REVOKE_SUPERSEDED, REVOKE_RETIRED = 0, 1, 2, 3


def gpg_time(at: dt.datetime) -> str:
    """``at`` as a frozen ``--faked-system-time`` value."""
    return f"{int(at.timestamp())}!"


class GpgKit:
    """Runs gpg with GNUPGHOME under ``root``: keys, subkeys, signatures, revocations, exports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "gnupg"
        self.home.mkdir(parents=True, mode=0o700)
        (root / "home").mkdir(exist_ok=True)
        self.env = {"PATH": os.environ["PATH"], "HOME": str(root / "home"), "GNUPGHOME": str(self.home), "LC_ALL": "C"}

    def gpg(
        self, *args: str, stdin: bytes = b"", at: dt.datetime | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        """Run gpg; ``at`` fakes the clock (key creation, signature time)."""
        faked = ["--faked-system-time", gpg_time(at)] if at is not None else []
        return subprocess.run(["gpg", *faked, *args], input=stdin, env=self.env, capture_output=True, check=check)

    def close(self) -> None:
        """Stop the agent signing started."""
        subprocess.run(["gpgconf", "--kill", "all"], env=self.env, capture_output=True, check=False, timeout=60)

    def fingerprints(self, query: str) -> list[str]:
        """Primary then subkey fingerprints of the key ``query`` names, in listing order."""
        out = self.gpg("--with-colons", "--fixed-list-mode", "--list-keys", query).stdout.decode()
        return [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]

    def gen_key(
        self, uid: str, algo: str, usage: str = "sign", expire: str = "never", *, at: dt.datetime | None = None
    ) -> str:
        """A new primary key; returns its fingerprint."""
        self.gpg(*_QUICK, "--quick-gen-key", uid, algo, usage, expire, at=at)
        return self.fingerprints(f"={uid}")[0]

    def add_key(
        self, primary: str, algo: str, usage: str, expire: str = "never", *, at: dt.datetime | None = None
    ) -> str:
        """A new subkey of ``primary``; returns its fingerprint."""
        before = set(self.fingerprints(primary))
        self.gpg(*_QUICK, "--quick-add-key", primary, algo, usage, expire, at=at)
        (new,) = set(self.fingerprints(primary)) - before
        return new

    def sign(
        self,
        data: bytes,
        key: str,
        *,
        digest: str | None = None,
        text: bool = False,
        at: dt.datetime | None = None,
        extra: tuple[str, ...] = (),
    ) -> bytes:
        """An armoured detached signature by exactly ``key`` (a primary or subkey fingerprint)."""
        args = ["--batch", "--armor", "--detach-sign", "--local-user", f"{key}!", *extra]
        if digest:
            args += ["--digest-algo", digest]
        if text:
            args.append("--textmode")
        return self.gpg(*args, stdin=data, at=at).stdout

    def export(self, *keys: str, armor: bool = True) -> bytes:
        """Public keys as ``gpg --export`` writes them."""
        return self.gpg("--export", *(["--armor"] if armor else []), *keys).stdout

    def revoke(self, key: str, reason: int, *, at: dt.datetime | None = None) -> None:
        """Revoke primary ``key`` with a revocation certificate (``--gen-revoke``) and import it."""
        answers = f"y\n{reason}\nrevoked in a test\n\ny\n".encode()
        cert = self.gpg(
            "--no-tty", "--yes", "--command-fd", "0", "--pinentry-mode", "loopback", "--passphrase", "",
            "--armor", "--gen-revoke", key, stdin=answers, at=at,
        ).stdout  # fmt: skip
        self.gpg("--batch", "--import", stdin=cert, at=at)

    def revoke_subkey(self, primary: str, index: int, reason: int, *, at: dt.datetime | None = None) -> None:
        """Revoke the ``index``-th subkey (1-based, listing order) through ``--edit-key``."""
        answers = f"key {index}\nrevkey\ny\n{reason}\nrevoked in a test\n\ny\nsave\n".encode()
        self.gpg(
            "--no-tty", "--command-fd", "0", "--pinentry-mode", "loopback", "--passphrase", "",
            "--edit-key", primary, stdin=answers, at=at,
        )  # fmt: skip

    def set_expire(self, key: str, expire: str, *, at: dt.datetime | None = None) -> None:
        """Change the primary key's expiry (a new self-signature made at ``at``)."""
        self.gpg(*_QUICK, "--quick-set-expire", key, expire, at=at)

    def secret_key(self, fingerprint: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
        """The unprotected RSA or EdDSA secret of one (sub)key, for forging test signatures."""
        data = self.gpg(*_QUICK, "--export-secret-keys", f"{fingerprint}!").stdout
        for packet in iter_packets(data):
            if packet.tag in (5, 7) and _v4_fingerprint(_public_part(packet.body)) == fingerprint:
                return _private_key(packet.body)
        raise LookupError(fingerprint)


def _public_part(body: bytes) -> bytes:
    reader = Reader(body, 5)
    algo = reader.uint(1)
    if algo == 1:
        reader.mpi()
        reader.mpi()
    elif algo in (18, 19, 22):
        reader.take(reader.uint(1))
        reader.mpi()
        if algo == 18:
            reader.take(reader.uint(1))
    return body[: reader.offset]


def _v4_fingerprint(public_body: bytes) -> str:
    framed = b"\x99" + len(public_body).to_bytes(2, "big") + public_body
    return hashlib.sha1(framed).hexdigest().upper()


def _private_key(body: bytes) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    public = Reader(body, 5)
    algo = public.uint(1)
    reader = Reader(body, len(_public_part(body)))
    if reader.uint(1) != 0:
        raise ValueError("protected secret key")
    if algo == 1:
        pub = Reader(body, 6)
        n, e = (int.from_bytes(pub.mpi(), "big") for _ in range(2))
        d, p, q, _u = (int.from_bytes(reader.mpi(), "big") for _ in range(4))
        numbers = rsa.RSAPrivateNumbers(
            p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)
        )
        return numbers.private_key()
    if algo == 22:
        return ed25519.Ed25519PrivateKey.from_private_bytes(reader.mpi().rjust(32, b"\x00"))
    raise ValueError(f"unsupported secret key algorithm {algo}")


@dataclass(frozen=True)
class Forged:
    """A hand-built signature: the packet body and its armoured form."""

    body: bytes
    armored: bytes


def subpacket(kind: int, value: bytes, *, critical: bool = False) -> bytes:
    """One signature subpacket (one- or two-octet length)."""
    size = len(value) + 1
    if size < 192:
        length = bytes([size])
    else:
        assert size < 8384
        length = bytes([((size - 192) >> 8) + 192, (size - 192) & 0xFF])
    return length + bytes([kind | (0x80 if critical else 0)]) + value


def forge_signature(
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    payload: bytes,
    *,
    issuer: str,
    created: dt.datetime,
    hash_name: str = "SHA256",
    sig_type: int = 0,
    pubkey_algo: int | None = None,
    hashed: bytes | None = None,
    unhashed: bytes = b"",
) -> Forged:
    """A v4 signature packet over ``payload`` made with ``key``; ``hashed`` replaces the default subpackets."""
    hash_id = _HASH_IDS[hash_name]
    if pubkey_algo is None:
        pubkey_algo = (
            1 if isinstance(key, rsa.RSAPrivateKey) else 19 if isinstance(key, ec.EllipticCurvePrivateKey) else 22
        )
    if hashed is None:
        hashed = subpacket(33, b"\x04" + bytes.fromhex(issuer)) + subpacket(
            2, int(created.timestamp()).to_bytes(4, "big")
        )
    header = bytes([4, sig_type, pubkey_algo, hash_id]) + len(hashed).to_bytes(2, "big") + hashed
    data = payload.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if sig_type == 1 else payload
    digest = hashlib.new(hash_name.lower(), data + header + b"\x04\xff" + len(header).to_bytes(4, "big")).digest()
    algorithm = _PYCA[hash_id]()
    if isinstance(key, rsa.RSAPrivateKey):
        mpis = [key.sign(digest, padding.PKCS1v15(), Prehashed(algorithm))]
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(Prehashed(algorithm))))
        mpis = [r.to_bytes((r.bit_length() + 7) // 8, "big"), s.to_bytes((s.bit_length() + 7) // 8, "big")]
    else:
        native = key.sign(digest)
        mpis = [native[:32], native[32:]]
    # Ed25519 (27) carries the native signature; every other algorithm MPIs.
    values = b"".join(mpis) if pubkey_algo == 27 else b"".join(mpi(value) for value in mpis)
    body = header + len(unhashed).to_bytes(2, "big") + unhashed + digest[:2] + values
    return Forged(body, armor_signature(new_format_packet(2, body)))


def mpi(value: bytes) -> bytes:
    """``value`` as an OpenPGP MPI (bit count, then the magnitude without leading zeros)."""
    stripped = value.lstrip(b"\x00")
    return int.from_bytes(stripped, "big").bit_length().to_bytes(2, "big") + stripped


def new_format_packet(tag: int, body: bytes) -> bytes:
    """``body`` framed with a new-format header."""
    if len(body) < 192:
        length = bytes([len(body)])
    elif len(body) < 8384:
        value = len(body) - 192
        length = bytes([(value >> 8) + 192, value & 0xFF])
    else:
        length = b"\xff" + len(body).to_bytes(4, "big")
    return bytes([0xC0 | tag]) + length + body


def old_format_packet(tag: int, body: bytes) -> bytes:
    """``body`` framed with an old-format header (two-byte length)."""
    return bytes([0x80 | (tag << 2) | 1]) + len(body).to_bytes(2, "big") + body


def armor_signature(data: bytes, *, checksum: bool = True, headers: tuple[str, ...] = ()) -> bytes:
    """``data`` as a PGP SIGNATURE armour block."""
    encoded = base64.b64encode(data).decode()
    lines = ["-----BEGIN PGP SIGNATURE-----", *headers, ""]
    lines += [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    if checksum:
        lines.append("=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode())
    lines.append("-----END PGP SIGNATURE-----")
    return ("\n".join(lines) + "\n").encode()


def strip_back_signatures(export: bytes) -> bytes:
    """``export`` with every embedded signature (subpacket 32) removed from unhashed areas."""
    out = b""
    for packet in iter_packets(export):
        body = packet.body
        if packet.tag == 2 and body[1] == 0x18:
            hashed_len = int.from_bytes(body[4:6], "big")
            start = 6 + hashed_len
            unhashed_len = int.from_bytes(body[start : start + 2], "big")
            area = body[start + 2 : start + 2 + unhashed_len]
            kept = b"".join(
                subpacket(sub.type, sub.value, critical=sub.critical) for sub in iter_subpackets(area) if sub.type != 32
            )
            body = body[:start] + len(kept).to_bytes(2, "big") + kept + body[start + 2 + unhashed_len :]
        out += new_format_packet(packet.tag, body)
    return out
