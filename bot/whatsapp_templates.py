"""WhatsApp message templates and the 24-hour window: pure decisions, no network.

WhatsApp lets a business send anything for 24 hours after the person's last message; outside that
window only a template Meta has approved, in a language it was approved in. The catalogue
(`content/whatsapp_templates.yaml`) names, for each kind of outbox row and each language, the
approved template: its name, category, ordered variables and body. A language without its own
template gets English's. `check` finds what Meta would reject or the bot could not fill;
`template_payload` builds the Graph API message, each value made safe for a template parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError, model_validator

from bot.i18n import LANGUAGES
from bot.settings import SettingsError
from storage.content import CONTENT_ROOT

TEMPLATES_FILE = CONTENT_ROOT / "whatsapp_templates.yaml"
SOURCE_LANGUAGE = "en"
WINDOW = timedelta(hours=24)  # after the person's last message, any message may be sent

CATEGORIES = ("marketing", "utility", "authentication")
NAME = re.compile(r"^[a-z0-9_]{1,512}$")  # Meta: lowercase letters, digits and underscores
VARIABLE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
ADJACENT = re.compile(r"\}\}\s*\{\{")
BODY_MAX = 1024  # characters of a template body, as submitted and as delivered with its values
BUTTONS_MAX = 10
BUTTON_TEXT_MAX = 25  # characters of a quick-reply button's label
ANSWER_BACK = "answer-back"
VARIANTS = frozenset({ANSWER_BACK})  # `<kind>+<variant>`: another template for one kind
EMPTY = "–"  # a parameter may not be empty
ELLIPSIS = "…"

# The WhatsApp template language codes for each of the bot's languages, the default first. Meta's
# list of template languages has no Somali: Somali champions get the English template.
CODES: dict[str, tuple[str, ...]] = {
    "en": ("en_GB", "en", "en_US"),
    "ar": ("ar",),
    "bn": ("bn", "bn_IN"),
    "pl": ("pl",),
    "pt": ("pt_PT", "pt_BR"),  # the bot's Portuguese is European
    "ro": ("ro",),
    "ur": ("ur",),
}
NO_TEMPLATE_LANGUAGE = {"so": "Somali"}


class TemplatesError(SettingsError):
    """The template catalogue cannot be read or has problems; the message names the file and each."""


def language_code(language: str) -> str | None:
    """WhatsApp's template language code for one of the bot's languages (en → en_GB), or None when
    WhatsApp has no template language for it (Somali) or the language is not one of the bot's."""
    codes = CODES.get(language)
    return codes[0] if codes else None


