from __future__ import annotations

import string

import pytest

from vaultborn.vault.errors import InvalidRecipe
from vaultborn.vault.recipe import SYMBOLS, Recipe, generate_password, parse_recipe


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("letters,digits,symbols,32", Recipe(True, True, True, 32)),
        ("symbols,digits,30", Recipe(False, True, True, 30)),
        ("20,letters,digits", Recipe(True, True, False, 20)),
        ("30", Recipe(True, True, True, 30)),
        ("", Recipe()),
        (" Letters , 8 ", Recipe(True, False, False, 8)),
        ("digits,1", Recipe(False, True, False, 1)),
        ("letters,64", Recipe(True, False, False, 64)),
    ],
)
def test_parses_op_recipes(text: str, expected: Recipe) -> None:
    assert parse_recipe(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("letters,0", "length must be 1–64"),
        ("letters,65", "length must be 1–64"),
        ("letters,emoji,10", "unknown part 'emoji'"),
        ("10,12", "more than one length"),
        ("letters,letters", "repeats 'letters'"),
        ("letters,-3", "unknown part '-3'"),
        ("letters,¹", "unknown part '¹'"),  # a Unicode digit that int() refuses
        ("letters,٣٢", "unknown part '٣٢'"),
    ],
)
def test_rejects_bad_recipes(text: str, why: str) -> None:
    with pytest.raises(InvalidRecipe, match=why):
        parse_recipe(text)


def test_str_round_trips() -> None:
    for text in ("letters,digits,symbols,32", "digits,8", "letters,symbols,12"):
        assert parse_recipe(str(parse_recipe(text))) == parse_recipe(text)


@pytest.mark.parametrize("recipe", ["letters,digits,symbols,32", "digits,6", "symbols,3", "64"])
def test_generates_from_the_recipe_alphabet_with_every_class(recipe: str) -> None:
    r = parse_recipe(recipe)
    allowed = "".join(r.alphabets)
    for _ in range(50):
        password = generate_password(r).reveal()
        assert len(password) == r.length
        assert set(password) <= set(allowed)
        for alphabet in r.alphabets:
            assert set(password) & set(alphabet)


def test_passwords_differ_and_use_the_documented_symbols() -> None:
    seen = {generate_password().reveal() for _ in range(200)}
    assert len(seen) == 200
    assert set("".join(seen)) == set(string.ascii_letters + string.digits + SYMBOLS)
