"""Replies in the champion's language: responding to a report or a theme says which languages its
champions read (never an anonymous reporter's, nor a language too few of a theme's champions read),
offers a version in each, previews what each language group gets, and at send time each champion
gets the version in their language, or the coordinator's text with a line, in their language,
saying it was not translated."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import LANGUAGES, translator
from bot.replies import Outgoing
from bot.whatsapp_values import reply_values
from handlers.common import isolate
from handlers.insights import reply_payload
from storage import champions, outbox, reports
from tests.conftest import BotHarness, join, make_coordinator, texts
from tests.test_insights import (
    EN,
    OFFER,
    OTHER_LANGUAGES,
    T0,
    add_report,
    not_translated,
    received,
    send_photo,
    you_said,
)

PL = translator("pl")
AR = translator("ar")
RESPONSE = "The clinic now opens until 8pm on Thursdays."
POLISH = "Przychodnia jest teraz otwarta w czwartki do 20:00."


async def test_a_theme_goes_to_each_champion_in_their_language_or_says_it_was_not_translated(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(7701, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(7702, "Ana")
    await join(ana)
    kasia = bot.person(7703, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    zahra = bot.person(7704, "Zahra", "ar")
    await join(zahra, LANGUAGES["ar"])
    ana_report = await add_report(bot, ana, "Too far", anonymous=False, when=T0)
    kasia_first = await add_report(bot, kasia, "Za daleko", anonymous=False, when=T0 + timedelta(hours=1))
    kasia_second = await add_report(bot, kasia, "Brak", anonymous=False, when=T0 + timedelta(hours=2))
    zahra_report = await add_report(bot, zahra, "بعيد", anonymous=False, when=T0 + timedelta(hours=3))
    await sam.send("/insights")
    await sam.press("Respond to all")

    # The newest report is the sample each preview quotes; each language group sees its own.
    sample, said = zahra_report, "بعيد"
    assert await sam.send(RESPONSE) == [
        "In Polski, for 2 reports:\n\n" + you_said(PL, sample, said, RESPONSE, not_translated(PL)),
        "In English, for 1 report:\n\n" + you_said(EN, sample, said, RESPONSE),
        "In العربية, for 1 report:\n\n" + you_said(AR, sample, said, RESPONSE, not_translated(AR)),
        "This goes to the champions of 4 reports, each with their own report's reference.\n"
        "These reports' champions read: Polski 2, English 1, العربية 1.\n" + OFFER,
    ]
    assert sam.buttons() == ["العربية · 1", "Polski · 2", "Confirm", "Cancel"]
    assert await sam.press("Polski · 2") == ["Type the Polski version of your response."]
    assert sam.buttons() == ["Back", "Cancel"]
    assert await send_photo(sam) == ["Please type your response as text."]
    assert await sam.send("  ") == ["The response is empty. Please type what was done."]
    shown = await sam.send(POLISH)
    assert shown[0] == "In Polski, for 2 reports:\n\n" + you_said(PL, sample, said, POLISH)
    assert shown[2] == "In العربية, for 1 report:\n\n" + you_said(
        AR, sample, said, RESPONSE, not_translated(AR)
    )
    assert sam.buttons() == ["العربية · 1", "✓ Polski · 2", "Confirm", "Cancel"]

    before = {person.id: len(person.history) for person in (ana, kasia, zahra)}
    assert await sam.press("Confirm") == [
        "Sent. 4 reports are marked acted on, and their champions are being told."
    ]
    await bot.deliver()
    assert await received(ana, before[ana.id], 1) == [you_said(EN, ana_report, "Too far", RESPONSE)]
    assert sorted(await received(kasia, before[kasia.id], 2)) == sorted(
        [you_said(PL, kasia_first, "Za daleko", POLISH), you_said(PL, kasia_second, "Brak", POLISH)]
    )
    assert await received(zahra, before[zahra.id], 1) == [
        you_said(AR, zahra_report, "بعيد", RESPONSE, not_translated(AR))
    ]
    await sam.send("/insights")
    (view,) = await sam.press(reports.reference(kasia_first))
    assert view.endswith(f": {RESPONSE}")  # the report keeps what the coordinator wrote


async def test_a_named_reporters_language_is_said_and_without_a_version_they_get_the_line(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(7801, "Sam")
    await make_coordinator(bot, sam)
    kasia = bot.person(7802, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    report_id = await add_report(bot, kasia, "Za daleko", anonymous=False)
    reference = reports.reference(report_id)
    await sam.send("/insights")
    await sam.press(reference)
    await sam.press("Respond")
    assert await sam.send(RESPONSE) == [
        "In Polski:\n\n" + you_said(PL, report_id, "Za daleko", RESPONSE, not_translated(PL)),
        f"{reference} will be marked acted on, and its champion will be told.\n"
        "Its champion reads Polski.\n" + OFFER,
    ]
    assert sam.buttons() == ["Polski", "Confirm", "Cancel"]
    # Back from typing a version: the same confirm screen, nothing added.
    await sam.press("Polski")
    assert await sam.press("Back") == [
        "In Polski:\n\n" + you_said(PL, report_id, "Za daleko", RESPONSE, not_translated(PL)),
        f"{reference} will be marked acted on, and its champion will be told.\n"
        "Its champion reads Polski.\n" + OFFER,
    ]
    assert sam.buttons() == ["Polski", "Confirm", "Cancel"]
    before = len(kasia.history)
    await sam.press("Confirm")
    await bot.deliver()
    assert await received(kasia, before, 1) == [
        you_said(PL, report_id, "Za daleko", RESPONSE, not_translated(PL))
    ]


async def test_an_anonymous_reporters_language_is_not_shown_but_every_version_is_offered(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(7901, "Sam")
    await make_coordinator(bot, sam)
    kasia = bot.person(7902, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    report_id = await add_report(bot, kasia, "Za daleko")
    reference = reports.reference(report_id)
    await sam.send("/insights")
    await sam.press(reference)
    await sam.press("Respond")
    shown = await sam.send(RESPONSE)
    assert shown == [
        "In English:\n\n" + you_said(EN, report_id, "Za daleko", RESPONSE),
        f"{reference} will be marked acted on, and its champion will be told.\n"
        "The report is anonymous, so its champion's language is not shown.\n" + OFFER,
    ]
    assert sam.buttons() == [*OTHER_LANGUAGES, "Confirm", "Cancel"]
    await sam.press("Polski")
    shown = await sam.send(POLISH)
    assert shown[:2] == [
        "In English:\n\n" + you_said(EN, report_id, "Za daleko", RESPONSE),
        "In Polski:\n\n" + you_said(PL, report_id, "Za daleko", POLISH),
    ]
    before = len(kasia.history)
    await sam.press("Confirm")
    await bot.deliver()
    assert await received(kasia, before, 1) == [you_said(PL, report_id, "Za daleko", POLISH)]


async def test_a_theme_with_anonymous_reports_names_only_languages_many_read(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(8101, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(8102, "Ana")
    await join(ana)
    kasia = bot.person(8103, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    for hour in range(5):
        await add_report(bot, ana, f"Heard {hour}", when=T0 + timedelta(hours=hour))
    secret = await add_report(bot, kasia, "Za daleko", when=T0 - timedelta(hours=1))
    await sam.send("/insights")
    await sam.press("Respond to all")
    shown = await sam.send(RESPONSE)
    assert shown[-1] == (
        "This goes to the champions of 6 reports, each with their own report's reference.\n"
        "These reports' champions read: English 5.\n"
        "Languages of fewer than 5 reports are not named, so that no one is singled out.\n" + OFFER
    )
    assert len(shown) == 2 and shown[0].startswith("In English, for 5 reports:\n\n")
    assert "Polski" not in "\n".join(texts(sam.history))
    assert sam.buttons() == [*OTHER_LANGUAGES, "Confirm", "Cancel"]  # every language: none singled out
    before = len(kasia.history)
    await sam.press("Confirm")
    await bot.deliver()
    assert await received(kasia, before, 1) == [
        you_said(PL, secret, "Za daleko", RESPONSE, not_translated(PL))
    ]


async def test_a_whatsapp_template_carries_the_version_or_the_line(bot: BotHarness, places: None) -> None:
    """Outside WhatsApp's 24 hours a reply goes as its template: its response is chosen the same way."""
    kasia = bot.person(8201, "Kasia", "pl")
    await join(kasia, LANGUAGES["pl"])
    zahra = bot.person(8202, "Zahra", "ar")
    await join(zahra, LANGUAGES["ar"])
    found = {}
    for person in (kasia, zahra):
        report_id = await add_report(bot, person, "Za daleko")
        async with bot.sessions.begin() as session:
            (replied,) = await reports.reply(session, [report_id], RESPONSE, None, theme=True)
            champion = await champions.by_telegram_id(session, person.id)
        assert champion is not None
        item = outbox.Claimed(
            id=0,
            kind=outbox.THEME,
            telegram_id=person.id,
            language=champion.language,
            champion=champion,
            attempts=1,
            payload=reply_payload(replied.reply_id, "en", {"pl": POLISH}),
        )
        async with bot.sessions() as session:
            values = await reply_values(session, item, Outgoing(""), bot.application.bot_data)
        found[champion.language] = values["response"]
    assert found == {"pl": isolate(POLISH), "ar": f"{isolate(RESPONSE)} {not_translated(AR)}"}
