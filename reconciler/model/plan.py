"""The plan: resource-level changes, drift, the step DAG, cost and policy — plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.model.source import SourceRef

FORMAT_VERSION = "1.0"

JSONValue = Any
"""A JSON-compatible value (dict/list/str/int/float/bool/None)."""


class Action(StrEnum):
    """What happens to one address (SPEC §4). Values are the JSON spellings."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"
    NOOP = "no-op"
    SHARE = "share"
    UNSHARE = "unshare"


SUMMARY_ORDER: tuple[Action, ...] = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.DELETE,
    Action.FORGET,
    Action.SHARE,
    Action.UNSHARE,
    Action.NOOP,
)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One changed field; `path` is dotted and relative to `spec` (e.g. `tags.owner`)."""

    path: str
    before: JSONValue
    after: JSONValue


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """The change of one address: an action, why, and what differs."""

    address: str
    action: Action
    reason: str
    region: str = ""
    diff: tuple[FieldDiff, ...] = ()
    source: SourceRef | None = None
    before: Mapping[str, JSONValue] | None = None
    after: Mapping[str, JSONValue] | None = None
    warnings: tuple[str, ...] = ()
    """E.g. the replacement warning that the old image ID will stop existing."""
    disruptive: bool = False
    """An attribute update of a shared image: unshare → modify → re-share."""
    new_recipient: bool = False
    """A share to an account with no live share of this image (SPEC §8)."""
    image_id: str | None = None
    """The live image ID the change acts on, when there is one."""


WAIT = "Wait"
"""The step that polls DescribeImages until an image is NORMAL (no API action of its own)."""

STEP_SERVICES: Mapping[str, str] = {
    "CreateImage": "cvm",
    "ImportImage": "cvm",
    "SyncImages": "cvm",
    "ModifyImageAttribute": "cvm",
    "ModifyImageSharePermission": "cvm",
    "DeleteImages": "cvm",
    WAIT: "cvm",
    "ModifyResourceTags": "tag",
    "UnTagResources": "tag",
    "DeleteSnapshots": "cbs",
}
"""Every operation a plan step may name, with the service it calls (the schema's enum)."""

API_OPERATIONS: frozenset[str] = frozenset(STEP_SERVICES) - {WAIT}
"""The step operations that are API actions (every one but `Wait`)."""

IMAGE_MAKING_OPERATIONS: frozenset[str] = frozenset({"CreateImage", "ImportImage"})
"""The operations that make a new image; their `ImageId` output is that image."""


@dataclass(frozen=True, slots=True)
class StepRef:
    """A parameter value that is an output of an earlier step (e.g. a new image's ID).

    `field` is `ImageId` for CreateImage/ImportImage/Wait, or `ImageSet.<region>` for
    SyncImages; the executor substitutes the value before the call.
    """

    step: str
    field: str = "ImageId"


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One API operation of the apply, with its dependencies (a DAG node)."""

    id: str
    operation: str
    """The API action (`CreateImage`, `SyncImages`, ...) or `Wait`."""
    address: str
    region: str
    depends_on: tuple[str, ...] = ()
    service: str = "cvm"
    """`cvm`, `tag` or `cbs`; `Wait` steps use `cvm` (DescribeImages)."""
    params: Mapping[str, JSONValue] = field(default_factory=dict)
    """API request parameters; values may be StepRef."""
    description: str = ""
    always_run: bool = False
    """Run even when a dependency failed (the re-share after a failed modify)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionCost:
    """Monthly snapshot-storage cost in one region, before and after the plan (SPEC §9)."""

    region: str
    account_gb_before: float
    account_gb_after: float
    free_tier_gb: float
    price_per_gb_month: float
    monthly_before: float
    monthly_after: float
    stack_gb_before: float
    stack_gb_after: float
    stack_share_of_delta: float
    account_gb_peak: float | None = None
    """The account total while the apply runs (create-before-destroy's temporary extra images)."""

    @property
    def monthly_delta(self) -> float:
        return round(self.monthly_after - self.monthly_before, 4)


@dataclass(frozen=True, slots=True, kw_only=True)
class CostEstimate:
    currency: str = "USD"
    regions: tuple[RegionCost, ...] = ()

    @property
    def monthly_delta(self) -> float:
        return round(sum(r.monthly_delta for r in self.regions), 4)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyViolation:
    """One breach of a Stack policy rule (SPEC §8)."""

    rule: str
    """`allowedAccounts`, `requiredTags` or `destroy`."""
    enforcement: str
    """`deny` or `warn`."""
    address: str
    message: str
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """How the plan was asked for; recorded in the plan."""

    refresh_only: bool = False
    destroy: bool = False
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    allow_destroy: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """An immutable plan; `fingerprint` maps each touched image ID to a hash of what it was."""

    stack: str
    created_at: str
    expires_at: str
    changes: tuple[Change, ...] = ()
    drift: tuple[Change, ...] = ()
    steps: tuple[Step, ...] = ()
    cost: CostEstimate = field(default_factory=CostEstimate)
    policy: tuple[PolicyViolation, ...] = ()
    options: PlanOptions = field(default_factory=PlanOptions)
    errors: tuple[str, ...] = ()
    """Plan errors (protect, foreign name holder, quota): a plan with errors can't apply."""
    fingerprint: Mapping[str, str] = field(default_factory=dict)
    path: str | None = None
    """The manifest PATH the plan was made from, as given (relative to the current directory at
    plan time); `apply PLANFILE` reads the Stack there when `--stack-dir` is not given."""
    format_version: str = FORMAT_VERSION

    @property
    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in SUMMARY_ORDER}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes) or bool(self.steps)

    @property
    def denied(self) -> tuple[PolicyViolation, ...]:
        return tuple(v for v in self.policy if v.enforcement == "deny")
