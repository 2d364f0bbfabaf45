"""AWS credentials for a store: static keys from a Secret, assumed roles, web identity, or the pod's own.

Built once per store revision and reused: assumed-role and web-identity credentials are refreshable
(botocore re-assumes them before they expire), so a thousand ExternalSecrets do not cost a thousand STS calls.
Endpoints follow boto3's ``AWS_ENDPOINT_URL*`` variables and ESO's ``AWS_SECRETSMANAGER_ENDPOINT``,
``AWS_SSM_ENDPOINT`` and ``AWS_STS_ENDPOINT``. No key, token or session credential is ever logged or put in
an error message.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import boto3
import botocore
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

from gitsecure.controller.external.providers.base import ProviderError, StoreContext

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
SESSION_NAME = "external-secrets-provider-aws"
TOKEN_SECONDS = 600
DEFAULT_RETRIES = 3
ESO_ENDPOINTS = {"secretsmanager": "AWS_SECRETSMANAGER_ENDPOINT", "ssm": "AWS_SSM_ENDPOINT", "sts": "AWS_STS_ENDPOINT"}
STS_LABEL = "AWS/STS"

# ESO's SanitizeErr strips these so a condition's text does not change on every retry; the ARN of an assumed-role
# session carries the session name, which is per caller.
_SCRUB = re.compile(r"(request id: \S+| ?Credential=.*$|arn:aws:sts::\d+:assumed-role/\S+)", re.I)
# A Query-style XML error body answering a JSON-protocol call (moto does this; so do some proxies): botocore
# then reports the HTTP status as the code and the whole body as the message.
_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_BAD_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidIdentityToken",
    "IDPRejectedClaim",
}


def sanitize(text: str) -> str:
    """An AWS error message without request ids, credential scopes or session ARNs, on one short line."""
    return " ".join(_SCRUB.sub("", text).split()).strip(" ,;")[:300]


def error_parts(exc: botocore.exceptions.ClientError) -> tuple[str, str]:
    """``(code, sanitized message)`` of a client error, also when the body was Query-style XML."""
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
    if (not code or code.isdigit()) and (found := _XML_CODE.search(message)):
        code = found.group(1)
        inner = _XML_MESSAGE.search(message)
        message = inner.group(1) if inner else ""
    return code, sanitize(message)


def bad_credentials(code: str) -> bool:
    """The request was refused because of who signed it, not what it asked for."""
    return code in _BAD_CREDENTIALS


def endpoint(service: str) -> str | None:
    """ESO's endpoint variable for ``service`` (boto3 reads its own ``AWS_ENDPOINT_URL*`` itself)."""
    return os.environ.get(ESO_ENDPOINTS.get(service, "")) or None


def client_config(store_retry: int | None, *, unsigned: bool = False) -> botocore.config.Config:
    """Short timeouts and a bounded retry count (``retrySettings.maxRetries``, default 3).

    botocore's ``max_attempts`` counts retries after the first attempt, like ``maxRetries``.
    """
    retries = DEFAULT_RETRIES if store_retry is None else store_retry
    options: dict[str, Any] = {
        "connect_timeout": 5,
        "read_timeout": 5,
        "retries": {"max_attempts": retries, "mode": "standard"},
    }
    if unsigned:
        options["signature_version"] = botocore.UNSIGNED
    return botocore.config.Config(**options)


def store_session(ctx: StoreContext, region: str) -> boto3.Session:
    """The session every call of the store's client signs with: base credentials, then the role chain."""
    return assume_chain(ctx, base_session(ctx, region), region, ctx.store.retry_max)


def _key(ctx: StoreContext, ref: object, what: str) -> str:
    if not isinstance(ref, Mapping) or not ref.get("name") or not ref.get("key"):
        raise ProviderError(f"aws: auth.secretRef.{what} needs a Secret name and key", kind="invalid")
    namespace, name, key = ctx.namespace_of(ref), str(ref["name"]), str(ref["key"])
    try:
        raw = ctx.read_secret(namespace, name, key)
    except ProviderError as exc:
        # A missing Secret or key means the store cannot authenticate, whatever the cluster read calls it.
        raise ProviderError(f"aws: cannot read auth.secretRef.{what}: {exc.message}", kind="auth") from None
    try:
        return raw.decode().strip()
    except UnicodeDecodeError:
        raise ProviderError(
            f"aws: auth.secretRef.{what} (Secret {namespace}/{name}, key {key}) is not UTF-8 text", kind="auth"
        ) from None


def base_session(ctx: StoreContext, region: str) -> boto3.Session:
    """The session before any role: static keys, web identity, or the SDK's default chain."""
    auth = ctx.store.provider.get("auth") or {}
    jwt = auth.get("jwt")
    # ESO tries web identity first when both are given.
    if isinstance(jwt, Mapping) and isinstance(jwt.get("serviceAccountRef"), Mapping):
        return _web_identity_session(ctx, jwt["serviceAccountRef"], region)
    secret_ref = auth.get("secretRef")
    if isinstance(secret_ref, Mapping):
        token_ref = secret_ref.get("sessionTokenSecretRef")
        return boto3.Session(
            aws_access_key_id=_key(ctx, secret_ref.get("accessKeyIDSecretRef"), "accessKeyIDSecretRef"),
            aws_secret_access_key=_key(ctx, secret_ref.get("secretAccessKeySecretRef"), "secretAccessKeySecretRef"),
            aws_session_token=_key(ctx, token_ref, "sessionTokenSecretRef") if token_ref else None,
            region_name=region,
        )
    return boto3.Session(region_name=region)


