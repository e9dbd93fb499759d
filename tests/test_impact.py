"""The impact report's figures: a period beside the one before, shareable reports only, reach
from the logs, messages sent and shared, reports by month and topic, the top themes with what
was done, and the stories."""

from __future__ import annotations

import pytest

from storage import impact
from storage.impact import Change, ThemeDone, previous
from storage.models import Broadcast, Delivery, Response, ThemeNote, ThemeStep
from storage.periods import parse_period
from tests.impact_seed import Sessions, at, logged, person, reported, story, theme


@pytest.mark.parametrize(
    ("label", "before"),
    [
        ("2027-Q1", "2026-Q4"),
        ("2027-Q3", "2027-Q2"),
        ("2027-01", "2026-12"),
        ("2027-03", "2027-02"),
        ("2027", "2026"),
    ],
)
def test_the_period_before_is_of_the_same_kind(label: str, before: str) -> None:
    assert previous(parse_period(label)) == parse_period(before)


async def test_figures_with_their_change(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        sharing = await person(session, 1, share=True)
        private = await person(session, 2, share=False)
        quiet = await person(session, 3, share=True)  # logs only, last quarter
        for when, topic in (
            (at(2027, 1), "gp-access"),
            (at(2027, 1), "vaccinations"),
            (at(2027, 3), "gp-access"),
        ):
            await reported(session, sharing, when, topic)
        await reported(session, private, at(2027, 2))  # not shareable: not counted, but active
        await reported(session, sharing, at(2026, 11))  # the quarter before
        await reported(session, sharing, at(2027, 4, 1))  # the quarter after
        await logged(session, sharing, at(2027, 2), 6)
        await logged(session, sharing, at(2027, 3), 11)
        await logged(session, quiet, at(2026, 12), 2)
        broadcast = Broadcast(texts={"en": "Flu jabs"}, status="done")
        session.add(broadcast)
        await session.flush()
        copies = [
            Delivery(broadcast_id=broadcast.id, champion_id=sharing.id, state="sent", sent_at=at(2027, 2)),
            Delivery(broadcast_id=broadcast.id, champion_id=private.id, state="sent", sent_at=at(2027, 2)),
            Delivery(broadcast_id=broadcast.id, champion_id=quiet.id, state="failed", sent_at=None),
            Delivery(kind="reply", champion_id=quiet.id, state="sent", sent_at=at(2027, 2)),  # no broadcast
        ]
        session.add_all(copies)
        await session.flush()
        session.add(Response(delivery_id=copies[0].id, kind="shared", created_at=at(2027, 2)))
        session.add(Response(delivery_id=copies[1].id, kind="question", created_at=at(2027, 2)))
    async with sessions() as session:
        found = await impact.impact(session, parse_period("2027-Q1"))
    assert found.previous == parse_period("2026-Q4")
    assert found.reports == Change(3, 1)
    assert found.champions == Change(2, 2)
    assert found.conversations == Change(2, 1)
    assert found.people == Change(17, 2)
    assert found.messages == Change(2, 0)
    assert found.shared == Change(1, 0)
    assert found.by_month == {
        "2027-01": {"gp-access": 1, "vaccinations": 1},
        "2027-02": {},
        "2027-03": {"gp-access": 1},
    }
    assert not found.empty


async def test_an_empty_period_is_empty(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await reported(session, await person(session, 1, share=True), at(2026, 11))
    async with sessions() as session:
        found = await impact.impact(session, parse_period("2027-03"))
    assert found.empty
    assert found.reports == Change(0, 0)
    assert found.by_month == {"2027-03": {}}
    assert found.themes == [] and found.stories == []


async def test_top_themes_with_what_was_done(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        sharing = await person(session, 1, share=True)
        private = await person(session, 2, share=False)
        shareable = [await reported(session, sharing, at(2027, 2)) for _ in range(3)]
        hidden = [await reported(session, private, at(2027, 2)) for _ in range(4)]
        old = await reported(session, sharing, at(2026, 6))
        await theme(
            session,
            "8am GP phone queues",
            shareable,
            outcome="A call-back line opened",
            shared=True,
            done=("Practice added a call-back line",),
            open_actions=("Review in June",),
        )
        await theme(session, "Not for sharing", shareable[:2] + hidden, outcome="Internal note", shared=False)
        await theme(session, "Long ago", [old], done=("Done then",), when=at(2026, 6))
        moved = await theme(session, "Moved this quarter", [old], step=ThemeStep.EVALUATE, when=at(2026, 6))
        session.add(ThemeNote(theme_id=moved.id, step=ThemeStep.EVALUATE, created_at=at(2027, 3)))
    async with sessions() as session:
        found = await impact.impact(session, parse_period("2027-Q1"))
    assert found.themes == [
        ThemeDone(
            "8am GP phone queues",
            ThemeStep.ACT,
            3,
            ["Practice added a call-back line"],
            "A call-back line opened",
        ),
        ThemeDone(
            "Not for sharing", ThemeStep.ACT, 2, [], None
        ),  # 4 reports not shareable, outcome kept back
        ThemeDone("Moved this quarter", ThemeStep.EVALUATE, 1, [], None),
    ]
    async with sessions() as session:
        assert [
            t.title for t in (await impact.impact(session, parse_period("2027-Q1"), themes=1)).themes
        ] == ["8am GP phone queues"]


async def test_stories_of_the_period(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        sharing = await person(session, 1, share=True)
        await story(session, await reported(session, sharing, at(2027, 2), "vaccinations"), "A mum booked")
        await story(session, await reported(session, sharing, at(2026, 2)), "Last year")
    async with sessions() as session:
        found = await impact.impact(session, parse_period("2027-Q1"))
    assert [(s.text, s.topic, s.month) for s in found.stories] == [
        ("A mum booked", "vaccinations", "2027-02")
    ]
    assert not found.empty
