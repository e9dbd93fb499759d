"""The local WhatsApp Cloud API emulator answers as Graph does, enforces the Cloud API's limits and posts
Meta-shaped, signed webhooks; every request it accepts fits Meta's OpenAPI description."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientSession, FormData, web

from bot.whatsapp_emulator import TOKEN, WhatsAppEmulator
from tests import whatsapp_openapi
from tests.whatsapp_openapi import RequestInvalid, problems, require_spec, validate

VERIFY_TOKEN = "verify-me"
ANA = "GB.1234567890"  # shares her phone number
ANA_PHONE = "447700900123"
BEN = "GB.99887766554433"  # username only: no phone number
CAS = "PT.5550001112"


class Hook:
    """A stand-in for the bot's /whatsapp endpoint: keeps each POST's raw body and headers, answers the
    statuses queued in `answers` (then 200), and the GET verification for VERIFY_TOKEN."""

    def __init__(self) -> None:
        self.posts: list[tuple[bytes, dict[str, str]]] = []
        self.answers: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes([web.post("/whatsapp", self._post), web.get("/whatsapp", self._get)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/whatsapp"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        self.posts.append((await request.read(), dict(request.headers)))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    async def _get(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == VERIFY_TOKEN:
            return web.Response(text=query["hub.challenge"])
        return web.Response(status=403)

    def values(self) -> list[dict[str, Any]]:
        """Each post's `entry[0].changes[0].value`."""
        found = []
        for raw, _ in self.posts:
            payload = json.loads(raw)
            assert payload["object"] == "whatsapp_business_account"
            change = payload["entry"][0]["changes"][0]
            assert change["field"] == "messages"
            found.append(change["value"])
        return found

    def messages(self) -> list[dict[str, Any]]:
        return [m for v in self.values() for m in v.get("messages", [])]

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        return [s for v in self.values() for s in v.get("statuses", []) if wamid in (None, s["id"])]


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    hook = Hook()
    await hook.start()
    yield hook
    await hook.stop()


Make = Callable[..., Awaitable[WhatsAppEmulator]]


@pytest.fixture
async def make(hook: Hook) -> AsyncIterator[Make]:
    """Start emulators posting to the hook. Afterwards every request one answered 2xx must fit Meta's
    OpenAPI description (checked where the description is on this machine; the validator's own tests
    below skip without it)."""
    made: list[WhatsAppEmulator] = []

    async def start(**options: Any) -> WhatsAppEmulator:
        emulator = WhatsAppEmulator(**{"webhook_url": hook.url, "webhook_backoff": 0.01, **options})
        await emulator.start()
        made.append(emulator)
        return emulator

    yield start
    for emulator in made:
        await emulator.stop()
    if whatsapp_openapi.spec_path() is not None:
        for emulator in made:
            for recorded in emulator.requests:
                if recorded.status is not None and recorded.status < 300:
                    validate(recorded.method, recorded.path, recorded.body, recorded.content_type)


@pytest.fixture
async def wa(make: Make) -> WhatsAppEmulator:
    return await make()


@pytest.fixture
async def client() -> AsyncIterator[ClientSession]:
    async with ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        yield session


def text(to: str, body: str, *, key: str = "to") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        key: to,
        "type": "text",
        "text": {"body": body},
    }


def buttons(to: str, items: list[tuple[str, str]], body: str = "Pick one") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in items]},
        },
    }


def menu(to: str, sections: list[list[tuple[str, str, str | None]]], label: str = "Choose") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Pick one"},
            "action": {
                "button": label,
                "sections": [
                    {
                        "title": f"Part {n}",
                        "rows": [
                            {"id": i, "title": t, **({"description": d} if d else {})} for i, t, d in rows
                        ],
                    }
                    for n, rows in enumerate(sections, 1)
                ],
            },
        },
    }


def template(to: str, name: str, language: str, params: list[str]) -> dict[str, Any]:
    components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"policy": "deterministic", "code": language},
            "components": components,
        },
    }


async def send(client: ClientSession, wa: WhatsAppEmulator, payload: dict[str, Any]) -> tuple[int, Any]:
    async with client.post(f"{wa.base_url}/{wa.phone_number_id}/messages", json=payload) as response:
        return response.status, await response.json()


def ana_writes_first(wa: WhatsAppEmulator) -> None:
    wa.add_user(ANA, ANA_PHONE, "Ana")
    wa.send_text(ANA, "hello")


