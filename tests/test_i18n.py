"""Catalogs: every shipped language has every message, with the same placeholders, and falls back safely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, LOCALES_DIR, catalog_status, compile_catalogs, negotiate, translator

TRANSLATED = [code for code in LANGUAGES if code != "en"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_is_complete_with_matching_placeholders(language: str) -> None:
    status = catalog_status(language)
    assert status.problems == []
    assert status.translated == status.total > 0


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_are_marked_as_drafts(language: str) -> None:
    assert catalog_status(language).draft


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_language_actually_translates(language: str) -> None:
    assert translator(language).gettext("Welcome! Please choose your language.") != (
        "Welcome! Please choose your language."
    )


def test_missing_message_falls_back_to_english_text() -> None:
    assert translator("so").gettext("A sentence nobody translated.") == "A sentence nobody translated."


def test_counted_message_uses_three_plural_forms_in_polish() -> None:
    tr = translator("pl")
    forms = [
        tr.ngettext("{count} person is waiting:", "{count} people are waiting:", n) for n in (1, 3, 5, 22, 25)
    ]
    assert forms[0] != forms[1] != forms[2]
    assert forms[3] == forms[1] and forms[4] == forms[2]


def test_counted_message_uses_the_right_plural_form_in_arabic() -> None:
    tr = translator("ar")
    forms = {
        tr.ngettext("{count} person is waiting:", "{count} people are waiting:", n)
        for n in (0, 1, 2, 3, 11, 100)
    }
    assert len(forms) == 6


@pytest.mark.parametrize(
    ("code", "expected"), [("pt-BR", "pt"), ("ar", "ar"), ("de", "en"), (None, "en"), ("not a code!", "en")]
)
def test_language_is_negotiated_from_telegram_language_code(code: str | None, expected: str) -> None:
    assert negotiate(code) == expected


def test_template_has_every_message_in_the_code() -> None:
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    in_code = set()
    for package in ("bot", "handlers", "storage"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, keywords=keywords
        ):
            in_code.add(message if isinstance(message, str) else message[0])
    with (LOCALES_DIR / "messages.pot").open("rb") as pot:
        in_template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}
    assert in_code - in_template == set(), "run `make i18n` and translate the new messages"
    assert in_template - in_code == set(), "run `make i18n` to drop messages no longer used"


def test_dates_are_formatted_for_the_locale_and_timezone() -> None:
    from datetime import UTC, datetime

    summer = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert translator("en").datetime(summer) == "Jul 1, 2026, 10:30:00\u202fAM"  # BST
    assert "10:30" in translator("pl").datetime(summer) and "lip" in translator("pl").datetime(summer)
    assert translator("ar").datetime(summer) != translator("en").datetime(summer)


def test_catalogs_compile_into_the_cache_not_beside_the_po_and_again_only_when_one_changes(
    tmp_path: Path,
) -> None:
    locales, cache = tmp_path / "locales", tmp_path / "cache"
    shutil.copytree(LOCALES_DIR, locales, ignore=shutil.ignore_patterns("*.mo"))
    first = compile_catalogs(locales, cache)
    assert sorted(path.name.split("-")[0] for path in first) == sorted(TRANSLATED)
    assert compile_catalogs(locales, cache) == []
    po = locales / "pl" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    (changed,) = compile_catalogs(locales, cache)
    assert changed.name.startswith("pl-")
    kept = {path for path in first if not path.name.startswith("pl-")}
    assert sorted(cache.iterdir()) == sorted({*kept, changed})
    assert list(locales.rglob("*.mo")) == []


def test_a_translator_is_compiled_in_memory_when_the_cache_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    fresh = translator.__wrapped__("pl")  # not the shared, already loaded one
    assert fresh.gettext("Welcome! Please choose your language.") == translator("pl").gettext(
        "Welcome! Please choose your language."
    ) != "Welcome! Please choose your language."
    assert "compiling it in memory" in caplog.text
