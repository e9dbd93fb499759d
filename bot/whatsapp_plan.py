"""How a broadcast would reach its WhatsApp champions if sent now: as a session message to those
who wrote within the last 24 hours, as the approved template to the rest, against WhatsApp's daily
tier. The chat's composer and the dashboard's both show it before sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import catalogue
from bot.i18n import Translator
from bot.whatsapp_templates import WINDOW, rendered_body, template_key
from storage import audience as audiences
from storage import outbox
from storage.audience import Audience


@dataclass(frozen=True)
class WhatsAppPlan:
    """How a broadcast sent now would reach its WhatsApp champions, against the daily tier."""

    session: int  # as a session message: they wrote within the last 24 hours
    template: int  # as the template
    new: int  # of those, people not sent a template in the last 24 hours (each counts in the tier)
    used: int  # people sent a template in the last 24 hours
    tier: int | None  # people WhatsApp lets the business message outside the window a day
    category: str
    body: str  # the template as English readers get it

    @property
    def room(self) -> int:
        """New template recipients the tier leaves room for today."""
        return self.new if self.tier is None else max(self.tier - self.used, 0)

    @property
    def days(self) -> int:
        """Days the templates take within the tier (1: all today)."""
        over = self.new - self.room
        return 1 if over <= 0 or not self.tier else 1 + -(-over // self.tier)


async def whatsapp_plan(
    session: AsyncSession,
    audience: Audience,
    english: str,
    *,
    answer_back: bool,
    tier: int | None,
    now: datetime,
) -> WhatsAppPlan | None:
    """The audience's WhatsApp side now (None: nobody in it is on WhatsApp); `english` is the
    message's English text, `tier` WhatsApp's daily tier (None: no limit set)."""
    reach = await audiences.channels(session, audience, now - WINDOW, now - WINDOW)
    used = await audiences.people_templated(session, now - WINDOW) if reach.template else 0
    if not reach.whatsapp:
        return None
    template = catalogue().template_for(template_key(outbox.BROADCAST, answer_back=answer_back), "en")
    body = rendered_body(template, {"text": english})
    return WhatsAppPlan(
        reach.session, reach.template, reach.template_new, used, tier, template.category, body
    )


async def hold_past_the_tier(
    session: AsyncSession, broadcast_id: int, tier: int | None, now: datetime
) -> None:
    """Hold a queued broadcast's WhatsApp templates past today's share of the daily tier for the
    following days, a day's share at a time (as its plan's `days` said); nothing without a tier."""
    if tier is None:
        return
    used = await audiences.people_templated(session, now - WINDOW)
    await audiences.spread_templates(
        session,
        broadcast_id,
        window_opened_after=now - WINDOW,
        day_began=now - WINDOW,
        room=tier - used,
        per_day=tier,
        now=now,
    )


def whatsapp_lines(t: Translator, plan: WhatsAppPlan) -> list[str]:
    """What the coordinator should know about the WhatsApp side before sending, line by line."""
    lines = [
        t.ngettext(
            "On WhatsApp, {count} person gets it as a message: they wrote to us in the last 24 hours.",
            "On WhatsApp, {count} people get it as a message: they wrote to us in the last 24 hours.",
            plan.session,
        ).format(count=t.number(plan.session))
    ]
    if plan.template:
        lines.append(
            t.ngettext(
                "{count} person gets it as the approved template, the only message WhatsApp allows "
                "outside those 24 hours.",
                "{count} people get it as the approved template, the only message WhatsApp allows "
                "outside those 24 hours.",
                plan.template,
            ).format(count=t.number(plan.template))
        )
        if plan.category == "marketing":
            lines.append(t.gettext("Its category is marketing: WhatsApp charges for each one delivered."))
        else:
            lines.append(t.gettext("Its category is {category}.").format(category=plan.category))
        lines += ["", t.gettext("The template reads:"), plan.body]
    if plan.days > 1 and plan.tier is not None:
        lines += [
            "",
            t.ngettext(
                "Warning: WhatsApp lets us message {count} person a day outside the 24 hours.",
                "Warning: WhatsApp lets us message {count} people a day outside the 24 hours.",
                plan.tier,
            ).format(count=t.number(plan.tier))
            + " "
            + t.ngettext(
                "{count} person has had a template in the last 24 hours, so today there is room "
                "for {room} of these {new}.",
                "{count} people have had a template in the last 24 hours, so today there is room "
                "for {room} of these {new}.",
                plan.used,
            ).format(count=t.number(plan.used), room=t.number(plan.room), new=t.number(plan.new)),
            t.ngettext(
                "Send it over {count} day to reach everyone: the templates go out a day's share at a time.",
                "Send it over {count} days to reach everyone: the templates go out a day's share at a time.",
                plan.days,
            ).format(count=t.number(plan.days)),
        ]
    return lines
