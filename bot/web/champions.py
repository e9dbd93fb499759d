"""The champions page: everyone who joined, a page at a time, filtered by area, network and status;
approving and declining those waiting (as /pending does in the chat, through the same function),
pausing and resuming (by the chat's status rules), and giving or taking the coordinator role.

Every action is a small POST form that comes back (303) to the same list with a banner saying
what was done. The list state (filters, page) travels in the form's address, so it survives."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import LANGUAGES, N_, Translator
from bot.web import auth
from bot.web.layout import for_coordinators, page, problem
from handlers.common import MEMBER_STATUSES, champion_zone
from storage import approvals, audit, champion_list, champions, directory, outbox
from storage.champion_list import LISTED, Filters, Listed
from storage.identities import TELEGRAM, WHATSAPP
from storage.models import Champion, Role, Status, utcnow

if TYPE_CHECKING:  # bot.web.app imports this module
    from bot.web.app import Dashboard

PATH = "champions"
PAGE_SIZE = 25
NUMBER = re.compile(r"[0-9]{1,9}")  # ASCII digits only: int() would take "²" or "١" too
STATUS_LABELS = {
    Status.ACTIVE: N_("Active"),
    Status.PAUSED: N_("Paused"),
    Status.PENDING: N_("Waiting for approval"),
    Status.STOPPED: N_("Stopped"),
}
STATUS_TAGS = {
    Status.ACTIVE: "green",
    Status.PAUSED: "yellow",
    Status.PENDING: "blue",
    Status.STOPPED: "grey",
}
ROLE_LABELS = {Role.CHAMPION: N_("Champion"), Role.COORDINATOR: N_("Coordinator")}
CHANNEL_NAMES = {TELEGRAM: "Telegram", WHATSAPP: "WhatsApp"}  # the services' own names

APPROVE, DECLINE, PAUSE, RESUME, GIVE, TAKE = "approve", "decline", "pause", "resume", "give", "take"
BUTTONS = {
    APPROVE: N_("Approve"),
    DECLINE: N_("Decline"),
    PAUSE: N_("Pause"),
    RESUME: N_("Resume"),
    GIVE: N_("Make coordinator"),
    TAKE: N_("Take coordinator role away"),
}
DONE = {
    APPROVE: N_("{name} can now take part."),
    DECLINE: N_("{name} was declined."),
    PAUSE: N_("{name} is paused: they get no campaign messages until they are resumed."),
    RESUME: N_("{name} gets campaign messages again."),
    GIVE: N_("{name} is now a coordinator."),
    TAKE: N_("{name} is no longer a coordinator, and is signed out of the dashboard."),
}
TOLD = {
    APPROVE: N_("They will be told in their language."),
    DECLINE: N_("They will be told in their language, and their details deleted."),
}


@dataclass(frozen=True)
class Row:
    """One champion as the list shows them."""

    id: int
    name: str
    channels: str
    language: str
    language_code: str
    area: str
    networks: str
    status: str
    tag: str
    role: str
    joined: str
    buttons: list[tuple[str, str]]  # (action, label)


@dataclass(frozen=True)
class PageLink:
    number: int
    text: str  # the number as the reader's language writes it
    name: str  # "Page 3", for screen readers
    href: str
    current: bool


class BadRequest(Exception):
    """A filter or page that is not one the page offers: what was wrong, in the reader's words."""

    def __init__(self, title: str, line: str) -> None:
        super().__init__(title)
        self.title, self.line = title, line


def _number(value: str) -> int:
    if not NUMBER.fullmatch(value):
        raise ValueError(value)
    return int(value)


def read_filters(t: Translator, query: Mapping[str, str], areas: set[int], networks: set[int]) -> Filters:
    """The filters asked for ("" or absent: any); BadRequest for anything the page never offers."""
    _ = t.gettext
    chosen: dict[str, int | None] = {}
    for key, known, title in (
        ("area", areas, _("That area is not known")),
        ("network", networks, _("That network is not known")),
    ):
        value = query.get(key, "")
        try:
            chosen[key] = _number(value) if value else None
        except ValueError:
            chosen[key] = -1
        if chosen[key] is not None and chosen[key] not in known:
            raise BadRequest(title, _("Choose from the lists on the champions page."))
    status = query.get("status", "")
    if status and status not in {s.value for s in LISTED}:
        raise BadRequest(_("That status is not known"), _("Choose from the lists on the champions page."))
    return Filters(chosen["area"], chosen["network"], Status(status) if status else None)


