"""`reconciler cloud ...`: administer the local simulated cloud and call its API by hand."""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from reconciler.cloudsim.dispatch import SERVICES
from reconciler.commands.clouddb import resolve_cloud_db
from reconciler.commands.errors import fail
from reconciler.commands.lazy import LazyGroup
from reconciler.errors import ReconcilerError

_FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
_OWNER = click.option(
    "--account", metavar="UIN", default=None, help="Owner (default: the own account)."
)
_PLATFORM = click.option(
    "--platform",
    default="TencentOS",
    show_default=True,
    help="TencentOS, CentOS, Ubuntu or Windows.",
)
_DATA_DISKS = click.option(
    "--data-disk",
    "data_disks",
    type=int,
    multiple=True,
    metavar="GIB",
    help="Add a data disk of this size (repeatable).",
)


@dataclasses.dataclass(frozen=True, slots=True)
class _CloudDatabase:
    """The simulated cloud's database as `--db FILE`, `--stack-dir DIR` and PATH name it."""

    db: str | None
    stack_dir: Path | None
    path: Path | None

    @contextmanager
    def open(self) -> Iterator[Any]:
        """The simulated cloud, closed on exit; its problems become click errors."""
        from reconciler.cloudsim import CloudSim
        from reconciler.cloudsim.store import CloudDatabaseError

        try:
            location = resolve_cloud_db(self.stack_dir or self.path or Path("."), self.db)
        except ReconcilerError as error:  # the Stack's manifests do not load: every located problem
            fail(error)
        try:
            sim = CloudSim(location)
        except CloudDatabaseError as exc:  # its message names the file and what to do
            raise click.ClickException(str(exc)) from exc
        except (sqlite3.Error, OSError) as exc:
            raise click.ClickException(
                f"{location}: cannot open the simulated cloud: {exc}"
            ) from exc
        try:
            yield sim
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            sim.close()


def _database_options(command: Callable[..., None]) -> Callable[..., None]:
    """`--db FILE`, `--stack-dir DIR` and an optional PATH naming the stack directory, given to
    `command` as one `database: _CloudDatabase`."""

    @click.option(
        "--db",
        "db",
        metavar="FILE",
        envvar=None,
        default=None,
        help="The simulated cloud's database (default: $RECONCILER_CLOUD_DB, the Stack's "
        "spec.provider.path, or <stack dir>/.reconciler/cloud.db).",
    )
    @click.option(
        "--stack-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Stack directory whose local cloud to use (default: PATH or .).",
    )
    @click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
    @functools.wraps(command)
    def with_database(
        *, db: str | None, stack_dir: Path | None, path: Path | None, **options: Any
    ) -> None:
        command(database=_CloudDatabase(db, stack_dir, path), **options)

    return with_database


