"""Translations: gettext catalogs shipped as `.po` (`locales/`), compiled to `.mo` in the user's cache
folder (never next to the `.po`, which may be a read-only install), one Translator per locale."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from storage.content import data_folder

log = logging.getLogger(__name__)

LOCALES_DIR = data_folder("champbot_locales")
DOMAIN = "messages"

# Shipped languages, each named in its own script (what the picker shows).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "ar": "العربية",
    "bn": "বাংলা",
    "pl": "Polski",
    "pt": "Português",
    "ro": "Română",
    "so": "Soomaali",
    "ur": "اردو",
}
RTL_LANGUAGES = frozenset({"ar", "ur"})
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def negotiate(language_code: str | None, default: str = "en") -> str:
    """Pick the shipped language closest to Telegram's `language_code` (e.g. `pt-BR` → `pt`)."""
    if not language_code:
        return default
    try:
        wanted = Locale.parse(language_code.replace("-", "_")).language
    except (ValueError, UnknownLocaleError):
        return default
    return wanted if wanted in LANGUAGES else default


def catalog_cache_dir() -> Path:
    """Where compiled catalogs are kept: `champbot/catalogs` in $XDG_CACHE_HOME or ~/.cache."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "champbot" / "catalogs"


def _compile(po_path: Path) -> bytes:
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=po_path.parent.parent.name)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    return compiled.getvalue()


def _cached(po_path: Path, cache_dir: Path) -> tuple[bytes, Path | None]:
    """A `.po` compiled, read from the cache or else compiled into it; and the file written, if any.

    Named by a hash of the `.po`, so a changed catalog is never stale and installs of different
    versions can share the cache; written to a temporary file and renamed, so processes starting
    together never read half a file."""
    language = po_path.parent.parent.name
    digest = hashlib.sha256(po_path.read_bytes()).hexdigest()[:16]
    mo_path = cache_dir / f"{language}-{digest}.mo"
    with contextlib.suppress(FileNotFoundError):
        return mo_path.read_bytes(), None
    compiled = _compile(po_path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=f".{language}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as mo_file:
            mo_file.write(compiled)
        os.replace(temporary, mo_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    for old in cache_dir.glob(f"{language}-*.mo"):  # earlier versions of this catalog
        if old != mo_path:
            with contextlib.suppress(OSError):
                old.unlink()
    return compiled, mo_path


def compile_catalogs(locales_dir: Path = LOCALES_DIR, cache_dir: Path | None = None) -> list[Path]:
    """Compile every `.po` not yet in the cache; return the files written."""
    cache_dir = cache_dir or catalog_cache_dir()
    written = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        _compiled, mo_path = _cached(po_path, cache_dir)
        if mo_path is not None:
            written.append(mo_path)
    return written


def _load(language: str) -> NullTranslations:
    """A language's catalog from the cache; compiled in memory when the cache cannot be written."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        log.warning("No catalog for %s; falling back to English", language)
        return NullTranslations()
    try:
        compiled = _cached(po_path, catalog_cache_dir())[0]
    except (OSError, RuntimeError) as exc:  # RuntimeError: no home folder to find the cache in
        log.warning("Cannot cache the %s catalog (%s); compiling it in memory", language, exc)
        compiled = _compile(po_path)
    return Translations(io.BytesIO(compiled), DOMAIN)


class Translator:
    """Translate and format for one locale; missing messages fall back to the English text."""

    def __init__(self, language: str, translations: NullTranslations) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self._translations = translations

    @property
    def rtl(self) -> bool:
        """Whether the language is written right to left."""
        return self.language in RTL_LANGUAGES

    def gettext(self, message: str) -> str:
        """Translate one message."""
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a counted message with the locale's plural rules."""
        return self._translations.ngettext(singular, plural, n)

    def number(self, value: float) -> str:
        """Format a number for the locale."""
        return format_decimal(value, locale=self.locale)

    def percent(self, part: int, whole: int) -> str:
        """`part` of `whole` as a percentage for the locale; a dash when there is nothing to count."""
        return format_percent(part / whole, locale=self.locale) if whole else "–"

    def datetime(self, value: datetime, timezone: str = "Europe/London") -> str:
        """Format a date and time for the locale, in the person's timezone."""
        return format_datetime(value, format="medium", tzinfo=ZoneInfo(timezone), locale=self.locale)


@lru_cache
def translator(language: str) -> Translator:
    """The shared Translator for a shipped language (English for anything unknown)."""
    if language not in LANGUAGES:
        language = "en"
    return Translator(language, NullTranslations() if language == "en" else _load(language))


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (translated later, per user)."""
    return message


DRAFT_MARK = "DRAFT"


@dataclass
class CatalogStatus:
    """How complete one language's catalog is, and whether a native speaker has reviewed it."""

    language: str
    translated: int
    total: int
    draft: bool
    problems: list[str]

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def _texts(value: object) -> tuple[str, ...]:
    """A catalog entry's text or plural texts as a tuple."""
    if isinstance(value, (tuple, list)):
        return tuple(str(v or "") for v in value)
    return (str(value or ""),)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def catalog_status(language: str, locales_dir: Path = LOCALES_DIR) -> CatalogStatus:
    """Count translated messages against the template and list missing or broken ones."""
    with (locales_dir / "messages.pot").open("rb") as pot_file:
        template = read_po(pot_file)
    with (locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    expected = [m for m in template if m.id]
    translated = 0
    problems = []
    for source in expected:
        message = catalog.get(source.id)
        ids = _texts(source.id)
        strings = _texts(message.string) if message is not None else ()
        if message is None or message.fuzzy or not strings or not all(strings):
            problems.append(f"missing: {ids[0]!r}")
            continue
        wanted = set().union(*(_placeholders(i) for i in ids))
        if any(_placeholders(s) != wanted for s in strings):
            problems.append(f"placeholders differ: {ids[0]!r}")
            continue
        translated += 1
    return CatalogStatus(
        language, translated, len(expected), DRAFT_MARK in (catalog.header_comment or ""), problems
    )
