"""A miniature Sigstore for tests: a Fulcio-like CA, a CT log that embeds real SCTs, a Rekor key that signs SETs.

Everything is made with pyca/cryptography and serialized by hand where cryptography cannot build the structure
(the RFC 6962 SCT list, the Rekor SET): the verifier under test must not share code with the material it checks.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return b"\x0c" + _der_len(len(raw)) + raw


@dataclass
class MiniSigstore:
    """One test Sigstore instance; ``trusted_root_json()`` describes it."""

    name: str = "test"
    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    ct_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    rekor_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{self.name}-fulcio")])
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=30))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )

    @property
    def rekor_log_id(self) -> bytes:
        """Rekor's log id: sha256 of its SPKI DER."""
        return hashlib.sha256(_spki(self.rekor_key.public_key())).digest()

    def trusted_root_json(self) -> bytes:
        """A trusted_root.json trusting this CA, CT log and Rekor key."""

        def log(key: ec.EllipticCurvePrivateKey) -> dict[str, object]:
            spki = _spki(key.public_key())
            return {
                "baseUrl": "https://log.invalid",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": (NOW - dt.timedelta(days=30)).isoformat()},
                },
                "logId": {"keyId": _b64(hashlib.sha256(spki).digest())},
            }

        der = self.ca_cert.public_bytes(serialization.Encoding.DER)
        doc = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.rekor_key)],
            "ctlogs": [log(self.ct_key)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "test", "commonName": "test"},
                    "uri": "https://fulcio.invalid",
                    "certChain": {"certificates": [{"rawBytes": _b64(der)}]},
                    "validFor": {"start": (NOW - dt.timedelta(days=30)).isoformat()},
                }
            ],
            "timestampAuthorities": [],
        }
        return json.dumps(doc).encode()

    def issue(
        self,
        *,
        email: str,
        issuer: str,
        not_before: dt.datetime | None = None,
        lifetime: dt.timedelta = dt.timedelta(minutes=10),
        code_signing: bool = True,
        sct: bool = True,
    ) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
        """A Fulcio-style leaf (key, PEM) for ``email`` vouched for by ``issuer``, with an embedded SCT."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or NOW - dt.timedelta(minutes=1)
        usage = ExtendedKeyUsageOID.CODE_SIGNING if code_signing else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=True)
            .add_extension(x509.UnrecognizedExtension(ISSUER_V2, _utf8(issuer)), critical=False)
        )
        if sct:
            # The SCT signs the precertificate TBS: this same certificate without the SCT extension.
            precert = builder.sign(self.ca_key, hashes.SHA256())
            builder = builder.add_extension(
                x509.UnrecognizedExtension(SCT_OID, self._sct_extension(precert.tbs_certificate_bytes, start)),
                critical=False,
            )
        cert = builder.sign(self.ca_key, hashes.SHA256())
        return key, cert.public_bytes(serialization.Encoding.PEM)

    def _sct_extension(self, tbs: bytes, when: dt.datetime) -> bytes:
        millis = int(when.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(_spki(self.ca_key.public_key())).digest()
        signed = (
            struct.pack(">BBQH", 0, 0, millis, 1) + issuer_key_hash + len(tbs).to_bytes(3, "big") + tbs + b"\x00\x00"
        )
        sig = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        log_id = hashlib.sha256(_spki(self.ct_key.public_key())).digest()
        sct = (
            b"\x00" + log_id + struct.pack(">Q", millis) + b"\x00\x00" + b"\x04\x03" + struct.pack(">H", len(sig)) + sig
        )
        sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
        return b"\x04" + _der_len(len(sct_list)) + sct_list

    def rekor_bundle(
        self,
        *,
        payload: bytes,
        signature: bytes,
        verifier_pem: bytes,
        integrated_time: int | None = None,
        rekor_key: ec.EllipticCurvePrivateKey | None = None,
        log_index: int = 7,
    ) -> str:
        """A cosign ``dev.sigstore.cosign/bundle`` annotation for a hashedrekord entry, SET-signed."""
        signing_key = rekor_key or self.rekor_key
        body = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
                "signature": {"content": _b64(signature), "publicKey": {"content": _b64(verifier_pem)}},
            },
        }
        body_b64 = _b64(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
        log_id = hashlib.sha256(_spki(signing_key.public_key())).hexdigest()
        when = integrated_time if integrated_time is not None else int(NOW.timestamp())
        signed = {"body": body_b64, "integratedTime": when, "logID": log_id, "logIndex": log_index}
        canonical = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
        set_sig = signing_key.sign(canonical, ec.ECDSA(hashes.SHA256()))
        return json.dumps({"SignedEntryTimestamp": _b64(set_sig), "Payload": signed})
