"""The topics champions report on: `content/report_topics.yaml`, loaded and checked at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from storage.content import CONTENT_ROOT

TOPICS_FILE = CONTENT_ROOT / "report_topics.yaml"
ID_PATTERN = re.compile(r"^[a-z0-9-]{1,40}$")
LABEL_MAX = 40  # characters on a button
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class Topic:
    id: str
    labels: dict[str, str]
    core20plus5: str | None = None

    def label(self, language: str) -> str:
        """The topic's name in a language, or in English when it has no translation."""
        return self.labels.get(language) or self.labels[SOURCE_LANGUAGE]


class TopicsError(ValueError):
    """The topics file is missing or wrong; the message says where."""


def load_topics(path: Path | None = None, languages: tuple[str, ...] | None = None) -> list[Topic]:
    """Read and check the topics file; raise TopicsError naming the entry and its problem. With
    `languages`, a label in any other language is a problem too."""
    path = path or TOPICS_FILE
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TopicsError(f"{path.name}: cannot read it ({exc})") from None
    if not isinstance(entries, list) or not entries:
        raise TopicsError(f"{path.name}: expected a list of topics")
    topics: list[Topic] = []
    for number, entry in enumerate(entries, start=1):
        topics.append(_topic(entry, f"{path.name}, topic {number}", languages))
    ids = [topic.id for topic in topics]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise TopicsError(f"{path.name}: the id {duplicates[0]!r} is used twice")
    if len(topics) > 10:
        raise TopicsError(f"{path.name}: at most 10 topics fit one question (found {len(topics)})")
    return topics


def _topic(entry: object, where: str, languages: tuple[str, ...] | None) -> Topic:
    if not isinstance(entry, dict):
        raise TopicsError(f"{where}: expected id, core20plus5 and label")
    topic_id = entry.get("id")
    if not isinstance(topic_id, str) or not ID_PATTERN.match(topic_id):
        raise TopicsError(f"{where}: id must be 1-40 lowercase letters, digits or dashes")
    labels = entry.get("label")
    if not isinstance(labels, dict) or not isinstance(labels.get(SOURCE_LANGUAGE), str):
        raise TopicsError(f"{where} ({topic_id}): label needs at least an English (en) name")
    for language, label in labels.items():
        if languages is not None and language not in languages:
            raise TopicsError(f"{where} ({topic_id}): {language!r} is not a shipped language")
        if not isinstance(label, str) or not label.strip() or len(label) > LABEL_MAX:
            raise TopicsError(f"{where} ({topic_id}): the {language} name must be 1-{LABEL_MAX} characters")
    core = entry.get("core20plus5")
    if core is not None and not isinstance(core, str):
        raise TopicsError(f"{where} ({topic_id}): core20plus5 must be text or null")
    return Topic(topic_id, {k: v.strip() for k, v in labels.items()}, core)
