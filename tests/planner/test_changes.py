"""Scenario tests of changes, drift and plan errors: apply a state, edit it, plan again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconciler.model.desired import (
    DeletionPolicy,
    DesiredState,
    ExistingSource,
    InstanceSource,
    Lifecycle,
)
from reconciler.model.observed import TAG_LIFECYCLE, ImageState, ObservedCloud, ObservedImage
from reconciler.model.plan import Action

from .builders import cloud, image, plan, state
from .cloud_model import apply_plan
from .scenarios import actions, converge, edit, image_at, without

PARTNER, OTHER, THIRD = "100000000002", "100000000003", "100000000004"


def web(**changes: object) -> DesiredState:
    return state(
        image("web", **changes),  # type: ignore[arg-type]
        copies={"web": ["ap-shanghai", "ap-singapore"]},
        shares={"web": {"ap-guangzhou": [PARTNER], "ap-singapore": [OTHER]}},
    )


@pytest.fixture(scope="module")
def applied() -> ObservedCloud:
    return converge(web())


def test_a_fresh_cloud_gets_creates_with_sources_and_new_recipients() -> None:
    result = plan(web(), cloud())
    assert actions(result) == {
        "image.web": "create",
        "image.web@ap-shanghai": "create",
        "image.web@ap-singapore": "create",
        "share.web@ap-guangzhou:100000000002": "share",
        "share.web@ap-singapore:100000000003": "share",
    }
    home = next(c for c in result.changes if c.address == "image.web")
    assert str(home.source) == "web.yaml:1"
    assert all(c.new_recipient for c in result.changes if c.action is Action.SHARE)
    assert result.summary["create"] == 3
    assert result.created_at == "2025-01-02T03:04:05Z"
    assert result.expires_at == "2025-01-03T03:04:05Z"


def test_nothing_to_do_after_apply(applied: ObservedCloud) -> None:
    result = plan(web(), applied)
    assert result.steps == ()
    assert actions(result) == {}
    assert not result.has_changes


@pytest.mark.parametrize(
    ("edit_kwargs", "expected", "disruptive"),
    [
        (
            {"description": "new"},
            {
                "image.web": "update",
                "image.web@ap-shanghai": "update",
                "image.web@ap-singapore": "update",
            },
            True,
        ),
        (
            {"tags": {"owner": "ops"}},
            {
                "image.web": "update",
                "image.web@ap-shanghai": "update",
                "image.web@ap-singapore": "update",
            },
            False,
        ),
        (
            {"source": InstanceSource(instance_id="ins-demo0004")},
            {
                "image.web": "replace",
                "image.web@ap-shanghai": "replace",
                "image.web@ap-singapore": "replace",
            },
            False,
        ),
    ],
)
def test_field_edits(
    applied: ObservedCloud,
    edit_kwargs: dict[str, object],
    expected: dict[str, str],
    *,
    disruptive: bool,
) -> None:
    result = plan(web(**edit_kwargs), applied)
    assert actions(result) == expected
    home = next(c for c in result.changes if c.address == "image.web")
    assert home.disruptive is disruptive
    operations = {s.operation for s in result.steps}
    if "tags" in edit_kwargs:
        assert operations == {"ModifyResourceTags"}
        assert [(d.path, d.before, d.after) for d in home.diff] == [
            ("tags.owner", "web-team", "ops")
        ]
    if "source" in edit_kwargs:
        assert home.warnings
        assert "will stop existing" in home.warnings[0]
        assert home.reason.endswith("forces replacement")
    after = apply_plan(applied, result.steps).observed()
    assert plan(web(**edit_kwargs), after).steps == ()


def test_copy_region_added_and_removed(applied: ObservedCloud) -> None:
    added = state(
        image("web"),
        copies={"web": ["ap-shanghai"]},
        shares={"web": {"ap-guangzhou": [PARTNER]}},
    )
    result = plan(added, applied)
    assert actions(result) == {
        "image.web@ap-singapore": "delete",
        "share.web@ap-singapore:100000000003": "unshare",
    }
    cancel, delete = [s for s in result.steps if s.address == "image.web@ap-singapore"][:2]
    assert (cancel.params["Permission"], delete.operation) == ("CANCEL", "DeleteImages")
    assert cancel.id in delete.depends_on


def test_new_and_removed_accounts(applied: ObservedCloud) -> None:
    edited = state(
        image("web"),
        copies={"web": ["ap-shanghai", "ap-singapore"]},
        shares={"web": {"ap-guangzhou": [THIRD], "ap-singapore": [OTHER]}},
    )
    result = plan(edited, applied)
    assert actions(result) == {
        "share.web@ap-guangzhou:100000000002": "unshare",
        "share.web@ap-guangzhou:100000000004": "share",
    }
    share = next(c for c in result.changes if c.action is Action.SHARE)
    assert share.new_recipient


@pytest.mark.parametrize(
    ("lifecycle", "expected_action", "error"),
    [
        (Lifecycle(), "delete", None),
        (Lifecycle(deletion_policy=DeletionPolicy.RETAIN), "forget", None),
        (Lifecycle(protect=True), None, "image.web: lifecycle.protect"),
    ],
)
def test_removed_document_follows_its_lifecycle_tag(
    lifecycle: Lifecycle, expected_action: str | None, error: str | None
) -> None:
    before = converge(state(image("web", lifecycle=lifecycle)))
    result = plan(state(), before)
    if error:
        assert result.errors
        assert result.errors[0].startswith(error)
        return
    assert expected_action is not None
    assert actions(result) == {"image.web": expected_action}
    expected_ops = {"delete": {"DeleteImages"}, "forget": {"UnTagResources"}}[expected_action]
    assert {s.operation for s in result.steps} == expected_ops
    after = apply_plan(before, result.steps).observed()
    if expected_action == "forget":
        (kept,) = after.images
        assert not any(k.startswith("reconciler:") for k in kept.tags)


def test_replacement_of_a_protected_image_names_file_and_line(applied: ObservedCloud) -> None:
    protected = web(
        source=InstanceSource(instance_id="ins-demo0004"), lifecycle=Lifecycle(protect=True)
    )
    result = plan(protected, applied)
    assert any(e.startswith("image.web (web.yaml:1): lifecycle.protect") for e in result.errors)


@pytest.mark.parametrize(
    ("drift", "address", "reason"),
    [
        (
            lambda c: edit(c, "image.web", description="manual"),
            "image.web",
            "description changed outside the stack",
        ),
        (
            lambda c: edit(c, "image.web", name="renamed"),
            "image.web",
            "imageName changed outside the stack",
        ),
        (
            lambda c: without(c, "image.web@ap-shanghai"),
            "image.web@ap-shanghai",
            "the copy in ap-shanghai was deleted outside the stack",
        ),
        (
            lambda c: edit(c, "image.web", shares=(PARTNER, THIRD)),
            "share.web@ap-guangzhou:100000000004",
            "shared outside the stack",
        ),
        (
            lambda c: edit(c, "image.web", shares=()),
            "share.web@ap-guangzhou:100000000002",
            "the share was cancelled outside the stack",
        ),
    ],
)
def test_drift_is_reported_and_corrected(
    applied: ObservedCloud, drift: object, address: str, reason: str
) -> None:
    drifted = drift(applied)  # type: ignore[operator]
    result = plan(web(), drifted)
    assert [(c.address, c.reason) for c in result.drift] == [(address, reason)]
    assert result.steps
    refreshed = plan(web(), drifted, refresh_only=True)
    assert refreshed.drift == result.drift
    assert (refreshed.steps, refreshed.changes) == ((), ())
    after = apply_plan(drifted, result.steps).observed()
    again = plan(web(), after)
    assert (again.steps, again.drift) == ((), ())


def test_ignore_changes_hides_drift_and_edits(applied: ObservedCloud) -> None:
    ignoring = web(lifecycle=Lifecycle(ignore_changes=("description",)), description="edited")
    drifted = edit(applied, "image.web", description="manual")
    result = plan(ignoring, drifted)
    assert result.drift == ()
    assert not any(s.operation == "ModifyImageAttribute" for s in result.steps)


def test_interrupted_create_is_adopted_by_exact_name() -> None:
    desired = state(image("web"))
    made = plan(desired, cloud())
    created = apply_plan(cloud(), made.steps[:1]).observed()
    untagged = replace(created.images[0], tags={})
    result = plan(desired, replace(created, images=(untagged,)))
    (change,) = result.changes
    assert change.action is Action.UPDATE
    assert change.reason == (
        "adopting interrupted create; tags.owner changed; "
        f"waiting for {untagged.image_id} (CREATING) to finish"
    )
    assert not any(s.operation == "CreateImage" for s in result.steps)


def test_a_foreign_image_holding_the_name_is_a_plan_error() -> None:
    desired = state(image("web"))
    name = str(desired.images[0].cloud_name)
    foreign = ObservedImage(
        image_id="img-f0000001",
        region="ap-guangzhou",
        name=name,
        tags={"reconciler:stack": "other"},
    )
    result = plan(desired, cloud(foreign))
    assert result.errors == (
        f"image.web (web.yaml:1): the image name {name} in ap-guangzhou is held by "
        "img-f0000001 (stack other); rename imageName or remove that image",
    )


def test_a_failed_image_is_deleted_then_made_again() -> None:
    desired = state(image("web"))
    before = converge(desired)
    failed = edit(before, "image.web", state=ImageState.CREATEFAILED)
    result = plan(desired, failed)
    ops = [s.operation for s in result.steps]
    assert ops[:2] == ["DeleteImages", "CreateImage"]
    assert result.steps[1].depends_on == (result.steps[0].id,)


def test_existing_image_is_adopted_by_id_and_copied_with_a_suffixed_name() -> None:
    golden = ObservedImage(image_id="img-g0000001", region="ap-guangzhou", name="packer-golden")
    desired = state(
        image("gold", source=ExistingSource(image_id="img-g0000001")),
        copies={"gold": ["ap-shanghai"]},
    )
    result = plan(desired, cloud(golden))
    home = next(c for c in result.changes if c.address == "image.gold")
    assert home.action is Action.UPDATE
    assert home.reason.startswith("adopting existing image img-g0000001; description changed")
    assert not any(s.operation == "CreateImage" for s in result.steps)
    sync = next(s for s in result.steps if s.operation == "SyncImages")
    assert sync.params["ImageName"].startswith("packer-golden-")
    after = converge(desired, cloud(golden))
    assert plan(state(), after).summary["forget"] == 2  # existing defaults to Retain
    assert {i.image_id for i in after.images} >= {"img-g0000001"}


def test_missing_existing_image_is_a_plan_error() -> None:
    desired = state(image("gold", source=ExistingSource(image_id="img-g0000009")))
    result = plan(desired, cloud())
    assert "source.existing.imageId img-g0000009" in result.errors[0]


def test_forced_replacement_bumps_the_revision_and_converges(applied: ObservedCloud) -> None:
    result = plan(web(), applied, replace=("image.web",))
    assert actions(result)["image.web"] == "replace"
    create = next(s for s in result.steps if s.operation == "CreateImage")
    tags = {t["Key"]: t["Value"] for t in create.params["TagSpecification"][0]["Tags"]}
    assert tags["reconciler:revision"] == "1"
    assert create.params["ImageName"] != image_at(applied, "image.web").name
    after = apply_plan(applied, result.steps).observed()
    assert plan(web(), after).steps == ()
    assert plan(web(), after, replace=("image.web",)).steps  # a second --replace makes revision 2


def test_replace_of_an_unknown_address_is_an_error(applied: ObservedCloud) -> None:
    result = plan(web(), applied, replace=("image.web@ap-shanghai",))
    assert result.errors[0].startswith("--replace image.web@ap-shanghai")


def test_destroy_removes_everything_but_protect_blocks_and_retain_forgets() -> None:
    desired = state(
        image("web"),
        image("keep", lifecycle=Lifecycle(deletion_policy=DeletionPolicy.RETAIN)),
        copies={"web": ["ap-shanghai"]},
        shares={"web": {"ap-guangzhou": [PARTNER]}},
    )
    before = converge(desired)
    result = plan(desired, before, destroy=True)
    assert actions(result) == {
        "image.keep": "forget",
        "image.web": "delete",
        "image.web@ap-shanghai": "delete",
        "share.web@ap-guangzhou:100000000002": "unshare",
    }
    protected = replace(
        desired,
        images=tuple(
            replace(i, lifecycle=Lifecycle(protect=True)) if i.name == "web" else i
            for i in desired.images
        ),
    )
    blocked = plan(protected, before, destroy=True)
    assert sorted(e.split(":")[0] for e in blocked.errors) == [
        "image.web (web.yaml",
        "image.web@ap-shanghai (web.yaml",
    ]


def test_target_limits_the_plan_to_the_address_and_its_dependencies() -> None:
    desired = web()
    result = plan(desired, cloud(), targets=("share.web@ap-singapore:100000000003",))
    assert set(actions(result)) == {
        "image.web",
        "image.web@ap-singapore",
        "share.web@ap-singapore:100000000003",
    }
    assert {s.address for s in result.steps} <= set(actions(result))
    unknown = plan(desired, cloud(), targets=("image.nope",))
    assert unknown.errors == ("--target image.nope: no such address in the manifests or the cloud",)


def test_lifecycle_change_updates_the_tag_only(applied: ObservedCloud) -> None:
    result = plan(web(lifecycle=Lifecycle(protect=True)), applied)
    home = next(c for c in result.changes if c.address == "image.web")
    assert home.action is Action.UPDATE
    assert [d.path for d in home.diff] == ["lifecycle.protect"]
    replaced = {
        t["TagKey"]: t["TagValue"] for s in result.steps for t in s.params.get("ReplaceTags", [])
    }
    assert replaced[TAG_LIFECYCLE] == "protect"
