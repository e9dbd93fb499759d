"""The coordinator's /insights: the list and its paging, each filter, opening a report (seen, media),
marking it, responding to one report or to a theme ("you said, we did") in the champion's language,
a report deleted mid-flow, a double confirm, a restart, champions refused, and anonymity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.i18n import LANGUAGES, Translator, translator
from handlers.export import local_date
from handlers.insights import period_bounds
from storage import champions, conversation, outbox, reports
from storage.models import Area, Delivery, Report, ReportReply, Status, utcnow
from storage.report_topics import load_topics
from tests.conftest import REPLY_TIMEOUT, BotHarness, Person, join, make_coordinator, texts

ONLY = ["Sorry, only coordinators can do that."]
INACTIVE = ["This button is no longer active."]
GONE = "That report no longer exists (the champion may have deleted their data)."
T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
EN = translator("en")
AR = translator("ar")


async def pair(bot: BotHarness, first_id: int) -> tuple[Person, Person]:
    """A coordinator and one English-speaking champion."""
    sam = bot.person(first_id, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(first_id + 1, "Ana")
    await join(ana)
    return sam, ana


async def add_report(
    bot: BotHarness,
    person: Person,
    text: str | None = "Nobody knows where the clinic is",
    *,
    topic: str = "vaccinations",
    kind: str = "barrier",
    area: str | None = "Northfield",
    anonymous: bool = True,
    status: str = "new",
    when: datetime = T0,
    media: tuple[str, str] | None = None,
) -> int:
    """Store a report as if `person` had sent it through /report; return its id."""
    async with bot.sessions.begin() as session:
        champion = await champions.by_telegram_id(session, person.id)
        assert champion is not None
        area_id = await session.scalar(select(Area.id).where(Area.name == area)) if area else None
        draft = reports.Draft(
            topic=topic,
            kind=kind,
            people="few",
            text=text,
            media_kind=media[0] if media else None,
            media_file_id=media[1] if media else None,
            area_id=area_id,
            anonymous=anonymous,
        )
        report = await reports.create(session, champion, draft)
        report.created_at = when
        report.status = status
        return report.id


async def report_row(bot: BotHarness, report_id: int) -> Report | None:
    async with bot.sessions() as session:
        return await session.get(Report, report_id)


async def replies(bot: BotHarness) -> list[ReportReply]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(ReportReply).order_by(ReportReply.id)))


async def received(person: Person, before: int, count: int) -> list[str]:
    """Wait until the bot has sent `count` messages to this person since `before`; return them all."""
    while len(new := [m for m in person.history[before:] if m.get("from_bot")]) < count:
        assert await person.bot.emulator.wait_for_change(person.id, REPLY_TIMEOUT), "nothing arrived"
    return texts(new)


async def send_photo(person: Person) -> list[str]:
    before = len(person.history)
    await person.bot.processed(person.bot.emulator.send_photo(person.id))
    return texts([m for m in person.history[before + 1 :] if m.get("from_bot")])


def you_said(t: Translator, report_id: int, said: str, response: str, note: str | None = None) -> str:
    """What the champion should get, written out from the catalog's message (isolates removed),
    with the line saying the response was not translated, if it was not."""
    text = t.gettext("You said ({reference}): “{said}”\nWe did: {response}").format(
        reference=reports.reference(report_id), said=said, response=response
    )
    if note is not None:
        text += "\n" + note
    return text + "\n\n" + t.gettext("Thank you for telling us what you heard.")


def not_translated(t: Translator) -> str:
    """The line under a response a coordinator wrote in English and gave no version in `t`'s language."""
    line = "(Not translated into {language}: this is what the coordinator wrote, in {original}.)"
    return t.gettext(line).format(language=LANGUAGES[t.language], original=LANGUAGES["en"])


OFFER = (
    "Add a version in another language? Anyone without one gets your text, with a line saying it "
    "was not translated."
)
OTHER_LANGUAGES = [name for code, name in LANGUAGES.items() if code != "en"]


