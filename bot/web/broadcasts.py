"""The broadcasts pages: the one-off messages sent (newest first, a page at a time) with their
delivery by channel and their reach, one broadcast's page, and composing one without JavaScript.

Composing is a form in steps, each a POST: the message and its audience → a version for each of
the audience's other languages → the preview (what each language group gets, the audience's size,
how WhatsApp reaches it) with when to send and the options → the confirm. What was answered so
far goes along in hidden fields and is checked again on every POST; nothing is sent before the
confirm, which carries a one-time token (made when composing began), so pressing it twice, or
coming back to it, sends once. The broadcast is made by the same function the chat's composer
uses (`storage.broadcasts.queue_composed`)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import LANGUAGES, Translator
from bot.wake import Wake
from bot.web import auth
from bot.web.auth import Visitor
from bot.web.layout import for_coordinators, page, problem
from bot.whatsapp_plan import hold_past_the_tier, whatsapp_lines, whatsapp_plan
from handlers.common import champion_zone
from handlers.compose import SCHEDULE_AHEAD, TEXT_MAX
from handlers.live_report import report_text
from handlers.reach import message_excerpt, reach_figures
from storage import audience as audiences
from storage import (
    audit,
    broadcast_figures,
    broadcasts,
    directory,
    local_time,
    outbox,
    outbox_figures,
    responses,
)
from storage.audience import Audience
from storage.broadcast_figures import ChannelFigures
from storage.models import Area, Broadcast, Champion, Network, Segment, utcnow
from storage.outbox import BROADCAST

if TYPE_CHECKING:
    from bot.web.app import Dashboard

NAV_PATH = "broadcasts"
PAGE_SIZE = 25
ID_MAX = 18  # digits: longer is no id of ours
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends


def _status(t: Translator, status: str) -> str:
    """A broadcast's status in words."""
    _ = t.gettext
    words = {
        broadcasts.SCHEDULED: _("Scheduled"),
        broadcasts.SENDING: _("Sending"),
        broadcasts.DONE: _("Sent"),
        broadcasts.MISSED: _("Missed"),
        broadcasts.CANCELLED: _("Cancelled"),
    }
    return words.get(status, status)


def _shown(t: Translator, moment: datetime, timezone: str) -> str:
    """A time on the coordinator's clock, their zone named (as the chat shows it)."""
    return t.gettext("{time} ({timezone})").format(time=t.datetime(moment, timezone), timezone=timezone)


# ------------------------------------------------------------------ figures


@dataclass(frozen=True)
class ChannelRow:
    """One channel's line of a broadcast's delivery table."""

    channel: str
    queued: str
    sent: str
    failed: str
    delivered: str
    read: str


def channel_rows(t: Translator, figures: dict[str, ChannelFigures]) -> list[ChannelRow]:
    """Telegram, then WhatsApp; Telegram does not say what was delivered or read: a dash."""
    rows = []
    for channel, label in (("telegram", "Telegram"), ("whatsapp", "WhatsApp")):
        f = figures[channel]
        told = channel == "whatsapp"
        rows.append(
            ChannelRow(
                label,
                t.number(f.queued),
                t.number(f.sent),
                t.number(f.failed),
                t.number(f.delivered) if told else "–",
                t.number(f.read) if told else "–",
            )
        )
    return rows


def channel_columns(t: Translator) -> list[str]:
    _ = t.gettext
    return [_("Queued"), _("Sent"), _("Failed"), _("Delivered"), _("Read")]


def delivery_line(t: Translator, figures: dict[str, ChannelFigures]) -> list[str]:
    """A broadcast's delivery, a line per channel, for the list."""
    lines = []
    for row in channel_rows(t, figures):
        text = t.gettext("{channel}: {sent} sent, {queued} queued, {failed} failed").format(
            channel=row.channel, sent=row.sent, queued=row.queued, failed=row.failed
        )
        if row.channel == "WhatsApp":
            text += " · " + t.gettext("{delivered} delivered, {read} read").format(
                delivered=row.delivered, read=row.read
            )
        lines.append(text)
    return lines


