"""Broadcasts in the chat: the coordinator's /broadcast flow (with a photo or document too), the live
report, scheduling, answer-back buttons and reach, /campaigns, role checks and a restart mid-flow."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from telegram import Update

from bot.context import Context
from bot.emulator import StoredFile, split_like_clients
from bot.i18n import translator
from handlers.common import isolate
from handlers.compose import on_media
from handlers.gate import check_step, identify
from handlers.reach import reach_lines
from storage import broadcasts, champions, conversation, directory, outbox, reports
from storage.audience import Audience
from storage.models import (
    Area,
    Broadcast,
    Campaign,
    Champion,
    ConversationState,
    Delivery,
    Report,
    Response,
    utcnow,
)
from tests.conftest import REPLY_TIMEOUT, BotHarness, Person, join, make_coordinator, texts

EN = "Free flu jabs at Northfield library this Saturday, 10:00 to 14:00."
PL = "Bezpłatne szczepienia przeciw grypie w bibliotece Northfield w sobotę, 10:00–14:00."
ONLY = ["Sorry, only coordinators can do that."]
INACTIVE = ["This button is no longer active."]
PREVIEW = ["This is only a preview."]
URGENT = "Urgent · ignores quiet hours"  # the label, and its note (a list row's description on WhatsApp)
LANGUAGES_QUESTION = "Add a version in another language? Anyone without one gets the English text."
NO_CAPTION = ["Please send it again with a caption: the caption is the message in English."]
STARTED_AGAIN = (
    "Sorry, the bot was updated while you were in the middle of something, so it has to start again. "
    "Send /help to see what you can do."
)
CAPTION_TOO_LONG = [
    "With a photo or document, each text can have at most 1,024 characters. Please shorten it."
]


async def pair(bot: BotHarness, first_id: int) -> tuple[Person, Person]:
    """A coordinator and one English-speaking champion in Northfield."""
    sam = bot.person(first_id, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(first_id + 1, "Ana")
    await join(ana)
    return sam, ana


async def team(bot: BotHarness, first_id: int) -> tuple[Person, Person, Person, Person]:
    """A coordinator and three champions in Northfield: English, Polish and Somali."""
    sam, ana = await pair(bot, first_id)
    kasia = bot.person(first_id + 2, "Kasia", "pl")
    await join(kasia, language="Polski")
    abdi = bot.person(first_id + 3, "Abdi", "so")
    await join(abdi, language="Soomaali")
    return sam, ana, kasia, abdi


async def deliver(bot: BotHarness) -> None:
    """Queue what is due, as the scheduler does, and let a delivery worker send all of it."""
    async with bot.sessions.begin() as session:
        await broadcasts.queue_due(session, utcnow(), timedelta(hours=1))
    await bot.deliver()


async def latest_broadcast(bot: BotHarness) -> Broadcast:
    async with bot.sessions() as session:
        found = await session.scalar(select(Broadcast).order_by(Broadcast.id.desc()).limit(1))
    assert found is not None
    return found


async def count_broadcasts(bot: BotHarness) -> int:
    async with bot.sessions() as session:
        return len(list(await session.scalars(select(Broadcast.id))))


async def send_photo(person: Person, caption: str | None = None) -> list[str]:
    """Send a photo, with a caption if given, and return what the bot answered."""
    before = len(person.history)
    update_id = person.bot.emulator.send_photo(person.id, caption)
    await asyncio.wait_for(person.bot.processor.done[update_id].wait(), REPLY_TIMEOUT)
    return texts([m for m in person.history[before + 1 :] if m.get("from_bot")])


async def send_document(bot: BotHarness, person: Person, file_id: str, caption: str) -> list[str]:
    """Hand a document straight to the broadcast flow, after the loading step (the emulator's
    people cannot send documents), and return what the bot answered."""
    before = len(person.history)
    sender = {"id": person.id, "is_bot": False, "first_name": person.name}
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": person.id, "type": "private"},
        "from": sender,
        "document": {"file_id": file_id, "file_unique_id": file_id, "file_name": "leaflet.pdf"},
        "caption": caption,
    }
    update = Update.de_json({"update_id": 1, "message": message}, bot.application.bot)
    context = Context.from_update(update, bot.application)
    await identify(update, context)
    await check_step(update, context)
    await on_media(update, context)
    await context.settle()
    return texts(person.history[before:])


def labels(message: dict[str, object]) -> list[str]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


async def test_a_coordinator_broadcasts_in_two_languages_and_sees_the_report(
    bot: BotHarness, places: None
) -> None:
    sam, ana, kasia, abdi = await team(bot, 1001)
    assert await sam.send("/broadcast") == ["Send the message in English."]
    assert await sam.send("   ") == ["The message is empty. Please send some text."]
    now = time.time()
    bot.emulator.clock = lambda: now
    assert await sam.send("x" * 4001) == ["That is too long. Please keep it to at most 4,000 characters."]
    now += 5  # they read the answer before writing again (sooner would be taken for a late part)
    assert await sam.send(EN) == ["Who should get it?"]
    assert sam.buttons() == ["Everyone · 3", "An area", "A network", "A language", "A role", "Cancel"]
    assert await sam.press("An area") == ["Which area?"]
    assert sam.buttons() == ["Northfield · 3", "Riverside · 0", "Back"]
    assert await sam.press("Riverside · 0") == [
        "Nobody in that audience can get messages right now. Choose another.",
        "Which area?",
    ]
    assert await sam.press("Northfield · 3") == ["That is 3 champions."]
    assert sam.buttons() == ["Continue", "Save this audience", "Choose again"]
    assert await sam.press("Continue") == [LANGUAGES_QUESTION]
    assert sam.buttons() == ["Polski · 1", "Soomaali · 1", "Done"]
    assert await sam.press("Polski · 1") == ["Send the Polski version."]
    assert await sam.send(" \n ") == ["The message is empty. Please send some text."]
    assert await sam.send(PL) == [LANGUAGES_QUESTION]
    assert sam.buttons() == ["✓ Polski · 1", "Soomaali · 1", "Done"]
    assert await sam.send("Hello?") == ["Please choose one of the buttons.", LANGUAGES_QUESTION]

    assert await sam.press("Done") == [
        "Preview for English (1 person):",
        EN,
        "Preview for Polski (1 person):",
        PL,
        "Preview for Soomaali (1 person), who will get the English text:",
        EN,
        "Send it now, or schedule it for later?",
    ]
    so = translator("so")
    somali_preview = [m for m in sam.history if m.get("text") == EN][-1]
    assert labels(somali_preview) == [
        so.gettext(label) for label in ("Shared it", "A question", "Concern heard")
    ]
    # The preview's answer-back buttons are there to see, and only say so.
    assert await sam.press_data(somali_preview["message_id"], "answer:0:shared") == PREVIEW

    assert await sam.press("Send now") == ["Send to 3 champions now?"]
    assert sam.buttons() == ["Confirm", URGENT, "Answer buttons: on", "Cancel"]
    assert await sam.press(URGENT) == []
    assert sam.buttons() == ["Confirm", f"✓ {URGENT}", "Answer buttons: on", "Cancel"]
    await sam.press(URGENT)
    assert sam.buttons()[1] == URGENT
    confirm_message, _data = sam.find_button("Confirm")
    assert await sam.press("Confirm") == ["Sending to 3 champions: 0 sent, 3 pending, 0 failed, 0 blocked."]
    report = sam.history[-1]
    # Confirm pressed again (an old copy of the button): no second broadcast.
    assert await sam.press_data(confirm_message["message_id"], "bc:ok") == INACTIVE

    broadcast = await latest_broadcast(bot)
    async with bot.sessions() as session:
        coordinator = await champions.by_telegram_id(session, sam.id)
        northfield = await session.scalar(select(Area.id).where(Area.name == "Northfield"))
    assert coordinator and await count_broadcasts(bot) == 1
    assert broadcast.texts == {"en": EN, "pl": PL}
    assert broadcast.created_by == coordinator.id and broadcast.status == "sending"
    assert broadcast.audience["areas"] == [northfield] and broadcast.urgent is False

    await deliver(bot)
    pl = translator("pl")
    assert ana.history[-1]["text"] == EN and labels(ana.history[-1]) == [
        "Shared it",
        "A question",
        "Concern heard",
    ]
    assert kasia.history[-1]["text"] == PL
    assert labels(kasia.history[-1]) == [
        pl.gettext(label) for label in ("Shared it", "A question", "Concern heard")
    ]
    assert abdi.history[-1]["text"] == EN

    await run_report_job(bot)
    assert report["text"] == "Finished sending to 3 champions: 3 sent, 0 failed, 0 blocked."
    assert await sam.send("Hello") == ["Sorry, I didn't understand that. Send /help to see what I can do."]


async def test_scheduling_in_the_coordinators_time_zone(bot: BotHarness, places: None) -> None:
    sam = bot.person(1101, "Sam")
    await make_coordinator(bot, sam)
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Champion).where(Champion.telegram_id == sam.id).values(timezone="Asia/Karachi")
        )
    ana = bot.person(1102, "Ana")
    await join(ana)
    await sam.send("/broadcast")
    await sam.send(EN)
    assert await sam.press("Everyone · 1") == ["That is 1 champion."]
    assert await sam.press("Continue") == [
        "Everyone in this audience reads English.",
        "Preview for English (1 person):",
        EN,
        "Send it now, or schedule it for later?",
    ]
    (question,) = await sam.press("Schedule")
    assert question.startswith("When should it go out? Choose a time, or type one like ")
    assert question.endswith("Times are in your time zone, Asia/Karachi.")
    (refused,) = await sam.send("Saturday week, perhaps")
    assert refused.startswith("I couldn't read that as a date and time. Please type it like ")
    past = datetime(2020, 1, 1, 5, tzinfo=UTC)
    assert await sam.send("2020-01-01 10:00") == [
        f"That time, {translator('en').datetime(past, 'Asia/Karachi')} (Asia/Karachi), has already "
        "passed. Please give a time in the future, like “in 2 hours” or “tomorrow 10am”."
    ]
    year = utcnow().year
    assert await sam.send(f"{year + 3}-01-01 10:00") == ["Please choose a time within the next year."]
    when = utcnow() + timedelta(days=30)
    typed = when.astimezone(ZoneInfo("Asia/Karachi")).strftime("%Y-%m-%d %H:%M")
    expected = datetime.strptime(typed, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) - timedelta(hours=5)  # UTC+5
    date = f"{translator('en').datetime(expected, 'Asia/Karachi')} (Asia/Karachi)"
    assert await sam.send(typed) == [f"Send to 1 champion on {date}?"]
    assert await sam.press("Confirm") == [f"Scheduled: it will go to 1 champion on {date}."]
    broadcast = await latest_broadcast(bot)
    assert broadcast.status == "scheduled" and broadcast.send_at == expected
    async with bot.sessions.begin() as session:  # not due yet
        assert await broadcasts.queue_due(session, utcnow(), timedelta(hours=1)) == ([], [])


async def test_champions_cannot_broadcast_or_replay_coordinator_buttons(
    bot: BotHarness, places: None
) -> None:
    sam, ana = await pair(bot, 1201)
    assert await ana.send("/broadcast") == ONLY
    assert await ana.send("/campaigns") == ONLY
    last = ana.history[-1]["message_id"]
    assert await ana.press_data(last, "bc:all") == ONLY
    assert await ana.press_data(last, "bc:ok") == ONLY
    assert await ana.press_data(last, "camp:1:cancel") == ONLY
    # A coordinator who loses the role mid-flow is refused at the next step, and the draft goes.
    await sam.send("/broadcast")
    await sam.send(EN)
    async with bot.sessions.begin() as session:
        await champions.remove_coordinator(session, sam.id)
    assert await sam.press("Everyone · 1") == ONLY
    assert await sam.send("More text") == ONLY
    assert await sam.send("More text") == [
        "Sorry, I didn't understand that. Send /help to see what I can do."
    ]
    assert await count_broadcasts(bot) == 0


async def test_leaving_the_flow_and_stale_buttons(bot: BotHarness, places: None) -> None:
    sam, _ana = await pair(bot, 1301)
    await sam.send("/broadcast")
    await sam.send(EN)
    everyone, data = sam.find_button("Everyone · 1")
    assert await sam.send("/cancel") == ["Cancelled. Send /help to see what you can do."]
    assert await sam.send("Hello") == ["Sorry, I didn't understand that. Send /help to see what I can do."]
    assert await sam.press_data(everyone["message_id"], data) == INACTIVE
    await sam.send("/broadcast")
    await sam.send(EN)
    assert await sam.press_data(everyone["message_id"], "bc:lg:xx") == INACTIVE  # forged language
    assert await sam.press_data(everyone["message_id"], "bc:ar:99999") == INACTIVE  # no such area
    assert await sam.press_data(everyone["message_id"], "bc:now") == INACTIVE  # not this step
    assert await sam.press("Cancel") == ["Cancelled. Nothing was sent."]
    assert await count_broadcasts(bot) == 0


async def test_audiences_by_network_language_role_saved_and_long_lists(bot: BotHarness, places: None) -> None:
    async with bot.sessions.begin() as session:
        await directory.add_areas(session, [f"Ward {n:02d}" for n in range(1, 10)])
    sam = bot.person(1401, "Sam")
    await make_coordinator(bot, sam)
    ana = bot.person(1402, "Ana")
    await join(ana, networks=("Youth clubs",))
    kasia = bot.person(1403, "Kasia", "pl")
    await join(kasia, language="Polski")
    await sam.send("/broadcast")
    await sam.send(EN)
    assert await sam.press("An area") == ["Which area?"]
    assert len(sam.buttons()) == 10
    assert sam.buttons()[:2] == ["Northfield · 2", "Riverside · 0"] and sam.buttons()[-2:] == ["More", "Back"]
    assert await sam.press("More") == []  # the next page, in place of this one
    assert sam.buttons() == ["Ward 07 · 0", "Ward 08 · 0", "Ward 09 · 0", "Back"]
    await sam.press("Back")
    assert await sam.press("A network") == ["Which network?"]
    assert sam.buttons() == ["Faith groups · 0", "Youth clubs · 1", "Back"]
    await sam.press("Back")
    await sam.press("A role")
    assert sam.buttons() == ["Champions · 2", "Coordinators · 0", "Back"]
    await sam.press("Back")
    await sam.press("A language")
    assert sam.buttons()[:4] == ["English · 1", "العربية · 0", "বাংলা · 0", "Polski · 1"]
    assert await sam.press("Polski · 1") == ["That is 1 champion."]
    assert await sam.press("Save this audience") == ["Type a short name for this audience."]
    assert await sam.send("   ") == ["Please type a name (letters, not only spaces)."]
    assert await sam.send("Polish speakers") == ["Saved as Polish speakers.", LANGUAGES_QUESTION]
    assert sam.buttons() == ["Polski · 1", "Done"]
    assert await sam.send("/cancel") == ["Cancelled. Send /help to see what you can do."]
    await sam.send("/broadcast")
    await sam.send(EN)
    assert "Saved audiences" in sam.buttons()
    assert await sam.press("Saved audiences") == ["Which saved audience?"]
    assert await sam.press("Polish speakers · 1") == ["That is 1 champion."]
    assert sam.buttons() == ["Continue", "Choose again"]  # already saved


async def test_answer_back_is_recorded_once_and_questions_reach_coordinators_unnamed(
    bot: BotHarness, places: None
) -> None:
    sam = bot.person(1501, "Sam")
    await make_coordinator(bot, sam)
    await sam.send("/help")  # the bot can message only people who have written to it
    async with bot.sessions.begin() as session:
        coordinator = await champions.by_telegram_id(session, sam.id)
        assert coordinator
        await champions.set_language(session, coordinator.id, "ro")
    ana = bot.person(1502, "Ana")
    await join(ana)
    kasia = bot.person(1503, "Kasia", "pl")
    await join(kasia, language="Polski")
    async with bot.sessions.begin() as session:
        await broadcasts.create_broadcast(session, texts={"en": EN, "pl": PL}, audience=Audience())
    await deliver(bot)

    assert await ana.press("Shared it") == [
        "Thank you for sharing it! That is how these messages reach people."
    ]
    assert await ana.press("Shared it") == ["You have already told us that."]
    pl = translator("pl")
    assert await kasia.press(pl.gettext("A question")) == [
        pl.gettext("Tell us your question in a few words, or /cancel.")
    ]
    assert await kasia.send(" ") == [pl.gettext("Please type a few words, or /cancel.")]
    assert await kasia.send("Czy to bezpłatne?") == [
        pl.gettext("Thank you. We have passed it on to the coordinators.")
    ]
    await deliver(bot)  # the coordinators are told through the outbox
    ro = translator("ro")
    excerpt = EN[:59].rstrip() + "…"
    async with bot.sessions() as session:
        report_id = await session.scalar(select(Report.id))
    assert report_id is not None
    forwarded = ro.gettext("A champion has a question about “{message}” ({reference}):\n\n{text}")
    assert texts(sam.history[-1:]) == [
        forwarded.format(message=excerpt, reference=reports.reference(report_id), text="Czy to bezpłatne?")
    ]
    assert "Kasia" not in json.dumps(sam.history, ensure_ascii=False)  # she was not asked to share it
    assert await kasia.press(pl.gettext("A question")) == [pl.gettext("You have already told us that.")]
    assert await ana.press("Concern heard") == ["Tell us the concern you heard in a few words, or /cancel."]
    assert await ana.send("/cancel") == ["Cancelled. Send /help to see what you can do."]

    # Someone else's delivery and a made-up one are refused; a preview's delivery 0 is a preview.
    async with bot.sessions() as session:
        kasia_id = await session.scalar(select(Champion.id).where(Champion.telegram_id == kasia.id))
        kasias = await session.scalar(select(Delivery.id).where(Delivery.champion_id == kasia_id))
    own = ana.history[-3]["message_id"]
    for forged in (f"answer:{kasias}:shared", "answer:999999999:shared"):
        assert await ana.press_data(own, forged) == INACTIVE
    assert await ana.press_data(own, "answer:0:concern") == PREVIEW
    async with bot.sessions() as session:
        kinds = sorted(await session.scalars(select(Response.kind)))
    assert kinds == ["concern", "question", "shared"]

    context = Context(bot.application)
    async with bot.sessions() as session:
        context.champion = await champions.by_telegram_id(session, sam.id)
    lines = await reach_lines(context)
    assert lines[0] == "Reach of messages in the last 30 days:"
    assert lines[1].endswith(": sent 2 · shared 1 · questions 1 · concerns 1")
    assert isolate(excerpt) in lines[1]
    assert lines[-1] == "People reached: champions shared 1 message."


async def test_campaigns_are_listed_paused_resumed_and_cancelled(bot: BotHarness, places: None) -> None:
    sam, ana = await pair(bot, 1601)
    assert await sam.send("/campaigns") == ["There are no campaigns yet."]
    now = utcnow()
    async with bot.sessions.begin() as session:
        campaign = Campaign(name="Winter flu", audience={})
        session.add(campaign)
        await session.flush()
        for days in (0, 7, 14):
            await broadcasts.create_broadcast(
                session,
                texts={"en": f"Winter flu, week {days // 7 + 1}"},
                audience=Audience(),
                send_at=now + timedelta(days=days),
                campaign_id=campaign.id,
            )
        campaign_id = campaign.id
    await deliver(bot)  # the first message falls due now
    await ana.press("Shared it")
    next_date = translator("en").datetime(now + timedelta(days=7), "Europe/London")
    assert await sam.send("/campaigns") == [
        f"Winter flu: active\nMessages: 2 scheduled, 1 sent\nNext message: {next_date}\n"
        "sent 1 · shared 1 · questions 0 · concerns 0"
    ]
    listing = sam.history[-1]
    assert sam.buttons() == ["Pause", "Cancel campaign"]
    assert await sam.press("Pause") == ["Paused Winter flu. Its messages wait until you resume it."]
    assert texts([listing])[0].startswith("Winter flu: paused\n") and sam.buttons() == [
        "Resume",
        "Cancel campaign",
    ]
    async with bot.sessions.begin() as session:  # a paused campaign's messages wait
        later = now + timedelta(days=7, minutes=1)
        assert await broadcasts.queue_due(session, later, timedelta(hours=1)) == (
            [],
            [],
        )
    assert await sam.press_data(listing["message_id"], f"camp:{campaign_id}:pause") == [
        "This campaign is already paused."
    ]
    assert await sam.press("Resume") == ["Resumed Winter flu."]
    assert await sam.press("Cancel campaign") == [
        "Cancelled Winter flu: 2 scheduled messages will not be sent."
    ]
    assert texts([listing])[0].startswith("Winter flu: cancelled\nMessages: 0 scheduled, 1 sent\nsent 1")
    assert "reply_markup" not in listing
    assert await sam.press_data(listing["message_id"], f"camp:{campaign_id}:resume") == [
        "This campaign is already cancelled."
    ]
    assert await sam.press_data(listing["message_id"], "camp:99999:cancel") == INACTIVE
    async with bot.sessions() as session:
        statuses = sorted(
            await session.scalars(select(Broadcast.status).where(Broadcast.campaign_id == campaign_id))
        )
        assert statuses[:2] == ["cancelled", "cancelled"] and statuses[2] in {"sending", "done"}
        stored = await session.get(Campaign, campaign_id)
        assert stored and stored.status == "cancelled"


async def test_a_restart_mid_flow_loses_nothing(bot: BotHarness, places: None) -> None:
    sam, *_champions = await team(bot, 1701)
    await sam.send("/broadcast")
    await sam.send(EN)
    await bot.restart()
    assert await sam.press("Everyone · 3") == ["That is 3 champions."]
    await sam.press("Continue")
    assert await sam.press("Polski · 1") == ["Send the Polski version."]
    await bot.restart()
    assert await sam.send(PL) == [LANGUAGES_QUESTION]
    replies = await sam.press("Done")
    assert replies[:4] == ["Preview for English (1 person):", EN, "Preview for Polski (1 person):", PL]
    await bot.restart()
    assert await sam.press("Send now") == ["Send to 3 champions now?"]
    assert await sam.press("Confirm") == ["Sending to 3 champions: 0 sent, 3 pending, 0 failed, 0 blocked."]
    broadcast = await latest_broadcast(bot)
    assert broadcast.texts == {"en": EN, "pl": PL}


async def test_a_photo_with_a_caption_is_previewed_and_delivered_as_a_photo(
    bot: BotHarness, places: None
) -> None:
    sam, ana, kasia, _abdi = await team(bot, 1801)
    await sam.send("/broadcast")
    assert await send_photo(sam) == NO_CAPTION
    assert await send_photo(sam, "x" * 1025) == CAPTION_TOO_LONG
    assert await send_photo(sam, EN) == ["Who should get it?"]
    assert await send_photo(sam, EN) == ["Please choose one of the buttons.", "Who should get it?"]
    await sam.press("Everyone · 3")
    await sam.press("Continue")
    assert await sam.press("Polski · 1") == ["Send the Polski version."]
    assert await send_photo(sam, PL) == ["Please send this as text.", "Send the Polski version."]
    assert await sam.send("y" * 1025) == CAPTION_TOO_LONG
    assert await sam.send(PL) == [LANGUAGES_QUESTION]
    assert (await sam.press("Done"))[:4] == [
        "Preview for English (1 person):",
        EN,
        "Preview for Polski (1 person):",
        PL,
    ]
    pl = translator("pl")
    polish_buttons = [pl.gettext(label) for label in ("Shared it", "A question", "Concern heard")]
    polish_preview = [m for m in sam.history if m.get("caption") == PL][-1]
    assert polish_preview["photo"][0]["file_id"] == "photo-1" and "text" not in polish_preview
    assert labels(polish_preview) == polish_buttons
    await sam.press("Send now")
    assert await sam.press("Confirm") == ["Sending to 3 champions: 0 sent, 3 pending, 0 failed, 0 blocked."]
    broadcast = await latest_broadcast(bot)
    assert (broadcast.media_kind, broadcast.media_file_id) == ("photo", "photo-1")

    await deliver(bot)
    got = kasia.history[-1]
    assert got["photo"][0]["file_id"] == "photo-1" and got["caption"] == PL
    assert labels(got) == polish_buttons
    assert ana.history[-1]["caption"] == EN


async def test_a_document_with_a_caption_is_previewed_and_delivered_as_a_document(
    bot: BotHarness, places: None
) -> None:
    sam, ana = await pair(bot, 1901)
    leaflet = StoredFile("leaflet.pdf", "application/pdf", b"%PDF-1.4")
    bot.emulator.files["leaflet-1"] = leaflet  # as if uploaded before
    await sam.send("/broadcast")
    assert await send_document(bot, sam, "leaflet-1", "z" * 1025) == CAPTION_TOO_LONG
    assert await send_document(bot, sam, "leaflet-1", EN) == ["Who should get it?"]
    await sam.press("Everyone · 1")
    assert (await sam.press("Continue"))[1:3] == ["Preview for English (1 person):", EN]
    preview = [m for m in sam.history if m.get("caption") == EN][-1]
    assert preview["document"]["file_id"] == "leaflet-1" and "text" not in preview
    await sam.press("Send now")
    await sam.press("Confirm")
    await deliver(bot)
    assert ana.history[-1]["document"]["file_id"] == "leaflet-1" and ana.history[-1]["caption"] == EN


async def test_answer_buttons_can_be_turned_off_and_the_preview_follows(
    bot: BotHarness, places: None
) -> None:
    sam, ana = await pair(bot, 2001)
    await sam.send("/broadcast")
    await sam.send(EN)
    await sam.press("Everyone · 1")
    await sam.press("Continue")
    preview = [m for m in sam.history if m.get("text") == EN][-1]
    assert labels(preview) == ["Shared it", "A question", "Concern heard"]
    await sam.press("Send now")
    assert await sam.press("Answer buttons: on") == []
    assert sam.buttons() == ["Confirm", URGENT, "Answer buttons: off", "Cancel"]
    assert labels(preview) == []
    await sam.press("Answer buttons: off")
    assert sam.buttons()[2] == "Answer buttons: on" and labels(preview) == [
        "Shared it",
        "A question",
        "Concern heard",
    ]
    await sam.press("Answer buttons: on")
    await bot.restart()  # the choice is kept in the conversation state
    await sam.press("Confirm")
    broadcast = await latest_broadcast(bot)
    assert broadcast.answer_back is False and broadcast.media_kind is None

    await deliver(bot)
    assert ana.history[-1]["text"] == EN and labels(ana.history[-1]) == []


async def test_a_long_paste_in_the_composer_is_refused_whole_once(bot: BotHarness, places: None) -> None:
    """A 5,000-character paste comes as two messages: refused once, as one, and the step is kept,
    so neither part can become the broadcast; a 3,990-character text is taken whole."""
    sam, _ana = await pair(bot, 1101)
    assert await sam.send("/broadcast") == ["Send the message in English."]
    paste = "\n".join(f"Line {n}: free flu jabs at Northfield library this Saturday." for n in range(85))
    assert len(paste) > 5000 and len(split_like_clients(paste)) == 2
    assert await sam.send(paste) == ["That is too long. Please keep it to at most 4,000 characters."]
    async with bot.sessions() as session:
        state = await conversation.get_state(session, sam.id)
    assert state is not None and state.step == "bc:text" and not state.data.get("texts")
    text = paste[:3990].strip()
    assert await sam.send(text) == ["Who should get it?"]
    await sam.press("Everyone · 1")
    await sam.press("Continue")
    assert text in texts(sam.history[-3:])  # the preview, whole
    await sam.press("Send now")
    await sam.press("Confirm")
    assert (await latest_broadcast(bot)).texts == {"en": text}
    assert await count_broadcasts(bot) == 1


async def run_report_job(bot: BotHarness) -> None:
    """Run the live reports' scheduled job once, as the leading process does every few seconds."""
    assert bot.application.job_queue
    (job,) = bot.application.job_queue.get_jobs_by_name("report_job")
    await job.run(bot.application)


