"""Reports champions send ("what I heard") and coordinators' replies: create, find, review, reply.

A report's reference (`R-1042`) is derived from its id, so it needs no column of its own. Whether a
report is anonymous decides what a coordinator or an export may see of who sent it; this module
returns champions only where a reply has to reach them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Champion, Report, ReportReply, utcnow

KINDS = ("barrier", "works", "question", "misinfo", "idea", "success")  # a champion's /report choices
ANSWER_BACK_KINDS = ("concern",)  # kinds only answer-back makes: a concern heard about a message
ALL_KINDS = KINDS + ANSWER_BACK_KINDS  # every kind a report can have, for lists, filters and figures
PEOPLE = ("one", "few", "many")
STATUSES = ("new", "seen", "acted")
MEDIA_KINDS = ("voice", "photo")
COUNT_CAP = 1000  # lists count matches up to this many
TEXT_MAX = 4000  # leaves room for the reference and labels around it in a 4096-character message
REFERENCE_OFFSET = 1000  # the first report is R-1001: a reference never looks like a count
_REFERENCE = re.compile(r"^R-?(\d{4,18})$", re.IGNORECASE)


def reference(report_id: int) -> str:
    """The short reference a champion is given, e.g. R-1042."""
    return f"R-{report_id + REFERENCE_OFFSET}"


def parse_reference(text: str) -> int | None:
    """The report id in a reference such as "R-1042" or "r1042"; None if it is not one."""
    match = _REFERENCE.match(text.strip())
    if match is None or int(match.group(1)) <= REFERENCE_OFFSET:
        return None
    return int(match.group(1)) - REFERENCE_OFFSET


@dataclass(frozen=True)
class Filters:
    """Which reports a coordinator is looking at; every field is optional. Dates are UTC bounds,
    `since` included and `until` excluded."""

    topic: str | None = None
    kind: str | None = None
    area_id: int | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for the conversation state; unset fields are left out."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        for key in ("since", "until"):
            if key in data:
                data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Filters:
        """Read back `to_dict`'s form, ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        for key in ("since", "until"):
            if key in values:
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)

    def apply(self, query: Select[Any]) -> Select[Any]:
        """Narrow a query over Report to these filters."""
        if self.topic is not None:
            query = query.where(Report.topic == self.topic)
        if self.kind is not None:
            query = query.where(Report.kind == self.kind)
        if self.area_id is not None:
            query = query.where(Report.area_id == self.area_id)
        if self.status is not None:
            query = query.where(Report.status == self.status)
        if self.since is not None:
            query = query.where(Report.created_at >= self.since)
        if self.until is not None:
            query = query.where(Report.created_at < self.until)
        return query


@dataclass(frozen=True)
class Draft:
    """A finished report as the champion confirmed it."""

    topic: str
    kind: str
    people: str
    text: str | None = None
    media_kind: str | None = None
    media_file_id: str | None = None
    area_id: int | None = None
    anonymous: bool = True
    delivery_id: int | None = None  # the copy of a message a question or concern answers


async def create(session: AsyncSession, champion: Champion, draft: Draft) -> Report:
    """Store a confirmed report and return it (with its id, for the reference)."""
    if draft.kind not in ALL_KINDS or draft.people not in PEOPLE:
        raise ValueError(f"unknown kind {draft.kind!r} or people {draft.people!r}")
    if draft.media_kind is not None and draft.media_kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {draft.media_kind!r}")
    if not (draft.text or draft.media_file_id):
        raise ValueError("a report needs text, a voice note or a photo")
    report = Report(champion_id=champion.id, language=champion.language, status="new", **asdict(draft))
    session.add(report)
    await session.flush()
    return report


async def get(session: AsyncSession, report_id: int) -> Report | None:
    """One report, or None if it does not exist (or was deleted with its champion)."""
    return await session.get(Report, report_id)


async def find(
    session: AsyncSession, filters: Filters, offset: int = 0, limit: int = 5
) -> tuple[list[Report], int]:
    """A page of reports matching the filters, newest first, and how many match. Counting stops
    COUNT_CAP + 1 past the page's start (a total over COUNT_CAP reads "more than 1,000"), since
    counting a million rows would cost more than the page itself."""
    page = filters.apply(select(Report)).order_by(Report.created_at.desc(), Report.id.desc())
    newest = filters.apply(select(Report.id)).order_by(Report.created_at.desc())
    capped = newest.offset(offset).limit(COUNT_CAP + 1).subquery()  # ordered: walks the page's index
    total = await session.scalar(select(func.count()).select_from(capped))
    rows = await session.scalars(page.offset(offset).limit(limit))
    return list(rows), offset + int(total or 0)


