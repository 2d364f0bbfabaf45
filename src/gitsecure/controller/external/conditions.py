"""The ``Ready`` condition and status blocks of ExternalSecrets and stores, written only when they change.

``lastTransitionTime`` moves only when the condition's status flips (a new reason or message keeps it),
as ESO's ``SetExternalSecretCondition``. Other conditions and status fields are kept.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

READY = "Ready"


def metav1_time(now: dt.datetime) -> str:
    """RFC 3339, UTC, whole seconds (``metav1.Time``)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> dt.datetime | None:
    """A ``metav1.Time`` string as an aware datetime; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def ready(obj: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The object's Ready condition, if any."""
    status = (obj or {}).get("status")
    if not isinstance(status, Mapping):
        return None
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == READY:
            return condition
    return None


def with_ready(
    current: Mapping[str, Any] | None, *, status: str, reason: str, message: str, now: dt.datetime
) -> dict[str, Any]:
    """A copy of the status block ``current`` with its Ready condition set."""
    block: dict[str, Any] = copy.deepcopy(dict(current)) if isinstance(current, Mapping) else {}
    conditions = [dict(c) for c in block.get("conditions") or [] if isinstance(c, Mapping)]
    old = next((c for c in conditions if c.get("type") == READY), None)
    stamp = metav1_time(now)
    if old is not None and old.get("status") == status and old.get("lastTransitionTime"):
        stamp = str(old["lastTransitionTime"])
    new = {"type": READY, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp}
    block["conditions"] = [new if c is old else c for c in conditions] if old is not None else [*conditions, new]
    return block
