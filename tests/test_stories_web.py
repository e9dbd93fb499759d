"""The story form on a report's dashboard page: save, replace and delete a story with the session's
CSRF token (without it: 403, nothing saved), in the audit log by report id only, escaped when
shown, refused when empty or too long, and only for coordinators."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from storage import stories
from storage.models import Champion, Role, Status
from tests.impact_seed import ESCAPED, SCRIPT, Sessions, at, person, reported
from tests.web_harness import audit_log, coordinator, csrf_of, dashboard, link, sign_in

Client = TestClient[Any, Any]


async def a_report(sessions: Sessions, *, share: bool = True, telegram_id: int = 601) -> int:
    async with sessions.begin() as session:
        return await reported(session, await person(session, telegram_id, share=share), at(2027, 2))


async def story_of(sessions: Sessions, report_id: int) -> str | None:
    async with sessions() as session:
        story = await stories.of_report(session, report_id)
        return story.text if story else None


async def signed_in(sessions: Sessions, client: Client) -> int:
    sam = await coordinator(sessions)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return sam


async def test_a_story_is_saved_replaced_and_deleted_with_the_token_and_audited(sessions: Sessions) -> None:
    report = await a_report(sessions)
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        page = await (await client.get("/report", params={"id": str(report)})).text()
        assert "Success story for partners" in page and "Delete story" not in page
        assert 'data-testid="story-withheld"' not in page  # the champion agrees to sharing
        csrf = csrf_of(page)

        refused = await client.post("/story", data={"id": str(report), "action": "save", "text": "No token"})
        assert refused.status == 403
        wrong = await client.post(
            "/story", data={"csrf": "x" + csrf, "id": str(report), "action": "save", "text": "Wrong token"}
        )
        assert wrong.status == 403
        assert await story_of(sessions, report) is None

        saved = await client.post(
            "/story",
            data={"csrf": csrf, "id": str(report), "action": "save", "text": f"  A mum booked {SCRIPT} "},
            allow_redirects=False,
        )
        assert saved.status == 303 and saved.headers["Location"] == f"report?id={report}&story=saved"
        assert await story_of(sessions, report) == f"A mum booked {SCRIPT}"
        page = await (await client.get(f"/report?id={report}&story=saved")).text()
        assert "Story saved." in page and "Delete story" in page
        assert f"A mum booked {ESCAPED}</textarea>" in page and SCRIPT not in page

        replaced = await client.post(
            "/story", data={"csrf": csrf, "id": str(report), "action": "save", "text": "Two mums booked"}
        )
        assert replaced.status == 200 and "Two mums booked</textarea>" in await replaced.text()
        deleted = await client.post("/story", data={"csrf": csrf, "id": str(report), "action": "delete"})
        assert "Story deleted." in await deleted.text()
        assert await story_of(sessions, report) is None
    changes = [
        (who, detail) for action, who, detail in await audit_log(sessions) if action == "story_changed"
    ]
    assert changes == [
        (sam, f"story:save:{report}"),
        (sam, f"story:save:{report}"),
        (sam, f"story:delete:{report}"),
    ]
    assert not any(detail and "mum" in detail for _action, _who, detail in await audit_log(sessions))


async def test_an_empty_or_too_long_story_or_an_unknown_report_is_refused(sessions: Sessions) -> None:
    report = await a_report(sessions)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        csrf = csrf_of(await (await client.get("/report", params={"id": str(report)})).text())
        for text, says in (
            ("   ", "Type the story, or delete it."),
            ("x" * 1001, "A story can be at most 1,000 characters long."),
        ):
            refused = await client.post(
                "/story", data={"csrf": csrf, "id": str(report), "action": "save", "text": text}
            )
            assert refused.status == 400 and says in await refused.text()
        unknown = await client.post(
            "/story", data={"csrf": csrf, "id": "99999", "action": "save", "text": "A story"}
        )
        assert unknown.status == 404
        for bad in ({"id": "x1", "action": "save"}, {"id": str(report), "action": "publish"}):
            assert (await client.post("/story", data={"csrf": csrf, "text": "A story", **bad})).status == 400
    assert await story_of(sessions, report) is None
    assert not any(action == "story_changed" for action, _who, _detail in await audit_log(sessions))


async def test_a_champion_who_does_not_share_is_told_of_on_the_form(sessions: Sessions) -> None:
    report = await a_report(sessions, share=False)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        page = await (await client.get("/report", params={"id": str(report)})).text()
    assert 'data-testid="story-withheld"' in page
    assert "the story will not be in the impact report unless they agree" in page


async def test_someone_no_longer_a_coordinator_cannot_save_a_story(sessions: Sessions) -> None:
    report = await a_report(sessions)
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client)
        csrf = csrf_of(await (await client.get("/report", params={"id": str(report)})).text())
        async with sessions.begin() as session:
            person = await session.get(Champion, sam)
            assert person is not None
            person.role, person.status = Role.CHAMPION, Status.ACTIVE
        refused = await client.post(
            "/story", data={"csrf": csrf, "id": str(report), "action": "save", "text": "Hi"}
        )
        assert "Only coordinators can sign in." in await refused.text()
        anonymous = await client.post("/story", data={"id": str(report), "action": "save", "text": "Hi"})
        assert "Only coordinators can sign in." in await anonymous.text()
    assert await story_of(sessions, report) is None
    assert ("access_ended", sam, None) in await audit_log(sessions)
