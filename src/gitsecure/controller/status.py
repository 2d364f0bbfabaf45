"""The ``Synced`` condition of a SealedSecret's status, as the sealed-secrets controller writes it.

Reference §2.3: one condition type, ``Synced``, ``"True"`` with no message on
success, ``"False"`` with the error text on failure. ``lastUpdateTime`` is
refreshed on every pass and ``lastTransitionTime`` only when the condition's
status changes. The status is written only when that status changed or
``observedGeneration`` lags ``metadata.generation``; otherwise the refreshed
timestamps (and a changed failure message) are not persisted, as upstream.
``reason`` is never set (upstream leaves it empty); one already present is
kept, as are other conditions and status fields.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

SYNCED = "Synced"
# Go's SealedSecretCondition field order; empty fields are omitted (omitempty).
_CONDITION_FIELDS = ("type", "status", "lastUpdateTime", "lastTransitionTime", "reason", "message")


def synced_status(
    current: Mapping[str, Any] | None, *, generation: int, ok: bool, message: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The status to write after a pass, or None when nothing needs writing.

    ``message`` is the failure text (ignored when ``ok``); ``now`` stamps the
    condition (a naive datetime is taken as UTC).
    """
    status: dict[str, Any] = copy.deepcopy(dict(current)) if current else {}
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, Mapping)]
    condition = next((c for c in conditions if c.get("type") == SYNCED), None)
    if condition is None:
        condition = {"type": SYNCED}
        conditions.append(condition)
    new_status = "True" if ok else "False"
    stamp = _metav1_time(now)
    condition["message"] = "" if ok else message
    condition["lastUpdateTime"] = stamp
    changed = condition.get("status") != new_status
    if changed:
        condition["status"] = new_status
        condition["lastTransitionTime"] = stamp
    if not changed and int(status.get("observedGeneration") or 0) == generation:
        return None
    ordered = [_ordered(c) for c in conditions]
    status["conditions"] = ordered
    if generation:
        status["observedGeneration"] = generation
    else:
        status.pop("observedGeneration", None)
    return status


def _ordered(condition: dict[str, Any]) -> dict[str, Any]:
    known = {k: condition[k] for k in _CONDITION_FIELDS if condition.get(k) not in (None, "")}
    return {**known, **{k: v for k, v in condition.items() if k not in _CONDITION_FIELDS}}


def _metav1_time(now: dt.datetime) -> str:
    # metav1.Time serializes as RFC 3339 in UTC with whole seconds.
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
