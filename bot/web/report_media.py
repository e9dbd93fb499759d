"""A report's photo or voice note on the dashboard. Files kept from WhatsApp (under the data folder)
are served to coordinators from `report-media?id=N`, each view audited; a Telegram file id can only
be sent by the bot, so such a report says to open it in the chat."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from bot import whatsapp_media
from bot.i18n import Translator
from bot.web import auth
from bot.web.layout import BadRequest, for_coordinators, problem, whole_number
from handlers.report_labels import MEDIA_LABELS
from storage import audit, reports
from storage.models import Report, utcnow

if TYPE_CHECKING:
    from bot.web.app import Dashboard

PATH = "report-media"


@dataclass(frozen=True)
class Shown:
    """How the report page shows its media: a kept file's address and its words, or a line."""

    kind: str  # photo or voice
    src: str | None  # None: it is Telegram's, see `line`
    line: str  # the photo's alternative text, the voice note's link, or where to open it


def shown(t: Translator, report: Report, data_dir: Path) -> Shown | None:
    """The report's media as its page shows it (None: it has none)."""
    _ = t.gettext
    if report.media_kind not in MEDIA_LABELS or not report.media_file_id:
        return None
    kind = str(report.media_kind)
    if whatsapp_media.path(data_dir, report.media_file_id) is None:
        line = _("{media} Open this report in the chat (/insights) to see or hear it.")
        return Shown(kind, None, line.format(media=_(MEDIA_LABELS[kind])))
    words = _("The photo sent with this report") if kind == "photo" else _("Download the voice note")
    return Shown(kind, f"{PATH}?id={report.id}", words)


def routes(dashboard: Dashboard) -> list[web.RouteDef]:
    """The one route: a kept file of a report, to a coordinator."""
    sessions, data_dir = dashboard.sessions, dashboard.settings.data_dir

    async def send_file(request: web.Request, visitor: auth.Visitor) -> web.StreamResponse:
        t = visitor.t
        _ = t.gettext
        try:
            report_id = whole_number(
                request.query.get("id", ""),
                _("That report is not known"),
                _("Open a report from the Insights page."),
            )
        except BadRequest as bad:
            return problem(visitor, bad.title, [bad.line])
        async with sessions.begin() as session:
            report = await reports.get(session, report_id)
            where = None
            if report is not None and report.media_kind in MEDIA_LABELS and report.media_file_id:
                where = whatsapp_media.path(data_dir, report.media_file_id)
            if where is None or not where.is_file():
                return problem(
                    visitor,
                    _("There is no file to show"),
                    [_("Open a report from the Insights page.")],
                    status=404,
                )
            await audit.record(session, audit.VIEWED, visitor.champion.id, utcnow(), f"media:{report_id}")
        kind = mimetypes.guess_type(where.name)[0] or "application/octet-stream"
        return web.Response(
            body=where.read_bytes(), content_type=kind, headers={"Content-Disposition": "inline"}
        )

    return [web.get(f"/{PATH}", for_coordinators(dashboard.gate, send_file))]