def _emit(output_format: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if output_format == "json":
        click.echo(json.dumps(list(rows), indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("(none)")
        return
    table = [[_cell(row, column) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[n]) for line in table)) for n, column in enumerate(columns)
    ]
    for line in [list(columns), *table]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def _cell(row: dict[str, Any], column: str) -> str:
    value: Any = row
    for part in column.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def _result(output_format: str, result: dict[str, Any], text: str) -> None:
    """Print a command's outcome: `result` as a JSON object, or `text`."""
    if output_format == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        click.echo(text)


@click.group(cls=LazyGroup, lazy={"serve": "reconciler.commands.serve:serve"})
def cloud() -> None:
    """Administer the local simulated cloud.

    The embedded simulated Tencent Cloud of `provider: {type: local}`: its inventory, faults,
    settings and raw API calls, and `serve` to reach it over HTTP. Each command uses the database
    of `--db`, else $RECONCILER_CLOUD_DB, else the Stack's spec.provider.path, else
    <stack dir>/.reconciler/cloud.db, where the stack directory is PATH (or --stack-dir), default
    the current directory.
    """


@cloud.command()
@click.option("--account", metavar="UIN", default=None, help="Only this account's instances.")
@_FORMAT
@_database_options
def instances(*, account: str | None, output_format: str, database: _CloudDatabase) -> None:
    """List the instances and their disks.

    The instances (sources of CreateImage) with their system and data disks.
    """
    with database.open() as sim:
        rows = sim.instances(account)
    for row in rows:
        row["DataDiskIds"] = [disk["DiskId"] for disk in row["DataDisks"]]
    _emit(
        output_format,
        rows,
        [
            "InstanceId",
            "Owner",
            "Placement.Zone",
            "InstanceState",
            "OsName",
            "SystemDisk.DiskId",
            "DataDiskIds",
        ],
    )


@cloud.command()
@_FORMAT
@_database_options
def accounts(*, output_format: str, database: _CloudDatabase) -> None:
    """List the accounts and their demo keys.

    Each account's UIN with its demo SecretId/SecretKey (shown on purpose).
    """
    with database.open() as sim:
        rows = [
            {
                "Uin": a.uin,
                "SecretId": a.secret_id,
                "SecretKey": a.secret_key,
                "Own": a.uin == sim.own_account,
            }
            for a in sim.credentials()
        ]
    _emit(output_format, rows, ["Uin", "SecretId", "SecretKey", "Own"])


@cloud.command()
@click.option("--region", default=None, help="Only this region.")
@click.option("--account", metavar="UIN", default=None, help="As seen by this account.")
@click.option("--public", "include_public", is_flag=True, help="Include public images.")
@_FORMAT
@_database_options
def images(
    *,
    region: str | None,
    account: str | None,
    include_public: bool,
    output_format: str,
    database: _CloudDatabase,
) -> None:
    """List the images an account sees.

    Its own images and those shared to it; --public adds the public ones.
    """
    with database.open() as sim:
        rows = sim.images(region, account, include_public=include_public)
    for row in rows:
        row["TagList"] = [f"{tag['Key']}={tag['Value']}" for tag in row["Tags"]]
    _emit(
        output_format,
        rows,
        [
            "Region",
            "ImageId",
            "ImageType",
            "ImageState",
            "SyncPercent",
            "ImageName",
            "ImageSize",
            "TagList",
        ],
    )


@cloud.command("add-instance")
@click.option("--region", required=True, help="Region of the instance.")
@click.option("--zone", default=None, help="Availability zone (default: the region's first).")
@_OWNER
@_PLATFORM
@_DATA_DISKS
@_FORMAT
@_database_options
def add_instance(
    *,
    region: str,
    zone: str | None,
    account: str | None,
    platform: str,
    data_disks: tuple[int, ...],
    output_format: str,
    database: _CloudDatabase,
) -> None:
    """Create a running instance.

    Each of its disks gets a snapshot.
    """
    with database.open() as sim:
        row = sim.add_instance(region, zone, account, platform=platform, data_disk_sizes=data_disks)
    _result(output_format, row, f"{row['InstanceId']} in {row['Placement']['Zone']}")


@cloud.command("add-image")
@click.option("--region", required=True, help="Region of the image.")
@click.option(
    "--image-id",
    default=None,
    metavar="IMG",
    help="Image ID, img- and 8 of [0-9a-z] (default: a fresh one).",
)
@click.option(
    "--name", default=None, help="Image name, unique in the region (default: image-<id suffix>)."
)
@click.option("--description", default="", help="Image description.")
@_OWNER
@_PLATFORM
@click.option(
    "--size", type=int, default=50, show_default=True, metavar="GIB", help="System disk size."
)
@_DATA_DISKS
@_FORMAT
@_database_options
def add_image(
    *,
    region: str,
    image_id: str | None,
    name: str | None,
    description: str,
    account: str | None,
    platform: str,
    size: int,
    data_disks: tuple[int, ...],
    output_format: str,
    database: _CloudDatabase,
) -> None:
    """Add a custom image made outside the stack.

    A NORMAL custom image as if built outside the stack (e.g. by Packer), with a snapshot of each
    disk.
    """
    with database.open() as sim:
        row = sim.add_image(
            region,
            image_id=image_id,
            name=name,
            account=account,
            description=description,
            platform=platform,
            size_gb=size,
            data_disk_sizes=data_disks,
        )
    _result(output_format, row, f"{row['ImageId']} ({row['ImageName']}) in {row['Region']}")


@cloud.command("add-account")
@click.option("--uin", default=None, help="Account ID (default: the next free one).")
@_FORMAT
@_database_options
def add_account(*, uin: str | None, output_format: str, database: _CloudDatabase) -> None:
    """Create an account with fresh credentials."""
    with database.open() as sim:
        account = sim.add_account(uin)
    row = {"Uin": account.uin, "SecretId": account.secret_id, "SecretKey": account.secret_key}
    _emit(output_format, [row], ["Uin", "SecretId", "SecretKey"])


@cloud.command()
@click.option("--settings", "with_settings", is_flag=True, help="Also restore default settings.")
@_FORMAT
@_database_options
def reset(*, with_settings: bool, output_format: str, database: _CloudDatabase) -> None:
    """Restore the demo inventory; remove faults.

    Deletes everything in the database: every image (the stack's included), snapshot, added
    instance and added account. Then restores the pinned demo inventory, without faults
    (settings are kept unless --settings).
    """
    with database.open() as sim:
        sim.reset(settings=with_settings)
        location = sim.path
    _result(
        output_format,
        {"Database": location, "Inventory": "demo", "Faults": [], "SettingsReset": with_settings},
        f"Reset the simulated cloud in {location}.",
    )


@cloud.command("settings")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="NAME=VALUE",
    help="Change a setting, e.g. create_image_seconds=0 (repeatable).",
)
@_FORMAT
@_database_options
def settings_command(
    *,
    assignments: tuple[str, ...],
    output_format: str,
    database: _CloudDatabase,
) -> None:
    """Show or change timings, quotas and options.

    Shows (and with --set changes) timings, failure probabilities, quotas and options.
    """
    from reconciler.cloudsim.settings import parse_setting

    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        if not separator:
            raise click.UsageError(f"--set {assignment!r}: write NAME=VALUE")
        try:
            changes[name.strip()] = parse_setting(name.strip(), text)
        except ValueError as exc:
            raise click.UsageError(f"--set {assignment!r}: {exc}") from exc
    with database.open() as sim:
        current = sim.update_settings(**changes) if changes else sim.settings()
    values = dataclasses.asdict(current)
    _result(
        output_format,
        values,
        "\n".join(f"{name} = {json.dumps(value)}" for name, value in values.items()),
    )


