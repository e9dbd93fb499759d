"""The weekly digest to coordinators: last week's reports by topic and kind, and the new reports
that need a look. Sent once a week (CHAMPBOT_DIGEST_WEEKDAY and _HOUR, London time); the time it
slot is claimed in the same transaction that queues one outbox row per coordinator, so a restart or
a second worker never queues it twice and a failed send is retried rather than lost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context, Services
from bot.i18n import Translator, translator
from bot.replies import Outgoing
from handlers.common import isolate
from handlers.report_labels import KIND_LABELS, excerpt, topic_label
from storage import champions, insight_figures, job_runs, outbox, themes
from storage.insight_export import SMALL
from storage.insight_figures import Digest
from storage.models import utcnow
from storage.report_topics import Topic
from storage.reports import ALL_KINDS, reference

JOB = "weekly-digest"
TIMEZONE = "Europe/London"
EXCERPT = 60
OVERDUE_SHOWN = 10  # overdue theme actions listed, longest overdue first


async def digest_job(context: Context) -> None:
    """Scheduler job: queue the weekly digest if it is due and nobody has queued it yet."""
    if await queue_digest(context, utcnow()):
        context.bot_data.wake.ring(outbox.BULK)


def last_slot(now: datetime, weekday: int, hour: int) -> datetime:
    """The most recent digest time at or before `now` (weekday and hour in London time)."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    days_back = (local.weekday() - weekday) % 7
    slot = (local - timedelta(days=days_back)).replace(hour=hour, minute=0, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=7)
    return slot.astimezone(UTC)


async def queue_digest(context: Context, now: datetime) -> int:
    """Queue the digest for the week before the latest slot to every active coordinator, unless it
    was queued already; return how many coordinators it goes to. Each gets it in their language
    when it is sent, with the figures as they are then, until the next week's is due."""
    settings = context.settings
    slot = last_slot(now, settings.digest_weekday, settings.digest_hour)
    async with context.db.begin() as session:
        if not await job_runs.claim(session, JOB, slot, now):
            return 0
        coordinators = [coordinator.id for coordinator in await champions.coordinators(session)]
        payload = {"slot": slot.isoformat()}
        return await outbox.queue(
            session, outbox.DIGEST, coordinators, payload, not_before=now, expires_at=slot + timedelta(days=7)
        )


async def digest_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing:
    """Outbox renderer: the digest of the week before its slot, in the coordinator's language. A
    link in a report's excerpt is not previewed: the bot should not fetch what a champion typed."""
    slot = datetime.fromisoformat(str(item.payload["slot"]))
    figures = await insight_figures.digest(session, slot - timedelta(days=7), slot)
    today = slot.astimezone(ZoneInfo(TIMEZONE)).date()  # overdue as of the digest's day
    late, total = await themes.overdue(session, today, OVERDUE_SHOWN)
    t = translator(item.language)
    text = digest_text(t, services.topics, figures, slot)
    if total:
        text += "\n\n" + overdue_text(t, late, total)
    return Outgoing(text, preview=False)


def overdue_text(t: Translator, late: Sequence[themes.Overdue], total: int) -> str:
    """The theme actions past their due date and not done: holding partners to what they said."""
    lines = [
        t.ngettext(
            "{count} theme action is overdue:", "{count} theme actions are overdue:", total
        ).format(count=t.number(total))
    ]
    lines += [
        "• "
        + t.gettext("{title}: {action} – {owner}, due {date}").format(
            title=isolate(action.title),
            action=isolate(action.text),
            owner=isolate(action.owner),
            date=_day(t, action.due_on),
        )
        for action in late
    ]
    if total > len(late):
        lines.append("• …")
    lines.append(t.gettext("Open /themes to follow them up."))
    return "\n".join(lines)


def _day(t: Translator, day: date) -> str:
    return format_date(day, "medium", locale=t.locale)


def suppressed(t: Translator, count: int) -> str:
    """A count as it may leave the organisation: under 5 shown as "<5"."""
    return f"<{t.number(SMALL)}" if 0 < count < SMALL else t.number(count)


def digest_text(t: Translator, topics: list[Topic], figures: Digest, slot: datetime) -> str:
    """The digest in one coordinator's language."""
    _ = t.gettext
    week = figures.week
    first = format_date((slot - timedelta(days=7)).astimezone(ZoneInfo(TIMEZONE)), "medium", locale=t.locale)
    last = format_date((slot - timedelta(days=1)).astimezone(ZoneInfo(TIMEZONE)), "medium", locale=t.locale)
    lines = [
        _("Weekly digest: reports from {first} to {last}").format(first=first, last=last),
        _("Reports last week: {count}").format(count=suppressed(t, week.total)),
    ]
    if week.total:
        lines += ["", _("By topic:")]
        ordered = [topic.id for topic in topics if topic.id in week.by_topic]
        ordered += sorted(set(week.by_topic) - set(ordered))
        for topic_id in ordered:
            label = topic_label(topics, topic_id, t.language)
            lines.append(f"{label}: {suppressed(t, week.by_topic[topic_id])}")
        lines += ["", _("By kind:")]
        for kind in ALL_KINDS:
            if kind in week.by_kind:
                lines.append(f"{_(KIND_LABELS[kind])}: {suppressed(t, week.by_kind[kind])}")
    lines.append("")
    if not figures.waiting:
        lines.append(_("No new reports are waiting for review."))
        return "\n".join(lines)
    lines.append(
        t.ngettext(
            "{count} new report is waiting for review:",
            "{count} new reports are waiting for review:",
            figures.waiting,
        ).format(count=t.number(figures.waiting))
    )
    for report in figures.newest:
        topic = topic_label(topics, report.topic, t.language)
        lines.append(
            f"{reference(report.id)} · {topic} · {excerpt(t, report.text, report.media_kind, EXCERPT)}"
        )
    lines += ["", _("Open /insights to review them.")]
    return "\n".join(lines)
