"""The controller's flag table and the argparse parser built from it (help text included).

Values are kept as typed (None when absent) so that :mod:`config` can apply
the precedence flag > ``GITSECURE_CONTROLLER_*`` > ``SEALED_SECRETS_*`` >
default and convert each value once, naming its source in errors.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitsecure.controller.goflags import RFC1123Z_EXAMPLE
from gitsecure.errors import UsageError

ENV_PREFIXES = ("GITSECURE_CONTROLLER", "SEALED_SECRETS")


@dataclass(frozen=True)
class Flag:
    """One flag: its names (the first is canonical), default as typed, value name, help line and help group."""

    names: tuple[str, ...]
    default: str
    metavar: str
    help: str
    group: str

    @property
    def boolean(self) -> bool:
        """Whether the flag may stand alone (``--update-status`` means ``--update-status=true``), as Go's bools."""
        return self.metavar == "BOOL"


_C, _K, _U, _H, _L, _G = "cluster", "keys", "unsealing", "http", "leader election", "logging"
_E = "external secrets"
FLAGS: tuple[Flag, ...] = (
    Flag(("kubeconfig",), "", "FILE", "kubeconfig; default in-cluster, else $KUBECONFIG or ~/.kube/config", _C),
    Flag(("namespace",), "", "NS", "controller namespace; default $POD_NAMESPACE, else the service account's", _C),
    Flag(("all-namespaces",), "true", "BOOL", "watch all namespaces (false: only the controller's)", _C),
    Flag(("additional-namespaces",), "", "NS,...", "watch only the own namespace and these", _C),
    Flag(("label-selector",), "", "SELECTOR", "only handle SealedSecrets and Secrets matching this selector", _C),
    Flag(("key-prefix",), "sealed-secrets-key", "PREFIX", "name prefix of key Secrets ([a-z0-9-], at most 245)", _K),
    Flag(("key-size",), "4096", "BITS", "RSA key size of new keys", _K),
    Flag(("key-ttl",), "87600h", "DURATION", "validity of new key certificates", _K),
    Flag(("key-renew-period", "rotate-period"), "720h", "DURATION", "add a new key this often; 0 = never", _K),
    Flag(("key-cutoff-time",), "", "TIME", "at start, add a key if the newest is older than TIME (RFC1123Z)", _K),
    Flag(
        ("key-order-priority",), "CertNotBefore", "ORDER", "newest key by CertNotBefore or SecretCreationTimestamp", _K
    ),
    Flag(("my-cn",), "", "CN", "common name of new key certificates; default an empty subject", _K),
    Flag(("privatekey-labels",), "", "K=V,...", "extra labels on new key Secrets", _K),
    Flag(("privatekey-annotations",), "", "K=V,...", "annotations on new key Secrets", _K),
    Flag(("update-status",), "true", "BOOL", "report the Synced condition in SealedSecret status", _U),
    Flag(("skip-recreate",), "false", "BOOL", "do not recreate owned Secrets that were deleted", _U),
    Flag(("max-unseal-retries",), "5", "N", "retries of a failing SealedSecret before waiting for a change", _U),
    Flag(("accept-deprecated-v1-data",), "true", "BOOL", "accept the legacy spec.data format", _U),
    Flag(("workers",), "4", "N", "reconcile threads", _U),
    Flag(("enable-external-secrets",), "true", "BOOL", "sync ExternalSecrets (external-secrets.io/v1) too", _E),
    Flag(("external-secrets-workers",), "4", "N", "ExternalSecret and store reconcile threads", _E),
    Flag(("controller-class",), "default", "CLASS", "serve stores whose spec.controller is empty or CLASS", _E),
    Flag(("store-requeue-interval",), "5m", "DURATION", "store re-validation period unless the store sets one", _E),
    Flag(("enable-flood-gate",), "true", "BOOL", "fail ExternalSecrets fast while their store is not Ready", _E),
    Flag(("provider-backoff-max",), "5m", "DURATION", "longest wait before retrying a failed ExternalSecret", _E),
    Flag(("provider-rate-limit",), "50", "RATE", "provider calls per second per store", _E),
    Flag(("provider-rate-limit-burst",), "100", "N", "provider calls at once per store", _E),
    Flag(("listen-addr",), ":8080", "ADDR", "HTTP API address, host:port", _H),
    Flag(("listen-metrics-addr",), ":8081", "ADDR", "Prometheus metrics address, host:port", _H),
    Flag(("rate-limit",), "2", "RATE", "/v1/verify requests per second per client", _H),
    Flag(("rate-limit-burst",), "2", "N", "/v1/verify burst per client", _H),
    Flag(("leader-elect",), "true", "BOOL", "elect a leader on a Lease, so that replicas do not race", _L),
    Flag(("leader-election-id",), "gitsecure-controller", "NAME", "name of the Lease", _L),
    Flag(("leader-elect-lease-duration",), "15s", "DURATION", "how long a lease holds without renewal", _L),
    Flag(("leader-elect-renew-deadline",), "10s", "DURATION", "the leader steps down if it cannot renew by then", _L),
    Flag(("leader-elect-retry-period",), "2s", "DURATION", "interval between lease attempts", _L),
    Flag(("log-level",), "INFO", "LEVEL", "DEBUG, INFO, WARN or ERROR", _G),
    Flag(("log-format",), "text", "FORMAT", "text or json", _G),
)
COMPAT_FLAGS: tuple[tuple[str, bool], ...] = (  # upstream flags accepted with no effect: (name, boolean)
    ("watch-for-secrets", True),  # key Secrets are always watched
    ("old-gc-behavior", True),  # Kubernetes garbage collection removes owned Secrets
    ("log-info-stdout", True),  # INFO goes to stdout, higher levels to stderr
    ("read-timeout", False),
    ("write-timeout", False),
    ("kubeclient-qps", False),
    ("kubeclient-burst", False),
)


