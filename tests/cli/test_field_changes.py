"""Editing each kind of field gives the right change, and apply carries it out (SPEC §4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import app
from reconciler.engine.hooks import NullHook
from reconciler.model.observed import TAG_ADDRESS
from reconciler.model.plan import Step

from .cloud import CloudProbe
from .pipeline import actions, apply, converge, edit, make_plan, text

HOME = "image.web-base"
COPIES = ("image.web-base@ap-shanghai", "image.web-base@ap-singapore")
PARTNER = "100000000002"


@pytest.fixture
def applied(quickstart: Path, runtime: app.Runtime) -> Path:
    converge(quickstart, runtime)
    return quickstart


def by_address(probe: CloudProbe) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for image in probe.owned("quickstart"):
        found.setdefault(image.tags[TAG_ADDRESS], []).append(image.image_id)
    return found


def test_description_is_an_update(applied: Path, runtime: app.Runtime, probe: CloudProbe) -> None:
    edit(applied / "web-base.yaml", "description: Nginx + app runtime", "description: Nginx 2")
    plan = make_plan(applied, runtime)
    assert actions(plan)[HOME] == "update"
    change = next(c for c in plan.changes if c.address == HOME)
    assert [(d.path, d.before, d.after) for d in change.diff] == [
        ("description", "Nginx + app runtime", "Nginx 2")
    ]
    assert change.source is not None
    assert change.source.file == "web-base.yaml"
    assert change.disruptive  # the image is shared: unshare → modify → re-share
    converge(applied, runtime)
    assert {i.description for i in probe.owned("quickstart")} == {"Nginx 2"}
    assert all(i.shares == (PARTNER,) for i in probe.owned("quickstart"))


def test_tags_are_an_update_through_the_tag_service(
    applied: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    edit(applied / "web-base.yaml", "owner: web-team", "owner: platform")
    plan = make_plan(applied, runtime)
    assert actions(plan)[HOME] == "update"
    change = next(c for c in plan.changes if c.address == HOME)
    assert ("tags.owner", "web-team", "platform") in [
        (d.path, d.before, d.after) for d in change.diff
    ]
    assert not change.disruptive
    assert "ModifyImageAttribute" not in {s.operation for s in plan.steps}
    converge(applied, runtime)
    assert {i.tags["owner"] for i in probe.owned("quickstart")} == {"platform"}


class CloudAtDelete(NullHook):
    """Records, at the first DeleteImages of an old image, what the cloud holds."""

    def __init__(self, probe: CloudProbe, old_ids: set[str]) -> None:
        self.probe = probe
        self.old_ids = old_ids
        self.seen: list[dict[str, list[str]]] = []
        self.order: list[str] = []

    def step_started(self, step: Step) -> None:
        self.order.append(step.operation)
        if step.operation == "DeleteImages" and not self.seen:
            self.seen.append(
                {
                    i.tags[TAG_ADDRESS]: [i.image_id, i.state, *i.shares]
                    for i in self.probe.owned("quickstart")
                    if i.image_id not in self.old_ids
                }
            )


def test_source_change_is_create_before_destroy(
    applied: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    old = by_address(probe)
    old_ids = {i for ids in old.values() for i in ids}
    edit(applied / "web-base.yaml", "id: ins-demo0001", "id: ins-demo0004")
    plan = make_plan(applied, runtime)
    assert {a: actions(plan)[a] for a in (HOME, *COPIES)} == dict.fromkeys(
        (HOME, *COPIES), "replace"
    )
    home = next(c for c in plan.changes if c.address == HOME)
    assert "replacement" in home.reason
    assert any("will stop existing" in w for w in home.warnings)
    assert not [c for c in plan.changes if c.action.value in {"share", "unshare"}]

    hook = CloudAtDelete(probe, old_ids)
    apply(applied, runtime, hook=hook)
    assert hook.seen, "no DeleteImages step ran"
    new_at_delete = hook.seen[0]
    for address in (HOME, *COPIES):  # new images, NORMAL and shared, before any delete
        _image_id, state, *shares = new_at_delete[address]
        assert state == "NORMAL"
        assert shares == [PARTNER]
    after = by_address(probe)
    assert not old_ids & {i for ids in after.values() for i in ids}
    assert all(len(after[a]) == 1 for a in (HOME, *COPIES))
    assert not make_plan(applied, runtime).has_changes


def test_new_copy_region_is_a_copy_and_tag(
    applied: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    edit(applied / "stack.yaml", "ap-singapore]", "ap-singapore, ap-beijing]")
    edit(applied / "web-base.yaml", "regions: [ap-shanghai, ap-singapore]",
         "regions: [ap-shanghai, ap-singapore, ap-beijing]")  # fmt: skip
    plan = make_plan(applied, runtime)
    assert actions(plan) == {
        "image.web-base@ap-beijing": "create",
        f"share.web-base@ap-beijing:{PARTNER}": "share",
    }
    sync = [s for s in plan.steps if s.operation == "SyncImages"]
    assert len(sync) == 1
    assert sync[0].params["DestinationRegions"] == ["ap-beijing"]
    tagging = [s for s in plan.steps if s.operation == "ModifyResourceTags"]
    assert any(s.region == "ap-beijing" for s in tagging)
    converge(applied, runtime)
    beijing = [i for i in probe.owned("quickstart") if i.region == "ap-beijing"]
    assert len(beijing) == 1
    assert beijing[0].shares == (PARTNER,)


def test_removed_copy_region_unshares_then_deletes(
    applied: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    singapore = by_address(probe)["image.web-base@ap-singapore"][0]
    edit(
        applied / "web-base.yaml", "regions: [ap-shanghai, ap-singapore]", "regions: [ap-shanghai]"
    )
    plan = make_plan(applied, runtime)
    assert actions(plan) == {
        "image.web-base@ap-singapore": "delete",
        f"share.web-base@ap-singapore:{PARTNER}": "unshare",
    }
    steps = {s.id: s for s in plan.steps}
    delete = next(s for s in plan.steps if s.operation == "DeleteImages")
    cancel = next(
        s
        for s in plan.steps
        if s.operation == "ModifyImageSharePermission" and s.params["Permission"] == "CANCEL"
    )
    assert cancel.id in _ancestors(delete, steps)
    converge(applied, runtime)
    assert singapore not in {i.image_id for i in probe.images("ap-singapore")}


def _ancestors(step: Step, steps: dict[str, Step]) -> set[str]:
    seen: set[str] = set()
    todo = list(step.depends_on)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(steps[current].depends_on)
    return seen


def test_new_and_removed_accounts_share_and_unshare(
    applied: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    edit(applied / "web-base.yaml", 'accounts: ["100000000002"]', 'accounts: ["100000000003"]')
    plan = make_plan(applied, runtime)
    regions = ("ap-guangzhou", "ap-shanghai", "ap-singapore")
    assert actions(plan) == {
        **{f"share.web-base@{r}:100000000003": "share" for r in regions},
        **{f"share.web-base@{r}:{PARTNER}": "unshare" for r in regions},
    }
    assert all(c.new_recipient for c in plan.changes if c.action.value == "share")
    converge(applied, runtime)
    assert {i.shares for i in probe.owned("quickstart")} == {("100000000003",)}


def test_removed_image_with_retain_is_forgotten(
    quickstart: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    edit(
        quickstart / "web-base.yaml",
        "  source:",
        "  lifecycle: {deletionPolicy: Retain}\n  source:",
    )
    converge(quickstart, runtime)
    kept = {i.image_id for i in probe.owned("quickstart")}
    (quickstart / "web-base.yaml").unlink()
    plan = make_plan(quickstart, runtime)
    assert actions(plan) == dict.fromkeys((HOME, *COPIES), "forget"), text(plan)
    converge(quickstart, runtime)
    assert not probe.owned("quickstart")
    remaining = {i.image_id: i for i in probe.all_images() if i.image_id in kept}
    assert set(remaining) == kept  # the images stay ...
    assert all(not i.managed and i.shares == (PARTNER,) for i in remaining.values())  # ... shared


def test_protect_blocks_replacement_with_file_and_line(
    quickstart: Path, runtime: app.Runtime
) -> None:
    edit(quickstart / "web-base.yaml", "  source:", "  lifecycle: {protect: true}\n  source:")
    converge(quickstart, runtime)
    edit(quickstart / "web-base.yaml", "id: ins-demo0001", "id: ins-demo0004")
    plan = make_plan(quickstart, runtime)
    assert plan.errors
    assert any(HOME in e and "web-base.yaml:" in e for e in plan.errors), plan.errors


def test_removed_document_keeps_protection_through_the_lifecycle_tag(
    quickstart: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    edit(quickstart / "web-base.yaml", "  source:", "  lifecycle: {protect: true}\n  source:")
    converge(quickstart, runtime)
    (quickstart / "web-base.yaml").unlink()
    plan = make_plan(quickstart, runtime)
    assert any(HOME in e for e in plan.errors), text(plan)
    assert not plan.steps or all(s.operation != "DeleteImages" for s in plan.steps)
    assert len(probe.owned("quickstart")) == 3
