"""Themes in storage: made from reports, moved step by step through the Community Action Model,
with notes, partners, actions (overdue ones for the digest) and an outcome; bad input refused with a
clear problem; erasing a champion leaves the theme with fewer reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import champions, reports, themes
from storage.models import Champion, Status, ThemeStep
from storage.themes import Problem, Refused

TODAY = date(2027, 1, 10)
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


async def champion(session: AsyncSession, telegram_id: int, language: str = "en") -> Champion:
    person = Champion(telegram_id=telegram_id, display_name="Ana", language=language, status=Status.ACTIVE)
    session.add(person)
    await session.flush()
    return person


async def report(session: AsyncSession, person: Champion, text: str = "Queues at 8am") -> int:
    draft = reports.Draft(topic="gp-access", kind="barrier", people="few", text=text)
    return (await reports.create(session, person, draft)).id


async def made(session: AsyncSession, ids: list[int], title: str = "8am GP phone queues") -> int:
    theme = await themes.create(session, ids, title, None)
    assert not isinstance(theme, Refused)
    return theme.id


async def test_a_theme_needs_reports_and_a_title(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        ana = await champion(session, 1)
        rid = await report(session, ana)
        assert await themes.create(session, [], "Queues", None) == Refused(Problem.NO_REPORTS)
        assert await themes.create(session, [rid + 99], "Queues", None) == Refused(Problem.NO_REPORTS)
        assert await themes.create(session, [rid], "   ", None) == Refused(Problem.TITLE_BLANK)
        assert await themes.create(session, [rid], "x" * 201, None) == Refused(Problem.TITLE_LONG, 200)
        theme = await themes.create(session, [rid, rid, rid + 99], " " + "x" * 200 + " ", None)
        assert not isinstance(theme, Refused)
        assert theme.step == ThemeStep.SELECT and theme.title == "x" * 200
        assert await themes.report_ids(session, theme.id) == [rid]
        listed, total = await themes.list_themes(session)
        assert total == 1 and [(t.theme.id, t.reports) for t in listed] == [(theme.id, 1)]


async def test_adding_reports_ignores_duplicates(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        ana = await champion(session, 1)
        first, second = await report(session, ana), await report(session, ana, "Lines")
        theme_id = await made(session, [first])
        assert await themes.add_reports(session, theme_id, [first, second, second]) == 1
        assert await themes.add_reports(session, theme_id, [first]) == 0
        assert await themes.add_reports(session, theme_id, []) == Refused(Problem.NO_REPORTS)
        assert await themes.add_reports(session, theme_id + 9, [first]) == Refused(Problem.NOT_FOUND)
        assert await themes.report_ids(session, theme_id) == [first, second]


async def test_steps_go_forward_one_at_a_time(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        ana = await champion(session, 1)
        theme_id = await made(session, [await report(session, ana)])
        move = themes.move
        assert await move(session, theme_id, ThemeStep.RESEARCH, " ", None) == Refused(Problem.TEXT_BLANK)
        assert await move(session, theme_id, ThemeStep.PLAN, "Jump", None) == Refused(Problem.STEP_SKIPPED)
        assert await move(session, theme_id, ThemeStep.SELECT, "Again", None) == Refused(Problem.STEP_SAME)
        moved = await move(session, theme_id, ThemeStep.RESEARCH, "Asked three practices", None)
        assert not isinstance(moved, Refused) and moved.step == ThemeStep.RESEARCH
        assert await move(session, theme_id, ThemeStep.SELECT, "Back", None) == Refused(
            Problem.STEP_BACKWARDS
        )
        for step in (ThemeStep.PLAN, ThemeStep.ACT, ThemeStep.EVALUATE):
            assert not isinstance(await move(session, theme_id, step, f"To {step}", None), Refused)
        assert await move(session, theme_id, ThemeStep.EVALUATE, "More", None) == Refused(Problem.LAST_STEP)
        full = await themes.get(session, theme_id)
        assert full is not None and full.theme.step == ThemeStep.EVALUATE
        assert [(n.step, n.text) for n in full.notes] == [
            (ThemeStep.RESEARCH, "Asked three practices"),
            (ThemeStep.PLAN, "To plan"),
            (ThemeStep.ACT, "To act"),
            (ThemeStep.EVALUATE, "To evaluate"),
        ]
        listed, total = await themes.list_themes(session, step=ThemeStep.EVALUATE)
        assert [row.reports for row in listed] == [1]
        assert total == 1 and await themes.list_themes(session, step=ThemeStep.PLAN) == ([], 0)


async def test_notes_partners_actions_and_outcome(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        ana = await champion(session, 1)
        theme_id = await made(session, [await report(session, ana)])
        note = await themes.add_note(session, theme_id, "Spoke to the PPG", None)
        assert not isinstance(note, Refused) and note.step == ThemeStep.SELECT
        assert await themes.add_note(session, theme_id, "x" * 4001, None) == Refused(Problem.TEXT_LONG, 4000)
        assert await themes.add_partner(session, theme_id, "pub", "The Swan") == Refused(Problem.PARTNER_KIND)
        assert await themes.add_partner(session, theme_id, "gp", "") == Refused(Problem.TEXT_BLANK)
        assert not isinstance(
            await themes.add_partner(session, theme_id, "gp", "Northfield Surgery"), Refused
        )
        past = date(2027, 1, 9)
        refused = await themes.add_action(session, theme_id, "Call back line", "Surgery", past, TODAY)
        assert refused == Refused(Problem.DUE_PAST)
        action = await themes.add_action(session, theme_id, "Call back line", "Surgery", TODAY, TODAY)
        assert not isinstance(action, Refused)
        done = await themes.mark_done(session, action.id, NOW)
        assert not isinstance(done, Refused) and done.done_at == NOW
        again = await themes.mark_done(session, action.id, datetime(2027, 2, 1, tzinfo=UTC))
        assert not isinstance(again, Refused) and again.done_at == NOW
        assert await themes.mark_done(session, action.id + 9, NOW) == Refused(Problem.NOT_FOUND)
        assert await themes.set_outcome(session, theme_id, "") == Refused(Problem.TEXT_BLANK)
        outcome = await themes.set_outcome(session, theme_id, "A call-back line opened")
        assert not isinstance(outcome, Refused) and not outcome.outcome_shared
        shared = await themes.share_outcome(session, theme_id, True)
        assert not isinstance(shared, Refused) and shared.outcome_shared
        full = await themes.get(session, theme_id)
        assert full is not None
        assert [(p.kind, p.name) for p in full.partners] == [("gp", "Northfield Surgery")]
        assert [a.text for a in full.actions] == ["Call back line"]
        assert full.theme.outcome == "A call-back line opened"


async def test_overdue_actions_for_the_digest(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        ana = await champion(session, 1)
        theme_id = await made(session, [await report(session, ana)], "Queues")
        early = date(2027, 1, 1)
        for text, due in (("Late", early), ("Due today", TODAY), ("Done late", early)):
            action = await themes.add_action(session, theme_id, text, "Council", due, early)
            assert not isinstance(action, Refused)
            if text == "Done late":
                await themes.mark_done(session, action.id, NOW)
        found, total = await themes.overdue(session, TODAY)
        assert total == 1
        assert found == [themes.Overdue(theme_id, "Queues", "Late", "Council", early)]
        assert await themes.overdue(session, early) == ([], 0)


async def test_erasing_a_champion_leaves_the_theme(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        ana, ben = await champion(session, 1), await champion(session, 2)
        kept, gone = await report(session, ana), await report(session, ben)
        theme_id = await made(session, [kept, gone])
        joined = await themes.of_reports(session, [kept, gone])
        assert joined == {
            kept: [themes.Joined("8am GP phone queues", ThemeStep.SELECT)],
            gone: [joined[gone][0]],
        }
    async with sessions.begin() as session:
        found = await champions.by_telegram_id(session, 2)
        assert found is not None
        await champions.erase(session, found)
    async with sessions() as session:
        full = await themes.get(session, theme_id)
        assert full is not None and full.reports == 1
        assert await themes.report_ids(session, theme_id) == [kept]
