"""The dashboard's Insights pages over HTTP: the list shows what /insights' filters show (and a
search of the text, its wildcards taken literally), bad filters are refused, opening a report is
audited and marks it seen, marking changes its status, and a response to one report or to all
the filters match goes through the outbox as the chat's does, with its versions, once, and
without revealing an anonymous reporter's language."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import whatsapp_media
from bot.wake import Wake
from handlers.common import champion_zone
from handlers.insights import period_bounds
from storage import outbox, reports
from storage.insight_export import SMALL
from storage.models import Area, Champion, Delivery, Report, ReportReply, Role, Status, utcnow
from storage.reports import Draft, Filters
from tests.web_harness import (
    ESCAPED,
    SCRIPT,
    audit_log,
    champion,
    coordinator,
    csrf_of,
    dashboard,
    link,
    sign_in,
)

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[Any, Any]


async def signed_in(sessions: Sessions, client: Client, name: str = "Sam") -> int:
    sam = await coordinator(sessions, name=name)
    assert (await sign_in(client, await link(sessions, sam))).status == 303
    return sam


async def an_area(sessions: Sessions, name: str) -> int:
    async with sessions.begin() as session:
        area = Area(name=name)
        session.add(area)
        await session.flush()
        return area.id


async def a_report(
    sessions: Sessions,
    champion_id: int,
    text: str = "heard something",
    *,
    topic: str = "vaccinations",
    kind: str = "barrier",
    area_id: int | None = None,
    status: str = "new",
    anonymous: bool = True,
    ago: timedelta = timedelta(hours=1),
) -> int:
    async with sessions.begin() as session:
        person = await session.get(Champion, champion_id)
        assert person is not None
        draft = Draft(topic=topic, kind=kind, people="few", text=text, area_id=area_id, anonymous=anonymous)
        made = await reports.create(session, person, draft)
        made.created_at = utcnow() - ago
        made.status = status
        return made.id


def listed(html: str) -> list[int]:
    """The report ids on a list page, in order."""
    return [int(found) for found in re.findall(r'<a href="report\?id=(\d+)">R-', html)]


async def chats_ids(sessions: Sessions, filters: Filters) -> list[int]:
    async with sessions() as session:
        rows, _total = await reports.find(session, filters, 0, 25)
    return [row.id for row in rows]


async def rows_of(sessions: Sessions) -> list[Delivery]:
    async with sessions() as session:
        return list(await session.scalars(select(Delivery).order_by(Delivery.id)))


async def status_of(sessions: Sessions, report_id: int) -> str:
    async with sessions() as session:
        report = await session.get(Report, report_id)
        assert report is not None
        return report.status


async def test_the_filters_show_what_the_chats_filters_show(sessions: Sessions) -> None:
    north, south = await an_area(sessions, "North"), await an_area(sessions, "South")
    ana, ben = await champion(sessions, 601, "Ana"), await champion(sessions, 602, "Ben")
    made = [
        await a_report(sessions, ana, "one", area_id=north, ago=timedelta(hours=2)),
        await a_report(sessions, ana, "two", topic="housing", kind="idea", area_id=south, status="acted"),
        await a_report(sessions, ben, "three", kind="idea", area_id=north, ago=timedelta(days=10)),
        await a_report(sessions, ben, "four", topic="housing", status="seen", ago=timedelta(days=40)),
    ]
    zone = champion_zone(None)
    seven = period_bounds("7d", zone, utcnow())
    cases = [
        ({}, Filters()),
        ({"topic": "housing"}, Filters(topic="housing")),
        ({"kind": "idea"}, Filters(kind="idea")),
        ({"area": str(north)}, Filters(area_id=north)),
        ({"status": "acted"}, Filters(status="acted")),
        ({"date": "7d"}, Filters(since=seven)),
        ({"date": "all", "kind": "idea", "area": str(north)}, Filters(kind="idea", area_id=north)),
        ({"q": "THREE"}, Filters(search="three")),
    ]
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        for query, filters in cases:
            response = await client.get("/insights", params=query)
            assert response.status == 200, query
            html = await response.text()
            assert listed(html) == await chats_ids(sessions, filters), query
        everything = await (await client.get("/insights")).text()
    assert listed(everything) == [made[1], made[0], made[2], made[3]]  # newest first
    assert "4 reports" in everything
    assert 'href="respond?all=1"' in everything


async def test_search_takes_percent_and_underscore_literally_and_ignores_case(sessions: Sessions) -> None:
    ana = await champion(sessions)
    percent = await a_report(sessions, ana, "Jabs 50% off at the Clinic")
    await a_report(sessions, ana, "5000 people at the clinic")
    underscore = await a_report(sessions, ana, "the file a_b")
    await a_report(sessions, ana, "the file axb")
    slash = await a_report(sessions, ana, r"a back\slash")
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)

        async def found(search: str) -> list[int]:
            return listed(await (await client.get("/insights", params={"q": search})).text())

        assert await found("50%") == [percent]
        assert await found("%") == [percent]
        assert await found("a_b") == [underscore]
        assert await found("\\") == [slash]
        assert await found("clinic") == await found("CLINIC")
        assert len(await found("clinic")) == 2
        assert await found("nothing like it") == []


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"topic": "nope"}, "Choose a topic"),
        ({"kind": "<b>x</b>"}, "Choose a kind"),
        ({"area": "abc"}, "Choose an area"),
        ({"area": "999999"}, "Choose an area"),
        ({"area": "²"}, "Choose an area"),
        ({"page": "²"}, "Pages are numbered from 1"),
        ({"status": "done"}, "Choose a status"),
        ({"date": "decade"}, "Choose dates"),
        ({"page": "abc"}, "Pages are numbered from 1"),
        ({"page": "-1"}, "Pages are numbered from 1"),
        ({"page": "0"}, "Pages are numbered from 1"),
        ({"q": "x" * 101}, "at most 100 characters"),
    ],
)
async def test_bad_filters_are_refused_clearly(sessions: Sessions, query: dict[str, str], says: str) -> None:
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        response = await client.get("/insights", params=query)
        html = await response.text()
    assert response.status == 400
    assert says in html and "<b>x" not in html


async def test_a_bad_or_missing_report_id_is_refused(sessions: Sessions) -> None:
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        for query in ({"id": "abc"}, {"id": "-1"}, {}):
            response = await client.get("/report", params=query)
            assert response.status == 400
            assert "That report is not known" in await response.text()
        gone = await client.get("/report", params={"id": "424242"})
        assert gone.status == 404
        assert (await client.get("/respond", params={"id": "x"})).status == 400


async def test_pages_of_25_newest_first(sessions: Sessions) -> None:
    ana = await champion(sessions)
    ids = [await a_report(sessions, ana, f"r{n}", ago=timedelta(minutes=n)) for n in range(30)]
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        first = await (await client.get("/insights")).text()
        second = await (await client.get("/insights", params={"page": "2"})).text()
    assert listed(first) == ids[:25] and listed(second) == ids[25:]
    assert 'href="insights?page=2" rel="next"' in first and 'aria-label="Page 2"' in first
    assert 'rel="prev"' in second and 'aria-current="page">2<' in second


async def test_opening_a_report_is_audited_marks_it_seen_and_shows_the_chats_view(sessions: Sessions) -> None:
    area = await an_area(sessions, f"North {SCRIPT}")
    ana = await champion(sessions, name=f"Ana {SCRIPT}")
    hidden = await a_report(sessions, ana, f"heard {SCRIPT}", area_id=area)
    named = await a_report(sessions, ana, "named one", anonymous=False, ago=timedelta(days=1))
    async with dashboard(sessions) as client:
        sam = await signed_in(sessions, client, name=f"Sam {SCRIPT}")
        async with sessions.begin() as session:
            reply = await reports.reply(session, [hidden], f"did {SCRIPT}", sam, theme=False)
        assert reply
        html = await (await client.get("/report", params={"id": str(hidden)})).text()
        other = await (await client.get("/report", params={"id": str(named)})).text()
        listing = await (await client.get("/insights", params={"q": SCRIPT})).text()
    assert "<script" not in (html + other + listing).lower()
    assert f"<bdi>heard {ESCAPED}</bdi>" in html
    assert f"North {ESCAPED}" in html and f"did {ESCAPED}" in html and f"Sam {ESCAPED}" in html
    assert "Ana" not in html and "English" not in html  # anonymous: no name, no language
    assert f"Ana {ESCAPED}" in other  # who chose to share their name
    assert f'value="{ESCAPED}"' in listing and listed(listing) == [hidden]
    assert await status_of(sessions, named) == "seen"
    assert await status_of(sessions, hidden) == "acted"  # a reply was sent; opening leaves it so
    log = await audit_log(sessions)
    assert ("viewed", sam, f"report:{hidden}") in log and ("viewed", sam, f"report:{named}") in log
    assert not any(detail and "heard" in detail for _action, _who, detail in log)


async def test_marking_changes_the_status_and_needs_the_token(sessions: Sessions) -> None:
    report = await a_report(sessions, await champion(sessions))
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        page = await (await client.get("/report", params={"id": str(report)})).text()
        assert "Mark acted on" in page and "Mark new" in page
        refused = await client.post("/mark", data={"id": str(report), "status": "acted"})
        assert refused.status == 403
        assert await status_of(sessions, report) == "seen"
        csrf = csrf_of(page)
        acted = await client.post(
            "/mark", data={"csrf": csrf, "id": str(report), "status": "acted"}, allow_redirects=False
        )
        assert acted.status == 303 and acted.headers["Location"] == f"report?id={report}&marked=acted"
        assert await status_of(sessions, report) == "acted"
        page = await (await client.get("/report", params={"id": str(report)})).text()
        assert "Mark acted on" not in page
        marked = await client.post("/mark", data={"csrf": csrf, "id": str(report), "status": "new"})
        assert "Marked new." in await marked.text()
        assert await status_of(sessions, report) == "new"
        bad = await client.post("/mark", data={"csrf": csrf, "id": str(report), "status": "seen"})
        assert bad.status == 400


async def confirm_page(client: Client, data: dict[str, str]) -> str:
    """Post a response's form and return the confirm page."""
    response = await client.post("/respond", data=data)
    html = await response.text()
    assert response.status == 200, html
    return html


