"""``python -m ui``: start the web app with Streamlit, configured for people rather than developers.

``countersign ui`` seeds the bundled ERP when it is empty and then hands over to this.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def streamlit_argv(port: int, address: str, open_browser: bool) -> list[str]:
    """The ``streamlit run`` command line for the app."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.port={port}",
        f"--server.address={address}",
        f"--server.headless={'false' if open_browser else 'true'}",
        "--server.fileWatcherType=none",  # never reload code under users' feet
        "--server.runOnSave=false",
        "--client.showErrorDetails=none",  # belt and braces: pages already catch every error
        "--client.toolbarMode=viewer",
        "--browser.gatherUsageStats=false",
        "--theme.base=light",
        "--theme.primaryColor=#1d4ed8",  # a calm blue: red reads as an error in a back office
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ui", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser window")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"port {args.port} is not between 1 and 65535")
    command = streamlit_argv(args.port, args.address, not args.no_open)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
