"""Start the allauth site: migrate its SQLite database, then serve on 127.0.0.1.

From the repository root, ``python -m tests.thirdparty.apps.allauth_site --data-dir DIR
[--port 0] [--reauthentication-timeout SECONDS] [--totp-tolerance STEPS] [--rate-limits]
[--exit-on-stdin-eof]`` prints
``{"base_url": "http://127.0.0.1:PORT/", "port": PORT, "pid": PID}`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tests.thirdparty.apps.serving import add_arguments, serve


def main() -> None:
    """Parse the command line, set Django up, migrate, serve."""
    parser = argparse.ArgumentParser(prog="allauth_site", description=__doc__)
    add_arguments(parser)
    parser.add_argument(
        "--reauthentication-timeout",
        type=int,
        default=300,
        help="ACCOUNT_REAUTHENTICATION_TIMEOUT: seconds a password re-entry counts as recent",
    )
    parser.add_argument(
        "--totp-tolerance",
        type=int,
        default=0,
        help="MFA_TOTP_TOLERANCE: 30-second steps either side of now a code may come from",
    )
    parser.add_argument(
        "--rate-limits",
        action="store_true",
        help="keep allauth's rate limits (off by default: tests sign up many users from one IP)",
    )
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.thirdparty.apps.allauth_site.settings"
    os.environ["ALLAUTH_SITE_DATA_DIR"] = str(data_dir)
    os.environ["ALLAUTH_SITE_REAUTH_TIMEOUT"] = str(args.reauthentication_timeout)
    os.environ["ALLAUTH_SITE_TOTP_TOLERANCE"] = str(args.totp_tolerance)
    os.environ["ALLAUTH_SITE_RATE_LIMITS"] = "1" if args.rate_limits else "0"

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)

    from tests.thirdparty.apps.allauth_site.wsgi import application

    app = with_static_files(application)
    serve(app, host=args.host, port=args.port, exit_on_stdin_eof=args.exit_on_stdin_eof)


def with_static_files(application: Any) -> Any:
    """``application`` with the installed apps' static files under ``STATIC_URL``.

    Django serves static files only with DEBUG on; werkzeug's middleware does it here instead.
    """
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from werkzeug.middleware.shared_data import SharedDataMiddleware

    exports: dict[str, str] = {}
    for finder in get_finders():
        for relative, storage in finder.list([]):
            url = settings.STATIC_URL.rstrip("/") + "/" + relative.replace(os.sep, "/")
            exports.setdefault(url, storage.path(relative))
    return SharedDataMiddleware(application, exports)


if __name__ == "__main__":
    main()