class Template(BaseModel):
    """One approved template in one language, as submitted to Meta."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str  # the bot's language code: the key it is filed under
    name: str
    category: str
    variables: list[str]
    body: str
    buttons: list[str] = []
    code: str | None = None  # the WhatsApp language code, when not the language's default

    @property
    def whatsapp_code(self) -> str | None:
        """The language code to send it with."""
        return self.code or language_code(self.language)

    def problems(self) -> list[str]:
        """What Meta would reject in this template, or what the bot could not fill, on its own."""
        found: list[str] = []
        if not NAME.match(self.name):
            found.append(f"name {self.name!r}: use 1 to 512 lowercase letters, digits and underscores")
        if self.category not in CATEGORIES:
            found.append(f"category {self.category!r} is not one of {', '.join(CATEGORIES)}")
        if self.language not in LANGUAGES:
            found.append(f"language {self.language!r} is not one of the bot's: {', '.join(LANGUAGES)}")
        elif self.language in NO_TEMPLATE_LANGUAGE:
            found.append(
                f"WhatsApp has no {NO_TEMPLATE_LANGUAGE[self.language]} template language, so this "
                "cannot be approved: remove it (these champions get the English template)"
            )
        elif self.code is not None and self.code not in CODES[self.language]:
            found.append(f"code {self.code!r} is not one of {', '.join(CODES[self.language])}")
        found += self._variable_problems()
        if len(self.body) > BODY_MAX:
            found.append(f"body is {len(self.body)} characters; at most {BODY_MAX}")
        if len(self.buttons) > BUTTONS_MAX:
            found.append(f"{len(self.buttons)} buttons; at most {BUTTONS_MAX}")
        for label in self.buttons:
            if not label.strip() or len(label) > BUTTON_TEXT_MAX:
                found.append(f"button {label!r}: 1 to {BUTTON_TEXT_MAX} characters")
        return found

    def _variable_problems(self) -> list[str]:
        found: list[str] = []
        for variable in self.variables:
            if not VARIABLE.match(variable):
                found.append(f"variable {variable!r}: use a lowercase name (letters, digits, underscores)")
        if len(set(self.variables)) != len(self.variables):
            found.append(f"variables {self.variables} name one twice")
        inside = PLACEHOLDER.findall(self.body)
        if any(not part.isdigit() for part in inside):
            bad = next(part for part in inside if not part.isdigit())
            found.append(f"placeholder {{{{{bad}}}}} in body: use {{{{1}}}}, {{{{2}}}}, ...")
            return found
        numbers = [int(part) for part in inside]
        wanted = list(range(1, len(self.variables) + 1))
        if numbers != wanted:
            shown = ", ".join(f"{{{{{n}}}}}" for n in numbers) or "none"
            found.append(
                f"body has placeholders {shown} but {len(self.variables)} variable(s) "
                f"{self.variables}: it needs {{{{1}}}} to {{{{{len(wanted)}}}}}, once each, in order"
                if wanted
                else f"body has placeholders {shown} but no variables"
            )
        text = self.body.strip()
        if text.startswith("{{") or text.endswith("}}"):
            found.append("body starts or ends with a placeholder (Meta rejects that)")
        if ADJACENT.search(self.body):
            found.append("body has two placeholders side by side (Meta rejects that)")
        return found


Entries = dict[str, dict[str, Template]]


class Catalogue(RootModel[Entries]):
    """Templates by kind (an outbox kind, or `<kind>+<variant>`) and the bot's language."""

    @model_validator(mode="before")
    @classmethod
    def _file_languages(cls, data: Any) -> Any:
        """Give each template the language it is filed under."""
        if not isinstance(data, dict):
            return data
        filed: dict[Any, Any] = {}
        for kind, languages in data.items():
            if not isinstance(languages, dict):
                filed[kind] = languages
                continue
            filed[kind] = {}
            for language, entry in languages.items():
                if isinstance(entry, dict):
                    if "language" in entry:
                        raise ValueError(f"{kind}: {language}: 'language' is given by the key it is under")
                    entry = {**entry, "language": language}
                filed[kind][language] = entry
        return filed

    @property
    def count(self) -> int:
        """How many templates (one per kind and language)."""
        return sum(len(languages) for languages in self.root.values())

    def languages(self) -> list[str]:
        """The languages that have at least one template of their own, in the bot's order."""
        present = {language for languages in self.root.values() for language in languages}
        return [language for language in LANGUAGES if language in present] + sorted(present - set(LANGUAGES))

    def template_for(self, kind: str, language: str) -> Template:
        """The template to send `kind` with to someone who reads `language`: theirs if it was
        approved and WhatsApp has the language, else English's. TemplatesError if the kind has none."""
        templates = self.root.get(kind, {})
        own = templates.get(language)
        if own is not None and own.whatsapp_code is not None:
            return own
        if SOURCE_LANGUAGE not in templates:
            raise TemplatesError(
                f"{kind}: no WhatsApp template, not even in English: add one to {TEMPLATES_FILE.name}"
            )
        return templates[SOURCE_LANGUAGE]

    def check(self, kinds: Iterable[str]) -> list[str]:
        """Every problem that would stop a kind being sent outside the window, one line each:
        a kind without an English template, an unknown kind, language, category or code, a bad name,
        placeholders that do not match the variables, a translation that needs other values than
        English's, and one name used for two different templates."""
        kinds = list(kinds)
        found: list[str] = []
        for kind in kinds:
            if SOURCE_LANGUAGE not in self.root.get(kind, {}):
                found.append(
                    f"{kind}: no English template (every kind needs one; other languages fall back to it)"
                )
        named: dict[tuple[str, str], tuple[str, Template]] = {}
        for key, templates in self.root.items():
            base, _plus, variant = key.partition("+")
            if base not in kinds or (variant and variant not in VARIANTS):
                known = ", ".join([*kinds, *(f"<kind>+{v}" for v in sorted(VARIANTS))])
                found.append(f"{key}: not a kind the bot sends (known: {known})")
            if key != base and SOURCE_LANGUAGE not in templates:
                found.append(f"{key}: no English template (other languages fall back to it)")
            english = templates.get(SOURCE_LANGUAGE)
            for language, template in templates.items():
                where = f"{key}: {language}"
                found += [f"{where}: {problem}" for problem in template.problems()]
                if english is not None and template is not english:
                    found += [f"{where}: {problem}" for problem in _translation_problems(template, english)]
                same = named.setdefault((template.name, template.whatsapp_code or language), (key, template))
                if same[1] != template:
                    found.append(
                        f"{where}: name {template.name!r} is also {same[0]}'s, with another definition"
                    )
        return found

    def notes(self, kinds: Iterable[str]) -> list[str]:
        """What is fine but worth knowing: which languages get English templates, and why."""
        kinds = list(kinds)
        lines: list[str] = []
        untranslated: list[str] = []
        for language in LANGUAGES:
            if language == SOURCE_LANGUAGE or language in NO_TEMPLATE_LANGUAGE:
                continue
            english = [kind for kind in kinds if language not in self.root.get(kind, {})]
            if len(english) == len(kinds):
                untranslated.append(language)
            elif english:
                lines.append(f"{language}: these kinds use the English template: {', '.join(english)}")
        if untranslated:
            languages = ", ".join(untranslated)
            lines.insert(0, f"{languages}: no approved translation yet; every kind uses the English template")
        for language, name in NO_TEMPLATE_LANGUAGE.items():
            lines.append(
                f"{language}: WhatsApp has no {name} template language, so these champions get the "
                "English templates (inside the window they get their own language)"
            )
        return lines

    def kinds(self) -> list[str]:
        """The kinds with templates, variants counted with their kind."""
        return sorted({key.partition("+")[0] for key in self.root})


