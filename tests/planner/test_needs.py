"""`observation_needs`: which share lists, source disks and quotas a plan needs read."""

from __future__ import annotations

from reconciler.model.desired import ExistingSource, SnapshotsSource
from reconciler.model.generation import name_suffix, name_with_generation
from reconciler.planner.needs import ObservationNeeds, observation_needs

from .builders import HOME, REGIONS, image, state


def test_nothing_desired_needs_only_the_stack_quotas() -> None:
    assert observation_needs(state()) == ObservationNeeds(quota_regions=frozenset(REGIONS))


def test_each_source_kind_adds_what_it_needs() -> None:
    web = image("web")  # instance ins-demo0001
    disks = image("disks", source=SnapshotsSource(system="snap-sys00001", data=("snap-dat00001",)))
    kept = image("kept", source=ExistingSource(image_id="img-keep0001"), image_name="legacy")
    needs = observation_needs(state(web, disks, kept))

    assert needs.share_ids == {"img-keep0001"}
    assert needs.share_names == {
        name for i in (web, disks, kept) for name in (i.cloud_name, i.copy_name) if name
    }
    assert "legacy" in needs.share_names
    assert needs.share_suffixes == {name_suffix(i.generation) for i in (web, disks, kept)}
    assert needs.instances == {HOME: {"ins-demo0001"}}
    assert needs.snapshots == {HOME: {"snap-sys00001", "snap-dat00001"}}
    assert needs.quota_regions == frozenset(REGIONS)


def test_the_suffix_is_how_a_generation_suffixed_name_ends() -> None:
    web = image("web")
    (suffix,) = observation_needs(state(web)).share_suffixes
    assert name_with_generation("web", web.generation).endswith(suffix)
    assert suffix == "-" + web.generation[:8]