async def test_the_list_pages_newest_first_without_names(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 6001)
    ids = [await add_report(bot, ana, f"Heard thing {n}", when=T0 + timedelta(hours=n)) for n in range(11)]
    refs = [reports.reference(i) for i in ids]
    (text,) = await sam.send("/insights")
    assert text.startswith("11 reports\nNewest first, 1–5\n\n")
    newest = local_date(EN, T0 + timedelta(hours=10), "Europe/London")  # anonymous: the day only
    assert f"{refs[10]} · {newest} · Vaccinations · A barrier · new\n“Heard thing 10”" in text
    assert "Ana" not in text
    assert sam.buttons() == [
        *refs[10:5:-1], "Older", "Filter", "Respond to all", "Group into a theme", "Export"
    ]
    (text,) = await sam.press("Older")
    assert text.startswith("11 reports\nNewest first, 6–10\n\n") and "Heard thing 5" in text
    # Ten choices at most: the middle page has no room for Export (/export) or Done (/cancel).
    assert sam.buttons() == [
        *refs[5:0:-1], "Newer", "Older", "Filter", "Respond to all", "Group into a theme"
    ]
    (text,) = await sam.press("Older")
    assert text.startswith("11 reports\nNewest first, number 11\n\n")  # not a range "11–11"
    assert sam.buttons() == [
        refs[0], "Newer", "Filter", "Respond to all", "Group into a theme", "Export", "Done"
    ]
    await sam.press("Newer")
    assert sam.buttons()[0] == refs[5]
    await sam.press("Newer")
    assert sam.buttons()[0] == refs[10]
    assert "Done" not in sam.buttons()  # a full page has ten choices already: /cancel ends it
    await sam.press("Older")
    await sam.press("Older")
    assert await sam.press("Done") == ["Closed. Send /insights to look again."]
    await sam.send("/help")
    assert "Insights" in sam.buttons()  # the coordinator's home starts /insights


async def test_filters_one_at_a_time_and_together_in_arabic(bot: BotHarness, places: None) -> None:
    layla = bot.person(6101, "ليلى", "ar")
    await join(layla, "العربية")
    await make_coordinator(bot, layla)
    ana = bot.person(6102, "Ana")
    await join(ana)
    now = utcnow()
    vaccine_new = await add_report(bot, ana, "v1", when=now - timedelta(days=2))
    vaccine_seen = await add_report(
        bot, ana, "v2", kind="idea", area="Riverside", status="seen", when=now - timedelta(days=20)
    )
    mental_new = await add_report(
        bot, ana, "m1", topic="mental-health", area="Riverside", when=now - timedelta(days=2, hours=1)
    )
    mental_acted = await add_report(
        bot, ana, "m2", topic="mental-health", kind="question", status="acted", when=now - timedelta(days=60)
    )
    _ = AR.gettext

    def shown() -> list[str]:
        return [label for label in layla.buttons() if label.startswith("R-")]

    def heading(count: int, *labels: str) -> str:
        return " · ".join(
            [AR.ngettext("{count} report", "{count} reports", count).format(count=count), *labels]
        )

    (text,) = await layla.send("/insights")
    assert text.split("\n")[0] == heading(4)
    assert await layla.press(_("Filter")) == [_("Filter the reports by:")]
    assert layla.buttons() == [_(f) for f in ("Topic", "Kind", "Area", "Status", "Dates")] + [
        _("Clear filters"),
        _("Back to list"),
    ]
    assert await layla.press(_("Topic")) == [_("Which topic?")]
    vaccinations, screening = (topic.label("ar") for topic in load_topics(languages=tuple(LANGUAGES))[:2])
    assert vaccinations != "Vaccinations"  # the topics file has the Arabic names
    assert layla.buttons()[:3] == ["✓ " + _("Any"), vaccinations, screening]
    assert layla.buttons()[-2:] == [_("More"), _("Back")]  # nine topics and Any: two pages
    (text,) = await layla.press(vaccinations)
    topic = _("Topic: {topic}").format(topic=vaccinations)
    assert text.split("\n")[0] == heading(2, topic)
    assert shown() == [reports.reference(vaccine_new), reports.reference(vaccine_seen)]

    await layla.press(_("Filter"))
    assert layla.buttons()[0] == "✓ " + _("Topic")
    await layla.press(_("Status"))
    (text,) = await layla.press(_("new"))
    assert text.split("\n")[0] == heading(1, topic, _("Status: {status}").format(status=_("new")))
    assert shown() == [reports.reference(vaccine_new)]

    await layla.press(_("Filter"))
    (text,) = await layla.press(_("Clear filters"))
    assert text.split("\n")[0] == heading(4)

    await layla.press(_("Filter"))
    await layla.press(_("Kind"))
    (text,) = await layla.press(_("A barrier"))
    kind = _("Kind: {kind}").format(kind=_("A barrier"))
    assert text.split("\n")[0] == heading(2, kind)
    await layla.press(_("Filter"))
    await layla.press(_("Area"))
    assert layla.buttons() == ["✓ " + _("Any"), "Northfield", "Riverside", _("Back")]
    (text,) = await layla.press("Riverside")
    assert text.split("\n")[0] == heading(1, kind, _("Area: {area}").format(area="Riverside"))
    assert shown() == [reports.reference(mental_new)]

    await layla.press(_("Filter"))
    await layla.press(_("Clear filters"))
    await layla.press(_("Filter"))
    await layla.press(_("Dates"))
    (text,) = await layla.press(_("Last 7 days"))
    assert text.split("\n")[0] == heading(2, _("Dates: {period}").format(period=_("Last 7 days")))
    assert shown() == [reports.reference(vaccine_new), reports.reference(mental_new)]
    await layla.press(_("Filter"))
    await layla.press(_("Dates"))
    await layla.press(_("Last 30 days"))
    assert len(shown()) == 3 and reports.reference(mental_acted) not in shown()
    await layla.press(_("Filter"))
    await layla.press(_("Dates"))
    (text,) = await layla.press(_("All time"))
    assert text.split("\n")[0] == heading(4)

    # A choice that is not offered (forged, or a topic since removed) does nothing.
    await layla.press(_("Filter"))
    message = layla.history[-1]
    assert await layla.press_data(message["message_id"], "ins:fv:topic:nope") == [_(INACTIVE[0])]
    assert await layla.press_data(message["message_id"], "ins:fv:area:99999") == [_(INACTIVE[0])]


