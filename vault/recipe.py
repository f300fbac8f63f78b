"""Password recipes as op writes them: ``letters,digits,symbols,32`` (credentials.md §1.4).

Comma-separated character classes and a length, in any order; a bare length keeps every class;
no length means 32. Generation uses the operating system's CSPRNG (``secrets``).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from vaultborn.vault.errors import InvalidRecipe
from vaultborn.vault.secret import Secret

__all__ = ["DEFAULT_RECIPE", "Recipe", "generate_password", "parse_recipe"]

SYMBOLS = "!@.-_*"
MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 1, 64, 32
_CLASSES = {"letters": string.ascii_letters, "digits": string.digits, "symbols": SYMBOLS}


@dataclass(frozen=True)
class Recipe:
    """Which character classes a generated password draws from, and its length."""

    letters: bool = True
    digits: bool = True
    symbols: bool = True
    length: int = DEFAULT_LENGTH

    def __str__(self) -> str:
        classes = [name for name in _CLASSES if getattr(self, name)]
        return ",".join([*classes, str(self.length)])

    @property
    def alphabets(self) -> list[str]:
        """The character sets this recipe uses."""
        return [chars for name, chars in _CLASSES.items() if getattr(self, name)]


DEFAULT_RECIPE = Recipe()


def parse_recipe(text: str) -> Recipe:
    """Parse ``letters,digits,symbols,32`` (any order, any subset) or raise ``InvalidRecipe``."""
    parts = [p.strip().lower() for p in text.split(",")] if text.strip() else []
    if not parts:
        return DEFAULT_RECIPE
    classes: set[str] = set()
    length: int | None = None
    for part in parts:
        if part in _CLASSES:
            if part in classes:
                raise InvalidRecipe(f"password recipe {text!r} repeats {part!r}")
            classes.add(part)
        elif part.isascii() and part.isdigit():
            if length is not None:
                raise InvalidRecipe(f"password recipe {text!r} gives more than one length")
            length = int(part)
        else:
            raise InvalidRecipe(
                f"password recipe {text!r}: unknown part {part!r} "
                "(use letters, digits, symbols and a length, e.g. letters,digits,symbols,32)"
            )
    length = DEFAULT_LENGTH if length is None else length
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise InvalidRecipe(
            f"password recipe {text!r}: length must be {MIN_LENGTH}–{MAX_LENGTH}, got {length}"
        )
    if not classes:
        classes = set(_CLASSES)
    return Recipe(
        letters="letters" in classes,
        digits="digits" in classes,
        symbols="symbols" in classes,
        length=length,
    )


def generate_password(recipe: Recipe = DEFAULT_RECIPE) -> Secret:
    """A fresh password from ``recipe``, with one character of each class where length allows."""
    alphabets = recipe.alphabets
    pool = "".join(alphabets)
    chars = [secrets.choice(a) for a in alphabets[: recipe.length]]
    chars += [secrets.choice(pool) for _ in range(recipe.length - len(chars))]
    # Shuffle so the guaranteed characters are not always in front.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return Secret("".join(chars), label="generated password")
