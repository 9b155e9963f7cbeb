"""The instance model: CVM instances and their disks, the sources of CreateImage."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from reconciler.cloudsim import tagstore
from reconciler.cloudsim.context import Action, CallContext
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.filters import Filter, check_filters, page
from reconciler.cloudsim.ids import is_instance_id
from reconciler.cloudsim.images import iso_time
from reconciler.cloudsim.params import FILTERS, INT, STRS, obj


def disks_of(db: sqlite3.Connection, instance_id: str) -> list[sqlite3.Row]:
    """The instance's disks, system disk first."""
    return list(
        db.execute("SELECT * FROM disks WHERE instance_id=? ORDER BY position", (instance_id,))
    )


def render(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """The CVM `Instance` object (the fields of the official example)."""
    disks = disks_of(db, row["instance_id"])
    system = disks[0]
    created = iso_time(row["created_at"])
    return {
        "RenewFlag": "NOTIFY_AND_MANUAL_RENEW",
        "Uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, row["instance_id"])),
        "InstanceState": row["state"],
        "DisableApiTermination": False,
        "LatestOperationErrorMsg": "",
        "DefaultLoginPort": 3389 if row["platform"] == "Windows" else 22,
        "LicenseType": "TencentCloud",
        "DefaultLoginUser": "Administrator" if row["platform"] == "Windows" else "root",
        "LatestOperationState": "SUCCESS",
        "LoginSettings": {"KeyIds": []},
        "IPv6Addresses": [],
        "DedicatedClusterId": "",
        "RestrictState": "NORMAL",
        "ExpiredTime": "",
        "DisasterRecoverGroupId": "",
        "Memory": 2,
        "CreatedTime": created,
        "CPU": 1,
        "RdmaIpAddresses": [],
        "CamRoleName": "",
        "PublicIpAddresses": [],
        "Tags": [{"Key": k, "Value": v} for k, v in tagstore.tags_of(db, _tag_key(row))],
        "InstanceId": row["instance_id"],
        "ImageId": row["image_id"],
        "StopChargingMode": "NOT_APPLICABLE",
        "InstanceChargeType": "POSTPAID_BY_HOUR",
        "InstanceType": row["instance_type"],
        "SystemDisk": {
            "DiskSize": system["size"],
            "CdcId": "",
            "DiskId": system["disk_id"],
            "DiskType": "CLOUD_PREMIUM",
        },
        "Placement": {"HostId": "", "ProjectId": 0, "HostIds": [], "Zone": row["zone"]},
        "PrivateIpAddresses": ["10.0.0." + str(sum(map(ord, row["instance_id"])) % 250 + 2)],
        "OsName": row["os_name"],
        "SecurityGroupIds": [],
        "InstanceName": row["name"],
        "DataDisks": [
            {
                "DeleteWithInstance": True,
                "Encrypt": False,
                "CdcId": "",
                "DiskType": "CLOUD_PREMIUM",
                "ThroughputPerformance": 0,
                "KmsKeyId": "",
                "DiskSize": disk["size"],
                "DiskId": disk["disk_id"],
            }
            for disk in disks[1:]
        ],
        "IsolatedSource": "NOTISOLATED",
        "VirtualPrivateCloud": {
            "SubnetId": "subnet-demo0001",
            "AsVpcGateway": False,
            "Ipv6AddressCount": 0,
            "VpcId": "vpc-demo0001",
            "PrivateIpAddresses": [],
        },
        "LatestOperationRequestId": "",
        "InternetAccessible": {
            "PublicIpAssigned": False,
            "InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR",
            "InternetMaxBandwidthOut": 0,
        },
        "HpcClusterId": "",
        "LatestOperation": "",
    }


_INSTANCE_FILTERS = frozenset(
    {"zone", "instance-id", "instance-name", "instance-state", "image-id"}
)
_INSTANCE_FIELD = {
    "zone": "zone",
    "instance-id": "instance_id",
    "instance-name": "name",
    "instance-state": "state",
    "image-id": "image_id",
}


def describe_instances(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeInstances: the caller's instances in the region, by IDs or filters."""
    ids = params.get("InstanceIds")
    filters = params.get("Filters")
    if ids is not None and filters is not None:
        raise ApiError(
            "InvalidParameterCombination", "InstanceIds and Filters cannot be given together."
        )
    for instance_id in ids or []:
        check_instance_id(instance_id)
    if ids is not None and len(ids) > 100:
        raise ApiError("InvalidParameterValue.LimitExceeded", "At most 100 InstanceIds.")
    checked = check_filters(
        filters or [], lambda name: name in _INSTANCE_FILTERS or name.startswith("tag")
    )
    rows = [
        row
        for row in ctx.db.execute(
            "SELECT * FROM instances WHERE account=? AND region=? ORDER BY created_at, instance_id",
            (ctx.account, ctx.region),
        )
        if (ids is None or row["instance_id"] in ids) and _matches(ctx.db, row, checked)
    ]
    return {
        "TotalCount": len(rows),
        "InstanceSet": [render(ctx.db, row) for row in page(rows, params)],
    }


def _matches(db: sqlite3.Connection, row: sqlite3.Row, filters: list[Filter]) -> bool:
    tags = dict(tagstore.tags_of(db, _tag_key(row)))
    for name, values in filters:
        if name == "tag-key":
            ok = any(key in tags for key in values)
        elif name == "tag-value":
            ok = any(value in tags.values() for value in values)
        elif name.startswith("tag:"):
            ok = tags.get(name[4:]) in values
        elif name in _INSTANCE_FIELD:
            ok = row[_INSTANCE_FIELD[name]] in values
        else:
            raise ApiError("InvalidFilter", f"The filter `{name}` is not supported.")
        if not ok:
            return False
    return True


def _tag_key(row: sqlite3.Row) -> tagstore.ResourceKey:
    return tagstore.ResourceKey(
        row["account"], row["region"], "cvm", "instance", row["instance_id"]
    )


def check_instance_id(instance_id: str) -> None:
    """Raise `InvalidInstanceId.Malformed` unless the ID looks like `ins-` + 8 of [0-9a-z]."""
    if not is_instance_id(instance_id):
        raise ApiError(
            "InvalidInstanceId.Malformed", f"The instance ID `{instance_id}` is malformed."
        )


ACTIONS = {
    "DescribeInstances": Action(
        obj(InstanceIds=STRS, Filters=FILTERS, Offset=INT, Limit=INT), describe_instances
    ),
}
