"""Fuzz the decoders that gitsecure runs on untrusted input (atheris, i.e. libFuzzer for Python).

Usage::

    .venv/bin/python fuzz/fuzz_seal.py                       # the fixed default budget
    .venv/bin/python fuzz/fuzz_seal.py -atheris_runs=200000  # any atheris/libFuzzer flag
    .venv/bin/python fuzz/fuzz_seal.py crash-1a2b...         # replay one input

The first byte of an input picks the target, the rest is its payload:

==  ===========================================================================================
0   ``crypto.hybrid.unseal`` with a 2048-bit key and the RSA-4096 fixture key;
    payload = label length (1 byte), label, envelope
1   ``manifest.load_objects(decode_text(...))`` -> ``secret.parse_secret`` ->
    ``prepare_for_sealing`` -> ``sealedsecret.build`` -> ``render`` (what ``gitsecure seal`` reads)
2   ``modes.read_sealed_secrets`` and ``sealedsecret.merge`` into each (``--merge-into`` targets)
3   ``sealedsecret.unseal`` of every object (``--recovery-unseal``, the controller), legacy
    ``spec.data`` refused; 4 the same with it accepted (the controller's default)
5   ``recovery.load_key_material`` (``--recovery-private-key`` files)
6   an envelope the attacker sealed: anyone holding the certificate can seal, so the bytes
    *inside* the RSA layer are untrusted too. payload = session-key length, session key,
    plaintext; sealed with the 2048-bit key, opened with ``hybrid.unseal``, and the result must
    be the plaintext exactly when the session key is a valid AES key size
7   a legacy ``spec.data`` blob the attacker sealed: the payload is the blob's plaintext
==  ===========================================================================================

Expected failures are :class:`gitsecure.errors.GitsecureError` subclasses; every other exception,
and a failed oracle assertion, is a crash: libFuzzer stops, prints the traceback and writes the
input to ``crash-<sha1>`` (see ``-artifact_prefix``).

Seed inputs (valid Secrets as YAML and JSON, SealedSecrets sealed with the fixture certificate
and with the 2048-bit key, key files) and a token dictionary are generated at start-up into a
temporary directory that is removed at exit; corpus directories given on the command line are
used as well, and new inputs go to the first of them. The 2048-bit key is derived from a fixed
seed, so a crash file replays the same way in any later run.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from math import gcd
from pathlib import Path

import atheris
import harness

# Imported before the instrumented block on purpose: pyca's Python wrappers are not under test,
# and instrumenting them would only slow every run down.
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Only the code under test gets coverage feedback: gitsecure, and PyYAML, whose Python-level
# constructors turn manifest text into the objects gitsecure then trusts.
with atheris.instrument_imports(include=["gitsecure", "yaml"]):
    from gitsecure.crypto import hybrid
    from gitsecure.crypto.keys import (
        PrivateKey,
        dump_certificate,
        dump_private_key,
        load_private_key,
        self_signed_certificate,
    )
    from gitsecure.errors import GitsecureError
    from gitsecure.seal import modes, recovery, render, sealedsecret
    from gitsecure.seal.manifest import Manifest, decode_text, load_objects
    from gitsecure.seal.secret import Secret, parse_secret, prepare_for_sealing

    # sealedsecret.unseal imports its template engine lazily, which would be after this block and
    # so uninstrumented; importing it here gives the fuzzer coverage of template parsing too. When
    # the module is missing, unseal itself fails on it and that is reported as the crash it is.
    with contextlib.suppress(ImportError):
        import gitsecure.seal.gotemplate  # noqa: F401

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "kubeseal"
_AES_KEY_SIZES = (16, 24, 32)
_ZERO_NONCE = b"\x00" * 12
ATTACKER_LABEL = b"fuzz/attacker"


def deterministic_rsa_key(bits: int, *, seed: int) -> rsa.RSAPrivateKey:
    """An RSA key drawn from a seeded PRNG: the same key in every run, so crash files replay.

    Only for fuzzing; a real key comes from :func:`gitsecure.crypto.keys.generate_key_pair`.
    """
    rng = random.Random(seed)
    e = 65537

    def probable_prime(size: int) -> int:
        while True:
            # Top two bits set so that p*q has exactly ``bits`` bits; odd.
            candidate = rng.getrandbits(size) | (3 << (size - 2)) | 1
            if gcd(candidate - 1, e) == 1 and _is_probable_prime(candidate, rng):
                return candidate

    p = probable_prime(bits // 2)
    q = probable_prime(bits // 2)
    while q == p:
        q = probable_prime(bits // 2)
    d = pow(e, -1, (p - 1) * (q - 1))
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    )
    return numbers.private_key()


_SMALL_PRIMES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Keys, made once per process

FIXTURE_KEY = load_private_key((FIXTURES / "tls.key").read_bytes())
FIXTURE_PUBLIC = FIXTURE_KEY.public_key()
SMALL_KEY = deterministic_rsa_key(2048, seed=0x6174686572697321)
SMALL_PUBLIC = SMALL_KEY.public_key()
# The small key first: most inputs that reach RSA then pay for a 2048-bit, not a 4096-bit, decryption.
KEYS: list[PrivateKey] = [SMALL_KEY, FIXTURE_KEY]


def _default_namespace() -> str:
    return "default"


def _prepare(secret: Secret | None) -> Secret:
    """A parsed Secret through kubeseal's preparation rules, as ``gitsecure seal`` runs them."""
    if secret is None:
        raise AssertionError("an empty document where a Secret was expected")
    return prepare_for_sealing(
        secret,
        name=None,
        scope=None,
        namespace_flag=None,
        default_namespace=_default_namespace,
        allow_empty_data=True,
    )


