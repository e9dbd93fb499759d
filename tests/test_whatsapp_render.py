"""The reply API's messages as WhatsApp payloads: buttons, lists, pages, long text, media."""

from __future__ import annotations

import pytest

from bot.i18n import LANGUAGES, translator
from bot.replies import BODY_MAX, BUTTON_TITLE, ROW_TITLE, Choice, Media, Outgoing, whatsapp_pages
from bot.whatsapp_render import LIST_BUTTON, TEXT_MAX, render, split_text


def payloads(outgoing: Outgoing, media_id: str | None = None) -> list[dict[str, object]]:
    pages = whatsapp_pages(outgoing.choices, "More…") if outgoing.choices else []
    return render("447700900123", outgoing, pages, list_button="Choose", media_id=media_id)


def test_a_text_is_one_text_message() -> None:
    [sent] = payloads(Outgoing("Hello", preview=False))
    assert sent == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900123",
        "type": "text",
        "text": {"body": "Hello", "preview_url": False},
    }


def test_three_choices_are_reply_buttons() -> None:
    [sent] = payloads(Outgoing("Which?", [Choice("Yes", "a:y"), Choice("No", "a:n"), Choice("Later", "a:l")]))
    interactive = sent["interactive"]
    assert isinstance(interactive, dict)
    assert interactive["type"] == "button"
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "a:y", "title": "Yes"},
        {"id": "a:n", "title": "No"},
        {"id": "a:l", "title": "Later"},
    ]


def test_four_to_ten_choices_are_one_list_with_notes() -> None:
    choices = [Choice(f"Topic {n}", f"t:{n}", note="0/2" if n == 1 else "") for n in range(1, 8)]
    [sent] = payloads(Outgoing("Pick a topic", choices))
    interactive = sent["interactive"]
    assert isinstance(interactive, dict)
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Choose"
    rows = interactive["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": "t:1", "title": "Topic 1", "description": "0/2"}
    assert len(rows) == 7 and "description" not in rows[1]


def test_more_than_ten_choices_show_the_first_page_with_more() -> None:
    choices = [Choice(f"Area {n}", f"area:{n}") for n in range(25)]
    [sent] = payloads(Outgoing("Which area?", choices))
    interactive = sent["interactive"]
    assert isinstance(interactive, dict)
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert rows[-1] == {"id": "more:1", "title": "More…"}


def test_a_long_text_with_choices_goes_first_and_the_body_keeps_the_limit() -> None:
    text = ("A sentence of the privacy notice. " * 100).strip()  # about 3,400 characters
    sent = payloads(Outgoing(text, [Choice("I agree", "c:y"), Choice("No", "c:n")]))
    assert [p["type"] for p in sent][-1] == "interactive"
    assert all(p["type"] == "text" for p in sent[:-1]) and sent[:-1]
    body = sent[-1]["interactive"]["body"]["text"]  # type: ignore[index]
    assert len(body) <= BODY_MAX
    said = " ".join([p["text"]["body"] for p in sent[:-1]] + [body])  # type: ignore[index]
    assert said.split() == text.split()  # nothing lost, nothing repeated


def test_too_long_labels_are_cut_to_fit() -> None:
    [sent] = payloads(Outgoing("?", [Choice("A label far too long for a button", "x")]))
    title = sent["interactive"]["action"]["buttons"][0]["reply"]["title"]  # type: ignore[index]
    assert len(title) <= 20 and title.endswith("…")


def test_a_photo_carries_the_text_as_its_caption() -> None:
    [sent] = payloads(Outgoing("The chart", media=Media("photo", b"png", "chart.png")), media_id="m1")
    assert sent["type"] == "image" and sent["image"] == {"id": "m1", "caption": "The chart"}


def test_a_voice_note_has_no_caption_so_the_text_follows() -> None:
    sent = payloads(Outgoing("Listen", media=Media("voice", b"ogg")), media_id="m2")
    assert [p["type"] for p in sent] == ["audio", "text"]
    assert sent[0]["audio"] == {"id": "m2"}


def test_split_text_keeps_every_word_within_the_limit() -> None:
    text = "word " * 3000
    parts = split_text(text, TEXT_MAX)
    assert all(len(part) <= TEXT_MAX for part in parts) and len(parts) == 4
    assert " ".join(parts).split() == text.split()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_list_button_and_more_fit_whatsapp_in_every_language(language: str) -> None:
    tr = translator(language)
    assert len(tr.gettext("Choose")) <= LIST_BUTTON
    assert len(tr.gettext("More…")) <= ROW_TITLE


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_composers_send_over_days_fits_a_button_in_every_language(language: str) -> None:
    tr = translator(language)
    for days in range(1, 100):
        label = tr.ngettext("Send over {count} day", "Send over {count} days", days).format(
            count=tr.number(days)
        )
        assert len(label) <= BUTTON_TITLE, label