def test_date_ranges_are_whole_days_in_the_coordinators_time_zone() -> None:
    karachi = ZoneInfo("Asia/Karachi")  # UTC+5: 20:00 UTC on 1 March is already 2 March there
    now = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)
    assert period_bounds("month", karachi, now) == datetime(2025, 2, 28, 19, 0, tzinfo=UTC)
    assert period_bounds("7d", karachi, now) == datetime(2025, 2, 23, 19, 0, tzinfo=UTC)
    assert period_bounds("all", karachi, now) is None
    london = ZoneInfo("Europe/London")  # summer time began on 30 March 2025
    now = datetime(2025, 4, 2, 12, 0, tzinfo=UTC)
    assert period_bounds("month", london, now) == datetime(2025, 3, 31, 23, 0, tzinfo=UTC)
    assert period_bounds("7d", london, now) == datetime(2025, 3, 27, 0, 0, tzinfo=UTC)
    assert period_bounds("30d", london, now) == datetime(2025, 3, 4, 0, 0, tzinfo=UTC)


async def test_open_a_report_marks_it_seen_and_shows_its_media(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 6201)
    voice = await add_report(bot, ana, None, media=("voice", "voice-xyz"), when=T0)
    photo = await add_report(
        bot, ana, "Queue outside the pharmacy", media=("photo", "photo-abc"), when=T0 + timedelta(hours=1)
    )
    await sam.send("/insights")
    reference = reports.reference(voice)
    assert await sam.press(reference) == [
        reference,  # the voice note, by its file id, captioned with the reference
        f"Report {reference} · seen\nTopic: Vaccinations\nKind: A barrier\nWhat was heard: [voice note]\n"
        f"How many people: A few people\nArea: Northfield\nSent: Mar 3, 2025\n"
        "May be shared with partners: yes",
    ]
    assert sam.history[-2]["voice"]["file_id"] == "voice-xyz"
    row = await report_row(bot, voice)
    assert row and row.status == "seen"
    assert sam.buttons() == ["Mark acted on", "Mark new", "Respond", "Add to a theme", "Back to list"]
    view = sam.history[-1]
    assert await sam.press("Mark acted on") == ["Marked acted on."]
    assert view["text"].startswith(f"Report {reference} · acted on\n")
    assert sam.buttons() == ["Mark new", "Respond", "Add to a theme", "Back to list"]
    row = await report_row(bot, voice)
    assert row and row.status == "acted"
    assert await sam.press("Mark new") == ["Marked new."]
    row = await report_row(bot, voice)
    assert row and row.status == "new"

    (text,) = await sam.press("Back to list")
    assert text.startswith("2 reports\n")
    said = await sam.press(reports.reference(photo))
    assert said[0] == reports.reference(photo)
    assert sam.history[-2]["photo"][0]["file_id"] == "photo-abc"
    assert "What was heard: [photo] Queue outside the pharmacy" in said[1]


