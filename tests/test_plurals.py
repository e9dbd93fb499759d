"""Every count shown with words goes through ngettext (with the number formatted for the locale), so
languages with several plural forms (Polish, Arabic, Romanian) can say "64 znaki" and "65 znaków"."""

from __future__ import annotations

import io
import re
from gettext import GNUTranslations
from pathlib import Path

import pytest
from babel.messages import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo

from bot.i18n import translator
from handlers.onboarding import NAME_MAX
from tests.conftest import BotHarness

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}  # as the Makefile's i18n target
NAME_TOO_LONG = (
    "That name is too long. Please use at most {count} character.",
    "That name is too long. Please use at most {count} characters.",
)


def extracted() -> list[str | tuple[str, ...]]:
    """Every message in the code, as pybabel extracts it: a string, or (singular, plural)."""
    found = []
    for folder in ("bot", "handlers", "storage"):
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / folder, keywords=KEYWORDS):
            found.append(message)
    return found


def test_every_count_that_words_follow_is_a_plural_message() -> None:
    messages = extracted()
    # A count that qualifies words must be a plural entry; one shown as a label's value ("Reports: 5")
    # needn't be.
    singular = [m for m in messages if isinstance(m, str) and re.search(r"(?<!: )\{count\}", m)]
    assert singular == []
    plural = {m for m in messages if isinstance(m, tuple)}
    assert NAME_TOO_LONG in plural
    assert ("More than {count} report", "More than {count} reports") in plural


def polish_catalog() -> GNUTranslations:
    """The shipped Polish catalog with a translation of the name limit, as the lead's merge would add."""
    catalog = Catalog(locale="pl")
    catalog.add(
        NAME_TOO_LONG,
        (
            "Za długie imię. Użyj najwyżej {count} znaku.",  # 1
            "Za długie imię. Użyj najwyżej {count} znaki.",  # 2-4, 22-24, …
            "Za długie imię. Użyj najwyżej {count} znaków.",  # 5-21, 25-31, …
        ),
    )
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = GNUTranslations(buffer)
    translations.add_fallback(translator("pl")._translations)
    return translations


def test_polish_chooses_a_form_by_the_number() -> None:
    polish = polish_catalog()
    forms = [polish.ngettext(*NAME_TOO_LONG, n).rsplit(" ", 1)[-1] for n in (1, 2, 5, 22, 64)]
    assert forms == ["znaku.", "znaki.", "znaków.", "znaki.", "znaki."]


async def test_a_too_long_name_is_refused_in_polish_plural(
    bot: BotHarness, places: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translator("pl"), "_translations", polish_catalog())
    ola = bot.person(3801, "Ola", "pl")
    await ola.send("/start")
    await ola.press("Polski")
    await ola.press(ola.buttons()[0])  # agree to take part
    await ola.press(ola.buttons()[0])  # agree to sharing without names
    assert NAME_MAX == 64  # Polish says "64 znaki", as for 2-4 (and 22-24, …)
    assert await ola.send("O" * (NAME_MAX + 1)) == ["Za długie imię. Użyj najwyżej 64 znaki."]
