"""The dashboard's themes pages: the list (in the navigation), one theme, and its forms moving it one
step at a time (a forged skip refused), telling its reporters once, notes, partners, actions with
bad and past dates refused, the outcome, a form without the CSRF token refused, names escaped."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import reports, themes
from storage.models import Champion, Delivery, Status, Theme, ThemeStep
from tests.web_harness import ESCAPED, SCRIPT, audit_log, coordinator, csrf_of, dashboard, link, sign_in

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[Any, Any]


async def a_theme(sessions: Sessions, title: str = "8am GP phone queues") -> int:
    """A theme of three reports from two champions."""
    async with sessions.begin() as session:
        ids = []
        for telegram_id in (701, 702):
            person = Champion(
                telegram_id=telegram_id, display_name="Ana", language="en", status=Status.ACTIVE
            )
            session.add(person)
            await session.flush()
            for text in ("Queues", "Lines") if telegram_id == 701 else ("Waits",):
                draft = reports.Draft(topic="gp-access", kind="barrier", people="few", text=text)
                ids.append((await reports.create(session, person, draft)).id)
        theme = await themes.create(session, ids, title, None)
        assert isinstance(theme, Theme)
        return theme.id


async def signed_in(sessions: Sessions, client: Client) -> str:
    sam = await coordinator(sessions)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return csrf_of(await (await client.get("/themes")).text())


async def post(client: Client, csrf: str, **fields: str) -> tuple[int, str]:
    """Send a theme form; the status and the page it leads to."""
    answer = await client.post("/theme-change", data={"csrf": csrf, **fields}, allow_redirects=False)
    if answer.status != 303:
        return answer.status, await answer.text()
    return 303, await (await client.get(f"/{answer.headers['Location']}")).text()


async def test_list_and_one_theme(sessions: Sessions) -> None:
    theme_id = await a_theme(sessions, f"Queues {SCRIPT}")
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        listing = await (await client.get("/themes")).text()
        assert 'href="themes" aria-current="page">Themes<' in listing
        assert f'href="theme?id={theme_id}"><bdi>Queues {ESCAPED}</bdi>' in listing
        assert "Select a concern" in listing and "3 reports" in listing and SCRIPT not in listing
        page = await (await client.get(f"/theme?id={theme_id}")).text()
        assert (
            "Step 1 of 5: Select a concern · 3 reports" in page and "Next step: Research and diagnose" in page
        )
        assert (await client.get("/theme?id=999")).status == 404
        assert (await client.get("/theme?id=abc")).status == 404
        assert (await client.get("/theme?id=²")).status == 404  # a digit to isdigit, not to int


async def test_moving_a_step_tells_each_reporter_once(sessions: Sessions) -> None:
    theme_id = await a_theme(sessions)
    async with dashboard(sessions) as client:
        csrf = await signed_in(sessions, client)
        skip = {"id": str(theme_id), "action": "next", "step": "plan", "next_note": "Jump"}
        status, page = await post(client, csrf, **skip)
        assert status == 400 and "A theme moves one step at a time." in page
        status, page = await post(
            client, csrf, id=str(theme_id), action="next", step="research", next_note=""
        )
        assert status == 400 and "That is empty. Please type a few words." in page
        move = {
            "id": str(theme_id),
            "action": "next",
            "step": "research",
            "next_note": "Asked",
            "tell": "yes",
        }
        status, page = await post(client, csrf, **move)
        assert status == 303 and "Sent to the champions of 3 reports." in page
        assert "Step 2 of 5: Research and diagnose" in page
        status, page = await post(client, csrf, **move)  # sent twice: refused, nothing more queued
        assert status == 400 and "The theme is already at that step." in page
        back = {"id": str(theme_id), "action": "next", "step": "select", "next_note": "Back"}
        status, page = await post(client, csrf, **back)
        assert status == 400 and "A theme can&#39;t move back a step." in page
    async with sessions() as session:
        rows = list(await session.scalars(select(Delivery).where(Delivery.kind == "theme")))
        assert len(rows) == 2  # one per champion
        theme = await session.get(Theme, theme_id)
        assert theme is not None and theme.step == ThemeStep.RESEARCH


async def test_notes_partners_actions_and_outcome(sessions: Sessions) -> None:
    theme_id = await a_theme(sessions)
    key = {"id": str(theme_id)}
    async with dashboard(sessions) as client:
        csrf = await signed_in(sessions, client)
        status, page = await post(client, csrf, **key, action="note", note=f"Spoke {SCRIPT}")
        assert status == 303 and f"Select a concern: <bdi>Spoke {ESCAPED}</bdi>" in page
        status, page = await post(client, csrf, **key, action="partner", kind="pub", partner="Swan")
        assert status == 400 and "Please choose a kind of partner from the buttons." in page
        status, page = await post(
            client, csrf, **key, action="partner", kind="gp", partner="Northfield Surgery"
        )
        assert status == 303 and "GP practice: <bdi>Northfield Surgery</bdi>" in page
        action = {**key, "action": "action", "action_text": "Call back", "owner": "Surgery"}
        status, page = await post(client, csrf, **action, due="soon")
        assert status == 400 and "Please type the date as YYYY-MM-DD or DD/MM/YYYY" in page
        assert 'value="Call back"' in page  # what was typed is kept
        status, page = await post(client, csrf, **action, due="2020-01-01")
        assert status == 400 and "That date has passed." in page
        due = date.today() + timedelta(days=10)
        status, page = await post(client, csrf, **action, due=due.isoformat())
        assert status == 303 and "Call back – Surgery, due" in page
        async with sessions() as session:
            full = await themes.get(session, theme_id)
            assert full is not None
            action_id = full.actions[0].id
        status, page = await post(client, csrf, id=str(theme_id + 1), action="done", action_id=str(action_id))
        assert status == 404  # an action id under a theme that is not its own: nothing is done
        assert "(done)" not in await (await client.get(f"/theme?id={theme_id}")).text()
        status, page = await post(client, csrf, **key, action="done", action_id=str(action_id))
        assert status == 303 and "(done)" in page
        status, page = await post(client, csrf, **key, action="outcome", outcome="Line opened", shared="yes")
        assert status == 303 and "Outcome: Line opened" in page
    async with sessions() as session:
        theme = await session.get(Theme, theme_id)
        assert theme is not None and theme.outcome_shared and theme.outcome == "Line opened"
    changes = [detail for action, _who, detail in await audit_log(sessions) if action == "theme_changed"]
    tid = theme_id
    assert changes == [f"note:{tid}", f"partner:{tid}", f"action:{tid}", f"done:{tid}", f"outcome:{tid}"]


async def test_forms_need_the_token(sessions: Sessions) -> None:
    theme_id = await a_theme(sessions)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        status, _page = await post(client, "forged", id=str(theme_id), action="note", note="Hi")
        assert status == 403
        status, _page = await post(client, "", id=str(theme_id), action="note", note="Hi")
        assert status == 403
    async with sessions() as session:
        full = await themes.get(session, theme_id)
        assert full is not None and full.notes == []


async def test_signed_out_sees_the_sign_in_page(sessions: Sessions) -> None:
    theme_id = await a_theme(sessions)
    async with dashboard(sessions) as client:
        page = await (await client.get(f"/theme?id={theme_id}")).text()
        assert "8am GP phone queues" not in page


async def test_reports_the_insights_filters_show_are_grouped_into_a_theme(sessions: Sessions) -> None:
    await a_theme(sessions)  # three gp-access reports, already in a theme
    async with sessions.begin() as session:
        person = await session.scalar(select(Champion).where(Champion.telegram_id == 701))
        assert person is not None
        draft = reports.Draft(topic="housing", kind="barrier", people="few", text="Damp")
        housing = (await reports.create(session, person, draft)).id
    async with dashboard(sessions) as client:
        csrf = await signed_in(sessions, client)
        listing = await (await client.get("/insights", params={"topic": "gp-access"})).text()
        assert 'href="theme-new?topic=gp-access"' in listing
        form = await (await client.get("/theme-new", params={"topic": "gp-access"})).text()
        assert "Type a short title for a theme of the 3 reports these filters show" in form
        fields = {"csrf": csrf, "topic": "gp-access"}
        blank = await client.post("/theme-new", data=fields | {"title": " "}, allow_redirects=False)
        assert blank.status == 400 and "The title is empty. Please type a short title." in await blank.text()
        no_token = await client.post("/theme-new", data=fields | {"csrf": "", "title": "Queues"})
        assert no_token.status == 403
        made = await client.post(
            "/theme-new", data=fields | {"title": f"Queues {SCRIPT}"}, allow_redirects=False
        )
        assert made.status == 303 and made.headers["Location"].startswith("theme?id=")
        page = await (await client.get(f"/{made.headers['Location']}")).text()
        assert f"Queues {ESCAPED}" in page and "3 reports" in page
        nothing = await (await client.get("/theme-new", params={"topic": "vaccinations"})).text()
        assert "There are no reports to put in a theme." in nothing
        report_page = await (await client.get("/report", params={"id": str(housing)})).text()
        assert 'action="theme-add"' in report_page and f"Queues {ESCAPED}" in report_page
        theme_id = made.headers["Location"].removeprefix("theme?id=")
        add = {"csrf": csrf, "report": str(housing), "theme": theme_id}
        added = await client.post("/theme-add", data=add, allow_redirects=False)
        assert added.status == 303
        shown = await (await client.get(f"/{added.headers['Location']}")).text()
        assert f"{reports.reference(housing)} was added to “Queues {ESCAPED}”." in shown
        again = await client.post("/theme-add", data=add)
        assert f"{reports.reference(housing)} is in “Queues {ESCAPED}” already." in await again.text()
        forged = await client.post("/theme-add", data=add | {"theme": "999"})
        assert forged.status == 404
    async with sessions() as session:
        full = await themes.get(session, int(theme_id))
        assert full is not None and len(await themes.report_ids(session, int(theme_id))) == 4
    changes = [detail for action, _who, detail in await audit_log(sessions) if action == "theme_changed"]
    assert changes == [f"create:{theme_id}", f"add:{theme_id}"]
