"""Joining: invite or open sign-up → language → consent → name → area → networks → main menu.

Nothing is stored before consent except the chat's step and chosen language, which are needed to
ask again; declining deletes even that.
"""

from __future__ import annotations

import unicodedata

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.i18n import LANGUAGES, N_, Translator, translator
from bot.replies import Choice, ticked
from bot.steps import StepData
from handlers.common import (
    clear_step,
    isolate,
    language_choices,
    save_step,
    show_home,
    stale_button,
)
from storage import champions, conversation, directory, invites, outbox
from storage.models import Champion, Status

NAME_MAX = 64
LANGUAGE, CONSENT, SHARE, NAME, AREA, NETWORKS = (
    "join:language",
    "join:consent",
    "join:share",
    "join:name",
    "join:area",
    "join:networks",
)
# How Done went: joined, waiting for approval, or refused (erased meanwhile, the invite expired).
JOINED, PENDING, GONE, EXPIRED = "joined", "pending", "gone", "expired"


class Joining(StepData):
    """What someone joining has answered so far. `language` is read before the champion exists
    (handlers.gate.identify), so the questions come in the language they chose."""

    language: str = "en"
    invite: str | None = None  # the code of the link they followed, used up only on Done
    name: str = ""
    area_id: int | None = None  # None: none chosen, or "Prefer not to say"
    networks: list[int] = Field(default_factory=list)


async def start(update: Update, context: Context) -> None:
    """Greet members; otherwise begin joining, checking the invite in the deep link."""
    assert update.effective_chat and update.effective_user
    _ = context.t.gettext
    champion = context.champion
    if champion is not None and champion.status in {Status.ACTIVE, Status.PAUSED}:
        await show_home(context, _("Welcome back, {name}!").format(name=isolate(champion.display_name)))
        return
    if champion is not None and champion.status == Status.PENDING:
        await context.reply.say(_("Your request to join is waiting for a coordinator's approval."))
        return
    code = context.args[0] if context.args else None
    invite_code = None
    network_id = None
    if code:
        async with context.db.begin() as session:
            invite = await invites.valid_invite(session, code[:64])
        if invite is None:
            await context.reply.say(
                _("This invite link is not valid or has expired. Ask your coordinator for a new one.")
            )
        else:
            invite_code, network_id = invite.code, invite.network_id
    if invite_code is None and context.settings.signup_mode == "invite":
        await context.reply.say(_("Joining is by invitation only. Ask your coordinator for an invite link."))
        return
    data = Joining(
        language=context.t.language, invite=invite_code, networks=[network_id] if network_id else []
    )
    await save_step(update, context, LANGUAGE, data)
    await ask(context, LANGUAGE, data)


async def ask(context: Context, step: str, data: Joining) -> None:
    """Ask the question for a joining step (again, after an unexpected answer)."""
    _ = context.t.gettext
    say = context.reply.say
    if step == LANGUAGE:
        choices = language_choices(data.language, "join:lang:")
        network = await _invited_to(context, data)
        if network is None:
            text = _("Welcome! Please choose your language.")
        else:
            text = _("Welcome! Your invite is for {network}. Please choose your language.").format(
                network=isolate(network)
            )
        await say(text, choices, columns=2)
    elif step == CONSENT:
        await say(privacy_notice(context))
        await say(
            _("Do you agree to take part and to receive messages from us? You can stop at any time."),
            [Choice(_("Yes, I agree"), "join:consent:yes"), Choice(_("No, thanks"), "join:consent:no")],
        )
    elif step == SHARE:
        await say(
            _(
                "One more choice, and it is up to you: may we use what you report, without your name, "
                "in reports to our partners (such as the NHS and the council)?"
            ),
            [Choice(_("Yes, that's fine"), "join:share:yes"), Choice(_("No"), "join:share:no")],
        )
    elif step == NAME:
        await say(_("What should we call you? Your first name or a nickname is fine."))
    elif step == AREA:
        await say(_("Which area do you mostly work in?"), await _area_choices(context), columns=2)
    elif step == NETWORKS:
        await say(
            _("Which communities or networks do you connect with? Choose any, then press Done."),
            await _network_choices(context, data.networks),
            columns=2,
        )


PRIVACY_NOTICE = N_(
    "Privacy notice\n\n"
    "We keep: the name you give us, your language, the area and networks you choose, and what you "
    "send to this bot. We never ask for your address.\n"
    "Why: to send you health messages and to pass on what you hear to the people who can act on it.\n"
    "Who sees it: the coordinators of this programme.\n"
    "Your rights: /mydata gives you a copy, /stop stops messages, /deleteme deletes everything."
)


