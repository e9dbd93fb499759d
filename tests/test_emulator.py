"""The local Bot API emulator speaks the Bot API as python-telegram-bot expects it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.emulator import Emulator, StoredFile, parse_rtt
from tests.conftest import BotHarness


@pytest.fixture
async def bare_bot(emulator: Emulator) -> AsyncIterator[Bot]:
    """A plain PTB Bot (no rate limiter, no retries) talking to the emulator."""
    bot = Bot("1:test", base_url=f"{emulator.base_url}/bot")
    async with bot:
        yield bot


async def test_get_updates_honours_offset_and_long_poll(emulator: Emulator, bare_bot: Bot) -> None:
    emulator.add_user(7, "Ed")
    first = emulator.send(7, "one")
    second = emulator.send(7, "two")
    updates = await bare_bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    assert [u.message.text for u in updates if u.message] == ["one", "two"]
    assert await bare_bot.get_updates(offset=second + 1, timeout=0) == ()
    assert (await bare_bot.get_me()).username == emulator.bot_username


async def test_messages_keyboards_edits_and_documents(emulator: Emulator, bare_bot: Bot) -> None:
    emulator.add_user(8, "Ed", started=True)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    sent = await bare_bot.send_message(8, "Hello", reply_markup=markup)
    assert emulator.history(8)[-1]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]
    }
    await bare_bot.edit_message_text("Hello again", chat_id=8, message_id=sent.message_id)
    assert emulator.history(8)[-1]["text"] == "Hello again" and "reply_markup" not in emulator.history(8)[-1]
    with pytest.raises(BadRequest, match="not modified"):
        await bare_bot.edit_message_text("Hello again", chat_id=8, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bare_bot.edit_message_reply_markup(chat_id=8, message_id=999, reply_markup=markup)
    await bare_bot.send_document(8, b"data", filename="f.txt", caption="file")
    document = emulator.history(8)[-1]["document"]
    assert emulator.files[document["file_id"]] == StoredFile("f.txt", "text/plain", b"data")
    assert (document["file_name"], document["mime_type"]) == ("f.txt", "text/plain")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
    await bare_bot.send_photo(8, png)  # bytes with no name: PTB sends them as application/octet-stream
    photo_id = emulator.history(8)[-1]["photo"][-1]["file_id"]
    assert emulator.files[photo_id] == StoredFile(f"{photo_id}.png", "image/png", png)  # as its bytes show
    with pytest.raises(BadRequest, match="too long"):
        await bare_bot.send_message(8, "x" * 4097)


@pytest.mark.parametrize(
    ("code", "error"), [(429, RetryAfter), (403, Forbidden), (400, BadRequest), (502, NetworkError)]
)
async def test_faults_raise_ptbs_real_errors(
    emulator: Emulator, bare_bot: Bot, code: int, error: type[Exception]
) -> None:
    emulator.add_user(9, "Ed", started=True)
    emulator.add_user(10, "Flo", started=True)
    emulator.fail(9, code, times=1, retry_after=3)
    with pytest.raises(error) as raised:
        await bare_bot.send_message(9, "hi")
    if isinstance(raised.value, RetryAfter):
        assert raised.value.retry_after == timedelta(seconds=3)
    await bare_bot.send_message(10, "others are not held up")
    await bare_bot.send_message(9, "the fault was for one send only")
    assert [m["text"] for m in emulator.history(9)] == ["the fault was for one send only"]


async def test_rate_limits_answer_429(emulator: Emulator, bare_bot: Bot) -> None:
    emulator.enforce_limits = True
    for user_id in range(100, 131):
        emulator.add_user(user_id, "X", started=True)
    await bare_bot.send_message(100, "first")
    with pytest.raises(RetryAfter):  # a second message to the same chat within a second
        await bare_bot.send_message(100, "second")
    for user_id in range(101, 130):  # 29 more chats: 30 in this second
        await bare_bot.send_message(user_id, "hi")
    with pytest.raises(RetryAfter):  # the 31st message in one second, to a fresh chat
        await bare_bot.send_message(130, "hi")
    assert emulator.rate_limited == 2


async def test_send_peak_is_the_most_sends_in_any_sliding_second_refused_ones_too(
    emulator: Emulator, bare_bot: Bot
) -> None:
    """What a benchmark reads to check the bot kept Telegram's 30 a second: every send request counts,
    a 429 too, over any one second rather than calendar seconds."""
    now = [100.6]
    emulator.send_clock = lambda: now[0]
    emulator.enforce_limits = True
    for user_id in range(200, 241):
        emulator.add_user(user_id, "X", started=True)
    for user_id in range(200, 220):  # 20 at 100.6
        await bare_bot.send_message(user_id, "hi")
    now[0] = 101.4  # a new calendar second, but within a second of the first 20
    for user_id in range(220, 230):
        await bare_bot.send_message(user_id, "hi")
    with pytest.raises(RetryAfter):  # the 31st within one second is refused and still counted
        await bare_bot.send_message(230, "hi")
    assert emulator.send_peak == 31 and emulator.rate_limited == 1
    now[0] = 102.5  # everything above is more than a second old
    emulator.send_peak = 0  # measure afresh
    await bare_bot.send_message(231, "hi")
    assert emulator.send_peak == 1


async def test_stopping_finishes_every_accepted_update(bot: BotHarness) -> None:
    people = [bot.person(700 + i, f"P{i}") for i in range(5)]
    update_ids = [bot.emulator.send(person.id, "/help") for person in people]
    await bot.processed(update_ids[0])  # polling has fetched the batch
    await bot.stop()
    assert all(bot.processor.done[u].is_set() for u in update_ids)
    assert all(person.history[-1]["text"].startswith("Here is what I can do:") for person in people)
    async with Bot("1:t", base_url=f"{bot.emulator.base_url}/bot") as plain:
        assert await plain.get_updates(timeout=0) == ()  # all were acknowledged to the Bot API


async def test_users_who_never_wrote_or_blocked_the_bot_answer_403(emulator: Emulator, bare_bot: Bot) -> None:
    """As Telegram: the bot can't start a chat, and a block holds until the person writes again."""
    emulator.add_user(11, "Gia")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bare_bot.send_message(11, "hello?")
    emulator.send(11, "/start")
    await bare_bot.send_message(11, "hello")
    emulator.block(11)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bare_bot.send_message(11, "still there?")
    emulator.send(11, "/start")
    await bare_bot.send_message(11, "welcome back")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bare_bot.send_message(12345, "nobody")