# A fixed SealedSecret to merge into every object of target 2: merging then needs no crypto per input.
_MERGE_SOURCE = sealedsecret.build(
    _prepare(parse_secret({"metadata": {"name": "m", "namespace": "ns", "labels": {"a": "b"}}}, index=1)),
    SMALL_PUBLIC,
)


# --------------------------------------------------------------------------------------------
# Targets: each takes the payload and lets only GitsecureError through as an expected failure


def fuzz_hybrid_unseal(payload: bytes) -> None:
    """Open an arbitrary envelope under an arbitrary label."""
    if not payload:
        return
    label_len = payload[0]
    label, envelope = payload[1 : 1 + label_len], payload[1 + label_len :]
    with contextlib.suppress(GitsecureError):
        hybrid.unseal(KEYS, envelope, label=label)


def _objects(payload: bytes) -> list[Manifest]:
    return load_objects(decode_text(payload))


def _each(objects: list[Manifest], action: Callable[[int, Manifest], None]) -> None:
    # One bad object must not hide the others: each gets its own expected-failure scope.
    for index, obj in enumerate(objects, start=1):
        with contextlib.suppress(GitsecureError):
            action(index, obj)


def _emit(objects: list[Manifest]) -> None:
    # What the CLI does last: render, then write UTF-8 bytes.
    for fmt in render.FORMATS:
        render.render(objects, fmt).encode()


def fuzz_secret_manifest(payload: bytes) -> None:
    """Read a Secret manifest and seal it, as ``gitsecure seal`` does with stdin."""

    def seal_one(index: int, obj: Manifest) -> None:
        secret = parse_secret(obj, index=index)
        if secret is not None:
            _emit([sealedsecret.build(_prepare(secret), SMALL_PUBLIC)])

    try:
        objects = _objects(payload)
    except GitsecureError:
        return
    _each(objects, seal_one)


def fuzz_read_sealed_secrets(payload: bytes) -> None:
    """Read SealedSecrets (``--validate``, ``--re-encrypt``, ``--merge-into``) and merge into each."""
    try:
        objects = modes.read_sealed_secrets(decode_text(payload))
    except GitsecureError:
        return
    _each(objects, lambda _index, obj: _emit([sealedsecret.merge(obj, _MERGE_SOURCE)]))


