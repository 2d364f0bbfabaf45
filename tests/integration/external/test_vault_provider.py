"""The Vault provider against OpenBao's real dev server: KV v1/v2, auth methods, tokens, errors, find."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gitsecure.controller.external.model import FindSpec, RemoteRef
from gitsecure.controller.external.providers.base import NoSecretError, ProviderError
from gitsecure.controller.external.providers.vault import VaultClient, build_metadata_path, build_path, new_client
from tests.integration.external.vault_world import Cluster, vault_store
from tests.support.openbao import FakeTokenReview, OpenBao, fake_service_account_jwt, kubernetes_auth

SECRET_VALUE = "s3cr3t-" + secrets.token_hex(6)
_PLACEHOLDER_CA = "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"


def _unique() -> str:
    return "t" + secrets.token_hex(4)


def _token_client(bao: OpenBao, cluster: Cluster, token: str | None = None, **provider: object) -> VaultClient:
    cluster.secrets[("apps", "vault-token")] = {"token": (token or bao.root_token).encode()}
    block: dict[str, object] = {
        "server": bao.url,
        "path": "secret",
        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}},
    }
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
        ("secret//foo", None, "v2", "secret/data/foo"),  # doubled slashes: Vault would redirect to the clean path
        ("/team//app/", "secret/", "v2", "secret/data/team/app"),
        ("secret//data//foo", "secret", "v2", "secret/data/foo"),
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


# --- paths, properties, find --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "mount", "expected"),
    [
        ("foo", "secret", "secret/metadata/foo"),
        ("secret//foo", "secret", "secret/metadata/foo"),
        ("secret/data/foo", None, "secret/metadata/foo"),
    ],
)
def test_metadata_paths(key: str, mount: str | None, expected: str) -> None:
    assert build_metadata_path(key, mount) == expected


def test_metadata_path_without_mount_needs_data() -> None:
    with pytest.raises(ProviderError, match="provided Path isn't a valid kv v2 path"):
        build_metadata_path("secret/foo", None)


def test_doubled_slashes_read_the_clean_path(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(f"{path}/app", {"a": "clean"})
    client = _token_client(openbao, Cluster())
    assert client.get_secret(RemoteRef(key=f"secret//{path}//app", property="a")) == b"clean"


def test_property_top_level_dotted_key_wins_over_the_nested_path(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a.b": "top-level", "a": {"b": "nested", "c": {"z": 1, "y": True}}})
    client = _token_client(openbao, Cluster())
    assert client.get_secret(RemoteRef(key=path, property="a.b")) == b"top-level"
    assert client.get_secret(RemoteRef(key=path, property="a.c.y")) == b"true"
    assert client.get_secret(RemoteRef(key=path, property="a.c")) == b'{"y":true,"z":1}'  # re-encoded, sorted
    assert client.get_secret_map(RemoteRef(key=path, property="a.c")) == {"y": b"true", "z": b"1"}
    with pytest.raises(ProviderError, match="is not a JSON object"):
        client.get_secret_map(RemoteRef(key=path, property="a.b"))


def test_find_tags_match_custom_metadata_only(openbao: OpenBao) -> None:
    base = _unique()
    openbao.kv_put(f"{base}/one", {"p": "1"})
    openbao.kv_put(f"{base}/two", {"p": "2"})
    openbao.kv_metadata(f"{base}/two", {"current_version": "1", "team": "a"})
    client = _token_client(openbao, Cluster())
    # Both secrets are at version 1; only the one whose custom metadata says so matches.
    assert client.get_all_secrets(FindSpec(path=base, tags={"current_version": "1"})) == {f"{base}/two": b'{"p":"2"}'}
    assert client.get_all_secrets(FindSpec(path=base, tags={"team": "a", "current_version": "2"})) == {}
    # name and tags together: Vault's provider uses the name only
    both = client.get_all_secrets(FindSpec(path=base, name_regexp="one$", tags={"team": "a"}))
    assert both == {f"{base}/one": b'{"p":"1"}'}


def test_find_on_kv1_by_name_and_tag_refusal(openbao: OpenBao) -> None:
    mount = _unique()
    openbao.enable_kv1(mount)
    openbao.kv1_put("apps/db", {"user": "u1"}, mount=mount)
    openbao.kv1_put("apps/web/api", {"user": "u2"}, mount=mount)
    openbao.kv1_put("other", {"user": "u3"}, mount=mount)
    cluster = Cluster()
    client = _token_client(openbao, cluster, path=mount, version="v1")
    assert client.get_all_secrets(FindSpec(name_regexp="^apps/")) == {
        "apps/db": b'{"user":"u1"}',
        "apps/web/api": b'{"user":"u2"}',
    }
    assert client.get_all_secrets(FindSpec(path="apps/web", name_regexp=".")) == {"apps/web/api": b'{"user":"u2"}'}
    assert cluster.count("ListSecrets") >= 3
    with pytest.raises(ProviderError, match="cannot perform find by tag operations with kv version v1"):
        client.get_all_secrets(FindSpec(tags={"team": "a"}))


# --- tokens: 403 handling, static tokens, validation ------------------------------------------------------


def _revoke_tokens_with_policy(bao: OpenBao, policy: str) -> int:
    """Revoke (as an operator would) every token carrying ``policy``; how many."""
    revoked = 0
    for accessor in bao.request("LIST", "auth/token/accessors")["data"]["keys"]:
        info = bao.request("POST", "auth/token/lookup-accessor", {"accessor": accessor})["data"]
        if policy in (info.get("policies") or []):
            bao.request("POST", "auth/token/revoke-accessor", {"accessor": accessor})
            revoked += 1
    return revoked


def test_revoked_login_token_logs_in_again_once_and_retries(openbao: OpenBao) -> None:
    path = _unique()
    policy = "p-" + _unique()
    openbao.kv_put(path, {"a": "1"})
    openbao.policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    with contextlib.suppress(urllib.error.HTTPError):  # already enabled by an earlier test on this server
        openbao.enable_auth("approle")
    role_id, secret_id = openbao.approle(_unique(), [policy])
    cluster = Cluster()
    cluster.secrets[("apps", "approle")] = {"secret-id": secret_id.encode(), "role-id": role_id.encode()}
    block = {
        "server": openbao.url,
        "path": "secret",
        "auth": {
            "appRole": {
                "roleRef": {"name": "approle", "key": "role-id"},
                "secretRef": {"name": "approle", "key": "secret-id"},
            }
        },
    }
    client = new_client(cluster.context(vault_store(block)))
    assert client.get_secret(RemoteRef(key=path, property="a")) == b"1"
    assert _revoke_tokens_with_policy(openbao, policy) == 1
    assert client.get_secret(RemoteRef(key=path, property="a")) == b"1"  # 403, a new login, the retry succeeds
    assert cluster.count("Login") == 2
    assert cluster.count("ReadSecretData", "error") == 0
    # A policy denial with a token Vault still accepts stands: no new login (it would only add a lease).
    for _ in range(3):
        with pytest.raises(ProviderError) as caught:
            client.get_secret(RemoteRef(key=f"{path}-other"))
        assert caught.value.kind == "permission"
        assert caught.value.message == f"vault: permission denied reading secret/data/{path}-other"
    assert cluster.count("Login") == 2
    assert cluster.count("LookupSelf") == 3


def test_static_token_is_never_replaced_and_validates(openbao: OpenBao) -> None:
    path = _unique()
    policy = "p-" + _unique()
    openbao.kv_put(path, {"a": "1"})
    openbao.policy(policy, f'path "secret/data/{path}" {{ capabilities = ["read"] }}')
    cluster = Cluster()
    client = _token_client(openbao, cluster, token=openbao.token([policy]))
    assert client.validate() == "Valid"
    assert cluster.count("LookupSelf") == 1
    assert client.get_secret(RemoteRef(key=path, property="a")) == b"1"
    _revoke_tokens_with_policy(openbao, policy)
    with pytest.raises(ProviderError) as caught:
        client.get_secret(RemoteRef(key=path, property="a"))
    assert caught.value.kind == "permission"
    assert cluster.count("Login", "success") + cluster.count("Login", "error") == 0
    with pytest.raises(ProviderError) as caught:
        client.validate()
    assert caught.value.kind == "auth"
    assert cluster.count("LookupSelf", "error") == 2  # the denied read checked the token, then validate() did


def test_unsupported_or_several_auth_methods_are_refused(openbao: OpenBao) -> None:
    ldap = {"server": openbao.url, "auth": {"ldap": {"username": "u", "secretRef": {"name": "x", "key": "y"}}}}
    with pytest.raises(ProviderError, match="auth method ldap is not supported"):
        new_client(Cluster().context(vault_store(ldap)))
    two = {
        "server": openbao.url,
        "auth": {"tokenSecretRef": {"name": "t", "key": "token"}, "userPass": {"username": "u"}},
    }
    with pytest.raises(ProviderError, match="use exactly one"):
        new_client(Cluster().context(vault_store(two)))


# --- more auth methods ------------------------------------------------------------------------------------


class SigningCluster(Cluster):
    """A cluster whose TokenRequest hands out RS256 tokens signed by ``key`` (OpenBao's jwt auth checks them)."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        super().__init__()
        self.key = key

    def request_token(self, namespace: str, account: str, audiences: tuple[str, ...], seconds: int) -> str:
        self.tokens.append((namespace, account, audiences, seconds))
        now = int(time.time())
        claims = {
            "sub": f"system:serviceaccount:{namespace}:{account}",
            "aud": list(audiences),
            "iat": now,
            "nbf": now - 5,
            "exp": now + seconds,
        }
        return _signed_jwt(self.key, claims)


def test_jwt_auth_with_a_service_account_token(openbao: OpenBao) -> None:
    mount = "jwt-" + _unique()
    path = _unique()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    openbao.kv_put(path, {"a": "via-sa-jwt"})
    openbao.policy("read-all", 'path "secret/*" { capabilities = ["read", "list"] }')
    openbao.enable_auth("jwt", mount)
    openbao.request("POST", f"auth/{mount}/config", {"jwt_validation_pubkeys": [public.decode()]})
    openbao.request(
        "POST",
        f"auth/{mount}/role/eso",
        {
            "role_type": "jwt",
            "bound_audiences": ["vault"],
            "bound_subject": "system:serviceaccount:apps:eso-sa",
            "user_claim": "sub",
            "token_policies": ["read-all"],
        },
    )
    cluster = SigningCluster(key)
    block = {
        "server": openbao.url,
        "path": "secret",
        "auth": {
            "jwt": {
                "path": mount,
                "role": "eso",
                "kubernetesServiceAccountToken": {"serviceAccountRef": {"name": "eso-sa"}},
            }
        },
    }
    client = new_client(cluster.context(vault_store(block)))
    assert client.get_secret(RemoteRef(key=path, property="a")) == b"via-sa-jwt"
    assert cluster.tokens == [("apps", "eso-sa", ("vault",), 600)]  # ESO's defaults: audience vault, 600 s
    # A ClusterSecretStore's service account lives where the ref says.
    block["auth"]["jwt"]["kubernetesServiceAccountToken"] = {  # type: ignore[index]
        "serviceAccountRef": {"name": "eso-sa", "namespace": "apps"},
        "audiences": ["vault", "other"],
        "expirationSeconds": 900,
    }
    cluster_client = new_client(
        cluster.context(vault_store(block, kind="ClusterSecretStore"), es_namespace="elsewhere")
    )
    assert cluster_client.get_secret(RemoteRef(key=path, property="a")) == b"via-sa-jwt"
    assert cluster.tokens[-1] == ("apps", "eso-sa", ("vault", "other"), 900)
    assert cluster_client.validate() == "Valid"


def test_kubernetes_auth_with_a_token_secret(openbao: OpenBao) -> None:
    path = _unique()
    openbao.kv_put(path, {"a": "via-k8s-secret"})
    review = FakeTokenReview()
    try:
        openbao.policy("read-all", 'path "secret/*" { capabilities = ["read", "list"] }')
        mount = "k8s-" + _unique()
        openbao.enable_auth("kubernetes", mount)
        openbao.request(
            "POST",
            f"auth/{mount}/config",
            {"kubernetes_host": review.url, "disable_local_ca_jwt": True, "kubernetes_ca_cert": _PLACEHOLDER_CA},
        )
        openbao.request(
            "POST",
            f"auth/{mount}/role/app",
            {
                "bound_service_account_names": ["legacy-sa"],
                "bound_service_account_namespaces": ["apps"],
                "token_policies": ["read-all"],
            },
        )
        cluster = Cluster()
        cluster.secrets[("apps", "legacy-sa-token")] = {"token": fake_service_account_jwt("apps", "legacy-sa").encode()}
        block = {
            "server": openbao.url,
            "path": "secret",
            "auth": {"kubernetes": {"mountPath": mount, "role": "app", "secretRef": {"name": "legacy-sa-token"}}},
        }
        client = new_client(cluster.context(vault_store(block)))
        assert client.get_secret(RemoteRef(key=path, property="a")) == b"via-k8s-secret"  # key defaults to "token"
        assert cluster.tokens == []  # no TokenRequest: the token came from the Secret
        assert review.reviews == 1
    finally:
        review.close()


def test_userpass_login_in_its_own_namespace(fresh_openbao: OpenBao) -> None:
    bao = fresh_openbao
    bao.request("POST", "sys/namespaces/team-a", {})
    bao.request("POST", "sys/namespaces/sub", {}, namespace="team-a")
    bao.request("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, namespace="team-a/sub")
    bao.kv_put("app", {"a": "deep"}, namespace="team-a/sub")
    policy = 'path "sub/secret/*" { capabilities = ["read"] }'
    bao.request("PUT", "sys/policies/acl/r", {"policy": policy}, namespace="team-a")
    bao.request("POST", "sys/auth/userpass", {"type": "userpass"}, namespace="team-a")
    bao.request(
        "POST", "auth/userpass/users/eso", {"password": SECRET_VALUE, "token_policies": ["r"]}, namespace="team-a"
    )
    cluster = Cluster()
    cluster.secrets[("apps", "up")] = {"password": SECRET_VALUE.encode()}
    user_pass = {"username": "eso", "secretRef": {"name": "up", "key": "password"}}
    block = {"server": bao.url, "path": "secret", "namespace": "team-a/sub", "auth": {"namespace": "team-a"}}
    block["auth"]["userPass"] = user_pass  # type: ignore[index]
    client = new_client(cluster.context(vault_store(block)))
    assert client.get_secret(RemoteRef(key="app", property="a")) == b"deep"
    assert cluster.count("Login") == 1
    assert client.validate() == "Valid"
    # Without auth.namespace the login goes to team-a/sub, which has no userpass method.
    without = {**block, "auth": {"userPass": user_pass}}
    with pytest.raises(ProviderError) as caught:
        new_client(cluster.context(vault_store(without))).get_secret(RemoteRef(key="app"))
    assert caught.value.kind == "auth"
    assert "logging in at auth/userpass/login/eso" in caught.value.message
    assert SECRET_VALUE not in caught.value.message


# --- no value ever in an error ----------------------------------------------------------------------------


def test_no_secret_value_or_credential_appears_in_any_error(openbao: OpenBao) -> None:
    value = "v4lue-" + secrets.token_hex(8)
    path = _unique()
    openbao.kv_put(path, {"a": value, "nested": {"b": value}})
    openbao.policy("only-other", 'path "secret/data/other" { capabilities = ["read"] }')
    with contextlib.suppress(urllib.error.HTTPError):
        openbao.enable_auth("userpass")
    with contextlib.suppress(urllib.error.HTTPError):
        openbao.enable_auth("approle")
    role_id, _ = openbao.approle(_unique(), ["only-other"])
    cluster = Cluster()
    cluster.secrets[("apps", "creds")] = {"password": value.encode(), "secret-id": value.encode()}
    root = _token_client(openbao, cluster)
    cluster.secrets[("apps", "bad-token")] = {"token": value.encode()}
    bad_token = {
        "server": openbao.url,
        "path": "secret",
        "auth": {"tokenSecretRef": {"name": "bad-token", "key": "token"}},
    }
    user_pass = {
        "server": openbao.url,
        "path": "secret",
        "auth": {"userPass": {"username": "nobody", "secretRef": {"name": "creds", "key": "password"}}},
    }
    app_role = {
        "server": openbao.url,
        "path": "secret",
        "auth": {"appRole": {"roleId": role_id, "secretRef": {"name": "creds", "key": "secret-id"}}},
    }
    failures: list[Callable[[], object]] = [
        lambda: root.get_secret(RemoteRef(key=path, property="missing")),
        lambda: root.get_secret(RemoteRef(key=path, property="nested.missing")),
        lambda: root.get_secret_map(RemoteRef(key=path, property="a")),
        lambda: root.get_secret(RemoteRef(key=path, version="abc")),  # HTTP 400 with Vault's errors text
        lambda: root.get_secret(RemoteRef(key=path, metadata_policy="Fetch", property="a")),
        lambda: _token_client(openbao, cluster, token=openbao.token(["only-other"])).get_secret(RemoteRef(key=path)),
        lambda: new_client(cluster.context(vault_store(bad_token))).get_secret(RemoteRef(key=path)),
        lambda: new_client(cluster.context(vault_store(bad_token))).validate(),
        lambda: new_client(cluster.context(vault_store(user_pass))).get_secret(RemoteRef(key=path)),
        lambda: new_client(cluster.context(vault_store(app_role))).get_secret(RemoteRef(key=path)),
    ]
    messages: list[str] = []
    for failure in failures:
        with pytest.raises(ProviderError) as caught:
            failure()
        messages.append(caught.value.message)
        assert value not in caught.value.message and value not in str(caught.value) and value not in repr(caught.value)
    assert any("HTTP 400" in m for m in messages)  # Vault's own text is kept, just never a value