def read_page(t: Translator, query: Mapping[str, str]) -> int:
    """The page number asked for (1 if none); BadRequest for anything but a whole number from 1."""
    value = query.get("page", "1")
    try:
        number = _number(value)
    except ValueError:
        number = 0
    if number < 1:
        _ = t.gettext
        raise BadRequest(_("That page is not known"), _("Pages are numbered from 1."))
    return number


def address(filters: Filters, number: int = 1, **extra: str) -> str:
    """The list's path with these filters and page (and anything else), relative to home."""
    values = {
        "area": str(filters.area_id) if filters.area_id is not None else "",
        "network": str(filters.network_id) if filters.network_id is not None else "",
        "status": filters.status.value if filters.status else "",
        "page": str(number) if number > 1 else "",
        **extra,
    }
    query = urlencode({key: value for key, value in values.items() if value})
    return f"{PATH}?{query}" if query else PATH


def buttons(champion: Champion, visitor: auth.Visitor) -> list[tuple[str, str]]:
    """The actions this champion's status and role allow, as (action, label)."""
    found = {Status.PENDING: [APPROVE, DECLINE], Status.ACTIVE: [PAUSE], Status.PAUSED: [RESUME]}.get(
        champion.status, []
    )
    if champion.status in MEMBER_STATUSES:
        if not champion.is_coordinator:
            found.append(GIVE)
        elif champion.id != visitor.champion.id:  # nobody takes their own role away
            found.append(TAKE)
    t = visitor.t
    return [(action, t.gettext(BUTTONS[action])) for action in found]


def row(t: Translator, listed: Listed, visitor: auth.Visitor, timezone: str) -> Row:
    _ = t.gettext
    champion = listed.champion
    return Row(
        id=champion.id,
        name=champion.display_name or "–",
        channels=", ".join(CHANNEL_NAMES.get(channel, channel) for channel in listed.channels),
        language=LANGUAGES.get(champion.language, champion.language),
        language_code=champion.language,
        area=champion.area.name if champion.area else _("No area given"),
        networks=", ".join(listed.networks) or "–",
        status=_(STATUS_LABELS[champion.status]),
        tag=STATUS_TAGS[champion.status],
        role=_(ROLE_LABELS[champion.role]),
        joined=t.datetime(champion.created_at, timezone),
        buttons=buttons(champion, visitor),
    )


def page_links(t: Translator, filters: Filters, current: int, pages: int) -> list[PageLink | None]:
    """The first, last, current and neighbouring pages; None where pages are left out."""
    shown = sorted({1, pages, current - 1, current, current + 1} & set(range(1, pages + 1)))
    links: list[PageLink | None] = []
    for number in shown:
        if links and links[-1] is not None and number - links[-1].number > 1:
            links.append(None)
        name = t.gettext("Page {number}").format(number=t.number(number))
        links.append(PageLink(number, t.number(number), name, address(filters, number), number == current))
    return links


