"""The garbage collector's pace for a vaultborn command: fewer collections, none of the whole heap.

CPython collects its youngest generation every 700 new container objects (``gc`` thresholds
700, 10, 10), and the whole heap once enough has outlived the middle generation. A command
that sets up an agent imports LangGraph, Playwright, SQLAlchemy and boto3 and starts the dev
IdP and the AWS emulator: some 230,000 objects that live as long as the process and are never
garbage, walked again at every collection that reaches them. Measured on one embedded
``vaultborn setup`` (2 cores): 480 collections took 0.5-0.7 s of its 7 s, four of them of the
whole heap, the last 0.2-0.3 s long in the middle of the run's steps; twenty setups at once,
1.6-2.2 s.

``pace_for_a_command`` makes the youngest generation 50,000 objects: a collection then finds
what a burst of work left, rather than walking the same long-lived objects over and over. The
same setup then makes some 35 collections (0.16 s) and none of the whole heap. Cycles are
still collected: their garbage waits until 50,000 more objects have been made. It is set by the CLI
(``vaultborn.cli.main``) for its own process only, never on import: a program that imports
vaultborn keeps its own collector settings.
"""

from __future__ import annotations

import gc

__all__ = ["COMMAND_PACE", "pace_for_a_command"]

COMMAND_PACE = (50_000, 20, 10)
"""``gc.set_threshold`` arguments for a vaultborn command (``bench/gc_pace.py`` measures them)."""


def pace_for_a_command() -> None:
    """Set this process's collector thresholds to ``COMMAND_PACE``."""
    gc.set_threshold(*COMMAND_PACE)