def expected_signature(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ sending


async def test_text_send_answers_like_graph_and_reports_statuses(
    wa: WhatsAppEmulator, client: ClientSession, hook: Hook
) -> None:
    ana_writes_first(wa)
    status, answer = await send(client, wa, text(ANA_PHONE, "Welcome"))
    assert status == 200
    wamid = answer["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    assert answer == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": ANA_PHONE, "wa_id": ANA_PHONE}],
        "messages": [{"id": wamid}],
    }
    await wa.drain()
    assert [s["status"] for s in hook.statuses(wamid)] == ["sent", "delivered"]
    sent = hook.statuses(wamid)[0]
    assert (sent["recipient_id"], sent["recipient_user_id"]) == (ANA_PHONE, ANA)
    assert sent["pricing"]["category"] == "service" and sent["pricing"]["billable"] is False
    assert hook.values()[-1]["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": ANA_PHONE, "user_id": ANA}]
    mine = wa.history(ANA)[-1]
    assert (mine["from_bot"], mine["type"], mine["text"], mine["status"]) == (
        True,
        "text",
        "Welcome",
        "delivered",
    )
    assert wa.messages_sent == 1
    recorded = wa.requests[-1]
    assert (recorded.method, recorded.path, recorded.body) == (
        "POST",
        f"/v23.0/{wa.phone_number_id}/messages",
        text(ANA_PHONE, "Welcome"),
    )


async def test_inbound_webhook_is_meta_shaped_and_signed_on_the_raw_bytes(
    wa: WhatsAppEmulator, hook: Hook
) -> None:
    wa.add_user(ANA, ANA_PHONE, "Ana")
    wa.add_user(BEN, None, "Ben")
    ana_id = wa.send_text(ANA, "Café/ü? ok")
    ben_id = wa.send_text(BEN, "hi")
    await wa.drain()
    assert len(hook.posts) == 2
    for raw, headers in hook.posts:
        assert headers["X-Hub-Signature-256"] == expected_signature(raw, wa.app_secret)
        assert headers["X-Hub-Signature-256"] != expected_signature(raw, "another secret")
    raw_ana = next(raw for raw, _ in hook.posts if ana_id.encode() in raw)
    assert (
        b"Caf\\u00e9\\/\\u00fc" in raw_ana
    )  # escaped as Meta's encoder does; the signature is on these bytes
    reencoded = json.dumps(json.loads(raw_ana)).encode()
    assert expected_signature(reencoded, wa.app_secret) != expected_signature(raw_ana, wa.app_secret)
    by_id = {v["messages"][0]["id"]: v for v in hook.values()}
    ana = by_id[ana_id]
    assert ana["metadata"] == {
        "display_phone_number": wa.display_phone_number,
        "phone_number_id": wa.phone_number_id,
    }
    assert ana["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": ANA_PHONE, "user_id": ANA}]
    message = ana["messages"][0]
    assert (message["from"], message["from_user_id"], message["type"]) == (ANA_PHONE, ANA, "text")
    assert message["text"] == {"body": "Café/ü? ok"} and message["timestamp"].isdigit()
    ben = by_id[ben_id]
    assert ben["contacts"] == [{"profile": {"name": "Ben"}, "user_id": BEN}]  # no phone shared: no wa_id
    assert "from" not in ben["messages"][0] and ben["messages"][0]["from_user_id"] == BEN


async def test_verification_handshake(wa: WhatsAppEmulator) -> None:
    assert await wa.verify(VERIFY_TOKEN)
    assert not await wa.verify("not the token")


async def test_wrong_token_and_unknown_number_answer_graphs_errors(wa: WhatsAppEmulator) -> None:
    ana_writes_first(wa)
    url = f"{wa.base_url}/{wa.phone_number_id}/messages"
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        async with (
            ClientSession(headers=headers) as other,
            other.post(url, json=text(ANA_PHONE, "x")) as response,
        ):
            assert response.status == 401
            error = (await response.json())["error"]
            assert (error["code"], error["type"]) == (190, "OAuthException") and error["fbtrace_id"]
    async with (
        ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session,
        session.post(f"{wa.base_url}/999/messages", json=text(ANA_PHONE, "x")) as response,
    ):
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert wa.messages_sent == 0


