"""Controller-format key pairs: RSA private keys and self-signed certificates.

The sealed-secrets controller stores each key pair in a ``kubernetes.io/tls``
Secret: ``tls.key`` is a PKCS#1 PEM RSA key, ``tls.crt`` a self-signed
certificate with only the ``encipherOnly`` key usage and ``CA:TRUE``. Keys made
here are indistinguishable in shape, so existing clusters accept them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, NewType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from gitsecure.errors import InputError

PublicKey = rsa.RSAPublicKey
"""A sealing public key (RSA): the type other packages name without importing pyca."""
PrivateKey = rsa.RSAPrivateKey
"""A sealing private key (RSA)."""
Certificate = x509.Certificate
"""An X.509 certificate."""

Fingerprint = NewType("Fingerprint", str)
"""SSH-style ``SHA256:<unpadded base64>`` of the public key's SSH wire form."""

DEFAULT_KEY_SIZE = 4096
DEFAULT_KEY_TTL = dt.timedelta(hours=87600)
_MIN_KEY_SIZE = 2048

# KeyUsage as a DER BIT STRING with only bit 7 (encipherOnly) set. pyca's
# KeyUsage type insists on keyAgreement alongside encipherOnly, which the
# controller does not set, so the extension is written as raw DER.
_ENCIPHER_ONLY_KEY_USAGE_DER = b"\x03\x02\x00\x01"


@dataclass(frozen=True)
class KeyPair:
    """A controller sealing key: the private key and its certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def not_before(self) -> dt.datetime:
        """When the certificate starts: the key ring's ordering time."""
        return self.certificate.not_valid_before_utc

    @property
    def fingerprint(self) -> Fingerprint:
        """The public-key fingerprint, as the controller's key registry names keys."""
        return public_key_fingerprint(self.private_key.public_key())


def generate_key_pair(
    *,
    now: dt.datetime,
    key_size: int = DEFAULT_KEY_SIZE,
    ttl: dt.timedelta = DEFAULT_KEY_TTL,
    common_name: str = "",
) -> KeyPair:
    """Make a key pair exactly as the controller does at ``now``."""
    if key_size < _MIN_KEY_SIZE:
        raise InputError(f"key size {key_size} is too small; use at least {_MIN_KEY_SIZE} bits", reference="weak-key")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    return KeyPair(private_key, self_signed_certificate(private_key, now=now, ttl=ttl, common_name=common_name))


def self_signed_certificate(
    private_key: rsa.RSAPrivateKey, *, now: dt.datetime, ttl: dt.timedelta, common_name: str = ""
) -> x509.Certificate:
    """A controller-shaped certificate for ``private_key``, valid from ``now`` for ``ttl``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    public_key = private_key.public_key()
    not_before = now.astimezone(dt.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(secrets.randbits(128))
        .not_valid_before(not_before)
        .not_valid_after(not_before + ttl)
        .add_extension(x509.UnrecognizedExtension(ExtensionOID.KEY_USAGE, _ENCIPHER_ONLY_KEY_USAGE_DER), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(private_key, hashes.SHA256())


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> Fingerprint:
    """``SHA256:...`` over the SSH wire encoding, as ``ssh-keygen -lf`` prints it."""
    openssh = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(openssh.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
    return Fingerprint(f"SHA256:{digest}")


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """Load an unencrypted RSA private key from PEM (PKCS#1 or PKCS#8)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            "cannot parse private key: not an unencrypted PEM private key",
            reference="bad-private-key",
            hint="expected '-----BEGIN RSA PRIVATE KEY-----' or '-----BEGIN PRIVATE KEY-----'",
        ) from exc
    except Exception as exc:  # pyca raises UnsupportedAlgorithm and friends for odd key types
        raise InputError("cannot parse private key: unsupported key type", reference="bad-private-key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError(
            f"unexpected private key type {type(key).__name__}: sealing keys must be RSA", reference="bad-private-key"
        )
    return key


def dump_private_key(key: rsa.RSAPrivateKey, *, fmt: Literal["pkcs1", "pkcs8"] = "pkcs1") -> bytes:
    """PEM-encode ``key``: PKCS#1 (``RSA PRIVATE KEY``, the controller's format) or PKCS#8."""
    private_format = (
        serialization.PrivateFormat.TraditionalOpenSSL if fmt == "pkcs1" else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption())


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every PEM ``CERTIFICATE`` block in ``pem``, in order; an empty list when there is none."""
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []


def dump_certificate(cert: x509.Certificate) -> bytes:
    """PEM-encode a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def sealing_public_key(pem: bytes, *, now: dt.datetime) -> rsa.RSAPublicKey:
    """The RSA public key to seal with, from a certificate PEM, as kubeseal checks it.

    The first certificate is used; it must hold an RSA key and must not have
    expired at ``now`` (NotBefore is not checked, like kubeseal).
    """
    certs = load_certificates(pem)
    if not certs:
        raise InputError(
            "data does not contain any valid RSA or ECDSA certificates",
            reference="bad-certificate",
            hint="pass the controller certificate (PEM 'CERTIFICATE' block), e.g. from 'gitsecure seal --fetch-cert'",
        )
    cert = certs[0]
    try:
        public_key = cert.public_key()
    except Exception as exc:  # unsupported key algorithm in an otherwise valid certificate
        raise InputError("certificate holds an unsupported public key", reference="bad-certificate") from exc
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise InputError(f"expected RSA public key but found {type(public_key).__name__}", reference="bad-certificate")
    not_after = cert.not_valid_after_utc
    if now >= not_after:
        raise InputError(
            f"failed to encrypt using an expired certificate on {not_after:%B} {not_after.day}, {not_after.year}",
            reference="expired-certificate",
            hint="fetch the controller's current certificate with 'gitsecure seal --fetch-cert'",
        )
    return public_key


def certificate_for(key: rsa.RSAPrivateKey, certificates: list[x509.Certificate]) -> x509.Certificate | None:
    """The first certificate whose public key is ``key``'s, or None."""
    numbers = key.public_key().public_numbers()
    for cert in certificates:
        try:
            public = cert.public_key()
        except Exception:  # noqa: S112 - a corrupt or unsupported key simply does not match
            continue
        if isinstance(public, rsa.RSAPublicKey) and public.public_numbers() == numbers:
            return cert
    return None
