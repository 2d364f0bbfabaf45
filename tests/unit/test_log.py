"""No secret material reaches a log line."""

from __future__ import annotations

import logging

import pytest

from gitsecure import log


def test_private_keys_and_registered_values_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    log.configure(1)
    log.redaction.add("hunter2-registered")
    logger = logging.getLogger("gitsecure.test")
    logger.info("loaded %s", "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----")
    logger.warning("value was %s", "hunter2-registered")
    err = capsys.readouterr().err
    assert "MIIEabc" not in err and "hunter2-registered" not in err
    assert err.count(log.REDACTED) == 2


def test_levels() -> None:
    log.configure(-1)
    assert logging.getLogger("gitsecure").level == logging.ERROR
    log.configure(2)
    assert logging.getLogger("gitsecure").level == logging.DEBUG
