"""Golden-file tests of the pull-request comment (`plan --format markdown`, SPEC §8).

Regenerate the golden files with `RECONCILER_UPDATE_GOLDEN=1 pytest tests/review`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.plan import Action, Change, Plan, Step, StepRef
from reconciler.model.source import SourceRef
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from reconciler.render.plan_json import plan_to_json

GOLDEN = Path(__file__).parent / "golden"
SOURCE_URL = "https://github.com/acme/images/blob/0123abc"
ACTIONS = ("create", "update", "replace", "delete", "forget", "share", "unshare", "no-op")


def change(
    address: str,
    action: str,
    reason: str,
    *,
    region: str = "ap-guangzhou",
    source: tuple[str, int] | None = ("images.yaml", 1),
    diff: list[tuple[str, Any, Any]] | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
    disruptive: bool = False,
    new_recipient: bool = False,
    image_id: str | None = None,
) -> dict[str, Any]:
    return {
        "address": address,
        "action": action,
        "reason": reason,
        "region": region,
        "diff": [{"path": p, "before": b, "after": a} for p, b, a in diff or []],
        "source": None if source is None else {"file": source[0], "line": source[1]},
        "before": before,
        "after": after,
        "warnings": warnings or [],
        "disruptive": disruptive,
        "new_recipient": new_recipient,
        "image_id": image_id,
    }


def step(
    step_id: str,
    operation: str,
    address: str,
    region: str,
    *depends_on: str,
    permission: str | None = None,
) -> dict[str, Any]:
    """A step; `permission` (SHARE or CANCEL) for ModifyImageSharePermission."""
    if operation == "ModifyImageSharePermission" and permission is None:
        permission = "SHARE"
    return {
        "id": step_id,
        "operation": operation,
        "service": "tag" if operation == "ModifyResourceTags" else "cvm",
        "address": address,
        "region": region,
        "depends_on": list(depends_on),
        "params": {} if permission is None else {"Permission": permission},
        "description": "",
        "always_run": False,
    }


def region_cost(region: str, before: float, after: float, **extra: float) -> dict[str, Any]:
    free = 50.0 if region in {"ap-guangzhou", "ap-shanghai"} else 0.0
    price = 0.0185 if free else 0.026
    monthly_before = round(max(0.0, before - free) * price, 4)
    monthly_after = round(max(0.0, after - free) * price, 4)
    cost: dict[str, Any] = {
        "region": region,
        "account_gb_before": before,
        "account_gb_after": after,
        "free_tier_gb": free,
        "price_per_gb_month": price,
        "monthly_before": monthly_before,
        "monthly_after": monthly_after,
        "monthly_delta": round(monthly_after - monthly_before, 4),
        "stack_gb_before": extra.get("stack_before", 0.0),
        "stack_gb_after": extra.get("stack_after", 0.0),
        "stack_share_of_delta": extra.get("share", round(monthly_after - monthly_before, 4)),
    }
    if "peak" in extra:
        cost["account_gb_peak"] = extra["peak"]
    return cost


def plan_json(
    changes: list[dict[str, Any]],
    *,
    drift: list[dict[str, Any]] | None = None,
    steps: list[dict[str, Any]] | None = None,
    regions: list[dict[str, Any]] | None = None,
    policy: list[dict[str, Any]] | None = None,
    errors: list[str] | None = None,
    refresh_only: bool = False,
    allow_destroy: bool = False,
) -> dict[str, Any]:
    summary = dict.fromkeys(ACTIONS, 0)
    for entry in changes:
        summary[entry["action"]] += 1
    return {
        "format_version": "1.0",
        "stack": "prod",
        "created_at": "2025-03-01T10:00:00Z",
        "expires_at": "2025-03-02T10:00:00Z",
        "options": {
            "refresh_only": refresh_only,
            "destroy": False,
            "targets": [],
            "replace": [],
            "allow_destroy": allow_destroy,
        },
        "summary": summary,
        "changes": changes,
        "drift": drift or [],
        "steps": steps or [],
        "cost": {
            "currency": "USD",
            "monthly_delta": round(sum(r["monthly_delta"] for r in regions or []), 4),
            "regions": regions or [],
        },
        "policy": policy or [],
        "errors": errors or [],
        "fingerprint": {},
    }


def every_section_plan() -> dict[str, Any]:
    """A plan with every kind of change, warning and section."""
    tags = {"owner": "web-team"}
    changes = [
        change(
            "image.api",
            "create",
            "declared, not in the cloud",
            source=("images.yaml", 3),
            after={"imageName": "api-1a2b3c4d", "description": "API", "tags": tags, "sizeGb": 50},
        ),
        change(
            "image.api@ap-singapore",
            "create",
            "new copy region",
            region="ap-singapore",
            source=("copies.yaml", 7),
        ),
        change(
            "image.web",
            "update",
            "description changed",
            source=("images.yaml", 20),
            diff=[("description", "Nginx", "Nginx + app | runtime")],
            disruptive=True,
            image_id="img-web00001",
        ),
        change(
            "image.db",
            "replace",
            "source.instance.id changed: forces replacement",
            source=("images.yaml", 40),
            diff=[("source.instance.id", "ins-demo0001", "ins-demo0004")],
            warnings=[
                "the old image ID img-db000001 will stop existing; launch templates of "
                "recipients may use it"
            ],
            image_id="img-db000001",
        ),
        change(
            "image.old",
            "delete",
            "no longer declared",
            source=None,
            before={"imageName": "old-99887766", "description": "", "tags": {}},
            image_id="img-old00001",
        ),
        change(
            "image.kept",
            "forget",
            "no longer declared; deletionPolicy Retain",
            source=None,
            image_id="img-kept0001",
        ),
        change(
            "share.api@ap-guangzhou:100000000002",
            "share",
            "declared",
            source=("shares.yaml", 6),
            after={"account": "100000000002", "region": "ap-guangzhou", "imageId": None},
            new_recipient=True,
        ),
        change(
            "share.web@ap-guangzhou:100000000009",
            "share",
            "declared",
            source=("shares.yaml", 12),
            after={"account": "100000000009", "region": "ap-guangzhou", "imageId": "img-web00001"},
            new_recipient=True,
        ),
        change(
            "share.web@ap-guangzhou:100000000003",
            "unshare",
            "no longer declared",
            source=None,
            before={"account": "100000000003", "region": "ap-guangzhou", "imageId": "img-web00001"},
            image_id="img-web00001",
        ),
        change("image.same", "no-op", "up to date", source=("images.yaml", 60)),
    ]
    drift = [
        change(
            "image.web",
            "update",
            "drift: tags changed outside the stack",
            source=("images.yaml", 20),
            diff=[("tags.owner", "web-team", "someone-else")],
            image_id="img-web00001",
        ),
        change(
            "share.web@ap-guangzhou:100000000004",
            "unshare",
            "drift: shared outside the stack",
            source=None,
            image_id="img-web00001",
        ),
    ]
    steps = [
        step("s1", "CreateImage", "image.api", "ap-guangzhou"),
        step("s2", "Wait", "image.api", "ap-guangzhou", "s1"),
        step("s3", "SyncImages", "image.api", "ap-guangzhou", "s2"),
        step(
            "s4",
            "ModifyImageSharePermission",
            "share.api@ap-guangzhou:100000000002",
            "ap-guangzhou",
            "s2",
        ),
        step("s5", "ModifyImageSharePermission", "image.web", "ap-guangzhou", permission="CANCEL"),
        step("s6", "ModifyImageAttribute", "image.web", "ap-guangzhou", "s5"),
        step("s7", "ModifyImageSharePermission", "image.web", "ap-guangzhou", "s6"),
    ]
    steps[-1]["always_run"] = True
    regions = [
        region_cost("ap-guangzhou", 120, 130, stack_before=90, stack_after=100, peak=170),
        region_cost("ap-shanghai", 0, 0),
        region_cost("ap-singapore", 10, 60, stack_after=50),
    ]
    policy = [
        {
            "rule": "allowedAccounts",
            "enforcement": "deny",
            "address": "share.web@ap-guangzhou:100000000009",
            "message": "account 100000000009 is not in policy.allowedAccounts "
            "(100000000002, 100000000003)",
            "source": {"file": "shares.yaml", "line": 12},
        },
        {
            "rule": "requiredTags",
            "enforcement": "warn",
            "address": "image.db",
            "message": 'missing required tag "owner"',
            "source": {"file": "images.yaml", "line": 40},
        },
    ]
    return plan_json(changes, drift=drift, steps=steps, regions=regions, policy=policy)


def large_plan(images: int = 500) -> dict[str, Any]:
    """500 images, each with a copy and a share: 1,500 changes and 3,500 steps."""
    changes: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for n in range(images):
        name = f"img-{n:03d}"
        changes.append(
            change(
                f"image.{name}",
                "create",
                "declared, not in the cloud",
                source=(f"teams/team-{n % 20:02d}.yaml", 4 + n),
                after={
                    "imageName": f"{name}-1a2b3c4d",
                    "description": f"image {n}",
                    "tags": {"owner": f"team-{n % 20:02d}"},
                    "sizeGb": 20,
                },
            )
        )
        changes.append(
            change(
                f"image.{name}@ap-singapore",
                "create",
                "new copy region",
                region="ap-singapore",
                source=(f"teams/team-{n % 20:02d}.yaml", 30 + n),
            )
        )
        changes.append(
            change(
                f"share.{name}@ap-guangzhou:1000000{n % 40:05d}",
                "share",
                "declared",
                source=(f"teams/team-{n % 20:02d}.yaml", 40 + n),
                after={"account": f"1000000{n % 40:05d}", "region": "ap-guangzhou"},
                new_recipient=True,
            )
        )
        base = 7 * n
        ids = [f"s{base + i}" for i in range(1, 8)]
        steps += [
            step(ids[0], "CreateImage", f"image.{name}", "ap-guangzhou"),
            step(ids[1], "Wait", f"image.{name}", "ap-guangzhou", ids[0]),
            step(ids[2], "SyncImages", f"image.{name}", "ap-guangzhou", ids[1]),
            step(ids[3], "Wait", f"image.{name}@ap-singapore", "ap-singapore", ids[2]),
            step(
                ids[4], "ModifyResourceTags", f"image.{name}@ap-singapore", "ap-singapore", ids[3]
            ),
            step(ids[5], "ModifyImageSharePermission", f"share.{name}", "ap-guangzhou", ids[1]),
            step(ids[6], "ModifyResourceTags", f"image.{name}", "ap-guangzhou", ids[1]),
        ]
    regions = [
        region_cost("ap-guangzhou", 0, 20 * images, stack_after=20 * images),
        region_cost("ap-singapore", 0, 20 * images, stack_after=20 * images),
    ]
    return plan_json(changes, steps=steps, regions=regions)


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.md"
    if os.environ.get("RECONCILER_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with RECONCILER_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_every_section_and_warning_golden() -> None:
    text = render_markdown(every_section_plan(), source_url=SOURCE_URL)
    assert_golden("every_section", text)
    assert text.startswith("## Reconciler plan for stack `prod`")
    assert (
        "**Plan: 2 to create, 1 to update, 1 to replace, 1 to delete, 1 to forget, 2 to share, "
        "1 to unshare.**" in text
    )
    # Prominent warnings: deletions, replacements, unshares, disruptive updates, new recipients.
    assert text.count("> [!WARNING]") >= 5
    assert "**1 resource will be deleted:**" in text
    assert "img-db000001 will stop existing" in text
    assert "**1 resource will be unshared (the account loses access):**" in text
    assert "**2 accounts will receive an image for the first time**" in text
    assert "account **100000000009**" in text
    # Policy: the deny callout, both rules with their manifest links.
    assert "> [!CAUTION]" in text
    assert f"[`shares.yaml:12`]({SOURCE_URL}/shares.yaml#L12)" in text
    assert "⚠️ warn | `requiredTags`" in text
    # Drift, cost (with the replacement's temporary peak), the step graph, the details.
    assert "### Drift (changed outside the stack)" in text
    assert '`"someone-else"`' in text
    assert "| ap-singapore | 10 → 60 |" in text
    assert "ap-guangzhou: 170 GB while the apply runs" in text
    assert "```mermaid\nflowchart LR" in text
    assert "n5 -.-> n6" in text  # the re-share runs even when the modify fails
    assert 'n4["ModifyImageSharePermission CANCEL<br/>image.web' in text
    assert 'n6["ModifyImageSharePermission SHARE<br/>image.web' in text
    assert text.count("<details>") == 9  # no-op changes are not listed
    assert "image.same" not in text
    assert r"Nginx + app \| runtime" in text


def test_no_changes_golden() -> None:
    plan = plan_json([change("image.web", "no-op", "up to date")])
    text = render_markdown(plan)
    assert_golden("no_changes", text)
    assert "**No changes.** The cloud matches the manifests." in text
    assert "No drift" in text
    assert "<details>" not in text
    assert "mermaid" not in text


def test_refresh_only_golden() -> None:
    drift = [
        change(
            "image.web",
            "update",
            "drift: description changed outside the stack",
            diff=[("description", "Nginx", "hand-edited")],
            image_id="img-web00001",
        )
    ]
    text = render_markdown(plan_json([], drift=drift, refresh_only=True))
    assert_golden("refresh_only", text)
    assert "**Refresh only: 1 resource drifted.**" in text
    assert "Reported only (`--refresh-only`)." in text
    assert '| `image.web` | `description` | `"Nginx"` | `"hand-edited"` |' in text


def test_plan_errors_golden() -> None:
    deleted = change(
        "image.base", "delete", "no longer declared", source=None, image_id="img-base0001"
    )
    errors = ["image.base is protected (lifecycle.protect): it can't be deleted or replaced"]
    policy = [
        {
            "rule": "destroy",
            "enforcement": "deny",
            "address": "image.base",
            "message": "deleting an image needs --allow-destroy (policy.destroy is true)",
            "source": None,
        }
    ]
    text = render_markdown(plan_json([deleted], errors=errors, policy=policy))
    assert_golden("plan_errors", text)
    assert "> **This plan can't be applied:**" in text
    assert "image.base is protected" in text
    assert "| ⛔ deny | `destroy` | `image.base` | — |" in text


def test_500_image_plan_fits_github_and_says_what_it_shortened() -> None:
    text = render_markdown(large_plan())
    assert_golden("large_500_images", text)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "**Plan: 1000 to create, 0 to update" in text
    assert "> **This comment is shortened to fit 65,536 characters:**" in text
    match = re.search(r"(\d+) of 1500 resources have their full details", text)
    assert match is not None
    detailed = int(match.group(1))
    assert 0 < detailed < 1500
    assert text.count("<details>") == detailed
    assert "reconciler show PLANFILE" in text
    # The step graph is grouped (3,500 steps) and says so.
    assert "3500 API operations, too many to draw one by one" in text
    assert 'g0["CreateImage x500<br/>ap-guangzhou · stage 1"]' in text
    assert 'g2["ModifyImageSharePermission SHARE x500<br/>ap-guangzhou · stage 3"]' in text
    # Full details go to the riskiest changes first: here, the shares to new recipients.
    assert "<details><summary><code>+ share.img-000@ap-guangzhou:100000000000</code>" in text
    # Long lists are capped and say how many more there are.
    assert "_… and 15 more accounts (reconciler show PLANFILE lists all)_" in text


@pytest.mark.parametrize("limit", [4000, 12000, 30000])
def test_any_limit_is_respected(limit: int) -> None:
    text = render_markdown(large_plan(60), limit=limit)
    assert len(text) <= limit
    assert "reconciler show PLANFILE" in text
    assert text.count("```") % 2 == 0


def test_a_small_plan_is_never_shortened() -> None:
    text = render_markdown(every_section_plan())
    assert "shortened" not in text
    assert "`images.yaml:40`" in text  # without a source URL, locations are plain


def test_renders_what_the_json_codec_produces() -> None:
    plan = Plan(
        stack="prod",
        created_at="2025-03-01T10:00:00Z",
        expires_at="2025-03-02T10:00:00Z",
        changes=(
            Change(
                address="share.web@ap-guangzhou:100000000002",
                action=Action.SHARE,
                reason="declared",
                region="ap-guangzhou",
                source=SourceRef("shares.yaml", 5),
                after={"account": "100000000002", "region": "ap-guangzhou", "imageId": "img-1"},
                new_recipient=True,
            ),
        ),
        steps=(
            Step(
                id="s1",
                operation="ModifyImageSharePermission",
                address="share.web@ap-guangzhou:100000000002",
                region="ap-guangzhou",
                params={"ImageId": StepRef("s0"), "AccountIds": ["100000000002"]},
            ),
        ),
    )
    text = render_markdown(plan_to_json(plan), source_url=SOURCE_URL + "/")
    assert "**Plan: 0 to create, 0 to update, 0 to replace, 0 to delete" in text
    assert f"({SOURCE_URL}/shares.yaml#L5)" in text
    assert "account **100000000002**" in text


def test_the_full_graph_leaves_out_arrows_a_longer_path_implies() -> None:
    steps = [
        step("s1", "CreateImage", "image.web", "ap-guangzhou"),
        step("s2", "Wait", "image.web", "ap-guangzhou", "s1"),
        step("s3", "ModifyResourceTags", "image.web", "ap-guangzhou", "s1", "s2"),
    ]
    created = change("image.web", "create", "declared")
    text = render_markdown(plan_json([created], steps=steps))
    assert "n0 --> n1" in text
    assert "n1 --> n2" in text
    assert "n0 --> n2" not in text


def test_an_object_valued_diff_is_shown_field_by_field() -> None:
    created = change(
        "image.web",
        "create",
        "declared",
        diff=[("", {}, {"imageName": "web-1a2b3c4d", "tags": {"owner": "a"}})],
    )
    text = render_markdown(plan_json([created]))
    assert '| `imageName` | — | `"web-1a2b3c4d"` |' in text
    assert '| `tags.owner` | — | `"a"` |' in text
    assert "``" not in text


def test_creates_without_a_known_size_are_flagged_in_the_cost_section() -> None:
    created = change("image.web", "create", "declared", after={"imageName": "web"})
    text = render_markdown(plan_json([created], regions=[region_cost("ap-guangzhou", 0, 0)]))
    assert "_1 image to create without a known size" in text


def test_destroy_with_nothing_owned_says_so() -> None:
    plan = plan_json([])
    plan["options"]["destroy"] = True
    text = render_markdown(plan)
    assert "**No changes.** Nothing to destroy: the stack owns no images." in text
    assert "matches the manifests" not in text


def test_a_delete_or_tags_only_update_without_diffs_is_summed_up_not_dumped() -> None:
    view = {
        "imageId": "img-web00001",
        "region": "ap-guangzhou",
        "imageName": "web-1a2b3c4d",
        "description": "Web",
        "tags": {"owner": "a"},
        "shares": ["100000000002", "100000000003"],
    }
    deleted = change(
        "image.web", "delete", "no longer declared", before=view, image_id="img-web00001"
    )
    recorded = change(
        "image.api",
        "update",
        (
            "record what is applied (an earlier apply did not finish, "
            "or the same change was made outside the stack)"
        ),
        before={**view, "imageId": "img-api00001"},
        after={**view, "imageId": "img-api00001"},
        image_id="img-api00001",
    )
    text = render_markdown(plan_json([deleted, recorded]))
    assert "| Field | Value |" not in text
    assert (
        "Deletes image `img-web00001` (`web-1a2b3c4d`) · "
        "shares lost: `100000000002`, `100000000003`."
    ) in text
    assert "Tags only; no attribute changes." in text


def test_a_share_made_outside_is_not_called_no_longer_declared() -> None:
    view = {"account": "100000000004", "imageId": "img-web00001"}
    address = "share.web@ap-guangzhou:100000000004"
    unshare = change(
        address, "unshare", "drift: shared outside the stack", before=view, image_id="img-web00001"
    )
    drifted = change(address, "share", "shared outside the stack", after=view)
    text = render_markdown(plan_json([unshare], drift=[drifted]))
    assert "manifest: no longer declared" not in text
    assert "not declared (shared outside the stack) · image manifest `images.yaml:1`" in text
    assert f"| `{address}` | shared outside the stack | `not shared` | `shared` |" in text
