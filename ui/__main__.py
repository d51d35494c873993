"""``python -m ui``: start the web app with Streamlit, configured for people rather than developers.

``countersign ui`` seeds the bundled ERP when it is empty and then hands over to this.

Streamlit always runs headless: a non-headless Streamlit asks for an e-mail address on its first
run and serves nothing until someone presses Enter, which a first ``make run`` (or a service
manager) never does. Instead a short-lived watcher waits for the server's health check, prints
where the app is (and any ``--hint`` lines, e.g. the demo sign-ins) and opens a browser only where
one can open. The server runs in this very process, so the process a user or a service manager
started is the server and receives its signals, and the service it serves is built here as soon as
the server starts (``ui.boot``), not on the first visit.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import urllib.request
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path

from ui import boot

APP = Path(__file__).with_name("app.py")
READY_SECONDS = 180.0  # a first start on a slow machine imports for a while; the watcher gives up after this


def streamlit_argv(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line for the app (always headless: it never waits for input)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port}",
        f"--server.address={address}",
        "--server.headless=true",
        "--server.fileWatcherType=none",  # never reload code under users' feet
        "--server.runOnSave=false",
        "--client.showErrorDetails=none",  # belt and braces: pages already catch every error
        "--client.toolbarMode=viewer",
        "--browser.gatherUsageStats=false",
        "--theme.base=light",
        "--theme.primaryColor=#1d4ed8",  # a calm blue: red reads as an error in a back office
    ]


def local_url(address: str, port: int) -> str:
    """The address a person on this machine opens (a wildcard bind is reached on loopback)."""
    host = "127.0.0.1" if address in ("0.0.0.0", "", "::") else address
    return f"http://{host}:{port}"


def can_open_browser(platform: str = sys.platform, environ: Mapping[str, str] = os.environ) -> bool:
    """True where a browser window can appear: macOS and Windows, or a Linux/BSD session with a
    display. Without one, ``xdg-open`` fails and lingers as a defunct process."""
    if platform == "darwin" or platform.startswith("win"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def wait_until_healthy(
    url: str, seconds: float, *, probe: Callable[[str], bool] | None = None, pause: float = 0.25
) -> bool:
    """Poll ``url``'s health check until it answers ``ok``; False when ``seconds`` pass first."""
    check = probe or _answers_ok
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check(f"{url}/_stcore/health"):
            return True
        time.sleep(pause)
    return False


def _answers_ok(health_url: str) -> bool:
    try:
        with urllib.request.urlopen(health_url, timeout=2) as answer:
            return bool(answer.read() == b"ok")
    except OSError:
        return False


def announce_when_ready(url: str, hints: list[str], open_browser: bool) -> None:
    """The watcher's work: wait for the server, say where it is, open a browser where one can."""
    if not wait_until_healthy(url, READY_SECONDS):
        print(
            f"Countersign did not answer on {url} within {READY_SECONDS:.0f} s; see the log above.",
            flush=True,
        )
        return
    lines = [f"Countersign is ready: open {url}", *hints]
    print("\n".join(lines), flush=True)
    if open_browser and can_open_browser():
        webbrowser.open(url)


def _spawn_watcher(url: str, hints: list[str], open_browser: bool) -> None:
    """Run ``announce_when_ready`` in a detached grandchild, so the server can take this process
    over and no child of it is ever left defunct (init reaps the grandchild and its browser)."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        if os.fork() == 0:
            announce_when_ready(url, hints, open_browser)
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ui", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser window")
    parser.add_argument(
        "--hint", action="append", default=[], help="a line to print once the app answers (repeatable)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"port {args.port} is not between 1 and 65535")
    command = streamlit_argv(args.port, args.address)
    sys.stdout.flush()
    if hasattr(os, "fork"):  # before any thread starts: forking a threaded process is unsafe
        _spawn_watcher(local_url(args.address, args.port), args.hint, not args.no_open)
    threading.Thread(target=boot.start, name="countersign-boot", daemon=True).start()
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", *command[3:]]
    sys.exit(streamlit_cli.main())


if __name__ == "__main__":
    main()