def _boundary_payloads() -> list[dict[str, Any]]:
    """A message of each kind at exactly each limit (10 rows in all, over two sections)."""
    first = [(f"r{n}", f"{n}" + "t" * 23, "d" * 72) for n in range(6)]
    second = [("i" * 200, "Last", None), *[(f"s{n}", f"Row {n}", None) for n in range(3)]]
    return [
        text(ANA_PHONE, "x" * 4096),
        buttons(ANA_PHONE, [("a" * 256, "t" * 20), ("b", "Two"), ("c", "Three")], body="q" * 1024),
        menu(ANA_PHONE, [first, second], label="l" * 20),
    ]


async def test_at_every_limit_messages_pass(wa: WhatsAppEmulator, client: ClientSession) -> None:
    ana_writes_first(wa)
    for payload in _boundary_payloads():
        payload_with_parts = json.loads(json.dumps(payload))
        if payload["type"] == "interactive":
            payload_with_parts["interactive"]["header"] = {"type": "text", "text": "h" * 60}
            payload_with_parts["interactive"]["footer"] = {"text": "f" * 60}
        status, answer = await send(client, wa, payload_with_parts)
        assert status == 200, answer
    shown = wa.history(ANA)
    assert [m["type"] for m in shown[1:]] == ["text", "interactive", "interactive"]
    assert shown[2]["buttons"][0] == {"id": "a" * 256, "title": "t" * 20}
    assert len(shown[3]["rows"]) == 10 and shown[3]["rows"][0] == {
        "id": "r0",
        "title": "0" + "t" * 23,
        "description": "d" * 72,
        "section": "Part 1",
    }
    assert (
        shown[3]["button"] == "l" * 20 and shown[3]["header"] == "h" * 60 and shown[3]["footer"] == "f" * 60
    )


def _over(path: str, value: Any) -> dict[str, Any]:
    """A valid two-button message with one part replaced."""
    payload = buttons(ANA_PHONE, [("yes", "Yes"), ("no", "No")])
    node: Any = payload
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    node[keys[-1]] = value
    return payload


OVER_LIMITS = [
    # (what, payload, Graph error code, whether Meta's OpenAPI file says so too)
    ("text over 4096", text(ANA_PHONE, "x" * 4097), 100, False),
    ("empty text", text(ANA_PHONE, "  "), 100, False),
    ("no buttons", _over("interactive.action.buttons", []), 131009, True),
    ("four buttons", buttons(ANA_PHONE, [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]), 131009, True),
    ("button title 21", buttons(ANA_PHONE, [("a", "t" * 21)]), 131009, True),
    ("button id 257", buttons(ANA_PHONE, [("a" * 257, "A")]), 131009, True),
    ("same button title twice", buttons(ANA_PHONE, [("a", "Same"), ("b", "Same")]), 131009, False),
    ("body 1025", buttons(ANA_PHONE, [("a", "A")], body="q" * 1025), 100, True),
    ("header 61", _over("interactive.header", {"type": "text", "text": "h" * 61}), 100, True),
    ("footer 61", _over("interactive.footer", {"text": "f" * 61}), 100, True),
    ("list button 21", menu(ANA_PHONE, [[("a", "A", None)]], label="l" * 21), 100, True),
    (
        "eleven rows in two sections",
        menu(
            ANA_PHONE,
            [[(f"a{n}", f"A{n}", None) for n in range(6)], [(f"b{n}", f"B{n}", None) for n in range(5)]],
        ),
        131009,
        False,
    ),
    ("row title 25", menu(ANA_PHONE, [[("a", "t" * 25, None)]]), 131009, True),
    ("row description 73", menu(ANA_PHONE, [[("a", "A", "d" * 73)]]), 131009, True),
    ("row id 201", menu(ANA_PHONE, [[("i" * 201, "A", None)]]), 131009, True),
    ("missing body", _over("interactive.body", None), 131008, False),
]


@pytest.mark.parametrize(("what", "payload", "code", "in_spec"), OVER_LIMITS, ids=[o[0] for o in OVER_LIMITS])
async def test_each_limit_gives_its_error(
    wa: WhatsAppEmulator, client: ClientSession, what: str, payload: dict[str, Any], code: int, in_spec: bool
) -> None:
    ana_writes_first(wa)
    if payload["type"] == "interactive" and payload["interactive"].get("body") is None:
        del payload["interactive"]["body"]
    status, answer = await send(client, wa, payload)
    error = answer["error"]
    assert (status, error["code"]) == (400, code), what
    assert error["message"].startswith(f"(#{code}) ")
    assert error["error_data"]["messaging_product"] == "whatsapp" and error["error_data"]["details"]
    assert wa.messages_sent == 0 and [m["from_bot"] for m in wa.history(ANA)] == [False]
    if in_spec and whatsapp_openapi.spec_path() is not None:
        assert problems("POST", wa.requests[-1].path, payload), f"the OpenAPI file should refuse {what} too"


