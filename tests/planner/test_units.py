"""Table-driven tests of the planner's small parts: applied tags, diff, addresses, ownership."""

from __future__ import annotations

import pytest

from reconciler.model.desired import (
    DeletionPolicy,
    ImportSource,
    InstanceSource,
    Lifecycle,
    SnapshotsSource,
)
from reconciler.model.observed import ObservedImage
from reconciler.model.plan import Action, FieldDiff
from reconciler.planner.applied import (
    TaggedLifecycle,
    applied_hash,
    applied_record,
    changed_source_paths,
    lifecycle_tag,
    managed_tags,
    ownership_keys,
    parse_source_tag,
    source_tag,
)
from reconciler.planner.diff import ABSENT, choose_action, field_diffs, split_drift
from reconciler.planner.ownership import NameHolder, Ownership
from reconciler.planner.targets import Address, parse_address

from .builders import cloud


@pytest.mark.parametrize(
    ("lifecycle", "tag"),
    [
        (Lifecycle(), ""),
        (Lifecycle(protect=True), "protect"),
        (Lifecycle(protect=True, deletion_policy=DeletionPolicy.RETAIN), "protect,retain"),
        (Lifecycle(delete_snapshots=False), "keep-snapshots"),
    ],
)
def test_lifecycle_tag_round_trips(lifecycle: Lifecycle, tag: str) -> None:
    assert lifecycle_tag(lifecycle) == tag
    assert TaggedLifecycle.parse(tag) == TaggedLifecycle.of(lifecycle)


def test_applied_record_leaves_out_ignored_paths_and_unmanaged_names() -> None:
    record = applied_record(
        name=None,
        description="d",
        family="f",
        deprecated=False,
        user_tags={"owner": "a", "team": "b"},
        shares=["100000000002"],
        copies=["ap-shanghai"],
        ignore_changes=["description", "tags.owner"],
    )
    assert record == {
        "family": "f",
        "deprecated": False,
        "tags.team": "b",
        "shares.100000000002": True,
        "copies.ap-shanghai": True,
    }
    everything = applied_record(
        name="n",
        description="d",
        family="",
        deprecated=False,
        user_tags={"owner": "a"},
        ignore_changes=["tags"],
    )
    assert "tags.owner" not in everything


def test_applied_hash_is_short_and_order_independent() -> None:
    first = applied_hash({"a": 1, "b": 2})
    assert first == applied_hash({"b": 2, "a": 1})
    assert len(first) == 12
    assert first != applied_hash({"a": 1, "b": 3})


def test_managed_tags_carry_every_ownership_tag_and_never_a_user_reconciler_key() -> None:
    tags = managed_tags(
        stack="prod",
        address="image.web",
        generation="0123456789abcdef",
        lifecycle=Lifecycle(protect=True),
        applied="aaaaaaaaaaaa",
        revision=2,
        user_tags={"owner": "x", "reconciler:stack": "evil"},
    )
    assert tags == {
        "owner": "x",
        "reconciler:stack": "prod",
        "reconciler:address": "image.web",
        "reconciler:generation": "0123456789ab",
        "reconciler:lifecycle": "protect",
        "reconciler:applied": "aaaaaaaaaaaa",
        "reconciler:revision": "2",
    }
    assert ownership_keys(tags) == tuple(sorted(k for k in tags if k != "owner"))


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"description": "a"}, {"description": "b"}, [FieldDiff("description", "a", "b")]),
        ({"tags.owner": "a"}, {"tags.owner": "b"}, [FieldDiff("tags.owner", "a", "b")]),
        ({}, {"tags.owner": "b"}, [FieldDiff("tags.owner", None, "b")]),
        ({"tags.x": "1"}, {}, [FieldDiff("tags.x", "1", None)]),
        ({"deprecated": False}, {"deprecated": True}, [FieldDiff("deprecated", False, True)]),
        ({"a.b": "same"}, {"a.b": "same"}, []),
    ],
)
def test_field_diffs_use_dotted_spec_paths(
    before: dict[str, object], after: dict[str, object], expected: list[FieldDiff]
) -> None:
    assert list(field_diffs(before, after)) == expected


LIVE = {"description": "manual", "family": "f", "tags.owner": "a"}


@pytest.mark.parametrize(
    ("applied_from", "desired", "drifted", "changed"),
    [
        # applied = live: only the manifests changed
        (LIVE, {**LIVE, "family": "g"}, set(), {"family"}),
        # applied = desired: only the cloud changed
        ({**LIVE, "description": "d"}, {**LIVE, "description": "d"}, {"description"}, set()),
        # both: description drifted, family edited
        (
            {**LIVE, "description": "d"},
            {**LIVE, "description": "d", "family": "g"},
            {"description"},
            {"family"},
        ),
    ],
)
def test_split_drift_tells_drift_from_change(
    applied_from: dict[str, object],
    desired: dict[str, object],
    drifted: set[str],
    changed: set[str],
) -> None:
    split = split_drift(LIVE, desired, applied_hash(applied_from))
    assert split.drifted == drifted
    assert split.changed == changed
    assert not split.unknown


def test_split_drift_finds_a_share_made_outside() -> None:
    applied = applied_hash({"description": "d"})
    split = split_drift({"description": "d", "shares.9": True}, {"description": "d"}, applied)
    assert split.drifted == {"shares.9"}