async def test_respond_to_one_report_in_the_champions_language(bot: BotHarness, places: None) -> None:
    sam = bot.person(6301, "Sam")
    await make_coordinator(bot, sam)
    zahra = bot.person(6302, "Zahra", "ar")
    await join(zahra, "العربية")
    heard = "الناس لا يعرفون مكان العيادة"
    report_id = await add_report(bot, zahra, heard)
    reference = reports.reference(report_id)
    await sam.send("/insights")
    await sam.press(reference)
    assert await sam.press("Respond") == [
        f"Type your response to {reference}: what was done, or what the champion should know."
    ]
    assert await sam.send("   ") == ["The response is empty. Please type what was done."]
    assert await sam.send("x" * 1001) == ["That is too long. Please keep it to at most 1,000 characters."]
    assert await send_photo(sam) == ["Please type your response as text."]
    response = "We put up signs in three languages."
    expected = you_said(AR, report_id, heard, response, not_translated(AR))  # no Arabic version added
    assert await sam.send(response) == [
        f"In English:\n\n{you_said(EN, report_id, heard, response)}",
        f"{reference} will be marked acted on, and its champion will be told.\n"
        "The report is anonymous, so its champion's language is not shown.\n" + OFFER,
    ]
    assert sam.buttons() == [*OTHER_LANGUAGES, "Confirm", "Cancel"]
    confirm, _data = sam.find_button("Confirm")
    before = len(zahra.history)
    assert await sam.press("Confirm") == [
        f"Sent. {reference} is marked acted on, and its champion is being told."
    ]
    await bot.deliver()
    assert await received(zahra, before, 1) == [expected]
    # Confirm pressed again (an old copy of the button): nothing is stored or sent twice.
    assert await sam.press_data(confirm["message_id"], "ins:ok") == INACTIVE
    await bot.deliver()
    assert len([m for m in zahra.history[before:] if m.get("from_bot")]) == 1
    (stored,) = await replies(bot)
    async with bot.sessions() as session:
        coordinator = await champions.by_telegram_id(session, sam.id)
    assert coordinator and stored.coordinator_id == coordinator.id
    assert stored.text == response and stored.theme is False and stored.notified_at is not None
    row = await report_row(bot, report_id)
    assert row and row.status == "acted"

    await sam.press("Back to list")
    (view,) = await sam.press(reference)
    assert view.endswith(f"Replies so far:\n• {EN.datetime(stored.created_at)}: {response}")