async def test_media_by_link_and_caption_limits(wa: WhatsAppEmulator, client: ClientSession) -> None:
    ana_writes_first(wa)
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": ANA_PHONE}
    ok = {**base, "type": "document", "document": {"link": "https://example.org/a.pdf", "filename": "a.pdf"}}
    assert (await send(client, wa, ok))[0] == 200
    assert wa.history(ANA)[-1]["media"] == {
        "kind": "document",
        "link": "https://example.org/a.pdf",
        "filename": "a.pdf",
    }
    long_caption = {
        **base,
        "type": "image",
        "image": {"link": "https://example.org/a.jpg", "caption": "c" * 1025},
    }
    both = {**base, "type": "image", "image": {"id": "1", "link": "https://example.org/a.jpg"}}
    unknown_id = {**base, "type": "audio", "audio": {"id": "424242"}}
    for payload in (long_caption, both, unknown_id):
        status, answer = await send(client, wa, payload)
        assert (status, answer["error"]["code"]) == (400, 100)


# ------------------------------------------------------- window and templates


async def test_window_closed_fails_131047_by_status_then_a_template_passes(
    wa: WhatsAppEmulator, client: ClientSession, hook: Hook
) -> None:
    wa.add_user(ANA, ANA_PHONE, "Ana")  # has never written: no window
    status, answer = await send(client, wa, text(ANA_PHONE, "News"))
    assert status == 200  # as on Meta's servers, taken first ...
    wamid = answer["messages"][0]["id"]
    await wa.drain()
    (failed,) = hook.statuses(wamid)  # ... and failed by webhook, without contacts
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131047
    assert failed["errors"][0]["title"] == "Re-engagement message" and "contacts" not in hook.values()[-1]
    assert wa.history(ANA)[-1]["status"] == "failed"

    status, answer = await send(client, wa, template(ANA_PHONE, "campaign_news", "en", ["Ana"]))
    assert (status, answer["error"]["code"]) == (404, 132001)
    wa.add_template("campaign_news", "en", "marketing", 2, text="Hi {{1}}, {{2}}")
    status, answer = await send(client, wa, template(ANA_PHONE, "campaign_news", "en", ["Ana"]))
    assert (status, answer["error"]["code"]) == (400, 132000)
    status, answer = await send(client, wa, template(ANA_PHONE, "campaign_news", "pt_BR", ["Ana", "x"]))
    assert (status, answer["error"]["code"]) == (404, 132001)  # not approved in that language
    status, answer = await send(client, wa, template(ANA_PHONE, "campaign_news", "en", ["Ana", "flu jabs"]))
    assert status == 200 and answer["messages"][0]["message_status"] == "accepted"
    await wa.drain()
    sent = hook.statuses(answer["messages"][0]["id"])
    assert [s["status"] for s in sent] == ["sent", "delivered"]
    assert sent[0]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }
    shown = wa.history(ANA)[-1]
    assert shown["template"] == {
        "name": "campaign_news",
        "language": "en",
        "params": ["Ana", "flu jabs"],
        "category": "marketing",
    }
    assert shown["text"] == "Hi Ana, flu jabs"

    wa.send_text(ANA, "thanks")  # opens the window
    assert (await send(client, wa, text(ANA_PHONE, "You're welcome")))[0] == 200
    wa.age(hours=24, seconds=1)
    _, answer = await send(client, wa, text(ANA_PHONE, "A day later"))
    await wa.drain()
    assert hook.statuses(answer["messages"][0]["id"])[0]["errors"][0]["code"] == 131047


async def test_window_error_can_be_synchronous(make: Make, client: ClientSession) -> None:
    wa = await make(async_errors=False)
    wa.add_user(ANA, ANA_PHONE)
    status, answer = await send(client, wa, text(ANA_PHONE, "News"))
    assert (status, answer["error"]["code"]) == (400, 131047)
    assert answer["error"]["message"] == "(#131047) Re-engagement message"
    assert wa.messages_sent == 0


