"""The champions page: the list with its filters and pages, and each action — approving and
declining (as /pending does, the champion told through the outbox in their language), pausing
and resuming, giving and taking the coordinator role — done by a CSRF-checked form that comes back
to the same list with a banner; nothing done without the token, nobody demotes themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Services
from handlers.admin import result_message
from storage import identities, outbox, web_sessions
from storage.models import Area, Champion, Delivery, Network, Role, Status, utcnow
from tests.web_harness import (
    ESCAPED,
    SCRIPT,
    audit_log,
    coordinator,
    csrf_of,
    dashboard,
    link,
    live_sessions,
    sign_in,
)

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[Any, Any]


async def places(sessions: Sessions, *names: str) -> list[int]:
    """Areas, then a network of each name too; the areas' ids (networks get the same order)."""
    async with sessions.begin() as session:
        areas = [Area(name=name) for name in names]
        session.add_all([*areas, *(Network(name=name) for name in names)])
        await session.flush()
        return [area.id for area in areas]


async def network_id(sessions: Sessions, name: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Network.id).where(Network.name == name))
    assert found is not None
    return found


async def person(
    sessions: Sessions,
    telegram_id: int,
    name: str,
    status: Status = Status.ACTIVE,
    *,
    language: str = "en",
    area_id: int | None = None,
    networks: tuple[str, ...] = (),
    whatsapp: bool = False,
) -> int:
    """A champion with a Telegram identity (and a WhatsApp one if asked); their id."""
    async with sessions.begin() as session:
        chosen = list(await session.scalars(select(Network).where(Network.name.in_(networks))))
        champion = Champion(
            telegram_id=telegram_id,
            display_name=name,
            language=language,
            role=Role.CHAMPION,
            status=status,
            area_id=area_id,
            networks=chosen,
        )
        session.add(champion)
        await session.flush()
        await identities.link(session, telegram_id, champion.id)
        if whatsapp:
            identity = await identities.whatsapp_wrote(session, f"wa-{telegram_id}", None, utcnow())
            identity.champion_id = champion.id
        return champion.id


async def stored(sessions: Sessions, champion_id: int) -> Champion:
    async with sessions() as session:
        found = await session.get(Champion, champion_id)
    assert found is not None
    return found


async def outbox_rows(sessions: Sessions) -> list[tuple[str, int]]:
    async with sessions() as session:
        return [(row.kind, row.champion_id) for row in await session.scalars(select(Delivery))]


async def signed_in(sessions: Sessions, client: Client, telegram_id: int = 501, name: str = "Sam") -> int:
    sam = await coordinator(sessions, telegram_id=telegram_id, name=name)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return sam


async def act(client: Client, champion_id: int, action: str, where: str = "/champions") -> Any:
    """Press one action's button on the list at `where`, as the browser posts it."""
    csrf = csrf_of(await (await client.get(where)).text())
    return await client.post(
        where, data={"csrf": csrf, "id": str(champion_id), "action": action}, allow_redirects=False
    )


async def test_the_list_shows_each_champions_details(sessions: Sessions) -> None:
    north, _south = await places(sessions, "North", "South")
    ana = await person(sessions, 601, "Ana", area_id=north, networks=("North", "South"), whatsapp=True)
    await person(sessions, 602, "Bea", Status.PENDING, language="pl")
    await person(sessions, 603, "Joining Jo", Status.JOINING)
    await person(sessions, 604, "Declined Dee", Status.DECLINED)
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        html = await (await client.get("/champions")).text()
    assert "3 champions match." in html  # Sam, Ana, Bea: not who is still joining, nor declined
    assert "Joining Jo" not in html and "Declined Dee" not in html
    ana_row = html[html.index(f'data-testid="champion-{ana}"') :].split("</tr>")[0]
    for shown in ("<bdi>Ana</bdi>", "Telegram, WhatsApp", "English", "<bdi>North</bdi>", "North, South"):
        assert shown in ana_row, shown
    assert "Active" in ana_row and "Champion" in ana_row and 'value="pause"' in ana_row
    assert 'value="give"' in ana_row and 'value="approve"' not in ana_row
    assert '<span lang="pl">Polski</span>' in html and "Waiting for approval" in html
    assert "No area given" in html and 'value="approve"' in html and 'value="decline"' in html
    sam_row = html[html.index(f'data-testid="champion-{sam}"') :].split("</tr>")[0]
    assert "Coordinator" in sam_row and 'value="take"' not in sam_row  # not your own role
    assert ("viewed", sam, "champions") in await audit_log(sessions)


