"""``countersign erp``: which ERP Countersign talks to, whether it answers, and a Tryton for demos.

``status`` reads the settings (``COUNTERSIGN_ERP``, ``COUNTERSIGN_ERP_PASSWORD``) and asks the ERP.
``tryton-setup`` and ``tryton-serve`` create and run a local Tryton database with the demo data
(they need the 'tryton' extra: ``uv sync --extra tryton``). Registered on the main ``countersign``
app by ``agent.cli``; one line on stderr and exit 1 when refused, as every command.
"""

from __future__ import annotations

import re
import signal
import socket
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from agent.cli_common import JsonFlag, emit, fail, guarded, settings_or_fail

erp_app = typer.Typer(
    help="The ERP behind Countersign: which one the settings pick and whether it answers; "
    "a local Tryton database with the demo data.",
    no_args_is_help=True,
)

DEFAULT_NAME = "countersign"
DEFAULT_PORT = 8000
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")

DirectoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--directory",
        "-d",
        help="the folder of Tryton's SQLite databases (<name>.sqlite); default: COUNTERSIGN_DATA_DIR/tryton",
        file_okay=False,
    ),
]
NameOpt = Annotated[str, typer.Option("--name", "-n", help="the database's name (letters, digits, _ and -)")]


def _directory(directory: Path | None) -> Path:
    return (directory if directory is not None else settings_or_fail().data_dir / "tryton").resolve()


def _checked_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        typer.echo(
            f"error: --name {name!r} is not a database name: use up to 63 letters, digits, _ and -", err=True
        )
        raise typer.Exit(2)
    return name


def _require_tryton() -> None:
    from agent.composition import TRYTON_MISSING, tryton_installed

    if not tryton_installed():
        fail(TRYTON_MISSING)


# ---- status -----------------------------------------------------------------------------------------


@erp_app.command(
    "status",
    help="Which ERP the settings point at (COUNTERSIGN_ERP) and whether it answers.\n\n"
    "For the legacy ERP: whether its database exists and holds data. For Tryton: the server's "
    "version and a login as the configured user (COUNTERSIGN_ERP_PASSWORD). Exit 1 if it does not answer.",
)
def status(as_json: JsonFlag = False) -> None:
    """Which ERP the settings point at and whether it answers (the help is in the decorator)."""
    from agent.composition import erp_status

    settings = settings_or_fail()
    report = guarded(lambda: erp_status(settings))
    if as_json:
        emit(report.as_json())
    else:
        typer.echo(f"ERP: {report.erp} at {report.location}")
        if report.answers:
            typer.echo(report.detail)
    if not report.answers:
        fail(report.detail)


# ---- tryton-setup -------------------------------------------------------------------------------------


def _admin_password(path: Path | None) -> str:
    from agent.composition import TRYTON_DEMO_PASSWORD

    if path is None:
        return TRYTON_DEMO_PASSWORD
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read the admin password file {path}: {exc.strerror or exc}")
    password = text.rstrip("\r\n")
    if not password:
        fail(f"the admin password file {path} is empty")
    if "\n" in password or "\r" in password:
        fail(f"the admin password file {path} must hold one line: the password")
    return password