async def test_marketing_cap_unreachable_and_async_faults(
    wa: WhatsAppEmulator, client: ClientSession, hook: Hook
) -> None:
    ana_writes_first(wa)
    wa.add_template("weekly", "en", "marketing", 0)
    wa.add_template("reply", "en", "utility", 0)
    wa.cap_marketing(ANA)
    _, capped = await send(client, wa, template(ANA_PHONE, "weekly", "en", []))
    _, utility = await send(client, wa, template(ANA_PHONE, "reply", "en", []))
    wa.fail_async(ANA, 131000)
    _, later = await send(client, wa, text(ANA_PHONE, "x"))
    wa.unreachable(ANA)
    _, gone = await send(client, wa, text(ANA_PHONE, "y"))
    _, stranger = await send(client, wa, text("447700900999", "who?"))
    await wa.drain()

    def last(answer: dict[str, Any]) -> dict[str, Any]:
        return hook.statuses(answer["messages"][0]["id"])[-1]

    assert last(capped)["errors"][0]["code"] == 131049
    assert last(utility)["status"] == "delivered"
    assert last(later)["errors"][0]["code"] == 131000
    assert last(gone)["errors"][0]["code"] == 131026
    assert last(stranger)["errors"][0]["code"] == 131026 and last(stranger)["recipient_id"] == "447700900999"


# ------------------------------------------------------------------- limits


async def test_pair_limit_allows_a_burst_then_one_message_per_interval(
    make: Make, client: ClientSession
) -> None:
    wa = await make(pair_interval=6.0, pair_burst=3, statuses=False)
    now = [1000.0]
    wa.send_clock = lambda: now[0]
    ana_writes_first(wa)
    wa.add_user(CAS, "351910000001")
    wa.send_text(CAS, "hi")
    codes = [(await send(client, wa, text(ANA_PHONE, f"m{n}")))[0] for n in range(3)]
    assert codes == [200, 200, 200]
    status, answer = await send(client, wa, text(ANA_PHONE, "one too many"))
    error = answer["error"]
    assert (status, error["code"], error["error_subcode"]) == (400, 131056, 2494055)
    assert (await send(client, wa, text("351910000001", "others are not held up")))[0] == 200
    now[0] += 5.9
    assert (await send(client, wa, text(ANA_PHONE, "too soon")))[0] == 400
    now[0] += 0.1
    assert (await send(client, wa, text(ANA_PHONE, "one interval on")))[0] == 200
    assert (await send(client, wa, text(ANA_PHONE, "and no more")))[0] == 400
    assert wa.refused == {131056: 3}
    wa.pair_interval = None  # off
    assert [(await send(client, wa, text(ANA_PHONE, "x")))[0] for _ in range(5)] == [200] * 5


async def test_throughput_beyond_the_rate_gives_130429(make: Make, client: ClientSession) -> None:
    wa = await make(throughput=5, pair_interval=None, statuses=False)
    now = [50.0]
    wa.send_clock = lambda: now[0]
    ana_writes_first(wa)
    codes = [(await send(client, wa, text(ANA_PHONE, f"m{n}")))[0] for n in range(5)]
    status, answer = await send(client, wa, text(ANA_PHONE, "sixth in the second"))
    assert codes == [200] * 5 and (status, answer["error"]["code"]) == (400, 130429)
    now[0] += 0.5
    assert (await send(client, wa, text(ANA_PHONE, "still the same second")))[0] == 400
    now[0] += 0.5
    assert (await send(client, wa, text(ANA_PHONE, "a new second")))[0] == 200
    assert wa.send_peak == 7 and wa.refused == {130429: 2}


# -------------------------------------------------------------------- media


