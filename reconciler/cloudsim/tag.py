"""Tag service actions (`tag` 2018-08-13) on six-segment resource names.

`qcs::<service>:<region>:uin/<uin>:<prefix>/<id>`; an empty UIN means the caller's account
(as Terraform writes it). Tags use `TagKey`/`TagValue` here; CVM shows the same tags as
`Image.Tags` with `Key`/`Value`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from reconciler.cloudsim import tagstore
from reconciler.cloudsim.context import Action, CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.params import INT, STR, STRS, ListOf, obj
from reconciler.cloudsim.regions import is_region
from reconciler.cloudsim.tagstore import ResourceKey

_RESOURCE = re.compile(
    r"qcs::(?P<service>[a-z0-9]+):(?P<region>[a-z0-9-]*):uin/(?P<uin>[0-9]*):"
    r"(?P<prefix>[A-Za-z0-9_-]+)/(?P<id>[^/\s]+)"
)
MAX_PER_REQUEST = 10
_TAGS = ListOf(obj(("TagKey", "TagValue"), TagKey=STR, TagValue=STR))


def parse_resource(ctx: CallContext, name: str) -> ResourceKey:
    """The tag-store key of a six-segment name (else `...ResourceDescriptionError`)."""
    match = _RESOURCE.fullmatch(name)
    if match is None or not is_region(match["region"]) or match["uin"] not in {"", ctx.account}:
        raise ApiError(
            "InvalidParameterValue.ResourceDescriptionError",
            f"`{name}` is not a resource of this account "
            "(qcs::<service>:<region>:uin/<uin>:<prefix>/<id>).",
        )
    return ResourceKey(ctx.account, match["region"], match["service"], match["prefix"], match["id"])


def exists(ctx: CallContext, resource: ResourceKey) -> bool:
    """Whether a resource the simulated cloud models exists (other kinds are taken on trust)."""
    table = {
        ("cvm", "image"): ("images", "image_id", "owner"),
        ("cvm", "instance"): ("instances", "instance_id", "account"),
    }
    known = table.get((resource.service, resource.prefix))
    if known is None:
        return True
    name, id_column, account_column = known
    row = ctx.db.execute(
        f"SELECT 1 FROM {name} WHERE {id_column}=? AND {account_column}=? AND region=?",
        (resource.resource_id, resource.account, resource.region),
    ).fetchone()
    return row is not None


def _check_counts(resources: list[str], tag_count: int) -> None:
    if len(resources) > MAX_PER_REQUEST:
        raise ApiError(
            "LimitExceeded.ResourceNumPerRequest",
            f"At most {MAX_PER_REQUEST} resources per request; {len(resources)} were given.",
        )
    if tag_count > MAX_PER_REQUEST:
        raise ApiError(
            "LimitExceeded.TagNumPerRequest",
            f"At most {MAX_PER_REQUEST} tags per request; {tag_count} were given.",
        )


def tag_resources(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """TagResources: add or overwrite tags on up to 10 resources."""
    names, tags = params["ResourceList"], params["Tags"]
    _check_counts(names, len(tags))
    pairs = [(tag["TagKey"], tag["TagValue"]) for tag in tags]
    for key, value in pairs:
        tagstore.check_tag(key, value)
    tagstore.check_unique_keys(key for key, _ in pairs)
    failed = []
    for name in names:
        resource = parse_resource(ctx, name)
        if not exists(ctx, resource):
            failed.append(_failure(name))
            continue
        tagstore.put_tags(ctx.db, resource, pairs, code="LimitExceeded.ResourceAttachedTags")
    return {"FailedResources": failed}


def untag_resources(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """UnTagResources: remove tag keys from up to 10 resources."""
    names, keys = params["ResourceList"], params["TagKeys"]
    _check_counts(names, len(keys))
    failed = []
    for name in names:
        resource = parse_resource(ctx, name)
        if not exists(ctx, resource):
            failed.append(_failure(name))
            continue
        tagstore.remove_tags(ctx.db, resource, keys)
    return {"FailedResources": failed}


def _failure(name: str) -> dict[str, str]:
    return {"Resource": name, "Code": "ResourceNotFound", "Message": f"`{name}` does not exist."}


def modify_resource_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """ModifyResourceTags: replace some tags and delete others on one resource."""
    resource = parse_resource(ctx, params["Resource"])
    replace, delete = params.get("ReplaceTags"), params.get("DeleteTags")
    if replace is None and delete is None:
        raise ApiError("MissingParameter", "Give ReplaceTags, DeleteTags or both.")
    if replace == [] or delete == []:
        raise ApiError("InvalidParameterValue", "ReplaceTags and DeleteTags must not be empty.")
    pairs = [(tag["TagKey"], tag["TagValue"]) for tag in replace or []]
    deleted = [tag["TagKey"] for tag in delete or []]
    _check_counts([], max(len(pairs), len(deleted)))
    for key, value in pairs:
        tagstore.check_tag(key, value)
    tagstore.check_unique_keys(key for key, _ in pairs)
    tagstore.check_unique_keys([*dict.fromkeys(key for key, _ in pairs), *dict.fromkeys(deleted)])
    if not exists(ctx, resource):
        raise ApiError("ResourceNotFound", f"`{params['Resource']}` does not exist.")
    tagstore.remove_tags(ctx.db, resource, deleted)
    tagstore.put_tags(ctx.db, resource, pairs, code="LimitExceeded.ResourceAttachedTags")
    return {}


def describe_resource_tags_by_resource_ids(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    """DescribeResourceTagsByResourceIds: the tags of up to 50 resources of one kind."""
    ids = params["ResourceIds"]
    if len(ids) > 50:
        raise ApiError(
            "LimitExceeded.ResourceNumPerRequest", f"At most 50 ResourceIds; {len(ids)} given."
        )
    region = params["ResourceRegion"]
    if not is_region(region):
        raise ApiError("InvalidParameterValue.RegionInvalid", f"`{region}` is not a region.")
    offset, limit = params.get("Offset", 0), params.get("Limit", 15)
    if offset < 0 or not 1 <= limit <= 100:
        raise ApiError("InvalidParameterValue", "Offset ≥ 0 and 1 ≤ Limit ≤ 100.")
    rows = [
        {
            "TagKey": key,
            "TagValue": value,
            "ResourceId": resource_id,
            "TagKeyMd5": hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(),
            "TagValueMd5": hashlib.md5(value.encode(), usedforsecurity=False).hexdigest(),
            "ServiceType": params["ServiceType"],
            "Category": "Custom",
        }
        for resource_id in dict.fromkeys(ids)
        for key, value in tagstore.tags_of(
            ctx.db,
            ResourceKey(
                ctx.account, region, params["ServiceType"], params["ResourcePrefix"], resource_id
            ),
        )
    ]
    return {
        "TotalCount": len(rows),
        "Offset": offset,
        "Limit": limit,
        "Tags": rows[offset : offset + limit],
    }


ACTIONS: Mapping[str, Action] = {
    "TagResources": Action(
        obj(("ResourceList", "Tags"), ResourceList=STRS, Tags=_TAGS), tag_resources
    ),
    "UnTagResources": Action(
        obj(("ResourceList", "TagKeys"), ResourceList=STRS, TagKeys=STRS), untag_resources
    ),
    "ModifyResourceTags": Action(
        obj(
            ("Resource",),
            Resource=STR,
            ReplaceTags=_TAGS,
            DeleteTags=ListOf(obj(("TagKey",), TagKey=STR)),
        ),
        modify_resource_tags,
    ),
    "DescribeResourceTagsByResourceIds": Action(
        obj(
            ("ServiceType", "ResourcePrefix", "ResourceIds", "ResourceRegion"),
            ServiceType=STR,
            ResourcePrefix=STR,
            ResourceIds=STRS,
            ResourceRegion=STR,
            Offset=INT,
            Limit=INT,
            Category=STR,
        ),
        describe_resource_tags_by_resource_ids,
    ),
}
"""The actions of the `tag` service the simulated cloud implements."""
