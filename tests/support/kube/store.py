"""The emulator's object store: live objects indexed by key, uid and owner, resourceVersions, changes, watchers.

Lookups are dict lookups (no scan per request); a list scans one resource (one namespace when
asked). Every write takes the next cluster-wide resourceVersion and is appended to a bounded change
log, so a watch can resume from a resourceVersion or learn that it is too old (410). Stored dicts
are never mutated after they are stored: writers build new ones. Every version is also archived in
kmock's ``objects`` view, so tests can read an object's history there.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import kmock

from tests.support.kube.selectors import FieldSelector, LabelSelector

Key = tuple[kmock.resource, str | None, str]


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object's metadata dict (empty when absent)."""
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def owner_uids(obj: Mapping[str, Any]) -> set[str]:
    """The uids this object's ownerReferences point at."""
    return {
        str(ref.get("uid"))
        for ref in meta(obj).get("ownerReferences") or []
        if isinstance(ref, Mapping) and ref.get("uid")
    }


@dataclass(frozen=True, slots=True)
class Change:
    """One write as a watch sees it; ``old`` is the previous state for MODIFIED."""

    rv: int
    resource: kmock.resource
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(eq=False)
class Watcher:
    """One open watch: what it selects and the queue of changes for it (None ends the stream)."""

    resource: kmock.resource
    namespace: str | None
    name: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: asyncio.Queue[Change | None] = field(default_factory=asyncio.Queue)

    def accepts(self, obj: Mapping[str, Any]) -> bool:
        """Whether the object is in this watch's selection."""
        metadata = meta(obj)
        if self.namespace is not None and metadata.get("namespace") != self.namespace:
            return False
        if self.name is not None and metadata.get("name") != self.name:
            return False
        return self.labels.matches(obj) and self.fields.matches(obj)

    def translate(self, change: Change) -> tuple[str, dict[str, Any]] | None:
        """The event this watch reports for a change, as the API server's watch cache does.

        An object that enters the selection is ADDED, one that leaves it is DELETED (its previous
        state at the new resourceVersion), and changes outside the selection are not reported.
        """
        new_in = self.accepts(change.obj)
        if change.type != "MODIFIED":
            return (change.type, change.obj) if new_in else None
        old_in = change.old is not None and self.accepts(change.old)
        if new_in:
            return ("MODIFIED" if old_in else "ADDED", change.obj)
        if old_in and change.old is not None:
            gone = dict(change.old)
            gone["metadata"] = {**meta(change.old), "resourceVersion": str(change.rv)}
            return ("DELETED", gone)
        return None


