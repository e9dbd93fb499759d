"""Themes in chat: grouped from /insights, moved step by step with a note (a stale or forged press
refused), "you said, we did" once to each reporter in their language, partners, actions with dates
(bad and past ones refused), the outcome, overdue actions in the digest, themes in /myreports, a
non-coordinator refused, and erasing a champion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from bot.context import Context
from bot.i18n import LANGUAGES, translator
from handlers.digest import queue_digest
from handlers.themes import step_label, theme_said
from storage import reports, themes
from storage.models import Delivery, Theme, ThemeAction, ThemeReport, ThemeStep
from tests.conftest import BotHarness, Person, join, make_coordinator
from tests.test_insights import add_report, received

ONLY = ["Sorry, only coordinators can do that."]
OFFER = (
    "Add a version in another language? Anyone without one gets your text, with a line saying it "
    "was not translated."
)
OTHER_LANGUAGES = [name for code, name in LANGUAGES.items() if code != "en"]
INACTIVE = ["This button is no longer active."]
EN = translator("en")
TITLE = "8am GP phone queues, Northfield"


def plain(text: str) -> str:
    """Text without the Unicode isolates around what people typed (as tests.conftest.texts gives it)."""
    return text.replace("\u2068", "").replace("\u2069", "")


async def people(bot: BotHarness, first_id: int) -> tuple[Person, Person]:
    sam = bot.person(first_id, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(first_id + 1, "Ana")
    await join(ana)
    return sam, ana


async def only_theme(bot: BotHarness) -> Theme:
    async with bot.sessions() as session:
        (theme,) = list(await session.scalars(select(Theme)))
        return theme


async def grouped(bot: BotHarness, sam: Person) -> Theme:
    """Group every report /insights shows into a theme titled TITLE, through the chat."""
    await sam.send("/insights")
    await sam.press("Group into a theme")
    await sam.send(TITLE)
    return await only_theme(bot)


async def test_grouping_from_insights_refuses_bad_titles(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8001)
    first = await add_report(bot, ana, "Phone lines jammed at 8am")
    second = await add_report(bot, ana, "Gave up after an hour")
    await sam.send("/insights")
    assert await sam.press("Group into a theme") == [
        "Type a short title for a theme of the 2 reports these filters show, "
        "for example “8am GP phone queues, Northfield”."
    ]
    assert await sam.send("x" * 201) == ["That is too long. Please keep it to at most 200 characters."]
    (view,) = await sam.send(TITLE)
    assert view.startswith(f"“{TITLE}”\nStep 1 of 5: Select a concern\n2 reports")
    assert sam.buttons()[0] == "Next step"
    async with bot.sessions() as session:
        theme = (await session.scalars(select(Theme))).one()
        assert theme.area_id is None
        assert await themes.report_ids(session, theme.id) == [first, second]


async def test_grouping_nothing_is_refused(bot: BotHarness, places: None) -> None:
    sam, _ana = await people(bot, 8101)
    (listed,) = await sam.send_raw("/insights")
    assert "Group into a theme" not in sam.buttons()  # no reports: nothing to group
    assert await sam.press_data(listed["message_id"], "thm:group") == [
        "There are no reports to put in a theme."
    ]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count(Theme.id))) == 0


async def test_steps_move_forward_only_and_tell_each_reporter_once(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8201)
    zahra = bot.person(8203, "Zahra", "ar")
    await join(zahra, "العربية")
    ana_first = await add_report(bot, ana, "Phone lines jammed at 8am")
    ana_second = await add_report(bot, ana, "Gave up after an hour")
    zahra_report = await add_report(bot, zahra, "الخطوط مشغولة")
    theme = await grouped(bot, sam)
    view = sam.history[-1]
    # Only the next step is offered; a forged press for a later one, or one already done, is refused.
    assert await sam.press_data(view["message_id"], f"thm:next:{theme.id}:plan") == INACTIVE
    assert await sam.press("Next step") == [
        "Type a note for the move to “Research and diagnose”: what was found or decided."
    ]
    note = "Three practices agreed to look at their phone data."
    assert await sam.send(note) == [
        "The theme moved to “Research and diagnose”.\n"
        "Send “you said, we did” with your note to the champions of its 3 reports? "
        "Each gets one message, in their language.\n" + OFFER
    ]
    # Anonymous reports, fewer than 5 in any language: none is named, every one is offered.
    assert sam.buttons() == [*OTHER_LANGUAGES, "Send", "Don't send"]
    before = {person.id: len(person.history) for person in (ana, zahra)}
    replies = await sam.press("Send")
    assert replies[0] == "Sent to the champions of 3 reports."
    assert await sam.press_data(sam.history[-1]["message_id"], "thm:tell:yes") == INACTIVE  # only once
    assert await sam.press_data(view["message_id"], f"thm:next:{theme.id}:research") == INACTIVE
    await bot.deliver()
    assert await received(ana, before[ana.id], 1) == [
        plain(theme_said(EN, TITLE, ThemeStep.RESEARCH, [ana_first, ana_second], note, None))
    ]
    ar = translator("ar")
    not_translated = ar.gettext(
        "(Not translated into {language}: this is what the coordinator wrote, in {original}.)"
    ).format(language=LANGUAGES["ar"], original=LANGUAGES["en"])
    assert await received(zahra, before[zahra.id], 1) == [
        plain(theme_said(ar, TITLE, ThemeStep.RESEARCH, [zahra_report], note, not_translated))
    ]
    assert step_label(ar, ThemeStep.RESEARCH) in zahra.history[-1]["text"]
    assert len([m for m in ana.history[before[ana.id] :] if m.get("from_bot")]) == 1
    async with bot.sessions() as session:
        rows = list(await session.scalars(select(Delivery).where(Delivery.kind == "theme")))
        assert len(rows) == 2  # one per champion, not per report
        assert await themes.move(session, theme.id, ThemeStep.SELECT, "Back", None) == themes.Refused(
            themes.Problem.STEP_BACKWARDS
        )
    assert (await only_theme(bot)).step == ThemeStep.RESEARCH


async def test_moving_without_telling(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8301)
    await add_report(bot, ana)
    await grouped(bot, sam)
    await sam.press("Next step")
    await sam.send("Looked into it")
    before = len(ana.history)
    replies = await sam.press("Don't send")
    assert replies[0] == "Nothing was sent."
    assert "Step 2 of 5: Research and diagnose" in replies[1]
    await bot.deliver()
    assert [m for m in ana.history[before:] if m.get("from_bot")] == []


async def test_actions_partners_notes_and_outcome(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8401)
    await add_report(bot, ana)
    theme = await grouped(bot, sam)
    await sam.press("Add note")
    (view,) = await sam.send("Spoke to the patient group")
    assert "Notes:\n• Select a concern: Spoke to the patient group" in view
    await sam.press("Add partner")
    await sam.press("GP practice")
    (view,) = await sam.send("Northfield Surgery")
    assert "Partners:\n• GP practice: Northfield Surgery" in view
    await sam.press("Add action")
    await sam.send("Open a call-back line")
    assert await sam.send("Practice manager") == [
        "When is it due? Type the date as YYYY-MM-DD or DD/MM/YYYY."
    ]
    bad = "Please type the date as YYYY-MM-DD or DD/MM/YYYY, for example 2027-03-31."
    assert await sam.send("next week") == [bad]
    assert await sam.send("31/02/2030") == [bad]  # no such day
    assert await sam.send("2020-01-01") == ["That date has passed. Please type today's date or a later one."]
    due = date.today() + timedelta(days=30)
    (view,) = await sam.send(due.strftime("%d/%m/%Y"))
    shown = EN.gettext("{action} – {owner}, due {date}").format(
        action="Open a call-back line", owner="Practice manager", date=due.strftime("%b %-d, %Y")
    )
    assert f"Actions:\n• {shown}" in view
    assert await sam.press("Mark action done") == [
        "Which action is done?\n1. Open a call-back line – Practice manager"
    ]
    replies = await sam.press("1")
    assert replies[0] == "Marked done."
    assert f"• {shown} (done)" in replies[1]
    await sam.press("Set outcome")
    (view,) = await sam.send("A call-back line opened in March")
    assert "Outcome: A call-back line opened in March\nMay be shared with partners: no" in view
    (view,) = await sam.press("Share outcome")
    assert "May be shared with partners: yes" in view
    assert (await only_theme(bot)).outcome_shared
    assert "Don't share outcome" in sam.buttons()
    assert theme.id


async def test_adding_a_report_from_insights(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8501)
    first = await add_report(bot, ana, "First")
    theme = await grouped(bot, sam)
    second = await add_report(bot, ana, "Second")
    reference = reports.reference(second)
    await sam.send("/insights")
    await sam.press(reference)
    assert await sam.press("Add to a theme") == [
        f"Add {reference} to which theme?\n1. {TITLE} · Select a concern"
    ]
    assert sam.buttons() == ["1", "Back to list"]
    assert await sam.press("1") == [f"{reference} was added to “{TITLE}”."]
    await sam.press("Back to list")
    await sam.press(reference)
    await sam.press("Add to a theme")
    assert await sam.press("1") == [f"{reference} is in “{TITLE}” already."]
    async with bot.sessions() as session:
        assert await themes.report_ids(session, theme.id) == [first, second]


async def test_a_champion_is_refused_every_theme_button(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8601)
    report_id = await add_report(bot, ana)
    theme = await grouped(bot, sam)
    assert await ana.send("/themes") == ONLY
    message_id = ana.history[-1]["message_id"]  # a message in her own chat, with the data forged
    for data in (
        f"thm:open:{theme.id}",
        f"thm:next:{theme.id}:research",
        f"thm:share:{theme.id}:on",
        f"thm:add:{theme.id}:{report_id}",
        f"thm:pick:{report_id}",
        "thm:group",
    ):
        assert await ana.press_data(message_id, data) == ONLY
    assert (await only_theme(bot)).step == ThemeStep.SELECT


async def test_themes_list_and_myreports(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8701)
    await add_report(bot, ana)
    await grouped(bot, sam)
    await sam.press("Next step")
    await sam.send("Looked into it")
    await sam.press("Don't send")
    (listed,) = await sam.send("/themes")
    assert listed == f"1 theme\n1. {TITLE} · Research and diagnose · 1 report"
    (myreports,) = await ana.send("/myreports")
    assert f"Theme: {TITLE} (Research and diagnose)" in myreports


async def test_overdue_actions_reach_the_digest(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8801)
    await add_report(bot, ana)
    theme = await grouped(bot, sam)
    async with bot.sessions.begin() as session:  # set in the past, as time would
        session.add(
            ThemeAction(theme_id=theme.id, text="Call back", owner="Surgery", due_on=date(2026, 11, 1))
        )
        session.add(ThemeAction(theme_id=theme.id, text="Later", owner="Council", due_on=date(2099, 12, 30)))
    slot = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    before = len(sam.history)
    assert await queue_digest(Context(bot.application), slot)
    await bot.deliver(now=slot)
    (digest,) = await received(sam, before, 1)
    assert (
        f"1 theme action is overdue:\n• {TITLE}: Call back – Surgery, due Nov 1, 2026\nOpen /themes" in digest
    )
    assert "Later" not in digest
    (view,) = await sam.press_data(sam.history[-1]["message_id"], f"thm:open:{theme.id}")
    assert "• Call back – Surgery, due Nov 1, 2026 (overdue)\n• Later – Council, due Dec 30, 2099" in view


async def test_erasing_a_champion_keeps_the_theme(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 8901)
    ben = bot.person(8903, "Ben")
    await join(ben)
    await add_report(bot, ana)
    await add_report(bot, ben)
    theme = await grouped(bot, sam)
    await ben.send("/deleteme")
    await ben.press("Yes, delete it all")
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).where(ThemeReport.theme_id == theme.id)) == 1
    (view,) = await sam.press_data(sam.history[-1]["message_id"], f"thm:open:{theme.id}")
    assert "\n1 report" in view


async def test_a_long_theme_fits_one_message(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 9001)
    await add_report(bot, ana)
    theme = await grouped(bot, sam)
    today = date.today()
    async with bot.sessions.begin() as session:
        for n in range(12):
            await themes.add_note(session, theme.id, f"Note {n} " + "n" * 3990, None)
            await themes.add_partner(session, theme.id, "other", f"Partner {n} " + "p" * 180)
            await themes.add_action(session, theme.id, f"Action {n} " + "a" * 480, "o" * 200, today, today)
        await themes.set_outcome(session, theme.id, "x" * 4000)
    (view,) = await sam.press_data(sam.history[-1]["message_id"], f"thm:open:{theme.id}")
    assert len(view) <= 4096
    assert "Note 11 " in view and "Note 6 " not in view  # the newest notes
    assert "Partner 0 " in view and "Action 0 " in view


async def test_a_step_change_in_each_reporters_language(bot: BotHarness, places: None) -> None:
    sam, ana = await people(bot, 9101)
    piotr = bot.person(9103, "Piotr", "pl")
    await join(piotr, LANGUAGES["pl"])
    ana_report = await add_report(bot, ana, "Queues")
    piotr_report = await add_report(bot, piotr, "Kolejki")
    await grouped(bot, sam)
    await sam.press("Next step")
    note = "The surgery now has a call-back line."
    await sam.send(note)
    assert await sam.press(LANGUAGES["pl"]) == [f"Type the {LANGUAGES['pl']} version of your response."]
    assert await sam.send("x" * 1001) == ["That is too long. Please keep it to at most 1,000 characters."]
    polish = "Przychodnia ma teraz linię oddzwaniania."
    (offer,) = await sam.send(polish)
    assert offer.startswith("The theme moved to “Research and diagnose”.")
    assert "✓ " + LANGUAGES["pl"] in sam.buttons()
    before = {person.id: len(person.history) for person in (ana, piotr)}
    await sam.press("Send")
    await bot.deliver()
    pl = translator("pl")
    assert await received(piotr, before[piotr.id], 1) == [
        plain(theme_said(pl, TITLE, ThemeStep.RESEARCH, [piotr_report], polish, None))
    ]
    assert await received(ana, before[ana.id], 1) == [
        plain(theme_said(EN, TITLE, ThemeStep.RESEARCH, [ana_report], note, None))
    ]
    # A version's button pressed when no send is on offer any more does nothing.
    assert await sam.press_data(sam.history[-1]["message_id"], "thm:lv:pl") == INACTIVE