async def test_the_list_is_filtered_by_area_network_and_status(sessions: Sessions) -> None:
    north, south = await places(sessions, "North", "South")
    await person(sessions, 601, "Ana", area_id=north, networks=("North",))
    await person(sessions, 602, "Bea", Status.PAUSED, area_id=south, networks=("North", "South"))
    await person(sessions, 603, "Cy", Status.PENDING, area_id=north)
    await person(sessions, 604, "Di", Status.STOPPED, area_id=south, networks=("South",))
    north_network = await network_id(sessions, "North")

    def names(html: str) -> set[str]:
        table = html.partition("<table")[2]  # not the header's "Signed in as"
        return {name for name in ("Ana", "Bea", "Cy", "Di", "Sam") if f"<bdi>{name}</bdi>" in table}

    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        for query, expected in (
            ({}, {"Ana", "Bea", "Cy", "Di", "Sam"}),
            ({"area": str(north)}, {"Ana", "Cy"}),
            ({"network": str(north_network)}, {"Ana", "Bea"}),
            ({"status": "paused"}, {"Bea"}),
            ({"status": "stopped"}, {"Di"}),
            ({"status": "pending", "area": str(north)}, {"Cy"}),
            ({"area": str(south), "network": str(north_network), "status": "active"}, set()),
            ({"area": "", "network": "", "status": ""}, {"Ana", "Bea", "Cy", "Di", "Sam"}),
        ):
            html = await (await client.get("/champions", params=query)).text()
            assert names(html) == expected, query
        html = await (await client.get("/champions", params={"area": str(south), "status": "active"})).text()
        assert "No champions match these filters." in html and "0 champions match." in html
        assert f'<option value="{south}" selected>' in html and '<option value="active" selected>' in html


async def test_the_list_comes_25_a_page_newest_first(sessions: Sessions) -> None:
    for number in range(1, 31):
        await person(sessions, 600 + number, f"Person {number:02d}")
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)  # the 31st, and the newest
        first = await (await client.get("/champions")).text()
        second = await (await client.get("/champions", params={"page": "2"})).text()
        beyond = await (await client.get("/champions", params={"page": "9"})).text()
    assert "31 champions match." in first and "Champions, page 1 of 2" in first
    assert first.count('data-testid="champion-') == 25
    assert "<bdi>Sam</bdi>" in first and "<bdi>Person 30</bdi>" in first and "<bdi>Person 07</bdi>" in first
    assert "<bdi>Person 06</bdi>" not in first
    assert 'href="champions?page=2" rel="next"' in first and 'rel="prev"' not in first
    assert 'aria-label="Page 1" aria-current="page"' in first
    assert second.count('data-testid="champion-') == 6 and "<bdi>Person 01</bdi>" in second
    assert 'href="champions" rel="prev"' in second and "Champions, page 2 of 2" in second
    assert "Champions, page 2 of 2" in beyond  # past the end: the last (after approving its last one, say)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ({"area": "abc"}, "That area is not known"),
        ({"area": "999"}, "That area is not known"),
        ({"area": "-1"}, "That area is not known"),
        ({"network": "<b>x</b>"}, "That network is not known"),
        ({"status": "joining"}, "That status is not known"),
        ({"status": "declined"}, "That status is not known"),
        ({"page": "0"}, "That page is not known"),
        ({"page": "²"}, "That page is not known"),
        ({"page": "1e3"}, "That page is not known"),
    ],
)
async def test_a_made_up_filter_or_page_is_refused(
    sessions: Sessions, query: dict[str, str], title: str
) -> None:
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        answer = await client.get("/champions", params=query)
        assert answer.status == 400
        html = await answer.text()
    assert title in html and "<b>x" not in html


