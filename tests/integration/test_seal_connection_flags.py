"""``gitsecure seal`` with kubectl's connection flags (``--server``, ``--token``, the TLS flags, ...).

As in ``test_seal_cluster.py``, the CLI runs as a subprocess with the real
``kubernetes`` client, an empty HOME and a scrubbed environment, against
:mod:`tests.support.standin_controller`. The TLS tests run the stand-in over
HTTPS with a throwaway CA and server certificate made here.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gitsecure.crypto.keys import KeyPair, generate_key_pair
from gitsecure.seal import sealedsecret
from gitsecure.seal.manifest import load_objects
from tests.support.seal_runner import Run, Runner, assert_one_error_line
from tests.support.standin_controller import StandinController, closed_port

NAMESPACE = "team-a"
SECRET_YAML = """\
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
stringData:
  password: s3cr3t-hunter2-do-not-print
"""


# -- runner --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> KeyPair:
    """The stand-in controller's sealing key (2048-bit, for speed)."""
    return generate_key_pair(now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), key_size=2048)


@pytest.fixture
def standin(key: KeyPair) -> Iterator[StandinController]:
    """A plain-HTTP stand-in with the static manifest's Service."""
    with StandinController([key]) as server:
        yield server
        assert server.internal_errors == []


def write_config(
    path: Path,
    *,
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
    context: tuple[str, str] | None,
) -> Path:
    """A kubeconfig with these cluster and user entries and, if given, a current context ``(cluster, user)``."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": fields} for name, fields in clusters.items()],
        "users": [{"name": name, "user": fields} for name, fields in users.items()],
        "contexts": [],
    }
    if context is not None:
        config["contexts"] = [
            {"name": "main", "context": {"cluster": context[0], "user": context[1], "namespace": NAMESPACE}}
        ]
        config["current-context"] = "main"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def sealed_namespace(run: Run, key: KeyPair) -> str:
    """The namespace of the one SealedSecret in ``run``'s output, after checking that ``key`` opens it."""
    assert run.returncode == 0, run.stderr
    (obj,) = load_objects(run.stdout.decode())
    sealedsecret.unseal(obj, [key.private_key])
    return str(obj["metadata"]["namespace"])


# -- --server and --token without a kubeconfig ---------------------------------------------------------------


def test_server_and_token_work_without_any_kubeconfig(seal: Runner, standin: StandinController, home: Path) -> None:
    assert list(home.iterdir()) == []

    run = seal("--server", standin.url, "--token", standin.token, "--fetch-cert")

    assert run.returncode == 0, run.stderr
    assert run.stdout == standin.certificate_pem
    assert run.stderr == ""
    assert {r.headers.get("authorization") for r in standin.requests} == {f"Bearer {standin.token}"}


def test_sealing_with_s_and_token_uses_the_default_namespace(
    seal: Runner, standin: StandinController, key: KeyPair
) -> None:
    run = seal("-s", standin.url + "/", "--token", standin.token, input=SECRET_YAML)

    assert sealed_namespace(run, key) == "default"  # no kubeconfig context: kubectl's default namespace


def test_connection_flags_come_from_the_environment(seal: Runner, standin: StandinController) -> None:
    env = {"SEALED_SECRETS_SERVER": standin.url, "SEALED_SECRETS_TOKEN": standin.token}

    run = seal("--fetch-cert", env=env)

    assert run.returncode == 0, run.stderr
    assert run.stdout == standin.certificate_pem


def test_wrong_token_is_one_line_401(seal: Runner, standin: StandinController) -> None:
    wrong = "wrong-token-" + "y" * 16

    run = seal("--server", standin.url, "--token", wrong, "--fetch-cert")

    line = assert_one_error_line(run, "cannot get sealed secret service")
    assert "401" in line and "Unauthorized" in line
    assert wrong not in run.stderr
    assert [(r.headers.get("authorization"), r.status) for r in standin.requests] == [(f"Bearer {wrong}", 401)]


def test_username_and_password_send_basic_auth(seal: Runner, standin: StandinController) -> None:
    run = seal("--server", standin.url, "--username", "admin", "--password", "pw-do-not-print", "--fetch-cert")

    assert "401" in assert_one_error_line(run, "cannot get sealed secret service")  # the stand-in wants a token
    assert "pw-do-not-print" not in run.stderr
    expected = "Basic " + base64.b64encode(b"admin:pw-do-not-print").decode()
    assert [r.headers.get("authorization") for r in standin.requests] == [expected]


def test_token_without_server_or_kubeconfig_fails_cleanly(seal: Runner) -> None:
    run = seal("--token", "some-token", "--fetch-cert")

    assert_one_error_line(run, "cannot load kubeconfig")
    assert "--server" in run.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--certificate-authority", "ca.pem", "--insecure-skip-tls-verify"], "--certificate-authority and"),
        (["--token", "t", "--username", "u"], "--token and --username/--password"),
    ],
)
def test_contradictory_flags_are_usage_errors(seal: Runner, flags: list[str], message: str) -> None:
    run = seal("--server", "https://127.0.0.1:1", *flags, "--fetch-cert")

    assert_one_error_line(run, message)