async def send_now(sam: Person, audience: str) -> dict[str, object]:
    """Compose EN for `audience`, send it now and return the live report message."""
    await sam.send("/broadcast")
    await sam.send(EN)
    await sam.press(audience)
    await sam.press("Continue")
    if "Done" in sam.buttons():  # no versions in the audience's other languages
        await sam.press("Done")
    await sam.press("Send now")
    (said,) = await sam.press("Confirm")
    assert said.startswith("Sending to ")
    return sam.history[-1]


async def test_the_live_report_survives_a_restart_and_ends_on_the_final_figures(
    bot: BotHarness, places: None
) -> None:
    sam, _ana = await pair(bot, 2101)
    report = await send_now(sam, "Everyone · 1")
    assert report["text"] == "Sending to 1 champion: 0 sent, 1 pending, 0 failed, 0 blocked."
    broadcast = await latest_broadcast(bot)
    assert (broadcast.report_chat_id, broadcast.report_message_id) == (sam.id, report["message_id"])
    assert broadcast.report_final_at is None

    await bot.restart()  # a new process: nothing about the report is left in memory
    async with bot.sessions.begin() as session:
        coordinator = await champions.by_telegram_id(session, sam.id)
        assert coordinator
        await champions.set_language(session, coordinator.id, "pl")
    await deliver(bot)
    await run_report_job(bot)
    pl = translator("pl")
    final = pl.ngettext(
        "Finished sending to {total} champion: {sent} sent, {failed} failed, {blocked} blocked.",
        "Finished sending to {total} champions: {sent} sent, {failed} failed, {blocked} blocked.",
        1,
    ).format(total=1, sent=1, failed=0, blocked=0)
    assert final.startswith("Zakończono")  # in the coordinator's language now, not the one at Confirm
    assert report["text"] == final
    assert (await latest_broadcast(bot)).report_final_at is not None


