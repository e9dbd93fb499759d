"""Logging a conversation session (/log): three taps in English and Arabic, a band or a typed number,
absurd counts refused, the last entry corrected and deleted, who may log, the weekly reminder, and
the entries in /mydata, /deleteme and /stats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.context import Context
from bot.i18n import translator
from handlers import log
from storage import activity_logs, champions, conversation
from storage.models import ActivityLog, Champion, Delivery, Status
from tests.conftest import BotHarness, Person, join, make_coordinator

PEOPLE_QUESTION = "How many people did you talk to? Choose one, or type the number."
COUNT_QUESTION = "Type how many people you talked to, as a number."
TOPIC_QUESTION = "What did you talk about?"
SETTING_QUESTION = "Where did you talk with them?"
BAD_COUNT = "Please type a whole number from 1 to 1,000, such as 12."
THANKS = "Logged: {entry}\nThank you! Send /log after your next conversation."
INACTIVE = ["This button is no longer active."]


async def entries(bot: BotHarness) -> list[ActivityLog]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(ActivityLog).order_by(ActivityLog.id)))


async def step_of(bot: BotHarness, person: Person) -> str | None:
    async with bot.sessions() as session:
        state = await conversation.get_state(session, person.id)
    return state.step if state else None


async def set_status(bot: BotHarness, person: Person, status: Status) -> None:
    async with bot.sessions.begin() as session:
        champion = await champions.by_telegram_id(session, person.id)
        assert champion is not None
        champion.status = status


async def log_one(
    person: Person, band: str = "2–5", topic: str = "Vaccinations", setting: str = "Faith group"
) -> str:
    await person.send("/log")
    await person.press(band)
    await person.press(topic)
    (said,) = await person.press(setting)
    return said


# ------------------------------------------------------------ three taps


async def test_a_champion_logs_a_session_in_three_taps(bot: BotHarness, places: None) -> None:
    ana = bot.person(7001, "Ana")
    await join(ana)
    assert await ana.send("/log") == [PEOPLE_QUESTION]
    assert ana.buttons() == ["1", "2–5", "6–10", "11–25", "26+", "Type a number", "Cancel"]
    assert await ana.press("6–10") == [TOPIC_QUESTION]
    topics = [topic.label("en") for topic in bot.application.bot_data.topics]
    assert ana.buttons() == [*topics, "Cancel"]  # nine topics, Back and Cancel would be 11
    assert await ana.press("GP access") == [SETTING_QUESTION]
    assert ana.buttons() == [
        "Faith group",
        "School gate",
        "Community centre",
        "Online group",
        "Door to door",
        "Event",
        "Somewhere else",
        "Back",
        "Cancel",
    ]
    confirmation, data = ana.find_button("School gate")
    assert await ana.press("School gate") == [THANKS.format(entry="6–10 people · GP access · School gate")]
    assert ana.buttons() == ["Change", "Delete", "Remind me weekly"]
    (saved,) = await entries(bot)
    assert (saved.people, saved.band, saved.topic, saved.setting) == (6, "6-10", "gp-access", "school")
    async with bot.sessions() as session:
        champion = await champions.by_telegram_id(session, ana.id)
    assert champion is not None and saved.area_id == champion.area_id is not None
    assert await step_of(bot, ana) is None
    # The last answer pressed again: nothing more is stored.
    assert await ana.press_data(confirmation["message_id"], data) == INACTIVE
    assert len(await entries(bot)) == 1


async def test_an_arabic_speaker_logs_a_typed_number(bot: BotHarness, places: None) -> None:
    ar = translator("ar")
    _ = ar.gettext
    layla = bot.person(7002, "ليلى", "ar")
    await join(layla, "العربية")
    assert await layla.send("/log") == [_(PEOPLE_QUESTION)]
    assert await layla.press(_("Type a number")) == [_(COUNT_QUESTION)]
    assert await layla.send("١٢") == [_(TOPIC_QUESTION)]  # Arabic-Indic digits
    topic = bot.application.bot_data.topics[0]
    assert await layla.press(topic.label("ar")) == [_(SETTING_QUESTION)]
    (thanks,) = await layla.press(_("Online group"))
    people = ar.ngettext("{count} person", "{count} people", 12).format(count=ar.number(12))
    entry = f"{people} · {topic.label('ar')} · {_('Online group')}"
    assert thanks == _(THANKS).format(entry=entry)
    (saved,) = await entries(bot)
    assert (saved.people, saved.band, saved.setting) == (12, None, "online")


async def test_a_number_typed_on_the_first_question_is_taken_and_bands_count_their_lower_end(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(7003, "Ana")
    await join(ana)
    await ana.send("/log")
    assert await ana.send(" 7 ") == [TOPIC_QUESTION]
    await ana.press("Housing")
    assert await ana.press("Event") == [THANKS.format(entry="7 people · Housing · Event")]
    for band in ("1", "26+", "11–25"):
        await ana.send("/log")
        await ana.press("Log another")
        await ana.press(band)
        await ana.press("Other")
        await ana.press("Somewhere else")
    assert [(e.people, e.band) for e in await entries(bot)] == [
        (7, None),
        (1, "1"),
        (26, "26+"),
        (11, "11-25"),
    ]
    assert (await entries(bot))[2].setting == "other"


async def test_absurd_counts_are_refused_and_the_step_keeps_waiting(bot: BotHarness, places: None) -> None:
    ana = bot.person(7004, "Ana")
    await join(ana)
    await ana.send("/log")
    await ana.press("Type a number")
    for bad in ["0", "-3", "1000000000", "lots", "5.5", "1001", ""]:
        assert await ana.send(bad or "  ") == [BAD_COUNT], bad
        assert await step_of(bot, ana) == log.COUNT
    assert await entries(bot) == []
    assert await ana.send("1000") == [TOPIC_QUESTION]
    # On the first question too, in Polish.
    pl = translator("pl")
    kasia = bot.person(7005, "Kasia", "pl")
    await join(kasia, "Polski")
    assert await kasia.send("/log") == [pl.gettext(PEOPLE_QUESTION)]
    bad_pl = pl.gettext("Please type a whole number from {low} to {high}, such as 12.").format(
        low=pl.number(1), high=pl.number(1000)
    )
    assert await kasia.send("dużo") == [bad_pl]
    assert await kasia.send("0") == [bad_pl]
    assert await step_of(bot, kasia) == log.PEOPLE
    assert await entries(bot) == []


def test_typed_people_takes_whole_numbers_from_1_to_1000() -> None:
    assert [activity_logs.typed_people(text) for text in ["1", "1000", " 42 ", "০৫"]] == [1, 1000, 42, 5]
    for bad in ["0", "-1", "10" * 9, "1e3", "5.5", "lots", "+5", "1,000", "", "五"]:
        assert activity_logs.typed_people(bad) is None, bad


async def test_back_and_cancel(bot: BotHarness, places: None) -> None:
    ana = bot.person(7006, "Ana")
    await join(ana)
    await ana.send("/log")
    await ana.press("2–5")
    await ana.press("Housing")
    assert await ana.press("Back") == [TOPIC_QUESTION]
    assert ana.buttons()[7] == "✓ Housing"
    assert await ana.send("hello") == ["Please choose one of the buttons.", TOPIC_QUESTION]
    assert await ana.press("Cancel") == ["Log cancelled. Nothing was saved."]
    assert await step_of(bot, ana) is None and await entries(bot) == []


# ------------------------------------------------------------ correct, delete


async def test_the_last_entry_is_corrected_and_deleted(bot: BotHarness, places: None) -> None:
    ana = bot.person(7007, "Ana")
    await join(ana)
    await log_one(ana)
    first_confirmation, fix_data = ana.find_button("Change")
    assert await ana.press("Change") == ["What do you want to change?"]
    assert ana.buttons() == ["How many people", "Topic", "Setting", "Cancel"]
    assert await ana.press("How many people") == [PEOPLE_QUESTION]
    assert await ana.send("9") == ["Changed: 9 people · Vaccinations · Faith group"]
    await ana.press("Change")
    await ana.press("Topic")
    assert await ana.press("Housing") == ["Changed: 9 people · Housing · Faith group"]
    await ana.press("Change")
    await ana.press("Setting")
    assert await ana.press("Door to door") == ["Changed: 9 people · Housing · Door to door"]
    (saved,) = await entries(bot)
    assert (saved.people, saved.band, saved.topic, saved.setting) == (9, None, "housing", "door")
    # /log on the same day offers the entry; Delete asks first.
    assert await ana.send("/log") == [
        "Today you logged: 9 people · Housing · Door to door\n"
        "Log another session, or change or delete that one?"
    ]
    assert ana.buttons() == ["Log another", "Change", "Delete"]
    assert await ana.press("Delete") == [
        "9 people · Housing · Door to door",
        "Delete this entry? This cannot be undone.",
    ]
    assert await ana.press("No, keep it") == ["Kept. Nothing was changed."]
    assert len(await entries(bot)) == 1
    await ana.send("/log")
    await ana.press("Delete")
    assert await ana.press("Yes, delete it") == ["Deleted."]
    assert await entries(bot) == []
    # The first confirmation's Change names an entry that is gone.
    assert await ana.press_data(first_confirmation["message_id"], fix_data) == INACTIVE


async def test_only_the_last_entry_can_be_changed(bot: BotHarness, places: None) -> None:
    ana = bot.person(7008, "Ana")
    await join(ana)
    await log_one(ana)
    older, older_fix = ana.find_button("Change")
    await ana.send("/log")
    await ana.press("Log another")
    await ana.press("1")
    await ana.press("Housing")
    await ana.press("Event")
    assert await ana.press_data(older["message_id"], older_fix) == INACTIVE
    assert await ana.press_data(older["message_id"], older_fix.replace("fix", "del")) == INACTIVE
    assert [e.people for e in await entries(bot)] == [2, 1]


# ------------------------------------------------------------ who may log


async def test_a_pending_champion_or_a_stranger_is_refused_and_a_paused_one_may_log(
    bot: BotHarness, places: None
) -> None:
    stranger = bot.person(7009, "Sol")
    assert await stranger.send("/log") == ["You haven't joined yet. Send /start to join."]
    ana = bot.person(7010, "Ana")
    await join(ana)
    await set_status(bot, ana, Status.PENDING)
    assert await ana.send("/log") == ["Your request to join is waiting for a coordinator's approval."]
    assert await entries(bot) == []
    # Paused means no campaign messages for now: their conversations still count, as their reports do.
    await set_status(bot, ana, Status.PAUSED)
    assert await ana.send("/log") == [PEOPLE_QUESTION]
    await ana.press("1")
    await ana.press("Housing")
    await set_status(bot, ana, Status.STOPPED)  # mid-journey: the last tap is refused too
    assert await ana.press("Event") == ["You haven't joined yet. Send /start to join."]
    assert await entries(bot) == []


async def test_a_coordinator_may_log(bot: BotHarness, places: None) -> None:
    sam = bot.person(7011, "Sam")
    await make_coordinator(bot, sam)
    assert (await log_one(sam)).startswith("Logged: 2–5 people")


# ------------------------------------------------------------ the weekly reminder

FRIDAY_5PM = datetime(2027, 3, 5, 17, tzinfo=UTC)  # 17:00 London: after the 16:00 slot


async def nudges(bot: BotHarness) -> list[Delivery]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(Delivery).where(Delivery.kind == "log-nudge")))


async def test_the_weekly_reminder_is_turned_on_and_off_and_sent_once_a_week(
    bot: BotHarness, places: None
) -> None:
    ana, ben = bot.person(7012, "Ana"), bot.person(7013, "Ben")
    await join(ana)
    await join(ben)
    await log_one(ana)
    assert await ana.press("Remind me weekly") == ["Done. I will remind you to log once a week."]
    context = Context(bot.application)
    assert await log.queue_nudges(context, FRIDAY_5PM) == 1  # Ben did not ask
    assert await log.queue_nudges(context, FRIDAY_5PM + timedelta(hours=1)) == 0  # claimed already
    await bot.restart()
    context = Context(bot.application)
    assert await log.queue_nudges(context, FRIDAY_5PM + timedelta(days=1)) == 0  # a restart: still once
    before = len(ana.history)
    await bot.deliver(FRIDAY_5PM)
    (sent,) = [m for m in ana.history[before:] if m.get("from_bot")]
    assert sent["text"] == "Did you talk with people about health this week? Log it in three taps."
    assert [b["text"] for row in sent["reply_markup"]["inline_keyboard"] for b in row] == [
        "Log now",
        "Stop reminders",
    ]
    assert ben.history[-1]["text"] != sent["text"]
    # The next week's slot queues one more; Log now starts the journey; Stop turns it off.
    assert await log.queue_nudges(context, FRIDAY_5PM + timedelta(days=7)) == 1
    assert await ana.press("Log now") == [PEOPLE_QUESTION]
    assert await ana.press("Stop reminders") == ["Done. No more weekly reminders to log."]
    assert await log.queue_nudges(context, FRIDAY_5PM + timedelta(days=14)) == 0
    async with bot.sessions() as session:
        stored = await champions.by_telegram_id(session, ana.id)
    assert stored is not None and stored.log_nudge is False
    # A slot long gone (the bot was down for days) is not sent late.
    async with bot.sessions.begin() as session:
        await activity_logs.set_nudge(session, stored.id, True)
    assert await log.queue_nudges(context, FRIDAY_5PM + timedelta(days=23)) == 0
    assert len(await nudges(bot)) == 2


async def test_the_reminder_waits_for_quiet_hours_to_end_and_goes_only_to_the_active(
    bot: BotHarness, places: None
) -> None:
    ana, ben = bot.person(7014, "Ana"), bot.person(7015, "Ben")
    await join(ana)
    await join(ben)
    async with bot.sessions.begin() as session:
        for person in (ana, ben):
            champion = await champions.by_telegram_id(session, person.id)
            assert champion is not None
            champion.log_nudge = True
            if person is ben:  # quiet 16:00-20:00 London
                await champions.set_quiet_hours(session, champion.id, 16, 20)
    await set_status(bot, ana, Status.PAUSED)
    assert await log.queue_nudges(Context(bot.application), FRIDAY_5PM) == 1  # Ben only
    before = len(ben.history)
    await bot.deliver(FRIDAY_5PM)
    assert [m for m in ben.history[before:] if m.get("from_bot")] == []
    (held,) = await nudges(bot)
    assert held.state == "pending" and held.not_before == datetime(2027, 3, 5, 20, tzinfo=UTC)
    await bot.deliver(datetime(2027, 3, 5, 20, 1, tzinfo=UTC))
    assert ben.history[-1]["text"].startswith("Did you talk with people")


# ------------------------------------------------------------ /mydata, /deleteme, /stats


async def test_mydata_lists_the_entries_and_deleteme_erases_them(bot: BotHarness, places: None) -> None:
    ana, ben = bot.person(7016, "Ana"), bot.person(7017, "Ben")
    await join(ana)
    await join(ben)
    await log_one(ana)
    await ana.press("Remind me weekly")
    await log_one(ben)
    messages = await ana.send_raw("/mydata")
    data = json.loads(bot.emulator.files[messages[-1]["document"]["file_id"]].content)
    (logged,) = data["conversations_logged"]
    assert {k: logged[k] for k in ("people", "band", "topic", "setting", "area")} == {
        "people": 2,
        "band": "2-5",
        "topic": "vaccinations",
        "setting": "faith",
        "area": "Northfield",
    }
    assert data["reminded_weekly_to_log"] is True
    await ana.send("/deleteme")
    await ana.press("Yes, delete it all")
    async with bot.sessions() as session:
        owners = list(await session.scalars(select(ActivityLog.champion_id)))
        gone = await champions.by_telegram_id(session, ana.id)
        kept = await champions.by_telegram_id(session, ben.id)
    assert gone is None and kept is not None and owners == [kept.id]  # erased by cascade; Ben's kept


async def test_stats_and_the_overview_show_conversations_and_people_reached(
    bot: BotHarness, places: None
) -> None:
    ana, sam = bot.person(7018, "Ana"), bot.person(7019, "Sam")
    await join(ana)
    await make_coordinator(bot, sam)
    await log_one(ana, "26+")
    await ana.send("/log")
    await ana.press("Log another")
    await ana.press("Type a number")
    await ana.send("4")
    await ana.press("Housing")
    await ana.press("Event")
    async with bot.sessions.begin() as session:  # one from two months ago: not this month
        champion = await session.scalar(select(Champion).where(Champion.telegram_id == ana.id))
        assert champion is not None
        old = datetime.now(UTC) - timedelta(days=62)
        await activity_logs.record(
            session, champion, people=100, band=None, topic="housing", setting="door", now=old
        )
    said = await sam.send("/stats")
    line = "Conversations logged: 2 · people reached: 30"
    assert any(line in text.splitlines() for text in said), said
    (text,) = [text for text in said if line in text]
    by_setting = text.split(line, 1)[1].strip().splitlines()
    assert by_setting[:3] == [  # in the order /log offers the settings
        "People reached by setting:",
        "Faith group: 26 (1 conversation)",
        "Event: 4 (1 conversation)",
    ]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ActivityLog)) == 3
    # A champion cannot see them.
    assert await ana.send("/stats") == ["Sorry, only coordinators can do that."]


async def test_a_log_half_answered_survives_a_restart_and_another_journey_waits(
    bot: BotHarness, places: None
) -> None:
    ana = bot.person(7020, "Ana")
    await join(ana)
    await ana.send("/log")
    await ana.press("11–25")
    await bot.restart()
    assert await ana.send("/log") == ["Let's carry on with your log.", TOPIC_QUESTION]
    await ana.press("Maternity")
    assert await ana.send("/report") == [
        "You are in the middle of something else. Finish it, or send /cancel, then /report."
    ]
    await ana.press("Event")
    (saved,) = await entries(bot)
    assert (saved.people, saved.band, saved.topic) == (11, "11-25", "maternity")
    await ana.send("/deleteme")  # waiting for that answer, /log says so
    assert await ana.send("/log") == [
        "You are in the middle of something else. Finish it, or send /cancel, then /log."
    ]
