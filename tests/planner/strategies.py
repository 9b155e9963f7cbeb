"""Hypothesis strategies: random manifests and random images nobody (or another stack) owns."""

from __future__ import annotations

from hypothesis import strategies as st

from reconciler.model.desired import (
    DeletionPolicy,
    DesiredState,
    ImageSource,
    ImportSource,
    InstanceSource,
    Lifecycle,
    SnapshotsSource,
)
from reconciler.model.observed import TAG_ADDRESS, TAG_STACK, ObservedImage, ObservedSnapshot

from .builders import REGIONS, image, state

NAMES = ("web", "api", "db")
ACCOUNTS = ("100000000002", "100000000003", "100000000004")

sources: st.SearchStrategy[ImageSource] = st.one_of(
    st.builds(
        InstanceSource,
        instance_id=st.sampled_from(["ins-demo0001", "ins-demo0004"]),
        data_disk_ids=st.sampled_from([(), ("disk-data0001",)]),
    ),
    st.builds(SnapshotsSource, system=st.sampled_from(["snap-demo0001", "snap-demo0002"])),
    st.builds(
        ImportSource,
        url=st.sampled_from(["https://b.cos.ap-guangzhou.myqcloud.com/x.qcow2"]),
        os_type=st.just("CentOS"),
        os_version=st.just("7"),
    ),
)

lifecycles = st.builds(
    Lifecycle,
    deletion_policy=st.sampled_from(list(DeletionPolicy)),
    delete_snapshots=st.booleans(),
    ignore_changes=st.sampled_from([(), ("description",), ("tags.owner",), ("tags",)]),
)


@st.composite
def desired_states(draw: st.DrawFn) -> DesiredState:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=3, unique=True))
    images = []
    copies: dict[str, list[str]] = {}
    shares: dict[str, dict[str, list[str]]] = {}
    for name in sorted(names):
        home = draw(st.sampled_from(REGIONS))
        images.append(
            image(
                name,
                region=home,
                source=draw(sources),
                description=draw(st.sampled_from(["", "one", "two"])),
                family=draw(st.sampled_from(["", "fam"])),
                deprecated=draw(st.booleans()),
                tags=draw(
                    st.dictionaries(
                        st.sampled_from(["owner", "team", "env"]),
                        st.sampled_from(["a", "b"]),
                        max_size=3,
                    )
                ),
                lifecycle=draw(lifecycles),
            )
        )
        others = [r for r in REGIONS if r != home]
        copies[name] = draw(st.lists(st.sampled_from(others), unique=True, max_size=2))
        shares[name] = {
            region: draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, max_size=2))
            for region in [home, *copies[name]]
        }
    return state(*images, copies=copies, shares=shares)


@st.composite
def unowned_images(draw: st.DrawFn, desired: DesiredState) -> list[ObservedImage]:
    """Images without this stack's tags: random names, our exact names, other stacks' images."""
    wanted_names = [(i.region, str(i.cloud_name)) for i in desired.images] + [
        (c.region, desired.image(c.image).copy_name) for c in desired.copies
    ]
    near_names = [(region, name[:-2] + "zz") for region, name in wanted_names]
    near_names += [(region, name.rsplit("-", 1)[0]) for region, name in wanted_names]
    choices = [*wanted_names, *near_names, ("ap-guangzhou", "golden"), ("ap-shanghai", "x")]
    count = draw(st.integers(0, 4))
    images = []
    used: set[tuple[str, str]] = set()
    for index in range(count):
        region, name = draw(st.sampled_from(choices))
        if (region, name) in used:
            continue
        used.add((region, name))
        kind = draw(st.sampled_from(["untagged", "other-stack", "user-tags"]))
        tags = {
            "untagged": {},
            "other-stack": {TAG_STACK: "other", TAG_ADDRESS: "image.web"},
            "user-tags": {"owner": "someone"},
        }[kind]
        images.append(
            ObservedImage(
                image_id=f"img-u{index:07d}",
                region=region,
                name=name,
                description="theirs",
                snapshots=(ObservedSnapshot(f"snap-u{index:07d}", "SYSTEM_DISK", 20),),
                tags=tags,
                shares=("100000000002",) if draw(st.booleans()) else (),
            )
        )
    return images
