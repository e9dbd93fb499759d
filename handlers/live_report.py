"""The live delivery report on a broadcast sent now: one message in the coordinator's chat, edited
every few seconds by a scheduled job until its figures are final. The message's chat and id are
kept on the broadcast, so whichever process leads after a restart goes on editing it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Update

from bot.context import Context
from bot.i18n import Translator, translator
from bot.replies import Edited, Outgoing, Sent
from storage import broadcasts, live_reports, responses
from storage.models import utcnow

log = logging.getLogger(__name__)

REPORT_SECONDS = 3  # how often the live reports are edited
REPORT_FOR = timedelta(hours=1)  # a report still changing this long after sending began stays as it is


def report_text(t: Translator, figures: responses.Progress) -> str:
    """The delivery report line: in progress, or the final summary."""
    if figures.status == broadcasts.MISSED:
        return t.gettext("This message was not sent: it fell due while the bot was down for too long.")
    if figures.status == broadcasts.CANCELLED:
        return t.gettext("This message was cancelled.")
    values = {
        "total": t.number(figures.total),
        "sent": t.number(figures.sent),
        "pending": t.number(figures.pending),
        "failed": t.number(figures.failed),
        "blocked": t.number(figures.blocked),
    }
    if not figures.finished:
        return t.ngettext(
            "Sending to {total} champion: {sent} sent, {pending} pending, "
            "{failed} failed, {blocked} blocked.",
            "Sending to {total} champions: {sent} sent, {pending} pending, "
            "{failed} failed, {blocked} blocked.",
            figures.total,
        ).format(**values)
    text = t.ngettext(
        "Finished sending to {total} champion: {sent} sent, {failed} failed, {blocked} blocked.",
        "Finished sending to {total} champions: {sent} sent, {failed} failed, {blocked} blocked.",
        figures.total,
    ).format(**values)
    if figures.skipped:
        text += "\n" + t.ngettext(
            "{count} was not sent: that champion stopped or paused messages, or the campaign was "
            "cancelled, after it was queued.",
            "{count} were not sent: those champions stopped or paused messages, or the campaign was "
            "cancelled, after it was queued.",
            figures.skipped,
        ).format(count=t.number(figures.skipped))
    if figures.possibly_twice:
        text += "\n" + t.ngettext(
            "{count} champion may have got it twice after a restart.",
            "{count} champions may have got it twice after a restart.",
            figures.possibly_twice,
        ).format(count=t.number(figures.possibly_twice))
    return text


async def show(update: Update, context: Context, broadcast_id: int) -> None:
    """Say the broadcast's first figures and keep which message says them, for the job to edit."""
    async with context.db.begin() as session:
        figures = await responses.progress(session, broadcast_id)
    assert figures is not None
    sent = await context.reply.say(report_text(context.t, figures))
    async with context.db.begin() as session:
        await live_reports.attach(session, broadcast_id, sent.chat_id, sent.message_id)


async def report_job(context: Context) -> None:
    """Scheduler job: edit every live report that is not final yet to the latest figures, in its
    coordinator's language now; mark final those that need no more edits."""
    now = utcnow()
    async with context.db.begin() as session:
        reports = await live_reports.still_open(session, context.settings.default_language)
        shown = [(report, await responses.progress(session, report.broadcast_id)) for report in reports]
    final = [
        report.broadcast_id
        for report, figures in shown
        if figures is None or await _update_report(context, report, figures, now)
    ]
    if final:
        async with context.db.begin() as session:
            await live_reports.finish(session, final, now)


async def _update_report(
    context: Context, report: live_reports.OpenReport, figures: responses.Progress, now: datetime
) -> bool:
    """Edit one report message; True once it needs no more edits: it shows the final figures, the
    message can no longer be edited (deleted, or the coordinator blocked the bot), or sending began
    more than REPORT_FOR ago (its last figures stay)."""
    given_up = now - report.started_at >= REPORT_FOR
    shown = Outgoing(report_text(translator(report.language), figures))
    edited = await context.replies_to(report.chat_id).edit(Sent(report.chat_id, report.message_id), shown)
    if edited == Edited.LATER:  # a network hiccup: try again next time
        log.warning("The report on broadcast %s was not updated this time", report.broadcast_id)
        return given_up
    if edited == Edited.GONE:
        log.warning("The report on broadcast %s can no longer be edited", report.broadcast_id)
        return True
    return figures.finished or given_up
