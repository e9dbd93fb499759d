"""Versions of a coordinator's text in other languages: the buttons offering them, shared by
/broadcast (a version per language of its audience) and /insights (a version per language of the
champions a response goes to)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.i18n import LANGUAGES, Translator
from bot.replies import Choice, ticked


def version_choices(
    t: Translator, data: str, offered: Collection[str], done: Collection[str], counts: Mapping[str, int]
) -> list[Choice]:
    """A button per offered language, in the bot's order of languages, ticked once it has a version,
    its count (if known) as the note; pressing it sends `data` and the language's code."""
    return [
        Choice(
            ticked(code in done, name), f"{data}{code}", note=t.number(counts[code]) if code in counts else ""
        )
        for code, name in LANGUAGES.items()
        if code in offered
    ]
