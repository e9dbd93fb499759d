"""Champion records: joining, status and role changes, their data on request, erasure."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, outerjoin

from storage import activity_logs, identities, learning, reports
from storage.db import rows_changed
from storage.models import (
    Area,
    Champion,
    ConversationState,
    Delivery,
    Invite,
    Network,
    Report,
    Response,
    Role,
    SnippetProgress,
    Status,
    WebSession,
    WeeklySnippet,
    WhatsAppMenu,
    champion_network,
    utcnow,
)

CONSENT_VERSION = "1"  # bump when the privacy notice changes, so champions are asked again


async def by_telegram_id(session: AsyncSession, telegram_id: int) -> Champion | None:
    """The champion with this Telegram user id."""
    return await session.scalar(select(Champion).where(Champion.telegram_id == telegram_id))


async def with_state(
    session: AsyncSession, telegram_id: int, chat_id: int
) -> tuple[Champion | None, ConversationState | None]:
    """The champion with this Telegram user id (and their area) and the chat's conversation state,
    either of them None, in one statement: what every update loads first (handlers.gate), so one
    round trip rather than one for each."""
    one = select(literal(1).label("one")).subquery()  # a row for both to be joined to, found or not
    row = (
        await session.execute(
            select(Champion, ConversationState)
            .select_from(
                outerjoin(one, Champion, Champion.telegram_id == telegram_id).outerjoin(
                    ConversationState, ConversationState.chat_id == chat_id
                )
            )
            .options(joinedload(Champion.area))
        )
    ).one()
    return row[0], row[1]


async def network_names(session: AsyncSession, champion_id: int) -> list[str]:
    """The names of the networks a champion chose, by name."""
    return list(
        await session.scalars(
            select(Network.name)
            .join(champion_network, champion_network.c.network_id == Network.id)
            .where(champion_network.c.champion_id == champion_id)
            .order_by(Network.name)
        )
    )


async def start_joining(
    session: AsyncSession, telegram_id: int, language: str, share_consent: bool, invite_code: str | None
) -> Champion:
    """Record consent (now, this version) and create or restart the champion as joining."""
    now = utcnow()
    champion = await by_telegram_id(session, telegram_id)
    if champion is None:
        champion = Champion(telegram_id=telegram_id, language=language, role=Role.CHAMPION)
        session.add(champion)
        await session.flush()
        await identities.link(session, telegram_id, champion.id)
    champion.language = language
    champion.status = Status.JOINING
    champion.consent_version = CONSENT_VERSION
    champion.consent_at = now
    champion.share_consent = share_consent
    champion.share_consent_at = now
    champion.invite_code = invite_code
    await session.flush()
    return champion


async def finish_joining(
    session: AsyncSession,
    champion: Champion,
    *,
    display_name: str,
    area_id: int | None,
    network_ids: list[int],
    approved: bool,
) -> None:
    """Store the joining answers and make the champion active, or pending approval."""
    networks = list(await session.scalars(select(Network).where(Network.id.in_(network_ids))))
    champion.display_name = display_name
    champion.area_id = area_id
    await session.refresh(champion, ["networks"])  # never loaded with the champion; replacing needs it
    champion.networks = networks
    champion.status = Status.ACTIVE if approved else Status.PENDING
    await session.flush()
    await session.refresh(champion, ["area", "networks"])


# The only ways a status may change after joining: to the status on the left, from those on the
# right. Joining itself ends in finish_joining (active, or pending approval).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ACTIVE: frozenset({Status.PENDING, Status.PAUSED}),  # approved; resumed
    Status.PAUSED: frozenset({Status.ACTIVE}),
    Status.DECLINED: frozenset({Status.PENDING}),
    Status.STOPPED: frozenset({Status.JOINING, Status.PENDING, Status.ACTIVE, Status.PAUSED}),
}


async def change_status(
    session: AsyncSession, champion_id: int, to: Status, *, only_from: Status | None = None
) -> bool:
    """Move a champion to `to` if TRANSITIONS allows it from their current status (and it is
    `only_from`, when given: resuming is not approving); False if not (checked in the UPDATE
    itself, so two coordinators deciding at once can't both win)."""
    allowed = TRANSITIONS[to] if only_from is None else TRANSITIONS[to] & {only_from}
    result = await rows_changed(
        session,
        update(Champion)
        .where(Champion.id == champion_id, Champion.status.in_(allowed))
        .values(status=to, updated_at=utcnow()),
    )
    return bool(result)


async def mark_unreachable(session: AsyncSession, champion_ids: list[int]) -> None:
    """Note that sends to these champions fail with 403; their status stays as it is."""
    if champion_ids:
        await session.execute(
            update(Champion).where(Champion.id.in_(champion_ids)).values(unreachable_at=utcnow())
        )


async def mark_reachable(session: AsyncSession, champion_id: int) -> None:
    """They wrote to us, so they can be reached again."""
    await session.execute(update(Champion).where(Champion.id == champion_id).values(unreachable_at=None))


async def set_language(session: AsyncSession, champion_id: int, language: str) -> None:
    """Change a champion's language."""
    await session.execute(
        update(Champion).where(Champion.id == champion_id).values(language=language, updated_at=utcnow())
    )


async def set_timezone(session: AsyncSession, champion_id: int, timezone: str, now: datetime) -> None:
    """Change a champion's time zone (a zoneinfo name); their weekly snippet moves to the same local
    day and hour in it, as their quiet hours do by being kept in local hours."""
    await session.execute(
        update(Champion).where(Champion.id == champion_id).values(timezone=timezone, updated_at=now)
    )
    weekly = await learning.weekly(session, champion_id)
    if weekly is not None:
        weekly.next_due_at = learning.next_weekly(weekly.weekday, weekly.hour, timezone, now)


async def set_share_consent(session: AsyncSession, champion_id: int, share: bool) -> None:
    """Record the optional consent to use reports, without names, with partners."""
    now = utcnow()
    await session.execute(
        update(Champion)
        .where(Champion.id == champion_id)
        .values(share_consent=share, share_consent_at=now, updated_at=now)
    )


async def make_coordinator(
    session: AsyncSession, telegram_id: int, display_name: str | None, language: str
) -> Champion:
    """Give the coordinator role to this Telegram user, creating an active record if needed."""
    champion = await by_telegram_id(session, telegram_id)
    if champion is None:
        champion = Champion(telegram_id=telegram_id, language=language, status=Status.ACTIVE)
        session.add(champion)
        await session.flush()
        await identities.link(session, telegram_id, champion.id)
    champion.role = Role.COORDINATOR
    if display_name:
        champion.display_name = display_name
    await session.flush()
    return champion


async def remove_coordinator(session: AsyncSession, telegram_id: int) -> bool:
    """Take the coordinator role away, and end their dashboard sessions with it; False if there was
    no such coordinator."""
    result = await rows_changed(
        session,
        update(Champion)
        .where(Champion.telegram_id == telegram_id, Champion.role == Role.COORDINATOR)
        .values(role=Role.CHAMPION),
    )
    if result:
        demoted = select(Champion.id).where(Champion.telegram_id == telegram_id).scalar_subquery()
        await session.execute(delete(WebSession).where(WebSession.champion_id == demoted))
    return bool(result)


async def coordinators(session: AsyncSession) -> list[Champion]:
    """Active coordinators, reachable or not: a person-to-person message is always tried, since one
    who blocked the bot may have unblocked it."""
    return list(
        await session.scalars(
            select(Champion).where(Champion.role == Role.COORDINATOR, Champion.status == Status.ACTIVE)
        )
    )


async def pending(session: AsyncSession, limit: int = 10) -> list[Champion]:
    """Champions waiting for approval, oldest first."""
    return list(
        await session.scalars(
            select(Champion)
            .where(Champion.status == Status.PENDING)
            .order_by(Champion.created_at)
            .limit(limit)
        )
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def personal_data(session: AsyncSession, champion: Champion) -> dict[str, Any]:
    """Everything held about a champion, for `/mydata`."""
    state = await session.get(ConversationState, champion.telegram_id)
    invites = list(await session.scalars(select(Invite).where(Invite.created_by == champion.id)))
    progress = list(
        await session.scalars(select(SnippetProgress).where(SnippetProgress.champion_id == champion.id))
    )
    weekly = await session.get(WeeklySnippet, champion.id)
    deliveries = list(await session.scalars(select(Delivery).where(Delivery.champion_id == champion.id)))
    answers = list(
        await session.scalars(
            select(Response)
            .join(Delivery, Delivery.id == Response.delivery_id)
            .where(Delivery.champion_id == champion.id)
        )
    )
    sent = list(
        await session.scalars(select(Report).where(Report.champion_id == champion.id).order_by(Report.id))
    )
    replies = await reports.replies_to(session, [report.id for report in sent])
    areas = {area.id: area.name for area in await session.scalars(select(Area))}
    return {
        "telegram_id": champion.telegram_id,
        "identities": [
            {
                "channel": identity.channel,
                "address": identity.address,
                "phone": identity.phone,
                "last_message_at": _iso(identity.last_inbound_at),
            }
            for identity in await identities.of_champion(session, champion.id)
        ],
        "display_name": champion.display_name,
        "language": champion.language,
        "timezone": champion.timezone,
        "quiet_hours": (
            {"start": champion.quiet_start, "end": champion.quiet_end}
            if champion.quiet_start is not None
            else None
        ),
        "area": champion.area.name if champion.area else None,
        "networks": await network_names(session, champion.id),
        "role": champion.role.value,
        "status": champion.status.value,
        "unreachable_since": _iso(champion.unreachable_at),
        "consent": {
            "version": champion.consent_version,
            "given_at": _iso(champion.consent_at),
            "share_reports_with_partners": champion.share_consent,
            "share_decided_at": _iso(champion.share_consent_at),
        },
        "joined_with_invite": champion.invite_code,
        "created_at": _iso(champion.created_at),
        "updated_at": _iso(champion.updated_at),
        "conversation_in_progress": {"step": state.step, "answers": state.data} if state else None,
        "learning": [
            {
                "snippet": row.snippet_id,
                "read_at": _iso(row.read_at),
                "quiz_correct": row.quiz_correct,
                "answered_at": _iso(row.answered_at),
            }
            for row in progress
        ],
        "weekly_snippet": (
            {"weekday": weekly.weekday, "hour": weekly.hour, "next_due_at": _iso(weekly.next_due_at)}
            if weekly
            else None
        ),
        "messages_received": [
            {
                "broadcast": delivery.broadcast_id,
                "state": delivery.state,
                "sent_at": _iso(delivery.sent_at),
                "answers": [a.kind for a in answers if a.delivery_id == delivery.id],
            }
            for delivery in deliveries
        ],
        "reports": [
            {
                "reference": reports.reference(report.id),
                "topic": report.topic,
                "kind": report.kind,
                "text": report.text,
                "media": report.media_kind,
                "media_file_id": report.media_file_id,
                "people": report.people,
                "area": report.area.name if report.area else None,
                "anonymous": report.anonymous,
                "status": report.status,
                "created_at": _iso(report.created_at),
                "replies": [
                    {"text": answer.text, "created_at": _iso(answer.created_at)}
                    for answer in replies[report.id]
                ],
            }
            for report in sent
        ],
        "reminded_weekly_to_log": champion.log_nudge,
        "conversations_logged": [
            {
                "people": entry.people,
                "band": entry.band,
                "topic": entry.topic,
                "setting": entry.setting,
                "area": areas.get(entry.area_id) if entry.area_id is not None else None,
                "created_at": _iso(entry.created_at),
            }
            for entry in await activity_logs.of_champion(session, champion.id)
        ],
        "invites_created": [
            {"code": invite.code, "uses": invite.uses, "expires_at": _iso(invite.expires_at)}
            for invite in invites
        ],
    }


async def erase(session: AsyncSession, champion: Champion) -> list[str]:
    """Delete the champion and their conversation (progress, schedules, reports and the replies to
    them go with them, by cascade, and so do their channel identities); invites they made lose
    their name. Returns the file ids of their reports' media, for files kept of them to go too."""
    media = list(
        await session.scalars(
            select(Report.media_file_id).where(
                Report.champion_id == champion.id, Report.media_file_id.is_not(None)
            )
        )
    )
    await session.execute(update(Invite).where(Invite.created_by == champion.id).values(created_by=None))
    await session.execute(delete(ConversationState).where(ConversationState.chat_id == champion.telegram_id))
    await session.execute(delete(WhatsAppMenu).where(WhatsAppMenu.chat_id == champion.telegram_id))
    await session.execute(delete(Champion).where(Champion.id == champion.id))
    return [file_id for file_id in media if file_id]


async def set_quiet_hours(
    session: AsyncSession, champion_id: int, start: int | None, end: int | None
) -> None:
    """Set local quiet hours (start and end hour), or clear them with None."""
    await session.execute(
        update(Champion)
        .where(Champion.id == champion_id)
        .values(quiet_start=start, quiet_end=end, updated_at=utcnow())
    )
