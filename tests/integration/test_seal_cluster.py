"""``gitsecure seal`` against a controller reached through the API server's service proxy.

The CLI runs as a subprocess, as users run it, with the real ``kubernetes``
client and a kubeconfig pointing at :mod:`tests.support.standin_controller`,
which serves the documented API server and controller contract (reference
sections 5 and 6) with gitsecure's own unseal code behind it. HOME is a
temporary directory and the environment is scrubbed, so no real kubeconfig or
``SEALED_SECRETS_*`` setting of the machine running the tests leaks in.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitsecure.crypto.keys import KeyPair, dump_certificate, generate_key_pair
from gitsecure.errors import GitsecureError
from gitsecure.seal import modes, render, sealedsecret
from gitsecure.seal.manifest import Manifest, load_objects
from tests.support.seal_runner import Runner, assert_one_error_line
from tests.support.standin_controller import (
    PEM_CONTENT_TYPE,
    ControllerService,
    SilentServer,
    StandinController,
    closed_port,
    write_kubeconfig,
)

NAMESPACE = "team-a"
PASSWORD = "s3cr3t-hunter2-do-not-print"
TOKEN_VALUE = b"\x00\x01binary\xfftoken"

SECRET_YAML = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  labels:
    app: billing
type: Opaque
stringData:
  password: {PASSWORD}
data:
  token: {base64.b64encode(TOKEN_VALUE).decode()}
"""
EXPECTED_ITEMS = {"password": PASSWORD.encode(), "token": TOKEN_VALUE}


# -- keys, stand-in, runner --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """The stand-in's first key and the one a key renewal adds later (newer NotBefore)."""

    first: KeyPair
    renewed: KeyPair


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Two 2048-bit controller keys, made once for the module (4096 would be realistic but slow)."""
    now = dt.datetime.now(dt.UTC)
    return Keys(
        first=generate_key_pair(now=now - dt.timedelta(hours=2), key_size=2048),
        renewed=generate_key_pair(now=now - dt.timedelta(hours=1), key_size=2048),
    )


@pytest.fixture
def standin(keys: Keys) -> Iterator[StandinController]:
    """A stand-in holding the first key, serving the static manifest's Service in kube-system."""
    with StandinController([keys.first]) as server:
        yield server
        assert server.internal_errors == []


@pytest.fixture
def kubeconfig(standin: StandinController, tmp_path: Path) -> Path:
    """A kubeconfig with the stand-in's token and the context namespace ``team-a``."""
    return standin.write_kubeconfig(tmp_path / "kube" / "config", namespace=NAMESPACE)


# -- helpers -----------------------------------------------------------------------------------------------


def seal_offline(pair: KeyPair, text: str = SECRET_YAML, *, namespace: str = NAMESPACE) -> list[Manifest]:
    """SealedSecrets made in-process (as ``--cert`` would), to feed --validate and --re-encrypt."""
    public_key = pair.private_key.public_key()
    return modes.seal_secrets(text, public_key, modes.SealSettings(), default_namespace=lambda: namespace)


def opened_items(obj: Manifest, *pairs: KeyPair) -> dict[str, bytes]:
    """The plaintext items of ``obj`` opened with exactly ``pairs``; raises if they cannot."""
    secret = sealedsecret.unseal(obj, [p.private_key for p in pairs])
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def renamed(obj: Manifest, name: str) -> Manifest:
    """``obj`` moved to another name after sealing: its items no longer open (strict scope)."""
    moved = copy.deepcopy(obj)
    moved["metadata"]["name"] = name
    moved["spec"]["template"]["metadata"]["name"] = name
    return moved


# -- the stand-in itself follows the documented contract ------------------------------------------------------


