"""The coordinator's /themes: reports grouped under one concern, moved through the Community Action
Model (select → research → plan → act → evaluate) with notes, partners, actions and an outcome.

A theme is made from /insights ("Group into a theme": every report its filters show) or grows from
one report there ("Add to a theme"). An open theme offers only its next step: a press for any other
(stale, or forged) is refused, and storage refuses it again. Each step change asks for a note, then
offers to send "you said, we did" to the champions of the theme's reports: one message each however
many of their reports it holds, in their language, through the outbox. The coordinator role is
checked on every command, press and message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from babel.dates import format_date
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.constants import MessageLimit

from bot.context import Context, Services
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.replies import Choice, Outgoing
from bot.steps import StepData
from handlers import insights
from handlers.common import (
    champion_zone,
    clear_step,
    isolate,
    require_coordinator,
    save_step,
    stale_button,
    telegram_length,
)
from handlers.insights_state import Insights
from handlers.report_labels import excerpt
from handlers.versions import version_choices
from storage import conversation, outbox, reports, themes
from storage.models import ReportReply, Theme, ThemeStep, utcnow
from storage.reports import Filters
from storage.themes import Problem, Refused

LIST = "thm:list"  # browsing the list or one theme
TITLE = "thm:title"  # typing a new theme's title
NEXT = "thm:next"  # typing the note for the move to Theming.to
NOTE = "thm:note"  # typing a note at the current step
PARTNER = "thm:partner"  # typing the name of a partner of Theming.kind
ACTION = "thm:action"  # typing an action's text
OWNER = "thm:owner"  # typing its owner
DUE = "thm:due"  # typing its due date
OUTCOME = "thm:outcome"  # typing the outcome
TELL = "thm:tell"  # the step moved: send "you said, we did" with its note, or not
VERSION = "thm:version"  # typing the note's version in Theming.lang

PAGE = 5
LABEL_MAX = 24  # a WhatsApp list row's title
NOTES_SHOWN = 5  # the newest, each cut to NOTE_EXCERPT characters
ACTIONS_SHOWN = 10  # those waiting first, soonest due first
PARTNERS_SHOWN = 8
NOTE_EXCERPT = 200
ACTION_EXCERPT = 80
NAME_EXCERPT = 40  # a partner's name or an action's owner
OUTCOME_EXCERPT = 400
MESSAGE_MAX = MessageLimit.MAX_TEXT_LENGTH
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")

STEP_LABELS = {
    ThemeStep.SELECT: N_("Select a concern"),
    ThemeStep.RESEARCH: N_("Research and diagnose"),
    ThemeStep.PLAN: N_("Plan"),
    ThemeStep.ACT: N_("Act"),
    ThemeStep.EVALUATE: N_("Evaluate"),
}
PARTNER_LABELS = {
    "gp": N_("GP practice"),
    "council": N_("Council service"),
    "vcse": N_("Voluntary group"),
    "nhs": N_("NHS service"),
    "school": N_("School"),
    "faith": N_("Faith group"),
    "other": N_("Other"),
}
PROBLEMS = {
    Problem.NO_REPORTS: N_("There are no reports to put in a theme."),
    Problem.TITLE_BLANK: N_("The title is empty. Please type a short title."),
    Problem.TEXT_BLANK: N_("That is empty. Please type a few words."),
    Problem.NOT_FOUND: N_("That theme or action no longer exists."),
    Problem.STEP_BACKWARDS: N_("A theme can't move back a step."),
    Problem.STEP_SAME: N_("The theme is already at that step."),
    Problem.STEP_SKIPPED: N_("A theme moves one step at a time."),
    Problem.LAST_STEP: N_("The theme is at its last step."),
    Problem.PARTNER_KIND: N_("Please choose a kind of partner from the buttons."),
    Problem.DUE_PAST: N_("That date has passed. Please type today's date or a later one."),
}
ASKS = {
    NOTE: N_("Type a note for this step."),
    ACTION: N_("Type the action: what will be done?"),
    OWNER: N_("Who owns it? Type a person, team or partner."),
    DUE: N_("When is it due? Type the date as YYYY-MM-DD or DD/MM/YYYY."),
    OUTCOME: N_("Type the outcome: what changed?"),
}


class Theming(StepData):
    """The /themes view and what is being typed (steps `thm:*`)."""

    theme: int | None = None  # the theme open
    offset: int = 0  # of the list page shown
    filters: Filters | None = None  # a new theme's reports: what /insights' filters showed
    to: ThemeStep | None = None  # the step the note typed moves the theme to
    kind: str | None = None  # the kind of partner being named
    text: str | None = None  # the action typed (waiting for owner and date), or the note to send
    owner: str | None = None  # the action's owner, waiting for its date
    versions: dict[str, str] = Field(default_factory=dict)  # language → the note to send, in it
    lang: str | None = None  # the language whose version is being typed


def problem_text(t: Translator, refused: Refused) -> str:
    """What to tell a coordinator about a refused change, in their language."""
    if refused.problem in (Problem.TITLE_LONG, Problem.TEXT_LONG):
        limit = refused.limit or 0
        return t.ngettext(
            "That is too long. Please keep it to at most {count} character.",
            "That is too long. Please keep it to at most {count} characters.",
            limit,
        ).format(count=t.number(limit))
    return t.gettext(PROBLEMS[refused.problem])


def step_label(t: Translator, step: ThemeStep) -> str:
    """A step's name in the reader's language."""
    return t.gettext(STEP_LABELS[step])


def parse_due(text: str) -> date | None:
    """A due date typed as YYYY-MM-DD or DD/MM/YYYY; None if it is neither, or no real day."""
    for form in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    return None


def _today(context: Context) -> date:
    return utcnow().astimezone(champion_zone(context.champion)).date()


def _day(t: Translator, day: date) -> str:
    return format_date(day, "medium", locale=t.locale)


def _label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


# ------------------------------------------------------------------ the list


async def start(update: Update, context: Context) -> None:
    """/themes: the themes, newest change first (coordinators only)."""
    if await require_coordinator(update, context) is None:
        return
    await _show_list(update, context, 0)


async def _show_list(update: Update, context: Context, offset: int) -> None:
    """Save the browsing step and send a page of the themes, each with its step and report count."""
    t = context.t
    _ = t.gettext
    async with context.db() as session:
        rows, total = await themes.list_themes(session, offset=max(0, offset), limit=PAGE)
        if not rows and offset:
            offset = 0
            rows, total = await themes.list_themes(session, limit=PAGE)
    await save_step(update, context, LIST, Theming(offset=offset))
    if not total:
        await context.reply.say(
            _("No themes yet. In /insights, filter the reports and press “Group into a theme”."),
        )
        return
    lines = [t.ngettext("{count} theme", "{count} themes", total).format(count=t.number(total))]
    for number, row in enumerate(rows, offset + 1):
        count = t.ngettext("{count} report", "{count} reports", row.reports).format(
            count=t.number(row.reports)
        )
        lines.append(
            f"{t.number(number)}. {isolate(row.theme.title)} · {step_label(t, row.theme.step)} · {count}"
        )
    choices = [Choice(t.number(n), f"thm:open:{row.theme.id}") for n, row in enumerate(rows, offset + 1)]
    if offset:
        choices.append(Choice(_("Newer"), f"thm:pg:{max(0, offset - PAGE)}"))
    if offset + PAGE < total:
        choices.append(Choice(_("Older"), f"thm:pg:{offset + PAGE}"))
    choices.append(Choice(_("Done"), "thm:close"))
    await context.reply.say("\n".join(lines), choices)


def theme_text(t: Translator, full: themes.Full, today: date) -> str:
    """One theme as a coordinator sees it: title, step, reports, notes, partners, actions, outcome."""
    _ = t.gettext
    theme = full.theme
    position = themes.STEPS.index(theme.step) + 1
    lines = [
        f"“{isolate(theme.title)}”",
        _("Step {number} of {total}: {step}").format(
            number=t.number(position), total=t.number(len(themes.STEPS)), step=step_label(t, theme.step)
        ),
        t.ngettext("{count} report", "{count} reports", full.reports).format(count=t.number(full.reports)),
    ]
    if full.notes:
        lines += ["", _("Notes:")]
        if len(full.notes) > NOTES_SHOWN:
            lines.append("• …")
        lines += [
            f"• {step_label(t, note.step)}: {excerpt(t, note.text, None, NOTE_EXCERPT)}"
            for note in full.notes[-NOTES_SHOWN:]
        ]
    if full.partners:
        lines += ["", _("Partners:")]
        lines += [
            f"• {_(PARTNER_LABELS[p.kind])}: {excerpt(t, p.name, None, NAME_EXCERPT)}"
            for p in full.partners[:PARTNERS_SHOWN]
        ]
        if len(full.partners) > PARTNERS_SHOWN:
            lines.append("• …")
    if full.actions:
        lines += ["", _("Actions:")]
        waiting_first = sorted(full.actions, key=lambda a: (a.done_at is not None, a.due_on, a.id))
        for action in waiting_first[:ACTIONS_SHOWN]:
            line = _("{action} – {owner}, due {date}").format(
                action=excerpt(t, action.text, None, ACTION_EXCERPT),
                owner=excerpt(t, action.owner, None, NAME_EXCERPT),
                date=_day(t, action.due_on),
            )
            if action.done_at is not None:
                line += " " + _("(done)")
            elif action.due_on < today:
                line += " " + _("(overdue)")
            lines.append("• " + line)
        if len(full.actions) > ACTIONS_SHOWN:
            lines.append("• …")
    if theme.outcome:
        lines += ["", _("Outcome: {text}").format(text=excerpt(t, theme.outcome, None, OUTCOME_EXCERPT))]
        lines.append(
            _("May be shared with partners: yes")
            if theme.outcome_shared
            else _("May be shared with partners: no")
        )
    text = "\n".join(lines)
    if telegram_length(text) > MESSAGE_MAX:  # every part is cut already: only a pathological mix is not
        text = text[: MESSAGE_MAX - 2] + "…"
    return text


def theme_choices(t: Translator, full: themes.Full) -> list[Choice]:
    """What can be done with a theme: its next step only, then the rest."""
    _ = t.gettext
    theme = full.theme
    choices = []
    after = themes.next_step(theme.step)
    if after is not None:
        choices.append(Choice(_("Next step"), f"thm:next:{theme.id}:{after}"))
    choices += [
        Choice(_("Add note"), f"thm:note:{theme.id}"),
        Choice(_("Add partner"), f"thm:partner:{theme.id}"),
        Choice(_("Add action"), f"thm:action:{theme.id}"),
    ]
    if any(action.done_at is None for action in full.actions):
        choices.append(Choice(_("Mark action done"), f"thm:acts:{theme.id}"))
    choices.append(Choice(_("Set outcome"), f"thm:outcome:{theme.id}"))
    if theme.outcome:
        share = "off" if theme.outcome_shared else "on"
        label = _("Don't share outcome") if theme.outcome_shared else _("Share outcome")
        choices.append(Choice(label, f"thm:share:{theme.id}:{share}"))
    choices.append(Choice(_("Back to themes"), "thm:list"))
    return choices


async def _show_theme(update: Update, context: Context, theme_id: int, data: Theming) -> None:
    """Open a theme: save it as the one these buttons act on, and show it with its choices."""
    t = context.t
    async with context.db() as session:
        full = await themes.get(session, theme_id)
    if full is None:
        await context.reply.say(problem_text(t, Refused(Problem.NOT_FOUND)))
        await _show_list(update, context, data.offset)
        return
    await save_step(update, context, LIST, Theming(theme=theme_id, offset=data.offset))
    await context.reply.say(theme_text(t, full, _today(context)), theme_choices(t, full), columns=2)


# ------------------------------------------------------------------ buttons


async def button(update: Update, context: Context) -> None:
    """Any `thm:` button (coordinators only; checked here, on every press)."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    action, *args = query.data.split(":")[1:]
    numbers = [int(arg) for arg in args if arg.isdigit()]
    if action == "group":
        await _ask_title(update, context)
    elif action == "pick":
        await _pick_theme(update, context, numbers[0])
    elif action == "add":
        await _add_report(update, context, numbers[0], numbers[1])
    elif action == "done":
        await _mark_done(update, context, numbers[0])
    else:
        data = context.step_as(Theming)
        if data is None:
            await stale_button(update, context)
            return
        await _press(update, context, data, action, args)