async def banner(t: Translator, session: AsyncSession, query: Mapping[str, str]) -> list[str]:
    """What the action just done did, from the address it came back to; nothing for a made-up one."""
    done, champion_id = query.get("done", ""), query.get("id", "")
    if done not in DONE or not NUMBER.fullmatch(champion_id):
        return []
    champion = await session.get(Champion, int(champion_id))
    name = champion.display_name if champion and champion.display_name else "–"
    lines = [t.gettext(DONE[done]).format(name=name)]
    if done in TOLD:
        lines.append(t.gettext(TOLD[done]))
    return lines


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """GET champions: the list; POST champions: one action on one champion, then back to it."""

    async def known(session: AsyncSession) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        areas = [(area.id, area.name) for area in await directory.list_areas(session)]
        networks = [(network.id, network.name) for network in await directory.list_networks(session)]
        return areas, networks

    async def show(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        t = visitor.t
        _ = t.gettext
        now = utcnow()
        async with dashboard.sessions.begin() as session:
            areas, networks = await known(session)
            try:
                filters = read_filters(t, request.query, {i for i, _n in areas}, {i for i, _n in networks})
                number = read_page(t, request.query)
            except BadRequest as bad:
                return problem(visitor, bad.title, [bad.line])
            total = await champion_list.count(session, filters)
            pages = max(1, -(-total // PAGE_SIZE))
            number = min(number, pages)  # after the last one on a page was approved away, say
            listed = await champion_list.page(session, filters, (number - 1) * PAGE_SIZE, PAGE_SIZE)
            done = await banner(t, session, request.query)
            await audit.record(session, audit.VIEWED, visitor.champion.id, now, PATH)
        timezone = champion_zone(visitor.champion).key
        return page(
            visitor,
            "champions.html",
            _("Champions"),
            PATH,
            here=address(filters, number),
            done_title=_("Done"),
            done=done,
            filter_legend=_("Show champions"),
            area_label=_("Area"),
            network_label=_("Network"),
            status_label=_("Status"),
            any_area=_("All areas"),
            any_network=_("All networks"),
            any_status=_("All statuses"),
            areas=[(i, name, i == filters.area_id) for i, name in areas],
            networks=[(i, name, i == filters.network_id) for i, name in networks],
            statuses=[(s.value, _(STATUS_LABELS[s]), s == filters.status) for s in LISTED],
            show_button=_("Show"),
            found=t.ngettext("{count} champion matches.", "{count} champions match.", total).format(
                count=t.number(total)
            ),
            caption=_("Champions, page {page} of {pages}").format(
                page=t.number(number), pages=t.number(pages)
            ),
            columns=[
                _("Name"),
                _("Channels"),
                _("Language"),
                _("Area"),
                _("Networks"),
                _("Status"),
                _("Role"),
                _("Joined"),
                _("Actions"),
            ],
            rows=[row(t, item, visitor, timezone) for item in listed],
            no_rows=_("No champions match these filters."),
            pagination_label=_("Pages of champions"),
            previous=address(filters, number - 1) if number > 1 else None,
            next=address(filters, number + 1) if number < pages else None,
            previous_label=_("Previous"),
            next_label=_("Next"),
            page_links=page_links(t, filters, number, pages) if pages > 1 else [],
        )

    async def act(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        form = await auth.checked_form(request, visitor)
        if form is None:
            return auth.form_refused(visitor.t)
        t = visitor.t
        _ = t.gettext
        action, champion_id = str(form.get("action", "")), str(form.get("id", ""))
        if action not in BUTTONS or not NUMBER.fullmatch(champion_id):
            return problem(visitor, _("That action is not known"), [_("Nothing was changed.")])
        if action == TAKE and int(champion_id) == visitor.champion.id:
            return problem(
                visitor,
                _("You cannot take your own coordinator role away"),
                [_("Nothing was changed. Another coordinator can take it away if it should go.")],
            )
        now = utcnow()
        async with dashboard.sessions.begin() as session:
            areas, networks = await known(session)
            try:
                filters = read_filters(t, request.query, {i for i, _n in areas}, {i for i, _n in networks})
                number = read_page(t, request.query)
            except BadRequest as bad:
                return problem(visitor, bad.title, [bad.line])
            champion = await session.get(Champion, int(champion_id))
            changed = champion is not None and await change(session, action, champion)
            if changed:
                await audit.record(
                    session, audit.CHAMPION_CHANGED, visitor.champion.id, now, f"{action}:{champion_id}"
                )
        if not changed:
            if action in (APPROVE, DECLINE):
                line = _("Someone has already decided about this person.")
            else:
                line = _("Their status or role has changed since the list was shown. Look at it again.")
            return problem(visitor, _("Nothing was changed"), [line], status=409)
        if action in (APPROVE, DECLINE):
            dashboard.wake.ring(outbox.PERSON)
        return auth.redirect(dashboard.gate.home + address(filters, number, done=action, id=champion_id))

    return [
        web.get(f"/{PATH}", for_coordinators(dashboard.gate, show)),
        web.post(f"/{PATH}", for_coordinators(dashboard.gate, act)),
    ]


async def change(session: AsyncSession, action: str, champion: Champion) -> bool:
    """Do one action, by the same rules as the chat; False if the champion's status or role no
    longer allows it (checked in the UPDATE, so two coordinators at once can't both act)."""
    if action in (APPROVE, DECLINE):
        return await approvals.decide(session, champion.id, action == APPROVE) is not None
    if action == PAUSE:
        return await champions.change_status(session, champion.id, Status.PAUSED)
    if action == RESUME:
        return await champions.change_status(session, champion.id, Status.ACTIVE, only_from=Status.PAUSED)
    if action == GIVE:
        if champion.status not in MEMBER_STATUSES or champion.is_coordinator:
            return False
        await champions.make_coordinator(session, champion.telegram_id, None, champion.language)
        return True
    return await champions.remove_coordinator(session, champion.telegram_id)  # TAKE: their sessions end
