"""The campaigns page: the list with status, messages and reach as /campaigns shows them; Pause,
Resume and Cancel through the chat's own function; loading a campaign file as the CLI does, a
file with a problem loading nothing and saying which line is wrong; the reach chart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import broadcasts
from storage.models import Broadcast, Campaign, utcnow
from tests.web_harness import ESCAPED, SCRIPT, audit_log, coordinator, csrf_of, dashboard, link, seed, sign_in

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[Any, Any]


async def signed_in(sessions: Sessions, client: Client) -> tuple[int, str]:
    """Sign Sam in; Sam's id and the session's CSRF token."""
    sam = await coordinator(sessions)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return sam, csrf_of(await (await client.get("/campaigns")).text())


async def campaign(sessions: Sessions, name: str = "Flu", scheduled: int = 2) -> int:
    """A campaign with `scheduled` messages waiting for next week."""
    async with sessions.begin() as session:
        made = Campaign(name=name)
        session.add(made)
        await session.flush()
        for number in range(scheduled):
            session.add(
                Broadcast(
                    texts={"en": f"Message {number}"},
                    campaign_id=made.id,
                    key=f"m{number}",
                    send_at=utcnow() + timedelta(days=7 + number),
                )
            )
        return made.id


async def status_of(sessions: Sessions, campaign_id: int) -> tuple[str, list[str]]:
    async with sessions() as session:
        found = await session.get(Campaign, campaign_id)
        assert found is not None
        messages = await session.scalars(select(Broadcast.status).where(Broadcast.campaign_id == campaign_id))
        return found.status, sorted(messages)


async def press(client: Client, csrf: str, campaign_id: int, action: str) -> tuple[int, str]:
    """Press a campaign's button; the status and the page it leads to."""
    answer = await client.post(
        "/campaign-change",
        data={"csrf": csrf, "id": str(campaign_id), "action": action},
        allow_redirects=False,
    )
    if answer.status != 303:
        return answer.status, await answer.text()
    return 303, await (await client.get(f"/{answer.headers['Location']}")).text()


async def test_pause_resume_and_cancel_as_the_chat_does(sessions: Sessions) -> None:
    flu = await campaign(sessions)
    async with dashboard(sessions) as client:
        sam, csrf = await signed_in(sessions, client)
        listing = await (await client.get("/campaigns")).text()
        assert "Flu</bdi>: active" in listing and "Messages: 2 scheduled, 0 sent" in listing
        assert ">Pause<" in listing and ">Resume<" not in listing
        status, html = await press(client, csrf, flu, "pause")
        assert status == 303 and "Paused Flu. Its messages wait until you resume it." in html
        assert "Flu</bdi>: paused" in html and ">Resume<" in html
        assert await status_of(sessions, flu) == ("paused", ["scheduled", "scheduled"])
        status, html = await press(client, csrf, flu, "pause")  # pressed again: nothing to do
        assert "This campaign is already paused." in html
        status, html = await press(client, csrf, flu, "resume")
        assert "Resumed Flu." in html
        status, html = await press(client, csrf, flu, "cancel")
        assert "Cancelled Flu: 2 scheduled messages will not be sent." in html
        assert "Flu</bdi>: cancelled" in html and ">Cancel campaign<" not in html
    assert await status_of(sessions, flu) == ("cancelled", [broadcasts.CANCELLED] * 2)
    log = await audit_log(sessions)
    assert [e for e in log if e[0] == "campaign_changed"] == [
        ("campaign_changed", sam, f"{action}:{flu}") for action in ("pause", "resume", "cancel")
    ]


async def test_a_change_without_csrf_or_with_a_bad_campaign_changes_nothing(sessions: Sessions) -> None:
    flu = await campaign(sessions)
    async with dashboard(sessions) as client:
        _sam, csrf = await signed_in(sessions, client)
        refused = await client.post("/campaign-change", data={"id": str(flu), "action": "cancel"})
        assert refused.status == 403
        status, _html = await press(client, csrf, flu, "explode")
        assert status == 400
        bad = await client.post("/campaign-change", data={"csrf": csrf, "id": "<b>1</b>", "action": "pause"})
        assert bad.status == 400 and "<b>1" not in await bad.text()
        missing = await client.post("/campaign-change", data={"csrf": csrf, "id": "9999", "action": "pause"})
        assert missing.status == 404
    assert await status_of(sessions, flu) == ("active", ["scheduled", "scheduled"])