def token_of(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def test_a_response_to_one_report_goes_through_the_outbox_once_with_its_versions(
    sessions: Sessions,
) -> None:
    ana = await champion(sessions, language="pl")
    report = await a_report(sessions, ana, f"heard {SCRIPT}", anonymous=False)
    wake = Wake()
    async with dashboard(sessions, wake) as client:
        sam = await signed_in(sessions, client)
        form = await (await client.get("/respond", params={"id": str(report)})).text()
        csrf = csrf_of(form)
        assert "Type your response to R-" in form
        empty = await client.post("/respond", data={"csrf": csrf, "id": str(report), "text": " "})
        assert empty.status == 400 and "The response is empty" in await empty.text()
        confirm = await confirm_page(client, {"csrf": csrf, "id": str(report), "text": f"We did {SCRIPT}"})
        assert "Its champion reads Polski." in confirm
        assert 'name="version-pl"' in confirm and 'name="version-ar"' not in confirm
        assert "<script" not in confirm.lower() and f"We did {ESCAPED}" in confirm
        token = token_of(confirm)
        fields = {"csrf": csrf, "id": str(report), "text": f"We did {SCRIPT}", "token": token}
        with_version = await confirm_page(client, {**fields, "version-pl": "Zrobiliśmy", "action": "preview"})
        assert "Zrobiliśmy" in with_version and token_of(with_version) == token
        assert await rows_of(sessions) == []
        no_csrf = await client.post("/respond", data={**fields, "csrf": "", "action": "send"})
        assert no_csrf.status == 403 and await rows_of(sessions) == []
        assert not await wake.wait(outbox.LANE[outbox.REPLY], 0)
        send = {**fields, "version-pl": "Zrobiliśmy", "action": "send"}
        sent = await client.post("/respond", data=send, allow_redirects=False)
        assert await wake.wait(outbox.LANE[outbox.REPLY], 0)  # the delivery workers look at once
        again = await client.post("/respond", data=send, allow_redirects=False)
        assert sent.status == again.status == 303
        assert sent.headers["Location"] == again.headers["Location"] == f"report?id={report}&sent={token}"
        shown = await (await client.get(sent.headers["Location"])).text()
    assert "is marked acted on, and its champion is being told." in shown
    (row,) = await rows_of(sessions)
    assert (row.kind, row.champion_id) == (outbox.REPLY, ana)
    assert row.payload is not None
    assert row.payload["written_in"] == "en" and row.payload["versions"] == {"pl": "Zrobiliśmy"}
    async with sessions() as session:
        (reply,) = await session.scalars(select(ReportReply))
    assert reply.id == row.payload["reply"] and reply.text == f"We did {SCRIPT}"
    assert await status_of(sessions, report) == "acted"
    log = await audit_log(sessions)
    assert [e for e in log if e[0] == "responded"] == [("responded", sam, f"{token}:report:{report}")]
    assert ("viewed", sam, f"response:report:{report}") in log


async def test_a_response_to_all_shown_reaches_each_report_the_filters_match(sessions: Sessions) -> None:
    ana, ben = await champion(sessions, 601, "Ana"), await champion(sessions, 602, "Ben", "ar")
    housing = [await a_report(sessions, who, "rent", topic="housing") for who in (ana, ben, ben)]
    other = await a_report(sessions, ana, "jab")
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        listing = await (await client.get("/insights", params={"topic": "housing"})).text()
        assert 'href="respond?topic=housing&amp;all=1"' in listing
        form = await (await client.get("/respond", params={"topic": "housing", "all": "1"})).text()
        assert "Type one response for the 3 reports these filters match." in form
        csrf = csrf_of(form)
        until = re.search(r'name="until" value="([^"]+)"', form)
        assert until
        base = {"csrf": csrf, "topic": "housing", "all": "1", "until": until.group(1), "text": "Fixed"}
        confirm = await confirm_page(client, base)
        assert "This goes to the champions of 3 reports" in confirm
        # Anonymous reports: Arabic (2) and English (1) are under SMALL, so neither is named.
        assert "These reports&#39; champions read" not in confirm
        assert "so that no one is singled out" in confirm
        # A report after the form was opened is not answered unseen.
        await a_report(sessions, ana, "late rent", topic="housing", ago=timedelta(0))
        sent = await client.post(
            "/respond", data={**base, "token": token_of(confirm), "action": "send"}, allow_redirects=False
        )
        assert sent.status == 303
        shown = await (await client.get(sent.headers["Location"])).text()
    assert "Sent. 3 reports are marked acted on" in shown
    rows = await rows_of(sessions)
    assert sorted(row.champion_id for row in rows) == sorted([ana, ben, ben])
    assert {row.kind for row in rows} == {outbox.THEME}
    async with sessions() as session:
        replied = sorted(r.report_id for r in await session.scalars(select(ReportReply)))
    assert replied == sorted(housing) and other not in replied


async def test_a_response_to_all_names_only_languages_of_at_least_small_reports(sessions: Sessions) -> None:
    readers = [await champion(sessions, 610 + n, f"R{n}", "ar") for n in range(SMALL)]
    for who in readers:
        await a_report(sessions, who, "queue", kind="idea")
    await a_report(sessions, await champion(sessions, 620, "Ana", "pl"), "queue", kind="idea")
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        form = await (await client.get("/respond", params={"kind": "idea", "all": "1"})).text()
        until = re.search(r'name="until" value="([^"]+)"', form)
        assert until
        confirm = await confirm_page(
            client,
            {"csrf": csrf_of(form), "kind": "idea", "all": "1", "until": until.group(1), "text": "Done"},
        )
    assert f"These reports&#39; champions read: العربية {SMALL}." in confirm
    assert "Polski" not in confirm.split("<form")[0]  # one report's language: not named or previewed
    previews = re.findall(r'<div class="nhsuk-inset-text dashboard-said" lang="(\w+)"', confirm)
    assert previews == ["ar", "en"]
    assert re.findall(r'name="version-(\w+)"', confirm) == ["ar", "bn", "pl", "pt", "ro", "so", "ur"]


async def test_an_anonymous_reporters_language_is_not_revealed(sessions: Sessions) -> None:
    ana = await champion(sessions, language="so")
    report = await a_report(sessions, ana)
    async with dashboard(sessions) as client:
        await signed_in(sessions, client)
        page = await (await client.get("/report", params={"id": str(report)})).text()
        form = await (await client.get("/respond", params={"id": str(report)})).text()
        confirm = await confirm_page(client, {"csrf": csrf_of(form), "id": str(report), "text": "Done"})
    assert "Soomaali" not in page
    assert "The report is anonymous, so its champion&#39;s language is not shown." in confirm
    assert "reads" not in confirm
    previews = re.findall(r'<div class="nhsuk-inset-text dashboard-said" lang="(\w+)"', confirm)
    assert previews == ["en"]  # only the coordinator's own, as in the chat
    offered = re.findall(r'name="version-(\w+)"', confirm)
    assert offered == ["ar", "bn", "pl", "pt", "ro", "so", "ur"]  # every language, so none stands out


async def test_no_session_and_a_champions_session_see_the_sign_in_page(sessions: Sessions) -> None:
    report = await a_report(sessions, await champion(sessions))
    async with dashboard(sessions) as client:
        for path in ("/insights", f"/report?id={report}", f"/respond?id={report}"):
            html = await (await client.get(path)).text()
            assert "Only coordinators can sign in." in html and "heard" not in html
        refused = await client.post("/mark", data={"id": str(report), "status": "acted"})
        assert "Only coordinators can sign in." in await refused.text()
        async with sessions.begin() as session:
            person = await session.get(Champion, await coordinator(sessions, 777, "Cat"))
            assert person is not None
            cat = person.id
        token = await link(sessions, cat)
        assert (await sign_in(client, token)).status == 303
        async with sessions.begin() as session:
            person = await session.get(Champion, cat)
            assert person is not None
            person.role, person.status = Role.CHAMPION, Status.ACTIVE
        html = await (await client.get("/insights")).text()
    assert "Only coordinators can sign in." in html
    assert await status_of(sessions, report) == "new"


async def a_report_with_media(sessions: Sessions, champion_id: int, kind: str, file_id: str) -> int:
    report = await a_report(sessions, champion_id, "with a file", anonymous=False)
    async with sessions.begin() as session:
        made = await session.get(Report, report)
        assert made is not None
        made.media_kind, made.media_file_id = kind, file_id
    return report


async def test_a_photo_or_voice_note_kept_from_whatsapp_is_shown_on_the_report_page(
    sessions: Sessions, tmp_path: Path
) -> None:
    ana = await champion(sessions)
    photo = await a_report_with_media(
        sessions, ana, "photo", whatsapp_media.keep(tmp_path, b"\xff\xd8jpeg", "image/jpeg")
    )
    voice = await a_report_with_media(
        sessions, ana, "voice", whatsapp_media.keep(tmp_path, b"OggS", "audio/ogg")
    )
    async with dashboard(sessions, data_dir=tmp_path) as client:
        sam = await signed_in(sessions, client)
        photo_page = await (await client.get("/report", params={"id": str(photo)})).text()
        voice_page = await (await client.get("/report", params={"id": str(voice)})).text()
        image = await client.get("/report-media", params={"id": str(photo)})
        sound = await client.get("/report-media", params={"id": str(voice)})
        assert (image.status, image.content_type, await image.read()) == (200, "image/jpeg", b"\xff\xd8jpeg")
        assert (sound.status, sound.content_type, await sound.read()) == (200, "audio/ogg", b"OggS")
    assert f'<img src="report-media?id={photo}" alt="The photo sent with this report"' in photo_page
    assert f'<audio controls src="report-media?id={voice}">' in voice_page
    assert f'href="report-media?id={voice}"' in voice_page  # a link for a browser that plays no audio
    assert "Open this report in the chat" not in photo_page + voice_page
    log = await audit_log(sessions)
    assert ("viewed", sam, f"media:{photo}") in log and ("viewed", sam, f"media:{voice}") in log


async def test_a_telegram_file_is_opened_in_the_chat_and_no_file_is_served_without_a_coordinator(
    sessions: Sessions, tmp_path: Path
) -> None:
    ana = await champion(sessions)
    telegram = await a_report_with_media(sessions, ana, "photo", "AgACAgQAAxkBAAI")  # Telegram's own id
    forged = await a_report_with_media(sessions, ana, "photo", "local:../../champbot.db")
    (tmp_path / "champbot.db").write_bytes(b"secret")
    plain = await a_report(sessions, ana)
    async with dashboard(sessions, data_dir=tmp_path / "data") as client:
        outside = await client.get("/report-media", params={"id": str(telegram)}, allow_redirects=False)
        assert outside.status == 200 and "Sign in" in await outside.text()  # the sign-in page, no file
        await signed_in(sessions, client)
        page = await (await client.get("/report", params={"id": str(telegram)})).text()
        answers = [
            await client.get("/report-media", params={"id": value})
            for value in (str(telegram), str(forged), str(plain), "x", "999999")
        ]
        statuses = [answer.status for answer in answers]
        bodies = [await answer.read() for answer in answers]
    assert "[photo] Open this report in the chat (/insights) to see or hear it." in page
    assert "report-media" not in page
    assert statuses == [404, 404, 404, 400, 404] and not any(b"secret" in body for body in bodies)