async def test_respond_to_a_theme_tells_every_matching_champion(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 6401)
    zahra = bot.person(6403, "Zahra", "ar")
    await join(zahra, "العربية")
    omar = bot.person(6404, "Omar")
    await join(omar)
    ana_first = await add_report(bot, ana, "Too far to the clinic", when=T0)
    ana_second = await add_report(bot, ana, "No evening slots", when=T0 + timedelta(hours=1))
    zahra_report = await add_report(bot, zahra, "لا مواعيد مسائية", when=T0 + timedelta(hours=2))
    omar_report = await add_report(
        bot, omar, "Long waits", topic="mental-health", when=T0 + timedelta(hours=3)
    )
    await sam.send("/insights")
    await sam.press("Filter")
    await sam.press("Topic")
    await sam.press("Vaccinations")
    assert await sam.press("Respond to all") == [
        "Type one response for the 3 reports these filters match. "
        "Each champion gets it with their own report's reference."
    ]
    response = "The clinic now opens until 8pm on Thursdays."
    assert await sam.send(response) == [
        "In English:\n\n" + you_said(EN, zahra_report, "لا مواعيد مسائية", response),
        "This goes to the champions of 3 reports, each with their own report's reference.\n"
        "Languages of fewer than 5 reports are not named, so that no one is singled out.\n" + OFFER,
    ]
    before = {person.id: len(person.history) for person in (ana, zahra, omar)}
    assert await sam.press("Confirm") == [
        "Sent. 3 reports are marked acted on, and their champions are being told."
    ]
    await bot.deliver()
    assert sorted(await received(ana, before[ana.id], 2)) == sorted(
        [
            you_said(EN, ana_first, "Too far to the clinic", response),
            you_said(EN, ana_second, "No evening slots", response),
        ]
    )
    assert await received(zahra, before[zahra.id], 1) == [
        you_said(AR, zahra_report, "لا مواعيد مسائية", response, not_translated(AR))
    ]
    assert [m for m in omar.history[before[omar.id] :] if m.get("from_bot")] == []
    stored = await replies(bot)
    assert sorted(r.report_id for r in stored) == sorted([ana_first, ana_second, zahra_report])
    assert all(r.theme for r in stored)
    row = await report_row(bot, omar_report)
    assert row and row.status == "new"


async def test_responding_to_a_report_deleted_meanwhile(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 6501)
    report_id = await add_report(bot, ana)
    reference = reports.reference(report_id)
    await sam.send("/insights")
    await sam.press(reference)
    view = sam.history[-1]
    await sam.press("Respond")
    await sam.send("We talked to the practice.")
    await ana.send("/deleteme")
    await ana.press("Yes, delete it all")
    assert await report_row(bot, report_id) is None
    assert await sam.press("Confirm") == [f"{GONE} Nothing was sent."]
    assert await replies(bot) == []
    assert sam.buttons() == ["Back to list", "Done"]
    # Old buttons on the deleted report say so too.
    assert await sam.press_data(view["message_id"], f"ins:mark:{report_id}:acted") == [GONE]
    assert await sam.press_data(view["message_id"], f"ins:open:{report_id}") == [GONE]
    assert await sam.press_data(view["message_id"], f"ins:resp:{report_id}") == [GONE]


async def test_a_restart_loses_neither_the_flow_nor_an_unsent_reply(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 6601)
    first = await add_report(bot, ana, "First thing", when=T0)
    second = await add_report(bot, ana, "Second thing", when=T0 + timedelta(hours=1))
    await sam.send("/insights")
    await sam.press(reports.reference(first))
    await sam.press("Respond")
    await sam.send("Answered after a restart.")
    await bot.restart()  # mid-flow: the confirm screen is still there to press
    before = len(ana.history)
    assert await sam.press("Confirm") == [
        f"Sent. {reports.reference(first)} is marked acted on, and its champion is being told."
    ]
    await bot.deliver()
    assert await received(ana, before, 1) == [you_said(EN, first, "First thing", "Answered after a restart.")]

    # A reply stored just before the bot stopped, never sent: it goes out after the restart.
    await bot.stop()
    async with bot.sessions.begin() as session:
        (replied,) = await reports.reply(
            session, [second], "Stored, then the bot stopped.", None, theme=False
        )
        await outbox.queue(session, outbox.REPLY, [replied.champion_id], {"reply": replied.reply_id})
    await bot.restart()
    before = len(ana.history)
    await bot.deliver()
    assert await received(ana, before, 1) == [
        you_said(EN, second, "Second thing", "Stored, then the bot stopped.")
    ]

    # A champion who blocked the bot is marked unreachable and the reply is not marked told;
    # nothing is retried for ever.
    async with bot.sessions.begin() as session:
        (replied,) = await reports.reply(session, [second], "One more thing.", None, theme=False)
        await outbox.queue(session, outbox.REPLY, [replied.champion_id], {"reply": replied.reply_id})
    bot.emulator.fail(ana.id, 403)
    await bot.deliver()
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, ana.id)
        told = await session.scalar(select(ReportReply.notified_at).where(ReportReply.id == replied.reply_id))
        state = await session.scalar(
            select(Delivery.state).where(Delivery.kind == outbox.REPLY).order_by(Delivery.id.desc())
        )
    assert champion and champion.status == Status.ACTIVE and champion.unreachable_at is not None
    assert told is None and state == outbox.BLOCKED


