"""Serve a SQLite-backed Tryton database one request at a time (``python -m erp_acl.tryton.sqlite_server``).

The stock ``trytond`` launcher serves requests on threads, but Tryton's SQLite backend hands every
thread of a process the same connection, so concurrent requests share one transaction: a request
reads rows another request has just deleted, and two purchases confirmed at once draw the same
number from a sequence. The bundled test and demo servers use SQLite, so they run through this
launcher instead: the same WSGI application and configuration file, served by werkzeug one request
after another, each in its own transaction. A production Tryton on PostgreSQL runs the stock
``trytond`` (see the README).
"""

from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m erp_acl.tryton.sqlite_server",
        description="Serve one SQLite-backed Tryton database, one request at a time.",
    )
    parser.add_argument("-c", "--config", required=True, help="trytond configuration file")
    parser.add_argument("-d", "--database", required=True, help="database name (<path>/<name>.sqlite)")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # Tryton reads its configuration at import time of its modules: configure first, import after.
    from trytond import config

    config.update_etc(options.config)
    from trytond.pool import Pool
    from trytond.wsgi import app
    from werkzeug.serving import run_simple

    Pool.start()
    Pool(options.database).init()
    host, port = config.split_netloc(config.get("web", "listen"))
    run_simple(host, port, app, threaded=False, processes=1)


if __name__ == "__main__":
    main()
