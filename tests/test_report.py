"""Reporting what one heard (/report) and following it (/myreports): the whole path in English and
Arabic, text, voice and photo, Back and Cancel, a restart mid-report, bad input, old buttons, the
main menu, and the reports in /mydata and /deleteme."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from sqlalchemy import func, select
from telegram import Message, Update

from bot.context import Context
from bot.emulator import split_like_clients
from bot.i18n import translator
from handlers import report
from handlers.gate import check_step, identify
from storage import champions, conversation, directory, reports
from storage.models import Area, Report, ReportReply
from tests.conftest import REPLY_TIMEOUT, BotHarness, Person, join, send_report, texts

HEARD = "Neighbours think the flu jab gives you flu, so they skip it."
TOPIC_QUESTION = "What is it about? Choose a topic, or send /cancel."
KIND_QUESTION = "What kind of thing did you hear?"
HEARD_QUESTION = "What did you hear? Type it, or send a voice note or a photo."
PEOPLE_QUESTION = "How many people does it concern?"
AREA_QUESTION = "Which area is it about?"
NAME_QUESTION = (
    "Share your name with the coordinators? They would see it was you and could ask you more. "
    "Anonymous reports never show who sent them."
)
CHOOSE = "Please choose one of the buttons."
INACTIVE = ["This button is no longer active."]
THANKS = (
    "Thank you! Your report is saved as {reference}. A coordinator will look at it; "
    "you can follow it with /myreports."
)


async def stored(bot: BotHarness) -> list[Report]:
    """Every report in the database, oldest first."""
    async with bot.sessions() as session:
        return list(await session.scalars(select(Report).order_by(Report.id)))


async def step_of(bot: BotHarness, person: Person) -> str | None:
    async with bot.sessions() as session:
        state = await conversation.get_state(session, person.id)
    return state.step if state else None


async def wait(person: Person, update_id: int, chat_id: int | None = None) -> list[str]:
    """Wait until the bot has handled an update; return what it said in the chat meanwhile."""
    history = person.bot.emulator.history(chat_id or person.id)
    before = len(history)
    await asyncio.wait_for(person.bot.processor.done[update_id].wait(), REPLY_TIMEOUT)
    return texts([m for m in history[before:] if m.get("from_bot")])


async def send_photo(person: Person, caption: str | None = None) -> list[str]:
    history = person.history
    before = len(history) + 1  # the photo itself
    await asyncio.wait_for(
        person.bot.processor.done[person.bot.emulator.send_photo(person.id, caption)].wait(), REPLY_TIMEOUT
    )
    return texts([m for m in history[before:] if m.get("from_bot")])


async def send_voice(person: Person) -> list[str]:
    history = person.history
    before = len(history) + 1
    await asyncio.wait_for(
        person.bot.processor.done[person.bot.emulator.send_voice(person.id)].wait(), REPLY_TIMEOUT
    )
    return texts([m for m in history[before:] if m.get("from_bot")])


async def send_sticker(bot: BotHarness, person: Person) -> list[str]:
    """Send a sticker through the whole application (the emulator's people cannot send one)."""
    before = len(person.history)
    message = {
        "message_id": 9000 + before,
        "date": int(time.time()),
        "chat": {"id": person.id, "type": "private"},
        "from": {"id": person.id, "is_bot": False, "first_name": person.name},
        "sticker": {
            "file_id": "sticker-1",
            "file_unique_id": "sticker-1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    }
    await bot.application.process_update(
        Update.de_json({"update_id": 1, "message": message}, bot.application.bot)
    )
    return texts([m for m in person.history[before:] if m.get("from_bot")])


async def up_to_heard(person: Person) -> None:
    """Start a report and answer up to "what did you hear"."""
    await person.send("/report")
    await person.press("Vaccinations")
    await person.press("Misinformation heard")


# ------------------------------------------------------------ whole path


async def test_a_champion_reports_what_they_heard(bot: BotHarness, places: None) -> None:
    ana = bot.person(5001, "Ana")
    await join(ana)
    assert await ana.send("/report") == [TOPIC_QUESTION]
    assert ana.buttons() == [
        "Vaccinations",
        "Cancer screening",
        "Mental health",
        "GP access",
        "Maternity",
        "Long-term conditions",
        "Cost of living",
        "Housing",
        "Other",
        "Cancel",
    ]
    assert await ana.press("Vaccinations") == [KIND_QUESTION]
    assert ana.buttons() == [
        "A barrier",
        "What works",
        "A question or concern",
        "Misinformation heard",
        "An idea",
        "A success story",
        "Back",
        "Cancel",
    ]
    assert await ana.press("Misinformation heard") == [HEARD_QUESTION]
    assert ana.buttons() == ["Back", "Cancel"]
    assert await ana.send("   ") == ["That was empty. Please tell us what you heard in a few words."]
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]
    assert ana.buttons() == ["One person", "A few people", "Many people", "Back", "Cancel"]
    assert await ana.press("Many people") == [AREA_QUESTION]
    assert ana.buttons() == ["Mine: Northfield", "Riverside", "Not area-specific", "Back", "Cancel"]
    assert await ana.press("Mine: Northfield") == [NAME_QUESTION]
    assert ana.buttons() == ["Share my name", "Stay anonymous", "Back", "Cancel"]
    assert await ana.press("Stay anonymous") == [
        "Please check your report:\n\n"
        "Topic: Vaccinations\n"
        "Kind: Misinformation heard\n"
        f"What was heard: {HEARD}\n"
        "How many people: Many people\n"
        "Area: Northfield\n"
        "Anonymous: the coordinators will not see your name."
    ]
    assert ana.buttons() == ["Confirm", "Back", "Cancel"]
    review, _data = ana.find_button("Confirm")
    (thanks,) = await ana.press("Confirm")
    (saved,) = await stored(bot)
    assert thanks == THANKS.format(reference=reports.reference(saved.id))
    assert (saved.topic, saved.kind, saved.text, saved.people) == ("vaccinations", "misinfo", HEARD, "many")
    assert saved.area is not None and saved.area.name == "Northfield"
    assert saved.anonymous is True and saved.status == "new" and saved.language == "en"
    assert saved.media_kind is None and saved.media_file_id is None
    assert await step_of(bot, ana) is None
    # Confirm pressed again on the old review, and a topic button from this report: nothing happens.
    assert await ana.press_data(review["message_id"], "rep:ok") == INACTIVE
    assert await ana.press_data(review["message_id"], "rep:t:housing") == INACTIVE
    assert len(await stored(bot)) == 1


async def test_an_arabic_speaker_reports_with_a_voice_note(bot: BotHarness, places: None) -> None:
    ar = translator("ar")
    _ = ar.gettext
    layla = bot.person(5002, "ليلى", "ar")
    await join(layla, "العربية")
    assert await layla.send("/report") == [_(TOPIC_QUESTION)]
    assert await layla.press(bot.application.bot_data.topics[0].label("ar")) == [_(KIND_QUESTION)]
    assert await layla.press(_("A barrier")) == [_(HEARD_QUESTION)]
    assert await send_voice(layla) == [_(PEOPLE_QUESTION)]
    assert await layla.press(_("One person")) == [_(AREA_QUESTION)]
    assert layla.buttons()[0] == _("Mine: {area}").format(area="Northfield")
    assert await layla.press("Riverside") == [_(NAME_QUESTION)]
    (review,) = await layla.press(_("Share my name"))
    assert review.startswith(_("Please check your report:"))
    assert _("What was heard: {text}").format(text=_("[voice note]")) in review.splitlines()
    assert _("From: {name}").format(name="ليلى") in review.splitlines()
    assert _("Area: {area}").format(area="Riverside") in review.splitlines()
    (thanks,) = await layla.press(_("Confirm"))
    (saved,) = await stored(bot)
    reference = reports.reference(saved.id)
    assert thanks == _(THANKS).format(reference=reference)
    # The reference is isolated, so it cannot flip the Arabic sentence around it.
    assert f"\u2068{reference}\u2069" in layla.history[-1]["text"]
    assert (saved.media_kind, saved.media_file_id, saved.text) == ("voice", "voice-1", None)
    assert saved.anonymous is False and saved.language == "ar"
    assert saved.area is not None and saved.area.name == "Riverside"


async def test_a_photo_with_a_caption_is_a_report(bot: BotHarness, places: None) -> None:
    ana = bot.person(5003, "Ana")
    await join(ana)
    await up_to_heard(ana)
    assert await send_photo(ana, "Leaflet found at the bus stop") == [PEOPLE_QUESTION]
    await ana.press("A few people")
    await ana.press("Not area-specific")
    (review,) = await ana.press("Stay anonymous")
    assert "What was heard: [photo] Leaflet found at the bus stop" in review.splitlines()
    assert "Area: not given" in review.splitlines()
    await ana.press("Confirm")
    (saved,) = await stored(bot)
    assert (saved.media_kind, saved.media_file_id) == ("photo", "photo-1")
    assert saved.text == "Leaflet found at the bus stop" and saved.area_id is None


def test_the_largest_photo_size_is_kept() -> None:
    sizes = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 960},
        {"file_id": "medium", "file_unique_id": "m", "width": 320, "height": 240},
    ]
    message = Message.de_json(
        {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "photo": sizes}, None
    )
    assert message is not None and report.heard_media(message) == ("photo", "large")