async def test_champions_are_refused_and_see_nothing(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 6701)
    report_id = await add_report(bot, ana, "Something private")
    assert await ana.send("/insights") == ONLY
    message_id = ana.history[-1]["message_id"]
    for data in (f"ins:open:{report_id}", "ins:ok", "ins:fv:topic:vaccinations", "ins:exp", "ins:theme"):
        assert await ana.press_data(message_id, data) == ONLY
    assert await ana.press_data(message_id, "ins:open:abc") == INACTIVE  # not even a valid button
    assert all("Something private" not in text for text in texts(ana.history))
    # A coordinator outside the flow: a button of the list is stale, but Open (as on a notification of
    # a question) shows the report; one that never existed is gone.
    await sam.send("/help")
    outside = sam.history[-1]["message_id"]
    assert await sam.press_data(outside, "ins:back") == INACTIVE
    assert await sam.press_data(outside, "ins:open:999999") == [GONE]
    (view,) = await sam.press_data(outside, f"ins:open:{report_id}")
    assert view.startswith(f"Report {reports.reference(report_id)} · seen\n")
    await sam.send("/insights")
    assert await sam.press_data(sam.history[-1]["message_id"], "ins:open:999999") == [GONE]
    # A coordinator who loses the role mid-response: the typed text goes nowhere.
    await sam.press("Back to list")
    await sam.press(reports.reference(report_id))
    await sam.press("Respond")
    async with bot.sessions.begin() as session:
        await champions.remove_coordinator(session, sam.id)
    assert await sam.send("A response") == ONLY
    assert await replies(bot) == []


async def test_an_anonymous_reporter_is_never_shown_to_the_coordinator(bot: BotHarness, places: None) -> None:
    sam = bot.person(6801, "Sam")
    await make_coordinator(bot, sam)
    zahra = bot.person(987654321, "Zahra Secret")
    await join(zahra)
    omar = bot.person(6802, "Omar Named")
    await join(omar)
    secret = await add_report(bot, zahra, "Heard at the mosque", when=T0)
    named = await add_report(bot, omar, "Heard at the market", anonymous=False, when=T0 + timedelta(hours=1))
    await sam.send("/insights")
    await sam.press(reports.reference(secret))
    await sam.press("Respond")
    await sam.send("Thanks, we shared it with the imam.")
    await sam.press("Confirm")
    await sam.press("Back to list")
    (opened,) = await sam.press(reports.reference(named))
    sent = EN.datetime(T0 + timedelta(hours=1))
    assert opened.endswith(f"From: Omar Named\nSent: {sent}\nMay be shared with partners: yes")
    await sam.press("Back to list")
    await sam.press("Respond to all")
    await sam.send("Thank you all.")
    await sam.press("Confirm")
    await sam.send("/insights")
    await sam.press(reports.reference(secret))
    await received(zahra, 0, 1)
    everything = json.dumps(sam.history, ensure_ascii=False)
    assert "Zahra" not in everything and "Secret" not in everything and "987654321" not in everything
    assert "Omar Named" in everything and "Heard at the mosque" in everything