async def _press(update: Update, context: Context, data: Theming, action: str, args: list[str]) -> None:
    """A press on the /themes list or on an open theme."""
    _ = context.t.gettext
    if action == "close":
        await context.reply.picked(_("Done"))
        await clear_step(update, context)
        await context.reply.say(_("Closed. Send /themes to look again."))
    elif action == "list":
        await context.reply.picked()
        await _show_list(update, context, data.offset)
    elif action == "pg":
        await context.reply.picked()
        await _show_list(update, context, int(args[0]))
    elif action == "open":
        await context.reply.picked()
        await _show_theme(update, context, int(args[0]), data)
    elif action == "tell":
        await _tell(update, context, data, args[0] == "yes")
    elif action == "lv":
        await _ask_version(update, context, data, args[0])
    elif action == "cf":
        if context.state is None or context.state.step != VERSION or data.text is None:
            await stale_button(update, context)
            return
        await context.reply.picked(context.t.gettext("Back"))
        await _show_tell(update, context, data)
    elif action == "pk":
        await _ask_partner_name(update, context, data, args[0])
    else:
        theme_id = int(args[0])
        if data.theme != theme_id:  # a button of a theme no longer open here
            await stale_button(update, context)
            return
        if action == "next":
            await _ask_move(update, context, data, ThemeStep(args[1]))
        elif action == "share":
            await _share(update, context, data, args[1] == "on")
        elif action == "partner":
            await context.reply.picked(_("Add partner"))
            choices = [Choice(_(label), f"thm:pk:{kind}") for kind, label in PARTNER_LABELS.items()]
            await context.reply.say(_("What kind of partner?"), choices, columns=2)
        elif action == "acts":
            await _ask_which_done(update, context, theme_id)
        else:
            step = {"note": NOTE, "action": ACTION, "outcome": OUTCOME}[action]
            await context.reply.picked()
            await _ask(update, context, step, data)


