"""The AWS provider: Secrets Manager and SSM Parameter Store (reference §2.3 and §3.1).

Values are read as ESO reads them (version stages and ``uuid/<id>``, ``SecretBinary``, ``property`` with the
escaped-dots-first rule, tags for ``metadataPolicy: Fetch``), so a manifest gives the same Secret here. A
missing secret, a secret scheduled for deletion and a missing parameter are "not found"; errors are
sanitized (no request ids, no credential fragments) so a condition does not change on every retry.

``dataFrom.find`` uses the calls ESO uses (so an IAM policy written for ESO keeps working) with one
difference: on Secrets Manager, ``tags`` are checked as key=value pairs on each secret's own tags. AWS filters
``tag-key`` and ``tag-value`` separately, so ESO syncs a secret tagged ``env=prod, team=payments`` for
``tags: {env: payments}``; this provider does not. ``find`` ignores the store's ``prefix`` (as ESO does for
``path``) and keys its result by the full remote names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import botocore.exceptions

from gitsecure.controller.external.model import FindSpec, RemoteRef
from gitsecure.controller.external.providers.aws_auth import (
    bad_credentials,
    client_config,
    endpoint,
    error_parts,
    store_session,
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
SERVICES = {"SecretsManager": (SM, "secretsmanager"), "ParameterStore": (PS, "ssm")}
MAX_FIND = 5_000
BATCH_IDS = 20  # BatchGetSecretValue's limit for SecretIdList
_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}
_LOOKUPS = {"GetSecretValue", "GetParameter", "DescribeSecret", "ListTagsForResource"}
_DELETION = {"InvalidParameterException", "InvalidRequestException"}
_DENIED = re.compile(r"AccessDenied|UnauthorizedOperation|NotAuthorized|Forbidden")
_TRANSIENT = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "InternalServiceError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "RequestTimeout",
}


def _classify(code: str, message: str) -> ErrorKind:
    if code in _NOT_FOUND or (code in _DELETION and re.search(r"marked (for )?delet", message)):
        return "not-found"
    if _DENIED.search(code):
        return "permission"
    if bad_credentials(code):
        return "auth"
    return "unavailable" if code in _TRANSIENT else "invalid"


class AwsClient:
    """Secrets Manager or Parameter Store for one store; boto3 clients are thread-safe, the memo is per call."""

    thread_safe = True

    def __init__(self, ctx: StoreContext) -> None:
        provider = ctx.store.provider
        self._ctx = ctx
        self.service = str(provider.get("service") or "")
        if self.service not in SERVICES:
            raise ProviderError(f"aws: service {self.service or '(none)'!r} is not supported", kind="invalid")
        self.region = str(provider.get("region") or "")
        if not self.region:
            raise ProviderError("aws: region is required", kind="invalid")
        self.prefix = str(provider.get("prefix") or "")
        self.label, name = SERVICES[self.service]
        self._session = store_session(ctx, self.region)
        self._client = self._session.client(
            name, region_name=self.region, endpoint_url=endpoint(name), config=client_config(ctx.store.retry_max)
        )

    # -- calls ----------------------------------------------------------------------------------------
    def _call(self, call: str, what: str, action: Callable[..., Any], **options: Any) -> Any:
        try:
            answer = action(**options)
        except botocore.exceptions.ClientError as exc:
            self._ctx.counter(self.label, call, "error")
            code, message = error_parts(exc)
            error = self._error(call, what, code, message)
            if isinstance(error, NoSecretError) and call not in _LOOKUPS:
                # Only a read of one named secret may say "gone" (it drives deletionPolicy); a listing may not.
                error = ProviderError(f"aws: {call} {what} failed: {code}: {message}".rstrip(": "), kind="invalid")
            raise error from None
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
            self._ctx.counter(self.label, call, "error")
            raise ProviderError(
                "aws: no credentials (no auth in the store and none in the environment)", kind="auth"
            ) from None
        except botocore.exceptions.ParamValidationError:
            # Its text may quote a parameter; the call and the key say enough.
            self._ctx.counter(self.label, call, "error")
            raise ProviderError(f"aws: {call} {what}: invalid request parameters", kind="invalid") from None
        except (botocore.exceptions.BotoCoreError, OSError) as exc:
            self._ctx.counter(self.label, call, "error")
            raise ProviderError(
                f"aws: cannot reach {self.service} in {self.region}: {type(exc).__name__}", kind="unavailable"
            ) from None
        self._ctx.counter(self.label, call, "success")
        return answer

    @staticmethod
    def _error(call: str, what: str, code: str, message: str) -> ProviderError:
        kind = _classify(code, message)
        if kind == "not-found":
            return NoSecretError(f"aws: {what} does not exist")
        if kind == "permission":
            return ProviderError(f"aws: access denied reading {what}: {message or code}", kind=kind)
        if kind == "auth":
            return ProviderError(f"aws: credentials rejected reading {what}: {code}: {message}".rstrip(": "), kind=kind)
        return ProviderError(f"aws: {call} {what} failed: {code}: {message}".rstrip(": "), kind=kind)

    def _secret_value(self, secret_id: str, version: str, what: str) -> bytes:
        options: dict[str, Any] = {"SecretId": secret_id}
        if version.startswith("uuid/"):
            options["VersionId"] = version.removeprefix("uuid/")
        else:
            options["VersionStage"] = version or "AWSCURRENT"
        return _payload(self._call("GetSecretValue", what, self._client.get_secret_value, **options), what)

    def _parameter(self, name: str, what: str) -> bytes:
        answer = self._call("GetParameter", what, self._client.get_parameter, Name=name, WithDecryption=True)
        value = (answer.get("Parameter") or {}).get("Value")
        if value is None:
            raise ProviderError(f"aws: {what} has no value", kind="invalid")
        return str(value).encode()

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
        slot = memo_slot(ref)
        if memo is not None and isinstance(cached := memo.get(slot), bytes):
            return cached
        if ref.metadata_policy == "Fetch":
            document = self._tags(ref.key)
        elif self.service == "SecretsManager":
            document = self._secret_value(self.prefix + ref.key, ref.version, f"secret {ref.key}")
        else:
            name = self.prefix + ref.key + (f":{ref.version}" if ref.version else "")
            document = self._parameter(name, f"parameter {ref.key}")
        if memo is not None and self.service == "SecretsManager":  # ESO memoizes Secrets Manager reads only
            memo[slot] = document
        return document

    # -- the SecretsClient protocol ---------------------------------------------------------------------
    def get_secret(self, ref: RemoteRef, memo: Memo | None = None) -> bytes:
        """One value, ``property`` applied (escaped dots first, then the gjson path on the raw document)."""
        document = self._document(ref, memo)
        return aws_property(document, ref.property, ref.key) if ref.property else document

    def get_secret_map(self, ref: RemoteRef, memo: Memo | None = None) -> dict[str, bytes]:
        """``dataFrom.extract``: the members of the JSON object (raw JSON text for non-strings)."""
        return raw_explode(self.get_secret(ref, memo), ref.key)

    def get_all_secrets(self, find: FindSpec) -> dict[str, bytes]:
        """``dataFrom.find`` by name regexp and/or tags, optionally under a path: full remote name -> value."""
        if find.name_regexp is None and not find.tags:
            raise ProviderError("aws: unexpected find operator", kind="invalid")
        pattern = None
        if find.name_regexp is not None:
            try:
                pattern = re.compile(find.name_regexp)
            except re.error as exc:
                raise ProviderError(f"aws: find.name.regexp is invalid: {exc}", kind="invalid") from None
        if self.service == "SecretsManager":
            return self._find_secrets(find, pattern)
        return self._find_parameters(find, pattern)

    # -- Secrets Manager find ---------------------------------------------------------------------------
    def _find_secrets(self, find: FindSpec, pattern: re.Pattern[str] | None) -> dict[str, bytes]:
        filters: list[dict[str, Any]] = []
        if find.path:
            filters.append({"Key": "name", "Values": [find.path]})
        for key, value in find.tags.items():
            filters += [{"Key": "tag-key", "Values": [key]}, {"Key": "tag-value", "Values": [value]}]
        # ListSecrets applies the filters and returns the tags (BatchGetSecretValue with the same filters would
        # not: the pairs could not be checked); only the matches' values are then read. ESO reads in batches when
        # a path is set or only tags are given (BatchGetSecretValue with filters, which also needs ListSecrets), and
        # one by one for a bare name regexp: the same calls, so an IAM policy written for ESO keeps working.
        names = [
            name
            for name, tags in self._list_secrets(filters)
            if all(tags.get(k) == v for k, v in find.tags.items()) and (pattern is None or pattern.search(name))
        ]
        _bounded(len(names))
        if find.path or pattern is None:
            return self._batch_ids(names)
        out: dict[str, bytes] = {}
        for name in names:
            try:
                out[name] = self._secret_value(name, "", f"secret {name}")
            except NoSecretError:
                continue  # deleted between the listing and the read
        return out

    def _pages(self, call: str, what: str, action: Callable[..., Any], **options: Any) -> Iterator[Mapping[str, Any]]:
        """Every page of a paginated call, following ``NextToken``."""
        token = ""
        while True:
            page: Mapping[str, Any] = self._call(
                call, what, action, **options, **({"NextToken": token} if token else {})
            )
            yield page
            token = str(page.get("NextToken") or "")
            if not token:
                return

    def _list_secrets(self, filters: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, str]]]:
        options: dict[str, Any] = {"MaxResults": 100, **({"Filters": filters} if filters else {})}
        for page in self._pages("ListSecrets", "secrets", self._client.list_secrets, **options):
            for entry in page.get("SecretList") or []:
                tags = {str(t.get("Key")): str(t.get("Value")) for t in entry.get("Tags") or []}
                yield str(entry.get("Name") or ""), tags

    def _batch_ids(self, names: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for start in range(0, len(names), BATCH_IDS):
            chunk = names[start : start + BATCH_IDS]
            page = self._call("BatchGetSecretValue", "secrets", self._client.batch_get_secret_value, SecretIdList=chunk)
            self._batch_errors(page)
            for entry in page.get("SecretValues") or []:
                name = str(entry.get("Name") or "")
                out[name] = _payload(entry, f"secret {name}")
        return out

    def _batch_errors(self, page: Mapping[str, Any]) -> None:
        for failure in page.get("Errors") or []:
            secret = str(failure.get("SecretId") or "")
            code, message = str(failure.get("ErrorCode") or ""), str(failure.get("Message") or "")
            error = self._error("BatchGetSecretValue", f"secret {secret}", code, message)
            if not isinstance(error, NoSecretError):  # gone between the listing and the read
                raise error

    # -- Parameter Store find ---------------------------------------------------------------------------
    def _find_parameters(self, find: FindSpec, pattern: re.Pattern[str] | None) -> dict[str, bytes]:
        path_filter = [{"Key": "Path", "Option": "Recursive", "Values": [find.path]}] if find.path else []
        if pattern is None:
            tag_filters = [{"Key": f"tag:{k}", "Option": "Equals", "Values": [v]} for k, v in find.tags.items()]
            return self._read_each(self._describe(tag_filters + path_filter))
        try:
            return self._by_path(find.path or "/", pattern)
        except ProviderError as exc:
            if exc.kind != "permission":
                raise
        # ESO's fallback when the role may not call GetParametersByPath: describe, then read each match.
        return self._read_each(name for name in self._describe(path_filter) if pattern.search(name))

    def _by_path(self, path: str, pattern: re.Pattern[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        options: dict[str, Any] = {"Path": path, "Recursive": True, "WithDecryption": True, "MaxResults": 10}
        what = f"parameters under {path}"
        for page in self._pages("GetParametersByPath", what, self._client.get_parameters_by_path, **options):
            for parameter in page.get("Parameters") or []:
                name = str(parameter.get("Name") or "")
                if pattern.search(name) and parameter.get("Value") is not None:
                    out[name] = str(parameter["Value"]).encode()
            _bounded(len(out))
        return out

    def _describe(self, filters: list[dict[str, Any]]) -> Iterator[str]:
        options: dict[str, Any] = {"MaxResults": 50, **({"ParameterFilters": filters} if filters else {})}
        for page in self._pages("DescribeParameters", "parameters", self._client.describe_parameters, **options):
            for parameter in page.get("Parameters") or []:
                yield str(parameter.get("Name") or "")

    def _read_each(self, names: Iterable[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for name in names:
            try:
                out[name] = self._parameter(name, f"parameter {name}")
            except NoSecretError:
                continue  # deleted between the listing and the read
            _bounded(len(out))
        return out

    # -- lifecycle --------------------------------------------------------------------------------------
    def validate(self) -> str:
        """``Valid`` when credentials resolve (no SM/SSM call, as ESO); ``ValidationUnknown`` for referent auth."""
        if self._ctx.referent():
            return "ValidationUnknown"
        try:
            credentials = self._session.get_credentials()
            resolved = credentials.get_frozen_credentials() if credentials is not None else None
        except botocore.exceptions.BotoCoreError as exc:
            raise ProviderError(f"aws: cannot resolve credentials: {type(exc).__name__}", kind="auth") from None
        if resolved is None or not resolved.access_key:
            raise ProviderError("aws: no credentials (no auth in the store and none in the environment)", kind="auth")
        return "Valid"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()


def _payload(answer: Mapping[str, Any], what: str) -> bytes:
    """``SecretString`` as UTF-8, else ``SecretBinary`` as is."""
    if answer.get("SecretString") is not None:
        return str(answer["SecretString"]).encode()
    if answer.get("SecretBinary") is not None:
        return bytes(answer["SecretBinary"])
    raise ProviderError(f"aws: {what} has neither SecretString nor SecretBinary", kind="invalid")


def _bounded(count: int) -> None:
    if count > MAX_FIND:
        raise ProviderError(f"aws: more than {MAX_FIND} remote secrets match the find", kind="invalid")


def new_client(ctx: StoreContext) -> AwsClient:
    """The provider entry point."""
    return AwsClient(ctx)
