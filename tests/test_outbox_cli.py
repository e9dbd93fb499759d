"""`champbot outbox`: what the outbox holds per kind and state, how long the oldest due row has waited,
why rows failed and which may have been received twice; by ids only, never names, Telegram ids or text."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Champion, Delivery, Status, utcnow

NAME = "Secret-Name"
TEXT = "Secret message text"
TELEGRAM_ID = 880001
CHAT = "Bad Request: chat not found"
LONG = "Bad Request: message is too long"
SERVER = "Internal Server Error"


def outbox(database_url: str, tmp_path: Path, *args: str) -> str:
    """Run `champbot outbox ARGS` on the database; its standard output (it must succeed)."""
    env = {"PATH": "/usr/bin:/bin", "CHAMPBOT_DATABASE_URL": database_url, "CHAMPBOT_DATA_DIR": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "champbot"), "outbox", *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def fill(sessions: async_sessionmaker[AsyncSession]) -> tuple[list[int], dict[str, int]]:
    """Three champions and rows of three kinds in every state; their champion ids and some row ids."""
    now = utcnow()
    async with sessions.begin() as session:
        people = [
            Champion(telegram_id=TELEGRAM_ID + n, display_name=NAME, language="en", status=Status.ACTIVE)
            for n in range(3)
        ]
        session.add_all(people)
        await session.flush()
        ana, ben, cai = (person.id for person in people)

        def row(kind: str, state: str, champion: int, **values: object) -> Delivery:
            lane = 1 if kind == "reply" else 2
            return Delivery(kind=kind, lane=lane, champion_id=champion, state=state, **values)

        named = {
            "twice-sending": row("broadcast", "sending", ben, attempts=2, in_flight_at_crash=True),
            "twice-sent": row("broadcast", "sent", cai, attempts=2, in_flight_at_crash=True),
            "chat": row("broadcast", "failed", ana, attempts=1, error=CHAT),
            "long": row("broadcast", "failed", ben, attempts=1, error=LONG),
            "chat-2": row("broadcast", "failed", cai, attempts=1, error=CHAT),
            "server": row("reply", "failed", ana, attempts=5, error=SERVER, payload={"text": TEXT}),
        }
        session.add_all(
            [
                row("broadcast", "sent", ana),
                row("broadcast", "sent", ben),
                row("broadcast", "pending", ana, not_before=now - timedelta(minutes=10, seconds=5)),
                row("broadcast", "pending", ben, not_before=now + timedelta(hours=8)),  # quiet hours
                row("broadcast", "blocked", cai, error="Forbidden: bot was blocked by the user"),
                row("reply", "pending", ben, not_before=now - timedelta(seconds=90), payload={"text": TEXT}),
                row("reply", "skipped", cai),
                row("approval-request", "sent", ana),
                *named.values(),
            ]
        )
        await session.flush()
        return [ana, ben, cai], {name: delivery.id for name, delivery in named.items()}


def cells(shown: str) -> list[list[str]]:
    """Each line's words, so the table is compared without its column widths."""
    return [line.split() for line in shown.splitlines()]


HEADER = ["kind", "pending", "sending", "sent", "failed", "blocked", "skipped", "oldest", "pending"]
TWICE = ["In", "flight", "when", "a", "worker", "stopped,", "so", "possibly", "received", "twice:"]
REASONS = ["Most", "common", "failure", "reasons:"]


async def test_the_outbox_by_kind_and_state_with_reasons_and_rows_possibly_received_twice(
    sessions: async_sessionmaker[AsyncSession], database_url: str, tmp_path: Path
) -> None:
    assert outbox(database_url, tmp_path) == "The outbox is empty.\n"
    (ana, ben, cai), rows = await fill(sessions)

    shown = outbox(database_url, tmp_path)
    assert cells(shown) == [
        HEADER,
        ["approval-request", "0", "0", "1", "0", "0", "0", "-"],
        ["broadcast", "2", "1", "3", "3", "1", "0", "10", "min"],
        ["reply", "1", "0", "0", "1", "0", "1", "1", "min"],
        REASONS,
        ["broadcast", "2", *CHAT.split()],
        ["broadcast", "1", *LONG.split()],
        ["reply", "1", *SERVER.split()],
        TWICE,
        ["row", "kind", "champion"],
        [str(rows["twice-sending"]), "broadcast", str(ben)],
        [str(rows["twice-sent"]), "broadcast", str(cai)],
    ]
    lines = shown.splitlines()
    assert lines[0].index("pending") == len("approval-request") + 2  # columns follow the longest kind
    end = lines[0].index("skipped") + len("skipped")
    assert all(line[end - 1].isdigit() and line[end] == " " for line in lines[1:4])  # counts line up
    for secret in (NAME, TEXT, str(TELEGRAM_ID), str(TELEGRAM_ID + 1), str(TELEGRAM_ID + 2)):
        assert secret not in shown

    assert cells(outbox(database_url, tmp_path, "--kind", "reply", "--failed")) == [
        HEADER,
        ["reply", "1", "0", "0", "1", "0", "1", "1", "min"],
        REASONS,
        ["reply", "1", *SERVER.split()],
        ["Failed", "rows:"],
        ["row", "kind", "champion", "attempts", "reason"],
        [str(rows["server"]), "reply", str(ana), "5", *SERVER.split()],
    ]
    assert cells(outbox(database_url, tmp_path, "--failed"))[-5:] == [
        ["row", "kind", "champion", "attempts", "reason"],
        [str(rows["chat"]), "broadcast", str(ana), "1", *CHAT.split()],
        [str(rows["long"]), "broadcast", str(ben), "1", *LONG.split()],
        [str(rows["chat-2"]), "broadcast", str(cai), "1", *CHAT.split()],
        [str(rows["server"]), "reply", str(ana), "5", *SERVER.split()],
    ]
    assert outbox(database_url, tmp_path, "--kind", "digest") == "No rows of kind 'digest' in the outbox.\n"
    assert outbox(database_url, tmp_path, "--kind", "approval-request", "--failed").splitlines()[-1] == (
        "No failed rows."
    )


def test_the_outbox_command_explains_itself(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    command = [str(Path(sys.executable).parent / "champbot"), "outbox", "--help"]
    shown = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120).stdout
    assert shown.startswith("Usage: champbot outbox [OPTIONS]")
    words = " ".join(shown.split())
    for said in ("--kind", "--failed", "received twice", "no names, Telegram ids or message text"):
        assert said in words
