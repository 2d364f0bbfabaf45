"""Steps 4-7 of a pass: which write the controller makes to a SealedSecret's Secret."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from gitsecure.controller.plan import MANAGED_ANNOTATION, PATCH_ANNOTATION, Decision, decide
from gitsecure.seal.sealedsecret import SKIP_OWNER_REFERENCES_ANNOTATION

UID = "uid-of-the-sealed-secret"
OWNER = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "name": "db", "uid": UID, "controller": True}
FOREIGN = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "other-uid", "controller": True}


def built(**overrides: Any) -> dict[str, Any]:
    """A Secret as build_secret makes it."""
    secret: dict[str, Any] = {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": "db",
            "namespace": "shop",
            "labels": {"app": "shop"},
            "annotations": {"note": "new"},
            "ownerReferences": [dict(OWNER)],
        },
        "data": {"password": "bmV3", "user": "YXBw"},
        "type": "Opaque",
    }
    secret.update(overrides)
    return secret


def existing(**meta: Any) -> dict[str, Any]:
    """A Secret as the API server returns it: server fields, finalizers, a differing payload."""
    metadata = {
        "name": "db",
        "namespace": "shop",
        "uid": "secret-uid",
        "resourceVersion": "41",
        "creationTimestamp": "2026-11-01T00:00:00Z",
        "labels": {"old": "label"},
        "annotations": {"old": "annotation"},
        "ownerReferences": [dict(OWNER)],
        "finalizers": ["example.com/keep"],
        "managedFields": [{"manager": "kubectl", "operation": "Update"}],
    }
    metadata.update(meta)
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {k: v for k, v in metadata.items() if v is not None},
        "data": {"password": "b2xk", "extra": "eA=="},
        "type": "Opaque",
    }


def test_missing_secret_is_created_from_a_copy() -> None:
    new = built()
    decision = decide(new, None, owner_uid=UID)
    assert decision.kind == "create"
    assert decision.body == new
    assert decision.body is not new
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.kind = "noop"  # type: ignore[misc]


def test_replace_mode_replaces_payload_and_keeps_everything_else() -> None:
    old = existing()
    decision = decide(built(), old, owner_uid=UID)
    assert decision.kind == "update"
    body = decision.body
    assert body is not None
    assert body["data"] == {"password": "bmV3", "user": "YXBw"}
    assert body["metadata"]["labels"] == {"app": "shop"}
    assert body["metadata"]["annotations"] == {"note": "new"}
    assert body["metadata"]["ownerReferences"] == [OWNER]
    for field in ("uid", "resourceVersion", "creationTimestamp", "finalizers", "managedFields"):
        assert body["metadata"][field] == old["metadata"][field], field
    assert old == existing()  # the input is not touched


def test_an_equal_secret_is_left_alone() -> None:
    current = existing(labels={"app": "shop"}, annotations={"note": "new"})
    current["data"] = {"user": "YXBw", "password": "bmV3"}
    assert decide(built(), current, owner_uid=UID) == Decision("noop", None, "the Secret is up to date")


def test_absent_and_empty_maps_are_equal_and_untyped_means_opaque() -> None:
    new = built(data={})
    del new["type"]
    new["metadata"] = {"name": "db", "namespace": "shop", "ownerReferences": [OWNER]}
    current = existing(labels={}, annotations=None)
    current["data"] = {}
    assert decide(new, current, owner_uid=UID).kind == "noop"
    current["type"] = "kubernetes.io/tls"
    decision = decide(new, current, owner_uid=UID)
    assert decision.kind == "update"
    assert decision.body is not None
    assert decision.body["type"] == "Opaque"
    assert "data" not in decision.body
    assert "labels" not in decision.body["metadata"]


def test_type_comes_from_the_template() -> None:
    decision = decide(built(type="kubernetes.io/basic-auth"), existing(), owner_uid=UID)
    assert decision.body is not None
    assert decision.body["type"] == "kubernetes.io/basic-auth"


@pytest.mark.parametrize(
    "refs",
    [
        None,
        [FOREIGN],
        [{**OWNER, "uid": "a-previous-sealed-secret"}],
        [{**OWNER, "controller": False}],
        [FOREIGN, OWNER],  # only the first controller reference counts (metav1.IsControlledBy)
    ],
    ids=["no-owner", "foreign", "old-uid", "not-controller", "second-controller"],
)
def test_a_secret_it_does_not_control_is_refused(refs: list[dict[str, Any]] | None) -> None:
    current = existing(ownerReferences=refs)
    assert decide(built(), current, owner_uid=UID) == Decision(
        "unmanaged", None, 'Resource "db" already exists and is not managed by SealedSecret'
    )


def test_a_non_controller_reference_before_ours_is_fine() -> None:
    current = existing(ownerReferences=[{**FOREIGN, "controller": False}, OWNER])
    assert decide(built(), current, owner_uid=UID).kind == "update"


def test_managed_annotation_allows_takeover() -> None:
    current = existing(ownerReferences=None, annotations={MANAGED_ANNOTATION: "true"})
    decision = decide(built(), current, owner_uid=UID)
    assert decision.kind == "update"
    assert decision.body is not None
    # Replace mode: the annotations become the template's; the ownerReference now holds the Secret.
    assert decision.body["metadata"]["annotations"] == {"note": "new"}
    assert decision.body["metadata"]["ownerReferences"] == [OWNER]
    assert decide(built(), decision.body, owner_uid=UID).kind == "noop"


def test_patch_mode_merges_and_keeps_foreign_owner() -> None:
    current = existing(ownerReferences=[FOREIGN], annotations={PATCH_ANNOTATION: "true", "note": "old"})
    decision = decide(built(), current, owner_uid=UID)
    assert decision.kind == "update"
    body = decision.body
    assert body is not None
    assert body["data"] == {"password": "bmV3", "extra": "eA==", "user": "YXBw"}
    assert body["metadata"]["labels"] == {"old": "label", "app": "shop"}
    assert body["metadata"]["annotations"] == {PATCH_ANNOTATION: "true", "note": "new"}
    assert body["metadata"]["ownerReferences"] == [FOREIGN]
    assert decide(built(), body, owner_uid=UID).kind == "noop"


@pytest.mark.parametrize("where", ["existing", "template"])
def test_patch_mode_with_managed_takes_the_owner_reference(where: str) -> None:
    annotations = {PATCH_ANNOTATION: "true", **({MANAGED_ANNOTATION: "true"} if where == "existing" else {})}
    new = built()
    if where == "template":
        new["metadata"]["annotations"] = {MANAGED_ANNOTATION: "true"}
    decision = decide(new, existing(ownerReferences=[FOREIGN], annotations=annotations), owner_uid=UID)
    assert decision.body is not None
    assert decision.body["metadata"]["ownerReferences"] == [OWNER]


def test_immutable_secret_refuses_data_changes_but_not_metadata() -> None:
    current = existing()
    current["immutable"] = True
    decision = decide(built(), current, owner_uid=UID)
    assert decision.kind == "immutable"
    assert decision.body is None
    assert decision.message.startswith("Error updating shop/db: the target Secret is immutable. ")
    assert decision.message.endswith("You can only delete and recreate the Secret.")
    current["data"] = dict(built()["data"])
    decision = decide(built(), current, owner_uid=UID)
    assert decision.kind == "update"  # labels and annotations may still change
    assert decision.body is not None
    assert decision.body["immutable"] is True


def test_immutable_is_never_changed_on_update() -> None:
    decision = decide(built(immutable=True), existing(), owner_uid=UID)
    assert decision.body is not None
    assert "immutable" not in decision.body
    current = existing()
    current["immutable"] = False
    decision = decide(built(immutable=True), current, owner_uid=UID)
    assert decision.body is not None
    assert decision.body["immutable"] is False


def test_data_is_compared_as_bytes() -> None:
    current = existing(labels={"app": "shop"}, annotations={"note": "new"})
    # "YR==" is a non-canonical encoding of b"a": the same bytes, so nothing to write.
    current["data"] = {"password": "YR==", "user": "YXBw"}
    assert decide(built(data={"password": "YQ==", "user": "YXBw"}), current, owner_uid=UID).kind == "noop"
    assert decide(built(data={"password": "Yg==", "user": "YXBw"}), current, owner_uid=UID).kind == "update"


def test_skip_set_owner_references_without_managed_is_unmanaged_after_create() -> None:
    new = built()
    new["metadata"]["annotations"] = {SKIP_OWNER_REFERENCES_ANNOTATION: "true"}
    del new["metadata"]["ownerReferences"]
    decision = decide(new, None, owner_uid=UID)
    assert decision.kind == "create"
    assert decision.body is not None
    created = copy.deepcopy(decision.body)
    created["metadata"].update(uid="secret-uid", resourceVersion="1")
    assert decide(new, created, owner_uid=UID).kind == "unmanaged"
    # With `managed` alongside, as the sealed-secrets README advises, the created Secret is in sync.
    new["metadata"]["annotations"][MANAGED_ANNOTATION] = "true"
    created["metadata"]["annotations"][MANAGED_ANNOTATION] = "true"
    assert decide(new, created, owner_uid=UID).kind == "noop"
