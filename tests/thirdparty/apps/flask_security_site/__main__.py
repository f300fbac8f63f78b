"""Start the Flask-Security site: create its SQLite tables, then serve on 127.0.0.1.

``python -m tests.thirdparty.apps.flask_security_site --data-dir DIR [--port 0]
[--freshness-seconds N] [--exit-on-stdin-eof]`` from the repository root prints
``{"base_url": "http://127.0.0.1:PORT/", "port": PORT, "pid": PID}`` once it accepts connections.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from tests.thirdparty.apps.serving import add_arguments, serve


def main() -> None:
    """Parse the command line, build the app, serve."""
    parser = argparse.ArgumentParser(prog="flask_security_site", description=__doc__)
    add_arguments(parser)
    parser.add_argument(
        "--freshness-seconds",
        type=int,
        default=24 * 3600,
        help="SECURITY_FRESHNESS: seconds after a password entry that /tf-setup needs no /verify"
        " (-1: never ask)",
    )
    args = parser.parse_args()
    if args.freshness_seconds == 0:
        # Flask-Security: "within.total_seconds() == 0 results in undefined behavior" (it
        # sends /verify back to /tf-setup, which sends it back to /verify, forever).
        parser.error("--freshness-seconds 0 is undefined; use 1 or more (or -1: never ask)")
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    from tests.thirdparty.apps.flask_security_site.app import create_app

    app = create_app(data_dir, freshness=timedelta(seconds=args.freshness_seconds))
    serve(app, host=args.host, port=args.port, exit_on_stdin_eof=args.exit_on_stdin_eof)


if __name__ == "__main__":
    main()