# -- flags on top of a kubeconfig ------------------------------------------------------------------------------


def test_server_overrides_the_kubeconfig_server(
    seal: Runner, standin: StandinController, tmp_path: Path, key: KeyPair
) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={"dead": {"server": f"http://127.0.0.1:{closed_port()}"}},
        users={"me": {"token": standin.token}},
        context=("dead", "me"),
    )
    unreachable = seal("--kubeconfig", str(config), "--request-timeout", "2", "--fetch-cert")

    run = seal("--kubeconfig", str(config), "--server", standin.url, input=SECRET_YAML)

    assert_one_error_line(unreachable, "cannot reach the Kubernetes API server")
    # The token and the namespace still come from the kubeconfig.
    assert sealed_namespace(run, key) == NAMESPACE
    assert {r.headers.get("authorization") for r in standin.requests} == {f"Bearer {standin.token}"}


def test_token_overrides_the_kubeconfig_credentials(seal: Runner, standin: StandinController, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={"live": {"server": standin.url}},
        users={"me": {"username": "admin", "password": "stale"}},
        context=("live", "me"),
    )

    run = seal("--kubeconfig", str(config), "--token", standin.token, "--fetch-cert")

    assert run.returncode == 0, run.stderr
    assert {r.headers.get("authorization") for r in standin.requests} == {f"Bearer {standin.token}"}


def test_cluster_and_user_pick_kubeconfig_entries(seal: Runner, standin: StandinController, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={"dead": {"server": f"http://127.0.0.1:{closed_port()}"}, "live": {"server": standin.url}},
        users={"nobody": {"token": "not-the-token"}, "admin": {"token": standin.token}},
        context=("dead", "nobody"),
    )
    kubeconfig = ("--kubeconfig", str(config), "--request-timeout", "2", "--fetch-cert")

    context_entries = seal(*kubeconfig)
    cluster_only = seal(*kubeconfig, "--cluster", "live")
    both = seal(*kubeconfig, "--cluster", "live", "--user", "admin")

    assert_one_error_line(context_entries, "cannot reach the Kubernetes API server")
    assert "401" in assert_one_error_line(cluster_only, "cannot get sealed secret service")  # the context's user
    assert both.returncode == 0, both.stderr
    assert both.stdout == standin.certificate_pem
    assert [(r.headers.get("authorization"), r.status) for r in standin.requests][:2] == [
        ("Bearer not-the-token", 401),
        (f"Bearer {standin.token}", 200),
    ]


def test_cluster_and_user_work_without_a_context(seal: Runner, standin: StandinController, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={"live": {"server": standin.url}},
        users={"admin": {"token": standin.token}},
        context=None,
    )

    run = seal("--kubeconfig", str(config), "--cluster", "live", "--user", "admin", "--fetch-cert")

    assert run.returncode == 0, run.stderr
    assert run.stdout == standin.certificate_pem


@pytest.mark.parametrize("flag", ["--cluster", "--user"])
def test_unknown_cluster_or_user_is_one_line(
    seal: Runner, standin: StandinController, tmp_path: Path, flag: str
) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={"live": {"server": standin.url}},
        users={"admin": {"token": standin.token}},
        context=("live", "admin"),
    )

    run = seal("--kubeconfig", str(config), flag, "no-such-entry", "--fetch-cert")

    assert "no-such-entry" in assert_one_error_line(run, "cannot load kubeconfig")
    assert standin.requests == []


def test_flags_are_not_written_back_to_the_kubeconfig(seal: Runner, standin: StandinController, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={"dead": {"server": f"http://127.0.0.1:{closed_port()}"}},
        users={"me": {"token": "old"}},
        context=("dead", "me"),
    )
    before = config.read_bytes()

    run = seal("--kubeconfig", str(config), "--server", standin.url, "--token", standin.token, "--fetch-cert")

    assert run.returncode == 0, run.stderr
    assert config.read_bytes() == before


