"""The controller's settings: flags, then ``GITSECURE_CONTROLLER_*``, then ``SEALED_SECRETS_*``, then defaults.

Flag names, defaults and value syntax are the sealed-secrets controller's, so
a Deployment switching to gitsecure keeps its ``args`` and ``env``. Every bad
value stops start-up with one line naming the flag or variable (upstream
crashed on some, e.g. a label without ``=``). This module is imported by the
CLI, so it imports nothing heavy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from gitsecure.controller.flagset import COMPAT_FLAGS, ENV_PREFIXES, FLAGS, build_parser, env_names, join_values
from gitsecure.controller.goflags import (
    parse_go_bool,
    parse_go_duration,
    parse_key_values,
    parse_rfc1123z,
)
from gitsecure.errors import UsageError

log = logging.getLogger("gitsecure.controller")

T = TypeVar("T")

SERVICE_ACCOUNT_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
ORDER_PRIORITIES = ("CertNotBefore", "SecretCreationTimestamp")
LOG_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARNING", "WARNING": "WARNING", "ERROR": "ERROR"}
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"  # here, not in keyregistry: that one pulls in crypto
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_KEY_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class ControllerConfig:
    """Everything ``gitsecure controller run`` was told; the defaults are the flags' defaults."""

    kubeconfig: str | None = None
    namespace: str = "default"
    all_namespaces: bool = True
    additional_namespaces: tuple[str, ...] = ()
    label_selector: str = ""
    key_prefix: str = "sealed-secrets-key"
    key_size: int = 4096
    key_ttl: dt.timedelta = dt.timedelta(hours=87600)
    key_renew_period: dt.timedelta = dt.timedelta(hours=720)
    key_cutoff_time: dt.datetime | None = None
    key_order_priority: str = "CertNotBefore"
    my_cn: str = ""
    privatekey_labels: dict[str, str] = field(default_factory=dict)
    privatekey_annotations: dict[str, str] = field(default_factory=dict)
    update_status: bool = True
    skip_recreate: bool = False
    max_unseal_retries: int = 5
    accept_deprecated_v1_data: bool = True
    rate_limit: float = 2.0
    rate_limit_burst: int = 2
    listen_addr: str = ":8080"
    listen_metrics_addr: str = ":8081"
    leader_elect: bool = True
    lease_name: str = "gitsecure-controller"
    lease_duration: dt.timedelta = dt.timedelta(seconds=15)
    renew_deadline: dt.timedelta = dt.timedelta(seconds=10)
    retry_period: dt.timedelta = dt.timedelta(seconds=2)
    workers: int = 4
    enable_external_secrets: bool = True
    external_secrets_workers: int = 4
    controller_class: str = "default"
    store_requeue_interval: dt.timedelta = dt.timedelta(minutes=5)
    enable_flood_gate: bool = True
    provider_backoff_max: dt.timedelta = dt.timedelta(minutes=5)
    provider_rate_limit: float = 50.0
    provider_rate_limit_burst: int = 100
    log_level: str = "INFO"
    log_format: str = "text"


