"""The quota check and the stale-plan fingerprint."""

from __future__ import annotations

from dataclasses import replace

from reconciler.model.desired import InstanceSource
from reconciler.model.observed import ImageState, ObservedImage
from reconciler.planner import fingerprint, fingerprint_changes

from .builders import cloud, image, plan, state
from .scenarios import converge, edit, image_at


def test_quota_counts_every_image_and_the_temporary_extra_of_a_replacement() -> None:
    desired = state(image("web"))
    before = converge(desired)
    full = replace(before, quotas={"ap-guangzhou": 1})
    replaced = plan(state(image("web", source=InstanceSource(instance_id="ins-demo0004"))), full)
    assert replaced.errors == (
        "quota: ap-guangzhou would hold 2 custom images during the apply (1 now, 1 to make, "
        "old generations kept until their replacements exist) but DescribeImageQuota allows 1; "
        "delete unused images or ask Tencent Cloud for a higher quota",
    )
    assert plan(desired, full).errors == ()
    roomy = replace(before, quotas={"ap-guangzhou": 2})
    assert (
        plan(state(image("web", source=InstanceSource(instance_id="ins-demo0004"))), roomy).errors
        == ()
    )


def test_fingerprint_names_what_changed_on_a_touched_image() -> None:
    desired = state(image("web"), shares={"web": {"ap-guangzhou": ["100000000002"]}})
    before = converge(desired)
    home = image_at(before, "image.web")
    result = plan(
        state(image("web", description="new"), shares={"web": {"ap-guangzhou": ["100000000002"]}}),
        before,
    )
    assert home.image_id in result.fingerprint
    unchanged = fingerprint(result.fingerprint, before)
    assert fingerprint_changes(result.fingerprint, unchanged) == []
    # State and sync progress never make a plan stale.
    busy = edit(before, "image.web", state=ImageState.SYNCING, sync_percent=40)
    assert fingerprint_changes(result.fingerprint, fingerprint(result.fingerprint, busy)) == []
    shared = edit(before, "image.web", shares=("100000000002", "100000000009"), family="x")
    assert fingerprint_changes(result.fingerprint, fingerprint(result.fingerprint, shared)) == [
        f"{home.image_id} (ap-guangzhou): family changed, now shared with 100000000009"
    ]
    gone = replace(before, images=())
    assert fingerprint_changes(result.fingerprint, fingerprint(result.fingerprint, gone)) == [
        f"{home.image_id} no longer exists"
    ]


def test_fingerprint_checks_that_names_to_make_are_still_free() -> None:
    desired = state(image("web"))
    result = plan(desired, cloud())
    name = str(desired.images[0].cloud_name)
    assert result.fingerprint == {f"name:ap-guangzhou:{name}": "free"}
    taken = cloud(ObservedImage(image_id="img-x0000001", region="ap-guangzhou", name=name))
    assert fingerprint_changes(result.fingerprint, fingerprint(result.fingerprint, taken)) == [
        f"the image name {name} in ap-guangzhou was free and is now held by img-x0000001"
    ]
    unrelated = cloud(ObservedImage(image_id="img-x0000002", region="ap-guangzhou", name="other"))
    assert fingerprint_changes(result.fingerprint, fingerprint(result.fingerprint, unrelated)) == []
