"""`reconciler validate` (check manifests, exit 0/1) and `reconciler schema` (print the schemas)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.manifests import validate_path
from reconciler.manifests.schemas import KIND_SCHEMAS, bundled_schema


@click.command()
@click.argument("path", type=click.Path(path_type=Path), default=Path("."), required=False)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one problem per line (warnings on stderr); json: a list of "
    "{file, line, column, kind, name, pointer, message, severity}.",
)
def validate(path: Path, output_format: str) -> int:
    """Check the manifests (no cloud call).

    Checks the manifests in PATH (a directory, default ".", or a file) without any cloud call.
    Policy rules the manifests alone can break (allowedAccounts, requiredTags) are checked too:
    a `deny` rule is an error (exit 1), a `warn` rule a warning (exit 0).
    """
    desired, problems = validate_path(path, policy=True)
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    if output_format == "json":
        click.echo(json.dumps([p.to_json() for p in problems], indent=2))
        return 0 if desired is not None else 1
    for problem in errors:
        click.echo(str(problem))
    for warning in warnings:
        click.echo(str(warning), err=True)
    if desired is not None:
        click.echo(
            f"OK: {desired.documents} documents, {len(desired.images)} images, "
            f"{len(desired.copies)} copies, {len(desired.shares)} shares"
        )
    else:
        click.echo(f"{len(errors)} problem(s) in {path}", err=True)
    return 0 if desired is not None else 1


@click.command(
    help="Print the manifests' JSON Schema.\n\n"
    "Prints a self-contained JSON Schema (draft 2020-12) of one manifest KIND, or without KIND "
    "of any manifest (chosen by its `kind`). KIND is one of "
    f"{', '.join(KIND_SCHEMAS)} (any case)."
)
@click.argument("kind", required=False)
def schema(kind: str | None) -> int:
    """`reconciler schema [KIND]` (its help text, which lists the kinds, is given above)."""
    if kind is not None:
        by_name = {name.lower(): name for name in KIND_SCHEMAS}
        if kind.lower() not in by_name:
            raise click.UsageError(f'unknown kind "{kind}" (one of {", ".join(KIND_SCHEMAS)})')
        kind = by_name[kind.lower()]
    click.echo(json.dumps(bundled_schema(kind), indent=2, ensure_ascii=False))
    return 0