def _translation_problems(template: Template, english: Template) -> list[str]:
    """What makes a translation unusable in English's place: it must take the same values."""
    found: list[str] = []
    if set(template.variables) != set(english.variables):
        found.append(f"variables {template.variables} differ from English's {english.variables}")
    if len(template.buttons) != len(english.buttons):
        found.append(f"{len(template.buttons)} buttons, English has {len(english.buttons)}")
    if template.category != english.category:
        found.append(f"category {template.category!r} differs from English's {english.category!r}")
    return found


def template_key(kind: str, *, answer_back: bool = False) -> str:
    """The catalogue key for a row: its kind, or its answer-back variant."""
    return f"{kind}+{ANSWER_BACK}" if answer_back else kind


def load(path: Path | None = None) -> Catalogue:
    """Read the catalogue (by default the one shipped in content/); TemplatesError if it cannot be
    read or is not of the catalogue's shape. `check` finds the rest."""
    path = path or TEMPLATES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplatesError(f"{path}: cannot be read: {exc}") from None
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()[:10]
        ]
        raise TemplatesError(f"{path}: " + "; ".join(lines)) from None


def validate_at_start(catalogue: Catalogue, kinds: Iterable[str] | None = None) -> None:
    """Refuse to start WhatsApp with a catalogue that could not send every kind outside the window:
    TemplatesError listing each problem."""
    if kinds is None:
        from storage.outbox import KINDS

        kinds = KINDS
    problems = catalogue.check(kinds)
    if problems:
        raise TemplatesError(
            f"{TEMPLATES_FILE.name}: {len(problems)} problem(s) with the WhatsApp templates: "
            + "; ".join(problems)
        )


# ----------------------------------------------------------------------------- sending


