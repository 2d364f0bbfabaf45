"""SSH test material: real ``ssh-keygen`` in a throwaway HOME, and hand-built SSH structures for what it cannot make.

``SshKit`` never touches the user's ~/.ssh or agent: HOME points into a tmp dir and SSH_AUTH_SOCK
is dropped. The ``forge_*``/``sk_*`` helpers build wire structures with pyca keys, for FIDO keys
(no authenticator here) and for malformed or downgraded inputs ssh-keygen refuses to produce.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import struct
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gitsecure.crypto.sshsig import signed_data

KEYGEN_ARGS = {
    "ed25519": ["-t", "ed25519"],
    "ecdsa256": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "rsa": ["-t", "rsa", "-b", "2048"],
}


def ssh_time(at: dt.datetime) -> str:
    """``at`` in the UTC form ssh-keygen's ``-V`` and ``-Overify-time`` accept."""
    return at.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


class SshKit:
    """Runs ssh-keygen with HOME in ``root``: key generation, signing, certificates, reference verification."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "home").mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
        self.env["HOME"] = str(root / "home")
        self._count = 0

    def _run(self, *args: str, stdin: bytes = b"", check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["ssh-keygen", *args], input=stdin, env=self.env, capture_output=True, check=check)

    def _fresh(self, stem: str) -> Path:
        self._count += 1
        return self.root / f"{stem}-{self._count}"

    def keygen(self, kind: str) -> Path:
        """A new key pair; returns the private key path (the public key is ``<path>.pub``)."""
        path = self._fresh(kind)
        self._run("-q", *KEYGEN_ARGS[kind], "-N", "", "-C", "", "-f", str(path))
        return path

    @staticmethod
    def public(key: Path) -> str:
        """The ``.pub`` line of a key (or the ``-cert.pub`` line when given a certificate path)."""
        path = key if key.name.endswith(".pub") else key.with_name(key.name + ".pub")
        return " ".join(path.read_text().split()[:2])

    def sign(self, key: Path, payload: bytes, *, namespace: str = "git", hashalg: str | None = None) -> bytes:
        """``ssh-keygen -Y sign``; ``key`` may be a ``-cert.pub`` path to sign with the certificate."""
        options = ["-O", f"hashalg={hashalg}"] if hashalg else []
        return self._run("-q", "-Y", "sign", "-f", str(key), "-n", namespace, *options, stdin=payload).stdout

    def certify(
        self,
        ca: Path,
        key: Path,
        *,
        principals: str,
        validity: str = "always:forever",
        identity: str = "test-cert",
        options: tuple[str, ...] = (),
        host: bool = False,
        serial: int | None = None,
        algorithm: str | None = None,
    ) -> Path:
        """``ssh-keygen -s ca``: certify ``key`` (a private key path) and return the ``-cert.pub`` path.

        Each call certifies a copy of the key so that one key can hold several certificates.
        """
        copy = self._fresh("certified")
        copy.write_bytes(key.read_bytes())
        copy.chmod(0o600)
        copy.with_name(copy.name + ".pub").write_text(self.public(key) + "\n")
        args = ["-q", "-s", str(ca), "-I", identity, "-n", principals, "-V", validity]
        args += [arg for option in options for arg in ("-O", option)]
        args += ["-h"] if host else []
        args += ["-z", str(serial)] if serial is not None else []
        args += ["-t", algorithm] if algorithm else []  # the CA's signature algorithm, e.g. SHA-1 "ssh-rsa"
        self._run(*args, str(copy) + ".pub")
        return copy.with_name(copy.name + "-cert.pub")

    def describe(self, cert: Path) -> str:
        """``ssh-keygen -L``: the certificate as ssh-keygen reads it."""
        return self._run("-L", "-f", str(cert)).stdout.decode()

    def verify(
        self, allowed_signers: str, principal: str, signature: bytes, payload: bytes, *, at: dt.datetime
    ) -> bool:
        """ssh-keygen's verdict, as git asks for it: ``-Y verify -n git -I principal -Overify-time``."""
        allowed = self._fresh("allowed_signers")
        allowed.write_text(allowed_signers)
        sig = self._fresh("sig")
        sig.write_bytes(signature)
        args = ["-Y", "verify", "-f", str(allowed), "-I", principal, "-n", "git", "-s", str(sig)]
        result = self._run(*args, "-Overify-time=" + ssh_time(at), stdin=payload, check=False)
        return result.returncode == 0


# --- hand-built wire structures ------------------------------------------------------------------


def wstr(value: bytes | str) -> bytes:
    """An SSH string."""
    data = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(data)) + data