async def _ask(update: Update, context: Context, step: str, data: Theming) -> None:
    """Wait for text on `step`, saying what to type, with a way back to the theme."""
    await save_step(update, context, step, data)
    _ = context.t.gettext
    await context.reply.say(_(ASKS[step]), [Choice(_("Back"), f"thm:open:{data.theme}")])


async def _ask_move(update: Update, context: Context, data: Theming, to: ThemeStep) -> None:
    """Ask for the note of a move, if `to` is the theme's next step now (else the press is stale)."""
    assert data.theme is not None
    async with context.db() as session:
        theme = await session.get(Theme, data.theme)
    if theme is None or themes.next_step(theme.step) != to:
        await stale_button(update, context)
        return
    t = context.t
    await context.reply.picked(t.gettext("Next step"))
    await save_step(update, context, NEXT, data.model_copy(update={"to": to}))
    await context.reply.say(
        t.gettext("Type a note for the move to “{step}”: what was found or decided.").format(
            step=step_label(t, to)
        ),
        [Choice(t.gettext("Back"), f"thm:open:{data.theme}")],
    )


async def _share(update: Update, context: Context, data: Theming, shared: bool) -> None:
    """Let the outcome leave the organisation, or not, and show the theme again."""
    assert data.theme is not None
    async with context.db.begin() as session:
        done = await themes.share_outcome(session, data.theme, shared)
    _ = context.t.gettext
    if isinstance(done, Refused):
        await context.reply.ack(problem_text(context.t, done), alert=True)
        return
    await context.reply.picked(_("Share outcome") if shared else _("Don't share outcome"))
    await _show_theme(update, context, data.theme, data)


