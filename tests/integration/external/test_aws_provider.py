"""The AWS provider against moto's server: Secrets Manager, Parameter Store, auth paths, errors, find.

Every client here reaches moto through ESO's endpoint variables only (``AWS_SECRETSMANAGER_ENDPOINT``,
``AWS_SSM_ENDPOINT``, ``AWS_STS_ENDPOINT``); the controller scenarios use boto3's ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gitsecure.controller.external.model import FindSpec, RemoteRef, StoreSpec
from gitsecure.controller.external.providers.aws import AwsClient, new_client
from gitsecure.controller.external.providers.base import NoSecretError, ProviderError, StoreContext
from tests.integration.external.vault_world import Cluster
from tests.support.motoserver import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

SECRET_VALUE = "s3cr3t-" + secrets.token_hex(6)
ROLE = "arn:aws:iam::123456789012:role/external-secrets"
HOP = "arn:aws:iam::123456789012:role/hop"
CREDENTIALS = {"access-key": ACCESS_KEY.encode(), "secret-access-key": SECRET_KEY.encode()}
_AMBIENT = ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")


def _point_at(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.eso_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def aws(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """moto as the endpoint of every AWS client this test builds, through ESO's variables only."""
    _point_at(moto, monkeypatch)
    yield moto


def _name() -> str:
    return "t" + secrets.token_hex(4)


def _store(
    service: str = "SecretsManager", *, kind: str = "SecretStore", retry_max: int | None = None, **provider: Any
) -> StoreSpec:
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
        retry_max=retry_max,
        resource_version="1",
        uid="u",
    )


def _cluster(credentials: Mapping[str, bytes] = CREDENTIALS, namespace: str = "apps") -> Cluster:
    cluster = Cluster()
    cluster.secrets[(namespace, "awssm-secret")] = dict(credentials)
    return cluster


def _client(cluster: Cluster | None = None, service: str = "SecretsManager", **provider: Any) -> AwsClient:
    return new_client((cluster or _cluster()).context(_store(service, **provider)))


def _with_account(ctx: StoreContext, account: Mapping[str, Any]) -> StoreContext:
    meta = account["metadata"]
    return dataclasses.replace(
        ctx,
        get_service_account=lambda ns, n: account if (ns, n) == (meta["namespace"], meta["name"]) else None,
    )


def _error(action: Callable[[], object], *, kind: str, leaks: tuple[str, ...] = ()) -> ProviderError:
    """The ProviderError ``action`` raises, checked for its kind and for every value it must not carry."""
    with pytest.raises(ProviderError) as caught:
        action()
    message = caught.value.message
    assert caught.value.kind == kind, message
    for value in (SECRET_VALUE, SECRET_KEY, *leaks):
        assert value not in message
    assert "request id" not in message.lower()
    assert "Credential=" not in message
    return caught.value


FRIENDS = {
    "name": {"first": "Tom", "last": "Anderson"},
    "friends": [{"first": "Dale"}, {"first": "Roger"}],
    "a.b": "dot",
}


# -- Secrets Manager values ------------------------------------------------------------------------------


def test_secrets_manager_values_versions_and_properties(aws: MotoServer) -> None:
    sm = aws.client("secretsmanager")
    name = _name()
    sm.create_secret(Name=name, SecretString=json.dumps(FRIENDS))
    first_version = next(iter(sm.describe_secret(SecretId=name)["VersionIdsToStages"]))
    sm.put_secret_value(
        SecretId=name, SecretString='{"n": 1.50, "s": "' + SECRET_VALUE + '", "o": {"k": 1}, "z": null, "b": true}'
    )
    client = _client()
    assert client.get_secret(RemoteRef(key=name, property="s")) == SECRET_VALUE.encode()
    assert client.get_secret(RemoteRef(key=name, property="n")) == b"1.5"  # gjson's String() of a non-integer
    assert client.get_secret(RemoteRef(key=name, property="name.first", version="AWSPREVIOUS")) == b"Tom"
    by_id = RemoteRef(key=name, property="friends.1.first", version=f"uuid/{first_version}")
    assert client.get_secret(by_id) == b"Roger"
    # A top-level key with a dot wins over the path (ESO escapes the dots first).
    assert client.get_secret(RemoteRef(key=name, property="a.b", version="AWSPREVIOUS")) == b"dot"
    assert client.get_secret_map(RemoteRef(key=name)) == {
        "n": b"1.50",
        "s": SECRET_VALUE.encode(),
        "o": b'{"k": 1}',
        "z": b"null",
        "b": b"true",
    }
    _error(lambda: client.get_secret(RemoteRef(key=name, version="uuid/" + "0" * 32)), kind="not-found")