def _fuzz_unseal(payload: bytes, *, accept_deprecated_v1_data: bool) -> None:
    try:
        objects = _objects(payload)
    except GitsecureError:
        return
    _each(
        objects,
        lambda _index, obj: _emit(
            [sealedsecret.unseal(obj, KEYS, accept_deprecated_v1_data=accept_deprecated_v1_data)]
        ),
    )


def fuzz_unseal_strict(payload: bytes) -> None:
    """Unseal every object with legacy ``spec.data`` refused (``--recovery-unseal``)."""
    _fuzz_unseal(payload, accept_deprecated_v1_data=False)


def fuzz_unseal_legacy(payload: bytes) -> None:
    """Unseal every object with legacy ``spec.data`` accepted (the controller's default)."""
    _fuzz_unseal(payload, accept_deprecated_v1_data=True)


def fuzz_key_material(payload: bytes) -> None:
    """Read a key backup file."""
    with contextlib.suppress(GitsecureError):
        recovery.load_key_material(payload, source="fuzz-input")


def _oaep(label: bytes) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)


# OAEP-SHA256 carries at most k - 2*32 - 2 bytes: 190 for a 2048-bit key.
_MAX_SESSION_KEY = SMALL_KEY.key_size // 8 - 2 * 32 - 2


def fuzz_attacker_envelope(payload: bytes) -> None:
    """An envelope whose session key and plaintext the attacker chose, sealed with the real public key."""
    if not payload:
        return
    key_len = min(payload[0], _MAX_SESSION_KEY, len(payload) - 1)
    session_key, plaintext = payload[1 : 1 + key_len], payload[1 + key_len :]
    wrapped = SMALL_PUBLIC.encrypt(session_key, _oaep(ATTACKER_LABEL))
    valid = len(session_key) in _AES_KEY_SIZES
    # With an invalid key size there is no GCM to run; the plaintext then stands in for the body.
    body = AESGCM(session_key).encrypt(_ZERO_NONCE, plaintext, None) if valid else plaintext
    envelope = len(wrapped).to_bytes(2, "big") + wrapped + body
    # Explicit raises, not assert: the oracle must hold under python -O too.
    try:
        opened = hybrid.unseal(KEYS, envelope, label=ATTACKER_LABEL)
    except GitsecureError:
        if valid:
            raise AssertionError("a correctly sealed envelope did not open") from None
        return
    if not valid:
        raise AssertionError(f"an envelope with a {len(session_key)}-byte session key opened")
    if opened != plaintext:
        raise AssertionError("an envelope opened to something other than its plaintext")


def _legacy_sealed_secret(blob_plaintext: bytes) -> Manifest:
    sealed = hybrid.seal(SMALL_PUBLIC, blob_plaintext, label=ATTACKER_LABEL)
    return {
        "apiVersion": sealedsecret.API_VERSION,
        "kind": sealedsecret.KIND,
        "metadata": {"name": "attacker", "namespace": "fuzz"},
        "spec": {"data": base64.b64encode(sealed).decode()},
    }


def fuzz_attacker_legacy_blob(payload: bytes) -> None:
    """A legacy ``spec.data`` SealedSecret whose inner plaintext (a JSON Secret) the attacker chose."""
    with contextlib.suppress(GitsecureError):
        _emit([sealedsecret.unseal(_legacy_sealed_secret(payload), KEYS, accept_deprecated_v1_data=True)])


TARGETS: tuple[Callable[[bytes], None], ...] = (
    fuzz_hybrid_unseal,
    fuzz_secret_manifest,
    fuzz_read_sealed_secrets,
    fuzz_unseal_strict,
    fuzz_unseal_legacy,
    fuzz_key_material,
    fuzz_attacker_envelope,
    fuzz_attacker_legacy_blob,
)


def test_one_input(data: bytes) -> None:
    """libFuzzer's entry point: the first byte picks a target, the rest is its payload."""
    if not data:
        return
    TARGETS[data[0] % len(TARGETS)](data[1:])


# --------------------------------------------------------------------------------------------
# Seeds and dictionary


def _target(function: Callable[[bytes], None]) -> bytes:
    return bytes([TARGETS.index(function)])