async def _ask_partner_name(update: Update, context: Context, data: Theming, kind: str) -> None:
    """Take the kind of partner chosen (from the open theme's list step only) and ask its name."""
    if (
        data.theme is None
        or kind not in PARTNER_LABELS
        or context.state is None
        or context.state.step != LIST
    ):
        await stale_button(update, context)
        return
    _ = context.t.gettext
    await context.reply.picked(_(PARTNER_LABELS[kind]))
    await save_step(update, context, PARTNER, data.model_copy(update={"kind": kind}))
    await context.reply.say(_("Type the partner's name."), [Choice(_("Back"), f"thm:open:{data.theme}")])


async def _ask_which_done(update: Update, context: Context, theme_id: int) -> None:
    """The open theme's actions not done yet, numbered, to choose the one done."""
    _ = context.t.gettext
    async with context.db() as session:
        full = await themes.get(session, theme_id)
    open_actions = [a for a in full.actions if a.done_at is None][: ACTIONS_SHOWN - 1] if full else []
    if not open_actions:
        await stale_button(update, context)
        return
    await context.reply.picked(_("Mark action done"))
    t = context.t
    lines = [_("Which action is done?")]
    lines += [f"{t.number(n)}. {isolate(a.text)} – {isolate(a.owner)}" for n, a in enumerate(open_actions, 1)]
    choices = [Choice(t.number(n), f"thm:done:{a.id}") for n, a in enumerate(open_actions, 1)]
    choices.append(Choice(_("Back"), f"thm:open:{theme_id}"))
    await context.reply.say("\n".join(lines), choices, columns=3)