class ObjectStore:
    """Live objects and their indexes; used only from the emulator's event loop."""

    def __init__(self, archive: kmock.ObjectsArray, *, history: int) -> None:
        self._archive = archive
        self._live: dict[kmock.resource, dict[str | None, dict[str, dict[str, Any]]]] = {}
        self._uids: dict[str, Key] = {}
        self._dependents: dict[str, set[Key]] = collections.defaultdict(set)
        self._changes: collections.deque[Change] = collections.deque(maxlen=max(history, 1))
        self._compacted = 0  # changes at or below this resourceVersion are no longer in the log
        self._watchers: dict[kmock.resource, set[Watcher]] = collections.defaultdict(set)
        self.rv = 0

    # -- reading --------------------------------------------------------------------------------
    def get(self, key: Key) -> dict[str, Any] | None:
        """The live object under a key."""
        resource, namespace, name = key
        return self._live.get(resource, {}).get(namespace, {}).get(name)

    def by_uid(self, uid: str) -> tuple[Key, dict[str, Any]] | None:
        """The live object with this uid, with its key."""
        key = self._uids.get(uid)
        obj = self.get(key) if key is not None else None
        return (key, obj) if key is not None and obj is not None else None

    def items(self, resource: kmock.resource, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Live objects of a resource, in one namespace or all, sorted by namespace and name like etcd keys."""
        spaces = self._live.get(resource, {})
        selected = [namespace] if namespace is not None else sorted(spaces, key=lambda ns: ns or "")
        for ns in selected:
            objects = spaces.get(ns, {})
            for name in sorted(objects):
                yield objects[name]

    def resources(self) -> list[kmock.resource]:
        """Resources that hold (or held) objects."""
        return list(self._live)

    def dependents(self, uid: str) -> list[Key]:
        """Keys of live objects with an ownerReference to this uid."""
        return sorted(self._dependents.get(uid, ()), key=lambda key: (key[1] or "", key[2]))

    # -- writing --------------------------------------------------------------------------------
    def put(self, key: Key, obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Store a new state (ADDED or MODIFIED) under the next resourceVersion and tell the watchers."""
        resource, namespace, name = key
        old = self.get(key)
        self.rv += 1
        obj["metadata"] = {**meta(obj), "resourceVersion": str(self.rv)}
        self._live.setdefault(resource, {}).setdefault(namespace, {})[name] = obj
        uid = meta(obj).get("uid")
        if uid:
            self._uids[str(uid)] = key
        self._reindex_owners(key, old, obj)
        if key in self._archive and not self._archive[key].deleted:
            self._archive[key].history.append(obj)
        elif key in self._archive:
            self._archive[key].create(obj)
        else:
            self._archive[key] = obj
        self._emit(Change(self.rv, resource, event, obj, old))
        return obj

    def remove(self, key: Key, state: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Delete a live object; its final state (``state``, else the stored one) gets the deletion's RV."""
        resource, namespace, name = key
        old = self._live[resource][namespace].pop(name)
        self.rv += 1
        base = state if state is not None else old
        final = dict(base)
        final["metadata"] = {**meta(base), "resourceVersion": str(self.rv)}
        self._uids.pop(str(meta(old).get("uid")), None)
        self._reindex_owners(key, old, None)
        self._archive[key].delete()
        self._emit(Change(self.rv, resource, "DELETED", final, old))
        return final

    def _reindex_owners(self, key: Key, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        before = owner_uids(old) if old is not None else set()
        after = owner_uids(new) if new is not None else set()
        for uid in before - after:
            self._dependents[uid].discard(key)
            if not self._dependents[uid]:
                del self._dependents[uid]
        for uid in after - before:
            self._dependents[uid].add(key)

    # -- changes and watchers -------------------------------------------------------------------
    def _emit(self, change: Change) -> None:
        if len(self._changes) == self._changes.maxlen:
            self._compacted = self._changes[0].rv
        self._changes.append(change)
        for watcher in self._watchers.get(change.resource, ()):
            watcher.queue.put_nowait(change)

    def changes_since(self, resource: kmock.resource, rv: int) -> list[Change] | None:
        """Changes of a resource after ``rv``; None when the log no longer reaches back that far."""
        if rv < self._compacted:
            return None
        return [change for change in self._changes if change.rv > rv and change.resource == resource]

    def compact(self) -> None:
        """Forget the change log, like etcd compaction: watches from an older resourceVersion get 410."""
        self._changes.clear()
        self._compacted = self.rv

    @property
    def compacted(self) -> int:
        """The newest resourceVersion no longer in the change log."""
        return self._compacted

    def add_watcher(self, watcher: Watcher) -> None:
        """Start delivering changes of the watcher's resource to it."""
        self._watchers[watcher.resource].add(watcher)

    def remove_watcher(self, watcher: Watcher) -> None:
        """Stop delivering to a watcher."""
        self._watchers[watcher.resource].discard(watcher)

    def close_watchers(self) -> None:
        """End every open watch stream (before the server shuts down)."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.queue.put_nowait(None)

    def watcher_count(self) -> int:
        """How many watch streams are open."""
        return sum(len(watchers) for watchers in self._watchers.values())