async def of_champion(
    session: AsyncSession, champion_id: int, offset: int = 0, limit: int = 5
) -> tuple[list[Report], int]:
    """A page of one champion's own reports, newest first, and how many they have sent."""
    query = select(Report).where(Report.champion_id == champion_id)
    total = await session.scalar(select(func.count(Report.id)).where(Report.champion_id == champion_id))
    rows = await session.scalars(
        query.order_by(Report.created_at.desc(), Report.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def replies_to(session: AsyncSession, report_ids: Sequence[int]) -> dict[int, list[ReportReply]]:
    """The replies to each of these reports, oldest first."""
    rows = await session.scalars(
        select(ReportReply).where(ReportReply.report_id.in_(report_ids)).order_by(ReportReply.id)
    )
    found: dict[int, list[ReportReply]] = {report_id: [] for report_id in report_ids}
    for row in rows:
        found[row.report_id].append(row)
    return found


async def set_status(session: AsyncSession, report_id: int, status: str) -> bool:
    """Mark a report new, seen or acted on; False if it no longer exists."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    result = await rows_changed(session,
        update(Report).where(Report.id == report_id).values(status=status, updated_at=utcnow())
    )
    return bool(result)


async def mark_seen(session: AsyncSession, report_ids: Sequence[int]) -> None:
    """Reports a coordinator has opened are no longer new (acted-on ones stay acted on)."""
    await session.execute(
        update(Report)
        .where(Report.id.in_(report_ids), Report.status == "new")
        .values(status="seen", updated_at=utcnow())
    )


@dataclass(frozen=True)
class Replied:
    """A stored reply and the champion to tell about it."""

    reply_id: int
    champion_id: int


async def reply(
    session: AsyncSession, report_ids: Sequence[int], text: str, coordinator_id: int | None, theme: bool
) -> list[Replied]:
    """Store a coordinator's reply to each report that still exists and mark them acted on; return
    the replies with the champions to tell (through the outbox, in the same transaction)."""
    existing = list(
        await session.execute(select(Report.id, Report.champion_id).where(Report.id.in_(report_ids)))
    )
    rows = [
        ReportReply(report_id=report_id, coordinator_id=coordinator_id, text=text, theme=theme)
        for report_id, _champion in existing
    ]
    session.add_all(rows)
    await session.flush()
    if existing:
        await session.execute(
            update(Report)
            .where(Report.id.in_([report_id for report_id, _champion in existing]))
            .values(status="acted", updated_at=utcnow())
        )
    return [Replied(row.id, champion_id) for row, (_id, champion_id) in zip(rows, existing, strict=True)]


async def readers(session: AsyncSession, report_ids: Sequence[int]) -> list[tuple[str, bool]]:
    """For each of these reports that still exists, the language its champion reads now (what a
    reply to it is rendered in) and whether it is anonymous."""
    rows = await session.execute(
        select(Champion.language, Report.anonymous)
        .join(Champion, Champion.id == Report.champion_id)
        .where(Report.id.in_(report_ids))
    )
    return [(language, anonymous) for language, anonymous in rows.all()]


async def reply_to_tell(session: AsyncSession, reply_id: int) -> tuple[ReportReply, Report] | None:
    """A stored reply and its report, to tell the champion; None if either is gone."""
    row = (
        await session.execute(
            select(ReportReply, Report)
            .join(Report, Report.id == ReportReply.report_id)
            .where(ReportReply.id == reply_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def matching_ids(session: AsyncSession, filters: Filters, limit: int = 10_000) -> list[int]:
    """Ids of the reports a theme reply covers (at most `limit`, newest first)."""
    query = filters.apply(select(Report.id)).order_by(Report.created_at.desc()).limit(limit)
    return list(await session.scalars(query))


async def shown_name(session: AsyncSession, report: Report) -> str | None:
    """The reporter's name as a coordinator may see it: None unless they chose to share it."""
    if report.anonymous:
        return None
    return await session.scalar(select(Champion.display_name).where(Champion.id == report.champion_id))


async def may_share(session: AsyncSession, report: Report) -> bool:
    """Whether a report may go into a partner export: its champion's current choice."""
    query = select(Champion.share_consent).where(Champion.id == report.champion_id)
    return bool(await session.scalar(query))