async def _mark_done(update: Update, context: Context, action_id: int) -> None:
    """Mark an action done and show its theme again."""
    async with context.db.begin() as session:
        done = await themes.mark_done(session, action_id, utcnow())
    if isinstance(done, Refused):
        await context.reply.ack(problem_text(context.t, done), alert=True)
        return
    await context.reply.picked(_label(done.text))
    await context.reply.say(context.t.gettext("Marked done."))
    await _show_theme(update, context, done.theme_id, context.step_as(Theming) or Theming())


# ------------------------------------------------------------ from /insights


async def _ask_title(update: Update, context: Context) -> None:
    """ "Group into a theme" on /insights' list: ask a title for every report its filters show."""
    shown = context.step_as(Insights)
    if shown is None:
        await stale_button(update, context)
        return
    t = context.t
    async with context.db() as session:
        count = len(await reports.matching_ids(session, shown.filters))
    if not count:
        await context.reply.ack(problem_text(t, Refused(Problem.NO_REPORTS)), alert=True)
        return
    await context.reply.picked(t.gettext("Group into a theme"))
    await save_step(update, context, TITLE, Theming(filters=shown.filters))
    await context.reply.say(
        title_question(t, count),
        [Choice(t.gettext("Cancel"), "thm:close")],
    )


async def _pick_theme(update: Update, context: Context, report_id: int) -> None:
    """ "Add to a theme" on an open report: the open themes to choose from."""
    t = context.t
    async with context.db() as session:
        rows, _total = await themes.list_themes(session, limit=8, open_only=True)
    if not rows:
        await context.reply.ack(t.gettext("There are no open themes yet."), alert=True)
        return
    await context.reply.picked(t.gettext("Add to a theme"))
    lines = [t.gettext("Add {reference} to which theme?").format(reference=reports.reference(report_id))]
    lines += [
        f"{t.number(n)}. {isolate(row.theme.title)} · {step_label(t, row.theme.step)}"
        for n, row in enumerate(rows, 1)
    ]
    choices = [Choice(t.number(n), f"thm:add:{row.theme.id}:{report_id}") for n, row in enumerate(rows, 1)]
    choices.append(Choice(t.gettext("Back to list"), "ins:back"))
    await context.reply.say("\n".join(lines), choices, columns=3)