def campaign_file(name: str = "Spring jabs", when: str | None = None, extra: str = "") -> str:
    when = when or f"{utcnow() + timedelta(days=30):%Y-%m-%d} 10:00"
    return (
        f"name: {name}\n"
        "timezone: Europe/London\n"
        f"{extra}"
        "messages:\n"
        "  - key: launch\n"
        f"    at: {when}\n"
        "    texts:\n"
        "      en: Spring jabs are here\n"
        "      pl: Wiosenne szczepienia\n"
    )


async def upload(
    client: Client, csrf: str | None, text: str, filename: str = "spring.yaml"
) -> tuple[int, str]:
    form = FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("file", text.encode(), filename=filename, content_type="application/yaml")
    answer = await client.post("/campaign-load", data=form, allow_redirects=False)
    if answer.status != 303:
        return answer.status, await answer.text()
    return 303, await (await client.get(f"/{answer.headers['Location']}")).text()


async def loaded(sessions: Sessions) -> list[tuple[str, int]]:
    """Each campaign's name and how many messages it has."""
    async with sessions() as session:
        found = []
        for made in await session.scalars(select(Campaign).order_by(Campaign.id)):
            messages = await session.scalars(select(Broadcast.id).where(Broadcast.campaign_id == made.id))
            found.append((made.name, len(list(messages))))
        return found


async def test_loading_a_good_file_makes_the_campaign(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        sam, csrf = await signed_in(sessions, client)
        status, html = await upload(client, csrf, campaign_file())
    assert status == 303
    assert "Loaded Spring jabs." in html and "Spring jabs</bdi>: active" in html
    assert "Messages: 1 scheduled, 0 sent" in html
    assert await loaded(sessions) == [("Spring jabs", 1)]
    async with sessions() as session:
        message = await session.scalar(select(Broadcast))
        assert message is not None and message.texts == {
            "en": "Spring jabs are here",
            "pl": "Wiosenne szczepienia",
        }
    assert any(e[0] == "campaign_loaded" and e[1] == sam for e in await audit_log(sessions))


async def test_a_bad_file_loads_nothing_and_says_which_line_is_wrong(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        _sam, csrf = await signed_in(sessions, client)
        status, html = await upload(client, csrf, campaign_file(extra="colour: blue\n"))
        assert status == 400
        assert "The file was not loaded. Line 3:" in html and "colour" in html
        assert 'class="nhsuk-error-summary"' in html and 'href="#file"' in html
        assert 'aria-describedby="file-hint file-error"' in html
        status, html = await upload(client, csrf, campaign_file(when="2020-01-01 10:00"))
        assert status == 400 and "The file was not loaded. Line 5:" in html and "in the past" in html
        status, html = await upload(client, csrf, campaign_file(extra="audience: {areas: [Nowhere]}\n"))
        assert status == 400 and "The file was not loaded. Line 3:" in html and "Nowhere" in html
        status, html = await upload(client, csrf, "name: [unclosed\n")
        assert status == 400 and "not valid YAML" in html
        status, html = await upload(client, csrf, f"name: {SCRIPT}\n  bad: indent: here\n")
        assert status == 400 and "<script" not in html.lower()
        status, html = await upload(client, csrf, "")
        assert status == 400 and "Line 1:" in html
        status, html = await upload(client, None, campaign_file())
        assert status == 403
    assert await loaded(sessions) == []


async def test_the_reach_chart_and_escaped_names(sessions: Sessions) -> None:
    await seed(sessions)  # the campaign "Flu <script>…" with one message sent
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        html = await (await client.get("/campaigns")).text()
    assert "<script" not in html.lower()
    assert f"Flu {ESCAPED}" in html
    assert 'data-testid="reach-chart"' in html and 'role="img"' in html
    assert '<title id="reach-chart-title">Reach per campaign</title>' in html
    assert "sent 1 · shared 0 · questions 0 · concerns 0" in html


async def test_not_signed_in_sees_the_sign_in_page(sessions: Sessions) -> None:
    flu = await campaign(sessions)
    async with dashboard(sessions) as client:
        html = await (await client.get("/campaigns")).text()
        assert "Sign in" in html and "Flu" not in html
        answer = await client.post("/campaign-change", data={"id": str(flu), "action": "cancel"})
        assert "Sign in" in await answer.text()
    assert await status_of(sessions, flu) == ("active", ["scheduled", "scheduled"])


async def test_cancelling_a_campaign_with_nothing_left_says_so_plainly(sessions: Sessions) -> None:
    done = await campaign(sessions, "Done", scheduled=0)
    async with dashboard(sessions) as client:
        _sam, csrf = await signed_in(sessions, client)
        status, html = await press(client, csrf, done, "cancel")
    assert status == 303 and "Cancelled Done. It had no messages left to send." in html
