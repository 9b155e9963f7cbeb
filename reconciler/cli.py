"""The `reconciler` command line: the group, its subcommands, and exit codes (SPEC §5)."""

from __future__ import annotations

import os
import sys
import traceback

import click

from reconciler import __version__
from reconciler.commands.lazy import LazyGroup
from reconciler.errors import ReconcilerError

COMMANDS = {
    "validate": "reconciler.commands.validate:validate",
    "schema": "reconciler.commands.validate:schema",
    "plan": "reconciler.commands.plan:plan",
    "apply": "reconciler.commands.apply:apply",
    "show": "reconciler.commands.show:show",
    "output": "reconciler.commands.show:output",
    "graph": "reconciler.commands.show:graph",
    "unlock": "reconciler.commands.apply:unlock",
    "import": "reconciler.commands.import_image:import_image",
    "cloud": "reconciler.commands.cloud:cloud",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Tencent Cloud CVM custom images: plan and apply images, copies and shares."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 1 (2 means "changes" with --detailed-exitcode)."""
    try:
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except ReconcilerError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # a file the user named can't be read or written
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"Error: {exc.strerror or exc}{where}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if os.environ.get("RECONCILER_DEBUG"):
            traceback.print_exc()
        else:
            click.echo(
                f"Internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in reconciler; run again with RECONCILER_DEBUG=1 for the "
                "traceback and report it.",
                err=True,
            )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