async def _add_report(update: Update, context: Context, theme_id: int, report_id: int) -> None:
    """Add the open report to the theme chosen (once: a second time says it is there already)."""
    t = context.t
    async with context.db.begin() as session:
        added = await themes.add_reports(session, theme_id, [report_id])
        theme = await session.get(Theme, theme_id)
    if isinstance(added, Refused) or theme is None:
        problem = added if isinstance(added, Refused) else Refused(Problem.NOT_FOUND)
        await context.reply.ack(problem_text(t, problem), alert=True)
        return
    await context.reply.picked(_label(theme.title))
    await context.reply.say(
        added_line(t, report_id, isolate(theme.title), bool(added)),
        [Choice(t.gettext("Back to list"), "ins:back")],
    )


def title_question(t: Translator, count: int) -> str:
    """Ask the title of a theme of the `count` reports the filters show (chat and dashboard)."""
    return t.ngettext(
        "Type a short title for a theme of the {count} report these filters show, "
        "for example “8am GP phone queues, Northfield”.",
        "Type a short title for a theme of the {count} reports these filters show, "
        "for example “8am GP phone queues, Northfield”.",
        count,
    ).format(count=t.number(count))


def added_line(t: Translator, report_id: int, title: str, added: bool) -> str:
    """What adding a report to a theme did: added, or there already (chat and dashboard)."""
    if added:
        said = t.gettext("{reference} was added to “{title}”.")
    else:
        said = t.gettext("{reference} is in “{title}” already.")
    return said.format(reference=reports.reference(report_id), title=title)


# ------------------------------------------------------------------- typing


async def on_text(update: Update, context: Context) -> None:
    """Text on a /themes step: a title, note, partner name, action, owner, date or outcome."""
    state, data = context.state, context.step_as(Theming)
    if state is None or data is None:
        return
    if await require_coordinator(update, context) is None:
        await clear_step(update, context)
        return
    assert update.message
    text = (update.message.text or "").strip()
    t = context.t
    if state.step in (LIST, TELL):
        await context.reply.say(t.gettext("Please choose from the buttons, or send /cancel."))
        return
    if state.step == VERSION:
        problem = insights.response_problem(t, text)
        if problem is not None or data.lang is None:
            await context.reply.say(problem or t.gettext("Please choose from the buttons, or send /cancel."))
            return
        await _show_tell(
            update, context, data.model_copy(update={"versions": {**data.versions, data.lang: text}})
        )
        return
    async with context.db.begin() as session:
        result = await _take(session, context, state.step, data, text)
    if isinstance(result, Refused):
        await context.reply.say(problem_text(t, result))  # the step keeps waiting
    elif isinstance(result, str):
        await context.reply.say(result)
    elif state.step == ACTION:
        await _ask(update, context, OWNER, data.model_copy(update={"text": text}))
    elif state.step == OWNER:
        await _ask(update, context, DUE, data.model_copy(update={"owner": text}))
    elif state.step == NEXT:
        await _offer_telling(update, context, data, text)
    else:
        await _show_theme(update, context, int(result), data)


