"""Moves an agent run on from a fresh Python process: ``python -m tests.agent.child``.

``python -m tests.agent.child TMP RUN approve|reject`` opens the run database, the vault and
the dev IdP under ``TMP`` as the first process left them, answers what the run waits for,
and prints the run's view as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.agent.kit import AgentRun, ScriptedModel, agent_harness, approve, reject, the_script


def main(argv: list[str]) -> int:
    tmp, run_id, verdict = Path(argv[0]), argv[1], argv[2]
    with agent_harness(tmp) as harness:
        run = AgentRun(harness, ScriptedModel(script=the_script()), run_id)
        waiting = run.view()
        view = run.answer(approve(waiting, "bo") if verdict == "approve" else reject(waiting))
    print(json.dumps(view.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
