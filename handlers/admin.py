"""Coordinator tools: invite links and approving people who ask to join. Role checked on every update."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context, Services
from bot.i18n import Translator, translator
from bot.replies import Choice, Outgoing
from handlers.common import isolate, require_coordinator
from storage import champions, directory, invites, outbox
from storage.models import Champion, Status


async def ask_invite(update: Update, context: Context) -> None:
    """Ask whether the invite is for one person or many, for an optional network."""
    if await require_coordinator(update, context) is None:
        return
    _ = context.t.gettext
    network_id, question = 0, _("Who is this invite link for?")
    if context.args:
        name = " ".join(context.args)
        async with context.db() as session:
            network = await directory.find_network(session, name)
            known = [n.name for n in await directory.list_networks(session)]
        if network is None:
            await context.reply.say(
                _("There is no network called {name}. Networks: {networks}").format(
                    name=isolate(name), networks=", ".join(known) or "–"
                )
            )
            return
        network_id = network.id
        question = _("An invite link for {network}: who is it for?").format(network=isolate(network.name))
    await context.reply.say(
        question,
        [
            Choice(_("One person"), f"invite:{network_id}:one"),
            Choice(_("Many people"), f"invite:{network_id}:many"),
        ],
    )


async def make_invite(update: Update, context: Context) -> None:
    """Create the invite and send its deep link."""
    query = update.callback_query
    assert query and query.data
    coordinator = await require_coordinator(update, context)
    if coordinator is None:
        return
    _ = context.t.gettext
    _prefix, network_id, kind = query.data.split(":")
    days = context.settings.invite_days
    async with context.db.begin() as session:
        networks = {n.id: n.name for n in await directory.list_networks(session)}
        network = networks.get(int(network_id))
        invite = None
        if network_id == "0" or network is not None:
            invite = await invites.create_invite(
                session,
                created_by=coordinator.id,
                network_id=int(network_id) or None,
                max_uses=1 if kind == "one" else None,
                days=days,
            )
    if invite is None:  # the network went meanwhile
        await context.reply.picked()
        await context.reply.say(_("This button is no longer active."))
        return
    await context.reply.picked(_("One person") if kind == "one" else _("Many people"))
    link = f"https://t.me/{context.bot.username}?start={invite.code}"
    until = context.t.datetime(invite.expires_at, coordinator.timezone)
    if network is not None and kind == "one":
        text = _("Here is an invite link for one person, for {network}. It works until {date}:\n{link}")
    elif network is not None:
        text = _(
            "Here is an invite link for any number of people, for {network}. It works until {date}:\n{link}"
        )
    elif kind == "one":
        text = _("Here is an invite link for one person. It works until {date}:\n{link}")
    else:
        text = _("Here is an invite link for any number of people. It works until {date}:\n{link}")
    text = text.format(date=until, link=link, network=isolate(network))
    if context.settings.whatsapp_number:  # the same code, typed to the bot's WhatsApp number
        joining = quote(f"JOIN {invite.code}")
        whatsapp = f"https://wa.me/{context.settings.whatsapp_number}?text={joining}"
        text += "\n\n" + _("On WhatsApp:\n{link}").format(link=whatsapp)
    await context.reply.say(text)


async def list_pending(update: Update, context: Context) -> None:
    """Show the people waiting for approval, each with Approve and Decline buttons."""
    if await require_coordinator(update, context) is None:
        return
    _ = context.t.gettext
    async with context.db() as session:
        waiting = await champions.pending(session)
    if not waiting:
        await context.reply.say(_("Nobody is waiting for approval."))
        return
    count = len(waiting)
    await context.reply.say(
        context.t.ngettext("{count} person is waiting:", "{count} people are waiting:", count).format(
            count=context.t.number(count)
        )
    )
    for champion in waiting:
        await context.reply.say(approval_request(context.t, champion))


def approval_request(t: Translator, champion: Champion) -> Outgoing:
    """Someone asking to join, with Approve and Decline, in a coordinator's language."""
    _ = t.gettext
    text = _("{name} asks to join (area: {area}).").format(
        name=isolate(champion.display_name), area=champion.area.name if champion.area else "–"
    )
    choices = [
        Choice(_("Approve"), f"approve:{champion.id}:yes"),
        Choice(_("Decline"), f"approve:{champion.id}:no"),
    ]
    return Outgoing(text, choices, columns=2)


async def request_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing | None:
    """Outbox renderer: ask a coordinator to approve someone; None once they were decided about."""
    champion = await session.get(Champion, int(item.payload["champion"]))
    if champion is None or champion.status != Status.PENDING:
        return None
    return approval_request(translator(item.language), champion)


async def result_message(session: AsyncSession, item: outbox.Claimed, services: Services) -> Outgoing:
    """Outbox renderer: tell someone the coordinators' decision, in their language."""
    _ = translator(item.language).gettext
    if item.champion.status == Status.DECLINED:
        return Outgoing(
            _("Sorry, a coordinator could not approve your request. We have deleted your details.")
        )
    return Outgoing(_("Good news: you have been approved! Send /help to see what you can do."))


async def decide(update: Update, context: Context) -> None:
    """Approve or decline one pending champion and tell them, in their language."""
    query = update.callback_query
    assert query and query.data
    if await require_coordinator(update, context) is None:
        return
    _ = context.t.gettext
    _prefix, champion_id, verdict = query.data.split(":")
    # Declined people are erased once they have been told (storage.outbox.record).
    decided = Status.ACTIVE if verdict == "yes" else Status.DECLINED
    async with context.db.begin() as session:
        champion = await session.get(Champion, int(champion_id))
        # The status changes only from pending, in the UPDATE itself: two coordinators can't both decide.
        if champion is not None and await champions.change_status(session, champion.id, decided):
            await outbox.queue(session, outbox.APPROVAL_RESULT, [champion.id])
        else:
            champion = None
    if champion is None:
        await context.reply.ack(_("Someone has already decided about this person."), alert=True)
        return
    context.bot_data.wake.ring(outbox.PERSON)
    name = isolate(champion.display_name)
    if verdict == "yes":
        await context.reply.replace(_("{name} can now take part.").format(name=name))
    else:
        await context.reply.replace(_("{name} was declined.").format(name=name))
