"""Joining: invite or open sign-up → language → consent → name → area → networks → main menu.

Nothing is stored before consent except the chat's step and chosen language, which are needed to
ask again; declining deletes even that.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from telegram import Update

from bot.context import Context
from bot.i18n import LANGUAGES, N_, Translator, translator
from handlers.common import (
    answer,
    answer_and_clear,
    buttons,
    clear_step,
    help_text,
    isolate,
    language_buttons,
    main_menu,
    reply,
    save_step,
    stale_button,
)
from storage import champions, conversation, directory, invites, outbox
from storage.models import Status

NAME_MAX = 64


async def start(update: Update, context: Context) -> None:
    """Greet members; otherwise begin joining, checking the invite in the deep link."""
    assert update.effective_chat and update.effective_user
    _ = context.t.gettext
    champion = context.champion
    if champion is not None and champion.status in {Status.ACTIVE, Status.PAUSED}:
        await context.reply.say(
            _("Welcome back, {name}!").format(name=isolate(champion.display_name)), main_menu(context.t)
        )
        await reply(update, help_text(context))
        return
    if champion is not None and champion.status == Status.PENDING:
        await reply(update, _("Your request to join is waiting for a coordinator's approval."))
        return
    code = context.args[0] if context.args else None
    invite_code = None
    network_id = None
    if code:
        async with context.db.begin() as session:
            invite = await invites.valid_invite(session, code[:64])
        if invite is None:
            await reply(
                update, _("This invite link is not valid or has expired. Ask your coordinator for a new one.")
            )
        else:
            invite_code, network_id = invite.code, invite.network_id
    if invite_code is None and context.settings.signup_mode == "invite":
        await reply(update, _("Joining is by invitation only. Ask your coordinator for an invite link."))
        return
    language = context.t.language
    data = {"language": language, "invite": invite_code, "networks": [network_id] if network_id else []}
    await save_step(update, context, "join:language", data)
    await ask(update, context, "join:language", data)


async def ask(update: Update, context: Context, step: str, data: dict[str, Any]) -> None:
    """Ask the question for a joining step (again, after an unexpected answer)."""
    _ = context.t.gettext
    if step == "join:language":
        markup = language_buttons(data["language"], "join:lang:")
        await reply(update, _("Welcome! Please choose your language."), markup)
    elif step == "join:consent":
        await reply(update, privacy_notice(context))
        await reply(
            update,
            _("Do you agree to take part and to receive messages from us? You can stop at any time."),
            buttons([(_("Yes, I agree"), "join:consent:yes"), (_("No, thanks"), "join:consent:no")]),
        )
    elif step == "join:share":
        await reply(
            update,
            _(
                "One more choice, and it is up to you: may we use what you report, without your name, "
                "in reports to our partners (such as the NHS and the council)?"
            ),
            buttons([(_("Yes, that's fine"), "join:share:yes"), (_("No"), "join:share:no")]),
        )
    elif step == "join:name":
        await reply(update, _("What should we call you? Your first name or a nickname is fine."))
    elif step == "join:area":
        async with context.db() as session:
            areas = await directory.list_areas(session)
        choices = [(area.name, f"join:area:{area.id}") for area in areas] + [
            (_("Prefer not to say"), "join:area:0")
        ]
        await reply(update, _("Which area do you mostly work in?"), buttons(choices, columns=2))
    elif step == "join:networks":
        await reply(
            update,
            _("Which communities or networks do you connect with? Choose any, then press Done."),
            await _network_buttons(context, data["networks"]),
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
    data = await _expect(update, context, "join:language")
    if data is None:
        return
    language = _arg(update)
    if language not in LANGUAGES:
        return await stale_button(update, context)
    await answer_and_clear(update)
    data["language"] = language
    context.t = translator(language)
    await save_step(update, context, "join:consent", data)
    await ask(update, context, "join:consent", data)


async def answer_consent(update: Update, context: Context) -> None:
    """Continue on consent; on refusal forget this chat entirely."""
    assert update.effective_chat
    data = await _expect(update, context, "join:consent")
    if data is None:
        return
    await answer_and_clear(update)
    _ = context.t.gettext
    if _arg(update) != "yes":
        await clear_step(update, context)
        await reply(
            update,
            _("That's fine. We have not kept anything about you. Send /start if you change your mind."),
        )
        return
    await save_step(update, context, "join:share", data)
    await ask(update, context, "join:share", data)


async def answer_share(update: Update, context: Context) -> None:
    """Record both consents with version and time, then ask for a name."""
    assert update.effective_user and update.effective_chat
    data = await _expect(update, context, "join:share")
    if data is None:
        return
    await answer_and_clear(update)
    async with context.db.begin() as session:
        await champions.start_joining(
            session, update.effective_user.id, data["language"], _arg(update) == "yes", data.get("invite")
        )
        await conversation.set_state(
            session, update.effective_chat.id, "join:name", data, read=context.state_version
        )
    await ask(update, context, "join:name", data)


async def receive_name(update: Update, context: Context) -> None:
    """Take the display name typed in, refusing empty or over-long ones."""
    assert update.message and context.state
    _ = context.t.gettext
    name = clean_name(update.message.text or "")
    if not name:
        await reply(update, _("Please type a name (letters, not only spaces)."))
        return
    if len(name) > NAME_MAX:
        await reply(update, too_long_name(context.t, NAME_MAX))
        return
    data = dict(context.state.data, name=name)
    await save_step(update, context, "join:area", data)
    await ask(update, context, "join:area", data)


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
    data = await _expect(update, context, "join:area")
    if data is None:
        return
    area_id = int(_arg(update))
    async with context.db() as session:
        known = {area.id for area in await directory.list_areas(session)}
    if area_id and area_id not in known:
        return await stale_button(update, context)
    await answer_and_clear(update)
    data["area_id"] = area_id or None
    await save_step(update, context, "join:networks", data)
    await ask(update, context, "join:networks", data)


async def toggle_network(update: Update, context: Context) -> None:
    """Tick or untick a network on the same message."""
    query = update.callback_query
    data = await _expect(update, context, "join:networks")
    if data is None or query is None:
        return
    network_id = int(_arg(update))
    async with context.db() as session:
        known = {network.id for network in await directory.list_networks(session)}
    if network_id not in known:
        return await stale_button(update, context)
    chosen = set(data["networks"])
    chosen ^= {network_id}
    data["networks"] = sorted(chosen)
    await save_step(update, context, "join:networks", data)  # first: a tap run again answers once
    await answer(query)
    await query.edit_message_reply_markup(await _network_buttons(context, data["networks"]))


async def finish(update: Update, context: Context) -> None:
    """Store the answers; the champion is active, or waits for approval in approval mode."""
    assert update.effective_chat and update.effective_user
    data = await _expect(update, context, "join:networks")
    if data is None:
        return
    await answer_and_clear(update)
    _ = context.t.gettext
    mode = context.settings.signup_mode
    async with context.db.begin() as session:
        champion = await champions.by_telegram_id(session, update.effective_user.id)
        if champion is None:  # erased meanwhile (e.g. /deleteme in another step)
            await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
            await reply(update, _("You haven't joined yet. Send /start to join."))
            return
        # The link may have been used up by someone else since /start.
        invited = bool(data.get("invite")) and await invites.use_invite(session, data["invite"])
        if mode == "invite" and not invited:
            await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
            await reply(
                update, _("This invite link is not valid or has expired. Ask your coordinator for a new one.")
            )
            return
        approved = mode != "approval" or invited
        await champions.finish_joining(
            session,
            champion,
            display_name=data["name"],
            area_id=data.get("area_id"),
            network_ids=data["networks"],
            approved=approved,
        )
        await conversation.clear_state(session, update.effective_chat.id, read=context.state_version)
        if not approved:  # every coordinator is asked, even when another can't be reached
            coordinators = [coordinator.id for coordinator in await champions.coordinators(session)]
            await outbox.queue(session, outbox.APPROVAL_REQUEST, coordinators, {"champion": champion.id})
    context.champion = champion
    if approved:
        await context.reply.say(
            _("You're all set, {name}! Thank you for being a community champion.").format(
                name=isolate(data["name"])
            ),
            main_menu(context.t),
        )
        await reply(update, help_text(context))
        return
    await reply(
        update,
        _("Thank you, {name}. A coordinator will look at your request soon.").format(
            name=isolate(data["name"])
        ),
    )
    context.bot_data.wake.ring(outbox.PERSON)


async def text_during_join(update: Update, context: Context) -> bool:
    """Handle free text sent while joining; False if the chat is not joining."""
    state = context.state
    if state is None or not state.step.startswith("join:"):
        return False
    if state.step == "join:name":
        await receive_name(update, context)
        return True
    await reply(update, context.t.gettext("Please choose one of the buttons."))
    await ask(update, context, state.step, state.data)
    return True


async def _network_buttons(context: Context, chosen: list[int]) -> Any:
    _ = context.t.gettext
    async with context.db() as session:
        networks = await directory.list_networks(session)
    choices = [(("✓ " if n.id in chosen else "") + n.name, f"join:net:{n.id}") for n in networks]
    return buttons([*choices, (_("Done"), "join:done")], columns=2)


async def _expect(update: Update, context: Context, step: str) -> dict[str, Any] | None:
    """The chat's answers so far if it is on `step`; otherwise the button is stale (and answered)."""
    if context.state is None or context.state.step != step:
        await stale_button(update, context)
        return None
    return dict(context.state.data)


def _arg(update: Update) -> str:
    """The last part of the pressed button's data."""
    assert update.callback_query and update.callback_query.data
    return update.callback_query.data.rsplit(":", 1)[-1]
