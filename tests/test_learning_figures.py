"""Completion figures on a library larger than one pass marks (learning.BITS snippets): the
figures of every topic match a count made champion by champion in Python."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import learning
from storage.content import TOPICS, Library, Snippet
from storage.models import Area, Champion, Role, SnippetProgress, Status

SIZES = (40, 30, 1)  # 71 snippets: the first topic takes one pass (70 would not fit), the other two the next


def big_library() -> Library:
    library = Library()
    for topic, size in zip(TOPICS, SIZES, strict=False):
        for order in range(size):
            snippet_id = f"{topic}-{order}"
            library.snippets[(snippet_id, "en")] = Snippet(
                snippet_id, "en", topic, order, snippet_id, "NHS", "Body.", None, False
            )
    return library


READS = (0, 1, 5, 30, 40, 40)  # how many snippets of each topic each champion has read


async def seed(sessions: async_sessionmaker[AsyncSession], library: Library) -> int:
    """Champion n reads the first n snippets of each topic (a whole topic when n is large enough)
    and answers every second one, right every third; the last one is stopped, so not counted.
    All are of one area, whose id this returns."""
    ids = {topic: library.in_topic(topic) for topic in library.topics()}
    async with sessions.begin() as session:
        area = Area(name="North")
        session.add(area)
        await session.flush()
        people = []
        for index, n in enumerate(READS):
            champion = Champion(
                telegram_id=700 + index,
                display_name=f"C{index}",
                language="en",
                role=Role.CHAMPION,
                status=Status.STOPPED if index == 5 else Status.ACTIVE,
                area_id=area.id,
            )
            session.add(champion)
            people.append((champion, n))
        await session.flush()
        for champion, n in people:
            for snippets in ids.values():
                for order, snippet_id in enumerate(snippets[:n]):
                    answered = order % 2 == 0
                    session.add(
                        SnippetProgress(
                            champion_id=champion.id,
                            snippet_id=snippet_id,
                            quiz_correct=(order % 3 == 0) if answered else None,
                        )
                    )
        return area.id


async def test_topics_split_over_passes_are_counted_as_one_pass_would(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    library = big_library()
    assert [len(topics) for topics in learning._in_passes(library)] == [1, 2]
    ids = {topic: library.in_topic(topic) for topic in library.topics()}
    area_id = await seed(sessions, library)
    async with sessions() as session:
        members, figures = await learning.topic_completion(session, library)
        in_area = await learning.topic_completion(session, library, area_id)
    assert in_area == (members, figures)
    counted = list(READS[:5])
    assert members == 5
    expected = []
    for topic, snippets in ids.items():
        read = [min(n, len(snippets)) for n in counted]
        orders = [order for r in read for order in range(r)]
        expected.append(
            learning.TopicCompletion(
                topic,
                len(snippets),
                sum(1 for r in read if r),
                sum(1 for r in read if r == len(snippets)),
                sum(read),
                sum(1 for order in orders if order % 2 == 0),
                sum(1 for order in orders if order % 2 == 0 and order % 3 == 0),
            )
        )
    assert figures == expected
    assert [(f.started, f.finished) for f in figures] == [(4, 1), (4, 2), (4, 4)]
