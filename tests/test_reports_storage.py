"""Report storage without Telegram: references, filters, replies claimed once, topics file checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import LANGUAGES
from storage import champions, reports
from storage.models import Champion, Status
from storage.report_topics import TopicsError, load_topics
from storage.reports import Draft, Filters


async def _champion(session: AsyncSession, telegram_id: int, language: str = "en") -> Champion:
    champion = Champion(telegram_id=telegram_id, display_name=f"C{telegram_id}", language=language)
    champion.status = Status.ACTIVE
    session.add(champion)
    await session.flush()
    return champion


def test_references_round_trip_and_reject_other_text() -> None:
    assert reports.reference(42) == "R-1042"
    assert reports.parse_reference("R-1042") == 42
    assert reports.parse_reference(" r1042 ") == 42
    for text in ("R-1000", "1042", "R-12", "R-10x2", ""):
        assert reports.parse_reference(text) is None


def test_filters_survive_the_conversation_state() -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    filters = Filters(topic="housing", status="new", since=since)
    assert Filters.from_dict(filters.to_dict()) == filters
    assert Filters.from_dict({"bogus": 1}) == Filters()


async def test_find_filters_newest_first_and_counts(sessions: async_sessionmaker[AsyncSession]) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    async with sessions.begin() as session:
        champion = await _champion(session, 1)
        for day in range(6):
            report = await reports.create(
                session,
                champion,
                Draft(
                    topic="housing" if day % 2 else "other", kind="barrier", people="few", text=f"day {day}"
                ),
            )
            report.created_at = start + timedelta(days=day)
    async with sessions() as session:
        page, total = await reports.find(session, Filters(topic="housing"), offset=0, limit=2)
        assert total == 3
        assert [r.text for r in page] == ["day 5", "day 3"]
        page, total = await reports.find(session, Filters(since=start + timedelta(days=4)))
        assert (total, [r.text for r in page]) == (2, ["day 5", "day 4"])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(reports, "COUNT_CAP", 2)  # counting stops 3 past the page's start
            assert (await reports.find(session, Filters(), offset=0, limit=1))[1] == 3
            assert (await reports.find(session, Filters(), offset=2, limit=1))[1] == 5
        mine, count = await reports.of_champion(session, champion.id, offset=4, limit=5)
        assert count == 6 and [r.text for r in mine] == ["day 1", "day 0"]


async def test_a_report_needs_something_heard(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        champion = await _champion(session, 2)
        with pytest.raises(ValueError):
            await reports.create(session, champion, Draft(topic="other", kind="idea", people="one"))
        with pytest.raises(ValueError):
            await reports.create(
                session, champion, Draft(topic="other", kind="rumour", people="one", text="x")
            )


async def test_replies_reach_existing_reports_and_name_whom_to_tell(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        champion = await _champion(session, 3, "ur")
        report = await reports.create(
            session, champion, Draft(topic="other", kind="question", people="one", text="Is it safe?")
        )
    async with sessions.begin() as session:
        ids = [report.id, report.id + 999]
        (replied,) = await reports.reply(session, ids, "We asked the GP.", None, False)
        assert replied.champion_id == champion.id
    async with sessions.begin() as session:
        found = await reports.reply_to_tell(session, replied.reply_id)
        assert found and found[0].text == "We asked the GP." and found[1].text == "Is it safe?"
        assert (await reports.get(session, report.id)).status == "acted"  # type: ignore[union-attr]
        await champions.erase(session, champion)
    async with sessions.begin() as session:
        assert await reports.get(session, report.id) is None  # erased with the champion
        assert await reports.reply(session, [report.id], "Too late", None, False) == []


def test_the_shipped_topics_load_and_a_broken_file_is_named(tmp_path: Path) -> None:
    topics = load_topics(languages=tuple(LANGUAGES))
    assert [t.id for t in topics][:2] == ["vaccinations", "cancer-screening"]
    assert all(t.label("en") for t in topics)
    broken = tmp_path / "report_topics.yaml"
    broken.write_text("- id: Bad Id\n  label: {en: X}\n", encoding="utf-8")
    with pytest.raises(TopicsError, match="topic 1: id must be"):
        load_topics(broken)
    broken.write_text("- id: ok\n  label: {xx: X}\n", encoding="utf-8")
    with pytest.raises(TopicsError, match="English"):
        load_topics(broken)
