"""Success stories for partners: a coordinator's anonymised wording of a report, one per report.

A story may be written for any report, but it is shown (in the impact report) only while the
report's champion agrees to sharing with partners: withdrawing hides it at once, and erasing the
champion erases their reports and so, by cascade, the stories. What is shown of a story is its
text, the report's topic and its month: no name, id or reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Champion, Report, Story

TEXT_MAX = 1000  # characters, as the column holds
EMPTY = "empty"
TOO_LONG = "too_long"


class StoryError(ValueError):
    """A story's text that cannot be kept: `reason` is EMPTY or TOO_LONG."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checked(text: str) -> str:
    """The story's text as kept: stripped, 1 to TEXT_MAX characters; else StoryError."""
    text = text.strip()
    if not text:
        raise StoryError(EMPTY)
    if len(text) > TEXT_MAX:
        raise StoryError(TOO_LONG)
    return text


async def of_report(session: AsyncSession, report_id: int) -> Story | None:
    """The story written for a report, if any."""
    return await session.scalar(select(Story).where(Story.report_id == report_id))


async def save(session: AsyncSession, report_id: int, text: str, coordinator_id: int | None) -> bool:
    """Write (or replace) the report's story; False if there is no such report. The text is
    `checked` first (StoryError)."""
    text = checked(text)
    if await session.scalar(select(Report.id).where(Report.id == report_id)) is None:
        return False
    story = await of_report(session, report_id)
    if story is None:
        session.add(Story(report_id=report_id, text=text, coordinator_id=coordinator_id))
    else:
        story.text, story.coordinator_id = text, coordinator_id
    await session.flush()
    return True


async def remove(session: AsyncSession, report_id: int) -> bool:
    """Delete the report's story; False if it had none."""
    return await rows_changed(session, delete(Story).where(Story.report_id == report_id)) > 0


@dataclass(frozen=True)
class Shown:
    """A story as it may leave the organisation: its words, the report's topic id and month."""

    text: str
    topic: str
    month: str  # YYYY-MM, UTC


async def shown(session: AsyncSession, since: datetime, until: datetime, limit: int) -> list[Shown]:
    """Up to `limit` stories of reports sent in [since, until) whose champion currently agrees to
    sharing, newest report first."""
    rows = await session.execute(
        select(Story.text, Report.topic, Report.created_at)
        .join(Report, Report.id == Story.report_id)
        .join(Champion, Champion.id == Report.champion_id)
        .where(Champion.share_consent.is_(True), Report.created_at >= since, Report.created_at < until)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return [Shown(text, topic, f"{at.astimezone(UTC):%Y-%m}") for text, topic, at in rows.all()]
