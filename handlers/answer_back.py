"""A champion's answer to a broadcast: "Shared it", "A question" or "Concern heard".

Each answer is recorded once per message, and ticked on its button (the others stay, to be pressed
too). A question or concern, typed next (step `ans:text`), becomes an anonymous report; every
coordinator is told of it through the outbox (`forwarded_message`), with a button that opens it in
/insights to answer.
"""

from __future__ import annotations

from typing import Literal, cast

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context, Services
from bot.delivery import answer_choices
from bot.i18n import N_, translator
from bot.replies import Choice, Outgoing, ticked
from bot.steps import StepData
from handlers.common import isolate, save_step, stale_button
from handlers.reach import message_excerpt
from storage import champions, conversation, outbox, reports, responses

ANSWER_STEP = "ans:text"  # typing the question or concern
ANSWER_MAX = 1000
Asked = Literal["question", "concern"]  # the answers that ask for a few words, and become reports

# A coordinator is told of a question or concern without the champion's name: they were not asked
# to share it, so the report is anonymous.
FORWARDED = {
    "question": N_("A champion has a question about “{message}” ({reference}):\n\n{text}"),
    "concern": N_("A champion heard a concern about “{message}” ({reference}):\n\n{text}"),
}


class Answering(StepData):
    """Asked to type a question or concern about one delivered message."""

    delivery: int  # the champion's copy of the message
    kind: Asked


async def answer_back(update: Update, context: Context) -> None:
    """A champion pressed "Shared it", "A question" or "Concern heard" on a broadcast."""
    query = update.callback_query
    assert query and query.data
    _prefix, raw_id, kind = query.data.split(":")
    champion = context.champion
    delivery_id = int(raw_id)
    if delivery_id == 0:  # the composer's preview (handlers/compose.py): shown, never answered
        await context.reply.ack(context.t.gettext("This is only a preview."))
        return
    found, new, answered = None, False, set()
    if champion is not None:
        async with context.db.begin() as session:
            found = await responses.answerable(session, delivery_id, champion.id)
            if found is not None:
                new = await responses.record_response(session, delivery_id, kind)
                answered = await responses.answered(session, delivery_id)
    if found is None:  # someone else's message, or forged
        await stale_button(update, context)
        return
    _ = context.t.gettext
    if not new:
        await context.reply.ack(_("You have already told us that."))
        return
    choices = _ticked(answer_choices(delivery_id, context.t.language), answered)
    await context.reply.rechoose(choices, columns=len(choices))
    if kind == "shared":
        await context.reply.say(_("Thank you for sharing it! That is how these messages reach people."))
        return
    await save_step(update, context, ANSWER_STEP, Answering(delivery=delivery_id, kind=cast(Asked, kind)))
    if kind == "question":
        await context.reply.say(_("Tell us your question in a few words, or /cancel."))
    else:
        await context.reply.say(_("Tell us the concern you heard in a few words, or /cancel."))


def _ticked(choices: list[Choice], answered: set[str]) -> list[Choice]:
    """The answer-back choices with those already given ticked ("answer:<delivery>:<kind>")."""
    return [Choice(ticked(c.data.rsplit(":", 1)[1] in answered, c.label), c.data) for c in choices]


async def on_text(update: Update, context: Context) -> None:
    """Keep a champion's question or concern as a report, and tell every coordinator of it through
    the outbox (in the same transaction, so neither goes without the other)."""
    assert update.effective_chat and update.message
    data = context.step_as(Answering)
    assert data is not None  # routed here by the step the loading step read
    _ = context.t.gettext
    text = (update.message.text or "").strip()
    if not text:
        await context.reply.say(_("Please type a few words, or /cancel."))
        return
    if len(text) > ANSWER_MAX:
        await context.reply.say(
            context.t.ngettext(
                "That is too long. Please keep it to at most {count} character.",
                "That is too long. Please keep it to at most {count} characters.",
                ANSWER_MAX,
            ).format(count=context.t.number(ANSWER_MAX))
        )
        return
    champion = context.champion
    async with context.db.begin() as session:
        found = await responses.answerable(session, data.delivery, champion.id) if champion else None
        if champion is not None and found is not None:
            report = await responses.report_answer(session, found, champion, data.kind, text)
            coordinators = [coordinator.id for coordinator in await champions.coordinators(session)]
            await outbox.queue(session, outbox.FORWARDED, coordinators, {"report": report.id})
        await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
    if champion is None or found is None:
        await context.reply.say(_("This button is no longer active."))
        return
    context.bot_data.wake.ring(outbox.PERSON)
    await context.reply.say(_("Thank you. We have passed it on to the coordinators."))


async def forwarded_message(
    session: AsyncSession, item: outbox.Claimed, services: Services
) -> Outgoing | None:
    """The outbox's FORWARDED message: a question or concern for one coordinator, in their language
    now, with a button that opens the report in /insights; None if the report (or the message it
    answers) is gone."""
    report = await reports.get(session, int(item.payload["report"]))
    texts = await responses.answered_texts(session, report) if report is not None else None
    if report is None or texts is None or report.kind not in FORWARDED:
        return None
    tr = translator(item.language)
    text = tr.gettext(FORWARDED[report.kind]).format(
        message=isolate(message_excerpt(texts, item.language)),
        reference=reports.reference(report.id),
        text=isolate(report.text),
    )
    return Outgoing(text, [Choice(tr.gettext("Open"), f"ins:open:{report.id}")])
