"""Themes: reports a coordinator grouped under one concern, moved through the Community Action Model
(select → research → plan → act → evaluate) with notes, partners and actions.

Each change that a person can get wrong returns a `Refused` value naming the problem, rather than
raising, so the chat and the dashboard can say in the person's language what to fix. A theme keeps
only the reports that still exist: erasing a champion takes their reports out of it (the link rows
go with the report), and the theme stays with the others.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import (
    Report,
    Theme,
    ThemeAction,
    ThemeNote,
    ThemePartner,
    ThemeReport,
    ThemeStep,
    utcnow,
)

STEPS = tuple(ThemeStep)  # in the model's order
PARTNER_KINDS = ("gp", "council", "vcse", "nhs", "school", "faith", "other")
TITLE_MAX = 200
TEXT_MAX = 4000  # a note or an outcome: read on a phone, within the 4096 of the column
ACTION_MAX = 500
NAME_MAX = 200  # a partner's name or an action's owner
PAGE = 5


class Problem(enum.StrEnum):
    """Why a change to a theme was refused."""

    NO_REPORTS = "no_reports"  # none of the reports given exists
    TITLE_BLANK = "title_blank"
    TITLE_LONG = "title_long"
    TEXT_BLANK = "text_blank"  # a note, action, owner, partner name or outcome left empty
    TEXT_LONG = "text_long"
    NOT_FOUND = "not_found"  # the theme or action no longer exists
    STEP_BACKWARDS = "step_backwards"
    STEP_SAME = "step_same"
    STEP_SKIPPED = "step_skipped"
    LAST_STEP = "last_step"  # already at evaluate: there is no next step
    PARTNER_KIND = "partner_kind"
    DUE_PAST = "due_past"


@dataclass(frozen=True)
class Refused:
    """A change that was not made, and why."""

    problem: Problem
    limit: int | None = None  # the length a too-long text must keep to


def next_step(step: ThemeStep) -> ThemeStep | None:
    """The step after this one, or None after evaluate."""
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


def _text_problem(text: str, limit: int) -> Refused | None:
    if not text.strip():
        return Refused(Problem.TEXT_BLANK)
    if len(text.strip()) > limit:
        return Refused(Problem.TEXT_LONG, limit)
    return None


def title_problem(title: str) -> Refused | None:
    """What is wrong with a theme's title (blank, or over TITLE_MAX characters), or None."""
    if not title.strip():
        return Refused(Problem.TITLE_BLANK)
    if len(title.strip()) > TITLE_MAX:
        return Refused(Problem.TITLE_LONG, TITLE_MAX)
    return None


async def _existing(session: AsyncSession, report_ids: Sequence[int]) -> list[int]:
    if not report_ids:
        return []
    rows = await session.scalars(select(Report.id).where(Report.id.in_(set(report_ids))))
    return sorted(rows)


async def _link(session: AsyncSession, theme_id: int, report_ids: Sequence[int]) -> int:
    """Add the reports not yet in the theme; return how many were added."""
    already = set(
        await session.scalars(
            select(ThemeReport.report_id).where(
                ThemeReport.theme_id == theme_id, ThemeReport.report_id.in_(report_ids)
            )
        )
    )
    added = [ThemeReport(theme_id=theme_id, report_id=rid) for rid in report_ids if rid not in already]
    session.add_all(added)
    await session.flush()
    return len(added)


async def create(
    session: AsyncSession,
    report_ids: Sequence[int],
    title: str,
    coordinator_id: int | None,
    area_id: int | None = None,
) -> Theme | Refused:
    """A new theme at the select step holding these reports (those that still exist)."""
    problem = title_problem(title)
    if problem is not None:
        return problem
    existing = await _existing(session, report_ids)
    if not existing:
        return Refused(Problem.NO_REPORTS)
    theme = Theme(title=title.strip(), step=ThemeStep.SELECT, area_id=area_id, created_by=coordinator_id)
    session.add(theme)
    await session.flush()
    await _link(session, theme.id, existing)
    return theme


async def add_reports(session: AsyncSession, theme_id: int, report_ids: Sequence[int]) -> int | Refused:
    """Add these reports to a theme; those already in it, or gone, are ignored. Return how many
    were added."""
    if await session.get(Theme, theme_id) is None:
        return Refused(Problem.NOT_FOUND)
    existing = await _existing(session, report_ids)
    if not existing:
        return Refused(Problem.NO_REPORTS)
    added = await _link(session, theme_id, existing)
    if added:
        await session.execute(update(Theme).where(Theme.id == theme_id).values(updated_at=utcnow()))
    return added


@dataclass(frozen=True)
class Listed:
    """A theme on a list, with how many reports it holds."""

    theme: Theme
    reports: int