# -- TLS ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A throwaway CA and the PEM files made from it, in one directory."""

    ca: Path
    other_ca: Path
    server_ip: tuple[Path, Path]
    """Certificate and key for IP 127.0.0.1."""
    server_dns: tuple[Path, Path]
    """Certificate and key for DNS ``api.cluster.test`` only."""
    client: tuple[Path, Path]
    """A client certificate and key signed by the CA."""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_pem(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        key_path = path.with_suffix(".key")
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    common_name: str,
    *,
    sans: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The CA, an unrelated CA, two server certificates and a client certificate."""
    directory = tmp_path_factory.mktemp("pki")
    ca = _ca("gitsecure test CA")
    other = _ca("some other CA")
    server_usage = ExtendedKeyUsageOID.SERVER_AUTH
    ip_cert, ip_key = _leaf(
        ca, "127.0.0.1", sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], usage=server_usage
    )
    dns_cert, dns_key = _leaf(ca, "api.cluster.test", sans=[x509.DNSName("api.cluster.test")], usage=server_usage)
    client_cert, client_key = _leaf(ca, "admin", sans=[], usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(
        ca=_write_pem(directory / "ca.pem", ca[0]),
        other_ca=_write_pem(directory / "other-ca.pem", other[0]),
        server_ip=(_write_pem(directory / "server-ip.pem", ip_cert, ip_key), directory / "server-ip.key"),
        server_dns=(_write_pem(directory / "server-dns.pem", dns_cert, dns_key), directory / "server-dns.key"),
        client=(_write_pem(directory / "client.pem", client_cert, client_key), directory / "client.key"),
    )


def _server_context(cert: tuple[Path, Path], *, client_ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert[0]), str(cert[1]))
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(client_ca))
    return context


@pytest.fixture
def tls_standin(key: KeyPair, pki: Pki) -> Iterator[StandinController]:
    """The stand-in over HTTPS with a certificate for 127.0.0.1 issued by ``pki.ca``."""
    with StandinController([key], ssl_context=_server_context(pki.server_ip)) as server:
        yield server
        assert server.internal_errors == []


def test_tls_without_the_ca_fails_cleanly(seal: Runner, tls_standin: StandinController) -> None:
    assert tls_standin.url.startswith("https://")

    run = seal("--server", tls_standin.url, "--token", tls_standin.token, "--fetch-cert")

    line = assert_one_error_line(run, "cannot reach the Kubernetes API server")
    assert "certificate verify failed" in line.lower()
    assert tls_standin.requests == []


def test_tls_with_certificate_authority(seal: Runner, tls_standin: StandinController, pki: Pki, key: KeyPair) -> None:
    run = seal(
        "--server", tls_standin.url, "--token", tls_standin.token, "--certificate-authority", str(pki.ca),
        input=SECRET_YAML,
    )  # fmt: skip

    assert sealed_namespace(run, key) == "default"
    assert run.stderr == ""


def test_tls_with_insecure_skip_tls_verify(seal: Runner, tls_standin: StandinController) -> None:
    run = seal("--server", tls_standin.url, "--token", tls_standin.token, "--insecure-skip-tls-verify", "--fetch-cert")

    assert run.returncode == 0, run.stderr
    assert run.stdout == tls_standin.certificate_pem
    assert run.stderr == ""  # no InsecureRequestWarning on every request


def test_certificate_authority_replaces_the_kubeconfig_ca_data(
    seal: Runner, tls_standin: StandinController, pki: Pki, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "config",
        clusters={
            "tls": {
                "server": tls_standin.url,
                "certificate-authority-data": base64.b64encode(pki.other_ca.read_bytes()).decode(),
            }
        },
        users={"me": {"token": tls_standin.token}},
        context=("tls", "me"),
    )

    wrong_ca = seal("--kubeconfig", str(config), "--fetch-cert")
    # Relative to the working directory (HOME here), as kubectl resolves flag paths.
    (seal.home / "ca.pem").write_bytes(pki.ca.read_bytes())
    right_ca = seal("--kubeconfig", str(config), "--certificate-authority", "ca.pem", "--fetch-cert")
    insecure = seal("--kubeconfig", str(config), "--insecure-skip-tls-verify", "--fetch-cert")

    assert "certificate verify failed" in assert_one_error_line(wrong_ca, "cannot reach the Kubernetes API").lower()
    assert right_ca.returncode == 0, right_ca.stderr
    assert right_ca.stdout == tls_standin.certificate_pem
    assert insecure.returncode == 0, insecure.stderr


def test_tls_server_name(seal: Runner, key: KeyPair, pki: Pki) -> None:
    with StandinController([key], ssl_context=_server_context(pki.server_dns)) as server:
        flags = ("--server", server.url, "--token", server.token, "--certificate-authority", str(pki.ca))
        mismatch = seal(*flags, "--fetch-cert")
        named = seal(*flags, "--tls-server-name", "api.cluster.test", "--fetch-cert")

    line = assert_one_error_line(mismatch, "cannot reach the Kubernetes API server")
    assert "127.0.0.1" in line or "mismatch" in line.lower()
    assert named.returncode == 0, named.stderr
    assert named.stdout == server.certificate_pem


def test_client_certificate_and_key(seal: Runner, key: KeyPair, pki: Pki) -> None:
    context = _server_context(pki.server_ip, client_ca=pki.ca)
    with StandinController([key], ssl_context=context) as server:
        flags = ("--server", server.url, "--token", server.token, "--certificate-authority", str(pki.ca))
        anonymous = seal(*flags, "--request-timeout", "5", "--fetch-cert")
        authenticated = seal(
            *flags, "--client-certificate", str(pki.client[0]), "--client-key", str(pki.client[1]), "--fetch-cert"
        )
        reached = [r.status for r in server.requests]

    assert_one_error_line(anonymous, "cannot reach the Kubernetes API server")
    assert authenticated.returncode == 0, authenticated.stderr
    assert authenticated.stdout == server.certificate_pem
    assert reached == [200, 200]  # only the authenticated run got through the handshake
