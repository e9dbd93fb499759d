"""Training snippets: Markdown files with a small front-matter header, one per snippet per language.

`content/learn/<language>/<id>.md`. Loading validates every file; a broken one is reported by name
with its problem and left out, and the rest is used.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def data_folder(package: str) -> Path:
    """The folder of a data package: `content/` ships as `champbot_content` and `locales/` as
    `champbot_locales` (package-dir in pyproject.toml), so this is the checkout's folder in an
    editable install and the one in site-packages in a wheel's."""
    spec = importlib.util.find_spec(package)
    # A folder without __init__.py is a namespace package; its first location that is a folder is
    # ours (an editable install adds a path-hook placeholder after it).
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    raise FileNotFoundError(f"{package} is not installed: reinstall champbot")


CONTENT_ROOT = data_folder("champbot_content")
CONTENT_DIR = CONTENT_ROOT / "learn"
SOURCE_LANGUAGE = "en"
TOPICS = (
    "core20plus5",
    "vaccine-conversations",
    "signposting",
    "cancer-screening",
    "blood-pressure",
    "mental-health",
    "community-action",
    "champion-safely",
)
BODY_MAX = 1000  # characters: a few phone screens at most (handlers.learn.screens pages it)
OPTION_MAX = 60  # characters of a quiz option: a numbered choice's note, within a list row's 72
OPTIONS_MIN, OPTIONS_MAX = 2, 4
ID_MAX = 40  # keeps button data well under Telegram's 64 bytes
REQUIRED = ("id", "topic", "order", "title", "source")


@dataclass(frozen=True)
class Quiz:
    question: str
    options: tuple[str, ...]
    answer: int  # index into options, from 0
    right: str
    wrong: str


@dataclass(frozen=True)
class Snippet:
    id: str
    language: str
    topic: str
    order: int
    title: str
    source: str
    body: str
    quiz: Quiz | None
    draft: bool


@dataclass
class Library:
    """Valid snippets by (id, language); English is the reference every translation matches."""

    snippets: dict[tuple[str, str], Snippet] = field(default_factory=dict)

    def topics(self) -> list[str]:
        """Topics that have at least one snippet, in the configured order."""
        present = {s.topic for s in self.snippets.values()}
        return [topic for topic in TOPICS if topic in present]

    def in_topic(self, topic: str) -> list[str]:
        """Snippet ids of a topic, in order (as the English versions define it)."""
        english = [s for s in self.snippets.values() if s.topic == topic and s.language == SOURCE_LANGUAGE]
        return [s.id for s in sorted(english, key=lambda s: (s.order, s.id))]

    def all_ids(self) -> list[str]:
        """Every snippet id, topic by topic."""
        return [snippet_id for topic in self.topics() for snippet_id in self.in_topic(topic)]

    def get(self, snippet_id: str, language: str) -> tuple[Snippet, bool] | None:
        """The snippet in `language`, or in English with True when it has no translation."""
        if (snippet_id, language) in self.snippets:
            return self.snippets[(snippet_id, language)], False
        if (snippet_id, SOURCE_LANGUAGE) in self.snippets:
            return self.snippets[(snippet_id, SOURCE_LANGUAGE)], language != SOURCE_LANGUAGE
        return None


class ContentError(ValueError):
    """A problem with one content file."""


def load_library(
    root: Path | None = None, languages: tuple[str, ...] | None = None
) -> tuple[Library, list[str]]:
    """Load every snippet under `root` (the project's content by default); return the valid ones
    and one line per problem."""
    root = root or CONTENT_DIR
    library = Library()
    problems: list[str] = []
    files = sorted(root.glob("*/*.md"))
    # English first: translations are checked against it.
    files.sort(key=lambda path: path.parent.name != SOURCE_LANGUAGE)
    for path in files:
        where = _display(path, root)
        try:
            snippet = parse_snippet(path, languages)
            _check_against_english(snippet, library)
        except ContentError as exc:
            problems.append(f"{where}: {exc}")
            continue
        library.snippets[(snippet.id, snippet.language)] = snippet
    return library, problems


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent.parent))
    except ValueError:
        return str(path)