@cloud.group()
def faults() -> None:
    """Inject API errors, throttling and latency.

    Per action of the API, or `*` for every action.
    """


@faults.command("list")
@_FORMAT
@_database_options
def faults_list(*, output_format: str, database: _CloudDatabase) -> None:
    """List the faults, throttles and latencies."""
    with database.open() as sim:
        config = sim.faults()
    rows = [
        {
            "Action": f.action,
            "Kind": "error",
            "Code": f.code,
            "When": _when(f.probability, f.remaining),
        }
        for f in config.faults
    ]
    rows += [
        {
            "Action": a,
            "Kind": "throttle",
            "Code": "RequestLimitExceeded",
            "When": f"over {rate:g}/s",
        }
        for a, rate in config.throttles
    ]
    rows += [
        {"Action": a, "Kind": "latency", "Code": "", "When": f"+{ms} ms"}
        for a, ms in config.latencies
    ]
    _emit(output_format, rows, ["Action", "Kind", "Code", "When"])


def _when(probability: float | None, remaining: int | None) -> str:
    if remaining is not None:
        return f"next {remaining} calls"
    if probability is not None:
        return f"probability {probability:g}"
    return "always"


@faults.command("set")
@click.argument("action")
@click.option("--code", required=True, help="Error code to return, e.g. InternalError.")
@click.option("--probability", type=float, default=None, help="Fail this share of calls (0 to 1).")
@click.option("--count", type=int, default=None, help="Fail the next N calls.")
@click.option("--message", default=None, help="Error message (default: the API's).")
@_FORMAT
@_database_options
def faults_set(
    *,
    action: str,
    code: str,
    probability: float | None,
    count: int | None,
    message: str | None,
    output_format: str,
    database: _CloudDatabase,
) -> None:
    """Make ACTION fail with an error code.

    ACTION fails with --code always, with --probability, or for the next --count calls.
    ACTION is an action of the API (DescribeImages, SyncImages, ...) or `*` for every action.
    """
    if probability is not None and count is not None:
        raise click.UsageError("give --probability or --count, not both")
    with database.open() as sim:
        sim.set_fault(action, code, probability, count, message=message)
        fault = next(f for f in sim.faults().faults if f.action == action)
    _result(
        output_format,
        {
            "Action": action,
            "Kind": "error",
            "Code": code,
            "Message": fault.message,
            "Probability": probability,
            "Count": count,
            "When": _when(probability, count),
        },
        f"{action}: fails with {code} ({_when(probability, count)}).",
    )