async def test_media_upload_retrieve_download_and_expiry(
    wa: WhatsAppEmulator, client: ClientSession, hook: Hook
) -> None:
    ana_writes_first(wa)
    photo = b"\xff\xd8\xff" + b"\x01" * 64
    form = FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", "image/jpeg")
    form.add_field("file", photo, filename="p.jpg", content_type="image/jpeg")
    async with client.post(f"{wa.base_url}/{wa.phone_number_id}/media", data=form) as response:
        assert response.status == 200
        media_id = (await response.json())["id"]
    async with client.get(f"{wa.base_url}/{media_id}") as response:
        found = await response.json()
    assert found["id"] == media_id and found["mime_type"] == "image/jpeg"
    assert found["sha256"] == hashlib.sha256(photo).hexdigest() and found["file_size"] == str(len(photo))
    async with ClientSession() as anonymous, anonymous.get(found["url"]) as response:
        assert response.status == 401  # the URL needs the token too
    async with client.get(found["url"]) as response:
        assert response.status == 200 and await response.read() == photo
    image = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": ANA_PHONE,
        "type": "image",
    }
    assert (await send(client, wa, {**image, "image": {"id": media_id, "caption": "Poster"}}))[0] == 200

    voice = b"OggS" + b"\x02" * 32
    wamid = wa.send_voice(ANA, voice)
    await wa.drain()
    audio = next(m for m in hook.messages() if m["id"] == wamid)["audio"]
    assert audio["voice"] is True and audio["mime_type"] == "audio/ogg; codecs=opus"
    assert base64.b64decode(audio["sha256"]) == hashlib.sha256(voice).digest()
    async with client.get(f"{wa.base_url}/{audio['id']}") as response:
        voice_url = (await response.json())["url"]
    async with client.get(voice_url) as download:
        assert await download.read() == voice

    wa.age(seconds=301)  # a media URL is good for five minutes
    async with client.get(found["url"]) as response:
        assert response.status == 404
    wa.age(days=7)  # the person's voice note is over 7 days old; the upload (30 days) is not
    async with client.get(f"{wa.base_url}/{audio['id']}") as response:
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["error_subcode"]) == (400, 100, 33)
        assert error["type"] == "GraphMethodException"
    async with client.get(f"{wa.base_url}/{media_id}") as response:
        assert response.status == 200
    wa.expire_media(media_id)
    async with client.get(f"{wa.base_url}/{media_id}") as response:
        assert response.status == 400
    status, answer = await send(client, wa, {**image, "image": {"id": media_id}})
    assert (status, answer["error"]["code"]) == (400, 100)


async def test_upload_of_an_unsupported_type_is_refused(wa: WhatsAppEmulator, client: ClientSession) -> None:
    form = FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", "application/x-msdownload")
    form.add_field("file", b"MZ\x90", filename="x.exe", content_type="application/x-msdownload")
    async with client.post(f"{wa.base_url}/{wa.phone_number_id}/media", data=form) as response:
        assert response.status == 400 and (await response.json())["error"]["code"] == 131053


# ------------------------------------------------------------ people's side


async def test_press_and_choose_reply_to_what_was_delivered(
    wa: WhatsAppEmulator, client: ClientSession, hook: Hook
) -> None:
    ana_writes_first(wa)
    _, asked = await send(client, wa, buttons(ANA_PHONE, [("yes", "Yes please"), ("no", "No")]))
    _, listed = await send(
        client, wa, menu(ANA_PHONE, [[("flu", "Flu", "Winter jabs"), ("mmr", "MMR", None)]])
    )
    pressed = wa.press(ANA, "yes")
    chosen = wa.choose(ANA, "flu")
    with pytest.raises(ValueError, match="button"):
        wa.press(ANA, "never-sent")
    with pytest.raises(ValueError, match="row"):
        wa.choose(ANA, "yes")
    forged = wa.press(ANA, "admin:delete", forged=True)
    await wa.drain()
    by_id = {m["id"]: m for m in hook.messages()}
    assert by_id[pressed]["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "yes", "title": "Yes please"},
    }
    assert by_id[pressed]["context"] == {"from": wa.display_phone_number, "id": asked["messages"][0]["id"]}
    assert by_id[chosen]["interactive"] == {
        "type": "list_reply",
        "list_reply": {"id": "flu", "title": "Flu", "description": "Winter jabs"},
    }
    assert by_id[chosen]["context"]["id"] == listed["messages"][0]["id"]
    assert by_id[forged]["interactive"]["button_reply"]["id"] == "admin:delete"
    assert [m.get("text") for m in wa.history(ANA) if not m["from_bot"]] == [
        "hello",
        "Yes please",
        "Flu",
        "admin:delete",
    ]


async def test_a_failed_message_cannot_be_pressed(wa: WhatsAppEmulator, client: ClientSession) -> None:
    wa.add_user(ANA, ANA_PHONE)  # no window: the buttons never arrive
    await send(client, wa, buttons(ANA_PHONE, [("yes", "Yes")]))
    with pytest.raises(ValueError):
        wa.press(ANA, "yes")