def wmpint(value: int) -> bytes:
    """An SSH mpint (positive)."""
    return wstr(value.to_bytes(value.bit_length() // 8 + 1, "big"))


def armor(blob: bytes) -> bytes:
    """An SSHSIG blob in ssh-keygen's armour (70-column lines)."""
    b64 = base64.b64encode(blob).decode()
    lines = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    return ("-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n").encode()


def sshsig_blob(
    public_blob: bytes,
    signature_blob: bytes,
    *,
    namespace: str = "git",
    hashalg: str = "sha512",
    reserved: bytes = b"",
    version: int = 1,
    magic: bytes = b"SSHSIG",
) -> bytes:
    """An SSHSIG blob from its parts."""
    fields = wstr(public_blob) + wstr(namespace) + wstr(reserved) + wstr(hashalg) + wstr(signature_blob)
    return magic + struct.pack(">I", version) + fields


def public_blob(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> bytes:
    """The SSH wire blob of a pyca public key."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def raw_sign(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, data: bytes,
             *, rsa_algorithm: str = "rsa-sha2-512") -> bytes:  # fmt: skip
    """An SSH signature structure over ``data`` (RSA: with ``rsa_algorithm``, even the SHA-1 ``ssh-rsa``)."""
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return wstr("ssh-ed25519") + wstr(private.sign(data))
    if isinstance(private, ec.EllipticCurvePrivateKey):
        size = private.curve.key_size
        digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[size]
        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(digest)))
        return wstr(f"ecdsa-sha2-nistp{size}") + wstr(wmpint(r) + wmpint(s))
    digest_for = {"rsa-sha2-256": hashes.SHA256(), "rsa-sha2-512": hashes.SHA512(), "ssh-rsa": hashes.SHA1()}
    signature = private.sign(data, padding.PKCS1v15(), digest_for[rsa_algorithm])
    return wstr(rsa_algorithm) + wstr(signature)


def sk_public_blob(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey, application: str = "ssh:") -> bytes:
    """A FIDO (``sk-``) public key blob for a software key standing in for an authenticator."""
    if isinstance(private, ed25519.Ed25519PrivateKey):
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return wstr("sk-ssh-ed25519@openssh.com") + wstr(raw) + wstr(application)
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return wstr("sk-ecdsa-sha2-nistp256@openssh.com") + wstr("nistp256") + wstr(point) + wstr(application)


def sk_sign(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey, data: bytes, *, application: str = "ssh:",
            flags: int = 0x01, counter: int = 7) -> bytes:  # fmt: skip
    """A FIDO signature structure, signed as PROTOCOL.u2f describes the authenticator doing it."""
    message = hashlib.sha256(application.encode()).digest() + bytes([flags]) + struct.pack(">I", counter)
    message += hashlib.sha256(data).digest()
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return (
            wstr("sk-ssh-ed25519@openssh.com")
            + wstr(private.sign(message))
            + bytes([flags])
            + struct.pack(">I", counter)
        )
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
    body = wstr(wmpint(r) + wmpint(s)) + bytes([flags]) + struct.pack(">I", counter)
    return wstr("sk-ecdsa-sha2-nistp256@openssh.com") + body


def forge_sshsig(
    public: bytes, sign: object, payload: bytes, *, namespace: str = "git", hashalg: str = "sha512"
) -> bytes:
    """An armoured SSHSIG over ``payload``; ``sign`` maps the SSHSIG signed data to a signature structure."""
    assert callable(sign)
    signature = sign(signed_data(namespace, hashalg, payload))
    return armor(sshsig_blob(public, signature, namespace=namespace, hashalg=hashalg))


def forge_certificate(
    key_blob: bytes,
    ca: ed25519.Ed25519PrivateKey,
    *,
    principals: tuple[str, ...] = ("alice@example.com",),
    cert_type: int = 1,
    valid: tuple[int, int] = (0, 2**64 - 1),
    critical: bytes = b"",
    extensions: bytes = b"",
    ca_blob: bytes | None = None,
) -> bytes:
    """A certificate blob for a plain ``key_blob``, signed by ``ca`` (``ca_blob`` overrides the CA field)."""
    key_type = struct.unpack(">I", key_blob[:4])[0]
    name, fields = key_blob[4 : 4 + key_type].decode(), key_blob[4 + key_type :]
    body = wstr(f"{name}-cert-v01@openssh.com" if "@" not in name else name.replace("@", "-cert-v01@"))
    body += wstr(os.urandom(32)) + fields + struct.pack(">QI", 5, cert_type) + wstr("forged")
    body += wstr(b"".join(wstr(p) for p in principals)) + struct.pack(">QQ", *valid)
    body += wstr(critical) + wstr(extensions) + wstr(b"")
    body += wstr(ca_blob if ca_blob is not None else public_blob(ca.public_key()))
    return body + wstr(wstr("ssh-ed25519") + wstr(ca.sign(body)))
