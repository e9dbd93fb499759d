"""The whole joining journey in a right-to-left language, and the language picked from Telegram."""

from __future__ import annotations

from bot.i18n import translator
from handlers.onboarding import PRIVACY_NOTICE
from storage import champions
from tests.conftest import BotHarness


async def test_joining_in_arabic_from_telegram_language(bot: BotHarness, places: None) -> None:
    ar = translator("ar")
    _ = ar.gettext
    layla = bot.person(601, "ليلى", "ar")
    assert await layla.send("/start") == [_("Welcome! Please choose your language.")]
    assert "✓ العربية" in layla.buttons()  # pre-selected from Telegram's language_code
    replies = await layla.press("العربية")
    assert replies[0] == ar.gettext(PRIVACY_NOTICE) != PRIVACY_NOTICE
    await layla.press(_("Yes, I agree"))
    assert await layla.press(_("No")) == [
        _("What should we call you? Your first name or a nickname is fine.")
    ]
    assert await layla.send("   ") == [_("Please type a name (letters, not only spaces).")]
    assert await layla.send("ليلى") == [_("Which area do you mostly work in?")]
    await layla.press(_("Prefer not to say"))
    replies = await layla.press(_("Done"))
    assert replies[0] == _("You're all set, {name}! Thank you for being a community champion.").format(
        name="ليلى"
    )
    assert "NHS 111" in replies[1] and "/deleteme" in replies[1]
    assert replies[0] != "You're all set, ليلى! Thank you for being a community champion."
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, 601)
        assert champion and champion.language == "ar" and champion.area_id is None


async def test_unsupported_telegram_language_falls_back_to_english(bot: BotHarness) -> None:
    hans = bot.person(602, "Hans", "de")
    assert await hans.send("/start") == ["Welcome! Please choose your language."]
    assert "✓ English" in hans.buttons()


async def test_urdu_speaker_gets_urdu_errors_before_joining(bot: BotHarness) -> None:
    bilal = bot.person(603, "Bilal", "ur")
    assert await bilal.send("/nonsense") == [
        translator("ur").gettext("I don't know that command. Send /help to see what I can do.")
    ]
    assert await bilal.send("hello") == [translator("ur").gettext("Hello! Send /start to join.")]