async def test_a_report_that_can_no_longer_be_edited_is_left_alone(bot: BotHarness, places: None) -> None:
    sam, _ana = await pair(bot, 2201)
    report = await send_now(sam, "Everyone · 1")
    bot.emulator.chats[sam.id].messages.remove(report)  # deleted: editing it answers 400
    await run_report_job(bot)
    assert (await latest_broadcast(bot)).report_final_at is not None


async def test_the_report_gives_up_an_hour_after_sending_began(bot: BotHarness, places: None) -> None:
    sam, _ana = await pair(bot, 2301)
    report = await send_now(sam, "Everyone · 1")
    broadcast = await latest_broadcast(bot)
    async with bot.sessions.begin() as session:
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast.id)
            .values(queued_at=utcnow() - timedelta(hours=1, minutes=1))
        )
    await run_report_job(bot)  # still pending (held by quiet hours, say): the last figures stay
    assert report["text"] == "Sending to 1 champion: 0 sent, 1 pending, 0 failed, 0 blocked."
    assert (await latest_broadcast(bot)).report_final_at is not None


async def test_send_now_is_fanned_out_at_confirm_and_wakes_the_workers(bot: BotHarness, places: None) -> None:
    sam, *_champions = await team(bot, 2401)
    await send_now(sam, "Everyone · 3")
    broadcast = await latest_broadcast(bot)
    async with bot.sessions() as session:
        queued = select(Delivery.state).where(Delivery.broadcast_id == broadcast.id)
        states = list(await session.scalars(queued))
    assert states == ["pending"] * 3 and broadcast.status == "sending"  # no scheduler tick needed
    assert await bot.application.bot_data.wake.wait(outbox.BULK, REPLY_TIMEOUT)
    assert not await bot.application.bot_data.wake.wait(outbox.PERSON, 0)


