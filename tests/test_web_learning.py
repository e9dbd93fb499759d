"""The learning page: per topic, how many members read at least one snippet and all of them, how
much they read and how their quiz answers went, for everyone or one area (the same figures /stats
gives, members being who /stats counts); and reading by area, as /stats lists it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import load_content
from bot.i18n import translator
from storage import learning, learning_snapshot
from storage.models import Area, Champion, Role, SnippetProgress, Status, utcnow
from tests.web_harness import ESCAPED, SCRIPT, audit_log, coordinator, dashboard, link, sign_in

Sessions = async_sessionmaker[AsyncSession]
LIBRARY = load_content()
FIRST = LIBRARY.topics()[0]  # Core20PLUS5, of two snippets
ONE, TWO = LIBRARY.in_topic(FIRST)


async def seed(sessions: Sessions, north_name: str = "North") -> int:
    """North: Ana (read both snippets, one quiz right, one wrong) and Dee (nothing read); South:
    Ben, paused (read one, quiz right); Cy, stopped, read everything but is no member. North's id."""
    async with sessions.begin() as session:
        north, south = Area(name=north_name), Area(name="South")
        session.add_all([north, south])
        await session.flush()
        people = {}
        for telegram_id, name, status, area in (
            (601, "Ana", Status.ACTIVE, north),
            (602, "Ben", Status.PAUSED, south),
            (603, "Cy", Status.STOPPED, north),
            (604, "Dee", Status.ACTIVE, north),
        ):
            people[name] = Champion(
                telegram_id=telegram_id,
                display_name=name,
                language="en",
                role=Role.CHAMPION,
                status=status,
                area_id=area.id,
            )
        session.add_all(people.values())
        await session.flush()
        for name, snippet, correct in (
            ("Ana", ONE, True),
            ("Ana", TWO, False),
            ("Ben", ONE, True),
            ("Cy", ONE, True),
            ("Cy", TWO, True),
        ):
            session.add(
                SnippetProgress(champion_id=people[name].id, snippet_id=snippet, quiz_correct=correct)
            )
        return north.id


def topic_row(html: str, number: int = 0) -> list[str]:
    """The cells of a topic's row (the first by default), without their phone-width headings."""
    table = html[html.index('data-testid="topics"') :]
    row = table[table.index("<tbody") :].split("</tr>")[number]
    return re.findall(r"</span>([^<]*)</t[hd]>", row)


async def test_completion_per_topic_for_everyone_and_for_one_area(sessions: Sessions) -> None:
    north = await seed(sessions)
    async with dashboard(sessions) as client:
        sam = await coordinator(sessions)  # a member too, of no area, who read nothing
        assert (await sign_in(client, await link(sessions, sam))).status == 303
        everyone = await (await client.get("/learning")).text()
        in_north = await (await client.get("/learning", params={"area": str(north)})).text()
        chosen_none = await (await client.get("/learning", params={"area": ""})).text()
    assert "Members (champions active or paused): 4" in everyone
    assert "Learning by topic, all areas" in everyone
    # Ana and Ben started; Ana finished; 3 of 4 × 2 reads; 2 of 3 answers right.
    assert topic_row(everyone) == ["Core20PLUS5", "2", "1", "38%", "2 of 3 (67%)"]
    assert "Members (champions active or paused): 2" in in_north  # Ana and Dee
    assert "Learning by topic in North" in in_north and f'<option value="{north}" selected>' in in_north
    assert topic_row(in_north) == ["Core20PLUS5", "1", "1", "50%", "1 of 2 (50%)"]
    assert chosen_none == everyone
    assert topic_row(everyone, 1) == ["Vaccine conversations", "0", "0", "0%", "–"]  # no quiz answered
    areas = everyone[everyone.index('data-testid="areas"') :]
    assert re.search(r"<bdi>North</bdi></th>\s*<td[^>]*><span[^>]*>Members </span>2</td>", areas)
    assert "<bdi>No area given</bdi>" in areas  # Sam, as /stats lists them
    assert ("viewed", sam, "learning") in await audit_log(sessions)