async def test_replay_posts_the_same_bytes_again(wa: WhatsAppEmulator, hook: Hook) -> None:
    wa.add_user(ANA, ANA_PHONE)
    wamid = wa.send_text(ANA, "once")
    await wa.drain()
    wa.replay(wamid)
    await wa.drain()
    assert len(hook.posts) == 2 and hook.posts[0][0] == hook.posts[1][0]
    assert hook.posts[0][1]["X-Hub-Signature-256"] == hook.posts[1][1]["X-Hub-Signature-256"]
    assert len(wa.history(ANA)) == 1  # the person wrote once


async def test_statuses_out_of_order_and_read(make: Make, client: ClientSession, hook: Hook) -> None:
    wa = await make(statuses_out_of_order=True)
    ana_writes_first(wa)
    _, answer = await send(client, wa, text(ANA_PHONE, "Hi"))
    wamid = answer["messages"][0]["id"]
    await wa.drain()
    wa.read(ANA, wamid)
    await wa.drain()
    assert [s["status"] for s in hook.statuses(wamid)] == ["delivered", "sent", "read"]
    assert wa.history(ANA)[-1]["status"] == "read"
    with pytest.raises(ValueError):
        wa.read(ANA, wa.history(ANA)[0]["wamid"])  # her own message


async def test_unknown_message_types_are_posted_as_given(wa: WhatsAppEmulator, hook: Hook) -> None:
    wa.add_user(ANA, ANA_PHONE)
    sticker = wa.send_raw(
        ANA, {"type": "sticker", "sticker": {"id": "55", "mime_type": "image/webp", "animated": False}}
    )
    place = wa.send_raw(ANA, {"type": "location", "location": {"latitude": 51.5, "longitude": -0.12}})
    fixed = wa.send_raw(
        ANA, {"id": "wamid.given", "type": "reaction", "reaction": {"message_id": sticker, "emoji": "👍"}}
    )
    await wa.drain()
    by_id = {m["id"]: m for m in hook.messages()}
    assert by_id[sticker]["sticker"]["id"] == "55" and by_id[place]["location"]["latitude"] == 51.5
    assert fixed == "wamid.given" and by_id["wamid.given"]["reaction"]["emoji"] == "👍"
    assert b"\\ud83d\\udc4d" in next(raw for raw, _ in hook.posts if b"wamid.given" in raw)


async def test_webhook_answered_non_2xx_is_retried_with_backoff(wa: WhatsAppEmulator, hook: Hook) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    wa.sleep = record
    wa.add_user(ANA, ANA_PHONE)
    hook.answers = [500, 503]
    wa.send_text(ANA, "are you there?")
    await wa.drain()
    assert [p.status for p in wa.webhook_log] == [500, 503, 200]
    assert len({raw for raw, _ in hook.posts}) == 1 and len(hook.posts) == 3
    assert waits == [0.01, 0.02]
    hook.answers = [500] * 4
    wa.send_text(ANA, "lost")
    await wa.drain()
    assert wa.webhooks_dropped == 1 and len(hook.posts) == 7


# ------------------------------------------------------------ identity, faults


async def test_bsuid_recipients_go_in_recipient_not_to(
    wa: WhatsAppEmulator, client: ClientSession, hook: Hook
) -> None:
    wa.add_user(BEN, None, "Ben")
    wa.send_text(BEN, "hi")
    status, answer = await send(client, wa, text(BEN, "Hello Ben", key="recipient"))
    assert status == 200 and answer["contacts"] == [{"input": BEN, "user_id": BEN}]
    await wa.drain()
    sent = hook.statuses(answer["messages"][0]["id"])[0]
    assert (sent["recipient_id"], sent["recipient_user_id"]) == (BEN, BEN)
    status, answer = await send(client, wa, text(BEN, "in to"))
    assert (status, answer["error"]["code"]) == (400, 100) and "recipient" in answer["error"]["error_data"][
        "details"
    ]
    with pytest.raises(ValueError):
        wa.add_user("1234567890")  # not a BSUID


async def test_faults_hold_and_release(wa: WhatsAppEmulator, client: ClientSession) -> None:
    ana_writes_first(wa)
    wa.fail(ANA, 131000)
    status, answer = await send(client, wa, text(ANA_PHONE, "x"))
    assert (status, answer["error"]["code"]) == (500, 131000)
    assert (await send(client, wa, text(ANA_PHONE, "the fault was for one send")))[0] == 200
    wa.fail(ANA, 131048, times=None)
    assert [(await send(client, wa, text(ANA_PHONE, "x")))[1]["error"]["code"] for _ in range(2)] == [
        131048
    ] * 2
    wa.clear_fault(ANA)
    arrived = wa.hold(ANA)
    pending = asyncio.create_task(send(client, wa, text(ANA_PHONE, "stuck")))
    await asyncio.wait_for(arrived.wait(), 5)
    assert not pending.done()
    wa.release(ANA)
    status, answer = await pending
    assert (status, answer["error"]["code"]) == (503, 131016)
    assert [m.get("text") for m in wa.history(ANA) if m["from_bot"]] == ["the fault was for one send"]