def privacy_notice(context: Context) -> str:
    """The plain-language privacy notice, in the person's language."""
    return context.t.gettext(PRIVACY_NOTICE)


async def choose_language(update: Update, context: Context) -> None:
    """Store the chosen language and show the privacy notice in it."""
    data = await _expect(update, context, LANGUAGE)
    if data is None:
        return
    language = _arg(update)
    if language not in LANGUAGES:
        return await stale_button(update, context)
    data.language = language
    await save_step(update, context, CONSENT, data)  # first: a press run again is answered once
    await context.reply.picked(LANGUAGES[language])
    context.t = translator(language)
    await ask(context, CONSENT, data)


async def answer_consent(update: Update, context: Context) -> None:
    """Continue on consent; on refusal forget this chat entirely."""
    data = await _expect(update, context, CONSENT)
    if data is None:
        return
    _ = context.t.gettext
    if _arg(update) != "yes":
        await clear_step(update, context)
        await context.reply.picked(_("No, thanks"))
        await context.reply.say(
            _("That's fine. We have not kept anything about you. Send /start if you change your mind.")
        )
        return
    await save_step(update, context, SHARE, data)
    await context.reply.picked(_("Yes, I agree"))
    await ask(context, SHARE, data)


async def answer_share(update: Update, context: Context) -> None:
    """Record both consents with version and time, then ask for a name."""
    assert update.effective_user and update.effective_chat
    data = await _expect(update, context, SHARE)
    if data is None:
        return
    share = _arg(update) == "yes"
    async with context.db.begin() as session:
        await champions.start_joining(session, update.effective_user.id, data.language, share, data.invite)
        context.state_version = await conversation.set_state(
            session, update.effective_chat.id, NAME, data.stored(), read=context.state_version
        )
    _ = context.t.gettext
    await context.reply.picked(_("Yes, that's fine") if share else _("No"))
    await ask(context, NAME, data)


async def on_text(update: Update, context: Context) -> None:
    """Take text typed on a joining step: the name on its step, elsewhere a reminder of the buttons
    and the question again."""
    data, state = context.step_as(Joining), context.state
    assert data is not None and state is not None, "called only for a chat on a joining step"
    if state.step == NAME:
        await receive_name(update, context, data)
        return
    await context.reply.say(context.t.gettext("Please choose one of the buttons."))
    await ask(context, state.step, data)


async def receive_name(update: Update, context: Context, data: Joining) -> None:
    """Take the display name typed in, refusing empty or over-long ones."""
    assert update.message
    _ = context.t.gettext
    name = clean_name(update.message.text or "")
    if not name:
        await context.reply.say(_("Please type a name (letters, not only spaces)."))
        return
    if len(name) > NAME_MAX:
        await context.reply.say(too_long_name(context.t, NAME_MAX))
        return
    data.name = name
    await save_step(update, context, AREA, data)
    await ask(context, AREA, data)


def too_long_name(t: Translator, limit: int) -> str:
    """Refuse a name over `limit` characters, with the limit in the plural form it needs."""
    return t.ngettext(
        "That name is too long. Please use at most {count} character.",
        "That name is too long. Please use at most {count} characters.",
        limit,
    ).format(count=t.number(limit))


def clean_name(text: str) -> str:
    """Strip spaces and control characters; emoji and right-to-left text stay. Empty if nothing visible."""
    kept = " ".join("".join(ch for ch in text if unicodedata.category(ch) not in {"Cc", "Cs"}).split())
    visible = any(unicodedata.category(ch)[0] in "LNPS" for ch in kept)
    return kept if visible else ""


async def choose_area(update: Update, context: Context) -> None:
    """Store the area, then ask about networks."""
    data = await _expect(update, context, AREA)
    if data is None:
        return
    area_id = int(_arg(update))
    async with context.db() as session:
        names = {area.id: area.name for area in await directory.list_areas(session)}
    if area_id and area_id not in names:
        return await stale_button(update, context)
    data.area_id = area_id or None
    await save_step(update, context, NETWORKS, data)
    await context.reply.picked(names[area_id] if area_id else context.t.gettext("Prefer not to say"))
    await ask(context, NETWORKS, data)


