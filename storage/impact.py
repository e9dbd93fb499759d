"""The impact report's figures for a period (a quarter, month or year) beside the period before
it: what leaves the organisation for partners, so it follows the partner export's rules.

- Reports are counted only where the reporter currently agrees to sharing (as the partner export).
- Champions active: those who sent a report or logged a conversation in the period.
- Conversations and people reached come from storage.activity_figures, the one place reach is
  counted.
- Messages sent: copies of broadcasts and campaign messages that reached a champion; shared: the
  times champions said they passed one on.
- Themes: those touched in the period (a report of it sent, a step note, an action done), the
  most reported first, with the actions done and the outcome only where the coordinator marked it
  for sharing. Stories: storage.stories' rules.

Counts are returned as they are; whoever shows them suppresses small ones (insight_export.SMALL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from storage import activity_figures, stories
from storage.models import (
    ActivityLog,
    Champion,
    Delivery,
    Report,
    Response,
    Theme,
    ThemeAction,
    ThemeNote,
    ThemeReport,
    ThemeStep,
)
from storage.outbox import SENT
from storage.periods import Period, parse_period

THEMES = 3  # shown: the report is one page
STORIES = 3


def previous(period: Period) -> Period:
    """The period of the same kind just before: 2026-Q4 for 2027-Q1, 2027-02 for 2027-03."""
    label = period.label
    year = int(label[:4])
    if "Q" in label:
        quarter = int(label[-1])
        return parse_period(f"{year}-Q{quarter - 1}" if quarter > 1 else f"{year - 1}-Q4")
    if len(label) == len("2027-03"):
        month = int(label[5:])
        return parse_period(f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12")
    return parse_period(f"{year - 1:04d}")


@dataclass(frozen=True)
class Change:
    """A figure in the period and in the one before."""

    now: int
    before: int


@dataclass(frozen=True)
class ThemeDone:
    """A theme as partners may see it: no report, name or owner."""

    title: str
    step: ThemeStep
    reports: int  # its reports whose champion agrees to sharing
    done: list[str]  # the actions done by the period's end, oldest first
    outcome: str | None  # only if marked for sharing


@dataclass(frozen=True)
class Impact:
    """Everything the impact report shows."""

    period: Period
    previous: Period
    reports: Change
    champions: Change
    conversations: Change
    people: Change
    messages: Change
    shared: Change
    by_month: dict[str, dict[str, int]]  # month (YYYY-MM) -> topic id -> shareable reports
    themes: list[ThemeDone] = field(default_factory=list)
    stories: list[stories.Shown] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing at all happened in the period."""
        figures = (self.reports, self.champions, self.conversations, self.messages, self.shared)
        return not any(figure.now for figure in figures) and not self.themes and not self.stories