async def test_read_receipt_from_the_bot(wa: WhatsAppEmulator, client: ClientSession) -> None:
    wa.add_user(ANA, ANA_PHONE)
    wamid = wa.send_text(ANA, "hello")
    receipt = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": wamid,
        "typing_indicator": {"type": "text"},
    }
    status, answer = await send(client, wa, receipt)
    assert (status, answer) == (200, {"success": True})
    assert wa.history(ANA)[0]["read_by_business"] and wa.history(ANA)[0]["typing_shown"]
    status, answer = await send(client, wa, {**receipt, "message_id": "wamid.nope"})
    assert (status, answer["error"]["code"]) == (400, 100)
    assert wa.messages_sent == 0  # a receipt is not a message


async def test_rtt_waits_half_each_way(make: Make, client: ClientSession) -> None:
    wa = await make(rtt=0.2, jitter=0.0, statuses=False)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    wa.sleep = record
    ana_writes_first(wa)
    await wa.drain()
    await send(client, wa, text(ANA_PHONE, "x"))
    assert waits == [0.1, 0.1, 0.1]  # the webhook's way to the bot; the call's way in and out


async def test_wait_for_sent(wa: WhatsAppEmulator, client: ClientSession) -> None:
    ana_writes_first(wa)
    waiting = asyncio.create_task(wa.wait_for_sent(2, timeout=5))
    await send(client, wa, text(ANA_PHONE, "one"))
    assert not waiting.done()
    await send(client, wa, text(ANA_PHONE, "two"))
    await waiting
    with pytest.raises(TimeoutError):
        await wa.wait_for_sent(3, timeout=0.05)


# ------------------------------------------------------------ the validator


def test_the_validator_accepts_meta_shaped_requests() -> None:
    require_spec()
    for payload in [
        text(ANA_PHONE, "hi"),
        text(BEN, "hi", key="recipient"),
        buttons(ANA_PHONE, [("yes", "Yes"), ("no", "No")]),
        menu(ANA_PHONE, [[("a", "A", "first")], [("b", "B", None)]]),
        template(ANA_PHONE, "campaign_news", "en", ["Ana"]),
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": ANA_PHONE,
            "type": "audio",
            "audio": {"id": "1"},
        },
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"},
    ]:
        validate("POST", "/v23.0/106540352242922/messages", payload)
    validate(
        "POST",
        "/v23.0/1/media",
        {"messaging_product": "whatsapp", "type": "image/png", "file": b"\x89PNG"},
        "multipart/form-data",
    )
    validate("GET", "/v23.0/1234", None, "")
    validate("GET", "/whatsapp_business/attachments/?mid=1", None, "")


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({**text(ANA_PHONE, "hi"), "txet": {"body": "typo"}}, "txet"),
        ({k: v for k, v in text(ANA_PHONE, "hi").items() if k != "messaging_product"}, "messaging_product"),
        ({k: v for k, v in text(ANA_PHONE, "hi").items() if k != "to"}, "to"),
        (buttons(ANA_PHONE, [("a", "x" * 21)]), "too long"),
        (
            {**template(ANA_PHONE, "t", "en", []), "template": {"name": "t", "language": {"code": "en"}}},
            "policy",
        ),
        ({**text(ANA_PHONE, "hi"), "type": "carousel"}, "carousel"),
        ({"messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.x"}, "read"),
    ],
)
def test_the_validator_refuses_what_meta_refuses(payload: dict[str, Any], where: str) -> None:
    require_spec()
    with pytest.raises(RequestInvalid) as refused:
        validate("POST", "/v23.0/106540352242922/messages", payload)
    assert where in str(refused.value)


def test_the_validator_refuses_unknown_operations_and_bodies() -> None:
    require_spec()
    assert problems("POST", "/v23.0/1/messagez", {})
    assert problems("GET", "/v23.0/1/messages")  # no GET there
    assert problems("POST", "/v23.0/1/messages", "not an object", "text/plain")
    assert problems("POST", "/latest/1/messages", text(ANA_PHONE, "hi"))
