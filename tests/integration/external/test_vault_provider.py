"""The Vault provider against OpenBao's real dev server: KV v1/v2, auth methods, tokens, errors, find."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
import urllib.error
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gitsecure.controller.external.model import FindSpec, RemoteRef
from gitsecure.controller.external.providers.base import NoSecretError, ProviderError
from gitsecure.controller.external.providers.vault import VaultClient, build_path, new_client
from tests.integration.external.vault_world import Cluster, vault_store
from tests.support.openbao import FakeTokenReview, OpenBao, kubernetes_auth

SECRET_VALUE = "s3cr3t-" + secrets.token_hex(6)
_PLACEHOLDER_CA = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"


def _unique() -> str:
    return "t" + secrets.token_hex(4)


def _token_client(bao: OpenBao, cluster: Cluster, token: str | None = None, **provider: object) -> VaultClient:
    cluster.secrets[("apps", "vault-token")] = {"token": (token or bao.root_token).encode()}
    block = {"server": bao.url, "path": "secret", "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}
    block.update(provider)
    return new_client(cluster.context(vault_store(block)))


@pytest.mark.parametrize(
    ("key", "mount", "version", "expected"),
    [
        ("foo", "secret", "v2", "secret/data/foo"),
        ("secret/foo", "secret", "v2", "secret/data/foo"),
        ("secret/data/foo", "secret", "v2", "secret/data/foo"),
        ("foo", "secret/data/team", "v2", "secret/data/team/data/foo"),  # ESO's well-known double "data"
        ("secret/path/foo", None, "v2", "secret/data/path/foo"),
        ("secret/data/foo", None, "v2", "secret/data/foo"),
        ("foo", "kv1", "v1", "kv1/foo"),
        ("kv1/foo", None, "v1", "kv1/foo"),
    ],
)
def test_paths_are_built_as_eso_builds_them(key: str, mount: str | None, version: str, expected: str) -> None:
    assert build_path(key, mount, version) == expected


def test_kv2_read_property_versions_and_whole_map(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"user": "app", "password": "old"})
    document = (
        f'{{"password": "{SECRET_VALUE}", "n": 1.5, "big": 12345678901234567890, "nested": {{"b": 2, "a": "x"}}}}'
    )
    openbao.kv_put_json(path, document)
    cluster = Cluster()
    client = _token_client(openbao, cluster)
    assert client.get_secret(RemoteRef(key=path, property="password")) == SECRET_VALUE.encode()
    assert client.get_secret(RemoteRef(key=path, property="password", version="1")) == b"old"
    assert client.get_secret(RemoteRef(key=path, property="nested.a")) == b"x"
    # OpenBao answers 12345678901234567000: the literal is kept (a float would print 1.2345678901234567e+19)
    assert client.get_secret(RemoteRef(key=f"secret/{path}", property="big")) == b"12345678901234567000"
    whole = client.get_secret(RemoteRef(key=path))
    assert whole.startswith(b'{"big":12345678901234567000,"n":1.5,"nested":{"a":"x","b":2},"password":')  # sorted
    exploded = client.get_secret_map(RemoteRef(key=path))
    assert exploded["big"] == b"12345678901234567000"  # float64 printed as FormatFloat 'f', -1
    assert exploded["n"] == b"1.5"
    assert client.get_secret_map(RemoteRef(key=path, property="nested")) == {"a": b"x", "b": b"2"}


def test_memo_makes_entries_on_one_secret_cost_one_read(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a": "1", "b": "2"})
    cluster = Cluster()
    client = _token_client(openbao, cluster)
    memo: dict[str, object] = {}
    for prop in ("a", "b", "a", "b"):
        client.get_secret(RemoteRef(key=path, property=prop), memo)
    assert cluster.count("ReadSecretData") == 1
    client.get_secret(RemoteRef(key=path, property="a"), {})  # the next reconcile reads again
    assert cluster.count("ReadSecretData") == 2


def test_missing_deleted_and_destroyed_are_not_found(openbao: OpenBao) -> None:
    path = _unique()
    client = _token_client(openbao, Cluster())
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=path))
    openbao.kv_put(path, {"a": "1"})
    openbao.kv_put(path, {"a": "2"})
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=path, version="7"))
    openbao.kv_delete(path)  # soft delete of the latest version: 404 with a body
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=path, property="a"))
    assert client.get_secret(RemoteRef(key=path, property="a", version="1")) == b"1"  # older versions stay
    openbao.kv_delete(path, destroy_all=True)
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=path, property="a", version="1"))


def test_property_missing_names_the_property_not_the_value(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a": SECRET_VALUE})
    with pytest.raises(ProviderError) as caught:
        _token_client(openbao, Cluster()).get_secret(RemoteRef(key=path, property="b"))
    assert caught.value.message == f"key b does not exist in secret {path}"
    assert caught.value.kind == "invalid"


def test_permission_denied_names_the_path(openbao: OpenBao, monkeypatch: pytest.MonkeyPatch) -> None:
    # An ambient root token (VAULT_TOKEN, or the ~/.vault-token a dev server writes) must never stand in for the
    # store's own auth.
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    path = _unique()
    openbao.kv_put(path, {"a": SECRET_VALUE})
    openbao.policy("only-other", 'path "secret/data/other" { capabilities = ["read"] }')
    client = _token_client(openbao, Cluster(), token=openbao.token(["only-other"]))
    with pytest.raises(ProviderError) as caught:
        client.get_secret(RemoteRef(key=path, property="a"))
    assert caught.value.message == f"vault: permission denied reading secret/data/{path}"
    assert caught.value.kind == "permission"
    assert SECRET_VALUE not in caught.value.message


def test_metadata_fetch(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a": "1"})
    openbao.kv_metadata(path, {"dev": "alice", "current_version": "custom wins"})
    client = _token_client(openbao, Cluster())
    assert client.get_secret(RemoteRef(key=path, metadata_policy="Fetch", property="dev")) == b"alice"
    assert client.get_secret(RemoteRef(key=path, metadata_policy="Fetch", property="current_version")) == b"custom wins"
    tags = client.get_secret(RemoteRef(key=path, metadata_policy="Fetch"))
    assert b'"dev":"alice"' in tags and b'"created_time":' in tags


def test_kv1_and_metadata_refusal(openbao: OpenBao) -> None:
    mount = _unique()
    openbao.enable_kv1(mount)
    openbao.kv1_put("app", {"user": "u1"}, mount=mount)
    client = _token_client(openbao, Cluster(), path=mount, version="v1")
    assert client.get_secret(RemoteRef(key="app", property="user")) == b"u1"
    assert client.get_secret(RemoteRef(key="app", property="user", version="3")) == b"u1"  # KV v1 ignores it
    with pytest.raises(ProviderError, match="cannot perform metadata fetch operations with kv version v1"):
        client.get_secret(RemoteRef(key="app", metadata_policy="Fetch"))


def test_find_by_name_and_by_tags(openbao: OpenBao) -> None:
    base = _unique()
    openbao.kv_put(f"{base}/db/main", {"p": "1"})
    openbao.kv_put(f"{base}/db/replica", {"p": "2"})
    openbao.kv_put(f"{base}/cache", {"p": "3"})
    openbao.kv_metadata(f"{base}/cache", {"team": "web"})
    openbao.kv_metadata(f"{base}/db/main", {"team": "db"})
    client = _token_client(openbao, Cluster())
    found = client.get_all_secrets(FindSpec(path=base, name_regexp="db/"))
    assert found == {f"{base}/db/main": b'{"p":"1"}', f"{base}/db/replica": b'{"p":"2"}'}
    assert client.get_all_secrets(FindSpec(path=base, tags={"team": "web"})) == {f"{base}/cache": b'{"p":"3"}'}
    with pytest.raises(NoSecretError):
        client.get_all_secrets(FindSpec(path=_unique(), name_regexp="."))


def test_approle_logs_in_once_and_reuses_the_token(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a": "1"})
    openbao.policy("read-all", 'path "secret/*" { capabilities = ["read", "list"] }')
    with contextlib.suppress(urllib.error.HTTPError):  # already enabled by an earlier test on this server
        openbao.enable_auth("approle")
    role_id, secret_id = openbao.approle(_unique(), ["read-all"])
    cluster = Cluster()
    cluster.secrets[("apps", "approle")] = {"secret-id": secret_id.encode()}
    block = {
        "server": openbao.url,
        "path": "secret",
        "auth": {
            "appRole": {"path": "approle", "roleId": role_id, "secretRef": {"name": "approle", "key": "secret-id"}}
        },
    }
    client = new_client(cluster.context(vault_store(block)))
    for _ in range(20):
        assert client.get_secret(RemoteRef(key=path, property="a")) == b"1"
    assert cluster.count("Login") == 1
    assert client.validate() == "Valid"


def test_short_lived_token_is_renewed_or_replaced_not_failed(fresh_openbao: OpenBao) -> None:
    bao = fresh_openbao
    bao.kv_put("app", {"a": "1"})
    bao.policy("read-all", 'path "secret/*" { capabilities = ["read"] }')
    bao.enable_auth("userpass")
    bao.request(
        "POST",
        "auth/userpass/users/eso",
        {"password": SECRET_VALUE, "token_policies": ["read-all"], "token_ttl": "2s", "token_max_ttl": "4s"},
    )
    cluster = Cluster()
    cluster.secrets[("apps", "up")] = {"password": SECRET_VALUE.encode()}
    block = {
        "server": bao.url,
        "path": "secret",
        "auth": {"userPass": {"path": "userpass", "username": "eso", "secretRef": {"name": "up", "key": "password"}}},
    }
    now = [0.0]
    client = new_client(cluster.context(vault_store(block)))
    client.session._clock = lambda: now[0]  # the session's clock only decides when to renew
    assert client.get_secret(RemoteRef(key="app", property="a")) == b"1"
    now[0] += 1.8  # past two thirds of the 2 s TTL: renew (or log in again) before using it
    assert client.get_secret(RemoteRef(key="app", property="a")) == b"1"
    assert cluster.count("Login") + cluster.count("RenewSelf") >= 2


def test_kubernetes_auth_with_service_account_token(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a": "1"})
    review = FakeTokenReview()
    try:
        openbao.policy("read-all", 'path "secret/*" { capabilities = ["read", "list"] }')
        with contextlib.suppress(urllib.error.HTTPError):  # enabled by an earlier test on this server
            kubernetes_auth(openbao, review, "app", ("apps", "app-sa"), ["read-all"])
        openbao.request(
            "POST",
            "auth/kubernetes/config",
            {"kubernetes_host": review.url, "disable_local_ca_jwt": True, "kubernetes_ca_cert": _PLACEHOLDER_CA},
        )
        cluster = Cluster()
        account = {"name": "app-sa", "audiences": ["vault"]}
        block = {
            "server": openbao.url,
            "path": "secret",
            "auth": {"kubernetes": {"role": "app", "serviceAccountRef": account}},
        }
        client = new_client(cluster.context(vault_store(block)))
        assert client.get_secret(RemoteRef(key=path, property="a")) == b"1"
        assert cluster.tokens == [("apps", "app-sa", ("vault",), 600)]
        assert review.reviews == 1

        wrong = {
            "server": openbao.url,
            "path": "secret",
            "auth": {"kubernetes": {"role": "app", "serviceAccountRef": {"name": "intruder"}}},
        }
        with pytest.raises(ProviderError) as caught:
            new_client(cluster.context(vault_store(wrong))).get_secret(RemoteRef(key=path))
        assert caught.value.kind == "auth"
        assert "logging in at auth/kubernetes/login" in caught.value.message
    finally:
        review.close()


def test_namespaces(fresh_openbao: OpenBao) -> None:
    bao = fresh_openbao
    bao.request("POST", "sys/namespaces/team-a", {})
    bao.request("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, namespace="team-a")
    bao.kv_put("app", {"a": "in-team-a"}, namespace="team-a")
    client = _token_client(bao, Cluster(), namespace="team-a")
    assert client.get_secret(RemoteRef(key="app", property="a")) == b"in-team-a"
    with pytest.raises(NoSecretError):
        _token_client(bao, Cluster()).get_secret(RemoteRef(key="app"))


def test_server_down_is_unavailable_and_back_again(tmp_path: Path) -> None:
    with OpenBao(tmp_path / "bao") as bao:
        bao.kv_put("app", {"a": "1"})
        client = _token_client(bao, Cluster())
        assert client.get_secret(RemoteRef(key="app", property="a")) == b"1"
        bao.stop()
        with pytest.raises(ProviderError) as caught:
            client.get_secret(RemoteRef(key="app", property="a"))
        assert caught.value.kind == "unavailable"
        assert caught.value.message == f"vault: cannot reach {bao.url}: connection failed"
        bao.start()
        bao.kv_put("app", {"a": "2"})
        assert client.get_secret(RemoteRef(key="app", property="a")) == b"2"


def test_missing_credentials_secret_is_an_auth_error(openbao: OpenBao) -> None:
    block = {"server": openbao.url, "path": "secret", "auth": {"tokenSecretRef": {"name": "absent", "key": "token"}}}
    with pytest.raises(ProviderError) as caught:
        new_client(Cluster().context(vault_store(block))).get_secret(RemoteRef(key="x"))
    assert caught.value.message == "cannot get Secret apps/absent: not found"
    assert caught.value.kind == "auth"


def test_referent_cluster_store_validation_is_unknown(openbao: OpenBao) -> None:
    block = {
        "server": openbao.url,
        "path": "secret",
        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}},
    }
    cluster = Cluster()
    cluster.secrets[("team-x", "vault-token")] = {"token": openbao.root_token.encode()}
    client = new_client(cluster.context(vault_store(block, kind="ClusterSecretStore"), es_namespace="team-x"))
    assert client.validate() == "ValidationUnknown"
    path = _unique()
    openbao.kv_put(path, {"a": "1"})
    assert client.get_secret(RemoteRef(key=path, property="a")) == b"1"  # the token came from team-x


def test_https_with_ca_bundle_and_ca_provider(tmp_path: Path) -> None:
    with OpenBao(tmp_path / "bao", tls=True) as bao:
        bao.kv_put("app", {"a": "over-tls"})
        cluster = Cluster()
        bundle = base64.b64encode(bao.ca_pem).decode()
        assert (
            _token_client(bao, cluster, caBundle=bundle).get_secret(RemoteRef(key="app", property="a")) == b"over-tls"
        )
        cluster.config_maps[("apps", "vault-ca")] = {"ca.crt": bao.ca_pem.decode()}
        provider = _token_client(bao, cluster, caProvider={"type": "ConfigMap", "name": "vault-ca", "key": "ca.crt"})
        assert provider.get_secret(RemoteRef(key="app", property="a")) == b"over-tls"
        provider.close()
        with pytest.raises(ProviderError) as caught:  # the system roots do not know the dev server's CA
            _token_client(bao, Cluster()).get_secret(RemoteRef(key="app"))
        assert caught.value.kind == "unavailable"
        assert "TLS handshake failed" in caught.value.message


def _signed_jwt(key: rsa.RSAPrivateKey, claims: dict[str, object]) -> str:
    def part(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{part(signature)}"


def test_jwt_auth_with_a_token_from_a_secret(fresh_openbao: OpenBao) -> None:
    bao = fresh_openbao
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bao.kv_put("app", {"a": "via-jwt"})
    bao.policy("read-all", 'path "secret/*" { capabilities = ["read"] }')
    bao.enable_auth("jwt")
    bao.request("POST", "auth/jwt/config", {"jwt_validation_pubkeys": [public.decode()]})
    bao.request(
        "POST",
        "auth/jwt/role/eso",
        {"role_type": "jwt", "bound_audiences": ["vault"], "user_claim": "sub", "token_policies": ["read-all"]},
    )
    now = int(time.time())
    jwt = _signed_jwt(key, {"sub": "eso", "aud": "vault", "iat": now, "nbf": now - 5, "exp": now + 600})
    cluster = Cluster()
    cluster.secrets[("apps", "jwt")] = {"jwt-token": jwt.encode()}
    block = {
        "server": bao.url,
        "path": "secret",
        "auth": {"jwt": {"path": "jwt", "role": "eso", "secretRef": {"name": "jwt", "key": "jwt-token"}}},
    }
    assert new_client(cluster.context(vault_store(block))).get_secret(RemoteRef(key="app", property="a")) == b"via-jwt"
    assert cluster.count("Login") == 1
    forged = _signed_jwt(rsa.generate_private_key(public_exponent=65537, key_size=2048), {"sub": "eso", "aud": "vault"})
    cluster.secrets[("apps", "jwt")] = {"jwt-token": forged.encode()}
    with pytest.raises(ProviderError) as caught:
        new_client(cluster.context(vault_store(block))).get_secret(RemoteRef(key="app"))
    assert caught.value.kind == "auth"
    assert forged not in caught.value.message
