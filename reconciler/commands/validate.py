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
    help="text: one problem per line; json: a list of "
    "{file, line, column, kind, name, pointer, message}.",
)
def validate(path: Path, output_format: str) -> int:
    """Check the manifests in PATH (a directory, default ".", or a file) without any cloud call."""
    desired, problems = validate_path(path)
    if output_format == "json":
        click.echo(json.dumps([p.to_json() for p in problems], indent=2))
    elif desired is not None:
        click.echo(
            f"OK: {desired.documents} documents, {len(desired.images)} images, "
            f"{len(desired.copies)} copies, {len(desired.shares)} shares"
        )
    else:
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"{len(problems)} problem(s) in {path}", err=True)
    return 0 if desired is not None else 1


@click.command()
@click.argument("kind", required=False)
def schema(kind: str | None) -> int:
    """Print the JSON Schema of one manifest KIND, or of any manifest (self-contained)."""
    if kind is not None:
        by_name = {name.lower(): name for name in KIND_SCHEMAS}
        if kind.lower() not in by_name:
            raise click.UsageError(f'unknown kind "{kind}" (one of {", ".join(KIND_SCHEMAS)})')
        kind = by_name[kind.lower()]
    click.echo(json.dumps(bundled_schema(kind), indent=2, ensure_ascii=False))
    return 0