def _http(url: str, *, token: str | None = None, data: bytes | None = None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def test_standin_requires_the_bearer_token(standin: StandinController) -> None:
    path = "/api/v1/namespaces/kube-system/services/sealed-secrets-controller"
    status, content_type, body = _http(standin.url + path)
    assert (status, content_type) == (401, "application/json")
    assert json.loads(body)["reason"] == "Unauthorized"
    assert _http(standin.url + path, token="not-" + standin.token)[0] == 401
    status, _, body = _http(standin.url + path, token=standin.token)
    assert status == 200
    assert json.loads(body)["spec"]["ports"][0].get("name") is None


def test_standin_proxy_resolves_ports_by_name(keys: Keys) -> None:
    helm = ControllerService.helm()
    with StandinController([keys.first], services=[helm]) as server:
        ok = _http(server.url + helm.proxy_path + "/v1/cert.pem", token=server.token)
        unnamed = _http(server.url + helm.proxy_path.replace(":http/", ":/") + "/v1/cert.pem", token=server.token)
        assert server.internal_errors == []
    assert ok == (200, PEM_CONTENT_TYPE, dump_certificate(keys.first.certificate))
    assert unnamed[0] == 503
    assert json.loads(unnamed[2])["message"] == 'no service port "" found for service "sealed-secrets"'


def test_standin_verify_and_rotate_answer_per_contract(standin: StandinController, keys: Keys) -> None:
    good = seal_offline(keys.first)[0]
    proxy = standin.url + ControllerService.static_manifest().proxy_path
    verify, rotate = proxy + "/v1/verify", proxy + "/v1/rotate"
    token = standin.token
    assert _http(verify, token=token, data=json.dumps(good).encode())[0] == 200
    assert _http(verify, token=token, data=render.to_yaml(good).encode())[0] == 200
    assert _http(verify, token=token, data=json.dumps(renamed(good, "moved")).encode())[0] == 409
    two_docs = render.render([good, good], "yaml").encode()
    assert _http(verify, token=token, data=two_docs) == (500, "text/plain; charset=utf-8", b"")
    not_sealed = json.dumps({**good, "kind": "Secret"}).encode()
    assert _http(verify, token=token, data=not_sealed)[0] == 500

    status, _, body = _http(rotate, token=token, data=json.dumps(good).encode())
    assert status == 200
    rotated = json.loads(body)
    assert "kind" not in rotated and "apiVersion" not in rotated
    assert rotated["metadata"] == good["metadata"]
    assert _http(rotate, token=token, data=json.dumps(renamed(good, "moved")).encode()) == (
        500,
        "text/plain; charset=utf-8",
        b"",
    )


# -- --fetch-cert through the controller ----------------------------------------------------------------------


def test_fetch_cert_through_the_service_proxy(seal: Runner, standin: StandinController, kubeconfig: Path) -> None:
    run = seal("--fetch-cert", "--kubeconfig", str(kubeconfig))

    assert run.returncode == 0, run.stderr
    assert run.stdout == standin.certificate_pem
    assert run.stderr == ""
    assert standin.calls == [
        ("GET", "/api/v1/namespaces/kube-system/services/sealed-secrets-controller"),
        ("GET", "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/cert.pem"),
    ]
    requests = standin.requests
    assert all(r.headers.get("authorization") == f"Bearer {standin.token}" for r in requests)
    assert "application/x-pem-file" in requests[1].headers.get("accept", "")


def test_fetch_cert_helm_service_with_controller_flags(seal: Runner, keys: Keys, tmp_path: Path) -> None:
    helm = ControllerService.helm(namespace="sealed-secrets")
    with StandinController([keys.first], services=[helm]) as server:
        config = server.write_kubeconfig(tmp_path / "config")
        run = seal(
            "--fetch-cert",
            "--kubeconfig",
            str(config),
            "--controller-name",
            "sealed-secrets",
            "--controller-namespace=sealed-secrets",
        )
        assert server.internal_errors == []

    assert run.returncode == 0, run.stderr
    assert run.stdout == dump_certificate(keys.first.certificate)
    assert server.calls == [
        ("GET", "/api/v1/namespaces/sealed-secrets/services/sealed-secrets"),
        ("GET", "/api/v1/namespaces/sealed-secrets/services/http:sealed-secrets:http/proxy/v1/cert.pem"),
    ]


@pytest.mark.parametrize("prefix", ["SEALED_SECRETS", "GITSECURE"])
def test_fetch_cert_controller_and_kubeconfig_from_environment(
    seal: Runner, keys: Keys, tmp_path: Path, prefix: str
) -> None:
    helm = ControllerService.helm(release="sealed-secrets", namespace="security")
    with StandinController([keys.first], services=[helm]) as server:
        config = server.write_kubeconfig(tmp_path / "config")
        run = seal(
            "--fetch-cert",
            env={
                "KUBECONFIG": str(config),
                f"{prefix}_CONTROLLER_NAME": "sealed-secrets",
                f"{prefix}_CONTROLLER_NAMESPACE": "security",
            },
        )
        assert server.internal_errors == []

    assert run.returncode == 0, run.stderr
    assert run.stdout == dump_certificate(keys.first.certificate)
    assert ("GET", helm.proxy_path + "/v1/cert.pem") in server.calls


def test_controller_flag_beats_environment(seal: Runner, keys: Keys, tmp_path: Path) -> None:
    helm = ControllerService.helm()
    with StandinController([keys.first], services=[helm]) as server:
        config = server.write_kubeconfig(tmp_path / "config")
        run = seal(
            "--fetch-cert",
            "--kubeconfig",
            str(config),
            "--controller-name",
            "sealed-secrets",
            env={"SEALED_SECRETS_CONTROLLER_NAME": "something-else"},
        )

    assert run.returncode == 0, run.stderr
    assert run.stdout == dump_certificate(keys.first.certificate)
    assert all("something-else" not in path for _, path in server.calls)


@pytest.fixture
def two_clusters(keys: Keys, tmp_path: Path) -> Iterator[tuple[StandinController, StandinController, str]]:
    """Two stand-ins with different keys and a KUBECONFIG listing ``prod`` (first file) then ``staging``.

    Both files set ``current-context``; kubectl uses the first file's.
    """
    with StandinController([keys.first]) as prod, StandinController([keys.renewed]) as staging:
        first = prod.write_kubeconfig(tmp_path / "prod.yaml", namespace="prod-ns", context="prod")
        second = staging.write_kubeconfig(tmp_path / "staging.yaml", namespace="staging-ns", context="staging")
        yield prod, staging, f"{first}{os.pathsep}{second}"
        assert prod.internal_errors == [] and staging.internal_errors == []


def test_context_flag_selects_cluster_and_namespace(
    seal: Runner, two_clusters: tuple[StandinController, StandinController, str], keys: Keys
) -> None:
    prod, staging, kubeconfig_env = two_clusters

    run = seal("--context", "staging", input=SECRET_YAML, env={"KUBECONFIG": kubeconfig_env})

    assert run.returncode == 0, run.stderr
    (sealed,) = load_objects(run.text)
    assert sealed["metadata"]["namespace"] == "staging-ns"
    assert opened_items(sealed, keys.renewed) == EXPECTED_ITEMS
    assert prod.calls == []
    assert len(staging.calls) == 2


def test_merged_kubeconfig_uses_the_first_current_context(
    seal: Runner, two_clusters: tuple[StandinController, StandinController, str], keys: Keys
) -> None:
    # kubectl (client-go) merging rule: the first file that sets current-context wins. The namespace
    # and the certificate must come from the same context, or a Secret is sealed for the wrong cluster.
    prod, staging, kubeconfig_env = two_clusters

    run = seal(input=SECRET_YAML, env={"KUBECONFIG": kubeconfig_env})

    assert run.returncode == 0, run.stderr
    (sealed,) = load_objects(run.text)
    assert sealed["metadata"]["namespace"] == "prod-ns"
    assert (len(prod.calls), staging.calls) == (2, [])
    assert opened_items(sealed, keys.first) == EXPECTED_ITEMS


def test_fetch_cert_to_file(seal: Runner, standin: StandinController, kubeconfig: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "cert.pem"
    target.parent.mkdir()
    run = seal("--fetch-cert", "--kubeconfig", str(kubeconfig), "-w", str(target))

    assert run.returncode == 0, run.stderr
    assert run.stdout == b""
    assert target.read_bytes() == standin.certificate_pem


def test_fetch_cert_copies_the_bytes_as_received(seal: Runner, standin: StandinController, kubeconfig: Path) -> None:
    # kubeseal copies the response without parsing it (reference 6.5), so a bundle with a
    # non-ASCII comment line must come out byte for byte.
    served = "# Schlüssel des Clusters «prod»\n".encode() + dump_certificate(standin.active_key.certificate)
    standin.serve_certificate_bytes(served)

    run = seal("--fetch-cert", "--kubeconfig", str(kubeconfig))

    assert run.returncode == 0, run.stderr
    assert run.stdout == served


# -- sealing with the controller's certificate ----------------------------------------------------------------


def test_seal_without_cert_uses_the_controller_certificate(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys
) -> None:
    run = seal("--kubeconfig", str(kubeconfig), input=SECRET_YAML)

    assert run.returncode == 0, run.stderr
    assert PASSWORD not in run.text
    (sealed,) = load_objects(run.text)
    assert (sealed["kind"], sealed["apiVersion"]) == (sealedsecret.KIND, sealedsecret.API_VERSION)
    # The Secret had no namespace: it takes the kubeconfig context's, which is also in the label.
    assert sealed["metadata"] == {"name": "db-credentials", "namespace": NAMESPACE}
    assert sealed["spec"]["template"]["metadata"]["labels"] == {"app": "billing"}
    assert opened_items(sealed, keys.first) == EXPECTED_ITEMS
    assert ("GET", ControllerService().proxy_path + "/v1/cert.pem") in standin.calls


# -- --validate ------------------------------------------------------------------------------------------------


def test_validate_accepts_sealed_secrets_the_controller_can_open(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys
) -> None:
    first = seal_offline(keys.first)[0]
    second = seal_offline(keys.first, SECRET_YAML.replace("db-credentials", "api-token"))[0]

    run = seal("--validate", "--kubeconfig", str(kubeconfig), input=render.render([first, second], "yaml"))

    assert run.returncode == 0, run.stderr
    assert run.stdout == b""
    assert run.stderr == ""
    verify_calls = [r for r in standin.requests if r.path.endswith("/v1/verify")]
    assert [r.path for r in verify_calls] == [ControllerService().proxy_path + "/v1/verify"] * 2
    assert [r.method for r in verify_calls] == ["POST", "POST"]
    assert [json.loads(r.body)["metadata"]["name"] for r in verify_calls] == ["db-credentials", "api-token"]
    assert all(r.status == 200 for r in verify_calls)


def test_validate_reports_a_renamed_sealed_secret(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys
) -> None:
    good = seal_offline(keys.first)[0]
    moved = renamed(seal_offline(keys.first)[0], "db-credentials-copy")
    stream = render.render([good, moved], "yaml")

    run = seal("--validate", "--kubeconfig", str(kubeconfig), input=stream)

    assert run.returncode == 1, run.stderr
    assert run.stdout == b""
    assert run.stderr_lines == ["error: unable to decrypt sealed secret: db-credentials-copy"]
    assert [r.status for r in standin.requests if r.path.endswith("/v1/verify")] == [200, 409]


def test_validate_accepts_secrets_sealed_before_a_key_renewal(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys, tmp_path: Path
) -> None:
    # Renewal only adds keys: what the old key sealed keeps opening (reference 7.1).
    old = seal_offline(keys.first)[0]
    standin.add_key(keys.renewed)
    source = tmp_path / "sealed.json"
    source.write_text(render.render([old], "json"), encoding="utf-8")

    run = seal("--validate", "--kubeconfig", str(kubeconfig), "-f", str(source))

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert [r.status for r in standin.requests if r.path.endswith("/v1/verify")] == [200]


# -- --re-encrypt ----------------------------------------------------------------------------------------------


def test_re_encrypt_reseals_with_the_newest_key(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys
) -> None:
    old = seal_offline(keys.first)[0]
    standin.add_key(keys.renewed)
    assert standin.active_key == keys.renewed

    run = seal("--re-encrypt", "--kubeconfig", str(kubeconfig), input=render.render([old], "json"))

    assert run.returncode == 0, run.stderr
    assert PASSWORD not in run.text
    (rotated,) = load_objects(run.text)
    assert list(rotated)[:2] == ["kind", "apiVersion"]
    assert (rotated["kind"], rotated["apiVersion"]) == (sealedsecret.KIND, sealedsecret.API_VERSION)
    assert rotated["metadata"] == old["metadata"]
    assert rotated["spec"]["encryptedData"] != old["spec"]["encryptedData"]
    assert opened_items(rotated, keys.renewed) == EXPECTED_ITEMS
    with pytest.raises(GitsecureError):
        opened_items(rotated, keys.first)
    (rotate_call,) = [r for r in standin.requests if r.path.endswith("/v1/rotate")]
    assert (rotate_call.method, rotate_call.path) == ("POST", ControllerService().proxy_path + "/v1/rotate")
    assert rotate_call.headers.get("authorization") == f"Bearer {standin.token}"


def test_re_encrypt_rewrites_the_input_file_in_place(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys, tmp_path: Path
) -> None:
    originals = [
        seal_offline(keys.first)[0],
        seal_offline(keys.first, SECRET_YAML.replace("db-credentials", "api-token"))[0],
    ]
    standin.add_key(keys.renewed)
    target = tmp_path / "sealed.yaml"
    target.write_text(render.render(originals, "yaml"), encoding="utf-8")

    run = seal("--re-encrypt", "--kubeconfig", str(kubeconfig), "-f", str(target))

    assert run.returncode == 0, run.stderr
    assert run.stdout == b""
    content = target.read_text(encoding="utf-8")
    assert content.startswith("---\n")  # a .yaml file is written as YAML
    rotated = load_objects(content)
    assert [r["metadata"]["name"] for r in rotated] == ["db-credentials", "api-token"]
    for obj in rotated:
        assert (obj["kind"], obj["apiVersion"]) == (sealedsecret.KIND, sealedsecret.API_VERSION)
        assert opened_items(obj, keys.renewed) == EXPECTED_ITEMS
        with pytest.raises(GitsecureError):
            opened_items(obj, keys.first)
    assert sum(r.path.endswith("/v1/rotate") for r in standin.requests) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sealed.yaml")] == []


def test_re_encrypt_with_w_leaves_the_input_alone(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys, tmp_path: Path
) -> None:
    source, target = tmp_path / "in.json", tmp_path / "out.json"
    original = render.render(seal_offline(keys.first), "json")
    source.write_text(original, encoding="utf-8")
    standin.add_key(keys.renewed)

    run = seal("--re-encrypt", "--kubeconfig", str(kubeconfig), "-f", str(source), "-w", str(target))

    assert run.returncode == 0, run.stderr
    assert source.read_text(encoding="utf-8") == original
    (rotated,) = load_objects(target.read_text(encoding="utf-8"))
    assert opened_items(rotated, keys.renewed) == EXPECTED_ITEMS


def test_re_encrypt_failure_keeps_the_file(
    seal: Runner, standin: StandinController, kubeconfig: Path, keys: Keys, tmp_path: Path
) -> None:
    target = tmp_path / "sealed.yaml"
    original = render.render([seal_offline(keys.first)[0], renamed(seal_offline(keys.first)[0], "moved")], "yaml")
    target.write_text(original, encoding="utf-8")

    run = seal("--re-encrypt", "--kubeconfig", str(kubeconfig), "-f", str(target))

    line = assert_one_error_line(run, "cannot re-encrypt secret")
    assert "500" in line
    assert target.read_text(encoding="utf-8") == original
    assert [r.status for r in standin.requests if r.path.endswith("/v1/rotate")] == [200, 500]


# -- --cert URL -------------------------------------------------------------------------------------------------


def test_cert_url_fetch_and_seal(seal: Runner, standin: StandinController, keys: Keys) -> None:
    url = standin.url + "/v1/cert.pem"

    fetched = seal("--fetch-cert", "--cert", url)
    sealed_run = seal("--cert", url, "-n", NAMESPACE, input=SECRET_YAML)

    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout == standin.certificate_pem
    assert sealed_run.returncode == 0, sealed_run.stderr
    (sealed,) = load_objects(sealed_run.text)
    assert opened_items(sealed, keys.first) == EXPECTED_ITEMS
    # A URL is fetched directly: the API server (and any kubeconfig) is never involved.
    assert standin.calls == [("GET", "/v1/cert.pem"), ("GET", "/v1/cert.pem")]


def test_cert_url_not_found(seal: Runner, standin: StandinController) -> None:
    url = standin.url + "/v1/missing.pem"

    run = seal("--fetch-cert", "--cert", url)

    assert run.returncode == 2
    assert run.stdout == b""
    assert run.stderr == f'error: cannot fetch "{url}": 404 Not Found\n'


# -- failures reaching the cluster ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(["--fetch-cert"], id="fetch-cert"),
        pytest.param([], id="seal"),
        pytest.param(["--validate"], id="validate"),
        pytest.param(["--re-encrypt"], id="re-encrypt"),
    ],
)
def test_unreachable_api_server(seal: Runner, tmp_path: Path, keys: Keys, mode: list[str]) -> None:
    config = write_kubeconfig(
        tmp_path / "config", server=f"http://127.0.0.1:{closed_port()}", token="unused", namespace=NAMESPACE
    )
    sealing = not {"--validate", "--re-encrypt"} & set(mode)
    stdin = SECRET_YAML if sealing else render.render(seal_offline(keys.first), "yaml")

    run = seal(*mode, "--kubeconfig", str(config), "--request-timeout", "2", input=stdin)

    assert_one_error_line(run, "cannot reach the Kubernetes API server")