# --------------------------------------------------- Back, Cancel, restart


async def test_back_at_each_step_keeps_the_answers(bot: BotHarness, places: None) -> None:
    ana = bot.person(5004, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    await ana.press("One person")
    await ana.press("Riverside")
    await ana.press("Share my name")
    assert await ana.press("Back") == [NAME_QUESTION]
    assert ana.buttons()[:2] == ["✓ Share my name", "Stay anonymous"]
    assert await ana.press("Back") == [AREA_QUESTION]
    assert "✓ Riverside" in ana.buttons()
    assert await ana.press("Back") == [PEOPLE_QUESTION]
    assert ana.buttons()[0] == "✓ One person"
    assert await ana.press("Back") == [HEARD_QUESTION]
    assert ana.buttons() == ["Keep what I sent", "Back", "Cancel"]
    assert await ana.press("Back") == [KIND_QUESTION]
    assert "✓ Misinformation heard" in ana.buttons()
    assert await ana.press("Back") == [TOPIC_QUESTION]
    assert ana.buttons()[0] == "✓ Vaccinations"
    # Change the topic and how many people; keep everything else.
    await ana.press("GP access")
    await ana.press("Misinformation heard")
    assert await ana.press("Keep what I sent") == [PEOPLE_QUESTION]
    await ana.press("Many people")
    await ana.press("Riverside")
    (review,) = await ana.press("Share my name")
    assert review.splitlines()[2:] == [
        "Topic: GP access",
        "Kind: Misinformation heard",
        f"What was heard: {HEARD}",
        "How many people: Many people",
        "Area: Riverside",
        "From: Ana",
    ]
    await ana.press("Confirm")
    (saved,) = await stored(bot)
    assert (saved.topic, saved.text, saved.people, saved.anonymous) == ("gp-access", HEARD, "many", False)


async def test_cancel_at_a_step_saves_nothing(bot: BotHarness, places: None) -> None:
    ana = bot.person(5005, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    message, _data = ana.find_button("Many people")
    assert await ana.send("/cancel") == ["Cancelled. Send /help to see what you can do."]
    assert await step_of(bot, ana) is None
    assert await ana.press_data(message["message_id"], "rep:p:many") == INACTIVE
    assert await ana.send("more text") == [
        "Sorry, I didn't understand that. Send /help to see what I can do."
    ]
    await up_to_heard(ana)
    assert await ana.press("Cancel") == ["Report cancelled. Nothing was saved."]
    assert await step_of(bot, ana) is None
    assert await stored(bot) == []


async def test_a_half_written_report_survives_a_restart(bot: BotHarness, places: None) -> None:
    ana = bot.person(5006, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    await bot.restart()
    assert await ana.send("/report") == ["Let's carry on with your report.", PEOPLE_QUESTION]
    await ana.press("A few people")
    await ana.press("Mine: Northfield")
    await ana.press("Stay anonymous")
    await ana.press("Confirm")
    (saved,) = await stored(bot)
    assert (saved.topic, saved.kind, saved.text, saved.people) == ("vaccinations", "misinfo", HEARD, "few")


async def test_anonymous_and_named_reports_are_stored_as_chosen(bot: BotHarness, places: None) -> None:
    ana = bot.person(5007, "Ana")
    await join(ana)
    first = await send_report(ana, anonymous=True)
    second = await send_report(ana, "The new clinic hours work well.", kind="works", anonymous=False)
    assert first != second
    anonymous, named = await stored(bot)
    assert reports.reference(anonymous.id) == first and anonymous.anonymous is True
    assert reports.reference(named.id) == second and named.anonymous is False and named.kind == "works"


# --------------------------------------------------------------- bad input


async def test_bad_input_while_reporting(bot: BotHarness, places: None) -> None:
    ana = bot.person(5008, "Ana")
    await join(ana)
    await up_to_heard(ana)
    assert await ana.send("x" * 4097) == ["That is too long. Please keep it to at most 4,000 characters."]
    assert await ana.send("x" * 4001) == ["That is too long. Please keep it to at most 4,000 characters."]
    assert await send_sticker(bot, ana) == [
        "I can take what you heard as text, a voice note or a photo.",
        HEARD_QUESTION,
    ]
    assert await step_of(bot, ana) == report.HEARD
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]
    # Text, a photo or a voice note where a button is expected: ask again, nothing lost.
    assert await ana.send("lots") == [CHOOSE, PEOPLE_QUESTION]
    assert await send_photo(ana) == [CHOOSE, PEOPLE_QUESTION]
    assert await send_voice(ana) == [CHOOSE, PEOPLE_QUESTION]
    assert await step_of(bot, ana) == report.PEOPLE
    # A forged or out-of-step button.
    message, _data = ana.find_button("Many people")
    assert await ana.press_data(message["message_id"], "rep:p:lots") == INACTIVE
    assert await ana.press_data(message["message_id"], "rep:k:idea") == INACTIVE
    assert await ana.press_data(message["message_id"], "rep:a:999999") == INACTIVE
    await ana.press("Many people")
    assert await ana.press_data(message["message_id"], "rep:a:999999") == INACTIVE
    await ana.press("Riverside")
    await ana.press("Stay anonymous")
    await ana.press("Confirm")
    (saved,) = await stored(bot)
    assert saved.text == HEARD and saved.people == "many"


async def test_a_voice_note_in_a_group_is_ignored(bot: BotHarness, places: None) -> None:
    ana = bot.person(5009, "Ana")
    await join(ana)
    await up_to_heard(ana)
    group = bot.emulator.add_group(-5009, "Champions chat")
    update_id = bot.emulator.send_voice(ana.id, chat_id=group.id)
    assert await wait(ana, update_id, group.id) == []
    assert not any(m.get("from_bot") for m in bot.emulator.history(group.id))
    assert await step_of(bot, ana) == report.HEARD
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]


async def test_confirm_on_two_workers_stores_one_report(bot: BotHarness, places: None) -> None:
    ana = bot.person(5010, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    await ana.press("One person")
    await ana.press("Riverside")
    await ana.press("Stay anonymous")
    message, data = ana.find_button("Confirm")
    query = {
        "id": "5010:race",
        "from": {"id": ana.id, "is_bot": False, "first_name": "Ana"},
        "chat_instance": "5010",
        "data": data,
        "message": {
            "message_id": message["message_id"],
            "date": 0,
            "chat": {"id": ana.id, "type": "private"},
        },
    }
    update = Update.de_json({"update_id": 1, "callback_query": query}, bot.application.bot)
    # Both workers loaded the chat while it was still on the review step.
    first = Context.from_update(update, bot.application)
    second = Context.from_update(update, bot.application)
    for context in (first, second):
        await identify(update, context)
        await check_step(update, context)
    for context in (first, second):
        await report.button(update, context)
        await context.settle()
    assert len(await stored(bot)) == 1
    assert sum(THANKS.split("{")[0] in text for text in texts(ana.history)) == 1


async def test_report_from_another_flow(bot: BotHarness, places: None) -> None:
    ana = bot.person(5011, "Ana")
    # Mid-join: not a member yet, so refused, and joining carries on.
    await ana.send("/start")
    await ana.press("English")
    await ana.press("Yes, I agree")
    await ana.press("No")
    assert await ana.send("/report") == ["You haven't joined yet. Send /start to join."]
    assert await ana.send("Ana") == ["Which area do you mostly work in?"]
    await ana.press("Northfield")
    await ana.press("Done")
    # Waiting for an answer to /deleteme: finish that first.
    await ana.send("/deleteme")
    assert await ana.send("/report") == [
        "You are in the middle of something else. Finish it, or send /cancel, then /report."
    ]
    assert await ana.press("No, keep it") == ["Nothing was deleted."]
    # Mid-quiz: the quiz keeps no step, so the report starts and the quiz can still be answered.
    await ana.send("/learn")
    await ana.press("Where to get help · 0/2")
    while ana.buttons()[0] == "More":  # the snippet's screens, to its last
        await ana.press("More")
    await ana.press("Quiz")
    assert await ana.send("/report") == [TOPIC_QUESTION]
    (feedback,) = await ana.press("Call 111")
    assert feedback.startswith(("✅", "❌"))
    assert await ana.press("Vaccinations") == [KIND_QUESTION]


async def test_only_members_report_and_paused_ones_can(bot: BotHarness, places: None) -> None:
    bo = bot.person(5012, "Bo")
    assert await bo.send("/report") == ["You haven't joined yet. Send /start to join."]
    assert await bo.send("/myreports") == ["You haven't joined yet. Send /start to join."]
    ana = bot.person(5013, "Ana")
    await join(ana)
    await ana.send("/pause")
    assert await send_report(ana)
    assert len(await stored(bot)) == 1


# -------------------------------------------------------- menu, /myreports


async def test_main_menu_after_joining_and_on_start(bot: BotHarness, places: None) -> None:
    ana = bot.person(5014, "Ana")
    await join(ana)
    assert ana.buttons() == ["Report what I heard", "Learn", "My reports"]
    assert await ana.press("My reports") == [
        "You have not sent any reports yet. Send /report to tell us what you heard."
    ]
    welcome, help_text = await ana.send("/start")
    assert welcome == "Welcome back, Ana!"
    assert "/report – tell us what you heard in your community" in help_text.splitlines()
    assert "/myreports – your reports and the answers" in help_text.splitlines()
    assert ana.buttons() == ["Report what I heard", "Learn", "My reports"]
    assert await ana.press("Report what I heard") == [TOPIC_QUESTION]
    await ana.send("/start")
    assert await ana.press("Learn") == ["Choose a topic to learn about."]


async def test_myreports_pages_newest_first_with_replies(bot: BotHarness, places: None) -> None:
    ana = bot.person(5015, "Ana")
    await join(ana)
    async with bot.sessions.begin() as session:
        champion = await champions.by_telegram_id(session, ana.id)
        assert champion is not None
        made = [
            await reports.create(
                session,
                champion,
                reports.Draft(topic="housing", kind="barrier", people="one", text=f"Damp {n}"),
            )
            for n in range(1, 7)
        ]
        await reports.create(
            session,
            champion,
            reports.Draft(topic="other", kind="idea", people="few", media_kind="voice", media_file_id="v"),
        )
        await reports.reply(session, [made[0].id], "We asked the council to inspect the flats.", None, False)
    refs = [reports.reference(r.id) for r in made]
    (page,) = await ana.send("/myreports")
    blocks = page.split("\n\n")
    assert blocks[0] == "Showing 1–5 of 7 reports, newest first."
    assert blocks[1].splitlines()[1:] == ["Other · An idea", "Status: new", "[voice note]"]
    assert [block.split(" · ")[0] for block in blocks[2:]] == refs[5:1:-1]
    assert blocks[2].splitlines()[1:] == ["Housing · A barrier", "Status: new", "Damp 6"]
    assert ana.buttons() == ["Older"]
    (page,) = await ana.press("Older")
    blocks = page.split("\n\n")
    assert blocks[0] == "Showing 6–7 of 7 reports, newest first."
    assert [block.split(" · ")[0] for block in blocks[1:]] == [refs[1], refs[0]]
    assert blocks[2].splitlines()[1:] == [
        "Housing · A barrier",
        "Status: acted on",
        "Damp 1",
        "Reply: We asked the council to inspect the flats.",
    ]
    assert ana.buttons() == ["Newer"]
    (page,) = await ana.press("Newer")
    assert page.startswith("Showing 1–5 of 7 reports")


async def test_myreports_in_urdu(bot: BotHarness, places: None) -> None:
    ur = translator("ur")
    bilal = bot.person(5016, "بلال", "ur")
    await join(bilal, "اردو")
    assert await bilal.send("/myreports") == [
        ur.gettext("You have not sent any reports yet. Send /report to tell us what you heard.")
    ]
    reference = await send_report(bilal, "کلینک بہت دور ہے", language="ur")
    (page,) = await bilal.send("/myreports")
    heading, block = page.split("\n\n")
    assert heading == ur.gettext("Your report:")
    assert block.splitlines()[0].startswith(reference)
    assert block.splitlines()[2] == ur.gettext("Status: {status}").format(status=ur.gettext("new"))
    assert block.splitlines()[3] == "کلینک بہت دور ہے"


# ---------------------------------------------------------- rights


async def test_mydata_includes_reports_and_replies(bot: BotHarness, places: None) -> None:
    ana = bot.person(5017, "Ana")
    await join(ana)
    reference = await send_report(ana, HEARD, anonymous=False)
    async with bot.sessions.begin() as session:
        (saved,) = await session.scalars(select(Report))
        await reports.reply(session, [saved.id], "We ran a flu myths session.", None, False)
    messages = await ana.send_raw("/mydata")
    content = bot.emulator.files[messages[-1]["document"]["file_id"]].content
    (sent,) = json.loads(content)["reports"]
    assert sent["reference"] == reference and sent["text"] == HEARD and sent["anonymous"] is False
    assert (sent["topic"], sent["kind"], sent["people"], sent["area"]) == (
        "vaccinations",
        "barrier",
        "few",
        "Northfield",
    )
    assert sent["status"] == "acted"
    assert [reply["text"] for reply in sent["replies"]] == ["We ran a flu myths session."]


async def test_deleteme_removes_reports_and_replies(bot: BotHarness, places: None) -> None:
    ana = bot.person(5018, "Ana")
    await join(ana)
    await send_report(ana)
    await up_to_heard(ana)  # and one half-written
    async with bot.sessions.begin() as session:
        (saved,) = await session.scalars(select(Report))
        await reports.reply(session, [saved.id], "Thanks, noted.", None, False)
    await ana.send("/deleteme")
    await ana.press("Yes, delete it all")
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 0
        assert await session.scalar(select(func.count()).select_from(ReportReply)) == 0
        assert await session.scalar(select(func.count()).select_from(Area)) == 2  # areas stay
    assert await step_of(bot, ana) is None


# --------------------------------------------------------------- long pastes

PASTE = " ".join(f"Neighbours{n} say the clinic is too far." for n in range(125))  # 5,009 characters
TOO_LONG = ["That is too long. Please keep it to at most 4,000 characters."]


async def test_a_long_paste_is_refused_whole_once_and_the_step_kept(bot: BotHarness, places: None) -> None:
    """A client sends a 5,000-character paste as two messages: the step gets them joined, refuses
    them once, and no part of them is kept."""
    ana = bot.person(5040, "Ana")
    await join(ana)
    await up_to_heard(ana)
    assert len(split_like_clients(PASTE)) == 2
    assert await ana.send(PASTE) == TOO_LONG
    async with bot.sessions() as session:
        state = await conversation.get_state(session, ana.id)
    assert state is not None and state.step == report.HEARD
    assert state.data.get("text") is None and "paste" not in state.data
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]
    await ana.press("A few people")
    await ana.press(ana.buttons()[0])
    await ana.press("Stay anonymous")
    await ana.press("Confirm")
    assert [saved.text for saved in await stored(bot)] == [HEARD]


async def test_a_report_of_3990_characters_reaches_confirm_and_is_stored_whole(
    bot: BotHarness, places: None
) -> None:
    """Its review is longer than one message can be: the text comes first on its own, then the
    review with Confirm."""
    ana = bot.person(5041, "Ana")
    await join(ana)
    text = ("The clinic is too far to walk to. " * 120)[:3990]
    assert not text.endswith(" ")
    await send_report(ana, text)
    (saved,) = await stored(bot)
    assert saved.text == text
    said = [m.get("text", "") for m in ana.history if m.get("from_bot")]
    assert all(len(message) <= 4096 for message in said)
    assert any(text in message for message in said)


async def test_a_paste_held_across_a_restart_is_joined_and_nothing_partial_is_kept(
    bot: BotHarness, places: None
) -> None:
    """The bot restarts after the first part of a paste: the second, sent with it, still joins it."""
    ana = bot.person(5042, "Ana")
    await join(ana)
    await up_to_heard(ana)
    first, second = split_like_clients(PASTE)
    now = time.time()
    bot.emulator.clock = lambda: now  # both parts were sent at the same moment
    await bot.processed(bot.emulator.send(ana.id, first))
    await bot.restart()
    assert await wait(ana, bot.emulator.send(ana.id, second)) == TOO_LONG
    assert await step_of(bot, ana) == report.HEARD
    assert await stored(bot) == []


async def test_a_press_answered_too_late_still_moves_the_report_on(
    bot: BotHarness, places: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram refuses to answer a press after about 15 seconds (say the bot was slow, or the press
    reached two workers): the step goes on anyway, with no apology and no error logged."""
    ana = bot.person(5043, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    message, data = ana.find_button("One person")
    update_id = bot.emulator.press(ana.id, message["message_id"], data)
    bot.emulator.age_queries(16)  # before the bot answers it
    assert await wait(ana, update_id) == [AREA_QUESTION]
    assert await step_of(bot, ana) == report.AREA
    update_id = bot.emulator.press(ana.id, message["message_id"], data)  # now an old button
    bot.emulator.age_queries(16)
    assert await wait(ana, update_id) == []
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_part_that_comes_after_its_paste_was_handed_over_is_dropped(
    bot: BotHarness, places: None
) -> None:
    """The window passed before the second part came (say the bot was slow): the first went to the
    step alone and was refused; the second, sent with it, is not taken as the report."""
    ana = bot.person(5044, "Ana")
    await join(ana)
    await up_to_heard(ana)
    first, second = split_like_clients(PASTE)
    now = time.time()
    bot.emulator.clock = lambda: now
    assert await ana.send(first) == TOO_LONG  # handed over when the window passed
    assert await ana.send(second) == []
    assert await step_of(bot, ana) == report.HEARD
    now += 5  # and a while later, they send a short text
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]


async def test_a_message_after_something_else_ended_the_paste_is_not_taken_for_its_tail(
    bot: BotHarness, places: None
) -> None:
    """Only a paste's own next part can be dropped as its tail: once another message (here a
    sticker) has ended it, no part can follow, so a text in the same second is the person's own."""
    ana = bot.person(5045, "Ana")
    await join(ana)
    await up_to_heard(ana)
    now = time.time()
    bot.emulator.clock = lambda: now  # all within one second
    await bot.processed(bot.emulator.send(ana.id, "x" * 4001))  # may go on: held
    assert await send_sticker(bot, ana) == [
        *TOO_LONG,
        "I can take what you heard as text, a voice note or a photo.",
        HEARD_QUESTION,
    ]
    assert await ana.send(HEARD) == [PEOPLE_QUESTION]


# ------------------------------------------------------ echoes, paging, old states


def question(person: Person, text: str) -> dict[str, object]:
    """The newest bot message that asked this question (perhaps since edited)."""
    return next(m for m in reversed(person.history) if m.get("from_bot") and m["text"].startswith(text))


def echoed(message: dict[str, object]) -> tuple[str, bool]:
    """A question's text as it reads now (without isolates), and whether it still has buttons."""
    (text,) = texts([message])
    return text, bool(message.get("reply_markup"))


async def test_each_press_is_echoed_under_its_question(bot: BotHarness, places: None) -> None:
    ana = bot.person(5050, "Ana")
    await join(ana)
    await ana.send("/report")
    await ana.press("Vaccinations")
    assert echoed(question(ana, TOPIC_QUESTION)) == (f"{TOPIC_QUESTION}\n\n✓ Vaccinations", False)
    await ana.press("Misinformation heard")
    assert echoed(question(ana, KIND_QUESTION)) == (f"{KIND_QUESTION}\n\n✓ Misinformation heard", False)
    await ana.send(HEARD)
    await ana.press("A few people")
    assert echoed(question(ana, PEOPLE_QUESTION)) == (f"{PEOPLE_QUESTION}\n\n✓ A few people", False)
    await ana.press("Mine: Northfield")  # the area's name, not the button's wording
    assert echoed(question(ana, AREA_QUESTION)) == (f"{AREA_QUESTION}\n\n✓ Northfield", False)
    await ana.press("Back")
    assert echoed(question(ana, NAME_QUESTION)) == (f"{NAME_QUESTION}\n\n✓ Back", False)
    await ana.press("Not area-specific")
    assert echoed(question(ana, AREA_QUESTION)) == (f"{AREA_QUESTION}\n\n✓ Not area-specific", False)
    await ana.press("Share my name")
    assert echoed(question(ana, NAME_QUESTION)) == (f"{NAME_QUESTION}\n\n✓ Share my name", False)
    await ana.press("Cancel")
    text, has_buttons = echoed(question(ana, "Please check your report:"))
    assert text.endswith("\n\n✓ Cancel") and not has_buttons


async def test_more_areas_show_in_place_of_the_page(bot: BotHarness, places: None) -> None:
    async with bot.sessions.begin() as session:
        await directory.add_areas(session, [f"Ward {n:02d}" for n in range(1, 10)])  # 11 areas in all
    ana = bot.person(5051, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    await ana.press("One person")
    page, _data = ana.find_button("More")
    assert ana.buttons()[0] == "Mine: Northfield" and len(ana.buttons()) == report.AREA_PAGE + 3
    assert await ana.press("More") == []  # no new message: the page changed in place
    assert page["text"] == AREA_QUESTION
    assert ana.buttons() == [
        "Ward 06",
        "Ward 07",
        "Ward 08",
        "Ward 09",
        "Not area-specific",
        "Back",
        "Cancel",
    ]
    assert await ana.press("Ward 08") == [NAME_QUESTION]
    assert echoed(page) == (f"{AREA_QUESTION}\n\n✓ Ward 08", False)
    await ana.press("Back")
    assert "✓ Ward 08" in ana.buttons()  # the page with the answer given, asked again
    await ana.press("Ward 08")
    await ana.press("Stay anonymous")
    await ana.press("Confirm")
    (saved,) = await stored(bot)
    assert saved.area is not None and saved.area.name == "Ward 08"


async def test_a_step_stored_by_the_previous_release_is_ended_kindly(bot: BotHarness, places: None) -> None:
    """The previous release kept the answers as untyped JSON, without a version: a report half made
    then can't be trusted, so the champion is told to start again, whatever they send next."""
    sorry = (
        "Sorry, the bot was updated while you were in the middle of something, so it has to start "
        "again. Send /help to see what you can do."
    )
    ana = bot.person(5052, "Ana")
    await join(ana)
    await up_to_heard(ana)
    await ana.send(HEARD)
    message, data = ana.find_button("Many people")
    old = {
        "topic": "vaccinations",
        "kind": "misinfo",
        "text": HEARD,
        "media_kind": None,
        "media_file_id": None,
    }
    for sent in ("press", "text", "photo"):
        async with bot.sessions.begin() as session:
            await conversation.set_state(session, ana.id, report.PEOPLE, old)
        if sent == "press":
            assert await ana.press_data(message["message_id"], data) == [sorry]
        elif sent == "text":
            assert await ana.send("many") == [sorry]  # it answered the ended step: nothing follows
        else:
            assert await send_photo(ana) == [sorry]
        assert await step_of(bot, ana) is None
    assert await ana.send("/report") == [TOPIC_QUESTION]  # and a new report starts afresh
    assert await stored(bot) == []


@pytest.mark.bot_settings(paste_window_seconds=10)
async def test_a_press_right_after_a_held_text_sees_the_text_taken(bot: BotHarness, places: None) -> None:
    """A long text waits a moment for the rest of a paste; a press before then first hands it to its
    step, and then acts on the answers as they are now, the text among them."""
    ana = bot.person(5053, "Ana")
    await join(ana)
    await up_to_heard(ana)
    long_heard = ("The clinic is too far to walk to. " * 70)[:2300].rstrip()
    await bot.processed(bot.emulator.send(ana.id, long_heard))  # held: it may go on
    assert await step_of(bot, ana) == report.HEARD
    assert await ana.press("Back") == [PEOPLE_QUESTION, HEARD_QUESTION]
    assert ana.buttons() == ["Keep what I sent", "Back", "Cancel"]
    assert await ana.press("Keep what I sent") == [PEOPLE_QUESTION]
    await ana.press("One person")
    await ana.press("Riverside")
    await ana.press("Stay anonymous")
    await ana.press("Confirm")
    assert [saved.text for saved in await stored(bot)] == [long_heard]