@dataclass(frozen=True)
class Listed:
    """One broadcast in the list."""

    id: int
    when: str
    excerpt: str
    status: str
    delivery: list[str]
    reach: str


async def list_page(
    sessions: async_sessionmaker[AsyncSession], request: web.Request, visitor: Visitor
) -> web.Response:
    """GET broadcasts?page=N: the one-off broadcasts, newest first, 25 a page."""
    t = visitor.t
    _ = t.gettext
    raw = request.query.get("page", "1")
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        return problem(visitor, _("That page is not known"), [_("Pages are numbered from 1.")])
    number = int(raw)
    timezone = champion_zone(visitor.champion).key
    now = utcnow()
    async with sessions.begin() as session:
        shown, total = await broadcast_figures.one_off_page(session, (number - 1) * PAGE_SIZE, PAGE_SIZE)
        ids = [b.id for b in shown]
        delivery = await broadcast_figures.by_channel(session, ids)
        reach = await responses.broadcast_reach(session, ids)
        queue = await outbox_figures.by_kind(session, now, BROADCAST)
        await audit.record(session, audit.VIEWED, visitor.champion.id, now, "broadcasts")
    pages = max(1, -(-total // PAGE_SIZE))
    if number > pages:
        return problem(visitor, _("That page is not known"), [_("Pages are numbered from 1.")])
    listed = [
        Listed(
            b.id,
            _shown(t, b.queued_at or b.send_at, timezone),
            message_excerpt(dict(b.texts), t.language),
            _status(t, b.status),
            delivery_line(t, delivery[b.id]),
            reach_figures(t, reach[b.id]),
        )
        for b in shown
    ]
    waiting = queue[0].counts.get("pending", 0) + queue[0].counts.get("claimed", 0) if queue else 0
    outbox_line = t.ngettext(
        "In the outbox now: {count} broadcast message waiting to be sent.",
        "In the outbox now: {count} broadcast messages waiting to be sent.",
        waiting,
    ).format(count=t.number(waiting))
    if queue and queue[0].oldest_due is not None:
        outbox_line += " " + _("The oldest has waited since {time}.").format(
            time=_shown(t, queue[0].oldest_due, timezone)
        )
    return page(
        visitor,
        "broadcasts.html",
        _("Broadcasts"),
        NAV_PATH,
        compose=_("Compose a broadcast"),
        outbox_line=outbox_line,
        caption=t.ngettext("{count} broadcast", "{count} broadcasts", total).format(count=t.number(total)),
        columns=[_("When"), _("Message"), _("Status"), _("Delivery"), _("Reach")],
        listed=listed,
        none=_("No broadcasts have been sent yet."),
        pager=_pager(t, number, pages),
    )


@dataclass(frozen=True)
class Pager:
    label: str
    previous: tuple[str, str] | None  # link, words
    next: tuple[str, str] | None
    where: str


def _pager(t: Translator, number: int, pages: int) -> Pager | None:
    _ = t.gettext
    if pages == 1:
        return None
    previous = (f"broadcasts?page={number - 1}", _("Previous page")) if number > 1 else None
    following = (f"broadcasts?page={number + 1}", _("Next page")) if number < pages else None
    where = _("Page {page} of {pages}").format(page=t.number(number), pages=t.number(pages))
    return Pager(_("Pages"), previous, following, where)


async def one_page(
    sessions: async_sessionmaker[AsyncSession], request: web.Request, visitor: Visitor
) -> web.Response:
    """GET broadcast?id=N: one broadcast, its texts, its live delivery figures and reach."""
    t = visitor.t
    _ = t.gettext
    raw = request.query.get("id", "")
    if not raw.isdigit() or len(raw) > ID_MAX:
        return problem(
            visitor, _("That broadcast is not known"), [_("Choose one from the list of broadcasts.")]
        )
    timezone = champion_zone(visitor.champion).key
    now = utcnow()
    async with sessions.begin() as session:
        found = await session.get(Broadcast, int(raw))
        if found is None or found.campaign_id is not None:
            return problem(
                visitor,
                _("That broadcast is not known"),
                [_("Choose one from the list of broadcasts.")],
                status=404,
            )
        progress = await responses.progress(session, found.id)
        figures = await broadcast_figures.by_channel(session, [found.id])
        reach = await responses.broadcast_reach(session, [found.id])
        audience_name = await _audience_words(t, session, Audience.from_json(found.audience))
        await audit.record(session, audit.VIEWED, visitor.champion.id, now, "broadcast")
    assert progress is not None
    texts = [(code, LANGUAGES.get(code, code), text) for code, text in dict(found.texts).items()]
    done = request.query.get("done")
    return page(
        visitor,
        "broadcast.html",
        _("About this broadcast"),
        NAV_PATH,
        done=_("Your broadcast was sent to the outbox.")
        if done == "sent"
        else (_("Your broadcast is scheduled.") if done == "scheduled" else None),
        facts=[
            (_("Status"), _status(t, found.status)),
            (_("Sends at"), _shown(t, found.send_at, timezone)),
            (_("Audience"), audience_name),
            (_("Urgent"), _("Yes, it ignores quiet hours") if found.urgent else _("No")),
            (_("Answer buttons"), _("On") if found.answer_back else _("Off")),
        ],
        progress=report_text(t, progress),
        texts_heading=_("The message"),
        texts=texts,
        table_caption=_("Delivery by channel"),
        channel_heading=_("Channel"),
        columns=channel_columns(t),
        rows=channel_rows(t, figures[found.id]),
        not_told=_("Telegram does not tell whether a message was delivered or read."),
        reach_heading=_("Reach"),
        reach=reach_figures(t, reach[found.id]),
        back=_("All broadcasts"),
    )


# ------------------------------------------------------------------ composing


@dataclass
class Draft:
    """A broadcast being composed, as the form's fields carry it (nothing checked yet)."""

    text: str = ""
    audience: str = ""  # "all", "area:3", "network:2" or "segment:5"
    versions: dict[str, str] = field(default_factory=dict)
    token: str = ""
    options: bool = False  # the preview's choices below were made
    when: str = "now"  # or "later"
    at: str = ""  # the datetime-local input's value
    urgent: bool = False
    answer_back: bool = True
    spread: bool = False  # WhatsApp templates past the daily tier wait for the following days

    @classmethod
    def read(cls, form: MultiDictProxy[Any]) -> Draft:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""

        options = text("options") == "1"
        return cls(
            text=text("text"),
            audience=text("audience"),
            versions={code: text(f"v_{code}") for code in LANGUAGES if code != "en" and text(f"v_{code}")},
            token=text("token"),
            options=options,
            when="later" if text("when") == "later" else "now",
            at=text("at"),
            urgent=text("urgent") == "1",
            answer_back=text("answers") == "1" if options else True,
            spread=text("spread") == "1",
        )

    def hidden(self, *, options: bool = True) -> list[tuple[str, str]]:
        """The fields that carry it to the next step."""
        fields = [("text", self.text), ("audience", self.audience), ("token", self.token)]
        fields += [(f"v_{code}", version) for code, version in self.versions.items()]
        if options and self.options:
            fields += [("options", "1"), ("when", self.when), ("at", self.at)]
            fields += [("urgent", "1")] if self.urgent else []
            fields += [("answers", "1")] if self.answer_back else []
            fields += [("spread", "1")] if self.spread else []
        return fields


@dataclass(frozen=True)
class Option:
    """One audience the form offers."""

    key: str
    label: str
    audience: Audience


@dataclass(frozen=True)
class Group:
    label: str
    options: list[Option]


async def audience_groups(t: Translator, session: AsyncSession) -> list[Group]:
    """Everyone, then each area, network and saved audience: the chat composer's audiences."""
    _ = t.gettext
    groups = [Group(_("Everyone"), [Option("all", _("Everyone"), Audience())])]
    areas = [
        Option(f"area:{a.id}", a.name, Audience(areas=[a.id])) for a in await directory.list_areas(session)
    ]
    networks = [
        Option(f"network:{n.id}", n.name, Audience(networks=[n.id]))
        for n in await directory.list_networks(session)
    ]
    saved = [
        Option(f"segment:{s.id}", s.name, Audience.from_json(s.audience))
        for s in await audiences.segments(session)
    ]
    for label, options in ((_("Areas"), areas), (_("Networks"), networks), (_("Saved audiences"), saved)):
        if options:
            groups.append(Group(label, options))
    return groups


class BadAudience(ValueError):
    """An audience the form names that does not exist (any more)."""


async def resolve(t: Translator, session: AsyncSession, key: str) -> Option:
    """The audience a form's value names; BadAudience if none."""
    kind, _sep, raw = key.partition(":")
    if kind == "all" and not raw:
        return Option("all", t.gettext("Everyone"), Audience())
    if not raw.isdigit() or len(raw) > ID_MAX:
        raise BadAudience(key)
    number = int(raw)
    if kind == "area" and (area := await session.get(Area, number)) is not None:
        return Option(key, area.name, Audience(areas=[number]))
    if kind == "network" and (network := await session.get(Network, number)) is not None:
        return Option(key, network.name, Audience(networks=[number]))
    if kind == "segment" and (segment := await session.get(Segment, number)) is not None:
        return Option(key, segment.name, Audience.from_json(segment.audience))
    raise BadAudience(key)


async def _audience_words(t: Translator, session: AsyncSession, chosen: Audience) -> str:
    """An audience named as the form offers it (a saved audience's filters show as one)."""
    _ = t.gettext
    names = []
    for model, ids in ((Area, chosen.areas), (Network, chosen.networks)):
        if ids:
            names += list(await session.scalars(select(model.name).where(model.id.in_(ids))))
    names += [LANGUAGES.get(code, code) for code in chosen.languages]
    return ", ".join(names) if names else _("Everyone")


@dataclass(frozen=True)
class Problem:
    """A field's problem: which field (its id) and what to do."""

    field: str
    text: str


def text_problem(t: Translator, text: str, field_id: str) -> Problem | None:
    """An empty or over-long text, as the chat composer refuses it."""
    if not text:
        return Problem(field_id, t.gettext("Enter the message."))
    if len(text) > TEXT_MAX:
        return Problem(
            field_id,
            t.ngettext(
                "That is too long. Please keep it to at most {count} character.",
                "That is too long. Please keep it to at most {count} characters.",
                TEXT_MAX,
            ).format(count=t.number(TEXT_MAX)),
        )
    return None


def send_time(t: Translator, draft: Draft, visitor: Visitor, now: datetime) -> datetime | Problem | None:
    """When to send: None for now, the time in UTC, or the problem with the time given."""
    if draft.when == "now":
        return None
    _ = t.gettext
    zone = champion_zone(visitor.champion)
    try:
        local = datetime.strptime(draft.at, LOCAL_INPUT)
    except ValueError:
        return Problem("at", _("Enter the date and time to send it."))
    try:
        moment = local_time.to_utc(local, zone)
    except local_time.SkippedTime as skipped:
        return Problem(
            "at",
            _(
                "{time} does not exist in {timezone}: the clocks go forward then. Please choose another time."
            ).format(time=f"{skipped.local:{local_time.LAYOUT}}", timezone=zone.key),
        )
    if moment <= now:
        return Problem(
            "at",
            _("That time, {time}, has already passed. Choose a time in the future.").format(
                time=_shown(t, moment, zone.key)
            ),
        )
    if moment > now + SCHEDULE_AHEAD:
        return Problem("at", _("Please choose a time within the next year."))
    return moment


class Composer:
    """The compose form's steps, for one request."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], visitor: Visitor, tier: int | None = None
    ) -> None:
        self.sessions = sessions
        self.visitor = visitor
        self.t = visitor.t
        self.tier = tier  # WhatsApp's daily tier, for the preview's WhatsApp side

    def words(self) -> dict[str, str]:
        """The words every step shares."""
        _ = self.t.gettext
        return {
            "errors_title": _("There is a problem"),
            "error_prefix": _("Error:"),
            "change": _("Change the message or audience"),
        }

    def render(self, template: str, problems: list[Problem], **values: Any) -> web.Response:
        _ = self.t.gettext
        return page(
            self.visitor,
            template,
            _("Compose a broadcast"),
            NAV_PATH,
            status=400 if problems else 200,
            problems=problems,
            errors={p.field: p.text for p in problems},
            step_words=self.words(),
            **values,
        )

    async def first(self, draft: Draft, problems: list[Problem]) -> web.Response:
        """Step 1: the message and who gets it."""
        t = self.t
        _ = t.gettext
        async with self.sessions() as session:
            groups = await audience_groups(t, session)
            everyone = await audiences.size(session, Audience())
        return self.render(
            "compose.html",
            problems,
            draft=draft,
            hidden=[("token", draft.token)] + [(f"v_{c}", v) for c, v in draft.versions.items()],
            text_label=_("Message in English"),
            text_hint=t.ngettext(
                "Champions without a version in their language get this text. At most {count} character.",
                "Champions without a version in their language get this text. At most {count} characters.",
                TEXT_MAX,
            ).format(count=t.number(TEXT_MAX)),
            audience_label=_("Who should get it?"),
            audience_hint=t.ngettext(
                "Everyone is {count} champion who can get messages now.",
                "Everyone is {count} champions who can get messages now.",
                everyone,
            ).format(count=t.number(everyone)),
            groups=groups,
            next_label=_("Continue"),
        )

    async def checked(
        self, session: AsyncSession, draft: Draft
    ) -> tuple[Option, int, dict[str, int]] | list[Problem]:
        """The audience, its size and its languages; or what is wrong with the message."""
        t = self.t
        problems = [p for p in [text_problem(t, draft.text, "text")] if p]
        for code, version in draft.versions.items():
            found = text_problem(t, version, f"v_{code}")
            if found:
                problems.append(found)
        chosen = await resolve(t, session, draft.audience)
        count = await audiences.size(session, chosen.audience)
        if count == 0:
            problems.append(
                Problem(
                    "audience",
                    t.gettext("Nobody in that audience can get messages right now. Choose another."),
                )
            )
        return problems or (chosen, count, await audiences.languages(session, chosen.audience))

    async def versions(self, draft: Draft, counts: dict[str, int], problems: list[Problem]) -> web.Response:
        """Step 2: a version for each of the audience's other languages, each with its readers."""
        t = self.t
        _ = t.gettext
        languages = [
            (
                code,
                t.ngettext(
                    "Version in {language} (read by {count} champion)",
                    "Version in {language} (read by {count} champions)",
                    counts[code],
                ).format(language=name, count=t.number(counts[code])),
                draft.versions.get(code, ""),
            )
            for code, name in LANGUAGES.items()
            if code != "en" and counts.get(code)
        ]
        return self.render(
            "compose_versions.html",
            problems,
            hidden=[(k, v) for k, v in draft.hidden() if not k.startswith("v_")],
            heading=_("Versions in other languages"),
            explain=_("Add a version in another language? Anyone without one gets the English text."),
            languages=languages,
            next_label=_("Preview"),
        )

    async def preview(self, session: AsyncSession, draft: Draft, problems: list[Problem]) -> web.Response:
        """Step 3: what each language group gets, the size, WhatsApp's side, when and the options."""
        t = self.t
        _ = t.gettext
        checked = await self.checked(session, draft)
        assert not isinstance(checked, list)
        chosen, count, counts = checked
        order = [code for code in LANGUAGES if counts.get(code)] + sorted(set(counts) - set(LANGUAGES))
        groups = []
        for code in order:
            name = LANGUAGES.get(code, code)
            if code in draft.versions or code == "en":
                heading = t.ngettext(
                    "Preview for {language} ({count} person):",
                    "Preview for {language} ({count} people):",
                    counts[code],
                )
                shown_code = code
            else:
                heading = t.ngettext(
                    "Preview for {language} ({count} person), who will get the English text:",
                    "Preview for {language} ({count} people), who will get the English text:",
                    counts[code],
                )
                shown_code = "en"
            text = draft.versions.get(code) or draft.text
            groups.append((heading.format(language=name, count=t.number(counts[code])), shown_code, text))
        plan = await whatsapp_plan(
            session,
            chosen.audience,
            draft.text,
            answer_back=draft.answer_back,
            tier=self.tier,
            now=utcnow(),
        )
        timezone = champion_zone(self.visitor.champion).key
        days = plan.days if plan is not None else 1
        return self.render(
            "compose_preview.html",
            problems,
            draft=draft,
            hidden=draft.hidden(options=False),
            heading=_("Check the message"),
            audience=(_("Audience"), chosen.label),
            size=t.ngettext("That is {count} champion.", "That is {count} champions.", count).format(
                count=t.number(count)
            ),
            groups=groups,
            whatsapp_heading=_("On WhatsApp"),
            whatsapp=whatsapp_lines(t, plan) if plan is not None else [],
            when_legend=_("When should it go out?"),
            now_label=_("Send now"),
            later_label=_("Schedule for later"),
            at_label=_("Date and time"),
            at_hint=_("Times are in your time zone, {timezone}.").format(timezone=timezone),
            options_legend=_("Options"),
            urgent_label=_("Urgent"),
            urgent_hint=_("ignores quiet hours"),
            answers_label=_("Answer buttons"),
            answers_hint=_("With “Shared it”, “A question” and “Concern heard” under the message."),
            spread_label=(
                t.ngettext("Send over {count} day", "Send over {count} days", days).format(
                    count=t.number(days)
                )
                if days > 1
                else None
            ),
            spread_hint=_spread_words(t, days),
            next_label=_("Continue"),
        )


async def compose_start(
    sessions: async_sessionmaker[AsyncSession], request: web.Request, visitor: Visitor
) -> web.Response:
    """GET compose: a new broadcast's first step, with its one-time token."""
    return await Composer(sessions, visitor).first(Draft(token=secrets.token_urlsafe(16)), [])


async def compose_step(
    sessions: async_sessionmaker[AsyncSession],
    tier: int | None,
    wake: Wake,
    request: web.Request,
    visitor: Visitor,
) -> web.StreamResponse:
    """POST compose: the step the pressed button names, everything carried checked again; a
    broadcast sent now rings the delivery workers' wake once it is committed."""
    form = await auth.checked_form(request, visitor)
    if form is None:
        return auth.form_refused(visitor.t)
    t = visitor.t
    _ = t.gettext
    draft = Draft.read(form)
    step = form.get("step", "")
    composer = Composer(sessions, visitor, tier)
    if not TOKEN.fullmatch(draft.token):
        return problem(
            visitor, _("This form was not accepted"), [_("Start the broadcast again from Compose.")]
        )
    if step == "edit":
        return await composer.first(draft, [])
    now = utcnow()
    try:
        async with sessions.begin() as session:
            checked = await composer.checked(session, draft)
            if isinstance(checked, list):
                if all(p.field.startswith("v_") for p in checked):
                    return await composer.versions(draft, await _counts(session, draft, t), checked)
                return await composer.first(draft, checked)
            chosen, count, counts = checked
            if step == "audience":
                if any(counts.get(code) for code in LANGUAGES if code != "en"):
                    return await composer.versions(draft, counts, [])
                return await composer.preview(session, draft, [])
            if step == "versions":
                return await composer.preview(session, draft, [])
            moment = send_time(t, draft, visitor, now)
            if isinstance(moment, Problem):
                return await composer.preview(session, draft, [moment])
            days = await _days(session, draft, chosen.audience, tier, moment, now)
            if step == "preview":
                return _confirm_page(composer, draft, count, moment, days)
            if step != "send":
                return problem(
                    visitor, _("This form was not accepted"), [_("Start the broadcast again from Compose.")]
                )
            answer = await _send(session, visitor, draft, chosen.audience, moment, tier if days > 1 else None)
    except BadAudience:
        return problem(
            visitor,
            _("That audience is not known"),
            [_("Start the broadcast again and choose who should get it.")],
        )
    if moment is None:
        wake.ring(outbox.BULK)
    return answer


async def _counts(session: AsyncSession, draft: Draft, t: Translator) -> dict[str, int]:
    return await audiences.languages(session, (await resolve(t, session, draft.audience)).audience)


async def _days(
    session: AsyncSession,
    draft: Draft,
    chosen: Audience,
    tier: int | None,
    moment: datetime | None,
    now: datetime,
) -> int:
    """The days the WhatsApp templates are spread over: 1 unless asked for, sent now, and past the tier
    (the field is the coordinator's wish, checked against the plan again here)."""
    if not draft.spread or moment is not None:
        return 1
    plan = await whatsapp_plan(session, chosen, draft.text, answer_back=draft.answer_back, tier=tier, now=now)
    return plan.days if plan is not None else 1


def _spread_words(t: Translator, days: int) -> str:
    """What spreading over these days means, as the chat's confirm says it."""
    return t.ngettext(
        "The WhatsApp templates go out over {count} day, a day's share at a time.",
        "The WhatsApp templates go out over {count} days, a day's share at a time.",
        days,
    ).format(count=t.number(days))


def _confirm_page(
    composer: Composer, draft: Draft, count: int, moment: datetime | None, days: int
) -> web.Response:
    """Step 4: the last question, as the chat asks it; Confirm sends."""
    t = composer.t
    _ = t.gettext
    timezone = champion_zone(composer.visitor.champion).key
    if moment is None:
        question = t.ngettext("Send to {count} champion now?", "Send to {count} champions now?", count)
    else:
        question = t.ngettext(
            "Send to {count} champion on {date}?", "Send to {count} champions on {date}?", count
        )
    facts = [
        (_("Urgent"), _("Yes, it ignores quiet hours") if draft.urgent else _("No")),
        (_("Answer buttons"), _("On") if draft.answer_back else _("Off")),
    ]
    facts += [(_("On WhatsApp"), _spread_words(t, days))] if days > 1 else []
    return composer.render(
        "compose_confirm.html",
        [],
        hidden=draft.hidden(),
        question=question.format(count=t.number(count), date=_shown(t, moment, timezone) if moment else ""),
        facts=facts,
        confirm_label=_("Confirm and send") if moment is None else _("Confirm and schedule"),
        back_label=_("Back to the preview"),
    )


async def _send(
    session: AsyncSession,
    visitor: Visitor,
    draft: Draft,
    chosen: Audience,
    moment: datetime | None,
    spread_tier: int | None,
) -> web.Response:
    """Make the broadcast (and fan it out, if for now) as the chat's confirm does, once per token:
    a second press, or a confirm sent again, goes to the broadcast the first one made. With a
    `spread_tier`, the WhatsApp templates past today's share of it wait for the following days."""
    me = visitor.champion.id
    # One confirm at a time per coordinator, so two presses cannot both find the token unused.
    await session.execute(select(Champion.id).where(Champion.id == me).with_for_update())
    earlier = await audit.detail_starting(session, audit.BROADCAST_SENT, me, f"{draft.token}:")
    if earlier is not None:
        return auth.redirect(f"broadcast?id={earlier.rpartition(':')[2]}")
    made = await broadcasts.queue_composed(
        session,
        texts={"en": draft.text, **draft.versions},
        audience=chosen,
        send_at=moment,
        created_by=me,
        answer_back=draft.answer_back,
        urgent=draft.urgent,
    )
    await hold_past_the_tier(session, made.id, spread_tier, utcnow())
    await audit.record(session, audit.BROADCAST_SENT, me, utcnow(), f"{draft.token}:{made.id}")
    return auth.redirect(f"broadcast?id={made.id}&done={'sent' if moment is None else 'scheduled'}")


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """The broadcasts list, one broadcast, and composing."""
    gate, sessions = dashboard.gate, dashboard.sessions

    async def listed(request: web.Request, visitor: Visitor) -> web.Response:
        return await list_page(sessions, request, visitor)

    async def one(request: web.Request, visitor: Visitor) -> web.Response:
        return await one_page(sessions, request, visitor)

    async def start(request: web.Request, visitor: Visitor) -> web.Response:
        return await compose_start(sessions, request, visitor)

    async def step(request: web.Request, visitor: Visitor) -> web.StreamResponse:
        tier = dashboard.settings.whatsapp_daily_tier
        return await compose_step(sessions, tier, dashboard.wake, request, visitor)

    return [
        web.get("/broadcasts", for_coordinators(gate, listed)),
        web.get("/broadcast", for_coordinators(gate, one)),
        web.get("/compose", for_coordinators(gate, start)),
        web.post("/compose", for_coordinators(gate, step)),
    ]
