"""A real `champbot run` process killed (SIGKILL) half-way through someone joining, then started again:
every message they sent is handled, the one in hand at the kill is not applied twice, and joining goes
on at the right step."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator import Emulator
from storage import champions
from storage.models import Champion, ConversationState
from tests.conftest import texts

CHAMPBOT = str(Path(sys.executable).parent / "champbot")
WAIT = 30.0  # a process start included
ANA = 9101


async def start_bot(
    emulator: Emulator, database_url: str, tmp_path: Path, run: int
) -> asyncio.subprocess.Process:
    """`champbot run` polling the emulator, logging to a file in tmp_path."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CHAMPBOT_TOKEN": "1000001:crash-test-token",
        "CHAMPBOT_API_BASE_URL": emulator.base_url,
        "CHAMPBOT_DATABASE_URL": database_url,
        "CHAMPBOT_DATA_DIR": str(tmp_path),
        "CHAMPBOT_DELIVERY_WORKERS": "0",
    }
    with (tmp_path / f"bot-{run}.log").open("wb") as log:
        return await asyncio.create_subprocess_exec(CHAMPBOT, "run", env=env, cwd=tmp_path, stderr=log)


async def replies(emulator: Emulator, chat_id: int, before: int, count: int) -> list[str]:
    """Wait until the bot has said `count` things in the chat since history position `before`."""

    def said() -> list[dict[str, Any]]:
        return [m for m in emulator.history(chat_id)[before:] if m.get("from_bot")]

    async with asyncio.timeout(WAIT):
        while len(said()) < count:
            await emulator.wait_for_change(chat_id, WAIT)
    return texts(said())


async def send(emulator: Emulator, text: str, count: int = 1) -> list[str]:
    before = len(emulator.history(ANA))
    emulator.send(ANA, text)
    return await replies(emulator, ANA, before, count)


async def press(emulator: Emulator, label: str, count: int = 1) -> list[str]:
    """Press the button with this label on the newest bot message that has it."""
    history = emulator.history(ANA)
    for message in reversed(history):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] in {label, f"✓ {label}"}:
                    before = len(history)
                    emulator.press(ANA, message["message_id"], button["callback_data"])
                    return await replies(emulator, ANA, before, count)
    raise AssertionError(f"No button {label!r}")


async def echoed(emulator: Emulator, question: str) -> None:
    """Wait until the question beginning with `question` shows its answer with its buttons gone: an
    edit that goes in the background, so it can come after the next question."""

    def open_question() -> bool:
        asked = [m for m in emulator.history(ANA) if (m.get("text") or "").startswith(question)]
        return bool(asked and asked[-1].get("reply_markup"))

    async with asyncio.timeout(WAIT):
        while open_question():
            await emulator.wait_for_change(ANA, WAIT)


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL


async def test_sigkill_mid_join_then_restart_loses_no_message_and_applies_none_twice(
    sessions: async_sessionmaker[AsyncSession],
    emulator: Emulator,
    database_url: str,
    tmp_path: Path,
    places: None,
) -> None:
    emulator.add_user(ANA, "Ana", "en")
    first = await start_bot(emulator, database_url, tmp_path, 1)
    assert await send(emulator, "/start") == ["Welcome! Please choose your language."]
    await press(emulator, "English", count=2)
    await press(emulator, "Yes, I agree")
    assert await press(emulator, "No") == ["What should we call you? Your first name or a nickname is fine."]
    await echoed(emulator, "One more choice")

    # Ana types her name and then /help; the bot saves her name but hangs sending the next question.
    stuck = emulator.hold(ANA)
    before = len(emulator.history(ANA))
    emulator.send(ANA, "Ana")
    emulator.send(ANA, "/help")
    await asyncio.wait_for(stuck.wait(), WAIT)
    await kill(first)
    emulator.release(ANA)
    assert texts([m for m in emulator.history(ANA)[before:] if m.get("from_bot")]) == []
    async with sessions() as session:
        state = await session.get(ConversationState, ANA)
        assert state and state.step == "join:area" and state.data["name"] == "Ana"  # applied, not confirmed

    second = await start_bot(emulator, database_url, tmp_path, 2)
    try:
        # Both updates come again: the name, already applied, is not taken twice (she is asked for
        # her area), and /help, which the killed process had fetched, is answered too.
        said = await replies(emulator, ANA, before, 3)
        assert said[:2] == ["Please choose one of the buttons.", "Which area do you mostly work in?"]
        assert said[2].startswith("Here is what I can do:")
        await press(emulator, "Riverside")
        assert (await press(emulator, "Done", count=2))[0].startswith("You're all set, Ana!")
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), WAIT) == 0
    async with sessions() as session:
        champion = await champions.by_telegram_id(session, ANA)
        assert (
            champion
            and champion.display_name == "Ana"
            and champion.area
            and champion.area.name == "Riverside"
        )
        assert await session.scalar(select(func.count()).select_from(Champion)) == 1
        assert await session.get(ConversationState, ANA) is None


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then it exits 0 (it must not have stopped on its own before)."""
    assert process.returncode is None, f"the bot had already exited with {process.returncode}"
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), WAIT) == 0


async def test_an_update_that_cannot_be_read_is_skipped_and_confirmed_past(
    sessions: async_sessionmaker[AsyncSession], emulator: Emulator, database_url: str, tmp_path: Path
) -> None:
    emulator.add_user(ANA, "Ana", "en")
    first = await start_bot(emulator, database_url, tmp_path, 1)
    try:
        assert (await send(emulator, "/help"))[0].startswith("Here is what I can do:")
        bad = emulator.push_raw(
            {"message": {"message_id": "one", "date": 0, "chat": "Ana's chat", "text": "Ana Secret-Name"}}
        )
        # The next message is answered: the loop went on past the bad update.
        assert (await send(emulator, "/help"))[0].startswith("Here is what I can do:")
    finally:
        await stop(first)
    second = await start_bot(emulator, database_url, tmp_path, 2)
    try:
        assert (await send(emulator, "/help"))[0].startswith("Here is what I can do:")
    finally:
        await stop(second)
    first_log = (tmp_path / "bot-1.log").read_text()
    second_log = (tmp_path / "bot-2.log").read_text()
    assert f"Skipped update {bad}" in first_log
    assert "Secret-Name" not in first_log and "Ana's chat" not in first_log
    assert f"update {bad}" not in second_log  # confirmed past: the restart never saw it
    for log in (first_log, second_log):
        assert "still running" not in log and "Traceback" not in log
