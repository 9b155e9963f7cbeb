"""Hand-built plans covering every member of the JSON plan, for codec and renderer tests."""

from __future__ import annotations

from reconciler.model.plan import (
    Action,
    Change,
    CostEstimate,
    FieldDiff,
    Plan,
    PlanOptions,
    PolicyViolation,
    RegionCost,
    Step,
    StepRef,
)
from reconciler.model.source import SourceRef

CREATED = "2026-11-01T10:00:00Z"
EXPIRES = "2026-11-02T10:00:00Z"


def full_plan() -> Plan:
    """A plan with every kind of change, drift, steps with refs, cost, policy and a warning."""
    image_after = {
        "imageName": "web-base-1a2b3c4d",
        "description": "Nginx",
        "family": "web",
        "deprecated": False,
        "tags": {"owner": "web-team"},
        "imageId": None,
    }
    return Plan(
        stack="prod",
        created_at=CREATED,
        expires_at=EXPIRES,
        options=PlanOptions(targets=("image.web-base",), allow_destroy=True),
        changes=(
            Change(
                address="image.web-base",
                action=Action.CREATE,
                reason="not in the cloud",
                region="ap-guangzhou",
                source=SourceRef("images/web.yaml", 4, 3),
                after=image_after,
            ),
            Change(
                address="image.web-base@ap-singapore",
                action=Action.CREATE,
                reason="new copy region",
                region="ap-singapore",
                source=SourceRef("images/web.yaml", 21),
                after={**image_after, "imageId": None},
            ),
            Change(
                address="image.api",
                action=Action.UPDATE,
                reason="description changed",
                region="ap-shanghai",
                diff=(
                    FieldDiff("description", "old", "new"),
                    FieldDiff("tags.team", None, "api"),
                    FieldDiff("tags.legacy", "yes", None),
                ),
                source=SourceRef("api.yaml", 2),
                before={"description": "old", "tags": {"legacy": "yes"}, "imageId": "img-api00001"},
                after={"description": "new", "tags": {"team": "api"}, "imageId": "img-api00001"},
                disruptive=True,
                image_id="img-api00001",
            ),
            Change(
                address="image.db",
                action=Action.REPLACE,
                reason="source.instance.id changed: forces replacement",
                region="ap-guangzhou",
                diff=(FieldDiff("source.instance.id", "ins-demo0001", "ins-demo0004"),),
                source=SourceRef("db.yaml", 7),
                warnings=(
                    "the old image ID img-db000001 will stop existing; launch templates of "
                    "recipients may use it",
                ),
                image_id="img-db000001",
            ),
            Change(
                address="image.old",
                action=Action.DELETE,
                reason="no longer declared",
                region="ap-guangzhou",
                before={"imageName": "old-00000000", "imageId": "img-old00001"},
                image_id="img-old00001",
            ),
            Change(
                address="image.kept",
                action=Action.FORGET,
                reason="no longer declared; deletionPolicy Retain",
                region="ap-guangzhou",
                image_id="img-kept0001",
            ),
            Change(
                address="share.web-base@ap-guangzhou:100000000002",
                action=Action.SHARE,
                reason="declared share",
                region="ap-guangzhou",
                source=SourceRef("shares.yaml", 9),
                after={"account": "100000000002", "region": "ap-guangzhou", "imageId": None},
                new_recipient=True,
            ),
            Change(
                address="share.old@ap-guangzhou:100000000003",
                action=Action.UNSHARE,
                reason="image deleted",
                region="ap-guangzhou",
                before={
                    "account": "100000000003",
                    "region": "ap-guangzhou",
                    "imageId": "img-old00001",
                },
                image_id="img-old00001",
            ),
            Change(
                address="image.same",
                action=Action.NOOP,
                reason="",
                region="ap-guangzhou",
                image_id="img-same0001",
            ),
        ),
        drift=(
            Change(
                address="image.api",
                action=Action.UPDATE,
                reason="tags.owner changed outside the stack",
                region="ap-shanghai",
                diff=(FieldDiff("tags.owner", "api-team", "someone"),),
                source=SourceRef("api.yaml", 2),
                image_id="img-api00001",
            ),
        ),
        steps=(
            Step(
                id="s1",
                operation="CreateImage",
                address="image.web-base",
                region="ap-guangzhou",
                params={
                    "ImageName": "web-base-1a2b3c4d",
                    "InstanceId": "ins-demo0001",
                    "ForcePoweroff": "false",
                    "TagSpecification": [
                        {"ResourceType": "image", "Tags": [{"Key": "owner", "Value": "web-team"}]}
                    ],
                },
                description="create image web-base-1a2b3c4d",
            ),
            Step(
                id="s2",
                operation="Wait",
                address="image.web-base",
                region="ap-guangzhou",
                depends_on=("s1",),
                params={"ImageId": StepRef("s1"), "State": "NORMAL"},
            ),
            Step(
                id="s3",
                operation="SyncImages",
                address="image.web-base",
                region="ap-guangzhou",
                depends_on=("s2",),
                params={
                    "ImageIds": [StepRef("s2")],
                    "DestinationRegions": ["ap-singapore"],
                    "ImageName": "web-base-1a2b3c4d",
                    "ImageSetRequired": True,
                },
            ),
            Step(
                id="s4",
                operation="ModifyResourceTags",
                service="tag",
                address="image.web-base@ap-singapore",
                region="ap-singapore",
                depends_on=("s3",),
                params={
                    "ImageId": StepRef("s3", "ImageSet.ap-singapore"),
                    "ReplaceTags": [{"TagKey": "owner", "TagValue": "web-team"}],
                },
            ),
            Step(
                id="s5",
                operation="ModifyImageSharePermission",
                address="share.web-base@ap-guangzhou:100000000002",
                region="ap-guangzhou",
                depends_on=("s2",),
                params={
                    "ImageId": StepRef("s2"),
                    "AccountIds": ["100000000002"],
                    "Permission": "SHARE",
                },
                always_run=True,
            ),
        ),
        cost=CostEstimate(
            regions=(
                RegionCost(
                    region="ap-singapore",
                    account_gb_before=0.0,
                    account_gb_after=50.0,
                    account_gb_peak=70.0,
                    free_tier_gb=0.0,
                    price_per_gb_month=0.026,
                    monthly_before=0.0,
                    monthly_after=1.3,
                    stack_gb_before=0.0,
                    stack_gb_after=50.0,
                    stack_share_of_delta=1.3,
                ),
            )
        ),
        policy=(
            PolicyViolation(
                rule="allowedAccounts",
                enforcement="warn",
                address="share.web-base@ap-guangzhou:100000000002",
                message="account 100000000002 is not in policy.allowedAccounts",
                source=SourceRef("shares.yaml", 9),
            ),
        ),
        errors=("image.prot is protected (db.yaml:3): remove lifecycle.protect first",),
        fingerprint={"img-api00001": "0123abcd", "name:ap-guangzhou:web-base-1a2b3c4d": "absent"},
        path="manifests/web",
    )


def empty_plan() -> Plan:
    """Nothing to do."""
    return Plan(stack="prod", created_at=CREATED, expires_at=EXPIRES)