def test_hanging_api_server_is_cut_off_by_the_request_timeout(seal: Runner, tmp_path: Path) -> None:
    with SilentServer() as silent:
        config = write_kubeconfig(tmp_path / "config", server=silent.url, token="unused")
        run = seal("--fetch-cert", "--kubeconfig", str(config), "--request-timeout", "0.5")

    line = assert_one_error_line(run, "cannot reach the Kubernetes API server")
    assert "timed out" in line.lower()


def test_missing_controller_service(seal: Runner, standin: StandinController, kubeconfig: Path) -> None:
    run = seal("--fetch-cert", "--kubeconfig", str(kubeconfig), "--controller-name", "no-such-controller")

    line = assert_one_error_line(run, "cannot get sealed secret service")
    assert line == 'error: cannot get sealed secret service: HTTP 404: services "no-such-controller" not found'
    assert "--controller-name" in run.stderr and "--controller-namespace" in run.stderr
    assert standin.calls == [("GET", "/api/v1/namespaces/kube-system/services/no-such-controller")]


def test_wrong_namespace_for_the_helm_service(seal: Runner, keys: Keys, tmp_path: Path) -> None:
    # `helm install sealed-secrets` without --controller-name: kubeseal's most common support question.
    with StandinController([keys.first], services=[ControllerService.helm()]) as server:
        config = server.write_kubeconfig(tmp_path / "config")
        run = seal("--fetch-cert", "--kubeconfig", str(config))

    line = assert_one_error_line(run, "cannot get sealed secret service")
    assert "404" in line
    assert "sealed-secrets-controller" in line


def test_rejected_token_is_reported_cleanly(
    seal: Runner, standin: StandinController, tmp_path: Path, keys: Keys
) -> None:
    wrong = "wrong-token-" + "x" * 16
    config = standin.write_kubeconfig(tmp_path / "config", token=wrong)

    run = seal("--validate", "--kubeconfig", str(config), input=render.render(seal_offline(keys.first), "yaml"))

    line = assert_one_error_line(run, "cannot get sealed secret service")
    assert "401" in line and "Unauthorized" in line
    assert wrong not in run.stderr
    # The token the stand-in refused is the one from the kubeconfig: the credentials were used.
    assert [(r.headers.get("authorization"), r.status) for r in standin.requests] == [(f"Bearer {wrong}", 401)]


def test_no_kubeconfig_at_all(seal: Runner, home: Path) -> None:
    assert not (home / ".kube").exists()

    run = seal("--fetch-cert")

    assert_one_error_line(run, "cannot load kubeconfig")
    assert "--cert" in run.stderr