def _units(text: str) -> int:
    """Length as WhatsApp may count it: UTF-16 code units (an emoji counts two), never fewer than
    characters, so a body within this is within Meta's limit however it counts."""
    return len(text.encode("utf-16-le")) // 2


def safe_parameter(text: str) -> str:
    """A value as a template parameter may hold it: one line (newlines and tabs become spaces),
    no run of spaces, trimmed, never empty."""
    one_line = " ".join(text.split())  # every kind of whitespace, newlines and tabs included
    return one_line or EMPTY


def _shorten(text: str, units: int) -> str:
    """`text` cut to at most `units` UTF-16 units, ending in an ellipsis when cut."""
    if _units(text) <= units:
        return text
    kept: list[str] = []
    used = _units(ELLIPSIS)
    for char in text:
        used += _units(char)
        if used > units:
            break
        kept.append(char)
    return ("".join(kept).rstrip() + ELLIPSIS) if units >= _units(ELLIPSIS) else ELLIPSIS


def fit(template: Template, values: Sequence[str]) -> list[str]:
    """Shorten values, longest first, so the body with them stays within BODY_MAX: each value gets
    an equal share of the room the fixed text leaves, and what short values leave over goes to
    the long ones."""
    fixed = _units(PLACEHOLDER.sub("", template.body))
    room = max(BODY_MAX - fixed, len(values))
    lengths = [_units(value) for value in values]
    if sum(lengths) <= room:
        return list(values)
    caps = {index: length for index, length in enumerate(lengths)}
    left, waiting = room, sorted(caps, key=lambda index: lengths[index])
    for position, index in enumerate(waiting):
        share = left // (len(waiting) - position)
        if lengths[index] > share:
            for rest in waiting[position:]:
                caps[rest] = max(share, 1)
            break
        left -= lengths[index]
    return [_shorten(value, caps[index]) for index, value in enumerate(values)]


def template_payload(
    to: str, template: Template, values: Mapping[str, str], payloads: Sequence[str] = ()
) -> dict[str, Any]:
    """The Graph API message (POST /{phone-number-id}/messages) sending `template` to `to` (phone
    digits or BSUID), its variables filled from `values` by name (each made safe and shortened
    to fit) and each quick-reply button given its payload, in order. ValueError if a variable has
    no value, the payloads do not match the buttons, or the template's language has no WhatsApp code."""
    missing = [name for name in template.variables if name not in values]
    if missing:
        raise ValueError(f"template {template.name}: no value for {', '.join(missing)}")
    if len(payloads) != len(template.buttons):
        raise ValueError(
            f"template {template.name}: {len(template.buttons)} buttons, {len(payloads)} payloads"
        )
    code = template.whatsapp_code
    if code is None:
        raise ValueError(
            f"template {template.name}: WhatsApp has no template language for {template.language}"
        )
    texts = fit(template, [safe_parameter(values[name]) for name in template.variables])
    components: list[dict[str, Any]] = []
    if texts:
        components.append({"type": "body", "parameters": [{"type": "text", "text": text} for text in texts]})
    for index, payload in enumerate(payloads):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    message: dict[str, Any] = {"name": template.name, "language": {"policy": "deterministic", "code": code}}
    if components:
        message["components"] = components
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": message,
    }


def rendered_body(template: Template, values: Mapping[str, str]) -> str:
    """The body as the person will read it (for previews and the emulator)."""
    texts = fit(template, [safe_parameter(values[name]) for name in template.variables])
    return PLACEHOLDER.sub(lambda match: texts[int(match.group(1)) - 1], template.body)


# ----------------------------------------------------------------------------- the window


def in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form (session) message may be sent now: the person wrote less than 24 hours
    ago. At exactly 24 hours the window has closed. Both times must be timezone-aware."""
    if last_inbound_at is None:
        return False
    if last_inbound_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("in_window needs timezone-aware datetimes")
    return now - last_inbound_at < WINDOW


def window_closes_at(last_inbound_at: datetime | None) -> datetime | None:
    """When the window a person's last message opened closes (None: no window)."""
    return last_inbound_at + WINDOW if last_inbound_at is not None else None