async def test_a_long_text_arrives_split_as_a_client_sends_it(emulator: Emulator, bare_bot: Bot) -> None:
    """Telegram clients send a text over 4096 characters as several messages, each its own update."""
    emulator.add_user(13, "Hal")
    words = " ".join(f"word{n}" for n in range(1500))  # 11,389 characters
    ids = emulator.send_parts(13, words)
    updates = await bare_bot.get_updates(timeout=0)
    parts = [u.message.text or "" for u in updates if u.message]
    assert [u.update_id for u in updates] == ids and len(parts) == 4
    assert all(len(part) <= 4096 for part in parts) and " ".join(parts) == words  # cut between words
    assert emulator.send(13, "x" * 5000) == ids[-1] + 2  # no spaces: cut at the limit
    emojis = emulator.send_parts(13, "😀" * 3000)  # 6,000 UTF-16 units, as clients count
    updates = await bare_bot.get_updates(offset=ids[-1] + 1, timeout=0)
    assert [len(u.message.text or "") for u in updates if u.message] == [4096, 904, 2048, 952]
    assert [u.update_id for u in updates][-2:] == emojis


async def test_a_press_is_answered_once_and_while_it_is_fresh(emulator: Emulator, bare_bot: Bot) -> None:
    """As Telegram: a second answer, an unknown query or one older than about 15 seconds fails."""
    emulator.add_user(14, "Ida", started=True)
    sent = await bare_bot.send_message(14, "Choose", reply_markup=_one_button("y"))
    emulator.press(14, sent.message_id, "y")
    emulator.press(14, sent.message_id, "y")
    first, second = [u.callback_query for u in await bare_bot.get_updates(timeout=0) if u.callback_query]
    assert await bare_bot.answer_callback_query(first.id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bare_bot.answer_callback_query(first.id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bare_bot.answer_callback_query("14:999")
    emulator.age_queries(16)
    with pytest.raises(BadRequest, match=r"(?i)query is too old and response timeout expired"):
        await bare_bot.answer_callback_query(second.id)


async def test_what_telegram_refuses_to_send(emulator: Emulator, bare_bot: Bot) -> None:
    """Callback data over 64 bytes, texts over 4096 characters and captions over 1024 are refused."""
    emulator.add_user(15, "Jo", started=True)
    sent = await bare_bot.send_message(15, "ok", reply_markup=_one_button("é" * 32))  # 64 bytes
    for markup in (_one_button("é" * 32 + "x"), _one_button("")):
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bare_bot.send_message(15, "hi", reply_markup=markup)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bare_bot.edit_message_reply_markup(15, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bare_bot.edit_message_text("new", chat_id=15, message_id=sent.message_id, reply_markup=markup)
    await bare_bot.send_message(15, "😀" * 4096)  # counted in characters, after entity parsing
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bare_bot.edit_message_text("x" * 4097, chat_id=15, message_id=sent.message_id)
    await bare_bot.send_photo(15, "photo-1", caption="c" * 1024)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bare_bot.send_photo(15, "photo-1", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bare_bot.send_document(15, b"data", filename="f.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bare_bot.send_voice(15, "voice-1", caption="c" * 1025)
    assert emulator.history(15)[0]["text"] == "ok" and len(emulator.history(15)) == 3


def _one_button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])


async def test_setting_the_command_menu_is_not_a_message_to_a_chat() -> None:
    """With Telegram's message limits on, registering the menu in every language goes through."""
    emulator = Emulator(enforce_limits=True)
    await emulator.start()
    try:
        async with Bot("1:t", base_url=f"{emulator.base_url}/bot") as bot:
            for language in ("en", "pl", "ur", "ar"):
                assert await bot.set_my_commands([BotCommand("help", "Help")], language_code=language)
        assert emulator.rate_limited == 0
    finally:
        await emulator.stop()


async def test_each_call_waits_a_jittered_round_trip_half_each_way() -> None:
    """With a round trip set, a call waits half of it before it is handled and half before its answer,
    each call's trip within ±20% of it, the same trips for the same seed. The waits are recorded
    rather than slept, so nothing here depends on the clock."""
    waits: list[tuple[float, int]] = []  # (seconds, messages in the chat by then)
    emulator = Emulator(rtt=0.06, seed=7)

    async def sleep(seconds: float) -> None:
        waits.append((seconds, len(emulator.history(8))))

    emulator.sleep = sleep
    emulator.add_user(8, "Ed", started=True)
    await emulator.start()
    try:
        async with Bot("1:t", base_url=f"{emulator.base_url}/bot") as bot:  # getMe, on the way in
            waits.clear()
            for _ in range(3):
                await bot.send_message(8, "hi")
    finally:
        await emulator.stop()
    assert len(waits) == 6
    trips = [waits[i][0] + waits[i + 1][0] for i in range(0, 6, 2)]
    assert all(waits[i][0] == waits[i + 1][0] for i in range(0, 6, 2))
    assert all(0.048 <= trip <= 0.072 for trip in trips) and len(set(trips)) == 3
    assert [n for _, n in waits] == [0, 1, 1, 2, 2, 3]  # each message arrives halfway
    again = Emulator(rtt=0.06, seed=7)
    again.round_trip()  # the getMe above
    assert [again.round_trip() for _ in range(3)] == trips


async def test_no_round_trip_set_means_no_wait(emulator: Emulator, bare_bot: Bot) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    emulator.sleep = sleep
    emulator.add_user(8, "Ed", started=True)
    await bare_bot.send_message(8, "hi")
    assert waits == [] and emulator.round_trip() == 0.0


@pytest.mark.parametrize(("text", "seconds"), [("60ms", 0.06), ("0.5s", 0.5), ("60", 0.06), ("0", 0.0)])
def test_round_trips_are_read_as_written_on_a_command_line(text: str, seconds: float) -> None:
    assert parse_rtt(text) == pytest.approx(seconds)


def test_a_round_trip_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a round trip"):
        parse_rtt("fast")
