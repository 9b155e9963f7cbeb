"""`reconciler plan`: show what apply would change; text, JSON or markdown; `--out` saves it."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from reconciler import app
from reconciler.commands.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, reported_errors
from reconciler.errors import PlanError, UsageError
from reconciler.model.plan import Plan, PlanOptions
from reconciler.render.plan_json import is_plan_document, plan_from_json, plan_schema, plan_to_json
from reconciler.render.text import render_plan, use_color

PLAN_FORMATS = ("text", "json", "markdown")
PLAN_FORMAT_HELP = (
    "text: for people; json: the versioned plan (schemas/plan.schema.json); "
    "markdown: a pull-request comment."
)

db_option = click.option(
    "--db",
    metavar="FILE",
    default=None,
    help="The simulated cloud's database (default: RECONCILER_CLOUD_DB, the Stack's "
    "provider.path, or <PATH>/.reconciler/cloud.db).",
)
target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDRESS",
    help="Limit the plan to this address and what it depends on (repeatable).",
)
replace_option = click.option(
    "--replace",
    "replace",
    multiple=True,
    metavar="ADDRESS",
    help="Force the replacement of this image from an unchanged source (repeatable).",
)
destroy_option = click.option(
    "--destroy", is_flag=True, help="Plan the removal of everything the stack owns."
)
allow_destroy_option = click.option(
    "--allow-destroy",
    is_flag=True,
    help="Allow deletions and unshares under the Stack's `destroy` policy.",
)


def plan_options(
    *,
    refresh_only: bool = False,
    destroy: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    allow_destroy: bool,
) -> PlanOptions:
    """The PlanOptions of the command-line flags."""
    if refresh_only and (destroy or replace):
        raise UsageError("--refresh-only can't be combined with --destroy or --replace")
    return PlanOptions(
        refresh_only=refresh_only,
        destroy=destroy,
        targets=targets,
        replace=replace,
        allow_destroy=allow_destroy,
    )


def check_plan_out(out: Path) -> None:
    """Refuse a `--out` whose directory does not exist (it is never created)."""
    parent = out.parent
    if not parent.is_dir():
        raise UsageError(
            f"{out}: can't write the plan there: the directory {parent} does not exist"
        )


def write_plan_file(plan: Plan, out: Path) -> None:
    """Write the JSON plan atomically (a reader never sees half a plan); errors name `out`."""
    check_plan_out(out)
    text = json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, out)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{out}: can't write the plan: {exc.strerror or exc}") from exc
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def check_exists(path: Path) -> None:
    """Refuse a PATH or PLANFILE that does not exist, saying so (not "not a manifest directory")."""
    if not path.exists():
        raise UsageError(f"no such file or directory: {path}")


def read_plan_document(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path` when it is a plan file (has `format_version`).

    None when `path` is not a file or its content does not look like JSON (does not start with
    `{` and does not parse); UsageError for JSON that is broken (`PATH:LINE:COL: not valid JSON`)
    or that is not a plan (no `format_version`).
    """
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as exc:
        if text.lstrip("\ufeff \t\r\n").startswith("{"):
            raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
        return None
    if isinstance(data, dict) and is_plan_document(data):
        return data
    kind = "object" if isinstance(data, dict) else "array" if isinstance(data, list) else "value"
    raise UsageError(f"{path}: not a plan file: a JSON {kind} without format_version")


def load_plan_file(path: Path) -> Plan:
    """Read, validate (plan.schema.json) and decode a plan file; PlanError names what is wrong."""
    import jsonschema

    check_exists(path)
    data = read_plan_document(path)
    if data is None:
        what = "a directory, " if path.is_dir() else ""
        raise UsageError(f"{path}: {what}not a plan file (a JSON object with format_version)")
    errors = sorted(
        jsonschema.Draft202012Validator(plan_schema()).iter_errors(data), key=lambda e: e.path
    )
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise PlanError(f"{path}: invalid plan at {where}: {errors[0].message}")
    return plan_from_json(data)


def render(plan: Plan, output_format: str, *, source_url: str | None = None) -> str:
    """The plan in the chosen format, as printed on stdout."""
    encoded = plan_to_json(plan)
    if output_format == "json":
        return json.dumps(encoded, indent=2, ensure_ascii=False) + "\n"
    if output_format == "markdown":
        from reconciler.render.markdown import render_markdown

        return render_markdown(encoded, source_url=source_url)
    return render_plan(encoded, color=use_color(sys.stdout))


def plan_exit_code(plan: Plan, *, detailed: bool) -> int:
    """1 for errors or denied policy; 2 with --detailed-exitcode for changes (or drift)."""
    if plan.errors or plan.denied:
        return EXIT_ERROR
    if not detailed:
        return EXIT_OK
    if plan.options.refresh_only:
        return EXIT_CHANGES if plan.drift else EXIT_OK
    return EXIT_CHANGES if plan.has_changes else EXIT_OK


def report_blockers(plan: Plan, *, errors_shown: bool = True) -> None:
    """On stderr: why this plan can't be applied (errors, denied policy).

    `errors_shown`: the plan printed on stdout lists its errors, so stderr only counts them
    (each error is printed once); otherwise they are listed here."""
    if plan.errors:
        click.echo(
            f"Error: the plan has {len(plan.errors)} error(s); it can't be applied.", err=True
        )
        if not errors_shown:
            for error in plan.errors:
                click.echo(f"  {error}", err=True)
    for violation in plan.denied:
        at = f" ({violation.source})" if violation.source else ""
        click.echo(
            f"Error: policy {violation.rule} denies {violation.address}: {violation.message}{at}",
            err=True,
        )


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan here.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(PLAN_FORMATS),
    default="text",
    show_default=True,
    help=PLAN_FORMAT_HELP,
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (with --refresh-only: drift); 0 when none; 1 on error.",
)
@click.option("--refresh-only", is_flag=True, help="Report drift only; propose no changes.")
@destroy_option
@target_option
@replace_option
@allow_destroy_option
@click.option("--source-url", metavar="URL", help="Base URL for manifest links in markdown.")
@db_option
def plan(
    *,
    path: Path,
    out: Path | None,
    output_format: str,
    detailed_exitcode: bool,
    refresh_only: bool,
    destroy: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    allow_destroy: bool,
    source_url: str | None,
    db: str | None,
) -> None:
    """Show what apply would change.

    Compares the manifests in PATH with the cloud and prints the actions that would make the
    cloud match them. Nothing is changed.
    """
    with reported_errors():
        check_exists(path)
        if out is not None:
            check_plan_out(out)
        options = plan_options(
            refresh_only=refresh_only,
            destroy=destroy,
            targets=targets,
            replace=replace,
            allow_destroy=allow_destroy,
        )
        made = app.plan(path, options, runtime=app.Runtime(db=db))
        code = plan_exit_code(made, detailed=detailed_exitcode)
        if out is not None and code != EXIT_ERROR:
            write_plan_file(made, out)
        click.echo(render(made, output_format, source_url=source_url), nl=False)
        report_blockers(made)
        if out is not None and code != EXIT_ERROR:
            click.echo(f"Saved the plan to {out}; apply it with: reconciler apply {out}", err=True)
    sys.exit(code)
