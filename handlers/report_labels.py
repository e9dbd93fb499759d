"""How reports read in any language: the names of kinds, counts of people and statuses, and a
report's description. Shared by the champion's /report and /myreports and the coordinator's
/insights, so a report reads the same to both (less the name of an anonymous reporter)."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import N_, Translator
from handlers.common import isolate
from storage.report_topics import Topic

# Every report kind (storage.reports.ALL_KINDS): a champion's /report offers only reports.KINDS, and
# "concern" comes from a campaign message's "Concern heard" button.
KIND_LABELS = {
    "barrier": N_("A barrier"),
    "works": N_("What works"),
    "question": N_("A question or concern"),
    "misinfo": N_("Misinformation heard"),
    "idea": N_("An idea"),
    "success": N_("A success story"),
    "concern": N_("A concern heard"),
}
PEOPLE_LABELS = {
    "one": N_("One person"),
    "few": N_("A few people"),
    "many": N_("Many people"),
}
STATUS_LABELS = {
    "new": N_("new"),
    "seen": N_("seen"),
    "acted": N_("acted on"),
}
# Where a logged conversation (/log) took place, by storage.activity_logs.SETTINGS.
SETTING_LABELS = {
    "faith": N_("Faith group"),
    "school": N_("School gate"),
    "centre": N_("Community centre"),
    "online": N_("Online group"),
    "door": N_("Door to door"),
    "event": N_("Event"),
    "other": N_("Somewhere else"),
}

MEDIA_LABELS = {
    "voice": N_("[voice note]"),
    "photo": N_("[photo]"),
}


def excerpt(t: Translator, text: str | None, media_kind: str | None, limit: int) -> str:
    """The start of what a report says, on one line, cut to `limit` characters, after the name of
    its photo or voice note if it has one; isolated, since a champion typed it."""
    said = " ".join((text or "").split())
    if len(said) > limit:
        said = said[: limit - 1].rstrip() + "…"
    if media_kind:
        said = f"{t.gettext(MEDIA_LABELS[media_kind])} {said}".strip()
    return isolate(said)


def topic_label(topics: list[Topic], topic_id: str, language: str) -> str:
    """A topic's name in a language; the id itself if the topic was removed from the list since."""
    topic = next((topic for topic in topics if topic.id == topic_id), None)
    return topic.label(language) if topic else topic_id


def describe(
    t: Translator,
    topics: list[Topic],
    *,
    topic: str,
    kind: str,
    people: str,
    text: str | None,
    media_kind: str | None,
    area: str | None,
    name: str | None = None,
    created_at: datetime | None = None,
) -> str:
    """A report as lines of "Label: value", in the reader's language. `name` is given only when the
    champion chose to share it."""
    _ = t.gettext
    heard = text or ""
    if media_kind:
        heard = f"{_(MEDIA_LABELS[media_kind])} {heard}".strip()
    lines = [
        _("Topic: {topic}").format(topic=topic_label(topics, topic, t.language)),
        _("Kind: {kind}").format(kind=_(KIND_LABELS[kind])),
        _("What was heard: {text}").format(text=heard),
        _("How many people: {people}").format(people=_(PEOPLE_LABELS[people])),
        _("Area: {area}").format(area=area or _("not given")),
    ]
    if name is not None:
        lines.append(_("From: {name}").format(name=name))
    if created_at is not None:
        lines.append(_("Sent: {when}").format(when=t.datetime(created_at)))
    return "\n".join(lines)