async def toggle_network(update: Update, context: Context) -> None:
    """Tick or untick a network on the same message."""
    data = await _expect(update, context, NETWORKS)
    if data is None:
        return
    network_id = int(_arg(update))
    async with context.db() as session:
        known = {network.id for network in await directory.list_networks(session)}
    if network_id not in known:
        return await stale_button(update, context)
    data.networks = sorted(set(data.networks) ^ {network_id})
    await save_step(update, context, NETWORKS, data)  # first: a press run again is answered once
    await context.reply.rechoose(await _network_choices(context, data.networks), columns=2)


async def finish(update: Update, context: Context) -> None:
    """Store the answers; the champion is active, or waits for approval in approval mode."""
    assert update.effective_chat and update.effective_user
    data = await _expect(update, context, NETWORKS)
    if data is None:
        return
    _ = context.t.gettext
    async with context.db.begin() as session:
        networks = [n.name for n in await directory.list_networks(session) if n.id in data.networks]
        champion, outcome = await _record(session, context, update.effective_user.id, data)
        await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
    await context.reply.picked(", ".join(networks) or _("No networks"))
    name = isolate(data.name)
    if outcome == GONE:
        await context.reply.say(_("You haven't joined yet. Send /start to join."))
    elif outcome == EXPIRED:
        await context.reply.say(
            _("This invite link is not valid or has expired. Ask your coordinator for a new one.")
        )
    elif outcome == PENDING:
        await context.reply.say(
            _("Thank you, {name}. A coordinator will look at your request soon.").format(name=name)
        )
        context.bot_data.wake.ring(outbox.PERSON)
    else:
        context.champion = champion
        await show_home(
            context, _("You're all set, {name}! Thank you for being a community champion.").format(name=name)
        )


async def _record(
    session: AsyncSession, context: Context, user_id: int, data: Joining
) -> tuple[Champion | None, str]:
    """Make the person a member, or ask the coordinators about them in approval mode: JOINED or
    PENDING; or why not: GONE (erased meanwhile, e.g. by /deleteme) or EXPIRED (their invite)."""
    champion = await champions.by_telegram_id(session, user_id)
    if champion is None:
        return None, GONE
    # The link may have been used up by someone else since /start.
    invited = data.invite is not None and await invites.use_invite(session, data.invite)
    mode = context.settings.signup_mode
    if mode == "invite" and not invited:
        return champion, EXPIRED
    approved = mode != "approval" or invited
    await champions.finish_joining(
        session,
        champion,
        display_name=data.name,
        area_id=data.area_id,
        network_ids=data.networks,
        approved=approved,
    )
    if approved:
        return champion, JOINED
    # Every coordinator is asked, even when another can't be reached.
    coordinators = [coordinator.id for coordinator in await champions.coordinators(session)]
    await outbox.queue(session, outbox.APPROVAL_REQUEST, coordinators, {"champion": champion.id})
    return champion, PENDING


async def _invited_to(context: Context, data: Joining) -> str | None:
    """The name of the network the invite being followed is for, if it is for one (before any
    network is chosen, the invite's is the only one in the answers)."""
    if data.invite is None or not data.networks:
        return None
    async with context.db() as session:
        names = {n.id: n.name for n in await directory.list_networks(session)}
    return names.get(data.networks[0])


async def _area_choices(context: Context) -> list[Choice]:
    """The areas by name, then a way not to say."""
    async with context.db() as session:
        areas = await directory.list_areas(session)
    choices = [Choice(area.name, f"join:area:{area.id}") for area in areas]
    return [*choices, Choice(context.t.gettext("Prefer not to say"), "join:area:0")]


async def _network_choices(context: Context, chosen: list[int]) -> list[Choice]:
    """The networks, those chosen ticked, then Done."""
    async with context.db() as session:
        networks = await directory.list_networks(session)
    choices = [Choice(ticked(n.id in chosen, n.name), f"join:net:{n.id}") for n in networks]
    return [*choices, Choice(context.t.gettext("Done"), "join:done")]


async def _expect(update: Update, context: Context, step: str) -> Joining | None:
    """The chat's answers so far if it is on `step`; otherwise the button is stale (and answered)."""
    data = context.step_as(Joining)
    if data is None or context.state is None or context.state.step != step:
        await stale_button(update, context)
        return None
    return data


def _arg(update: Update) -> str:
    """The last part of the pressed button's data."""
    assert update.callback_query and update.callback_query.data
    return update.callback_query.data.rsplit(":", 1)[-1]