def shown(message: dict[str, object]) -> str:
    """What a message says now (after any edit), without the isolates around an echoed answer."""
    return texts([message])[0]


async def test_each_press_is_echoed_under_its_question_and_toggles_flip_in_place(
    bot: BotHarness, places: None
) -> None:
    sam, _ana, _kasia, _abdi = await team(bot, 2501)
    await sam.send("/broadcast")
    await sam.send(EN)
    menu, _data = sam.find_button("An area")
    await sam.press("An area")
    assert shown(menu) == "Who should get it?\n\n✓ An area" and "reply_markup" not in menu
    areas, _data = sam.find_button("Northfield · 3")
    await sam.press("Northfield · 3")
    assert shown(areas) == "Which area?\n\n✓ Northfield"  # the name, not its count
    size, _data = sam.find_button("Continue")
    await sam.press("Continue")
    assert shown(size) == "That is 3 champions.\n\n✓ Continue"
    languages, _data = sam.find_button("Polski · 1")
    await sam.press("Polski · 1")
    assert shown(languages) == f"{LANGUAGES_QUESTION}\n\n✓ Polski"
    await sam.send(PL)
    languages, _data = sam.find_button("Done")
    await sam.press("Done")
    assert shown(languages) == f"{LANGUAGES_QUESTION}\n\n✓ Done"
    when, _data = sam.find_button("Send now")
    await sam.press("Send now")
    assert shown(when) == "Send it now, or schedule it for later?\n\n✓ Send now"
    confirm, _data = sam.find_button("Confirm")
    assert await sam.press(URGENT) == []
    assert shown(confirm) == "Send to 3 champions now?" and sam.buttons()[1] == f"✓ {URGENT}"
    await sam.press("Confirm")
    assert shown(confirm) == "Send to 3 champions now?\n\n✓ Confirm" and "reply_markup" not in confirm