async def _take(
    session: AsyncSession, context: Context, step: str, data: Theming, text: str
) -> Refused | str | int:
    """Store what was typed on `step`; the theme's id when done, an error to say, or (for an
    action's text or owner, stored with the date) 0 to ask the next part."""
    theme_id = data.theme or 0
    coordinator = context.champion.id if context.champion else None
    if step == TITLE:
        ids = await reports.matching_ids(session, data.filters or Filters())
        area = data.filters.area_id if data.filters else None
        made = await themes.create(session, ids, text, coordinator, area)
        return made if isinstance(made, Refused) else made.id
    if step == NEXT:
        assert data.to is not None
        moved = await themes.move(session, theme_id, data.to, text, coordinator)
        return moved if isinstance(moved, Refused) else moved.id
    if step == NOTE:
        note = await themes.add_note(session, theme_id, text, coordinator)
        return note if isinstance(note, Refused) else theme_id
    if step == PARTNER:
        partner = await themes.add_partner(session, theme_id, data.kind or "", text)
        return partner if isinstance(partner, Refused) else theme_id
    if step == OUTCOME:
        outcome = await themes.set_outcome(session, theme_id, text)
        return outcome if isinstance(outcome, Refused) else theme_id
    if step == DUE:
        due = parse_due(text)
        if due is None:
            return context.t.gettext(
                "Please type the date as YYYY-MM-DD or DD/MM/YYYY, for example 2027-03-31."
            )
        added = await themes.add_action(
            session, theme_id, data.text or "", data.owner or "", due, _today(context)
        )
        return added if isinstance(added, Refused) else theme_id
    limit = themes.ACTION_MAX if step == ACTION else themes.NAME_MAX  # checked now, stored with the date
    if not text:
        return Refused(Problem.TEXT_BLANK)
    return Refused(Problem.TEXT_LONG, limit) if len(text) > limit else 0


async def on_media(update: Update, context: Context) -> None:
    """A photo, voice note or the like on a /themes step: only text is taken."""
    if context.state is not None and await require_coordinator(update, context) is not None:
        await context.reply.say(context.t.gettext("Please type your answer as text."))


# ----------------------------------------------------- you said, we did


async def _offer_telling(update: Update, context: Context, data: Theming, note: str) -> None:
    """The theme moved: offer to send its note to the champions of its reports."""
    await _show_tell(update, context, data.model_copy(update={"text": note, "versions": {}, "lang": None}))


async def _show_tell(update: Update, context: Context, data: Theming) -> None:
    """Offer to send the step's note, with a version in each language its champions read that may
    be named (every language, when some may not: insights.Readers, so no one is singled out)."""
    t = context.t
    assert data.to is not None and data.theme is not None
    async with context.db() as session:
        ids = await themes.report_ids(session, data.theme)
        readers = insights.Readers.of(await reports.readers(session, ids), theme=True)
    await save_step(update, context, TELL, data.model_copy(update={"lang": None}))
    lines = [t.gettext("The theme moved to “{step}”.").format(step=step_label(t, data.to))]
    count = len(ids)
    offered = insights.offered_versions(t, readers) if count else []
    if count:
        lines.append(
            t.ngettext(
                "Send “you said, we did” with your note to the champion of its {count} report?",
                "Send “you said, we did” with your note to the champions of its {count} reports? "
                "Each gets one message, in their language.",
                count,
            ).format(count=t.number(count))
        )
    if offered:
        lines.append(
            t.gettext(
                "Add a version in another language? Anyone without one gets your text, with a line saying "
                "it was not translated."
            )
        )
    choices = version_choices(t, "thm:lv:", offered, data.versions, readers.named)
    if count:
        choices.append(Choice(t.gettext("Send"), "thm:tell:yes"))
    choices.append(Choice(t.gettext("Don't send") if count else t.gettext("Back"), "thm:tell:no"))
    await context.reply.say("\n".join(lines), choices, columns=2)


