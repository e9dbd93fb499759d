"""No log line, traceback included, carries a name, a Telegram id or what someone reported, even when
a database error quotes them (SQL parameters, PostgreSQL's DETAIL, asyncpg's conversion errors)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import LOG_LEVELS
from handlers.report_labels import KIND_LABELS, PEOPLE_LABELS
from storage import reports
from storage.models import Champion, Report
from tests.conftest import BotHarness, make_coordinator

NAME = "Zebedee Quillfeather"
HEARD = "Marmalade-lighthouse rumour: the Tuesday clinic turns people away"
USER_ID = 7_654_321_987


@pytest.fixture
def production_logging(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture at the levels `champbot run` and `webhook` use; our own loggers at every level."""
    for name, level in LOG_LEVELS.items():
        caplog.set_level(level, logger=name or None)
    for ours in ("bot", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=ours)
    return caplog


async def test_a_journey_with_database_errors_logs_no_personal_data(
    bot: BotHarness,
    places: None,
    production_logging: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sam = bot.person(3601, "Sam")
    await make_coordinator(bot, sam)
    zeb = bot.person(USER_ID, NAME)
    await zeb.send("/start")
    await zeb.press("English")
    await zeb.press("Yes, I agree")
    await zeb.press("Yes, that's fine")
    await zeb.send(NAME)
    await zeb.press("Northfield")
    assert (await zeb.press("Done"))[0].startswith("You're all set")

    # Saving the report fails, three times, with real errors from the engine that quote the report's
    # text, the name and the Telegram id; the fourth press of Confirm saves it.
    dialect = bot.sessions.kw["bind"].dialect.name
    create = reports.create

    async def failing_create(session: AsyncSession, champion: Champion, draft: reports.Draft) -> Report:
        failures.append(None)
        if len(failures) == 1:  # NOT NULL: the parameters, and PostgreSQL's "Failing row contains (…)"
            row: dict[str, Any] = {"champion_id": champion.id, "topic": None, "kind": "barrier"}
            await session.execute(insert(Report).values(**row, people="few", text=draft.text))
        elif len(failures) == 2:  # UNIQUE: PostgreSQL's "DETAIL: Key (telegram_id)=(…) already exists"
            values = {"telegram_id": champion.telegram_id, "display_name": champion.display_name}
            await session.execute(insert(Champion).values(**values, language="en", status="active"))
        elif len(failures) == 3 and dialect == "postgresql":  # asyncpg quotes a value it cannot convert
            await session.execute(text("SELECT CAST(:heard AS INTEGER)"), {"heard": draft.text})
        return await create(session, champion, draft)

    failures: list[None] = []
    monkeypatch.setattr(reports, "create", failing_create)
    await zeb.send("/report")
    await zeb.press("Vaccinations")
    await zeb.press(KIND_LABELS["barrier"])
    await zeb.send(HEARD)
    await zeb.press(PEOPLE_LABELS["few"])
    await zeb.press("Mine: Northfield")
    await zeb.press("Share my name")
    sorry = "Sorry, something went wrong on our side. Please try again, or send /help."
    for _ in range(2 if dialect == "sqlite" else 3):
        assert await zeb.press("Confirm") == [sorry]
    assert (await zeb.press("Confirm"))[0].startswith("Thank you! Your report is saved as R-")
    await zeb.send("/myreports")
    await zeb.send("/mydata")
    await sam.send("/insights")

    errors = [r for r in production_logging.records if r.exc_info and r.name == "handlers.errors"]
    assert len(errors) == len(failures) - 1  # each failure was logged with its traceback
    logged = production_logging.text
    assert "IntegrityError" in logged
    for secret in (NAME, "Quillfeather", HEARD, "Marmalade", str(USER_ID)):
        assert secret not in logged, f"{secret!r} is in the log"


@pytest.mark.bot_settings(flood_burst=1, flood_rate=0.001)
async def test_flood_control_logs_no_chat_id(
    bot: BotHarness, production_logging: pytest.LogCaptureFixture
) -> None:
    fast = bot.person(USER_ID, NAME)
    await fast.send("/help")
    slow_down = "You're sending messages very fast. Please wait a moment and try again."
    assert await fast.send("/help") == [slow_down]
    assert "too fast" in production_logging.text
    assert str(USER_ID) not in production_logging.text