async def delivered_text(sessions: Sessions) -> str:
    """Claim the person-to-person row queued and render it as the delivery worker would."""
    async with sessions.begin() as session:
        [item] = await outbox.claim(session, "test", 10, utcnow(), lane=outbox.PERSON)
        assert item.kind == outbox.APPROVAL_RESULT
        message = await result_message(session, item, cast(Services, None))
    return message.text


async def test_approving_makes_them_active_and_tells_them_in_their_language(sessions: Sessions) -> None:
    bea = await person(sessions, 602, "Bea", Status.PENDING, language="pl")
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        pressed = await act(client, bea, "approve", "/champions?status=pending")
        assert pressed.status == 303
        assert pressed.headers["Location"] == f"/champions?status=pending&done=approve&id={bea}"
        html = await (await client.get(pressed.headers["Location"])).text()
        assert "Bea can now take part." in html and "They will be told in their language." in html
        assert "nhsuk-notification-banner--success" in html and "0 champions match." in html
        again = await act(client, bea, "approve")
        assert again.status == 409 and "Someone has already decided about this person." in await again.text()
    assert (await stored(sessions, bea)).status == Status.ACTIVE
    assert await outbox_rows(sessions) == [(outbox.APPROVAL_RESULT, bea)]
    assert (await delivered_text(sessions)).startswith("Dobra wiadomość")
    assert ("champion_changed", sam, f"approve:{bea}") in await audit_log(sessions)


async def test_declining_tells_them_too(sessions: Sessions) -> None:
    bea = await person(sessions, 602, "Bea", Status.PENDING)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        pressed = await act(client, bea, "decline")
        assert pressed.headers["Location"] == f"/champions?done=decline&id={bea}"
        html = await (await client.get(pressed.headers["Location"])).text()
        assert "Bea was declined." in html
    assert (await stored(sessions, bea)).status == Status.DECLINED
    assert await outbox_rows(sessions) == [(outbox.APPROVAL_RESULT, bea)]
    assert (await delivered_text(sessions)).startswith("Sorry, a coordinator could not approve")


async def test_pausing_and_resuming_follow_the_status_rules(sessions: Sessions) -> None:
    ana = await person(sessions, 601, "Ana")
    bea = await person(sessions, 602, "Bea", Status.PENDING)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        paused = await act(client, ana, "pause", "/champions?page=1")
        assert paused.headers["Location"] == f"/champions?done=pause&id={ana}"
        html = await (await client.get(paused.headers["Location"])).text()
        assert "Ana is paused: they get no campaign messages until they are resumed." in html
        assert (await stored(sessions, ana)).status == Status.PAUSED
        assert (await act(client, ana, "pause")).status == 409
        resumed = await act(client, ana, "resume")
        html = await (await client.get(resumed.headers["Location"])).text()
        assert "Ana gets campaign messages again." in html
        assert (await stored(sessions, ana)).status == Status.ACTIVE
        forged = await act(client, bea, "resume")  # resuming is not approving
        assert forged.status == 409 and "Nothing was changed" in await forged.text()
        assert (await act(client, bea, "pause")).status == 409
    assert (await stored(sessions, bea)).status == Status.PENDING
    assert await outbox_rows(sessions) == []