def test_binary_secret(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretBinary=b"\x00\xffbinary")
    assert _client().get_secret(RemoteRef(key=name)) == b"\x00\xffbinary"


def test_memo_ten_entries_one_call_per_reconcile(aws: MotoServer) -> None:
    name = _name()
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=json.dumps({f"k{i}": str(i) for i in range(10)}))
    cluster = _cluster()
    client = _client(cluster)
    memo: dict[str, object] = {}
    assert [client.get_secret(RemoteRef(key=name, property=f"k{i}"), memo) for i in range(10)] == [
        str(i).encode() for i in range(10)
    ]
    assert client.get_secret_map(RemoteRef(key=name), memo)["k3"] == b"3"
    assert cluster.count("GetSecretValue") == 1
    # Tags live in their own slot; the next reconcile (a new memo) sees a rotated value.
    assert client.get_secret(RemoteRef(key=name, metadata_policy="Fetch"), memo) == b"{}"
    sm.put_secret_value(SecretId=name, SecretString='{"k0": "rotated"}')
    assert client.get_secret(RemoteRef(key=name, property="k0"), {}) == b"rotated"
    assert cluster.count("GetSecretValue") == 2
    assert cluster.count("DescribeSecret") == 1


def test_metadata_fetch_is_the_tags(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(
        Name=name, SecretString=SECRET_VALUE, Tags=[{"Key": "dev", "Value": "alice"}, {"Key": "team", "Value": "a"}]
    )
    client = _client()
    assert json.loads(client.get_secret(RemoteRef(key=name, metadata_policy="Fetch"))) == {"dev": "alice", "team": "a"}
    assert client.get_secret(RemoteRef(key=name, metadata_policy="Fetch", property="dev")) == b"alice"


def test_missing_and_scheduled_for_deletion_are_not_found(aws: MotoServer) -> None:
    client = _client()
    missing = _name()
    error = _error(lambda: client.get_secret(RemoteRef(key=missing)), kind="not-found")
    assert isinstance(error, NoSecretError)
    assert error.message == f"aws: secret {missing} does not exist"
    name = _name()
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=name, SecretString=SECRET_VALUE)
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert isinstance(_error(lambda: client.get_secret(RemoteRef(key=name)), kind="not-found"), NoSecretError)


def test_property_missing_and_malformed_json(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="{broken " + SECRET_VALUE)
    error = _error(lambda: _client().get_secret(RemoteRef(key=name, property="user")), kind="invalid")
    assert error.message == f"key user does not exist in secret {name}"
    _error(lambda: _client().get_secret_map(RemoteRef(key=name)), kind="invalid")


def test_prefix_applies_to_keys_and_tags_not_to_find(aws: MotoServer) -> None:
    base = _name()
    sm = aws.client("secretsmanager")
    sm.create_secret(Name=f"{base}/db", SecretString="v", Tags=[{"Key": "t", "Value": base}])
    client = _client(prefix=f"{base}/")
    assert client.get_secret(RemoteRef(key="db")) == b"v"
    assert client.get_secret(RemoteRef(key="db", metadata_policy="Fetch", property="t")) == base.encode()
    # find results are keyed by the full remote names, as in ESO
    assert client.get_all_secrets(FindSpec(name_regexp=f"^{base}/")) == {f"{base}/db": b"v"}
    assert client.get_all_secrets(FindSpec(tags={"t": base})) == {f"{base}/db": b"v"}


