"""`reconciler show PLANFILE`, `reconciler output` (image IDs) and `reconciler graph` (step DAG)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from reconciler import app
from reconciler.commands.errors import reported_errors
from reconciler.commands.plan import (
    PLAN_FORMAT_HELP,
    PLAN_FORMATS,
    check_exists,
    db_option,
    destroy_option,
    load_plan_file,
    plan_options,
    render,
    replace_option,
    target_option,
)
from reconciler.render.graph import GRAPH_FORMATS


@click.command()
@click.argument("planfile", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(PLAN_FORMATS),
    default="text",
    show_default=True,
    help=PLAN_FORMAT_HELP,
)
@click.option("--source-url", metavar="URL", help="Base URL for manifest links in markdown.")
def show(*, planfile: Path, output_format: str, source_url: str | None) -> None:
    """Print a saved plan (no cloud call)."""
    with reported_errors():
        plan = load_plan_file(planfile)
        click.echo(render(plan, output_format, source_url=source_url), nl=False)


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text: one line per image; json: a list of "
    "{address, region, image_id, image_name, state, generation}.",
)
@db_option
def output(*, path: Path, output_format: str, db: str | None) -> None:
    """Print the IDs of the stack's images.

    The image ID of every image the stack in PATH owns, per address and region.
    """
    with reported_errors():
        check_exists(path)
        images = app.output(path, runtime=app.Runtime(db=db))
    if output_format == "json":
        click.echo(json.dumps([asdict(i) for i in images], indent=2))
        return
    if not images:
        click.echo("The stack owns no images.")
        return
    width = max(len(i.address) for i in images)
    for image in images:
        click.echo(f"{image.address:<{width}}  {image.region:<16}  {image.image_id}  {image.state}")


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "graph_format",
    type=click.Choice(GRAPH_FORMATS),
    default="mermaid",
    show_default=True,
    help="mermaid: a Mermaid flowchart; dot: Graphviz DOT.",
)
@destroy_option
@target_option
@replace_option
@db_option
def graph(
    *,
    path: Path,
    graph_format: str,
    destroy: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    db: str | None,
) -> None:
    """Print the plan's step graph.

    The graph of API steps of the plan for PATH, as Mermaid or Graphviz DOT.
    """
    with reported_errors():
        check_exists(path)
        options = plan_options(
            destroy=destroy, targets=targets, replace=replace, allow_destroy=False
        )
        drawn = app.graph(path, options, graph_format=graph_format, runtime=app.Runtime(db=db))
        click.echo(drawn, nl=False)
