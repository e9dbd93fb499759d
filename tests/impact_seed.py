"""Data the impact report's and the stories' tests share: champions who do or do not agree to
sharing, their reports at given times, logged conversations, themes with actions, and stories."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import reports
from storage.models import (
    ActivityLog,
    Area,
    Champion,
    Role,
    Status,
    Story,
    Theme,
    ThemeAction,
    ThemeReport,
    ThemeStep,
)
from storage.reports import Draft

Sessions = async_sessionmaker[AsyncSession]
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


async def person(
    session: AsyncSession,
    telegram_id: int,
    *,
    share: bool,
    name: str = "Ana Secret",
    area: Area | None = None,
) -> Champion:
    """An active champion, agreeing to sharing or not."""
    champion = Champion(
        telegram_id=telegram_id,
        display_name=name,
        language="en",
        role=Role.CHAMPION,
        status=Status.ACTIVE,
        share_consent=share,
        area_id=area.id if area else None,
    )
    session.add(champion)
    await session.flush()
    return champion


async def reported(
    session: AsyncSession, champion: Champion, when: datetime, topic: str = "gp-access", text: str = "heard"
) -> int:
    """A report sent at `when`: its id."""
    made = await reports.create(
        session, champion, Draft(topic=topic, kind="barrier", people="few", text=text)
    )
    made.created_at = when
    await session.flush()
    return made.id


async def logged(session: AsyncSession, champion: Champion, when: datetime, people: int) -> None:
    session.add(
        ActivityLog(
            champion_id=champion.id, people=people, topic="gp-access", setting="faith", created_at=when
        )
    )
    await session.flush()


async def theme(
    session: AsyncSession,
    title: str,
    report_ids: list[int],
    *,
    step: ThemeStep = ThemeStep.ACT,
    outcome: str | None = None,
    shared: bool = False,
    done: tuple[str, ...] = (),
    open_actions: tuple[str, ...] = (),
    when: datetime | None = None,
) -> Theme:
    """A theme holding these reports, with actions done and not done."""
    made = Theme(title=title, step=step, outcome=outcome, outcome_shared=shared)
    session.add(made)
    await session.flush()
    for report_id in report_ids:
        session.add(ThemeReport(theme_id=made.id, report_id=report_id, added_at=when or at(2027, 2)))
    for text in done:
        session.add(
            ThemeAction(
                theme_id=made.id,
                text=text,
                owner="Dr Owner",
                due_on=date(2027, 3, 1),
                done_at=when or at(2027, 2),
            )
        )
    for text in open_actions:
        session.add(ThemeAction(theme_id=made.id, text=text, owner="Dr Owner", due_on=date(2027, 3, 1)))
    await session.flush()
    return made


async def story(session: AsyncSession, report_id: int, text: str) -> None:
    session.add(Story(report_id=report_id, text=text))
    await session.flush()