# -- Secrets Manager find ----------------------------------------------------------------------------------


def _seed_find(aws: MotoServer) -> str:
    """Secrets under a fresh base name whose tag values end with it (the server is shared by the worker)."""
    sm = aws.client("secretsmanager")
    base = _name()
    sm.create_secret(
        Name=f"{base}/db/creds",
        SecretString="1",
        Tags=[{"Key": "env", "Value": f"prod-{base}"}, {"Key": "team", "Value": f"payments-{base}"}],
    )
    sm.create_secret(Name=f"{base}/db/replica", SecretString="2", Tags=[{"Key": "env", "Value": f"payments-{base}"}])
    sm.create_secret(Name=f"{base}/cache", SecretBinary=b"\x003", Tags=[{"Key": "env", "Value": f"prod-{base}"}])
    sm.create_secret(Name=f"{base}/gone", SecretString="4", Tags=[{"Key": "env", "Value": f"prod-{base}"}])
    sm.delete_secret(SecretId=f"{base}/gone", RecoveryWindowInDays=7)
    return base


def test_find_by_name_lists_and_reads_each_match(aws: MotoServer) -> None:
    base = _seed_find(aws)
    cluster = _cluster()
    client = _client(cluster)
    assert client.get_all_secrets(FindSpec(name_regexp=f"^{base}/db/")) == {
        f"{base}/db/creds": b"1",
        f"{base}/db/replica": b"2",
    }
    assert cluster.count("ListSecrets") >= 1
    assert cluster.count("GetSecretValue") == 2
    assert cluster.count("BatchGetSecretValue") == 0


def test_find_by_name_under_a_path_batches(aws: MotoServer) -> None:
    base = _seed_find(aws)
    cluster = _cluster()
    client = _client(cluster)
    assert client.get_all_secrets(FindSpec(path=f"{base}/", name_regexp="creds|cache|gone")) == {
        f"{base}/db/creds": b"1",
        f"{base}/cache": b"\x003",
    }
    assert cluster.count("BatchGetSecretValue") == 1
    assert cluster.count("GetSecretValue") == 0


def test_find_by_tags_checks_key_value_pairs(aws: MotoServer) -> None:
    base = _seed_find(aws)
    cluster = _cluster()
    client = _client(cluster)
    prod, payments = f"prod-{base}", f"payments-{base}"
    # env=payments: AWS's separate tag-key/tag-value filters also match creds (env=prod, team=payments); ESO
    # would sync it, this provider checks the pair.
    assert client.get_all_secrets(FindSpec(tags={"env": payments})) == {f"{base}/db/replica": b"2"}
    assert client.get_all_secrets(FindSpec(path=base, tags={"env": prod, "team": payments})) == {
        f"{base}/db/creds": b"1"
    }
    assert cluster.count("BatchGetSecretValue") == 2
    assert client.get_all_secrets(FindSpec(path=base, tags={"env": prod})) == {
        f"{base}/db/creds": b"1",
        f"{base}/cache": b"\x003",
    }
    # name and tags without a path: listed, pairs checked, then read one by one
    reads = cluster.count("GetSecretValue")
    assert client.get_all_secrets(FindSpec(name_regexp="db/", tags={"env": prod})) == {f"{base}/db/creds": b"1"}
    assert cluster.count("GetSecretValue") == reads + 1
    assert client.get_all_secrets(FindSpec(tags={"env": base})) == {}


def test_find_operator_errors(aws: MotoServer) -> None:
    client = _client()
    assert _error(lambda: client.get_all_secrets(FindSpec(path="x")), kind="invalid").message == (
        "aws: unexpected find operator"
    )
    _error(lambda: client.get_all_secrets(FindSpec(name_regexp="(")), kind="invalid")


# -- Parameter Store ---------------------------------------------------------------------------------------