def _secret_manifests() -> Iterator[Manifest]:
    yield {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db-credentials",
            "namespace": "prod",
            "labels": {"app": "db"},
            "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"},
        },
        "type": "Opaque",
        "data": {"password": base64.b64encode(b"hunter2").decode()},
        "stringData": {"username": "admin"},
    }
    yield {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "registry", "namespace": "ci", "ownerReferences": [{"kind": "X", "name": "y"}]},
        "type": "kubernetes.io/dockerconfigjson",
        "immutable": True,
        "stringData": {".dockerconfigjson": '{"auths": {}}'},
    }


def _sealed_seeds() -> Iterator[Manifest]:
    first, second = _secret_manifests()
    # One sealed with the RSA-4096 fixture certificate, the size real controllers use; the rest with
    # the 2048-bit key, whose decryption costs a sixth as much per run.
    for manifest, key in ((first, FIXTURE_PUBLIC), (second, SMALL_PUBLIC)):
        yield sealedsecret.build(_prepare(parse_secret(manifest, index=1)), key)
    # Templates rendered from decrypted items, and a cluster-wide object with an empty encryptedData.
    templated = sealedsecret.build(
        _prepare(parse_secret({"metadata": {"name": "t", "namespace": "ns"}, "stringData": {"pw": "x"}}, index=1)),
        SMALL_PUBLIC,
    )
    templated["spec"]["template"]["data"] = {"url": 'postgres://{{ index . "pw" }}@db'}
    yield templated
    # No items to decrypt, so every run of this one reaches the template engine without RSA.
    yield {
        "apiVersion": sealedsecret.API_VERSION,
        "kind": sealedsecret.KIND,
        "metadata": {"name": "c", "annotations": {"sealedsecrets.bitnami.com/cluster-wide": "true"}},
        "spec": {
            "encryptedData": {},
            "template": {"metadata": {"labels": {"a": "b"}}, "type": "Opaque", "data": TEMPLATE_SEEDS},
        },
    }


TEMPLATE_SEEDS = {
    "plain": "text only",
    "json": "{{ toJson . }}",
    "pipe": '{{ index . "pw" | default "none" | b64enc | quote }}',
    "control": "{{- range $k, $v := . }}{{ $k }}={{ $v }};{{ else }}empty{{ end -}}",
    "branch": '{{ if eq (len .) 0 }}{{ printf "%05d|%q" 42 "x" }}{{ else with .pw }}{{ . }}{{ end }}',
    "funcs": '{{ dict "a" 1 | toJson | b64enc }} {{ list 1 2 3 | join "," }} {{ "abc" | upper | repeat 2 }}',
}


def _legacy_seed() -> Manifest:
    inner = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"k": base64.b64encode(b"v").decode()}})
    sealed = hybrid.seal(SMALL_PUBLIC, inner.encode(), label=b"ns/legacy")
    return {
        "apiVersion": sealedsecret.API_VERSION,
        "kind": sealedsecret.KIND,
        "metadata": {"name": "legacy", "namespace": "ns"},
        "spec": {"data": base64.b64encode(sealed).decode()},
    }


def _key_secret(key: PrivateKey) -> Manifest:
    cert = self_signed_certificate(key, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), ttl=dt.timedelta(days=1))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "sealed-secrets-key", "namespace": "kube-system"},
        "data": {
            "tls.crt": base64.b64encode(dump_certificate(cert)).decode(),
            "tls.key": base64.b64encode(dump_private_key(key)).decode(),
        },
    }


def _yaml(*objects: Manifest) -> bytes:
    return render.render(objects, "yaml").encode()


def _json(*objects: Manifest) -> bytes:
    return render.render(objects, "json").encode()


