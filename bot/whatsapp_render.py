"""The reply API's messages as WhatsApp Cloud API payloads.

Choices become up to 3 reply buttons or one list of up to 10 rows (`bot.replies.whatsapp_pages`);
a text too long for one message is split, its last part carrying the choices; media goes first as
its own message, with the text as its caption where it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.replies import BODY_MAX, BUTTON_TITLE, ROW_NOTE, ROW_TITLE, Choice, Outgoing, Page

TEXT_MAX = 4096  # characters of a text message's body
CAPTION_MAX = 1024  # characters of an image's or a document's caption
LIST_BUTTON = 20  # characters of the button that opens a list
MEDIA_TYPES = {"photo": "image", "voice": "audio", "document": "document"}


def fit(text: str, limit: int) -> str:
    """The text cut to `limit` characters, with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int) -> list[str]:
    """The text in parts of at most `limit` characters, cut at a paragraph, a line or a space
    where there is one in the second half of a part."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind(mark, limit // 2, limit) for mark in ("\n\n", "\n", " "))
        cut = cut if cut > 0 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text] if text or not parts else parts


def message(to: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A Cloud API message of this type to one person."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
        kind: body,
    }


def text_message(to: str, text: str, *, preview: bool = True) -> dict[str, Any]:
    return message(to, "text", {"body": text, "preview_url": preview})


def interactive(to: str, text: str, page: Page, list_button: str) -> dict[str, Any]:
    """One page of choices under a body text: reply buttons, or a list."""
    body = {"text": fit(text, BODY_MAX) or "…"}
    if not page.as_list:
        buttons = [
            {"type": "reply", "reply": {"id": choice.data, "title": fit(choice.label, BUTTON_TITLE)}}
            for choice in page.choices
        ]
        return message(to, "interactive", {"type": "button", "body": body, "action": {"buttons": buttons}})
    rows = [_row(choice) for choice in page.choices]
    action = {"button": fit(list_button, LIST_BUTTON), "sections": [{"rows": rows}]}
    return message(to, "interactive", {"type": "list", "body": body, "action": action})


def _row(choice: Choice) -> dict[str, str]:
    row = {"id": choice.data, "title": fit(choice.label, ROW_TITLE)}
    if choice.note:
        row["description"] = fit(choice.note, ROW_NOTE)
    return row


def render(
    to: str, outgoing: Outgoing, pages: Sequence[Page], *, list_button: str, media_id: str | None = None
) -> list[dict[str, Any]]:
    """The payloads that say `outgoing` to `to`, in order, showing the first of `pages` (none: no
    choices). `media_id` is its media as uploaded to WhatsApp."""
    payloads: list[dict[str, Any]] = []
    text = outgoing.text
    if outgoing.media is not None and media_id is not None:
        kind = MEDIA_TYPES[outgoing.media.kind]
        media: dict[str, Any] = {"id": media_id}
        if kind == "document" and outgoing.media.filename:
            media["filename"] = outgoing.media.filename
        if kind != "audio" and text and len(text) <= CAPTION_MAX and not pages:
            media["caption"], text = text, ""
        payloads.append(message(to, kind, media))
    if not pages:
        parts = split_text(text, TEXT_MAX) if text else []
        return payloads + [text_message(to, part, preview=outgoing.preview) for part in parts]
    *head, last = split_text(text, BODY_MAX) if len(text) > BODY_MAX else [text]
    for part in split_text("\n\n".join(head), TEXT_MAX) if head else []:
        payloads.append(text_message(to, part, preview=outgoing.preview))
    payloads.append(interactive(to, last, pages[0], list_button))
    return payloads
