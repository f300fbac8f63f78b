"""Which time step a code is for: early where the window allows, a wait only where it must."""

from __future__ import annotations

import pytest

from vaultborn.browser.totp_steps import STEP_MARGIN, StepLedger, choose_step

P = 30
NOW = 1_800_000_010.0  # 10 s into step 60_000_000
STEP = int(NOW // P)


def test_a_first_code_takes_the_current_step_at_once() -> None:
    choice = choose_step(NOW, P, frozenset())
    assert (choice.step, choice.wait) == (STEP, 0.0)
    assert int(choice.at(P) // P) == STEP


def test_a_step_used_by_the_enrollment_sends_the_next_steps_code_now() -> None:
    choice = choose_step(NOW, P, frozenset({STEP}))
    assert (choice.step, choice.wait) == (STEP + 1, 0.0)


def test_both_steps_used_waits_for_the_next_and_goes_one_ahead() -> None:
    choice = choose_step(NOW, P, frozenset({STEP, STEP + 1}))
    assert choice.step == STEP + 2
    assert choice.wait == pytest.approx(20 + STEP_MARGIN)


def test_an_early_code_refused_is_sent_again_when_its_step_begins() -> None:
    choice = choose_step(NOW, P, frozenset({STEP, STEP + 1}), retry_of=STEP + 1)
    assert choice.step == STEP + 1 and choice.wait == pytest.approx(20 + STEP_MARGIN)


def test_a_current_code_refused_waits_for_the_next_step() -> None:
    choice = choose_step(NOW, P, frozenset({STEP}), retry_of=STEP)
    assert choice.step == STEP + 1 and choice.wait == pytest.approx(20 + STEP_MARGIN)


def test_the_ledger_keeps_steps_per_seed_and_forgets_the_oldest() -> None:
    ledger = StepLedger(limit=2)
    ledger.mark("a", 1)
    ledger.mark("a", 2)
    ledger.mark("b", 5)
    assert ledger.used("a") == {1, 2} and ledger.used("b") == {5}
    ledger.mark("c", 9)
    assert ledger.used("a") == frozenset() and ledger.used("c") == {9}
    for step in range(40):
        ledger.mark("b", step)
    assert len(ledger.used("b")) == 16 and max(ledger.used("b")) == 39


def test_a_current_code_refused_skips_a_next_step_another_flow_used() -> None:
    # A drill in another process used the next step early: the retry never sends it again,
    # but the one after, once the next step begins (one step early, inside the window).
    choice = choose_step(NOW, P, frozenset({STEP, STEP + 1}), retry_of=STEP)
    assert choice.step == STEP + 2 and choice.wait == pytest.approx(20 + STEP_MARGIN)
