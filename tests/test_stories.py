"""Success stories: written and replaced per report, checked, deleted; shown only while the
report's champion agrees to sharing, gone with an erased champion, and naming nobody."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import champions, stories
from storage.models import Champion, Story
from storage.stories import Shown, StoryError
from tests.impact_seed import Sessions, at, person, reported

Q1 = (at(2027, 1, 1), at(2027, 4, 1))


async def test_a_story_is_written_replaced_and_deleted(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        report_id = await reported(session, await person(session, 1, share=True), at(2027, 2))
        assert await stories.save(session, report_id, "  A mum booked her jab.  ", None)
        assert await stories.save(session, report_id, "Three mums booked their jabs.", None)
    async with sessions() as session:
        story = await stories.of_report(session, report_id)
        assert story is not None and story.text == "Three mums booked their jabs."
        assert await session.scalar(select(func.count(Story.id))) == 1
    async with sessions.begin() as session:
        assert await stories.remove(session, report_id)
        assert not await stories.remove(session, report_id)
        assert await stories.of_report(session, report_id) is None


async def test_a_story_for_no_report_is_not_kept(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        assert not await stories.save(session, 999, "A story", None)
        assert await session.scalar(select(func.count(Story.id))) == 0


@pytest.mark.parametrize(
    ("text", "reason"), [("", stories.EMPTY), ("   \n ", stories.EMPTY), ("x" * 1001, stories.TOO_LONG)]
)
async def test_an_empty_or_too_long_story_is_refused(sessions: Sessions, text: str, reason: str) -> None:
    async with sessions.begin() as session:
        report_id = await reported(session, await person(session, 1, share=True), at(2027, 2))
        with pytest.raises(StoryError) as refused:
            await stories.save(session, report_id, text, None)
        assert refused.value.reason == reason
        assert await stories.of_report(session, report_id) is None
    assert stories.checked(" " + "x" * 1000 + " ") == "x" * 1000  # counted once stripped


async def test_only_stories_of_consenting_champions_in_the_period_are_shown(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        sharing = await person(session, 1, share=True, name="Ana Secret")
        private = await person(session, 2, share=False, name="Ben Secret")
        for champion, when, text in (
            (sharing, at(2027, 2), "Older story"),
            (sharing, at(2027, 3), "Newer story"),
            (sharing, at(2026, 12), "Last quarter's story"),
            (private, at(2027, 3), "Not agreed to share"),
        ):
            assert await stories.save(
                session, await reported(session, champion, when, "vaccinations"), text, None
            )
    async with sessions() as session:
        assert await stories.shown(session, *Q1, limit=5) == [
            Shown("Newer story", "vaccinations", "2027-03"),
            Shown("Older story", "vaccinations", "2027-02"),
        ]
        assert await stories.shown(session, *Q1, limit=1) == [Shown("Newer story", "vaccinations", "2027-03")]
        shown = repr(await stories.shown(session, *Q1, limit=5))
        assert "Secret" not in shown and "R-" not in shown


async def test_withdrawn_consent_hides_a_story_and_erasing_removes_it(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        champion = await person(session, 1, share=True)
        await stories.save(session, await reported(session, champion, at(2027, 2)), "A story", None)
        champion_id = champion.id
    async with sessions.begin() as session:
        await champions.set_share_consent(session, champion_id, False)
    async with sessions() as session:
        assert await stories.shown(session, *Q1, limit=5) == []
        assert await session.scalar(select(func.count(Story.id))) == 1  # kept, in case they agree again
    async with sessions.begin() as session:
        await champions.set_share_consent(session, champion_id, True)
    async with sessions() as session:
        assert [s.text for s in await stories.shown(session, *Q1, limit=5)] == ["A story"]
    async with sessions.begin() as session:
        found = await session.get(Champion, champion_id)
        assert found is not None
        await champions.erase(session, found)
    async with sessions() as session:
        assert await session.scalar(select(func.count(Story.id))) == 0
