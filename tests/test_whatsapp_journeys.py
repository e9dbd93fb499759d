"""Every champion journey on WhatsApp, through the Cloud API emulator, on SQLite and PostgreSQL:
joining (by a typed invite code too), a report with a voice note, learning with a quiz,
/myreports, settings, /mydata and /deleteme; and what WhatsApp adds: typed commands, long lists
paged. Every request the bot makes is checked against Meta's OpenAPI description by the
harness."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot import whatsapp_media
from storage import champions, identities, invites
from storage.models import Champion, Identity, InboundMessage, Report, utcnow
from tests.test_answer_back_reports import EN, campaign_message, deliver
from tests.whatsapp_harness import WhatsAppHarness, WhatsAppPerson, said, whatsapp_fixture  # noqa: F401

pytestmark = pytest.mark.usefixtures("places")


async def join(person: WhatsAppPerson, start: str = "start") -> None:
    await person.send(start)
    await person.press("English")
    await person.press("Yes, I agree")
    await person.press("No")
    await person.send(person.name)
    await person.press("Northfield")
    await person.press("Done")


async def champion_of(wa: WhatsAppHarness, person: WhatsAppPerson) -> Champion:
    async with wa.bot.sessions() as session:
        identity = await session.scalar(select(Identity).where(Identity.address == person.address))
        assert identity is not None and identity.chat_id is not None
        champion = await champions.by_telegram_id(session, identity.chat_id)
        assert champion is not None
        return champion


async def test_a_champion_joins_on_whatsapp(whatsapp: WhatsAppHarness) -> None:
    amina = whatsapp.person("GB.1000000001", "447700900001", "Amina")
    (welcome,) = await amina.send("start")
    assert "language" in welcome.lower()
    assert len(amina.choices()) == 8  # the languages, as one list
    await amina.press("English")
    await amina.press("Yes, I agree")
    await amina.press("No")
    await amina.send("Amina")
    await amina.press("Northfield")
    said = await amina.press("Done")
    assert any("all set" in text for text in said), said
    champion = await champion_of(whatsapp, amina)
    assert champion.display_name == "Amina" and champion.status.value == "active"
    async with whatsapp.bot.sessions() as session:
        [identity] = await identities.of_champion(session, champion.id)
    assert (identity.channel, identity.phone) == ("whatsapp", "447700900001")
    assert identities.is_whatsapp(champion.telegram_id)


@pytest.mark.bot_settings(signup_mode="invite")
async def test_typing_join_and_the_code_joins_as_the_invite_link_does(whatsapp: WhatsAppHarness) -> None:
    async with whatsapp.bot.sessions.begin() as session:
        invite = await invites.create_invite(session, created_by=None, network_id=None, max_uses=1, days=7)
    bilal = whatsapp.person("GB.1000000002", "447700900002", "Bilal")
    (refused,) = await bilal.send("start")
    assert "invite" in refused.lower()
    await join(bilal, f"JOIN {invite.code}")
    champion = await champion_of(whatsapp, bilal)
    assert champion.invite_code == invite.code and champion.status.value == "active"


async def test_help_typed_without_a_slash_is_the_command(whatsapp: WhatsAppHarness) -> None:
    chen = whatsapp.person("GB.1000000003", "447700900003", "Chen")
    await join(chen)
    assert await chen.send("help") == await chen.send("/help")
    assert await chen.send("Menu") == await chen.send("/help")


async def test_a_report_with_a_voice_note_keeps_the_file(whatsapp: WhatsAppHarness) -> None:
    dara = whatsapp.person("GB.1000000004", "447700900004", "Dara")
    await join(dara)
    await dara.send("/report")
    await dara.press(whatsapp.bot.application.bot_data.topics[0].label("en"))
    await dara.press("A barrier")
    await dara.send_voice(b"OggS a voice note")
    await dara.press("One person")
    await dara.press(dara.choices()[0])  # their own area
    await dara.press("Stay anonymous")
    (thanks,) = await dara.press("Confirm")
    assert "R-" in thanks
    async with whatsapp.bot.sessions() as session:
        report = await session.scalar(select(Report))
    assert report is not None and report.media_kind == "voice" and report.media_file_id
    kept = whatsapp_media.path(whatsapp.bot.settings.data_dir, report.media_file_id)
    assert kept is not None and kept.read_bytes() == b"OggS a voice note"
    (mine,) = await dara.send("/myreports")
    assert "R-" in mine
    await dara.send("/deleteme")
    await dara.press("Yes, delete it all")
    assert not kept.exists()  # the voice note went with the report
    async with whatsapp.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Identity)) == 0


async def test_learning_with_a_quiz(whatsapp: WhatsAppHarness) -> None:
    esi = whatsapp.person("GB.1000000005", "447700900005", "Esi")
    await join(esi)
    assert await esi.send("/learn") == ["Choose a topic to learn about."]
    (text,) = await esi.press("Where to get help")
    assert text.startswith("999 or 111?")
    await esi.press("More")  # the rest of it, on a screen of its own
    await esi.press("Quiz")
    (feedback,) = await esi.press("Call 111")  # an option is a numbered row with it as the note
    assert feedback.startswith("❌ Not quite.")


async def test_settings_mydata_and_deleteme(whatsapp: WhatsAppHarness) -> None:
    femi = whatsapp.person("GB.1000000006", "447700900006", "Femi")
    await join(femi)
    await femi.send("/language")
    await femi.press("Polski")
    champion = await champion_of(whatsapp, femi)
    assert champion.language == "pl"
    await femi.send("/language")
    await femi.press("English")
    said = await femi.send("/mydata")
    documents = [m for m in femi.history if m.get("from_bot") and m.get("type") == "document"]
    assert documents, said
    data = json.loads(whatsapp.emulator.media[documents[-1]["media"]["id"]].data)
    assert [i["channel"] for i in data["identities"]] == ["whatsapp"]
    await femi.send("/deleteme")
    (goodbye,) = await femi.press("Yes, delete it all")
    assert "deleted" in goodbye
    async with whatsapp.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Champion)) == 0


async def test_a_repeated_delivery_is_handled_once(whatsapp: WhatsAppHarness) -> None:
    gita = whatsapp.person("GB.1000000007", "447700900007", "Gita")
    wamid = whatsapp.emulator.send_text(gita.address, "start")
    await whatsapp.settle()
    answers = len([m for m in gita.history if m.get("from_bot")])
    whatsapp.emulator.replay(wamid)
    whatsapp.emulator.replay(wamid)
    await whatsapp.settle()
    assert len([m for m in gita.history if m.get("from_bot")]) == answers
    async with whatsapp.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 1


async def test_a_campaign_message_outside_the_window_comes_by_template_and_is_answered_back(
    whatsapp: WhatsAppHarness,
) -> None:
    nia = whatsapp.person("GB.1000000008", "447700900008", "Nia")
    await join(nia)
    whatsapp.emulator.age(days=2)  # two quiet days: her 24-hour window closed
    async with whatsapp.bot.sessions.begin() as session:
        await session.execute(update(Identity).values(last_inbound_at=utcnow() - timedelta(days=2)))
    await campaign_message(whatsapp.bot)
    await deliver(whatsapp.bot)
    await whatsapp.settle()
    got = [m for m in nia.history if m.get("from_bot")][-1]
    assert got["type"] == "template" and got["template"]["category"] == "marketing"
    assert EN in said(got)
    assert [button["title"] for button in got["buttons"]] == ["Shared it", "A question", "Concern heard"]
    assert await nia.press("A question") == ["Tell us your question in a few words, or /cancel."]
    assert await nia.send("Is it free for people over 65?") == [
        "Thank you. We have passed it on to the coordinators."
    ]
    async with whatsapp.bot.sessions() as session:
        report = await session.scalar(select(Report))
    assert report is not None and (report.kind, report.text) == ("question", "Is it free for people over 65?")
    assert report.delivery_id is not None


async def test_a_toggle_sends_its_question_again_with_the_tick(whatsapp: WhatsAppHarness) -> None:
    omar = whatsapp.person("GB.1000000009", "447700900009", "Omar")
    await omar.send("start")
    await omar.press("English")
    await omar.press("Yes, I agree")
    await omar.press("No")
    await omar.send("Omar")
    (question,) = await omar.press("Northfield")
    assert await omar.press("Faith groups") == [question]  # the same question, sent again
    assert "✓ Faith groups" in omar.choices() and "Done" in omar.choices()
    await omar.press("Done")
    async with whatsapp.bot.sessions() as session:
        champion = await champion_of(whatsapp, omar)
        assert await champions.network_names(session, champion.id) == ["Faith groups"]
