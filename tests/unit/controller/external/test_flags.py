"""The external-secrets flags and their environment variables."""

from __future__ import annotations

import datetime as dt

import pytest

from gitsecure.controller.config import ControllerConfig, parse_controller_args
from gitsecure.errors import UsageError


def parse(*argv: str, env: dict[str, str] | None = None) -> ControllerConfig:
    return parse_controller_args(list(argv), env or {}, namespace_file=__import__("pathlib").Path("/nonexistent"))


def test_defaults() -> None:
    config = parse()
    assert config.enable_external_secrets is True and config.external_secrets_workers == 4
    assert config.controller_class == "default" and config.enable_flood_gate is True
    assert config.store_requeue_interval == dt.timedelta(minutes=5)
    assert config.provider_backoff_max == dt.timedelta(minutes=5)
    assert (config.provider_rate_limit, config.provider_rate_limit_burst) == (50.0, 100)


def test_flags_and_environment() -> None:
    config = parse(
        "--enable-external-secrets=false", "--external-secrets-workers", "8", "--controller-class", "team-a",
        "--store-requeue-interval", "90s", "--enable-flood-gate=0", "--provider-backoff-max", "1m",
        "--provider-rate-limit", "2.5", "--provider-rate-limit-burst", "5",
    )  # fmt: skip
    assert not config.enable_external_secrets and config.external_secrets_workers == 8
    assert config.controller_class == "team-a" and not config.enable_flood_gate
    assert config.store_requeue_interval == dt.timedelta(seconds=90)
    assert config.provider_backoff_max == dt.timedelta(minutes=1)
    assert (config.provider_rate_limit, config.provider_rate_limit_burst) == (2.5, 5)
    from_env = parse(env={"GITSECURE_CONTROLLER_PROVIDER_BACKOFF_MAX": "30s"})
    assert from_env.provider_backoff_max == dt.timedelta(seconds=30)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--external-secrets-workers", "0"), "0 is out of range"),
        (("--store-requeue-interval", "0s"), "must be positive"),
        (("--provider-backoff-max", "5 min"), "invalid duration"),
        (("--controller-class", " "), "invalid controller class"),
        (("--provider-rate-limit", "-1"), "must be a positive number"),
    ],
)
def test_bad_values(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(*argv)
    assert message in caught.value.message and argv[0] in caught.value.message