async def test_answer_back_ticks_each_answer_and_keeps_the_others(bot: BotHarness, places: None) -> None:
    _sam, ana = await pair(bot, 2601)
    async with bot.sessions.begin() as session:
        await broadcasts.create_broadcast(session, texts={"en": EN}, audience=Audience())
    await deliver(bot)
    message = ana.history[-1]
    await ana.press("Shared it")
    assert labels(message) == ["✓ Shared it", "A question", "Concern heard"] and shown(message) == EN
    await ana.press("A question")
    assert labels(message) == ["✓ Shared it", "✓ A question", "Concern heard"]


async def test_a_half_made_broadcast_left_by_the_previous_release_is_ended_kindly(
    bot: BotHarness, places: None
) -> None:
    sam, _ana = await pair(bot, 2701)
    await sam.send("/broadcast")
    await sam.send(EN)
    everyone, data = sam.find_button("Everyone · 1")
    async with bot.sessions.begin() as session:  # the untyped data the previous release kept
        await session.execute(
            update(ConversationState)
            .where(ConversationState.chat_id == sam.id)
            .values(data={"texts": {"en": EN}, "pick": None})
        )
    assert (await sam.press_data(everyone["message_id"], data))[0] == STARTED_AGAIN
    async with bot.sessions() as session:
        assert await conversation.get_state(session, sam.id) is None
    assert await sam.send("/broadcast") == ["Send the message in English."]  # a new one starts afresh
    assert await count_broadcasts(bot) == 0


async def test_a_question_half_typed_before_an_update_is_ended_kindly(bot: BotHarness, places: None) -> None:
    _sam, ana = await pair(bot, 2801)
    async with bot.sessions.begin() as session:
        await broadcasts.create_broadcast(session, texts={"en": EN}, audience=Audience())
    await deliver(bot)
    assert await ana.press("A question") == ["Tell us your question in a few words, or /cancel."]
    async with bot.sessions.begin() as session:  # as the previous release kept it: no version
        state = await session.get(ConversationState, ana.id)
        assert state is not None and state.step == "ans:text"
        state.data = {"delivery": state.data["delivery"], "kind": "question"}
    assert (await ana.send("Is it free?"))[0] == STARTED_AGAIN
    async with bot.sessions() as session:
        assert await session.scalar(select(Report.id)) is None