class _Values:
    """Flag values by precedence, each converted with the flag or variable it came from named in errors."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str]) -> None:
        self._args = args
        self._env = env
        self._flags = {flag.names[0]: flag for flag in FLAGS}

    def raw(self, name: str) -> tuple[str, str] | None:
        """``(value, source)`` from the command line or the environment; None when neither sets it."""
        flag = self._flags[name]
        given = getattr(self._args, name.replace("-", "_"))
        if given is not None:
            return given, f"--{name}"
        for index in range(len(ENV_PREFIXES)):
            for alias in flag.names:
                variable = env_names(alias)[index]
                if self._env.get(variable, "").strip():
                    if alias != name:
                        log.warning("%s is deprecated; use %s", variable, env_names(name)[index])
                    return self._env[variable], variable
        return None

    def get(self, name: str, convert: Callable[[str], T]) -> T:
        found = self.raw(name)
        value, source = found if found is not None else (self._flags[name].default, f"the default of --{name}")
        try:
            return convert(value)
        except UsageError as exc:
            raise UsageError(f"{source}: {exc.message}", hint="see 'gitsecure controller run --help'") from None

    def duration(self, name: str, *, allow_zero: bool = False) -> dt.timedelta:
        def check(text: str) -> dt.timedelta:
            value = parse_go_duration(text)
            if value < dt.timedelta(0) or (value == dt.timedelta(0) and not allow_zero):
                raise UsageError(f"duration {text!r} must be {'zero or ' if allow_zero else ''}positive")
            return value

        return self.get(name, check)

    def integer(self, name: str, low: int, high: int) -> int:
        def check(text: str) -> int:
            try:
                value = int(text.strip(), 10 if text.strip().lstrip("+-").isdigit() else 0)
            except ValueError:
                raise UsageError(f"invalid integer {text!r}") from None
            if not low <= value <= high:
                raise UsageError(f"{value} is out of range ({low} to {high})")
            return value

        return self.get(name, check)


_SELECTOR_TERM = re.compile(r"^(!?[A-Za-z0-9./_-]+|[A-Za-z0-9./_-]+\s*(==|=|!=)\s*[A-Za-z0-9._-]*)$")


def _label_selector(text: str) -> str:
    """An equality-based selector (``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, comma-separated)."""
    for term in (t.strip() for t in text.split(",")):
        if term and not _SELECTOR_TERM.match(term):
            raise UsageError(
                f"unsupported label selector term {term!r}: use k=v, k!=v, k or !k"
                " (set-based selectors such as 'k in (a,b)' are not supported)"
            )
    return text.strip()


def parse_controller_args(
    argv: Sequence[str], env: Mapping[str, str], *, namespace_file: Path = SERVICE_ACCOUNT_NAMESPACE_FILE
) -> ControllerConfig:
    """The configuration from ``argv`` (flags only, no action word) and ``env``; raises :class:`UsageError`."""
    args = build_parser().parse_args(join_values(argv))
    values = _Values(args, env)
    for name, _ in COMPAT_FLAGS:
        if getattr(args, f"compat_{name}") is not None:
            log.warning("--%s is accepted for compatibility and has no effect", name)
    if any(arg == "--rotate-period" or arg.startswith("--rotate-period=") for arg in argv):
        log.warning("--rotate-period is deprecated; use --key-renew-period")
    lease_duration = values.duration("leader-elect-lease-duration")
    renew_deadline = values.duration("leader-elect-renew-deadline")
    retry_period = values.duration("leader-elect-retry-period")
    # client-go refuses these combinations: the leader could lose the lease while it still acts.
    if not lease_duration > renew_deadline > retry_period * 1.2:
        raise UsageError(
            "leader election needs --leader-elect-lease-duration > --leader-elect-renew-deadline"
            " > 1.2 x --leader-elect-retry-period"
        )
    cutoff = values.get("key-cutoff-time", lambda text: parse_rfc1123z(text) if text.strip() else None)
    return ControllerConfig(
        kubeconfig=values.get("kubeconfig", str) or None,
        namespace=_controller_namespace(values, env, namespace_file),
        all_namespaces=values.get("all-namespaces", parse_go_bool),
        additional_namespaces=values.get("additional-namespaces", _namespace_list),
        label_selector=values.get("label-selector", _label_selector),
        key_prefix=values.get("key-prefix", _key_prefix),
        key_size=values.integer("key-size", 2048, 16384),
        key_ttl=values.duration("key-ttl"),
        key_renew_period=values.duration("key-renew-period", allow_zero=True),
        key_cutoff_time=cutoff,
        key_order_priority=values.get("key-order-priority", lambda text: _choice(text.strip(), ORDER_PRIORITIES)),
        my_cn=values.get("my-cn", str),
        privatekey_labels=values.get("privatekey-labels", _labels),
        privatekey_annotations=values.get("privatekey-annotations", _annotations),
        update_status=values.get("update-status", parse_go_bool),
        skip_recreate=values.get("skip-recreate", parse_go_bool),
        max_unseal_retries=values.integer("max-unseal-retries", 0, 1_000_000),
        accept_deprecated_v1_data=values.get("accept-deprecated-v1-data", parse_go_bool),
        rate_limit=values.get("rate-limit", _positive_float),
        rate_limit_burst=values.integer("rate-limit-burst", 1, 1_000_000),
        listen_addr=values.get("listen-addr", _listen_addr),
        listen_metrics_addr=values.get("listen-metrics-addr", _listen_addr),
        leader_elect=values.get("leader-elect", parse_go_bool),
        lease_name=values.get("leader-election-id", _lease_name),
        lease_duration=lease_duration,
        renew_deadline=renew_deadline,
        retry_period=retry_period,
        workers=values.integer("workers", 1, 256),
        enable_external_secrets=values.get("enable-external-secrets", parse_go_bool),
        external_secrets_workers=values.integer("external-secrets-workers", 1, 256),
        controller_class=values.get("controller-class", _controller_class),
        store_requeue_interval=values.duration("store-requeue-interval"),
        enable_flood_gate=values.get("enable-flood-gate", parse_go_bool),
        provider_backoff_max=values.duration("provider-backoff-max"),
        provider_rate_limit=values.get("provider-rate-limit", _positive_float),
        provider_rate_limit_burst=values.integer("provider-rate-limit-burst", 1, 1_000_000),
        log_level=values.get("log-level", lambda text: LOG_LEVELS[_choice(text.strip().upper(), tuple(LOG_LEVELS))]),
        log_format=values.get("log-format", lambda text: _choice(text.strip().lower(), ("text", "json"))),
    )


def _controller_namespace(values: _Values, env: Mapping[str, str], namespace_file: Path) -> str:
    if values.raw("namespace") is not None:
        return values.get("namespace", _namespace)
    if env.get("POD_NAMESPACE", "").strip():
        try:
            return _namespace(env["POD_NAMESPACE"])
        except UsageError as exc:
            raise UsageError(f"POD_NAMESPACE: {exc.message}") from None
    try:
        from_file = namespace_file.read_text().strip()
    except (OSError, UnicodeDecodeError):
        from_file = ""  # not in a pod: fall back as upstream does
    return _namespace(from_file) if from_file else "default"


def _choice(text: str, choices: Sequence[str]) -> str:
    if text not in choices:
        raise UsageError(f"invalid value {text!r}: choose one of {', '.join(choices)}")
    return text


def _namespace(text: str) -> str:
    name = text.strip()
    if not _DNS_LABEL.fullmatch(name):
        raise UsageError(f"invalid namespace {name!r}: lower-case letters, digits and '-', at most 63")
    return name


def _namespace_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_namespace(part) for part in text.split(",") if part.strip()))


def _key_prefix(text: str) -> str:
    if not _KEY_PREFIX.fullmatch(text) or len(text) > 245:
        raise UsageError(
            f"invalid key prefix {text!r}: lower-case letters, digits and '-', starting with a letter or digit,"
            " at most 245 characters"
        )
    return text


def _controller_class(text: str) -> str:
    if not text.strip() or any(c.isspace() for c in text.strip()):
        raise UsageError(f"invalid controller class {text!r}: a non-empty word such as 'default'")
    return text.strip()


def _lease_name(text: str) -> str:
    if not _DNS_SUBDOMAIN.fullmatch(text.strip()) or len(text.strip()) > 253:
        raise UsageError(f"invalid Lease name {text!r}: a DNS subdomain such as gitsecure-controller")
    return text.strip()


def _positive_float(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise UsageError(f"invalid number {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{text!r} must be a positive number")
    return value


def parse_listen_addr(addr: str) -> tuple[str, int]:
    """``"host:port"``, ``"[v6]:port"`` or ``":port"`` (all interfaces) as ``(host, port)``; host "" = all."""
    host, sep, port_text = addr.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535 or any(c.isspace() for c in host):
        raise UsageError(f"invalid address {addr!r}: use host:port or :port, e.g. :8080 or 127.0.0.1:8080")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"invalid address {addr!r}: put an IPv6 address in brackets, [::1]:8080")
    return host, int(port_text)


def _listen_addr(text: str) -> str:
    parse_listen_addr(text.strip())
    return text.strip()


def _label_key(key: str) -> str:
    prefix, slash, name = key.rpartition("/")
    if not name or not _LABEL_NAME.fullmatch(name) or (slash and not _DNS_SUBDOMAIN.fullmatch(prefix)):
        raise UsageError(f"invalid key {key!r}: use [prefix/]name, name at most 63 of [A-Za-z0-9-_.]")
    return key


def _labels(text: str) -> dict[str, str]:
    labels = {_label_key(key): value for key, value in parse_key_values(text).items()}
    for key, value in labels.items():
        if not _LABEL_NAME.fullmatch(value):
            raise UsageError(f"invalid label value {value!r} for {key}: at most 63 of [A-Za-z0-9-_.]")
    if labels.get(KEY_LABEL, "active") != "active":
        raise UsageError(f"{KEY_LABEL} is always 'active' on new keys and cannot be set")
    return labels


def _annotations(text: str) -> dict[str, str]:
    return {_label_key(key): value for key, value in parse_key_values(text).items()}


__all__ = [
    "ControllerConfig",
    "build_parser",
    "env_names",
    "parse_controller_args",
    "parse_go_duration",
    "parse_listen_addr",
    "parse_rfc1123z",
]