def seeds() -> Iterator[bytes]:
    """Valid inputs for every target, made in-process (nothing to commit)."""
    for label, key in ((b"prod/db-credentials", FIXTURE_PUBLIC), (b"ns", SMALL_PUBLIC), (b"", SMALL_PUBLIC)):
        envelope = hybrid.seal(key, b"s3cr3t value", label=label)
        yield _target(fuzz_hybrid_unseal) + bytes([len(label)]) + label + envelope
    secrets = list(_secret_manifests())
    for data in (_yaml(*secrets), _json(*secrets), b"\xef\xbb\xbf" + _yaml(secrets[0])):
        yield _target(fuzz_secret_manifest) + data
    yield _target(fuzz_secret_manifest) + _yaml(secrets[1]).decode().encode("utf-16")
    sealed = list(_sealed_seeds())
    for target in (fuzz_read_sealed_secrets, fuzz_unseal_strict, fuzz_unseal_legacy):
        for obj in sealed:
            yield _target(target) + _yaml(obj)
        yield _target(target) + _json(sealed[1], sealed[3])
    yield _target(fuzz_unseal_legacy) + _yaml(_legacy_seed())
    small_pem = dump_private_key(SMALL_KEY)
    yield _target(fuzz_key_material) + small_pem
    yield _target(fuzz_key_material) + dump_private_key(SMALL_KEY, fmt="pkcs8") + b"\n" + small_pem
    yield _target(fuzz_key_material) + _yaml({"apiVersion": "v1", "kind": "List", "items": [_key_secret(SMALL_KEY)]})
    yield _target(fuzz_key_material) + _json(_key_secret(SMALL_KEY))
    yield _target(fuzz_attacker_envelope) + bytes([32]) + bytes(range(32)) + b"plaintext"
    yield _target(fuzz_attacker_envelope) + bytes([16]) + bytes(16)
    yield _target(fuzz_attacker_legacy_blob) + json.dumps({"data": {"k": "dg==", "e": ""}}).encode()


DICTIONARY = (
    # YAML and JSON syntax that random mutation rarely spells out.
    "---", "...", "!!int ", "!!float ", "!!str ", "!!binary ", "!!timestamp ", "!!set ", "!!omap ", "!!null ",
    "&a ", "*a", "<<: ", "? ", "- ", ": ", "{}", "[]", "null", "~", "true", "false", '"\\ud800"', '"\\u0000"',
    "1e999", "0x1F", "0o17", "-.inf", ".nan",
    # Field names and values the decoders look for.
    "apiVersion", "kind", "metadata", "name", "namespace", "annotations", "labels", "ownerReferences",
    "finalizers", "data", "stringData", "type", "immutable", "spec", "encryptedData", "template", "items",
    "List", "Secret", "SealedSecret", "bitnami.com/v1alpha1", "v1", "tls.key", "tls.crt", '"true"',
    "sealedsecrets.bitnami.com/cluster-wide", "sealedsecrets.bitnami.com/namespace-wide",
    "sealedsecrets.bitnami.com/skip-set-owner-references", "kubectl.kubernetes.io/last-applied-configuration",
    "AgA", "AQA",
    # Go template syntax and Sprig names, for spec.template.data.
    "{{", "}}", "{{-", "-}}", "{{/*", "*/}}", " | ", "$x := ", "$", ".", "(", ")", "`", "'a'", "0x", "1e3",
    "if ", "else ", "end", "range ", "with ", "break", "continue", "define ", "template ", "block ", "nil",
    "index ", "len ", "printf ", "print ", "eq ", "ne ", "lt ", "and ", "or ", "not ", "slice ", "call ",
    "toJson ", "fromJson ", "b64enc ", "b64dec ", "quote ", "default ", "dict ", "list ", "join ", "split ",
    "repeat ", "trunc ", "indent ", "replace ", "atoi ", "div ", "mod ", "mul ", "add ", "fail ", "ternary ",
    "toPrettyJson ", "sha256sum ", "nindent ", "trimAll ", "hasKey ", "keys ", "set ", "get ", "sortAlpha ", "js ",
    "%v", "%d", "%q", "%x", "%-10s", "%[1]d", "%*d", "%!",
    "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----",
    "\xef\xbb\xbf", "\xff\xfe", "\xfe\xff", "\x01\x00", "\x02\x00",
)  # fmt: skip


def main() -> None:
    """Start libFuzzer with the seeds and the dictionary above (see ``harness.run``)."""
    harness.run(test_one_input, seeds=seeds, name="seal", dictionary=DICTIONARY)


if __name__ == "__main__":
    main()
