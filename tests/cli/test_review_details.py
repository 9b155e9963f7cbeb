"""Plans of the multi-team example as a reviewer reads them: each change traced to the
manifest line that changed, drift unshares labelled as never declared."""

from __future__ import annotations

from pathlib import Path

from reconciler import app
from reconciler.model.observed import TAG_ADDRESS
from reconciler.model.plan import Action
from reconciler.render.markdown import render_markdown
from reconciler.render.plan_json import plan_to_json

from .cloud import CloudProbe
from .conftest import copy_example
from .pipeline import apply, edit, make_plan, text


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    (line,) = [n for n, content in enumerate(lines, 1) if needle in content]
    return line


def test_a_removed_copy_region_is_traced_to_its_image_copy_document(
    tmp_path: Path, runtime: app.Runtime
) -> None:
    stack = copy_example("multi-team", tmp_path)
    web = stack / "teams" / "web.yaml"
    edit(web, "protect: true", "protect: false")
    apply(stack, runtime)
    edit(web, "regions: [ap-shanghai, ap-singapore]", "regions: [ap-shanghai]")
    edit(web, "regions: [ap-guangzhou, ap-singapore]", "regions: [ap-guangzhou]")

    plan = make_plan(stack, runtime)

    regions_line = _line_of(web, "regions: [ap-shanghai]")
    removed = [c for c in plan.changes if "@ap-singapore" in c.address]
    assert {c.action for c in removed} == {Action.DELETE, Action.UNSHARE}, text(plan)
    for change in removed:
        assert change.source is not None
        assert (change.source.file, change.source.line) == ("teams/web.yaml", regions_line)


def test_a_share_made_outside_is_unshared_as_never_declared_at_the_images_line(
    tmp_path: Path, runtime: app.Runtime, probe: CloudProbe
) -> None:
    stack = copy_example("multi-team", tmp_path)
    apply(stack, runtime)
    (copy,) = [
        i for i in probe.owned("platform") if i.tags[TAG_ADDRESS] == "image.web-base@ap-shanghai"
    ]
    probe.call(
        "ModifyImageSharePermission",
        "ap-shanghai",
        {"ImageId": copy.image_id, "AccountIds": ["100000000003"], "Permission": "SHARE"},
    )

    plan = make_plan(stack, runtime)
    markdown = render_markdown(plan_to_json(plan))

    address = "share.web-base@ap-shanghai:100000000003"
    (unshare,) = [c for c in plan.changes if c.address == address]
    (drift,) = [d for d in plan.drift if d.address == address]
    assert drift.source is not None
    assert unshare.source == drift.source, text(plan)
    where = f"`teams/web.yaml:{drift.source.line}`"
    assert f"> - `{address}` — drift: shared outside the stack" in markdown
    assert f"drift: shared outside the stack ({where})" in markdown
    assert "manifest: no longer declared" not in markdown
    assert "not declared (shared outside the stack)" in markdown
    assert f"| `{address}` | shared outside the stack | `not shared` | `shared` | {where} |" in (
        markdown
    )