async def test_taking_the_role_away_ends_their_sessions_at_once(sessions: Sessions) -> None:
    ana = await person(sessions, 601, "Ana")
    async with dashboard(sessions) as client, dashboard(sessions) as hers:
        await signed_in(sessions, client)
        given = await act(client, ana, "give")
        html = await (await client.get(given.headers["Location"])).text()
        assert "Ana is now a coordinator." in html
        assert (await stored(sessions, ana)).role == Role.COORDINATOR
        assert (await sign_in(hers, await link(sessions, ana))).status == 303
        assert "<h1>Overview</h1>" in await (await hers.get("/")).text()
        assert (await act(client, ana, "give")).status == 409
        taken = await act(client, ana, "take")
        html = await (await client.get(taken.headers["Location"])).text()
        assert "Ana is no longer a coordinator, and is signed out of the dashboard." in html
        assert await live_sessions(sessions, ana) == 0
        assert "Send /web to the bot" in await (await hers.get("/champions")).text()
    assert (await stored(sessions, ana)).role == Role.CHAMPION


async def test_a_coordinator_cannot_take_their_own_role_away(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        refused = await act(client, sam, "take")
        assert refused.status == 400
        assert "You cannot take your own coordinator role away" in await refused.text()
        assert "<h1>Champions</h1>" in await (await client.get("/champions")).text()  # still signed in
    assert (await stored(sessions, sam)).role == Role.COORDINATOR


async def test_a_form_without_the_csrf_token_changes_nothing(sessions: Sessions) -> None:
    bea = await person(sessions, 602, "Bea", Status.PENDING)
    ana = await person(sessions, 601, "Ana")
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        for data in (
            {"id": str(bea), "action": "approve"},
            {"csrf": "made-up", "id": str(bea), "action": "approve"},
            {"id": str(ana), "action": "give"},
        ):
            refused = await client.post("/champions", data=data, allow_redirects=False)
            assert refused.status == 403 and "This form was not accepted" in await refused.text()
        for data in ({"action": "approve", "id": "x"}, {"action": "erase", "id": str(ana)}):
            csrf = csrf_of(await (await client.get("/champions")).text())
            bad = await client.post("/champions", data={"csrf": csrf, **data}, allow_redirects=False)
            assert bad.status == 400 and "That action is not known" in await bad.text()
        assert (await act(client, bea, "approve", "/champions?status=nope")).status == 400
    assert (await stored(sessions, bea)).status == Status.PENDING
    assert (await stored(sessions, ana)).role == Role.CHAMPION
    assert await outbox_rows(sessions) == []


async def test_script_in_names_areas_and_networks_is_escaped(sessions: Sessions) -> None:
    [area] = await places(sessions, f"North {SCRIPT}")
    bea = await person(
        sessions, 602, f"Bea {SCRIPT}", Status.PENDING, area_id=area, networks=(f"North {SCRIPT}",)
    )
    async with dashboard(sessions) as client:
        await signed_in(sessions, client, name=f"Sam {SCRIPT}")
        html = await (await client.get("/champions")).text()
        assert "<script" not in html.lower()
        assert f"<bdi>Bea {ESCAPED}</bdi>" in html and f"<bdi>North {ESCAPED}</bdi>" in html
        pressed = await act(client, bea, "approve")
        done = await (await client.get(pressed.headers["Location"])).text()
    assert "<script" not in done.lower() and f"Bea {ESCAPED} can now take part." in done


async def test_nobody_but_a_signed_in_coordinator_sees_or_changes_anything(sessions: Sessions) -> None:
    bea = await person(sessions, 602, "Bea", Status.PENDING)
    ana = await person(sessions, 601, "Ana")
    async with sessions.begin() as session:  # a session left from when Ana was a coordinator
        started = await web_sessions.start_session(session, ana, utcnow(), timedelta(minutes=30))
    async with dashboard(sessions) as client:
        for answer in (
            await client.get("/champions"),
            await client.post("/champions", data={"id": str(bea), "action": "approve"}),
        ):
            assert answer.status == 200 and "Send /web to the bot" in await answer.text()
        client.session.cookie_jar.update_cookies({"champbot_session": started.cookie})
        answer = await client.post(
            "/champions", data={"csrf": started.csrf, "id": str(bea), "action": "approve"}
        )
        assert "Send /web to the bot" in await answer.text() and "Bea" not in await answer.text()
    assert await live_sessions(sessions, ana) == 0
    assert (await stored(sessions, bea)).status == Status.PENDING
