"""`reconciler apply` (a manifest directory or a saved plan) and `reconciler unlock`."""

from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import click

from reconciler import app
from reconciler.commands.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    error_lines,
    reported_errors,
)
from reconciler.commands.plan import (
    allow_destroy_option,
    check_exists,
    db_option,
    destroy_option,
    load_plan_file,
    plan_options,
    read_plan_document,
    render,
    replace_option,
    report_blockers,
    target_option,
)
from reconciler.engine.hooks import Hook
from reconciler.engine.result import ApplyResult
from reconciler.errors import LockError, ReconcilerError, UsageError
from reconciler.model.desired import DesiredState
from reconciler.model.plan import Plan, PlanOptions
from reconciler.render.apply_json import apply_result_to_json
from reconciler.render.progress import LineProgress
from reconciler.render.text import render_apply_result, use_color


def stdin_is_interactive() -> bool:
    """Whether a person can answer the confirmation prompt."""
    return sys.stdin.isatty()


@dataclass(slots=True)
class StopSignals:
    """SIGINT/SIGTERM during an apply: stop starting steps; remember which signal came."""

    event: threading.Event = field(default_factory=threading.Event)
    signum: int | None = None

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            click.echo(
                "\nStopping: no new steps start; running calls finish "
                "(press Ctrl-C again to abort at once).",
                err=True,
            )
            self.event.set()
            if signum == signal.SIGINT:
                signal.signal(signal.SIGINT, signal.default_int_handler)

    @property
    def exit_code(self) -> int:
        return EXIT_TERMINATED if self.signum == signal.SIGTERM else EXIT_INTERRUPTED


@contextmanager
def stop_on_signals() -> Iterator[StopSignals]:
    """Install the SIGINT/SIGTERM handlers for the duration of an apply (main thread only)."""
    stop = StopSignals()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, stop.handle)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def confirm(auto_approve: bool) -> None:
    """Ask for `yes` unless auto-approved; without a terminal, refuse (SPEC §5)."""
    if auto_approve:
        return
    if not stdin_is_interactive():
        raise UsageError(
            "no terminal to confirm on: re-run with --auto-approve to apply without confirmation"
        )
    click.echo(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n",
        err=True,
    )
    answer = click.prompt("  Enter a value", default="", show_default=False, err=True)
    if answer.strip() != "yes":
        raise UsageError("apply cancelled")


def apply_exit_code(result: ApplyResult, stop: StopSignals) -> int:
    """0 all done; 130/143 after a signal; 1 when a step failed or was skipped."""
    if result.interrupted or stop.signum is not None:
        return stop.exit_code if stop.signum is not None else EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_ERROR


def _report(result: ApplyResult, plan: Plan, output_format: str, stop: StopSignals) -> int:
    code = apply_exit_code(result, stop)
    encoded = apply_result_to_json(result, plan=plan, exit_code=code)
    if output_format == "json":
        click.echo(json.dumps(encoded, indent=2, ensure_ascii=False))
    else:
        click.echo(render_apply_result(encoded, color=use_color(sys.stdout)), nl=False)
    return code


def _nothing_to_do(plan: Plan, output_format: str) -> int:
    code = EXIT_OK
    if output_format == "json":
        empty = apply_result_to_json(ApplyResult(), plan=plan, exit_code=code)
        click.echo(json.dumps(empty, indent=2, ensure_ascii=False))
    else:
        click.echo("Apply complete: nothing to do.")
    return code


def planfile_stack_dir(plan: Plan, stack_dir: Path | None) -> tuple[Path, str | None]:
    """Where a saved plan's manifests are: `--stack-dir`, else the PATH the plan records when it
    is a directory here, else `.`; and the hint to print if they can't be used (None: given)."""
    if stack_dir is not None:
        return stack_dir, None
    recorded = plan.path
    if recorded is None:
        return Path("."), (
            "Hint: pass --stack-dir DIR (the manifest directory the plan was made from; "
            "this plan does not record it)"
        )
    hint = f"Hint: pass --stack-dir DIR (the manifest directory the plan was made from: {recorded}"
    if Path(recorded).is_dir():
        return Path(recorded), hint + ")"
    return Path("."), hint + ", not a directory here)"


def load_planfile_stack(plan: Plan, directory: Path, hint: str | None) -> DesiredState:
    """The manifests of a saved plan's stack; on failure the error, then the hint, exit 1."""
    try:
        return app.load_for_plan(plan, directory)
    except ReconcilerError as error:
        if hint is None:
            raise
        for line in error_lines(error):
            click.echo(line, err=True)
        click.echo(hint, err=True)
        sys.exit(EXIT_ERROR)


@contextmanager
def unlock_hint(directory: Path, db: str | None) -> Iterator[None]:
    """A lock refusal gains the `reconciler unlock` command that removes the lock: with the stack
    directory (and `--db`) this apply used, so it works as printed from the same directory."""
    try:
        yield
    except LockError as error:
        if error.lock_id is None:
            raise
        command = ["reconciler", "unlock", error.lock_id, str(directory)]
        if db is not None:
            command += ["--db", db]
        raise LockError(
            f"{error} If it is not, remove the stale lock with `{shlex.join(command)}`.",
            lock_id=error.lock_id,
        ) from error


