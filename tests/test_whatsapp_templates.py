"""The WhatsApp template catalogue, the template message the bot sends and the 24-hour window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.i18n import LANGUAGES
from bot.settings import SettingsError
from bot.whatsapp_templates import (
    BODY_MAX,
    TEMPLATES_FILE,
    WINDOW,
    Catalogue,
    Template,
    TemplatesError,
    in_window,
    language_code,
    load,
    rendered_body,
    safe_parameter,
    template_key,
    template_payload,
    validate_at_start,
    window_closes_at,
)
from storage.outbox import KINDS

GOOD = """\
broadcast:
  en:
    name: champbot_broadcast
    category: marketing
    variables: [text]
    body: "A message for you:\\n\\n{{1}}\\n\\nReply here."
  pl:
    name: champbot_broadcast
    category: marketing
    variables: [text]
    body: "Wiadomość dla Ciebie:\\n\\n{{1}}\\n\\nOdpowiedz tutaj."
reply:
  en:
    name: champbot_report_reply
    category: utility
    variables: [reference, said, response]
    body: "About {{1}}: you said “{{2}}”, we did: {{3}}. Thank you."
"""


def catalogue(text: str) -> Catalogue:
    return Catalogue.model_validate(yaml.safe_load(text))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "templates.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def english(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "champbot_broadcast",
        "category": "marketing",
        "variables": ["text"],
        "body": "A message for you: {{1}}. Reply here.",
    }
    return {**entry, **changes}


def problems_with(**changes: object) -> list[str]:
    return Catalogue.model_validate({"broadcast": {"en": english(**changes)}}).check(["broadcast"])


# ----------------------------------------------------------------------------- the shipped catalogue


def test_the_shipped_catalogue_has_an_english_template_for_every_outbox_kind() -> None:
    shipped = load()
    assert shipped.check(KINDS) == []
    validate_at_start(shipped)  # does not raise
    for kind in KINDS:
        template = shipped.template_for(kind, "en")
        assert template.language == "en" and template.whatsapp_code == "en_GB"
    assert TEMPLATES_FILE.parent.name in {"content", "champbot_content"}


def test_campaigns_and_broadcasts_are_marketing_and_answers_are_utility() -> None:
    shipped = load()
    for kind in ("broadcast", "campaign", "weekly"):
        assert shipped.template_for(kind, "en").category == "marketing"
    for kind in ("reply", "theme", "approval-request", "approval-result", "forwarded", "digest"):
        assert shipped.template_for(kind, "en").category == "utility"


def test_answer_back_variants_carry_the_three_answer_buttons() -> None:
    shipped = load()
    for kind in ("broadcast", "campaign"):
        plain = shipped.template_for(template_key(kind), "ar")
        asking = shipped.template_for(template_key(kind, answer_back=True), "ar")
        assert plain.buttons == [] and asking.buttons == ["Shared it", "A question", "Concern heard"]
        assert plain.name != asking.name


def test_every_shipped_template_fills_and_stays_within_the_body_limit() -> None:
    shipped = load()
    for key, templates in shipped.root.items():
        for template in templates.values():
            values = {name: "x" * 2000 for name in template.variables}
            body = rendered_body(template, values)
            assert len(body) <= BODY_MAX, key
            assert "{{" not in body


# ----------------------------------------------------------------------------- problems found


def test_a_bad_name_is_a_problem() -> None:
    assert problems_with(name="Champbot-Broadcast") == [
        "broadcast: en: name 'Champbot-Broadcast': use 1 to 512 lowercase letters, digits and underscores"
    ]
    assert problems_with(name="a" * 513) != []
    assert problems_with(name="a" * 512) == []


def test_placeholders_that_do_not_match_the_variables_are_a_problem() -> None:
    two = problems_with(variables=["name", "text"])
    assert len(two) == 1 and "placeholders {{1}} but 2 variable(s)" in two[0]
    out_of_order = problems_with(variables=["name", "text"], body="Hi {{2}}, from {{1}}. Bye.")
    assert "once each, in order" in out_of_order[0]
    named = problems_with(body="A message for you: {{text}}. Reply here.")
    assert named == ["broadcast: en: placeholder {{text}} in body: use {{1}}, {{2}}, ..."]
    none = problems_with(variables=[], body="Hello {{1}} there.")
    assert none == ["broadcast: en: body has placeholders {{1}} but no variables"]


def test_a_placeholder_at_an_end_or_two_side_by_side_is_a_problem() -> None:
    assert "starts or ends" in problems_with(body="{{1}} is for you.")[0]
    assert "starts or ends" in problems_with(body="For you:\n{{1}}\n")[0]
    side = problems_with(variables=["a", "b"], body="Hi {{1}}\n\n{{2}} bye.")
    assert side == ["broadcast: en: body has two placeholders side by side (Meta rejects that)"]


def test_a_missing_english_template_is_a_problem() -> None:
    only_polish = Catalogue.model_validate({"broadcast": {"pl": english()}})
    found = only_polish.check(["broadcast", "reply"])
    assert found == [
        "broadcast: no English template (every kind needs one; other languages fall back to it)",
        "reply: no English template (every kind needs one; other languages fall back to it)",
    ]
    with pytest.raises(TemplatesError, match="reply: no WhatsApp template"):
        only_polish.template_for("reply", "pl")
    with pytest.raises(TemplatesError, match="broadcast: no WhatsApp template"):
        only_polish.template_for("broadcast", "en")


def test_an_unknown_category_language_code_or_kind_is_a_problem() -> None:
    assert problems_with(category="promotional") == [
        "broadcast: en: category 'promotional' is not one of marketing, utility, authentication"
    ]
    assert problems_with(code="en_AU") == ["broadcast: en: code 'en_AU' is not one of en_GB, en, en_US"]
    assert problems_with(code="en_US") == []
    klingon = Catalogue.model_validate({"broadcast": {"en": english(), "tlh": english()}})
    assert klingon.check(["broadcast"]) == [
        f"broadcast: tlh: language 'tlh' is not one of the bot's: {', '.join(LANGUAGES)}"
    ]
    stray = Catalogue.model_validate({"broadcast": {"en": english()}, "newsletter": {"en": english()}})
    assert stray.check(["broadcast"])[0].startswith("newsletter: not a kind the bot sends")
    variant = Catalogue.model_validate({"broadcast": {"en": english()}, "broadcast+loud": {"en": english()}})
    assert variant.check(["broadcast"])[0].startswith("broadcast+loud: not a kind the bot sends")


def test_a_somali_template_is_a_problem_but_somali_falling_back_is_a_note() -> None:
    somali = Catalogue.model_validate({"broadcast": {"en": english(), "so": english()}})
    (problem,) = somali.check(["broadcast"])
    assert problem.startswith("broadcast: so: WhatsApp has no Somali template language")
    assert somali.template_for("broadcast", "so").language == "en"
    fine = catalogue(GOOD)
    assert fine.check(["broadcast", "reply"]) == []
    notes = fine.notes(["broadcast", "reply"])
    assert notes[-1].startswith("so: WhatsApp has no Somali template language")
    assert "pl: these kinds use the English template: reply" in notes
    assert language_code("so") is None


def test_a_translation_needing_other_values_or_buttons_is_a_problem() -> None:
    other = english(variables=["message"], body="Wiadomość: {{1}}. Odpowiedz.")
    found = Catalogue.model_validate({"broadcast": {"en": english(), "pl": other}}).check(["broadcast"])
    assert found == ["broadcast: pl: variables ['message'] differ from English's ['text']"]
    buttons = english(buttons=["Tak"])
    found = Catalogue.model_validate({"broadcast": {"en": english(), "pl": buttons}}).check(["broadcast"])
    assert found == ["broadcast: pl: 1 buttons, English has 0"]


def test_one_name_for_two_different_templates_is_a_problem() -> None:
    reused = Catalogue.model_validate(
        {"broadcast": {"en": english()}, "campaign": {"en": english(body="Other words: {{1}}. Bye.")}}
    )
    assert reused.check(["broadcast", "campaign"]) == [
        "campaign: en: name 'champbot_broadcast' is also broadcast's, with another definition"
    ]
    shared = Catalogue.model_validate({"broadcast": {"en": english()}, "campaign": {"en": english()}})
    assert shared.check(["broadcast", "campaign"]) == []


def test_long_bodies_and_buttons_are_problems() -> None:
    assert problems_with(body="Hi {{1}} " + "x" * 1024 + ".")[0].endswith("at most 1024")
    assert problems_with(buttons=["A label that is far too long"]) == [
        "broadcast: en: button 'A label that is far too long': 1 to 25 characters"
    ]
    assert "at most 10" in problems_with(buttons=[str(n) for n in range(11)])[0]


def test_load_names_the_file_and_the_entry_when_the_shape_is_wrong(tmp_path: Path) -> None:
    match = r"templates\.yaml: broadcast\.en\.category: Field required; broadcast\.en\.colour: Extra inputs"
    with pytest.raises(TemplatesError, match=match):
        load(write(tmp_path, GOOD.replace("    category: marketing\n", "    colour: red\n", 1)))
    with pytest.raises(TemplatesError, match="cannot be read"):
        load(tmp_path / "missing.yaml")
    with pytest.raises(TemplatesError, match="'language' is given by the key"):
        load(
            write(
                tmp_path, GOOD.replace("    category: utility\n", "    language: en\n    category: utility\n")
            )
        )
    assert issubclass(TemplatesError, SettingsError)


def test_validate_at_start_lists_every_problem() -> None:
    broken = Catalogue.model_validate({"broadcast": {"en": english(name="Bad Name", category="spam")}})
    with pytest.raises(TemplatesError) as raised:
        validate_at_start(broken, ["broadcast", "reply"])
    message = str(raised.value)
    assert "3 problem(s)" in message
    assert "name 'Bad Name'" in message and "category 'spam'" in message and "reply: no English" in message


# ----------------------------------------------------------------------------- fallback


def test_a_language_without_its_own_template_gets_englishs() -> None:
    both = catalogue(GOOD)
    assert both.template_for("broadcast", "pl").body.startswith("Wiadomość")
    assert both.template_for("broadcast", "pl").whatsapp_code == "pl"
    for language in ("ar", "bn", "pt", "ro", "so", "ur", "xx"):
        template = both.template_for("broadcast", language)
        assert template.language == "en" and template.body.startswith("A message for you")
    assert both.template_for("reply", "pl").language == "en"


def test_language_codes_are_whatsapps() -> None:
    assert {language: language_code(language) for language in LANGUAGES} == {
        "en": "en_GB",
        "ar": "ar",
        "bn": "bn",
        "pl": "pl",
        "pt": "pt_PT",
        "ro": "ro",
        "so": None,
        "ur": "ur",
    }


# ----------------------------------------------------------------------------- the payload


def reply_template() -> Template:
    return catalogue(GOOD).template_for("reply", "en")


def test_the_payload_is_a_graph_api_template_message() -> None:
    values = {"response": "We spoke to the GP", "reference": "R-12", "said": "Hard to book", "extra": "x"}
    assert template_payload("447700900123", reply_template(), values) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900123",
        "type": "template",
        "template": {
            "name": "champbot_report_reply",
            "language": {"policy": "deterministic", "code": "en_GB"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "R-12"},
                        {"type": "text", "text": "Hard to book"},
                        {"type": "text", "text": "We spoke to the GP"},
                    ],
                }
            ],
        },
    }


def test_buttons_get_their_payloads_in_order() -> None:
    template = load().template_for(template_key("campaign", answer_back=True), "en")
    payloads = [f"answer:42:{kind}" for kind in ("shared", "question", "concern")]
    components = template_payload("4477", template, {"text": "Get your jab"}, payloads)["template"][
        "components"
    ]
    assert components[1:] == [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [{"type": "payload", "payload": payload}],
        }
        for index, payload in enumerate(payloads)
    ]
    with pytest.raises(ValueError, match="3 buttons, 0 payloads"):
        template_payload("4477", template, {"text": "Get your jab"})


def test_a_template_without_variables_has_no_body_component() -> None:
    bare = Template(language="en", name="hello", category="utility", variables=[], body="Hello there.")
    assert "components" not in template_payload("4477", bare, {})["template"]


def test_a_missing_value_or_a_language_without_a_code_is_refused() -> None:
    with pytest.raises(ValueError, match="no value for said, response"):
        template_payload("4477", reply_template(), {"reference": "R-1"})
    somali = Template(language="so", name="x", category="utility", variables=[], body="Hi.")
    with pytest.raises(ValueError, match="no template language for so"):
        template_payload("4477", somali, {})


def parameters(payload: dict[str, object]) -> list[str]:
    template = payload["template"]
    assert isinstance(template, dict)
    return [parameter["text"] for parameter in template["components"][0]["parameters"]]


def test_values_are_made_safe_for_a_template_parameter() -> None:
    said = "Line one\nline two\r\n\tindented     and spaced\u2028end  "
    texts = parameters(
        template_payload("4477", reply_template(), {"reference": "", "said": said, "response": " \n"})
    )
    assert texts == ["–", "Line one line two indented and spaced end", "–"]
    for text in texts:
        assert not re.search(r"[\n\t\r]| {5,}", text)
    assert safe_parameter("a\t\tb") == "a b"


def test_long_values_are_shortened_so_the_body_stays_within_1024() -> None:
    template = reply_template()
    values = {"reference": "R-7", "said": "s" * 900, "response": "r" * 900}
    texts = parameters(template_payload("4477", template, values))
    body = rendered_body(template, values)
    assert len(body) == BODY_MAX
    assert texts[0] == "R-7"  # short values are kept whole
    assert texts[1].endswith("…") and texts[2].endswith("…")
    assert abs(len(texts[1]) - len(texts[2])) <= 1  # the long ones share the room
    short = {"reference": "R-7", "said": "s" * 100, "response": "r" * 2000}
    texts = parameters(template_payload("4477", template, short))
    assert texts[1] == "s" * 100 and len(rendered_body(template, short)) == BODY_MAX


def test_an_emoji_counts_as_two_so_the_body_never_runs_over() -> None:
    template = reply_template()
    values = {"reference": "R-7", "said": "😀" * 1000, "response": "ok"}
    body = rendered_body(template, values)
    assert len(body.encode("utf-16-le")) // 2 <= BODY_MAX
    assert body.count("😀") > 400


# ----------------------------------------------------------------------------- the window


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_window_is_open_for_24_hours_after_the_last_message() -> None:
    assert timedelta(hours=24) == WINDOW
    assert in_window(NOW - timedelta(hours=23, minutes=59, seconds=59), NOW)
    assert in_window(NOW, NOW)
    assert not in_window(NOW - timedelta(hours=24), NOW)  # exactly 24 hours: closed
    assert not in_window(NOW - timedelta(hours=24, microseconds=1), NOW)
    assert not in_window(None, NOW)  # never wrote
    assert window_closes_at(NOW) == NOW + WINDOW and window_closes_at(None) is None


def test_the_window_needs_timezone_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_window(datetime(2026, 3, 1, 11, 0), NOW)


# ----------------------------------------------------------------------------- the command


def test_the_check_command_passes_the_shipped_catalogue() -> None:
    result = CliRunner().invoke(main, ["whatsapp", "templates", "check"])
    assert result.exit_code == 0, result.output
    shipped = load()
    lines = result.output.splitlines()
    assert lines[0] == f"{shipped.count} templates for {len(KINDS)} kinds in 1 language: OK"
    assert lines[-1].startswith("  so: WhatsApp has no Somali template language")


def test_the_check_command_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    broken = GOOD.replace("champbot_broadcast", "Champbot Broadcast", 1).replace("utility", "transactional")
    result = CliRunner().invoke(
        main, ["whatsapp", "templates", "check", "--file", str(write(tmp_path, broken))]
    )
    assert result.exit_code == 1
    assert "broadcast: en: name 'Champbot Broadcast'" in result.output
    assert "reply: en: category 'transactional'" in result.output
    assert "campaign: no English template" in result.output
    assert "problem(s) in the WhatsApp templates" in result.output


def test_the_check_command_counts_a_good_file(tmp_path: Path) -> None:
    complete = GOOD + "".join(
        f"{kind}:\n  en:\n    name: champbot_{kind.replace('-', '_')}\n    category: utility\n"
        f"    variables: []\n    body: Something happened.\n"
        for kind in KINDS
        if kind not in ("broadcast", "reply")
    )
    result = CliRunner().invoke(
        main, ["whatsapp", "templates", "check", "--file", str(write(tmp_path, complete))]
    )
    assert result.exit_code == 0, result.output
    assert (
        result.output.splitlines()[0]
        == f"{len(KINDS) + 1} templates for {len(KINDS)} kinds in 2 languages: OK"
    )


def test_the_check_command_names_an_unreadable_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["whatsapp", "templates", "check", "--file", str(tmp_path / "none.yaml")]
    )
    assert result.exit_code == 1 and "cannot be read" in result.output