async def _ask_version(update: Update, context: Context, data: Theming, code: str) -> None:
    """Ask for the note's version in one language (only while the send is being offered)."""
    step = context.state.step if context.state is not None else None
    if step != TELL or code not in LANGUAGES or code == context.t.language:
        await stale_button(update, context)
        return
    t = context.t
    await context.reply.picked(LANGUAGES[code])
    await save_step(update, context, VERSION, data.model_copy(update={"lang": code}))
    await context.reply.say(
        t.gettext("Type the {language} version of your response.").format(language=LANGUAGES[code]),
        [Choice(t.gettext("Back"), "thm:cf")],
    )


async def _tell(update: Update, context: Context, data: Theming, send: bool) -> None:
    """Send (once, however often pressed) or skip the step's "you said, we did"."""
    assert update.effective_chat and context.champion
    t = context.t
    if context.state is None or context.state.step != TELL or data.theme is None or data.text is None:
        await stale_button(update, context)
        return
    chat_id = update.effective_chat.id
    reached = 0
    kept = Theming(theme=data.theme, offset=data.offset, question=data.question)
    async with context.db.begin() as session:
        left = await conversation.leave_step(session, chat_id, TELL)
        if left:
            if send:
                ids = await themes.report_ids(session, data.theme)
                about = {"theme": data.theme, "step": str(data.to)}
                replied = await insights.queue_response(
                    session, ids, data.text, context.champion.id, True, t.language, data.versions, about
                )
                reached = len(replied)
            context.state_version = await conversation.set_state(session, chat_id, LIST, kept.stored())
    if not left:
        await stale_button(update, context)
        return
    context.step_data, context.saved_step = kept, LIST
    await context.reply.picked(t.gettext("Send") if send else t.gettext("Don't send"))
    if reached:
        context.bot_data.wake.ring(outbox.LANE[outbox.THEME])
        await context.reply.say(
            t.ngettext(
                "Sent to the champion of {count} report.",
                "Sent to the champions of {count} reports.",
                reached,
            ).format(count=t.number(reached))
        )
    else:
        await context.reply.say(t.gettext("Nothing was sent."))
    await _show_theme(update, context, data.theme, data)


async def theme_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing | None:
    """Outbox renderer for outbox.THEME: a theme's step change, once to a champion for all their
    reports in it, in their language; any other theme reply as /insights renders it. None if
    the theme or every report it spoke of was deleted meanwhile."""
    payload = item.payload
    if "theme" not in payload:
        return await insights.reply_message(session, item, services)
    theme = await session.get(Theme, int(payload["theme"]))
    ids = [int(i) for i in payload.get("replies", [])]
    found = await session.scalars(select(ReportReply.report_id).where(ReportReply.id.in_(ids)))
    report_ids = sorted(found)
    if theme is None or not report_ids:
        return None
    stored = await session.get(ReportReply, ids[0])
    t = translator(item.language)
    response, note = insights.payload_response(t, payload, stored.text if stored else "")
    return Outgoing(theme_said(t, theme.title, ThemeStep(str(payload["step"])), report_ids, response, note))


def theme_said(
    t: Translator, title: str, step: ThemeStep, report_ids: Sequence[int], response: str, note: str | None
) -> str:
    """What a champion receives when a theme their reports joined moves on."""
    references = ", ".join(reports.reference(rid) for rid in report_ids)
    lines = [
        t.gettext("You said ({references}), and it became part of the theme “{title}”.").format(
            references=references, title=isolate(title)
        ),
        t.gettext("It has moved to the step “{step}”.").format(step=step_label(t, step)),
        t.gettext("We did: {response}").format(response=isolate(response)),
    ]
    if note is not None:
        lines.append(note)
    return "\n".join(lines) + "\n\n" + t.gettext("Thank you for telling us what you heard.")


def joined_lines(t: Translator, joined: Sequence[themes.Joined]) -> list[str]:
    """The themes a champion's report joined, for /myreports."""
    return [
        t.gettext("Theme: {title} ({step})").format(title=isolate(j.title), step=step_label(t, j.step))
        for j in joined
    ]