def _run_apply(
    plan: Plan,
    directory: Path,
    *,
    db: str | None,
    output_format: str,
    runtime: app.Runtime,
    run: Callable[[Hook, threading.Event], ApplyResult],
) -> int:
    """Run `run` with line progress on stderr, stopping on signals; report; the exit code."""
    started = runtime.clock.monotonic()
    progress = LineProgress(
        sys.stderr,
        color=use_color(sys.stderr),
        elapsed=lambda: runtime.clock.monotonic() - started,
    )
    with stop_on_signals() as stop, unlock_hint(directory, db):
        result = run(progress, stop.event)
    return _report(result, plan, output_format, stop)


def _apply_manifests(
    target: Path,
    options: PlanOptions,
    *,
    auto_approve: bool,
    parallelism: int,
    output_format: str,
    db: str | None,
) -> int:
    """Plan the manifests in `target`, print the plan, ask for `yes`, apply; the exit code."""
    runtime = app.Runtime(db=db)
    made = app.planned(target, options, runtime=runtime)
    plan = made.plan
    if output_format == "text":
        click.echo(render(plan, "text"), nl=False)
    report_blockers(plan, errors_shown=output_format == "text")
    if plan.errors or plan.denied:
        return EXIT_ERROR
    if not plan.steps:
        return _nothing_to_do(plan, output_format)
    confirm(auto_approve)
    return _run_apply(
        plan,
        target,
        db=db,
        output_format=output_format,
        runtime=runtime,
        run=lambda hook, stop: app.apply_plan(
            plan,
            target,
            runtime=runtime,
            hook=hook,
            stop=stop,
            observed=made.observed,
            desired=made.desired,
            parallelism=parallelism,
        ),
    )


def _apply_planfile(
    target: Path,
    *,
    stack_dir: Path | None,
    parallelism: int,
    output_format: str,
    db: str | None,
) -> int:
    """Apply exactly the saved plan in `target`, refusing it if it is stale; the exit code."""
    runtime = app.Runtime(db=db)
    plan = load_plan_file(target)
    if not plan.steps:
        return _nothing_to_do(plan, output_format)
    directory, hint = planfile_stack_dir(plan, stack_dir)
    desired = load_planfile_stack(plan, directory, hint)
    return _run_apply(
        plan,
        directory,
        db=db,
        output_format=output_format,
        runtime=runtime,
        run=lambda hook, stop: app.apply_planfile(
            plan,
            directory,
            runtime=runtime,
            hook=hook,
            stop=stop,
            desired=desired,
            parallelism=parallelism,
        ),
    )


@click.command()
@click.argument("target", metavar="[PATH | PLANFILE]", default=".", type=click.Path(path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--parallelism",
    type=click.IntRange(min=1),
    default=app.DEFAULT_PARALLELISM,
    show_default=True,
    help="API operations in flight at once.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="text: the plan, then a summary; json: only the apply result on stdout "
    "(progress stays on stderr).",
)
@destroy_option
@target_option
@replace_option
@allow_destroy_option
@click.option(
    "--stack-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With a PLANFILE: the manifest directory of its stack (default: the PATH the plan was "
    "made from, when it is a directory here; else the current directory).",
)
@db_option
def apply(
    *,
    target: Path,
    auto_approve: bool,
    parallelism: int,
    output_format: str,
    destroy: bool,
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    allow_destroy: bool,
    stack_dir: Path | None,
    db: str | None,
) -> None:
    """Make the cloud match the manifests.

    With PATH (a manifest directory, default "."): plan, print the plan, ask for `yes`, apply.
    With PLANFILE (saved by `plan --out`): apply exactly that plan, refusing it if it is stale.
    """
    with reported_errors():
        check_exists(target)
        is_planfile = read_plan_document(target) is not None
        if target.is_file() and not is_planfile:
            raise UsageError(f"{target}: neither a manifest directory nor a plan file")
        if is_planfile:
            if destroy or targets or replace or allow_destroy:
                raise UsageError(
                    "--destroy, --target, --replace and --allow-destroy belong to the plan; "
                    "make a new plan with them instead"
                )
            code = _apply_planfile(
                target,
                stack_dir=stack_dir,
                parallelism=parallelism,
                output_format=output_format,
                db=db,
            )
        else:
            options = plan_options(
                destroy=destroy, targets=targets, replace=replace, allow_destroy=allow_destroy
            )
            code = _apply_manifests(
                target,
                options,
                auto_approve=auto_approve,
                parallelism=parallelism,
                output_format=output_format,
                db=db,
            )
    sys.exit(code)


@click.command()
@click.argument("lock_id")
@click.argument("path", default=".", type=click.Path(path_type=Path))
@db_option
def unlock(*, lock_id: str, path: Path, db: str | None) -> None:
    """Remove a stale apply lock.

    Removes the lock LOCK_ID (printed by the refused apply) of the stack in PATH, left by an
    apply that was killed.
    """
    with reported_errors():
        check_exists(path)
        holder = app.unlock(lock_id, path, runtime=app.Runtime(db=db))
        click.echo(f"Removed the lock held by {holder}.")