def env_names(flag: str) -> list[str]:
    """``key-ttl`` → ``[GITSECURE_CONTROLLER_KEY_TTL, SEALED_SECRETS_KEY_TTL]``."""
    stem = flag.upper().replace("-", "_")
    return [f"{prefix}_{stem}" for prefix in ENV_PREFIXES]


def join_values(argv: Sequence[str]) -> list[str]:
    """``--flag value`` as ``--flag=value`` for flags that take one, so a value may start with '-' (as in pflag)."""
    takes_value = {f"--{name}" for flag in FLAGS if not flag.boolean for name in flag.names}
    takes_value |= {f"--{name}" for name, boolean in COMPAT_FLAGS if not boolean}
    joined: list[str] = []
    args = iter(argv)
    for arg in args:
        value = next(args, None) if arg in takes_value else None
        joined.append(arg if value is None else f"{arg}={value}")
    return joined


def build_parser(prog: str = "gitsecure controller run") -> argparse.ArgumentParser:
    """The flag set; every value is kept as typed (or None when absent) and converted afterwards."""
    parser = _ArgumentParser(
        prog=prog,
        allow_abbrev=False,
        add_help=False,
        usage=f"{prog} [flags]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups: dict[str, Any] = {}
    for flag in FLAGS:
        group = groups.get(flag.group) or groups.setdefault(flag.group, parser.add_argument_group(flag.group))
        options = [f"--{name}" for name in flag.names]
        text = f"{flag.help} (default {flag.default})" if flag.default else flag.help
        if len(flag.names) > 1:
            text += "; --" + ", --".join(flag.names[1:]) + " is a deprecated alias"
        dest = flag.names[0].replace("-", "_")
        if flag.boolean:
            group.add_argument(*options, dest=dest, nargs="?", const="true", metavar="BOOL", help=text)
        else:
            group.add_argument(*options, dest=dest, metavar=flag.metavar, help=text)
    other = parser.add_argument_group("other")
    for name, boolean in COMPAT_FLAGS:
        kwargs: dict[str, Any] = {"nargs": "?", "const": "true"} if boolean else {}
        other.add_argument(f"--{name}", dest=f"compat_{name}", help=argparse.SUPPRESS, **kwargs)
    other.add_argument("--version", action="store_true", help="print the version and exit")
    other.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    return parser


DESCRIPTION = """Run the in-cluster controller: unseal SealedSecrets into Secrets, serve the
sealing certificate, renew keys, and sync ExternalSecrets from Vault/OpenBao and
AWS. A drop-in for the sealed-secrets controller: same key Secrets, flags,
environment variables, HTTP API and metrics."""

EPILOG = f"""environment: every flag can also be set as GITSECURE_CONTROLLER_<FLAG> or, as
with the sealed-secrets controller, SEALED_SECRETS_<FLAG> (upper case, '-' as
'_'; e.g. SEALED_SECRETS_KEY_RENEW_PERIOD=720h). A flag wins over
GITSECURE_CONTROLLER_*, which wins over SEALED_SECRETS_*. Empty variables are
ignored. POD_NAMESPACE sets the controller namespace when --namespace is not
given. Durations use Go syntax (720h, 1h30m, 90s; no 'd'); booleans are
true/false/1/0; times are RFC1123Z ('{RFC1123Z_EXAMPLE}', date -R).

compatibility: {", ".join("--" + name for name, _ in COMPAT_FLAGS[:4])},
{", ".join("--" + name for name, _ in COMPAT_FLAGS[4:])} are accepted and have no effect.

signals: SIGTERM stops gracefully, SIGUSR1 adds a new key at once."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse raising :class:`UsageError` (as ``cli.options.ArgumentParser``, which this layer cannot import)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see '{self.prog} --help'")
