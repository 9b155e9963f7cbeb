"""`reconciler cloud serve`: the simulated cloud over HTTP, for the SDK, tccli and CI pipelines."""

from __future__ import annotations

import ipaddress
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from reconciler.commands.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, reported_errors
from reconciler.errors import UsageError

SERVER_LOGGER = "reconciler.cloudsim.server"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _banner(endpoint: str, db_path: Path, accounts: list[tuple[str, str, str]]) -> str:
    own_uin, own_secret_id, own_secret_key = accounts[0]
    lines = [
        f"Simulated Tencent Cloud API listening on http://{endpoint}/ (database: {db_path})",
        "",
        "Accounts (demo credentials of the simulator, shown on purpose):",
        f"  {'UIN':<14}{'SecretId':<40}SecretKey",
        *(f"  {uin:<14}{secret_id:<40}{secret_key}" for uin, secret_id, secret_key in accounts),
        "",
        "Stack provider block:",
        "  provider:",
        "    type: tencentcloud",
        f"    endpoint: {endpoint}",
        "    protocol: http",
        "",
        f"Environment for the own account ({own_uin}):",
        f"  export TENCENTCLOUD_SECRET_ID={own_secret_id}",
        f"  export TENCENTCLOUD_SECRET_KEY={own_secret_key}",
        "  export NO_PROXY=127.0.0.1,localhost",
        "",
        "Stop with Ctrl-C or SIGTERM.",
    ]
    return "\n".join(lines)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", default=9000, show_default=True, type=click.IntRange(0, 65535), help="0: any free."
)
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="The simulated cloud's database (default: RECONCILER_CLOUD_DB, the Stack's "
    "provider.path, else <stack dir>/.reconciler/cloud.db).",
)
@click.option(
    "--stack-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Stack directory used to find the database when --db is not given.",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not log each request on stderr.")
def serve(host: str, port: int, db: str | None, stack_dir: Path, quiet: bool) -> None:
    """Serve the simulated cloud over HTTP.

    Speaks the real wire protocol (TC3-signed API 3.0). Takes no PATH: the database is --db,
    else $RECONCILER_CLOUD_DB, else that of the stack in --stack-dir. Stops cleanly on Ctrl-C
    or SIGTERM, then exits 130 (Ctrl-C) or 143 (SIGTERM) (SPEC §5).
    """
    from reconciler.cloudsim.server import serve as start_server
    from reconciler.commands.clouddb import resolve_cloud_db

    with reported_errors():
        db_path = resolve_cloud_db(stack_dir, db)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        if not quiet:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            server_logger = logging.getLogger(SERVER_LOGGER)
            server_logger.addHandler(handler)
            server_logger.setLevel(logging.INFO)
        try:
            server = start_server(host, port, db_path)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        stop_requested = threading.Event()
        received: list[int] = []

        def request_stop(signum: int, frame: FrameType | None) -> None:
            received.append(signum)
            stop_requested.set()

        previous = {
            signum: signal.signal(signum, request_stop)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            accounts = [
                (account.uin, account.secret_id, account.secret_key)
                for account in server.cloud.credentials()
            ]
            click.echo(_banner(server.endpoint, db_path, accounts))
            if not _is_loopback(host):
                click.echo(
                    f"warning: listening on {host}, beyond this machine; the demo credentials "
                    "above are public.",
                    err=True,
                )
            sys.stdout.flush()
            while not stop_requested.wait(timeout=0.5):
                pass
        finally:
            server.stop()
            for signum, handler_before in previous.items():
                signal.signal(signum, handler_before)
        stopped_by = signal.Signals(received[0])
        click.echo(f"Stopped ({stopped_by.name}).", err=True)
        sys.exit(EXIT_TERMINATED if stopped_by == signal.SIGTERM else EXIT_INTERRUPTED)