def _remove_database(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


@erp_app.command(
    "tryton-setup",
    help="Create a Tryton database with a company, a chart of accounts and the demo data.\n\n"
    "Makes DIRECTORY/NAME.sqlite with the Tryton modules Countersign uses, a company in BRL, a chart "
    "of accounts, fiscal years and the demo data of the bundled ERP; each step's progress goes to "
    "stderr, then it prints the COUNTERSIGN_ERP line to use. Refuses an existing database. Needs the "
    "'tryton' extra (uv sync --extra tryton); takes a minute or more.",
)
def tryton_setup(
    directory: DirectoryOpt = None,
    name: NameOpt = DEFAULT_NAME,
    admin_password_file: Annotated[
        Path | None,
        typer.Option(
            "--admin-password-file",
            help="a file holding the password of Tryton's 'admin' user (one line); default: the demo password 'admin'",
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create and fill a Tryton database for Countersign."""
    from agent.composition import TRYTON_ADMIN, prepare_tryton, tryton_location

    name = _checked_name(name)
    folder = _directory(directory)
    password = _admin_password(admin_password_file)
    _require_tryton()
    path = folder / f"{name}.sqlite"
    if path.exists():
        fail(
            f"a Tryton database {name!r} already exists in {folder}: choose another --name, "
            f"or remove {path} to start again"
        )
    started = time.perf_counter()

    def progress(step: str) -> None:
        typer.echo(f"  {time.perf_counter() - started:6.1f} s  {step}", err=True)

    typer.echo(f"Creating the Tryton database {name!r} in {folder}…", err=True)
    try:
        summary = guarded(lambda: prepare_tryton(folder, name, admin_password=password, progress=progress))
    except BaseException:
        # Everything at that path was made by this run (it did not exist): a half-made database
        # would only block the next attempt.
        _remove_database(path)
        raise
    location = tryton_location(name, DEFAULT_PORT, TRYTON_ADMIN)
    if as_json:
        emit(
            {
                "database": str(summary.database),
                "directory": str(folder),
                "name": name,
                "counts": summary.counts,
                "timings": summary.timings,
                "notes": summary.notes,
                "erp": str(location),
            }
        )
        return
    for note in summary.notes:
        typer.echo(f"note: {note}", err=True)
    counts = ", ".join(f"{n} {what}" for what, n in summary.counts.items())
    typer.echo(f"Created the Tryton database {name!r} at {summary.database}: {counts}.")
    typer.echo(f"Serve it with: countersign erp tryton-serve --directory {folder} --name {name}")
    typer.echo("Then point Countersign at it (environment or .env):")
    typer.echo(f"COUNTERSIGN_ERP={location}")
    if admin_password_file is None:
        typer.echo(f"COUNTERSIGN_ERP_PASSWORD={password}")
        typer.echo("(the demo admin password; for anything but a demo use --admin-password-file)", err=True)
    else:
        typer.echo(f"and set COUNTERSIGN_ERP_PASSWORD to the password in {admin_password_file}")


# ---- tryton-serve ---------------------------------------------------------------------------------------


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@erp_app.command(
    "tryton-serve",
    help="Run a Tryton server on a database made by tryton-setup, in the foreground until Ctrl-C.\n\n"
    "Serves DIRECTORY/NAME.sqlite at http://127.0.0.1:PORT, one request at a time (Tryton's SQLite "
    "backend shares one connection among threads); once it answers, prints the URL and the "
    "COUNTERSIGN_ERP line to use. Ctrl-C or SIGTERM stops it. Needs the 'tryton' extra "
    "(uv sync --extra tryton).",
)
def tryton_serve(
    directory: DirectoryOpt = None,
    name: NameOpt = DEFAULT_NAME,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="port to listen on (127.0.0.1 only)")
    ] = DEFAULT_PORT,
) -> None:
    """Serve a Tryton database in the foreground."""
    from agent.composition import serve_tryton, tryton_location

    name = _checked_name(name)
    folder = _directory(directory)
    if not (folder / f"{name}.sqlite").exists():
        fail(f"no Tryton database {name!r} in {folder}: create it with `countersign erp tryton-setup`")
    _require_tryton()
    if _port_taken(port):
        fail(f"port {port} on 127.0.0.1 is already in use: choose another with --port")
    location = tryton_location(name, port)
    # Ctrl-C (SIGINT) and SIGTERM only ask to stop: even while trytond starts, it is then stopped
    # rather than orphaned (and a SIGINT a background shell told Python to ignore still works).
    stop_requested: list[int] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = None
    try:
        typer.echo(f"Starting Tryton on {folder / f'{name}.sqlite'}…", err=True)
        server = guarded(lambda: serve_tryton(folder, name, port))
        typer.echo(
            f"Tryton serves {name!r} on {server.base_url} (JSON-RPC at {server.rpc_url}); Ctrl-C stops"
        )
        typer.echo(f"COUNTERSIGN_ERP={location}")
        typer.echo(f"(server log: {server.log_path})", err=True)
        while server.running and not stop_requested:
            time.sleep(0.2)
        if not stop_requested:
            time.sleep(0.5)  # Ctrl-C in a terminal reaches trytond too: its exit may beat our signal
        if not stop_requested:
            fail(
                f"the Tryton server stopped by itself (exit code {server.process.returncode}); see {server.log_path}"
            )
        typer.echo("stopping the Tryton server…", err=True)
    finally:
        if server is not None:
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