async def list_themes(
    session: AsyncSession,
    step: ThemeStep | None = None,
    offset: int = 0,
    limit: int = PAGE,
    open_only: bool = False,
) -> tuple[list[Listed], int]:
    """A page of themes (at one step, if given), newest change first, each with its report count,
    and how many there are. `open_only` leaves out those evaluated with an outcome written. Only
    the page's themes have their reports counted, through the link table's key."""
    where = []
    if step is not None:
        where.append(Theme.step == step)
    if open_only:
        where.append((Theme.step != ThemeStep.EVALUATE) | Theme.outcome.is_(None))
    total = await session.scalar(select(func.count(Theme.id)).where(*where))
    page = list(
        await session.scalars(
            select(Theme)
            .where(*where)
            .order_by(Theme.updated_at.desc(), Theme.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    counts: dict[int, int] = {}
    if page:
        rows = await session.execute(
            select(ThemeReport.theme_id, func.count())
            .where(ThemeReport.theme_id.in_([theme.id for theme in page]))
            .group_by(ThemeReport.theme_id)
        )
        counts = {theme_id: int(n) for theme_id, n in rows.all()}
    return [Listed(theme, counts.get(theme.id, 0)) for theme in page], int(total or 0)


@dataclass(frozen=True)
class Full:
    """One theme with all that belongs to it, oldest first."""

    theme: Theme
    reports: int
    notes: list[ThemeNote]
    partners: list[ThemePartner]
    actions: list[ThemeAction]


async def get(session: AsyncSession, theme_id: int) -> Full | None:
    """One theme with its report count, notes, partners and actions; None if it does not exist."""
    theme = await session.get(Theme, theme_id)
    if theme is None:
        return None
    count = await session.scalar(select(func.count()).where(ThemeReport.theme_id == theme_id))
    notes = await session.scalars(
        select(ThemeNote).where(ThemeNote.theme_id == theme_id).order_by(ThemeNote.id)
    )
    partners = await session.scalars(
        select(ThemePartner).where(ThemePartner.theme_id == theme_id).order_by(ThemePartner.id)
    )
    actions = await session.scalars(
        select(ThemeAction)
        .where(ThemeAction.theme_id == theme_id)
        .order_by(ThemeAction.due_on, ThemeAction.id)
    )
    return Full(theme, int(count or 0), list(notes), list(partners), list(actions))


async def report_ids(session: AsyncSession, theme_id: int) -> list[int]:
    """The reports a theme holds now (those that still exist), oldest first."""
    rows = await session.scalars(
        select(ThemeReport.report_id).where(ThemeReport.theme_id == theme_id).order_by(ThemeReport.report_id)
    )
    return list(rows)


async def move(
    session: AsyncSession, theme_id: int, to: ThemeStep, note: str, coordinator_id: int | None
) -> Theme | Refused:
    """Move a theme to its next step, with a note saying why. Backwards or to the step it is at is
    refused; so is skipping a step, since each step of the Community Action Model builds on the one
    before (what was researched shapes the plan) and its note is the record partners are held to.
    The move is made only from the step it was read at, so two presses at once move it once."""
    problem = _text_problem(note, TEXT_MAX)
    if problem is not None:
        return problem
    theme = await session.get(Theme, theme_id)
    if theme is None:
        return Refused(Problem.NOT_FOUND)
    await session.refresh(theme)
    at, wanted = STEPS.index(theme.step), STEPS.index(to)
    if wanted < at:
        return Refused(Problem.STEP_BACKWARDS)
    if wanted == at:
        return Refused(Problem.LAST_STEP if next_step(theme.step) is None else Problem.STEP_SAME)
    if wanted > at + 1:
        return Refused(Problem.STEP_SKIPPED)
    moved = await rows_changed(
        session,
        update(Theme)
        .where(Theme.id == theme_id, Theme.step == theme.step)
        .values(step=to, updated_at=utcnow()),
    )
    if not moved:  # moved by someone else since it was read
        return Refused(Problem.STEP_SAME)
    session.add(ThemeNote(theme_id=theme_id, step=to, text=note.strip(), coordinator_id=coordinator_id))
    await session.flush()
    await session.refresh(theme)
    return theme


async def add_note(
    session: AsyncSession, theme_id: int, text: str, coordinator_id: int | None
) -> ThemeNote | Refused:
    """A note at the theme's current step."""
    problem = _text_problem(text, TEXT_MAX)
    if problem is not None:
        return problem
    theme = await session.get(Theme, theme_id)
    if theme is None:
        return Refused(Problem.NOT_FOUND)
    note = ThemeNote(theme_id=theme_id, step=theme.step, text=text.strip(), coordinator_id=coordinator_id)
    session.add(note)
    theme.updated_at = utcnow()
    await session.flush()
    return note


async def add_partner(session: AsyncSession, theme_id: int, kind: str, name: str) -> ThemePartner | Refused:
    """A partner involved in the theme: its kind (one of PARTNER_KINDS) and name."""
    if kind not in PARTNER_KINDS:
        return Refused(Problem.PARTNER_KIND)
    problem = _text_problem(name, NAME_MAX)
    if problem is not None:
        return problem
    if await session.get(Theme, theme_id) is None:
        return Refused(Problem.NOT_FOUND)
    partner = ThemePartner(theme_id=theme_id, kind=kind, name=name.strip())
    session.add(partner)
    await session.flush()
    return partner


async def add_action(
    session: AsyncSession, theme_id: int, text: str, owner: str, due_on: date, today: date
) -> ThemeAction | Refused:
    """An action for the theme with its owner and due date; a due date before `today` (the
    coordinator's) is refused: an action is a promise, and one already late holds no one to it."""
    problem = _text_problem(text, ACTION_MAX) or _text_problem(owner, NAME_MAX)
    if problem is not None:
        return problem
    if due_on < today:
        return Refused(Problem.DUE_PAST)
    if await session.get(Theme, theme_id) is None:
        return Refused(Problem.NOT_FOUND)
    action = ThemeAction(theme_id=theme_id, text=text.strip(), owner=owner.strip(), due_on=due_on)
    session.add(action)
    await session.flush()
    return action


async def mark_done(session: AsyncSession, action_id: int, now: datetime) -> ThemeAction | Refused:
    """Mark an action done (once: doing it again keeps the first time)."""
    action = await session.get(ThemeAction, action_id)
    if action is None:
        return Refused(Problem.NOT_FOUND)
    await session.execute(
        update(ThemeAction)
        .where(ThemeAction.id == action_id, ThemeAction.done_at.is_(None))
        .values(done_at=now)
    )
    await session.refresh(action)
    return action


async def set_outcome(session: AsyncSession, theme_id: int, text: str) -> Theme | Refused:
    """What changed, in the coordinator's words."""
    problem = _text_problem(text, TEXT_MAX)
    if problem is not None:
        return problem
    theme = await session.get(Theme, theme_id)
    if theme is None:
        return Refused(Problem.NOT_FOUND)
    theme.outcome = text.strip()
    theme.updated_at = utcnow()
    await session.flush()
    return theme


async def share_outcome(session: AsyncSession, theme_id: int, shared: bool) -> Theme | Refused:
    """Whether the outcome may leave the organisation (the national export and partners' reports)."""
    theme = await session.get(Theme, theme_id)
    if theme is None:
        return Refused(Problem.NOT_FOUND)
    theme.outcome_shared = shared
    theme.updated_at = utcnow()
    await session.flush()
    return theme


@dataclass(frozen=True)
class Overdue:
    """An action past its due date and not done, with its theme's title."""

    theme_id: int
    title: str
    text: str
    owner: str
    due_on: date


async def overdue(session: AsyncSession, today: date, limit: int = 20) -> tuple[list[Overdue], int]:
    """The actions not done that were due before `today`, longest overdue first (at most `limit`),
    and how many there are."""
    where = (ThemeAction.done_at.is_(None), ThemeAction.due_on < today)
    total = await session.scalar(select(func.count(ThemeAction.id)).where(*where))
    rows = await session.execute(
        select(Theme.id, Theme.title, ThemeAction.text, ThemeAction.owner, ThemeAction.due_on)
        .join(Theme, Theme.id == ThemeAction.theme_id)
        .where(*where)
        .order_by(ThemeAction.due_on, ThemeAction.id)
        .limit(limit)
    )
    return [Overdue(*row) for row in rows.all()], int(total or 0)


@dataclass(frozen=True)
class Joined:
    """A theme a report joined, as its champion sees it: the title and the step."""

    title: str
    step: ThemeStep


async def of_reports(session: AsyncSession, report_ids: Sequence[int]) -> dict[int, list[Joined]]:
    """The themes each of these reports joined, in the order they joined."""
    found: dict[int, list[Joined]] = {report_id: [] for report_id in report_ids}
    if not report_ids:
        return found
    rows = await session.execute(
        select(ThemeReport.report_id, Theme.title, Theme.step)
        .join(Theme, Theme.id == ThemeReport.theme_id)
        .where(ThemeReport.report_id.in_(report_ids))
        .order_by(ThemeReport.added_at, Theme.id)
    )
    for report_id, title, step in rows.all():
        found[report_id].append(Joined(title, step))
    return found
