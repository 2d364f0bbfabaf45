"""The AWS provider against moto's server: Secrets Manager, Parameter Store, auth paths, errors, find."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitsecure.controller.external.model import FindSpec, RemoteRef, StoreSpec
from gitsecure.controller.external.providers.aws import AwsClient, new_client
from gitsecure.controller.external.providers.base import NoSecretError, ProviderError
from tests.integration.external.vault_world import Cluster
from tests.support.motoserver import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

SECRET_VALUE = "s3cr3t-" + secrets.token_hex(6)


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """moto as the endpoint of every AWS client this test builds."""
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    yield moto


def _name() -> str:
    return "t" + secrets.token_hex(4)


def _store(service: str = "SecretsManager", *, kind: str = "SecretStore", **provider: Any) -> StoreSpec:
    block: dict[str, Any] = {
        "service": service,
        "region": REGION,
        "auth": {
            "secretRef": {
                "accessKeyIDSecretRef": {"name": "awssm-secret", "key": "access-key"},
                "secretAccessKeySecretRef": {"name": "awssm-secret", "key": "secret-access-key"},
            }
        },
    }
    block.update(provider)
    return StoreSpec(
        kind=kind,
        name="aws",
        namespace="apps" if kind == "SecretStore" else None,
        controller="",
        provider_name="aws",
        provider=block,
        resource_version="1",
        uid="u",
    )


def _cluster() -> Cluster:
    cluster = Cluster()
    cluster.secrets[("apps", "awssm-secret")] = {
        "access-key": ACCESS_KEY.encode(),
        "secret-access-key": SECRET_KEY.encode(),
    }
    return cluster


def _client(cluster: Cluster | None = None, service: str = "SecretsManager", **provider: Any) -> AwsClient:
    return new_client((cluster or _cluster()).context(_store(service, **provider)))


FRIENDS = {
    "name": {"first": "Tom", "last": "Anderson"},
    "friends": [{"first": "Dale"}, {"first": "Roger"}],
    "a.b": "dot",
}


def test_secrets_manager_values_versions_and_properties(aws: MotoServer) -> None:
    sm = aws.client("secretsmanager")
    name = _name()
    sm.create_secret(Name=name, SecretString=json.dumps(FRIENDS))
    first = sm.describe_secret(SecretId=name)
    first_version = next(iter(first["VersionIdsToStages"]))
    sm.put_secret_value(SecretId=name, SecretString='{"n": 1.50, "s": "' + SECRET_VALUE + '", "o": {"k": 1}}')
    client = _client()
    assert client.get_secret(RemoteRef(key=name, property="s")) == SECRET_VALUE.encode()
    previous = RemoteRef(key=name, property="name.first", version="AWSPREVIOUS")
    assert client.get_secret(previous) == b"Tom"
    assert (
        client.get_secret(RemoteRef(key=name, property="friends.1.first", version=f"uuid/{first_version}")) == b"Roger"
    )
    assert client.get_secret(RemoteRef(key=name, property="a.b", version="AWSPREVIOUS")) == b"dot"  # escaped dots first
    assert client.get_secret_map(RemoteRef(key=name)) == {"n": b"1.50", "s": SECRET_VALUE.encode(), "o": b'{"k": 1}'}


def test_binary_secret(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretBinary=b"\x00\xffbinary")
    assert _client().get_secret(RemoteRef(key=name)) == b"\x00\xffbinary"


def test_memo_ten_entries_one_call(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps({f"k{i}": str(i) for i in range(10)}))
    cluster = _cluster()
    client = _client(cluster)
    memo: dict[str, object] = {}
    assert [client.get_secret(RemoteRef(key=name, property=f"k{i}"), memo) for i in range(10)] == [
        str(i).encode() for i in range(10)
    ]
    assert cluster.count("GetSecretValue") == 1


def test_metadata_fetch_is_the_tags(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="x", Tags=[{"Key": "dev", "Value": "alice"}])
    client = _client()
    assert client.get_secret(RemoteRef(key=name, metadata_policy="Fetch")) == b'{"dev":"alice"}'
    assert client.get_secret(RemoteRef(key=name, metadata_policy="Fetch", property="dev")) == b"alice"


def test_missing_and_scheduled_for_deletion_are_not_found(aws: MotoServer) -> None:
    client = _client()
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=_name()))
    name = _name()
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=name, SecretString="x")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=name))


def test_property_missing_and_malformed_json(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="{broken " + SECRET_VALUE)
    with pytest.raises(ProviderError) as caught:
        _client().get_secret(RemoteRef(key=name, property="user"))
    assert caught.value.message == f"key user does not exist in secret {name}"
    with pytest.raises(ProviderError) as extract:
        _client().get_secret_map(RemoteRef(key=name))
    assert SECRET_VALUE not in extract.value.message


def test_find_by_name_path_and_tag_pairs(aws: MotoServer) -> None:
    sm = aws.client("secretsmanager")
    base = _name()
    sm.create_secret(
        Name=f"{base}/db/creds",
        SecretString="1",
        Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "payments"}],
    )
    sm.create_secret(Name=f"{base}/db/replica", SecretString="2", Tags=[{"Key": "env", "Value": "payments"}])
    sm.create_secret(Name=f"{base}/cache", SecretString="3", Tags=[{"Key": "env", "Value": "prod"}])
    client = _client()
    assert client.get_all_secrets(FindSpec(name_regexp=f"^{base}/db/")) == {
        f"{base}/db/creds": b"1",
        f"{base}/db/replica": b"2",
    }
    assert client.get_all_secrets(FindSpec(path=f"{base}/db", name_regexp="creds")) == {f"{base}/db/creds": b"1"}
    # env=payments: the secret tagged env=prod, team=payments must not match (ESO's separate key/value filters would)
    assert client.get_all_secrets(FindSpec(path=base, tags={"env": "payments"})) == {f"{base}/db/replica": b"2"}
    with pytest.raises(ProviderError, match="unexpected find operator"):
        client.get_all_secrets(FindSpec(path=base))


def test_parameter_store(aws: MotoServer) -> None:
    ssm = aws.client("ssm")
    base = "/" + _name()
    ssm.put_parameter(Name=f"{base}/db/user", Value="u1", Type="String")
    ssm.put_parameter(Name=f"{base}/db/user", Value="u2", Type="String", Overwrite=True)
    ssm.put_parameter(
        Name=f"{base}/db/password", Value=SECRET_VALUE, Type="SecureString", Tags=[{"Key": "team", "Value": "db"}]
    )
    ssm.put_parameter(Name=f"{base}/json", Value=json.dumps(FRIENDS), Type="String")
    cluster = _cluster()
    client = _client(cluster, "ParameterStore")
    assert client.get_secret(RemoteRef(key=f"{base}/db/user")) == b"u2"
    assert client.get_secret(RemoteRef(key=f"{base}/db/user", version="1")) == b"u1"
    assert client.get_secret(RemoteRef(key=f"{base}/db/password")) == SECRET_VALUE.encode()  # decrypted
    assert client.get_secret(RemoteRef(key=f"{base}/json", property="friends.0.first")) == b"Dale"
    assert client.get_secret(RemoteRef(key=f"{base}/db/password", metadata_policy="Fetch")) == b'{"team":"db"}'
    assert client.get_all_secrets(FindSpec(path=base, name_regexp="db/")) == {
        f"{base}/db/user": b"u2",
        f"{base}/db/password": SECRET_VALUE.encode(),
    }
    assert client.get_all_secrets(FindSpec(path=base, tags={"team": "db"})) == {
        f"{base}/db/password": SECRET_VALUE.encode()
    }
    with pytest.raises(NoSecretError):
        client.get_secret(RemoteRef(key=f"{base}/absent"))


def test_role_chain_with_external_id(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="via-role")
    cluster = _cluster()
    client = _client(
        cluster,
        role="arn:aws:iam::123456789012:role/external-secrets",
        additionalRoles=["arn:aws:iam::123456789012:role/hop"],
        externalID="ext-1",
        sessionTags=[{"key": "team", "value": "a"}],
    )
    assert client.get_secret(RemoteRef(key=name)) == b"via-role"
    assert cluster.count("AssumeRole") == 2


def test_web_identity_from_the_service_account(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="irsa")
    cluster = Cluster()
    account = {
        "metadata": {
            "name": "app",
            "namespace": "apps",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/app"},
        }
    }
    store = _store(auth={"jwt": {"serviceAccountRef": {"name": "app"}}})
    ctx = cluster.context(store)
    ctx = type(ctx)(
        **{**ctx.__dict__, "get_service_account": lambda ns, n: account if (ns, n) == ("apps", "app") else None}
    )
    client = new_client(ctx)
    assert client.get_secret(RemoteRef(key=name)) == b"irsa"
    assert cluster.tokens == [("apps", "app", ("sts.amazonaws.com",), 600)]
    assert cluster.count("AssumeRoleWithWebIdentity") == 1


def test_missing_credential_key_names_the_secret_and_key(aws: MotoServer) -> None:
    cluster = Cluster()
    cluster.secrets[("apps", "awssm-secret")] = {"access-key": ACCESS_KEY.encode()}
    with pytest.raises(ProviderError) as caught:
        _client(cluster)
    assert caught.value.message == "cannot find secret data for key 'secret-access-key' in Secret apps/awssm-secret"


def test_server_down_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MotoServer(tmp_path / "moto") as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        server.client("secretsmanager").create_secret(Name="x", SecretString="1")
        client = _client()
        assert client.get_secret(RemoteRef(key="x")) == b"1"
        server.stop()
        with pytest.raises(ProviderError) as caught:
            client.get_secret(RemoteRef(key="x"))
        assert caught.value.kind == "unavailable"
        assert caught.value.message.startswith("aws: cannot reach SecretsManager in eu-central-1")


def test_referent_cluster_store_validation_is_unknown(aws: MotoServer) -> None:
    cluster = _cluster()
    cluster.secrets[("team-x", "awssm-secret")] = cluster.secrets[("apps", "awssm-secret")]
    client = new_client(cluster.context(_store(kind="ClusterSecretStore"), es_namespace="team-x"))
    assert client.validate() == "ValidationUnknown"
    assert _client().validate() == "Valid"
