"""WhatsApp's webhook against bad input and faults: bad or missing signatures, the verification
handshake, repeats, message types the bot can't read, forged button ids, long messages, expired
media, statuses out of order, and lists longer than WhatsApp shows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from storage import directory, identities, inbound
from storage.models import Identity, InboundMessage, utcnow
from tests.test_whatsapp_journeys import join
from tests.whatsapp_harness import VERIFY_TOKEN, WhatsAppHarness, whatsapp_fixture  # noqa: F401

pytestmark = pytest.mark.usefixtures("places")

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


async def count(wa: WhatsAppHarness, model: type[object]) -> int:
    async with wa.bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def post(wa: WhatsAppHarness, body: bytes, headers: dict[str, str]) -> int:
    assert wa.emulator.webhook_url
    async with (
        ClientSession() as http,
        http.post(wa.emulator.webhook_url, data=body, headers=headers) as answer,
    ):
        return answer.status


async def test_verification_echoes_the_challenge_only_for_the_right_token(whatsapp: WhatsAppHarness) -> None:
    assert await whatsapp.emulator.verify(VERIFY_TOKEN)
    assert not await whatsapp.emulator.verify("a guess")


async def test_a_missing_or_bad_signature_is_refused_before_anything_is_read(
    whatsapp: WhatsAppHarness,
) -> None:
    whatsapp.person("GB.2000000001", "447700901001")
    message = whatsapp.emulator.encode(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messages": [
                                    {
                                        "from": "447700901001",
                                        "id": "wamid.x",
                                        "type": "text",
                                        "text": {"body": "start"},
                                    }
                                ]
                            },
                        }
                    ],
                }
            ],
        }
    )
    assert await post(whatsapp, message, {}) == 401
    assert await post(whatsapp, message, {"X-Hub-Signature-256": "sha256=" + "0" * 64}) == 403
    assert (
        await post(whatsapp, message + b" ", {"X-Hub-Signature-256": whatsapp.emulator.sign(message)}) == 403
    )
    assert await count(whatsapp, InboundMessage) == 0 and await count(whatsapp, Identity) == 0
    assert await post(whatsapp, message, {"X-Hub-Signature-256": whatsapp.emulator.sign(message)}) == 200
    assert await count(whatsapp, InboundMessage) == 1


async def test_a_signed_body_that_is_not_a_webhook_is_a_400(whatsapp: WhatsAppHarness) -> None:
    for body in (b"not json", b"[]", b'{"object": "page"}'):
        assert await post(whatsapp, body, {"X-Hub-Signature-256": whatsapp.emulator.sign(body)}) == 400
    assert await post(whatsapp, BODY, {"X-Hub-Signature-256": whatsapp.emulator.sign(BODY)}) == 200


async def test_messages_the_bot_cannot_read_are_answered_or_ignored(whatsapp: WhatsAppHarness) -> None:
    hana = whatsapp.person("GB.2000000002", "447700901002", "Hana")
    emulator = whatsapp.emulator
    for message in (
        {"type": "sticker", "sticker": {"id": "1", "mime_type": "image/webp", "animated": False}},
        {"type": "location", "location": {"latitude": 52.4, "longitude": -1.9}},
        {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
    ):
        before = len(hana.history)
        emulator.send_raw(hana.address, message)
        await whatsapp.settle()
        answers = [m for m in hana.history[before:] if m.get("from_bot")]
        assert len(answers) == 1, message  # one sensible answer each
    before = len(hana.history)
    emulator.send_raw(
        hana.address, {"type": "reaction", "reaction": {"message_id": "wamid.y", "emoji": "👍"}}
    )
    await whatsapp.settle()
    assert not [m for m in hana.history[before:] if m.get("from_bot")]  # an emoji on a message: nothing


async def test_a_button_id_never_sent_is_a_stale_press(whatsapp: WhatsAppHarness) -> None:
    ida = whatsapp.person("GB.2000000003", "447700901003", "Ida")
    await ida.send("start")
    before = len(ida.history)
    whatsapp.emulator.press(ida.address, "erase:yes", forged=True)
    await whatsapp.settle()
    said = [m for m in ida.history[before:] if m.get("from_bot")]
    assert len(said) == 1 and "no longer active" in said[0]["text"]
    whatsapp.emulator.choose(ida.address, "more:99", forged=True)  # a page of no list
    await whatsapp.settle()


async def test_a_text_outside_any_journey_is_answered(whatsapp: WhatsAppHarness) -> None:
    jo = whatsapp.person("GB.2000000004", "447700901004", "Jo")
    assert await jo.send("hello there") == ["Hello! Send /start to join."]


async def test_a_6000_character_message_is_refused_whole_once(whatsapp: WhatsAppHarness) -> None:
    kim = whatsapp.person("GB.2000000005", "447700901005", "Kim")
    await join(kim)
    await kim.send("/report")
    await kim.press(whatsapp.bot.application.bot_data.topics[0].label("en"))
    await kim.press("A barrier")
    long_text = ("They say the bus to the clinic stopped running. " * 125)[:6000]
    before = len(kim.history)
    await kim.send(long_text)
    await asyncio.sleep(whatsapp.bot.settings.paste_window_seconds + 0.5)  # held a moment, as a paste
    answers = [m.get("text") for m in kim.history[before:] if m.get("from_bot")]
    assert answers == ["That is too long. Please keep it to at most 4,000 characters."]
    assert (await kim.send("The bus stopped.")) == ["How many people does it concern?"]


async def test_an_expired_media_id_asks_for_the_file_again(whatsapp: WhatsAppHarness) -> None:
    lin = whatsapp.person("GB.2000000006", "447700901006", "Lin")
    emulator = whatsapp.emulator
    original = emulator.keep

    def expired(*args: object, **kwargs: object) -> object:
        media = original(*args, **kwargs)  # type: ignore[arg-type]
        media.expired = True
        return media

    emulator.keep = expired  # type: ignore[method-assign]
    said = await lin.send_image(b"\xff\xd8 a photo")
    assert said == ["Sorry, I couldn't receive that file. Please send it again."]


async def test_a_long_list_pages_with_more(whatsapp: WhatsAppHarness) -> None:
    async with whatsapp.bot.sessions.begin() as session:
        await directory.add_areas(session, [f"Ward {n:02}" for n in range(1, 15)])
    mo = whatsapp.person("GB.2000000007", "447700901007", "Mo")
    await mo.send("start")
    await mo.press("English")
    await mo.press("Yes, I agree")
    await mo.press("No")
    await mo.send("Mo")
    first = mo.choices()
    assert len(first) == 10 and first[-1] == "More…"
    await mo.press("More…")
    second = mo.choices()
    assert second and not set(second) & set(first[:-1])  # the next page, none repeated
    await mo.press("Ward 14")
    assert "Done" in mo.choices()  # on to the networks


async def test_someone_known_by_their_number_keeps_their_identity_when_their_bsuid_comes(
    whatsapp: WhatsAppHarness,
) -> None:
    async with whatsapp.bot.sessions.begin() as session:
        first = await identities.whatsapp_wrote(session, "447700901008", "447700901008", utcnow())
        again = await identities.whatsapp_wrote(session, "GB.2000000008", "447700901008", utcnow())
    assert again.id == first.id and again.address == "GB.2000000008"
    assert await count(whatsapp, Identity) == 1


async def test_the_webhook_answers_before_the_message_is_handled(whatsapp: WhatsAppHarness) -> None:
    pat = whatsapp.person("GB.2000000009", "447700901009", "Pat")
    held = whatsapp.emulator.hold(pat.address)  # the bot's answer hangs at the Graph API
    whatsapp.emulator.send_text(pat.address, "start")
    await whatsapp.emulator.drain()
    assert whatsapp.emulator.webhook_log[-1].status == 200  # Meta has its 200 already
    await asyncio.wait_for(held.wait(), 5)  # while the bot is still answering
    async with whatsapp.bot.sessions() as session:
        claim = await session.scalar(select(InboundMessage))
    assert claim is not None and claim.handled_at is None and claim.kept is not None
    whatsapp.emulator.release(pat.address)
    await whatsapp.settle()
    async with whatsapp.bot.sessions() as session:
        claim = await session.scalar(select(InboundMessage))
    assert claim is not None and claim.handled_at is not None and claim.kept is None


async def test_a_message_a_stopped_worker_left_unhandled_is_taken_up(whatsapp: WhatsAppHarness) -> None:
    rae = whatsapp.person("GB.2000000010", "447700901010", "Rae")
    kept = {
        "message": {"from": rae.phone, "from_user_id": rae.address, "id": "wamid.lost", "type": "text"}
        | {"timestamp": "1", "text": {"body": "hello there"}},
        "contact": {"wa_id": rae.phone, "user_id": rae.address, "profile": {"name": "Rae"}},
    }
    inbox = whatsapp.bot.application.bot_data.whatsapp_inbox
    assert inbox is not None
    async with whatsapp.bot.sessions.begin() as session:  # claimed three minutes ago, never handled
        assert await inbound.claim(session, "wamid.lost", utcnow() - timedelta(minutes=3), kept)
    async with whatsapp.bot.sessions.begin() as session:  # a fresh claim is someone else's, in hand
        assert await inbound.claim(session, "wamid.fresh", utcnow(), kept | {"message": {"id": "x"}})
    assert await inbox.recover() == 1
    await whatsapp.settle()
    assert [m["text"] for m in rae.history if m.get("from_bot")] == ["Hello! Send /start to join."]
    assert await inbox.recover() == 0  # handled: nothing left to take up
