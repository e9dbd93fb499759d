"""A person's channel identities (a Telegram account, a WhatsApp user) and their chat keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import rows_changed
from storage.models import Identity

TELEGRAM = "telegram"
WHATSAPP = "whatsapp"
WHATSAPP_KEYS = 10**15  # WhatsApp chat keys are -(WHATSAPP_KEYS + id): far from any Telegram chat id


def whatsapp_chat_key(identity_id: int) -> int:
    """The chat key of a WhatsApp identity: negative, so it never meets a Telegram user id."""
    return -(WHATSAPP_KEYS + identity_id)


def is_whatsapp(chat_id: int) -> bool:
    """Whether a chat key is a WhatsApp identity's."""
    return chat_id <= -WHATSAPP_KEYS


async def of_chat(session: AsyncSession, chat_id: int) -> Identity | None:
    """The identity a chat key belongs to."""
    return await session.scalar(select(Identity).where(Identity.chat_id == chat_id))


async def whatsapp_wrote(session: AsyncSession, address: str, phone: str | None, now: datetime) -> Identity:
    """The WhatsApp identity a message came from (by BSUID, else by the phone number it was known
    by), made on their first message, with its window renewed (the 24 hours in which the bot may
    send them anything). A changed phone brings a new BSUID, so a new identity."""
    identity = await session.scalar(
        select(Identity).where(Identity.channel == WHATSAPP, Identity.address == address)
    )
    if identity is None and phone:  # known by their number before Meta gave their BSUID
        identity = await session.scalar(
            select(Identity).where(Identity.channel == WHATSAPP, Identity.phone == phone)
        )
        if identity is not None:
            identity.address = address
    if identity is None:
        identity = Identity(channel=WHATSAPP, address=address)
        session.add(identity)
        await session.flush()
        identity.chat_id = whatsapp_chat_key(identity.id)
    identity.phone = phone or identity.phone
    identity.last_inbound_at = now
    await session.flush()
    return identity


async def link(session: AsyncSession, chat_id: int, champion_id: int) -> None:
    """Tie the chat's identity to its champion; a Telegram account gets its identity here."""
    linked = update(Identity).where(Identity.chat_id == chat_id).values(champion_id=champion_id)
    if not await rows_changed(session, linked):
        session.add(
            Identity(chat_id=chat_id, channel=TELEGRAM, address=str(chat_id), champion_id=champion_id)
        )
        await session.flush()


async def of_champion(session: AsyncSession, champion_id: int) -> list[Identity]:
    """Every identity of a champion, oldest first."""
    return list(
        await session.scalars(
            select(Identity).where(Identity.champion_id == champion_id).order_by(Identity.id)
        )
    )
