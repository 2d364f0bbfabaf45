"""Which keys name a credential, and which values are literals rather than references or filler."""

from __future__ import annotations

import itertools
import re

from gitsecure.scan import filters

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

#: A key containing one of these words names a credential (``adminPassword``, ``jwt_secret``).
SECRET_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token", "tokens",
    "credential", "credentials", "creds", "apikey", "apikeys", "privatekey",
})  # fmt: skip
#: Or one of these word pairs (``apiKey``, ``private_key_pem``, ``secretKey``).
SECRET_PAIRS = frozenset({
    ("api", "key"), ("private", "key"), ("secret", "key"), ("encryption", "key"), ("signing", "key"),
    ("master", "key"), ("account", "key"), ("shared", "key"), ("license", "key"), ("client", "key"),
    ("connection", "string"), ("api", "keys"),
})  # fmt: skip
#: Extra pairs in Terraform state, where ``access_key`` is Azure's storage key, not an id.
TERRAFORM_PAIRS = frozenset({("access", "key"), ("primary", "key"), ("secondary", "key"), ("kube", "config")})
#: A key containing one of these words describes or points at a credential (``existingSecret``,
#: ``passwordSecretName``, ``tokenTTL``, ``secretKeyRef``); its value is never the credential.
REFERENCE_WORDS = frozenset({
    "existing", "name", "names", "ref", "refs", "reference", "file", "files", "path", "paths", "dir", "env",
    "var", "enabled", "enable", "disabled", "disable", "required", "create", "generate", "generated", "use",
    "type", "policy", "length", "min", "max", "size", "ttl", "timeout", "expiry", "expiration", "expires",
    "expire", "rotation", "period", "interval", "duration", "mount", "volume", "store", "provider",
    "annotations", "labels", "selector", "template", "format", "mode", "header", "field", "prefix", "suffix",
    "algorithm", "hash", "version", "count", "complexity", "pattern", "regex", "validation", "reset", "arn",
    "audience", "issuer", "scope", "scopes", "lifetime", "age", "location", "source", "from", "url", "uri",
    "endpoint", "mtime", "public", "placeholder", "description", "help", "hint", "label", "cert",
    "certificate", "ca",
})  # fmt: skip
# ``passwordKey``/``tokenKey``: the name of a key in some other Secret.
_KEY_NAME_OWNERS = frozenset({"password", "passwd", "token", "user", "username", "pass"})
#: Secret keys that hold an identity or an address, not a credential (``username``, ``host``).
IDENTITY_WORDS = frozenset({
    "user", "username", "login", "email", "host", "hostname", "port", "namespace", "database", "db", "dbname",
    "region", "endpoint", "url", "uri", "bucket", "cluster", "server", "address", "project", "org", "tenant",
    "account", "domain", "realm", "schema", "id", "client", "crt", "pub", "cert", "certificate", "ca",
})  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_REMOTE_REFERENCE = ("ref+", "vault:", "secretref:", "arn:aws:secretsmanager:", "arn:aws:ssm:", "projects/")
_PUBLIC_MATERIAL = re.compile(
    rb"-----BEGIN (?:CERTIFICATE|PUBLIC KEY|X509 CRL|CERTIFICATE REQUEST|SSH2 PUBLIC KEY)"
    rb"|^\s*(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-[a-z0-9]+|sk-[a-z0-9@.-]+) AAAA"
)


def words(key: str) -> list[str]:
    """Lower-case words of a key, splitting camelCase, snake_case, kebab-case and dots."""
    return [w.lower() for w in _WORDS.findall(key)]


def names_secret(key: str, *, terraform: bool = False) -> bool:
    """Whether a key names a literal credential (``adminPassword`` yes, ``existingSecret`` no)."""
    parts = words(key)
    if not parts or REFERENCE_WORDS.intersection(parts):
        return False
    if len(parts) > 1 and parts[-1] == "key" and parts[-2] in _KEY_NAME_OWNERS:
        return False
    if SECRET_WORDS.intersection(parts):
        return True
    pairs = set(itertools.pairwise(parts))
    return bool(pairs & SECRET_PAIRS) or (terraform and bool(pairs & TERRAFORM_PAIRS))


def names_identity(key: str) -> bool:
    """Whether a Secret key names an identity or address (``username``, ``db-host``, ``ca.crt``)."""
    parts = words(key)
    return bool(parts) and not names_secret(key) and parts[-1] in IDENTITY_WORDS


def is_literal(value: str) -> bool:
    """A value a person wrote as the credential itself: not empty, templated, encrypted or filler."""
    stripped = value.strip()
    if not stripped or not any(char.isalnum() for char in stripped):
        return False
    if filters.templated(stripped) or filters.is_sops_encrypted(stripped) or "ENC[" in stripped:
        return False
    if stripped.startswith(_REMOTE_REFERENCE):
        return False
    return not filters.is_placeholder(stripped)


def is_public_material(data: bytes) -> bool:
    """A certificate or public key with no private key alongside (``tls.crt``, ``ca.crt``)."""
    return b"PRIVATE KEY" not in data and _PUBLIC_MATERIAL.search(data) is not None


def secret_text(data: bytes) -> str:
    """The reported secret for decoded bytes: the text if it is UTF-8, else escaped (a stable hash either way).

    Surrounding whitespace is dropped so a value written with a trailing newline
    (``echo pw | base64``, a ``|`` block) hashes the same as the bare value. Bytes
    that are not text (invalid UTF-8 or control characters) become Python
    ``unicode_escape`` text of their Latin-1 reading: ``\\x00\\xff...``.
    """
    data = data.strip()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text):
        return text
    return data.decode("latin-1").encode("unicode_escape").decode("ascii")