def _seed_parameters(aws: MotoServer) -> str:
    ssm = aws.client("ssm")
    base = "/" + _name()
    ssm.put_parameter(Name=f"{base}/db/user", Value="u1", Type="String", Tags=[{"Key": "team", "Value": "app"}])
    ssm.put_parameter(Name=f"{base}/db/user", Value="u2", Type="String", Overwrite=True)
    ssm.put_parameter(
        Name=f"{base}/db/password", Value=SECRET_VALUE, Type="SecureString", Tags=[{"Key": "team", "Value": "db"}]
    )
    ssm.put_parameter(Name=f"{base}/json", Value=json.dumps(FRIENDS), Type="String")
    ssm.put_parameter(Name=f"{base}/list", Value="a,b", Type="StringList", Tags=[{"Key": "team", "Value": "db"}])
    return base


def test_parameter_store_values(aws: MotoServer) -> None:
    base = _seed_parameters(aws)
    cluster = _cluster()
    client = _client(cluster, "ParameterStore")
    assert client.get_secret(RemoteRef(key=f"{base}/db/user")) == b"u2"
    assert client.get_secret(RemoteRef(key=f"{base}/db/user", version="1")) == b"u1"
    assert client.get_secret(RemoteRef(key=f"{base}/db/password")) == SECRET_VALUE.encode()  # decrypted
    assert client.get_secret(RemoteRef(key=f"{base}/list")) == b"a,b"
    assert client.get_secret(RemoteRef(key=f"{base}/json", property="friends.0.first")) == b"Dale"
    assert client.get_secret(RemoteRef(key=f"{base}/json", property="a.b")) == b"dot"
    assert client.get_secret_map(RemoteRef(key=f"{base}/json"))["name"] == b'{"first": "Tom", "last": "Anderson"}'
    assert client.get_secret(RemoteRef(key=f"{base}/db/password", metadata_policy="Fetch")) == b'{"team":"db"}'
    assert cluster.count("ListTagsForResource") == 1
    assert isinstance(
        _error(lambda: client.get_secret(RemoteRef(key=f"{base}/absent")), kind="not-found"), NoSecretError
    )
    _error(lambda: client.get_secret(RemoteRef(key=f"{base}/db/user", version="9")), kind="not-found")
    # Parameter Store reads are not memoized (as in ESO)
    memo: dict[str, object] = {}
    calls = cluster.count("GetParameter")
    client.get_secret(RemoteRef(key=f"{base}/db/user"), memo)
    client.get_secret(RemoteRef(key=f"{base}/db/user"), memo)
    assert cluster.count("GetParameter") == calls + 2


def test_parameter_store_find(aws: MotoServer) -> None:
    base = _seed_parameters(aws)
    cluster = _cluster()
    client = _client(cluster, "ParameterStore", prefix="/ignored-by-find")
    assert client.get_all_secrets(FindSpec(path=base, name_regexp="db/")) == {
        f"{base}/db/user": b"u2",
        f"{base}/db/password": SECRET_VALUE.encode(),
    }
    assert cluster.count("GetParametersByPath") >= 1
    assert client.get_all_secrets(FindSpec(path=base, tags={"team": "db"})) == {
        f"{base}/db/password": SECRET_VALUE.encode(),
        f"{base}/list": b"a,b",
    }
    assert cluster.count("DescribeParameters") >= 1
    # name wins over tags (as in ESO)
    assert client.get_all_secrets(FindSpec(path=base, name_regexp="json$", tags={"team": "db"})) == {
        f"{base}/json": json.dumps(FRIENDS).encode()
    }


# -- credentials --------------------------------------------------------------------------------------------


