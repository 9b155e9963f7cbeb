"""`reconciler import`: print manifests that adopt custom images made outside the stack (§3)."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import app
from reconciler.commands.errors import reported_errors
from reconciler.commands.plan import check_exists, db_option
from reconciler.manifests.export import render_documents


@click.command("import")
@click.argument("path", default=".", type=click.Path(path_type=Path))
@click.option(
    "--region", metavar="R", help="The image's region (with --all-unmanaged: only this region)."
)
@click.option("--image-id", metavar="IMG", help="The ID of the custom image to import.")
@click.option(
    "--all-unmanaged",
    is_flag=True,
    help="Import every custom image that no stack manages, in the stack's regions.",
)
@db_option
def import_image(
    *,
    path: Path,
    region: str | None,
    image_id: str | None,
    all_unmanaged: bool,
    db: str | None,
) -> None:
    """Print manifests that adopt live images.

    Prints an Image (`source: existing`) and, when it is shared, an ImageShare per custom image
    made outside the stack. Add the output to the manifests in PATH; the next plan only adds
    the ownership tags.
    """
    with reported_errors():
        check_exists(path)
        found = app.import_images(
            path,
            region=region,
            image_id=image_id,
            all_unmanaged=all_unmanaged,
            runtime=app.Runtime(db=db),
        )
        if not found.images:
            click.echo("No unmanaged custom images in " + ", ".join(found.regions) + ".", err=True)
            return
        if found.outside_regions:
            click.echo(
                f"Note: add {', '.join(found.outside_regions)} to Stack.spec.regions before "
                "planning these documents.",
                err=True,
            )
        click.echo(render_documents(found.images), nl=False)
