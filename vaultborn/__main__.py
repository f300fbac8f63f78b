"""``python -m vaultborn`` runs the CLI."""

from __future__ import annotations

import sys

from vaultborn.cli import main

sys.exit(main())