async def test_a_photo_that_fails_still_shows_the_report_and_it_is_seen_once_shown(
    bot: BotHarness, places: None
) -> None:
    sam, ana = await pair(bot, 6901)
    photo = await add_report(bot, ana, "Queue outside the pharmacy", media=("photo", "expired-file-id"))
    plain = await add_report(bot, ana, "No interpreter at the GP", when=T0 + timedelta(hours=1))
    await sam.send("/pending")  # "Nobody is waiting": a message without buttons
    unbuttoned = sam.history[-1]["message_id"]  # pressed from here, the photo is the first send
    await sam.send("/insights")
    bot.emulator.fail(sam.id, 400)  # the next send to Sam fails, as an expired file id does
    (view,) = await sam.press_data(unbuttoned, f"ins:open:{photo}")
    assert view.startswith(f"Report {reports.reference(photo)} · seen\n")
    assert "What was heard: [photo] Queue outside the pharmacy" in view
    assert "The photo could not be shown here." in view
    assert sam.buttons() == ["Mark acted on", "Mark new", "Respond", "Add to a theme", "Back to list"]
    row = await report_row(bot, photo)
    assert row and row.status == "seen"
    # The report's text itself not arriving: it stays new, for the next look.
    bot.emulator.fail(sam.id, 400)
    await sam.press_data(unbuttoned, f"ins:open:{plain}")
    row = await report_row(bot, plain)
    assert row and row.status == "new"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_a_report_of_any_accepted_length_opens_within_telegrams_limit(
    bot: BotHarness, places: None
) -> None:
    sam, ana = await pair(bot, 7001)
    words = ("Nobody told us the clinic moved. " * 130)[:4096]  # as long as the report.text column holds
    emoji = "😷" * 4096  # as many characters, twice as long as Telegram counts
    for text in (words, emoji):
        report_id = await add_report(bot, ana, text)
        async with bot.sessions.begin() as session:
            for n in range(7):
                await reports.reply(session, [report_id], f"{n} " + "y" * 998, None, theme=False)
        await sam.send("/insights")
        before = len(sam.history)
        await sam.press(reports.reference(report_id))
        sent = [m for m in sam.history[before:] if m.get("from_bot") and m.get("text")]
        assert all(utf16(m["text"]) <= 4096 for m in sent)
        *parts, view = texts(sent)
        assert "".join(part.split("\n", 1)[1] for part in parts) == text  # all of it, in order
        assert view.startswith(f"Report {reports.reference(report_id)} · acted on\n")  # replied to
        assert "… (cut short here: the whole report is in the messages above)" in view
        assert sam.buttons() == ["Mark new", "Respond", "Add to a theme", "Back to list"]
        assert await sam.press("Mark new") == ["Marked new."]  # the edited view fits too
        assert utf16(sent[-1]["text"]) <= 4096 and sent[-1]["text"].startswith("Report R-")
        assert "· new\n" in sent[-1]["text"]
        await sam.press("Back to list")


async def test_filter_choices_are_echoed_and_more_pages_in_place(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 7101)
    await add_report(bot, ana, "Nobody told us", topic="other")
    await sam.send("/insights")
    await sam.press("Filter")
    menu = sam.history[-1]
    await sam.press("Topic")
    assert texts([menu]) == ["Filter the reports by:\n\n✓ Topic"] and not menu.get("reply_markup")
    options = sam.history[-1]
    assert await sam.press("More") == []  # the next page, in place of the first
    assert sam.buttons() == ["Housing", "Other", "Back"]
    (text,) = await sam.press("Other")
    assert text.startswith("1 report · Topic: Other\n")
    assert texts([options]) == ["Which topic?\n\n✓ Other"] and not options.get("reply_markup")


async def test_a_response_half_typed_in_the_previous_release_is_ended_kindly(
    bot: BotHarness, places: None
) -> None:
    sam, ana = await pair(bot, 7201)
    report_id = await add_report(bot, ana)
    async with bot.sessions.begin() as session:  # as the previous release kept it: no version
        await conversation.set_state(session, sam.id, "ins:respond", {"filters": {}, "report": report_id})
    assert await sam.send("We called the practice.") == [
        "Sorry, the bot was updated while you were in the middle of something, so it has to start "
        "again. Send /help to see what you can do.",
    ]  # what was typed answered the ended step, so nothing else follows
    assert await replies(bot) == []
    (text,) = await sam.send("/insights")
    assert text.startswith("1 report\n")