def parse_snippet(path: Path, languages: tuple[str, ...] | None = None) -> Snippet:
    """Read and validate one file."""
    language = path.parent.name
    if languages is not None and language not in languages:
        raise ContentError(f"folder {language!r} is not a shipped language")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(f"cannot read the file ({exc})") from None
    header, body = _split(text)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ContentError(f"missing field(s): {', '.join(missing)}")
    snippet_id = _text(header, "id")
    if snippet_id != path.stem:
        raise ContentError(f"id {snippet_id!r} does not match the file name {path.stem!r}")
    if len(snippet_id) > ID_MAX or not snippet_id.replace("-", "").isalnum() or not snippet_id.isascii():
        raise ContentError(f"id must be at most {ID_MAX} of a-z, 0-9 and -")
    topic = _text(header, "topic")
    if topic not in TOPICS:
        raise ContentError(f"unknown topic {topic!r} (known: {', '.join(TOPICS)})")
    order = header["order"]
    if not isinstance(order, int) or isinstance(order, bool):
        raise ContentError("order must be a whole number")
    source = _text(header, "source")
    if not source.startswith(("https://", "http://")):
        raise ContentError("source must be a web link")
    if not body:
        raise ContentError("the text after the header is empty")
    if len(body) > BODY_MAX:
        raise ContentError(f"the text is {len(body)} characters; at most {BODY_MAX} fit a phone screen")
    draft = header.get("translation") == "draft"
    if language != SOURCE_LANGUAGE and header.get("translation") not in {"draft", "reviewed"}:
        raise ContentError("a translation needs 'translation: draft' or 'translation: reviewed'")
    return Snippet(
        id=snippet_id,
        language=language,
        topic=topic,
        order=order,
        title=_text(header, "title"),
        source=source,
        body=body,
        quiz=_quiz(header["quiz"]) if header.get("quiz") is not None else None,
        draft=draft,
    )


def _split(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        raise ContentError("the file must start with a '---' header line")
    end = text.find("\n---\n", 4)
    if end == -1:
        raise ContentError("the header has no closing '---' line")
    try:
        header = yaml.safe_load(text[4:end])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" on line {mark.line + 2}" if mark is not None else ""
        raise ContentError(f"the header is not valid YAML{line}") from None
    if not isinstance(header, dict):
        raise ContentError("the header must be 'name: value' lines")
    return header, text[end + 5 :].strip()


def _text(header: dict[str, Any], name: str) -> str:
    value = header.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{name} must be non-empty text")
    return value.strip()


def _quiz(raw: Any) -> Quiz:
    if not isinstance(raw, dict):
        raise ContentError("quiz must have question, options, answer, right and wrong")
    missing = [name for name in ("question", "options", "answer", "right", "wrong") if name not in raw]
    if missing:
        raise ContentError(f"quiz is missing: {', '.join(missing)}")
    options = raw["options"]
    if not isinstance(options, list) or not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
        raise ContentError(f"quiz options must be a list of {OPTIONS_MIN} to {OPTIONS_MAX}")
    if not all(isinstance(o, str) and o.strip() for o in options):
        raise ContentError("every quiz option must be non-empty text")
    too_long = [o for o in options if len(o) > OPTION_MAX]
    if too_long:
        raise ContentError(f"quiz option longer than {OPTION_MAX} characters: {too_long[0]!r}")
    answer = raw["answer"]
    if not isinstance(answer, int) or isinstance(answer, bool) or not 1 <= answer <= len(options):
        raise ContentError(f"quiz answer must be the number of the right option, 1 to {len(options)}")
    return Quiz(
        question=_text(raw, "question"),
        options=tuple(o.strip() for o in options),
        answer=answer - 1,
        right=_text(raw, "right"),
        wrong=_text(raw, "wrong"),
    )


def _check_against_english(snippet: Snippet, library: Library) -> None:
    if snippet.language == SOURCE_LANGUAGE:
        return
    english = library.snippets.get((snippet.id, SOURCE_LANGUAGE))
    if english is None:
        raise ContentError(f"no valid English version content/learn/en/{snippet.id}.md")
    if (snippet.topic, snippet.source) != (english.topic, english.source):
        raise ContentError("topic and source must be the same as in the English version")
    if (snippet.quiz is None) != (english.quiz is None):
        raise ContentError("has a quiz where the English version has none, or the other way round")
    if (
        snippet.quiz
        and english.quiz
        and (
            len(snippet.quiz.options) != len(english.quiz.options)
            or snippet.quiz.answer != english.quiz.answer
        )
    ):
        raise ContentError("the quiz must have the same number of options and right answer as in English")