def test_credentials_from_the_right_namespace(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="ok")
    # ClusterSecretStore: the ref's own namespace, else the ExternalSecret's (referent auth)
    pinned = _store(
        kind="ClusterSecretStore",
        auth={
            "secretRef": {
                "accessKeyIDSecretRef": {"name": "awssm-secret", "key": "access-key", "namespace": "creds"},
                "secretAccessKeySecretRef": {"name": "awssm-secret", "key": "secret-access-key", "namespace": "creds"},
            }
        },
    )
    client = new_client(_cluster(namespace="creds").context(pinned, es_namespace="team-x"))
    assert client.get_secret(RemoteRef(key=name)) == b"ok"
    assert client.validate() == "Valid"
    referent = new_client(_cluster(namespace="team-x").context(_store(kind="ClusterSecretStore"), "team-x"))
    assert referent.get_secret(RemoteRef(key=name)) == b"ok"
    assert referent.validate() == "ValidationUnknown"
    # SecretStore: always the store's namespace, never the ExternalSecret's
    with pytest.raises(ProviderError):
        new_client(_cluster(namespace="team-x").context(_store(), es_namespace="team-x"))


def test_missing_credential_key_is_an_auth_error_naming_it(aws: MotoServer) -> None:
    cluster = _cluster({"access-key": ACCESS_KEY.encode()})
    error = _error(lambda: _client(cluster), kind="auth")
    assert "apps/awssm-secret" in error.message
    assert "secret-access-key" in error.message
    missing_secret = _error(lambda: _client(Cluster()), kind="auth")
    assert "apps/awssm-secret" in missing_secret.message


def test_role_chain_with_external_id_and_session_tags(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="via-role")
    cluster = _cluster()
    external = "ext-" + secrets.token_hex(4)
    client = _client(
        cluster,
        role=ROLE,
        additionalRoles=[HOP],
        externalID=external,
        sessionTags=[{"key": "team", "value": "a"}],
        transitiveTagKeys=["team"],
    )
    assert client.get_secret(RemoteRef(key=name)) == b"via-role"
    assert cluster.count("AssumeRole") == 2
    assumed = [(r["role_arn"], r["external_id"]) for r in aws.data()["sts"]["AssumedRole"]]
    # additionalRoles first, then role; the external id goes to role only (as in ESO)
    assert assumed[-2:] == [(HOP, None), (ROLE, external)]
    assert client.validate() == "Valid"


def test_additional_roles_alone_take_no_external_id(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="hop")
    hop = f"{HOP}-{secrets.token_hex(3)}"
    client = _client(additionalRoles=[hop], externalID="ignored-without-role")
    assert client.get_secret(RemoteRef(key=name)) == b"hop"
    assert [(r["role_arn"], r["external_id"]) for r in aws.data()["sts"]["AssumedRole"] if r["role_arn"] == hop] == [
        (hop, None)
    ]


def test_web_identity_from_the_service_account(aws: MotoServer) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="irsa")
    role = f"arn:aws:iam::123456789012:role/app-{secrets.token_hex(3)}"
    account = {"metadata": {"name": "app", "namespace": "apps", "annotations": {"eks.amazonaws.com/role-arn": role}}}
    cluster = Cluster()
    store = _store(auth={"jwt": {"serviceAccountRef": {"name": "app", "audiences": ["extra"]}}})
    client = new_client(_with_account(cluster.context(store), account))
    assert client.get_secret(RemoteRef(key=name)) == b"irsa"
    assert cluster.tokens == [("apps", "app", ("sts.amazonaws.com", "extra"), 600)]
    assert cluster.count("AssumeRoleWithWebIdentity") == 1
    assert role in [r["role_arn"] for r in aws.data()["sts"]["AssumedRole"]]
    # then a role on top of the web identity
    chained = new_client(_with_account(cluster.context(_store(auth=store.provider["auth"], role=ROLE)), account))
    assert chained.get_secret(RemoteRef(key=name)) == b"irsa"
    assert cluster.count("AssumeRole") == 1
    plain = {"metadata": {"name": "app", "namespace": "apps"}}
    error = _error(lambda: new_client(_with_account(cluster.context(store), plain)), kind="auth")
    assert "apps/app" in error.message
    assert "eks.amazonaws.com/role-arn" in error.message