def _web_identity_session(ctx: StoreContext, account: Mapping[str, Any], region: str) -> boto3.Session:
    namespace, name = ctx.namespace_of(account), str(account.get("name") or "")
    found = ctx.get_service_account(namespace, name)
    if found is None:
        raise ProviderError(f"aws: service account {namespace}/{name} not found", kind="auth")
    annotations = (found.get("metadata") or {}).get("annotations") or {}
    role = str(annotations.get(ROLE_ANNOTATION) or "")
    if not role:
        raise ProviderError(
            f"aws: an IAM role must be associated with service account {namespace}/{name} ({ROLE_ANNOTATION})",
            kind="auth",
        )
    # ESO: the annotation's audience (or STS's), then the store's extra audiences.
    audiences: tuple[str, ...] = (str(annotations.get(AUDIENCE_ANNOTATION) or DEFAULT_AUDIENCE),)
    audiences += tuple(str(a) for a in account.get("audiences") or [])
    # AssumeRoleWithWebIdentity is unsigned: the token is the credential, so ambient keys are neither needed
    # nor sent.
    sts = boto3.Session(region_name=region).client(
        "sts", endpoint_url=endpoint("sts"), config=client_config(ctx.store.retry_max, unsigned=True)
    )

    def fetch() -> dict[str, Any]:
        token = ctx.request_token(namespace, name, audiences, TOKEN_SECONDS)
        answer = _sts_call(
            ctx,
            "AssumeRoleWithWebIdentity",
            role,
            lambda: sts.assume_role_with_web_identity(
                RoleArn=role, RoleSessionName=SESSION_NAME, WebIdentityToken=token
            ),
        )
        return _metadata(answer["Credentials"])

    return _refreshable(fetch, region)


def assume_chain(ctx: StoreContext, session: boto3.Session, region: str, retries: int | None) -> boto3.Session:
    """``additionalRoles`` in order, then ``role``; each step signs with the previous step's credentials.

    As in ESO, ``externalID``, ``sessionTags`` and ``transitiveTagKeys`` apply to ``role`` only.
    """
    provider = ctx.store.provider
    for hop in provider.get("additionalRoles") or []:
        session = _assumed(ctx, session, str(hop), region, retries, {})
    role = str(provider.get("role") or "")
    if not role:
        return session
    options: dict[str, Any] = {}
    if provider.get("externalID"):
        options["ExternalId"] = str(provider["externalID"])
    tags = [t for t in provider.get("sessionTags") or [] if isinstance(t, Mapping)]
    if tags:
        options["Tags"] = [{"Key": str(t.get("key") or ""), "Value": str(t.get("value") or "")} for t in tags]
        if provider.get("transitiveTagKeys"):
            options["TransitiveTagKeys"] = [str(k) for k in provider["transitiveTagKeys"]]
    return _assumed(ctx, session, role, region, retries, options)


def _assumed(  # noqa: PLR0917 - one AssumeRole step: who signs, which role, where, and its options
    ctx: StoreContext,
    source: boto3.Session,
    role: str,
    region: str,
    retries: int | None,
    options: Mapping[str, Any],
) -> boto3.Session:
    sts = source.client("sts", region_name=region, endpoint_url=endpoint("sts"), config=client_config(retries))

    def fetch() -> dict[str, Any]:
        answer = _sts_call(
            ctx,
            "AssumeRole",
            role,
            lambda: sts.assume_role(RoleArn=role, RoleSessionName=SESSION_NAME, **options),
        )
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


class _Given(botocore.credentials.CredentialProvider):  # type: ignore[misc]  # botocore is untyped
    """A credential chain of one: the refreshable credentials built here."""

    METHOD = "gitsecure-assumed-role"

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        super().__init__()
        self._given = credentials

    def load(self) -> botocore.credentials.Credentials:
        return self._given


def _refreshable(fetch: Callable[[], dict[str, Any]], region: str) -> boto3.Session:
    # The first fetch happens now, so a refused role surfaces when the client is built (store validation);
    # later ones run inside an API call once the credentials are within botocore's refresh window.
    credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method=_Given.METHOD
    )
    core = botocore.session.Session()
    core.register_component("credential_provider", botocore.credentials.CredentialResolver([_Given(credentials)]))
    core.set_config_variable("region", region)
    return boto3.Session(botocore_session=core)


def _sts_call(ctx: StoreContext, call: str, role: str, action: Callable[[], Any]) -> Any:
    try:
        answer = action()
    except botocore.exceptions.ClientError as exc:
        ctx.counter(STS_LABEL, call, "error")
        code, message = error_parts(exc)
        # Whatever STS refuses (trust policy, external id, token), the store cannot authenticate.
        detail = f"{code}: {message}" if message else code or "error"
        raise ProviderError(f"aws: {call} {role} failed: {detail}", kind="auth") from None
    except botocore.exceptions.NoCredentialsError:
        ctx.counter(STS_LABEL, call, "error")
        raise ProviderError(f"aws: {call} {role}: no base credentials to sign with", kind="auth") from None
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        ctx.counter(STS_LABEL, call, "error")
        raise ProviderError(f"aws: {call} {role}: cannot reach STS: {type(exc).__name__}", kind="unavailable") from None
    ctx.counter(STS_LABEL, call, "success")
    return answer