async def test_the_overall_figures_are_those_of_stats(sessions: Sessions) -> None:
    await seed(sessions)
    async with sessions() as session:
        members, topics, _areas = await learning.completion(session, LIBRARY)
        same_members, completion = await learning.topic_completion(session, LIBRARY)
    assert same_members == members == 3
    assert [(t.topic, t.read, t.answered, t.right) for t in topics] == [
        (c.topic, c.read, c.answered, c.right) for c in completion
    ]
    assert [c.topic for c in completion] == LIBRARY.topics()
    assert [(c.started, c.finished) for c in completion][:2] == [(2, 1), (0, 0)]


async def test_a_made_up_area_is_refused_and_names_are_escaped(sessions: Sessions) -> None:
    north = await seed(sessions, f"North {SCRIPT}")
    async with dashboard(sessions) as client:
        sam = await coordinator(sessions, name=f"Sam {SCRIPT}")
        assert (await sign_in(client, await link(sessions, sam))).status == 303
        for area in ("999", "abc", "<b>1</b>", "-1"):
            refused = await client.get("/learning", params={"area": area})
            assert refused.status == 400 and "That area is not known" in await refused.text()
            assert "<b>1" not in await refused.text()
        html = await (await client.get("/learning", params={"area": str(north)})).text()
    assert "<script" not in html.lower()
    assert f"Learning by topic in North {ESCAPED}" in html and f"<bdi>North {ESCAPED}</bdi>" in html


async def test_only_a_signed_in_coordinator_sees_it(sessions: Sessions) -> None:
    await seed(sessions)
    async with dashboard(sessions) as client:
        html = await (await client.get("/learning")).text()
    assert "Send /web to the bot" in html and "Core20PLUS5" not in html


async def snapshot_then_dee_reads(sessions: Sessions, age: timedelta) -> datetime:
    """A snapshot `age` old, then Dee (North) reads the first snippet; when it was counted."""
    counted = utcnow() - age
    async with sessions.begin() as session:
        await learning_snapshot.refresh(session, LIBRARY, counted)
        dee = await session.scalar(select(Champion.id).where(Champion.display_name == "Dee"))
        assert dee is not None
        session.add(SnippetProgress(champion_id=dee, snippet_id=ONE))
    return counted


async def page_in_karachi(sessions: Sessions) -> str:
    """The learning page as a coordinator in Karachi sees it."""
    async with dashboard(sessions) as client:
        sam = await coordinator(sessions)
        async with sessions.begin() as session:
            await session.execute(update(Champion).where(Champion.id == sam).values(timezone="Asia/Karachi"))
        assert (await sign_in(client, await link(sessions, sam))).status == 303
        return await (await client.get("/learning")).text()


async def test_a_fresh_snapshot_is_shown_with_the_time_it_was_counted(sessions: Sessions) -> None:
    await seed(sessions)
    counted = await snapshot_then_dee_reads(sessions, timedelta(minutes=5))
    html = await page_in_karachi(sessions)
    assert f"Figures as of {translator('en').datetime(counted, 'Asia/Karachi')}" in html
    # Ana and Ben started, of 3 members (Sam joined since): not Dee's read yet.
    assert "Members (champions active or paused): 3" in html
    assert topic_row(html) == ["Core20PLUS5", "2", "1", "50%", "2 of 3 (67%)"]


async def test_a_stale_snapshot_is_counted_afresh_and_kept(sessions: Sessions) -> None:
    await seed(sessions)
    await snapshot_then_dee_reads(sessions, learning_snapshot.STALE_AFTER + timedelta(minutes=1))
    html = await page_in_karachi(sessions)
    assert "Members (champions active or paused): 4" in html  # Sam too
    assert topic_row(html) == ["Core20PLUS5", "3", "1", "50%", "2 of 3 (67%)"]  # and Dee's read
    async with sessions() as session:
        stored = await learning_snapshot.latest(session)
    assert stored is not None and utcnow() - stored.computed_at < timedelta(minutes=1)
    assert f"Figures as of {translator('en').datetime(stored.computed_at, 'Asia/Karachi')}" in html
