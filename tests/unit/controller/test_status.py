"""The Synced condition and when it is written (reference §2.3)."""

from __future__ import annotations

import copy
import datetime as dt

from gitsecure.controller.status import synced_status

T0 = dt.datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=5)
FAILURE = "no key could decrypt secret (password)"


def test_first_success_writes_a_true_condition_without_message_or_reason() -> None:
    assert synced_status(None, generation=1, ok=True, message="ignored", now=T0) == {
        "conditions": [
            {
                "type": "Synced",
                "status": "True",
                "lastUpdateTime": "2026-11-22T12:00:00Z",
                "lastTransitionTime": "2026-11-22T12:00:00Z",
            }
        ],
        "observedGeneration": 1,
    }


def test_failure_carries_the_message() -> None:
    status = synced_status({}, generation=3, ok=False, message=FAILURE, now=T0)
    assert status is not None
    assert status["conditions"] == [
        {
            "type": "Synced",
            "status": "False",
            "lastUpdateTime": "2026-11-22T12:00:00Z",
            "lastTransitionTime": "2026-11-22T12:00:00Z",
            "message": FAILURE,
        }
    ]
    assert status["observedGeneration"] == 3


def test_nothing_to_write_when_status_and_generation_are_unchanged() -> None:
    current = synced_status(None, generation=2, ok=True, message="", now=T0)
    assert synced_status(current, generation=2, ok=True, message="", now=T1) is None
    failed = synced_status(None, generation=2, ok=False, message=FAILURE, now=T0)
    # A new failure text alone is not persisted, as upstream.
    assert synced_status(failed, generation=2, ok=False, message="another error", now=T1) is None


def test_a_new_generation_refreshes_update_time_but_not_transition_time() -> None:
    current = synced_status(None, generation=1, ok=True, message="", now=T0)
    status = synced_status(current, generation=2, ok=True, message="", now=T1)
    assert status is not None
    [condition] = status["conditions"]
    assert condition["lastTransitionTime"] == "2026-11-22T12:00:00Z"
    assert condition["lastUpdateTime"] == "2026-11-22T12:05:00Z"
    assert status["observedGeneration"] == 2


def test_a_status_change_moves_the_transition_time_and_clears_the_message() -> None:
    failed = synced_status(None, generation=1, ok=False, message=FAILURE, now=T0)
    status = synced_status(failed, generation=1, ok=True, message="", now=T1)
    assert status is not None
    [condition] = status["conditions"]
    assert condition == {
        "type": "Synced",
        "status": "True",
        "lastUpdateTime": "2026-11-22T12:05:00Z",
        "lastTransitionTime": "2026-11-22T12:05:00Z",
    }


def test_other_conditions_fields_and_reason_are_kept_and_input_untouched() -> None:
    current = {
        "observedGeneration": 4,
        "conditions": [
            {"type": "Other", "status": "True"},
            {
                "type": "Synced",
                "status": "True",
                "reason": "Elsewhere",
                "lastTransitionTime": "2020-01-01T00:00:00Z",
            },
        ],
    }
    before = copy.deepcopy(current)
    status = synced_status(current, generation=4, ok=False, message=FAILURE, now=T0)
    assert current == before
    assert status is not None
    assert status["conditions"][0] == {"type": "Other", "status": "True"}
    assert status["conditions"][1]["reason"] == "Elsewhere"
    assert status["conditions"][1]["status"] == "False"
    assert list(status["conditions"][1]) == [
        "type",
        "status",
        "lastUpdateTime",
        "lastTransitionTime",
        "reason",
        "message",
    ]


def test_times_are_utc_whole_seconds() -> None:
    naive = dt.datetime(2026, 11, 22, 12, 0, 0)
    offset = dt.datetime(2026, 11, 22, 14, 0, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    for now, expected in ((naive, "2026-11-22T12:00:00Z"), (offset, "2026-11-22T12:00:59Z")):
        status = synced_status(None, generation=1, ok=True, message="", now=now)
        assert status is not None
        assert status["conditions"][0]["lastUpdateTime"] == expected


def test_generation_zero_is_omitted_like_go() -> None:
    status = synced_status(None, generation=0, ok=True, message="", now=T0)
    assert status is not None
    assert "observedGeneration" not in status
    assert synced_status(status, generation=0, ok=True, message="", now=T1) is None
