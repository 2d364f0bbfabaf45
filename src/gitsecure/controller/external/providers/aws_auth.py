"""AWS credentials for a store: static keys from a Secret, assumed roles, web identity, or the pod's own.

Built once per store revision and reused: assumed-role credentials are refreshed by botocore before they
expire (a refreshable credentials object), so a thousand ExternalSecrets do not cost a thousand STS calls.
Endpoints follow boto3's ``AWS_ENDPOINT_URL*`` variables and ESO's ``AWS_SECRETSMANAGER_ENDPOINT``,
``AWS_SSM_ENDPOINT`` and ``AWS_STS_ENDPOINT``. No key, token or session credential is ever logged.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

from gitsecure.controller.external.providers.base import ProviderError, StoreContext

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience"
SESSION_NAME = "external-secrets-provider-aws"
ESO_ENDPOINTS = {"secretsmanager": "AWS_SECRETSMANAGER_ENDPOINT", "ssm": "AWS_SSM_ENDPOINT", "sts": "AWS_STS_ENDPOINT"}


def endpoint(service: str) -> str | None:
    """ESO's endpoint variable for ``service`` (boto3 reads its own ``AWS_ENDPOINT_URL*`` itself)."""
    return os.environ.get(ESO_ENDPOINTS.get(service, "")) or None


def client_config(store_retry: int | None) -> botocore.config.Config:
    """Short timeouts and a bounded retry count (``retrySettings.maxRetries``, default 3)."""
    attempts = 3 if store_retry is None else store_retry
    return botocore.config.Config(
        connect_timeout=5, read_timeout=15, retries={"max_attempts": attempts, "mode": "standard"}
    )


def _key(ctx: StoreContext, ref: object, what: str) -> str:
    if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
        raise ProviderError(f"aws: auth.secretRef.{what} needs a Secret name and key", kind="invalid")
    return ctx.read_secret(ctx.namespace_of(ref), str(ref["name"]), str(ref["key"])).decode().strip()


def base_session(ctx: StoreContext, region: str) -> boto3.Session:
    """The session before any role: static keys, web identity, or the SDK's default chain."""
    auth = ctx.store.provider.get("auth") or {}
    secret_ref = auth.get("secretRef")
    if isinstance(secret_ref, Mapping):
        token_ref = secret_ref.get("sessionTokenSecretRef")
        return boto3.Session(
            aws_access_key_id=_key(ctx, secret_ref.get("accessKeyIDSecretRef"), "accessKeyIDSecretRef"),
            aws_secret_access_key=_key(ctx, secret_ref.get("secretAccessKeySecretRef"), "secretAccessKeySecretRef"),
            aws_session_token=_key(ctx, token_ref, "sessionTokenSecretRef") if token_ref else None,
            region_name=region,
        )
    jwt = auth.get("jwt")
    if isinstance(jwt, Mapping) and isinstance(jwt.get("serviceAccountRef"), Mapping):
        return _web_identity_session(ctx, jwt["serviceAccountRef"], region)
    return boto3.Session(region_name=region)


def _web_identity_session(ctx: StoreContext, account: Mapping[str, Any], region: str) -> boto3.Session:
    namespace, name = ctx.namespace_of(account), str(account.get("name") or "")
    found = ctx.get_service_account(namespace, name)
    if found is None:
        raise ProviderError(f"aws: service account {namespace}/{name} not found", kind="auth")
    annotations = (found.get("metadata") or {}).get("annotations") or {}
    role = str(annotations.get(ROLE_ANNOTATION) or "")
    if not role:
        raise ProviderError(f"aws: service account {namespace}/{name} has no {ROLE_ANNOTATION} annotation", kind="auth")
    audiences = tuple(
        str(a) for a in account.get("audiences") or [annotations.get(AUDIENCE_ANNOTATION) or "sts.amazonaws.com"]
    )

    def fetch() -> dict[str, Any]:
        token = ctx.request_token(namespace, name, audiences, 600)
        sts = boto3.client("sts", region_name=region, endpoint_url=endpoint("sts"))
        answer = _call(
            ctx,
            "AWS/STS",
            "AssumeRoleWithWebIdentity",
            lambda: sts.assume_role_with_web_identity(
                RoleArn=role, RoleSessionName=SESSION_NAME, WebIdentityToken=token
            ),
        )
        return _metadata(answer["Credentials"])

    return _refreshable(fetch, region)


def assume_chain(ctx: StoreContext, session: boto3.Session, region: str, retries: int | None) -> boto3.Session:
    """``additionalRoles`` in order, then ``role``; each step's credentials refresh themselves."""
    provider = ctx.store.provider
    roles = [str(r) for r in provider.get("additionalRoles") or []]
    if provider.get("role"):
        roles.append(str(provider["role"]))
    for index, role in enumerate(roles):
        last = index == len(roles) - 1
        session = _assumed(
            ctx,
            session,
            role,
            region,
            retries,
            external_id=str(provider.get("externalID") or "") if last else "",
            tags=provider.get("sessionTags") or [] if last else [],
        )
    return session


def _assumed(  # noqa: PLR0917 - one STS AssumeRole call's parameters
    ctx: StoreContext,
    source: boto3.Session,
    role: str,
    region: str,
    retries: int | None,
    external_id: str,
    tags: list[Any],
) -> boto3.Session:
    def fetch() -> dict[str, Any]:
        sts = source.client("sts", region_name=region, endpoint_url=endpoint("sts"), config=client_config(retries))
        options: dict[str, Any] = {"RoleArn": role, "RoleSessionName": SESSION_NAME}
        if external_id:
            options["ExternalId"] = external_id
        if tags:
            options["Tags"] = [{"Key": str(t.get("key")), "Value": str(t.get("value"))} for t in tags]
        answer = _call(ctx, "AWS/STS", "AssumeRole", lambda: sts.assume_role(**options))
        return _metadata(answer["Credentials"])

    return _refreshable(fetch, region)


def _metadata(credentials: Mapping[str, Any]) -> dict[str, Any]:
    expiry = credentials["Expiration"]
    if isinstance(expiry, dt.datetime):
        expiry = expiry.astimezone(dt.UTC).isoformat()
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
        "expiry_time": str(expiry),
    }


def _refreshable(fetch: Callable[[], dict[str, Any]], region: str) -> boto3.Session:
    credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = botocore.session.get_session()
    core._credentials = credentials  # botocore has no public setter for a session's credential object
    core.set_config_variable("region", region)
    return boto3.Session(botocore_session=core)


def _call(ctx: StoreContext, provider: str, call: str, action: Callable[[], Any]) -> Any:
    try:
        answer = action()
    except botocore.exceptions.ClientError as exc:
        ctx.counter(provider, call, "error")
        code = str(exc.response.get("Error", {}).get("Code") or "")
        raise ProviderError(f"aws: {call} failed: {code or 'error'}", kind="auth") from None
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        ctx.counter(provider, call, "error")
        raise ProviderError(f"aws: {call} failed: {type(exc).__name__}", kind="unavailable") from None
    ctx.counter(provider, call, "success")
    return answer