@faults.command("throttle")
@click.argument("action")
@click.option(
    "--rate",
    type=float,
    required=True,
    help="Allowed calls per second per account and region (above 0).",
)
@_FORMAT
@_database_options
def faults_throttle(
    *,
    action: str,
    rate: float,
    output_format: str,
    database: _CloudDatabase,
) -> None:
    """Throttle ACTION (RequestLimitExceeded).

    Answers RequestLimitExceeded when ACTION (or `*`) is called faster than --rate per second.
    """
    with database.open() as sim:
        sim.set_throttle(action, rate)
    _result(
        output_format,
        {"Action": action, "Kind": "throttle", "Code": "RequestLimitExceeded", "Rate": rate},
        f"{action}: throttled to {rate:g} calls/s.",
    )


@faults.command("latency")
@click.argument("action")
@click.option("--ms", type=int, required=True, help="Added milliseconds (0 to 600000).")
@_FORMAT
@_database_options
def faults_latency(*, action: str, ms: int, output_format: str, database: _CloudDatabase) -> None:
    """Add latency to every call of ACTION.

    Adds --ms milliseconds to every call of ACTION (or `*`).
    """
    with database.open() as sim:
        sim.set_latency(action, ms)
    _result(output_format, {"Action": action, "Kind": "latency", "Ms": ms}, f"{action}: +{ms} ms.")


@faults.command("clear")
@_FORMAT
@_database_options
def faults_clear(*, output_format: str, database: _CloudDatabase) -> None:
    """Remove every fault, throttle and latency."""
    with database.open() as sim:
        sim.clear_faults()
    _result(
        output_format,
        {"Faults": [], "Throttles": [], "Latencies": []},
        "Cleared every fault, throttle and latency; in force now: (none).",
    )


@cloud.command()
@click.argument("action")
@click.option("--region", required=True, help="Region of the request (X-TC-Region).")
@click.option(
    "--service",
    type=click.Choice(sorted(SERVICES)),
    default="cvm",
    show_default=True,
    help="API service.",
)
@click.option("--account", metavar="UIN", default=None, help="Caller (default: the own account).")
@click.option(
    "--params",
    "params_text",
    default="{}",
    metavar="JSON",
    help="Request parameters as a JSON object, or @FILE.",
)
@_database_options
def call(
    *,
    action: str,
    region: str,
    service: str,
    account: str | None,
    params_text: str,
    database: _CloudDatabase,
) -> None:
    """Send one API request; print the response.

    Sends ACTION as an account and prints the JSON response envelope (exit 1 when it holds an
    Error).
    """
    params = _parse_params(params_text)
    with database.open() as sim:
        response = sim.handle(
            account=account or sim.own_account,
            service=service,
            version=SERVICES[service][0],  # the simulator's own version table
            action=action,
            region=region,
            params=params,
        )
    click.echo(json.dumps(response, indent=2, ensure_ascii=False))
    if "Error" in response["Response"]:
        raise click.exceptions.Exit(1)


def _parse_params(text: str) -> dict[str, Any]:
    """The request parameters of `--params JSON|@FILE`: a JSON object, strictly (no duplicate
    keys, no NaN/Infinity); any problem is a click error naming --params."""
    source = "--params"
    if text.startswith("@"):
        source = f"--params {text}"
        try:
            data = Path(text[1:]).read_bytes()
        except OSError as exc:
            raise click.UsageError(f"{source}: {exc.strerror or exc}") from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise click.UsageError(
                f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
            ) from None
    try:
        params = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise click.UsageError(
            f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    except RecursionError:
        raise click.UsageError(f"{source}: invalid JSON: nested too deeply") from None
    except ValueError as exc:  # a duplicate key or a NaN/Infinity constant
        raise click.UsageError(f"{source}: invalid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise click.UsageError(f"{source}: the parameters must be a JSON object")
    return params


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
            raise ValueError(f"duplicate key {shown!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