def test_split_drift_tries_alternatives_both_sides_lack() -> None:
    # A share cancelled outside that the manifests no longer declare either.
    applied = applied_hash({"description": "d", "shares.7": True})
    split = split_drift(
        {"description": "d"},
        {"description": "d"},
        applied,
        alternatives={"shares.7": True, "shares.8": True},
    )
    assert (split.drifted, split.changed, split.applied) == (
        {"shares.7"},
        frozenset(),
        {"description": "d", "shares.7": True},
    )
    # An ignored field of a removed document: the record did not have it.
    ignored = split_drift(
        {"description": "d", "family": "f"},
        {"description": "d", "family": "f"},
        applied_hash({"description": "d"}),
        alternatives={"family": ABSENT},
        declared=False,
    )
    assert ignored.drifted == {"family"}


def test_split_drift_knows_the_record_of_an_interrupted_create() -> None:
    # Tagged at its create; then shared, and stopped before its deprecation and final tag.
    initial = {"description": "d", "deprecated": False}
    live = {"description": "d", "deprecated": False, "shares.7": True}
    desired = {"description": "d", "deprecated": True, "shares.7": True}
    split = split_drift(live, desired, applied_hash(initial), initial=initial)
    assert split.interrupted
    assert (split.drifted, split.changed) == (frozenset(), {"deprecated"})
    # The manifests' values are live, only the record is stale: an apply that did not finish.
    stale = split_drift(desired, desired, "000000000000")
    assert stale.interrupted
    assert not stale.unknown
    assert not split_drift(live, live, "000000000000", declared=False).interrupted


def test_source_tag_names_the_changed_field_and_fits_a_tag_value() -> None:
    source = InstanceSource(instance_id="ins-demo0001", data_disk_ids=("disk-a", "disk-b"))
    tag = source_tag(source)
    assert tag == "instance.dataDiskIds=disk-a+disk-b instance.id=ins-demo0001"
    assert parse_source_tag(tag) == {
        "instance.dataDiskIds": "disk-a+disk-b",
        "instance.id": "ins-demo0001",
    }
    assert changed_source_paths(tag, source) == ()
    moved = InstanceSource(instance_id="ins-demo0004", data_disk_ids=("disk-a", "disk-b"))
    assert changed_source_paths(tag, moved) == ("source.instance.id",)
    assert changed_source_paths(tag, SnapshotsSource(system="snap-1")) is None
    url = "https://b.cos.ap-guangzhou.myqcloud.com/" + "x" * 400 + ".qcow2?sign=a&b=c"
    imported = ImportSource(url=url, os_type="CentOS", os_version="7")
    long_tag = source_tag(imported)
    assert len(long_tag) <= 255
    assert "(h:" in parse_source_tag(long_tag)["import.url"]
    assert changed_source_paths(long_tag, imported) == ()
    newer = ImportSource(url=url + "2", os_type="CentOS", os_version="8")
    assert changed_source_paths(long_tag, newer) == (
        "source.import.osVersion",
        "source.import.url",
    )


def test_split_drift_without_applied_tag_is_all_change_and_unknown_when_unexplained() -> None:
    assert split_drift(LIVE, {}, None).changed == set(LIVE)
    unexplained = split_drift(LIVE, {**LIVE, "family": "g"}, "000000000000")
    assert unexplained.unknown
    assert unexplained.changed == {"family"}


@pytest.mark.parametrize(
    ("wanted", "exists", "forces", "differs", "action"),
    [
        (True, False, False, True, Action.CREATE),
        (True, True, True, True, Action.REPLACE),
        (True, True, False, True, Action.UPDATE),
        (True, True, False, False, Action.NOOP),
        (False, True, False, False, Action.DELETE),
        (False, False, False, False, Action.NOOP),
    ],
)
def test_choose_action(
    *, wanted: bool, exists: bool, forces: bool, differs: bool, action: Action
) -> None:
    assert (
        choose_action(wanted=wanted, exists=exists, forces_replacement=forces, differs=differs)
        is action
    )


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("image.web", Address("web")),
        ("image.web@ap-shanghai", Address("web", "ap-shanghai")),
        ("share.web@ap-shanghai:100000000002", Address("web", "ap-shanghai", "100000000002")),
        ("web", None),
        ("share.web:1", None),
    ],
)
def test_parse_address(text: str, parsed: Address | None) -> None:
    assert parse_address(text) == parsed


def _img(image_id: str, name: str, **tags: str) -> ObservedImage:
    return ObservedImage(image_id=image_id, region="ap-guangzhou", name=name, tags=tags)


@pytest.mark.parametrize(
    ("holders", "expected"),
    [
        ([], NameHolder.FREE),
        ([_img("img-1", "n")], NameHolder.ADOPTABLE),
        ([_img("img-1", "n", **{"reconciler:stack": "other"})], NameHolder.FOREIGN),
        (
            [_img("img-1", "n", **{"reconciler:stack": "prod", "reconciler:address": "image.x"})],
            NameHolder.OURS,
        ),
        (
            [_img("img-1", "n", **{"reconciler:stack": "prod", "reconciler:address": "image.y"})],
            NameHolder.FOREIGN,
        ),
        ([_img("img-1", "n-longer")], NameHolder.FREE),
    ],
)
def test_name_holder_compares_names_exactly(
    holders: list[ObservedImage], expected: NameHolder
) -> None:
    ownership = Ownership.of(cloud(*holders), "prod")
    assert ownership.holder("ap-guangzhou", "n", "image.x")[0] is expected
