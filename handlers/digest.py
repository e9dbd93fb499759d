"""The weekly digest to coordinators: last week's reports by topic and kind, and the new reports
that need a look. Sent once a week (CHAMPBOT_DIGEST_WEEKDAY and _HOUR, London time); the time it
went out is kept in the database, so a restart or a second worker never sends it twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from telegram import Bot
from telegram.error import TelegramError

from bot.context import Context
from bot.i18n import Translator, translator
from handlers.report_labels import KIND_LABELS, excerpt, topic_label
from storage import champions, insight_figures, job_runs
from storage.insight_export import SMALL
from storage.insight_figures import Digest
from storage.models import utcnow
from storage.report_topics import Topic
from storage.reports import ALL_KINDS, reference

log = logging.getLogger(__name__)

JOB = "weekly-digest"
TIMEZONE = "Europe/London"
EXCERPT = 60


async def digest_job(context: Context) -> None:
    """Scheduler job: send the weekly digest if it is due and nobody has sent it yet."""
    await send_digest(context.bot, context, utcnow())


def last_slot(now: datetime, weekday: int, hour: int) -> datetime:
    """The most recent digest time at or before `now` (weekday and hour in London time)."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    days_back = (local.weekday() - weekday) % 7
    slot = (local - timedelta(days=days_back)).replace(hour=hour, minute=0, second=0, microsecond=0)
    if slot > local:
        slot -= timedelta(days=7)
    return slot.astimezone(UTC)


async def send_digest(bot: Bot, context: Context, now: datetime) -> int:
    """Send the digest for the week before the latest slot to every active coordinator, in their
    language, unless it went out already; return how many coordinators got it. The slot is claimed
    before sending, so a failure loses one week's digest rather than ever sending it twice."""
    settings = context.settings
    slot = last_slot(now, settings.digest_weekday, settings.digest_hour)
    async with context.db.begin() as session:
        if not await job_runs.claim(session, JOB, slot, now):
            return 0
        figures = await insight_figures.digest(session, slot - timedelta(days=7), slot)
        coordinators = await champions.coordinators(session)
    sent = 0
    for coordinator in coordinators:
        t = translator(coordinator.language)
        try:
            await bot.send_message(coordinator.telegram_id, digest_text(t, context.topics, figures, slot))
        except TelegramError as exc:  # one unreachable coordinator must not stop the others
            log.warning("Weekly digest for coordinator %s failed: %s", coordinator.id, exc)
            continue
        sent += 1
    return sent


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
