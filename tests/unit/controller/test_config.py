"""Controller settings: upstream's flags and defaults, environment precedence, Go value syntax, clear errors."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from gitsecure.controller.config import ControllerConfig, parse_controller_args, parse_go_duration, parse_rfc1123z
from gitsecure.controller.flagset import FLAGS, env_names
from gitsecure.controller.goflags import format_go_duration, parse_go_bool, parse_key_values
from gitsecure.errors import UsageError

NO_FILE = Path("/nonexistent/serviceaccount/namespace")


def parse(*argv: str, env: dict[str, str] | None = None, namespace_file: Path = NO_FILE) -> ControllerConfig:
    return parse_controller_args(argv, env or {}, namespace_file=namespace_file)


def error(*argv: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(UsageError) as caught:
        parse(*argv, env=env)
    assert "\n" not in caught.value.message
    return caught.value.message


def test_defaults_are_upstreams() -> None:
    config = parse()
    assert config == ControllerConfig()
    assert config.key_prefix == "sealed-secrets-key" and config.key_size == 4096
    assert config.key_ttl == dt.timedelta(days=3650) and config.key_renew_period == dt.timedelta(days=30)
    assert config.key_cutoff_time is None and config.key_order_priority == "CertNotBefore"
    assert (config.all_namespaces, config.update_status, config.skip_recreate) == (True, True, False)
    assert (config.max_unseal_retries, config.accept_deprecated_v1_data) == (5, True)
    assert (config.rate_limit, config.rate_limit_burst) == (2.0, 2)
    assert (config.listen_addr, config.listen_metrics_addr) == (":8080", ":8081")
    assert (config.lease_duration, config.renew_deadline, config.retry_period) == (
        dt.timedelta(seconds=15),
        dt.timedelta(seconds=10),
        dt.timedelta(seconds=2),
    )
    assert config.namespace == "default" and config.kubeconfig is None and config.lease_name == "gitsecure-controller"


def test_every_flag_is_parsed() -> None:
    config = parse(
        "--kubeconfig=/tmp/kc",
        "--namespace",
        "sealed",
        "--all-namespaces=false",
        "--additional-namespaces",
        "team-a, team-b,team-a,",
        "--label-selector",
        "app=web",
        "--key-prefix",
        "my-keys",
        "--key-size",
        "3072",
        "--key-ttl",
        "8760h",
        "--key-renew-period",
        "1h30m",
        "--key-cutoff-time",
        "Sat, 21 Nov 2026 10:00:00 +0100",
        "--key-order-priority",
        "SecretCreationTimestamp",
        "--my-cn",
        "sealed-secret",
        "--privatekey-labels",
        "team=platform,example.com/tier=",
        "--privatekey-annotations",
        "note=a=b c,example.com/owner=ops",
        "--update-status=0",
        "--skip-recreate",
        "--max-unseal-retries",
        "0",
        "--accept-deprecated-v1-data=F",
        "--rate-limit",
        "0.5",
        "--rate-limit-burst",
        "10",
        "--listen-addr",
        "127.0.0.1:0",
        "--listen-metrics-addr",
        "[::1]:9090",
        "--leader-elect=false",
        "--leader-election-id",
        "sealed.example",
        "--leader-elect-lease-duration",
        "30s",
        "--leader-elect-renew-deadline",
        "20s",
        "--leader-elect-retry-period",
        "5s",
        "--workers",
        "8",
        "--log-level",
        "warn",
        "--log-format",
        "JSON",
    )
    assert config == ControllerConfig(
        kubeconfig="/tmp/kc",
        namespace="sealed",
        all_namespaces=False,
        additional_namespaces=("team-a", "team-b"),
        label_selector="app=web",
        key_prefix="my-keys",
        key_size=3072,
        key_ttl=dt.timedelta(hours=8760),
        key_renew_period=dt.timedelta(minutes=90),
        key_cutoff_time=dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC),
        key_order_priority="SecretCreationTimestamp",
        my_cn="sealed-secret",
        privatekey_labels={"team": "platform", "example.com/tier": ""},
        privatekey_annotations={"note": "a=b c", "example.com/owner": "ops"},
        update_status=False,
        skip_recreate=True,
        max_unseal_retries=0,
        accept_deprecated_v1_data=False,
        rate_limit=0.5,
        rate_limit_burst=10,
        listen_addr="127.0.0.1:0",
        listen_metrics_addr="[::1]:9090",
        leader_elect=False,
        lease_name="sealed.example",
        lease_duration=dt.timedelta(seconds=30),
        renew_deadline=dt.timedelta(seconds=20),
        retry_period=dt.timedelta(seconds=5),
        workers=8,
        log_level="WARNING",
        log_format="json",
    )


def test_environment_precedence_flag_then_gitsecure_then_sealed_secrets() -> None:
    env = {"SEALED_SECRETS_KEY_SIZE": "2048", "GITSECURE_CONTROLLER_KEY_SIZE": "3072"}
    assert parse(env=env).key_size == 3072
    assert parse("--key-size", "8192", env=env).key_size == 8192
    assert parse(env={"SEALED_SECRETS_KEY_SIZE": "2048"}).key_size == 2048
    assert parse(env={"GITSECURE_CONTROLLER_KEY_SIZE": "", "SEALED_SECRETS_KEY_SIZE": "2048"}).key_size == 2048
    # The variables upstream's deployments set.
    config = parse(
        env={
            "SEALED_SECRETS_UPDATE_STATUS": "false",
            "SEALED_SECRETS_KEY_RENEW_PERIOD": "0",
            "SEALED_SECRETS_KEY_CUTOFF_TIME": "Mon, 02 Jan 2006 15:04:05 -0700",
            "SEALED_SECRETS_PRIVATEKEY_LABELS": "a=b",
        }
    )
    assert config.update_status is False and config.key_renew_period == dt.timedelta(0)
    assert config.key_cutoff_time == dt.datetime(2006, 1, 2, 22, 4, 5, tzinfo=dt.UTC)
    assert config.privatekey_labels == {"a": "b"}


def test_every_flag_has_both_environment_names() -> None:
    for flag in FLAGS:
        stem = flag.names[0].upper().replace("-", "_")
        assert env_names(flag.names[0]) == [f"GITSECURE_CONTROLLER_{stem}", f"SEALED_SECRETS_{stem}"]


def test_rotate_period_is_a_deprecated_alias(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gitsecure.controller"):
        assert parse("--rotate-period", "2h").key_renew_period == dt.timedelta(hours=2)
    assert "--rotate-period is deprecated" in caplog.text
    assert parse("--rotate-period=2h", "--key-renew-period=3h").key_renew_period == dt.timedelta(hours=3)
    assert parse(env={"SEALED_SECRETS_ROTATE_PERIOD": "4h"}).key_renew_period == dt.timedelta(hours=4)
    env = {"SEALED_SECRETS_ROTATE_PERIOD": "4h", "SEALED_SECRETS_KEY_RENEW_PERIOD": "5h"}
    assert parse(env=env).key_renew_period == dt.timedelta(hours=5)


def test_controller_namespace_detection(tmp_path: Path) -> None:
    sa_file = tmp_path / "namespace"
    sa_file.write_text("from-service-account\n")
    assert parse(namespace_file=sa_file).namespace == "from-service-account"
    assert parse(env={"POD_NAMESPACE": "from-pod"}, namespace_file=sa_file).namespace == "from-pod"
    assert (
        parse("--namespace", "from-flag", env={"POD_NAMESPACE": "p"}, namespace_file=sa_file).namespace == "from-flag"
    )
    assert parse(env={"SEALED_SECRETS_NAMESPACE": "from-env", "POD_NAMESPACE": "p"}).namespace == "from-env"
    sa_file.write_text("  \n")
    assert parse(namespace_file=sa_file).namespace == "default"
    assert parse(namespace_file=tmp_path).namespace == "default"  # unreadable (a directory)
    with pytest.raises(UsageError, match="POD_NAMESPACE: invalid namespace 'Bad_NS'"):
        parse(env={"POD_NAMESPACE": "Bad_NS"})


def test_booleans_take_gos_spellings() -> None:
    for text in ("1", "t", "T", "TRUE", "true", "True"):
        assert parse_go_bool(text) is True
        assert parse(f"--skip-recreate={text}").skip_recreate is True
    for text in ("0", "f", "F", "FALSE", "false", "False"):
        assert parse_go_bool(text) is False
        assert parse(env={"SEALED_SECRETS_LEADER_ELECT": text}).leader_elect is False
    assert parse("--leader-elect", "false").leader_elect is False
    assert parse("--label-selector", "-x", "--leader-elect").label_selector == "-x"  # a value may start with '-'

    assert parse("--leader-elect").leader_elect is True
    for text in ("yes", "tRuE", "on", "2"):
        with pytest.raises(UsageError, match="invalid boolean"):
            parse_go_bool(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("720h", dt.timedelta(hours=720)),
        ("1h30m", dt.timedelta(minutes=90)),
        ("1.5h", dt.timedelta(minutes=90)),
        ("90s", dt.timedelta(seconds=90)),
        ("250ms", dt.timedelta(milliseconds=250)),
        ("1m0.5s", dt.timedelta(seconds=60.5)),
        (".5s", dt.timedelta(milliseconds=500)),
        ("3us", dt.timedelta(microseconds=3)),
        ("3µs", dt.timedelta(microseconds=3)),
        ("1500ns", dt.timedelta(microseconds=1)),
        ("0", dt.timedelta(0)),
        ("+2m", dt.timedelta(minutes=2)),
        ("-2m", dt.timedelta(minutes=-2)),
    ],
)
def test_go_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_go_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("30d", "unknown unit 'd'"),
        ("90", "missing unit"),
        ("", "use Go syntax"),
        ("h", "use Go syntax"),
        ("1h 30m", "use Go syntax"),
        ("1..5s", "use Go syntax"),
        ("3000000h", "longer than Go's limit"),
    ],
)
def test_bad_go_durations(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        parse_go_duration(text)


def test_format_go_duration() -> None:
    assert format_go_duration(dt.timedelta(hours=720)) == "720h0m0s"
    assert format_go_duration(dt.timedelta(seconds=90)) == "1m30s"
    assert format_go_duration(dt.timedelta(0)) == "0s"
    assert format_go_duration(dt.timedelta(minutes=-1)) == "-1m0s"


def test_rfc1123z() -> None:
    assert parse_rfc1123z("Mon, 02 Jan 2006 15:04:05 -0700") == dt.datetime(2006, 1, 2, 22, 4, 5, tzinfo=dt.UTC)
    parsed = parse_rfc1123z("sun, 22 nov 2026 07:04:00.123 +0530")  # Go ignores case and accepts fractions
    assert parsed.utcoffset() == dt.timedelta(hours=5, minutes=30) and parsed.minute == 4
    for text in ("2026-11-22T07:04:00Z", "Sun, 22 Nov 2026 07:04:00 GMT", "Sun, 2 Nov 2026 07:04:00 +0000"):
        with pytest.raises(UsageError, match="RFC 1123"):
            parse_rfc1123z(text)
    with pytest.raises(UsageError, match="day is out of range"):
        parse_rfc1123z("Mon, 31 Feb 2026 07:04:00 +0000")


def test_key_values() -> None:
    assert parse_key_values("") == {}
    assert parse_key_values("a=1, b = 2,,c=x=y") == {"a": "1", "b": "2", "c": "x=y"}
    for text in ("novalue", "a=1,=2"):
        with pytest.raises(UsageError, match="expected key=value"):
            parse_key_values(text)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (["--key-renew"], {}, "unrecognized arguments: --key-renew"),  # no abbreviations
        (["stray"], {}, "unrecognized arguments: stray"),
        (["--key-size"], {}, "expected one argument"),
        (["--key-renew-period", "30d"], {}, "--key-renew-period: invalid duration '30d': unknown unit 'd'"),
        (["--key-renew-period", "-1h"], {}, "--key-renew-period: duration '-1h' must be zero or positive"),
        (["--key-ttl", "0"], {}, "--key-ttl: duration '0' must be positive"),
        (["--key-cutoff-time", "yesterday"], {}, "--key-cutoff-time: invalid time 'yesterday'"),
        (["--key-prefix", "Sealed_Keys"], {}, "--key-prefix: invalid key prefix 'Sealed_Keys'"),
        (["--key-prefix", ""], {}, "--key-prefix: invalid key prefix ''"),
        (["--key-prefix", "a" * 246], {}, "at most 245 characters"),
        (["--privatekey-labels", "team"], {}, "--privatekey-labels: invalid entry 'team': expected key=value"),
        (["--privatekey-labels", "a=b,c"], {}, "--privatekey-labels: invalid entry 'c'"),
        (["--privatekey-labels", "a=not valid"], {}, "invalid label value 'not valid'"),
        (["--privatekey-labels", "bad key=v"], {}, "invalid key 'bad key'"),
        (
            ["--privatekey-labels", "sealedsecrets.bitnami.com/sealed-secrets-key=off"],
            {},
            "always 'active' on new keys",
        ),
        (["--privatekey-annotations", "x"], {}, "--privatekey-annotations: invalid entry 'x'"),
        (["--key-order-priority", "Newest"], {}, "choose one of CertNotBefore, SecretCreationTimestamp"),
        (["--key-size", "1024"], {}, "--key-size: 1024 is out of range (2048 to 16384)"),
        (["--key-size", "big"], {}, "--key-size: invalid integer 'big'"),
        (["--workers", "0"], {}, "--workers: 0 is out of range"),
        (["--rate-limit", "0"], {}, "--rate-limit: '0' must be a positive number"),
        (["--rate-limit", "nan"], {}, "must be a positive number"),
        (["--listen-addr", "8080"], {}, "--listen-addr: invalid address '8080'"),
        (["--listen-addr", ":http"], {}, "invalid address"),
        (["--listen-metrics-addr", ":70000"], {}, "invalid address"),
        (["--additional-namespaces", "ok,Not_OK"], {}, "invalid namespace 'Not_OK'"),
        (["--leader-election-id", "Bad Name"], {}, "invalid Lease name"),
        (["--leader-elect-renew-deadline", "20s"], {}, "leader election needs"),
        (["--leader-elect-retry-period", "9s"], {}, "leader election needs"),
        (["--log-level", "trace"], {}, "--log-level: invalid value 'TRACE'"),
        (["--log-format", "xml"], {}, "choose one of text, json"),
        (["--update-status=maybe"], {}, "--update-status: invalid boolean 'maybe'"),
        ([], {"SEALED_SECRETS_UPDATE_STATUS": "maybe"}, "SEALED_SECRETS_UPDATE_STATUS: invalid boolean 'maybe'"),
        ([], {"GITSECURE_CONTROLLER_KEY_TTL": "10y"}, "GITSECURE_CONTROLLER_KEY_TTL: invalid duration '10y'"),
    ],
)
def test_bad_values_are_one_line_usage_errors(argv: list[str], env: dict[str, str], message: str) -> None:
    assert message in error(*argv, env=env)


def test_upstream_flags_without_effect_are_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gitsecure.controller"):
        config = parse("--watch-for-secrets", "--old-gc-behavior=false", "--log-info-stdout", "--read-timeout", "2m")
    assert config == ControllerConfig()
    assert "--watch-for-secrets is accepted for compatibility and has no effect" in caplog.text
    assert "--read-timeout" in caplog.text


@pytest.mark.parametrize("selector", ["app=shop", "app==shop,tier!=db", "managed", "!legacy", " app = shop "])
def test_equality_label_selectors_are_accepted(selector: str) -> None:
    assert parse_controller_args(["--label-selector", selector], {}).label_selector == selector.strip()


@pytest.mark.parametrize("selector", ["env in (a,b)", "env notin (a)", "a=b=c", "x>1"])
def test_set_based_or_malformed_label_selectors_are_refused(selector: str) -> None:
    with pytest.raises(UsageError, match="label selector"):
        parse_controller_args(["--label-selector", selector], {})
