"""The AWS provider: Secrets Manager and SSM Parameter Store (reference §2.3 and §3.1).

Values are read as ESO reads them (version stages and ``uuid/<id>``, ``SecretBinary``, ``property`` with the
escaped-dots-first rule, tags for ``metadataPolicy: Fetch``), so a manifest gives the same Secret here. A
missing secret, a secret scheduled for deletion and a missing parameter are "not found"; errors are
sanitized (no request ids, no credential fragments) so a condition does not change on every retry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from gitsecure.controller.external.model import FindSpec, RemoteRef
from gitsecure.controller.external.providers.aws_auth import (
    assume_chain,
    base_session,
    client_config,
    endpoint,
)
from gitsecure.controller.external.providers.base import (
    ErrorKind,
    Memo,
    NoSecretError,
    ProviderError,
    StoreContext,
    memo_slot,
)
from gitsecure.controller.external.values import aws_property, raw_explode

SM, PS = "AWS/SecretsManager", "AWS/ParameterStore"
_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}
_DENIED = re.compile(r"AccessDenied|UnauthorizedOperation|NotAuthorized")
_BAD_CREDENTIALS = {"UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"}
_SCRUB = re.compile(r"(request id: \S+|Credential=\S+|arn:aws:sts::\d+:assumed-role/\S+)", re.I)
MAX_FIND = 5_000


def _clean(text: str) -> str:
    return _SCRUB.sub("", text).strip(" ,;")[:300]


class AwsClient:
    """Secrets Manager or Parameter Store for one store; boto3 clients are thread-safe."""

    thread_safe = True

    def __init__(self, ctx: StoreContext) -> None:
        provider = ctx.store.provider
        self._ctx = ctx
        self.service = str(provider.get("service") or "")
        if self.service not in ("SecretsManager", "ParameterStore"):
            raise ProviderError(f"aws: service {self.service or '(none)'!r} is not supported", kind="invalid")
        self.region = str(provider.get("region") or "")
        if not self.region:
            raise ProviderError("aws: region is required", kind="invalid")
        self.prefix = str(provider.get("prefix") or "")
        self.label = SM if self.service == "SecretsManager" else PS
        retries = ctx.store.retry_max
        session = assume_chain(ctx, base_session(ctx, self.region), self.region, retries)
        name = "secretsmanager" if self.service == "SecretsManager" else "ssm"
        self._client = session.client(
            name, region_name=self.region, endpoint_url=endpoint(name), config=client_config(retries)
        )
        self._session = session

    # -- calls ----------------------------------------------------------------------------------------
    def _call(self, call: str, what: str, action: Callable[..., Any], **options: Any) -> Any:
        try:
            answer = action(**options)
        except botocore.exceptions.ClientError as exc:
            self._ctx.counter(self.label, call, "error")
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code") or ""), _clean(str(error.get("Message") or ""))
            if code in _NOT_FOUND or "marked deleted" in message or "marked for deletion" in message:
                raise NoSecretError(f"aws: {what} does not exist") from None
            if _DENIED.search(code):
                raise ProviderError(
                    f"aws: access denied reading {what}: {message or code}", kind="permission"
                ) from None
            if code in _BAD_CREDENTIALS:
                raise ProviderError(f"aws: credentials rejected reading {what}: {code}", kind="auth") from None
            kind: ErrorKind = (
                "unavailable"
                if code in ("ThrottlingException", "InternalServiceError", "InternalFailure")
                else "invalid"
            )
            raise ProviderError(f"aws: {call} {what} failed: {code}: {message}".rstrip(": "), kind=kind) from None
        except botocore.exceptions.NoCredentialsError:
            self._ctx.counter(self.label, call, "error")
            raise ProviderError(
                "aws: no credentials (no auth in the store and none in the environment)", kind="auth"
            ) from None
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            self._ctx.counter(self.label, call, "error")
            raise ProviderError(
                f"aws: cannot reach {self.service} in {self.region}: {type(exc).__name__}", kind="unavailable"
            ) from None
        self._ctx.counter(self.label, call, "success")
        return answer

    def _secret_value(self, key: str, version: str) -> bytes:
        options: dict[str, Any] = {"SecretId": self.prefix + key}
        if version.startswith("uuid/"):
            options["VersionId"] = version[len("uuid/") :]
        else:
            options["VersionStage"] = version or "AWSCURRENT"
        answer = self._call("GetSecretValue", f"secret {key}", self._client.get_secret_value, **options)
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"]).encode()
        return bytes(answer.get("SecretBinary") or b"")

    def _parameter(self, key: str, version: str) -> bytes:
        name = self.prefix + key + (f":{version}" if version else "")
        answer = self._call(
            "GetParameter", f"parameter {key}", self._client.get_parameter, Name=name, WithDecryption=True
        )
        return str((answer.get("Parameter") or {}).get("Value") or "").encode()

    def _tags(self, key: str) -> bytes:
        if self.service == "SecretsManager":
            answer = self._call(
                "DescribeSecret", f"secret {key}", self._client.describe_secret, SecretId=self.prefix + key
            )
            tags = answer.get("Tags") or []
        else:
            answer = self._call(
                "ListTagsForResource",
                f"parameter {key}",
                self._client.list_tags_for_resource,
                ResourceType="Parameter",
                ResourceId=self.prefix + key,
            )
            tags = answer.get("TagList") or []
        return json.dumps({str(t["Key"]): str(t["Value"]) for t in tags}, separators=(",", ":")).encode()

    def _document(self, ref: RemoteRef, memo: Memo | None) -> bytes:
        fetch = ref.metadata_policy == "Fetch"
        slot = memo_slot(ref)
        if memo is not None and slot in memo:
            cached = memo[slot]
            assert isinstance(cached, bytes)
            return cached
        if fetch:
            document = self._tags(ref.key)
        elif self.service == "SecretsManager":
            document = self._secret_value(ref.key, ref.version)
        else:
            document = self._parameter(ref.key, ref.version)
        if memo is not None and self.service == "SecretsManager":  # ESO memoizes Secrets Manager reads only
            memo[slot] = document
        return document

    # -- the SecretsClient protocol ---------------------------------------------------------------------
    def get_secret(self, ref: RemoteRef, memo: Memo | None = None) -> bytes:
        """One value, ``property`` applied."""
        document = self._document(ref, memo)
        return aws_property(document, ref.property, ref.key) if ref.property else document

    def get_secret_map(self, ref: RemoteRef, memo: Memo | None = None) -> dict[str, bytes]:
        """``dataFrom.extract``: the members of the JSON object (raw JSON text for non-strings)."""
        return raw_explode(self.get_secret(ref, memo), ref.key)

    def get_all_secrets(self, find: FindSpec) -> dict[str, bytes]:
        """``dataFrom.find`` by name regexp and/or tags (tag pairs are checked, unlike ESO), optionally under a path."""
        if find.name_regexp is None and not find.tags:
            raise ProviderError("aws: unexpected find operator", kind="invalid")
        if self.service == "SecretsManager":
            return self._find_secrets(find)
        return self._find_parameters(find)

    def _find_secrets(self, find: FindSpec) -> dict[str, bytes]:
        filters: list[dict[str, Any]] = []
        if find.path:
            filters.append({"Key": "name", "Values": [self.prefix + find.path]})
        for key, value in find.tags.items():
            filters += [{"Key": "tag-key", "Values": [key]}, {"Key": "tag-value", "Values": [value]}]
        pattern = re.compile(find.name_regexp) if find.name_regexp is not None else None
        out: dict[str, bytes] = {}
        token = ""
        while True:
            options: dict[str, Any] = {"MaxResults": 100, **({"Filters": filters} if filters else {})}
            if token:
                options["NextToken"] = token
            page = self._call("ListSecrets", "secrets", self._client.list_secrets, **options)
            for entry in page.get("SecretList") or []:
                name = str(entry.get("Name") or "")
                tags = {str(t["Key"]): str(t["Value"]) for t in entry.get("Tags") or []}
                if any(tags.get(k) != v for k, v in find.tags.items()):
                    continue  # ESO takes any secret matching the keys and the values separately
                if pattern is not None and not pattern.search(name):
                    continue
                try:
                    out[name.removeprefix(self.prefix)] = self._secret_value(name.removeprefix(self.prefix), "")
                except NoSecretError:
                    continue
                if len(out) > MAX_FIND:
                    raise ProviderError(f"aws: more than {MAX_FIND} secrets match", kind="invalid")
            token = str(page.get("NextToken") or "")
            if not token:
                return out

    def _find_parameters(self, find: FindSpec) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        if find.name_regexp is not None:
            pattern = re.compile(find.name_regexp)
            token = ""
            while True:
                options: dict[str, Any] = {
                    "Path": find.path or "/",
                    "Recursive": True,
                    "WithDecryption": True,
                    "MaxResults": 10,
                }
                if token:
                    options["NextToken"] = token
                page = self._call("GetParametersByPath", "parameters", self._client.get_parameters_by_path, **options)
                for parameter in page.get("Parameters") or []:
                    name = str(parameter.get("Name") or "")
                    if pattern.search(name):
                        out[name] = str(parameter.get("Value") or "").encode()
                token = str(page.get("NextToken") or "")
                if not token:
                    return out
        filters: list[dict[str, Any]] = [
            {"Key": f"tag:{k}", "Option": "Equals", "Values": [v]} for k, v in find.tags.items()
        ]
        if find.path:
            filters.append({"Key": "Path", "Option": "Recursive", "Values": [find.path]})
        token = ""
        while True:
            options = {"ParameterFilters": filters, "MaxResults": 50, **({"NextToken": token} if token else {})}
            page = self._call("DescribeParameters", "parameters", self._client.describe_parameters, **options)
            for parameter in page.get("Parameters") or []:
                name = str(parameter.get("Name") or "")
                try:
                    out[name] = self._parameter(name, "")
                except NoSecretError:
                    continue
            token = str(page.get("NextToken") or "")
            if not token:
                return out

    def validate(self) -> str:
        """``Valid`` when credentials resolve (no API call, as ESO); ``ValidationUnknown`` for referent auth."""
        if self._ctx.referent():
            return "ValidationUnknown"
        try:
            credentials = self._session.get_credentials()
        except botocore.exceptions.BotoCoreError as exc:
            raise ProviderError(f"aws: cannot resolve credentials: {type(exc).__name__}", kind="auth") from None
        if credentials is None:
            raise ProviderError("aws: no credentials (no auth in the store and none in the environment)", kind="auth")
        return "Valid"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


def new_client(ctx: StoreContext) -> AwsClient:
    """The provider entry point."""
    return AwsClient(ctx)