def test_ambient_credentials(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _name()
    aws.client("secretsmanager").create_secret(Name=name, SecretString="ambient")
    store = _store(auth={})
    no_credentials = new_client(Cluster().context(store))
    _error(no_credentials.validate, kind="auth")
    _error(lambda: no_credentials.get_secret(RemoteRef(key=name)), kind="auth")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    client = new_client(Cluster().context(store))
    assert client.validate() == "Valid"
    assert client.get_secret(RemoteRef(key=name)) == b"ambient"


def test_unsupported_store_settings(aws: MotoServer) -> None:
    _error(lambda: _client(service="CertificateManager"), kind="invalid")
    _error(lambda: _client(region=""), kind="invalid")


# -- errors from a server that enforces IAM, and from a stopped one --------------------------------------------


@pytest.fixture
def iam_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A server of the test's own that checks signatures and IAM policies."""
    with MotoServer(tmp_path / "moto", enforce_iam=True) as server:
        _point_at(server, monkeypatch)
        yield server


def test_denied_and_rejected_credentials(iam_moto: MotoServer) -> None:
    sm, ssm = iam_moto.admin_client("secretsmanager"), iam_moto.admin_client("ssm")
    sm.create_secret(Name="app/db", SecretString=SECRET_VALUE)
    ssm.put_parameter(Name="/app/db/password", Value=SECRET_VALUE, Type="SecureString")
    ssm.put_parameter(Name="/app/other", Value="o", Type="String")
    nobody = iam_moto.iam_user("nobody")
    # may describe and read parameters but not call GetParametersByPath: ESO's fallback for find by name
    reader = iam_moto.iam_user(
        "reader",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["ssm:DescribeParameters", "ssm:GetParameter"], "Resource": "*"}
            ],
        },
    )

    def keys(pair: tuple[str, str]) -> Cluster:
        return _cluster({"access-key": pair[0].encode(), "secret-access-key": pair[1].encode()})

    leaks = (nobody[1], reader[1])
    denied = _error(lambda: _client(keys(nobody)).get_secret(RemoteRef(key="app/db")), kind="permission", leaks=leaks)
    assert denied.message.startswith("aws: access denied reading secret app/db: ")
    assert "secretsmanager:GetSecretValue" in denied.message
    wrong = keys((nobody[0], "not-the-secret-key-" + secrets.token_hex(4)))
    rejected = _error(lambda: _client(wrong).get_secret(RemoteRef(key="app/db")), kind="auth", leaks=leaks)
    assert rejected.message.startswith("aws: credentials rejected reading secret app/db: SignatureDoesNotMatch")
    unknown = _cluster({"access-key": b"AKIDUNKNOWN000000000", "secret-access-key": b"whatever-it-is"})
    _error(lambda: _client(unknown, "ParameterStore").get_secret(RemoteRef(key="/app/other")), kind="auth")

    cluster = keys(reader)
    parameters = _client(cluster, "ParameterStore")
    assert parameters.get_all_secrets(FindSpec(path="/app", name_regexp="db/")) == {
        "/app/db/password": SECRET_VALUE.encode()
    }
    assert cluster.count("GetParametersByPath", "error") == 1
    assert cluster.count("DescribeParameters") >= 1
    no_find = _client(keys(nobody), "ParameterStore")
    _error(lambda: no_find.get_all_secrets(FindSpec(tags={"team": "x"})), kind="permission", leaks=leaks)
    _error(lambda: _client(keys(nobody)).get_all_secrets(FindSpec(name_regexp="app")), kind="permission", leaks=leaks)


def test_server_down_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with MotoServer(tmp_path / "moto") as server:
        _point_at(server, monkeypatch)
        server.client("secretsmanager").create_secret(Name="x", SecretString=SECRET_VALUE)
        cluster = _cluster()
        client = new_client(cluster.context(_store(retry_max=0)))
        assert client.get_secret(RemoteRef(key="x")) == SECRET_VALUE.encode()
        server.stop()
        error = _error(lambda: client.get_secret(RemoteRef(key="x")), kind="unavailable")
        assert error.message.startswith("aws: cannot reach SecretsManager in eu-central-1")
        assert cluster.count("GetSecretValue", "error") == 1
        role_error = _error(lambda: _client(role=ROLE), kind="unavailable")
        assert ROLE in role_error.message