def _shareable(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [Champion.share_consent.is_(True), Report.created_at >= since, Report.created_at < until]


async def _reports_by_topic(session: AsyncSession, since: datetime, until: datetime) -> dict[str, int]:
    query = (
        select(Report.topic, func.count(Report.id))
        .join(Champion, Champion.id == Report.champion_id)
        .where(*_shareable(since, until))
        .group_by(Report.topic)
    )
    return {topic: int(count) for topic, count in (await session.execute(query)).all()}


async def _reports(session: AsyncSession, period: Period) -> int:
    query = select(func.count(Report.id)).join(Champion, Champion.id == Report.champion_id)
    return int(await session.scalar(query.where(*_shareable(period.start, period.end))) or 0)


async def _active(session: AsyncSession, period: Period) -> int:
    """Champions who reported or logged a conversation in the period."""
    reporters = select(Report.champion_id).where(
        Report.created_at >= period.start, Report.created_at < period.end
    )
    loggers = select(ActivityLog.champion_id).where(
        ActivityLog.created_at >= period.start, ActivityLog.created_at < period.end
    )
    either = union(reporters, loggers).subquery()
    return int(await session.scalar(select(func.count()).select_from(either)) or 0)


async def _messages(session: AsyncSession, period: Period) -> int:
    query = select(func.count(Delivery.id)).where(
        Delivery.broadcast_id.is_not(None),
        Delivery.state == SENT,
        Delivery.sent_at >= period.start,
        Delivery.sent_at < period.end,
    )
    return int(await session.scalar(query) or 0)


async def _shared(session: AsyncSession, period: Period) -> int:
    query = select(func.count(Response.id)).where(
        Response.kind == "shared", Response.created_at >= period.start, Response.created_at < period.end
    )
    return int(await session.scalar(query) or 0)


def _month_bounds(period: Period) -> list[tuple[str, datetime, datetime]]:
    """Each month of the period, with its bounds."""
    months = period.months()
    starts = [parse_period(month).start for month in months]
    return list(zip(months, starts, [*starts[1:], period.end], strict=True))


async def _themes(session: AsyncSession, period: Period, limit: int) -> list[ThemeDone]:
    """The themes touched in the period, most shareable reports first."""
    since, until = period.start, period.end
    reported = (
        select(ThemeReport.theme_id)
        .join(Report, Report.id == ThemeReport.report_id)
        .where(Report.created_at >= since, Report.created_at < until)
    )
    noted = select(ThemeNote.theme_id).where(ThemeNote.created_at >= since, ThemeNote.created_at < until)
    acted = select(ThemeAction.theme_id).where(ThemeAction.done_at >= since, ThemeAction.done_at < until)
    touched = union(reported, noted, acted).subquery()
    shareable = (
        select(ThemeReport.theme_id, func.count(ThemeReport.report_id).label("reports"))
        .join(Report, Report.id == ThemeReport.report_id)
        .join(Champion, Champion.id == Report.champion_id)
        .where(Champion.share_consent.is_(True), Report.created_at < until)
        .group_by(ThemeReport.theme_id)
        .subquery()
    )
    count = func.coalesce(shareable.c.reports, 0)
    rows = (
        await session.execute(
            select(Theme, count)
            .join(touched, touched.c.theme_id == Theme.id)
            .outerjoin(shareable, shareable.c.theme_id == Theme.id)
            .order_by(count.desc(), Theme.id)
            .limit(limit)
        )
    ).all()
    ids = [theme.id for theme, _count in rows]
    done: dict[int, list[str]] = {theme_id: [] for theme_id in ids}
    actions = await session.execute(
        select(ThemeAction.theme_id, ThemeAction.text)
        .where(ThemeAction.theme_id.in_(ids), ThemeAction.done_at < until)
        .order_by(ThemeAction.done_at, ThemeAction.id)
    )
    for theme_id, text in actions.all():
        done[theme_id].append(text)
    return [
        ThemeDone(
            theme.title,
            theme.step,
            int(reports),
            done[theme.id],
            theme.outcome if theme.outcome_shared else None,
        )
        for theme, reports in rows
    ]


async def impact(session: AsyncSession, period: Period, themes: int = THEMES, shown: int = STORIES) -> Impact:
    """The figures for `period` and the one before it, the months' reports by topic, the top
    `themes` and up to `shown` stories."""
    before = previous(period)

    async def change(count: Callable[[AsyncSession, Period], Awaitable[int]]) -> Change:
        return Change(await count(session, period), await count(session, before))

    now_reach = await activity_figures.reach(session, period.start, period.end)
    before_reach = await activity_figures.reach(session, before.start, before.end)
    return Impact(
        period=period,
        previous=before,
        reports=await change(_reports),
        champions=await change(_active),
        conversations=Change(now_reach.sessions, before_reach.sessions),
        people=Change(now_reach.people, before_reach.people),
        messages=await change(_messages),
        shared=await change(_shared),
        by_month={
            month: await _reports_by_topic(session, since, until)
            for month, since, until in _month_bounds(period)
        },
        themes=await _themes(session, period, themes),
        stories=await stories.shown(session, period.start, period.end, shown),
    )
