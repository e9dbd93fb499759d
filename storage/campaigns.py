"""Campaigns kept as YAML files: read and check one, load it, export it; pause, resume, cancel, list.

A campaign file (examples in content/campaigns/)::

    name: Winter vaccines 2027      # unique; loading a known name updates that campaign
    timezone: Europe/London         # optional, this is the default; the times below are local to it
    audience:                       # optional; left out, it is every active champion
      areas: [Riverside]            # area and network names, resolved to ids when loading
      networks: [Faith groups]
      languages: [so, ur]           # champions' language codes
      roles: [champion]             # champion, coordinator
    answer_back: true               # optional, default true: answer-back buttons under each message
    urgent: false                   # optional, default false; true sends inside quiet hours too
    topic: vaccinations             # optional: the report topic (content/report_topics.yaml) that
                                    # questions and concerns about its messages are filed under
    messages:
      - key: launch                 # unique in the campaign: how a reload finds the message to edit
        at: 2027-10-04 10:00        # once, YYYY-MM-DD HH:MM
        texts: {en: "...", pl: "..."}   # en required (the fallback); at most 4096 characters each
      - key: reminder
        every: thursday 10:00       # weekly: a weekday and HH:MM,
        from: 2027-10-07            # from the first such day on or after this date,
        weeks: 6                    # this many times (1-52), as keys reminder#1 .. reminder#6

Times are wall-clock times in the campaign's timezone, so 10:00 stays 10:00 across clock changes;
they are stored in UTC. Every problem in a file is reported with the file name and the line.

Loading a known name edits, adds and cancels the campaign's messages by key, but only those still
scheduled: messages already queued or sent keep their history. Export writes a campaign back in the
same format, recurring messages as one-offs under their expanded keys ("reminder#3"), sent ones
included (a load leaves them alone), so loading an export changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import local_time, outbox
from storage.audience import Audience
from storage.broadcasts import CANCELLED, DONE, MISSED, SCHEDULED, SENDING, create_broadcast
from storage.db import rows_changed
from storage.directory import list_areas, list_networks
from storage.models import Broadcast, Campaign, Delivery, Role
from storage.report_topics import TopicsError, load_topics

ACTIVE, PAUSED = "active", "paused"  # a campaign's status, or CANCELLED
ADD, UPDATE, SAME, CANCEL, KEEP = "add", "update", "unchanged", "cancel", "kept"  # what a load does
DEFAULT_TIMEZONE = "Europe/London"
TEXT_MAX = 4096  # Telegram's limit for one message
NAME_MAX, KEY_MAX, WEEKS_MAX = 100, 80, 52  # the first two are the columns' lengths
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TOP_KEYS = ("name", "timezone", "audience", "answer_back", "urgent", "topic", "messages")
MESSAGE_KEYS = ("key", "at", "every", "from", "weeks", "texts")
AUDIENCE_KEYS = ("areas", "networks", "languages", "roles")
KEY_PATTERN = re.compile(r"[\w.#-]+")
FROM_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")  # the first day of a weekly message
EVERY_PATTERN = re.compile(r"([a-z]+)\s+(\d{1,2}:\d{2})")


class CampaignError(Exception):
    """A campaign operation that cannot be done, said in one line."""


class CampaignFileError(CampaignError):
    """A campaign file that cannot be used; the message names the file and the line."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(f"{source} line {line}: {problem}")
        self.source, self.line, self.problem = source, line, problem


@dataclass(frozen=True)
class MessageSpec:
    """One message to send; a recurring message becomes one of these per week."""

    key: str
    send_at: datetime  # UTC
    texts: dict[str, str]
    line: int  # of the `at` or `from` that set its time


@dataclass(frozen=True)
class AudienceSpec:
    """An audience by name, each area and network with its line, for errors found when loading."""

    areas: dict[str, int] = field(default_factory=dict)
    networks: dict[str, int] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CampaignSpec:
    """A checked campaign file, times expanded and in UTC; nothing resolved against the database."""

    source: str  # the file name, for errors
    name: str
    line: int  # of the name
    timezone: str
    audience: AudienceSpec
    answer_back: bool
    urgent: bool
    messages: list[MessageSpec]
    topic: str | None = None  # a report topic id: what its messages' questions and concerns are about


class _Reader:
    """Walks the YAML nodes of one file (not the loaded values), so every problem can name its line."""

    def __init__(self, source: str, languages: Collection[str], topics: Collection[str] | None) -> None:
        self.source = source
        self.languages = languages
        self.topics = topics  # None: the shipped report topics, read if the file names one

    def fail(self, node: yaml.Node, problem: str) -> CampaignFileError:
        return CampaignFileError(self.source, node.start_mark.line + 1, problem)

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        allowed: Collection[str],
        required: tuple[str, ...] = (),
        kind: str = "key",
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """The entries of a mapping by key, after checking for unknown, repeated and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be 'key: value' lines")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "(not a name)"
            if key not in allowed:
                raise self.fail(key_node, f"unknown {kind} {key!r} in {what}; use {', '.join(allowed)}")
            if key in found:
                raise self.fail(key_node, f"{key!r} appears twice in {what}")
            found[key] = (key_node, value_node)
        for key in required:
            if key not in found:
                raise self.fail(node, f"{what} has no {key!r}")
        return found

    def text(self, node: yaml.Node, what: str) -> str:
        """A single non-empty value, as written (YAML's guesses at dates and numbers are not used)."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be a single value")
        value = str(node.value).strip()
        if not value:
            raise self.fail(node, f"{what} is empty")
        return value

    def names(self, node: yaml.Node, what: str) -> dict[str, int]:
        """A list of names, each with its line."""
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what} must be a list, e.g. [Riverside]")
        return {self.text(item, f"an item of {what}"): item.start_mark.line + 1 for item in node.value}

    def flag(self, node: yaml.Node, what: str) -> bool:
        value = self.text(node, what).lower()
        if value not in ("true", "false"):
            raise self.fail(node, f"{what!r} must be true or false")
        return value == "true"

    def campaign(self, root: yaml.Node) -> CampaignSpec:
        fields = self.mapping(root, "the campaign", TOP_KEYS, ("name", "messages"))
        name_node = fields["name"][1]
        name = self.text(name_node, "'name'")
        if len(name) > NAME_MAX:
            raise self.fail(name_node, f"'name' is longer than {NAME_MAX} characters")
        timezone = self.timezone(fields["timezone"][1]) if "timezone" in fields else DEFAULT_TIMEZONE
        audience = self.audience(fields["audience"][1]) if "audience" in fields else AudienceSpec()
        answer_back, urgent = (
            self.flag(fields[key][1], key) if key in fields else default
            for key, default in (("answer_back", True), ("urgent", False))
        )
        topic = self.topic(fields["topic"][1]) if "topic" in fields else None
        messages_node = fields["messages"][1]
        if not isinstance(messages_node, yaml.SequenceNode) or not messages_node.value:
            raise self.fail(messages_node, "'messages' must be a list of at least one message ('- key: ...')")
        messages: list[MessageSpec] = []
        keys: dict[str, int] = {}
        for node in messages_node.value:
            key_node, expanded = self.message(node, ZoneInfo(timezone))
            for message in expanded:
                if message.key in keys:
                    raise self.fail(
                        key_node, f"key {message.key!r} is used twice (first on line {keys[message.key]})"
                    )
                keys[message.key] = key_node.start_mark.line + 1
            messages.extend(expanded)
        return CampaignSpec(
            source=self.source,
            name=name,
            line=name_node.start_mark.line + 1,
            timezone=timezone,
            audience=audience,
            answer_back=answer_back,
            urgent=urgent,
            messages=messages,
            topic=topic,
        )

    def topic(self, node: yaml.Node) -> str:
        value = self.text(node, "'topic'")
        known = self.topics
        if known is None:
            try:
                known = [topic.id for topic in load_topics()]
            except TopicsError as exc:
                raise CampaignError(str(exc)) from None
        if value not in known:
            raise self.fail(
                node, f"unknown topic {value!r}; use one of {', '.join(known)} (content/report_topics.yaml)"
            )
        return value

    def timezone(self, node: yaml.Node) -> str:
        value = self.text(node, "'timezone'")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(node, f"unknown timezone {value!r}; use a name like Europe/London") from None
        return value

    def audience(self, node: yaml.Node) -> AudienceSpec:
        if isinstance(node, yaml.ScalarNode) and not node.value:
            return AudienceSpec()  # `audience:` with nothing under it
        fields = self.mapping(node, "'audience'", AUDIENCE_KEYS)
        chosen: dict[str, dict[str, int]] = {
            key: self.names(value, f"'audience.{key}'") for key, (_key, value) in fields.items()
        }
        for key, known in (("languages", self.languages), ("roles", [r.value for r in Role])):
            for value, line in chosen.get(key, {}).items():
                if value not in known:
                    raise CampaignFileError(
                        self.source, line, f"unknown {key[:-1]} {value!r}; use one of {', '.join(known)}"
                    )
        return AudienceSpec(
            areas=chosen.get("areas", {}),
            networks=chosen.get("networks", {}),
            languages=list(chosen.get("languages", {})),
            roles=list(chosen.get("roles", {})),
        )

    def message(self, node: yaml.Node, zone: ZoneInfo) -> tuple[yaml.Node, list[MessageSpec]]:
        """A message's key node and its sends: one for `at`, `weeks` of them for `every`."""
        fields = self.mapping(node, "a message", MESSAGE_KEYS, ("key", "texts"))
        key_node = fields["key"][1]
        key = self.text(key_node, "'key'")
        if not KEY_PATTERN.fullmatch(key):
            raise self.fail(key_node, f"'key' {key!r} may only use letters, digits and . _ - #")
        if ("at" in fields) == ("every" in fields):
            raise self.fail(node, "a message needs exactly one of 'at' (once) or 'every' (weekly)")
        texts = self.texts(fields["texts"][1])
        if "at" in fields:
            for extra in ("from", "weeks"):
                if extra in fields:
                    raise self.fail(fields[extra][0], f"'{extra}' goes with 'every', not with 'at'")
            self.key_length(key_node, key)
            at_node = fields["at"][1]
            local = self.moment(at_node, "at")
            line = at_node.start_mark.line + 1
            return key_node, [MessageSpec(key, self.utc(at_node, local, zone), texts, line)]
        for needed in ("from", "weeks"):
            if needed not in fields:
                raise self.fail(node, f"a message with 'every' needs '{needed}' too")
        weekday, at = self.every(fields["every"][1])
        from_node = fields["from"][1]
        start = self.moment(from_node, "from").date()
        weeks = self.weeks(fields["weeks"][1])
        self.key_length(key_node, f"{key}#{weeks}")
        first = start + timedelta(days=(weekday - start.weekday()) % 7)
        sends = [
            MessageSpec(
                f"{key}#{n + 1}",
                self.utc(from_node, datetime.combine(first + timedelta(weeks=n), at), zone),
                texts,
                from_node.start_mark.line + 1,
            )
            for n in range(weeks)
        ]
        return key_node, sends

    def key_length(self, node: yaml.Node, key: str) -> None:
        if len(key) > KEY_MAX:
            raise self.fail(node, f"'key' {key!r} is longer than {KEY_MAX} characters")

    def texts(self, node: yaml.Node) -> dict[str, str]:
        fields = self.mapping(node, "'texts'", self.languages, ("en",), kind="language")
        texts = {}
        for language, (_key, value) in fields.items():
            text = self.text(value, f"'texts.{language}'")
            if len(text) > TEXT_MAX:
                raise self.fail(
                    value, f"'texts.{language}' is {len(text)} characters; the most is {TEXT_MAX}"
                )
            texts[language] = text
        return {"en": texts.pop("en"), **texts}

    def moment(self, node: yaml.Node, what: str) -> datetime:
        """The date and time of `at` (read as the broadcast schedule and the CLI read one), or the
        date of `from`: written so, and a real one."""
        value = self.text(node, f"'{what}'")
        if what == "at":
            found = local_time.wall_clock(value)
            if found is None:
                raise self.fail(node, f"'at' must be {local_time.SHOWN} (got {value!r})")
            return found
        try:
            if FROM_PATTERN.fullmatch(value):
                return datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            pass
        raise self.fail(node, f"'from' must be YYYY-MM-DD (got {value!r})")

    def every(self, node: yaml.Node) -> tuple[int, time]:
        value = self.text(node, "'every'")
        found = EVERY_PATTERN.fullmatch(value.lower())
        if not found:
            raise self.fail(node, f"'every' must be a weekday and HH:MM, e.g. monday 10:00 (got {value!r})")
        day, clock = found.groups()
        if day not in WEEKDAYS:
            raise self.fail(node, f"unknown weekday {day!r} in 'every'; use monday to sunday")
        try:
            return WEEKDAYS.index(day), datetime.strptime(clock, "%H:%M").time()
        except ValueError:
            raise self.fail(node, f"'every' has no such time as {clock!r}") from None

    def weeks(self, node: yaml.Node) -> int:
        value = self.text(node, "'weeks'")
        if not value.isdigit() or not 1 <= int(value) <= WEEKS_MAX:
            raise self.fail(node, f"'weeks' must be a whole number from 1 to {WEEKS_MAX} (got {value!r})")
        return int(value)

    def utc(self, node: yaml.Node, local: datetime, zone: ZoneInfo) -> datetime:
        """A local wall-clock time in UTC, by the rule in storage/local_time.py: one the clocks skip
        over is an error, one that happens twice is the first."""
        try:
            return local_time.to_utc(local, zone)
        except local_time.SkippedTime as exc:
            raise self.fail(node, str(exc)) from None


def parse_campaign(
    text: str, source: str, languages: Collection[str], topics: Collection[str] | None = None
) -> CampaignSpec:
    """Check a campaign file's text (`source` names it in errors) against the shipped `languages`
    and the report topic ids in `topics` (by default, content/report_topics.yaml's)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise CampaignFileError(
            source, line, f"not valid YAML: the character U+{exc.character:04X} is not allowed"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(" ".join(part.split()) for part in (exc.context, exc.problem) if part)
        raise CampaignFileError(source, mark.line + 1 if mark else 1, f"not valid YAML: {problem}") from None
    if root is None:
        raise CampaignFileError(source, 1, "the file is empty; a campaign needs a name and messages")
    return _Reader(source, languages, topics).campaign(root)


def read_campaign(
    path: Path, languages: Collection[str], topics: Collection[str] | None = None
) -> CampaignSpec:
    """Read and check a campaign file (`topics` as for `parse_campaign`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CampaignFileError(path.name, data[: exc.start].count(b"\n") + 1, "not UTF-8 text") from None
    return parse_campaign(text, path.name, languages, topics)


@dataclass(frozen=True)
class Change:
    """What a load does, or would do, to one message."""

    key: str
    send_at: datetime
    action: str  # ADD, UPDATE, SAME, CANCEL or KEEP
    edited: bool = False  # KEEP only: the file differs, but the message was already queued or sent


@dataclass(frozen=True)
class LoadResult:
    """What a load did, or would do, to a campaign and each of its messages."""

    name: str
    timezone: str
    status: str
    created: bool
    changes: list[Change]

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)


def message_key(broadcast: Broadcast) -> str:
    """A campaign message's key; one made without a key is named by its id."""
    return broadcast.key or f"message-{broadcast.id}"


async def _resolve(session: AsyncSession, spec: CampaignSpec) -> Audience:
    """The audience with area and network names turned into ids; an unknown name names its line."""
    ids: dict[str, list[int]] = {}
    for kind, rows, wanted in (
        ("area", await list_areas(session), spec.audience.areas),
        ("network", await list_networks(session), spec.audience.networks),
    ):
        known = {row.name.casefold(): row.id for row in rows}
        for name, line in wanted.items():
            if name.casefold() not in known:
                have = ", ".join(row.name for row in rows) or f"none yet (champbot {kind} add NAME)"
                raise CampaignFileError(spec.source, line, f"unknown {kind} {name!r}; known: {have}")
        ids[kind] = list(dict.fromkeys(known[name.casefold()] for name in wanted))
    return Audience(
        areas=ids["area"],
        networks=ids["network"],
        languages=spec.audience.languages,
        roles=spec.audience.roles,
    )


async def load_campaign(
    session: AsyncSession,
    spec: CampaignSpec,
    now: datetime,
    *,
    allow_past: bool = False,
    dry_run: bool = False,
) -> LoadResult:
    """Create the campaign, or bring the one of that name in line with the file: its scheduled
    messages are edited, added or cancelled by key, queued or sent ones are kept. A time before
    `now` is an error unless `allow_past` (a kept or unmoved message may be in the past). With
    `dry_run`, check everything and report the changes without making them."""
    audience = await _resolve(session, spec)
    campaign = await session.scalar(select(Campaign).where(Campaign.name == spec.name))
    existing: dict[str, Broadcast] = {}
    if campaign is not None:
        if campaign.status == CANCELLED:
            raise CampaignFileError(
                spec.source, spec.line, f"campaign {spec.name!r} was cancelled; give the file a new name"
            )
        rows = await session.scalars(select(Broadcast).where(Broadcast.campaign_id == campaign.id))
        existing = {message_key(row): row for row in rows}
    audience_json = audience.as_json()
    plan: list[tuple[Change, MessageSpec | None, Broadcast | None]] = []
    for message in spec.messages:
        old = existing.pop(message.key, None)
        if old is not None and old.status in (SENDING, DONE, MISSED):
            edited = old.texts != message.texts or old.send_at != message.send_at
            plan.append((Change(message.key, old.send_at, KEEP, edited), None, None))
            continue
        moved = old is None or old.status == CANCELLED or old.send_at != message.send_at
        if moved and message.send_at < now and not allow_past:
            local = f"{message.send_at.astimezone(ZoneInfo(spec.timezone)):%Y-%m-%d %H:%M}"
            raise CampaignFileError(
                spec.source, message.line, f"{message.key!r} would be sent at {local}, which is in the past"
            )
        if old is None or old.status == CANCELLED:
            action = ADD  # new, or cancelled before it was sent and wanted again
        else:
            action = SAME if _same(old, message, audience_json, spec) else UPDATE
        plan.append((Change(message.key, message.send_at, action), message, old))
    for key, old in existing.items():  # no longer in the file
        if old.status == SCHEDULED:
            plan.append((Change(key, old.send_at, CANCEL), None, old))
        elif old.status != CANCELLED:
            plan.append((Change(key, old.send_at, KEEP), None, None))
    result = LoadResult(
        name=spec.name,
        timezone=spec.timezone,
        status=campaign.status if campaign else ACTIVE,
        created=campaign is None,
        changes=[change for change, _message, _old in plan],
    )
    if dry_run:
        return result
    if campaign is None:
        campaign = Campaign(name=spec.name, status=ACTIVE)
        session.add(campaign)
    campaign.timezone = spec.timezone
    campaign.audience = audience.as_json()
    await session.flush()
    for change, wanted, row in plan:
        if change.action == CANCEL and row is not None:
            row.status = CANCELLED
        elif change.action in (ADD, UPDATE) and wanted is not None:
            if row is None:
                row = await create_broadcast(
                    session, texts=wanted.texts, audience=audience, campaign_id=campaign.id
                )
            row.key, row.texts, row.send_at, row.status = wanted.key, wanted.texts, wanted.send_at, SCHEDULED
            row.audience, row.answer_back, row.urgent = audience_json, spec.answer_back, spec.urgent
            row.topic = spec.topic
    await session.flush()
    return result


def _same(old: Broadcast, message: MessageSpec, audience: dict[str, Any], spec: CampaignSpec) -> bool:
    return (
        old.key == message.key
        and old.texts == message.texts
        and old.send_at == message.send_at
        and old.audience == audience
        and old.answer_back == spec.answer_back
        and old.urgent == spec.urgent
        and old.topic == spec.topic
    )


class _Dumper(yaml.SafeDumper):
    """Writes texts with line breaks as literal blocks, the way people write them by hand."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_text)


async def export_campaign(session: AsyncSession, campaign: Campaign) -> str:
    """The campaign as a campaign file: every message not cancelled, as a one-off under its key, in
    order. Answer-back, urgency and topic are taken from its latest scheduled message (or latest of
    all)."""
    rows = list(
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.campaign_id == campaign.id, Broadcast.status != CANCELLED)
            .order_by(Broadcast.send_at, Broadcast.id)
        )
    )
    zone = ZoneInfo(campaign.timezone)
    latest = [row for row in rows if row.status == SCHEDULED] or rows
    data: dict[str, Any] = {"name": campaign.name, "timezone": campaign.timezone}
    audience = await _audience_names(session, campaign)
    if audience:
        data["audience"] = audience
    data["answer_back"] = latest[-1].answer_back if latest else True
    data["urgent"] = latest[-1].urgent if latest else False
    if latest and latest[-1].topic:
        data["topic"] = latest[-1].topic
    data["messages"] = [
        {
            "key": message_key(row),
            "at": f"{row.send_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "texts": {"en": row.texts["en"], **row.texts},
        }
        for row in rows
    ]
    header = (
        f"# Exported from champbot: campaign {campaign.name!r}, {campaign.status}.\n"
        "# Weekly messages are written out one by one under their keys. Messages already sent are\n"
        "# listed too; loading this file again leaves them as they are.\n"
    )
    return header + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


async def _audience_names(session: AsyncSession, campaign: Campaign) -> dict[str, list[str]]:
    """The campaign's audience with ids turned back into names; only the filters it uses."""
    audience = Audience.from_json(campaign.audience)
    names: dict[str, list[str]] = {}
    for kind, rows, ids in (
        ("areas", await list_areas(session), audience.areas),
        ("networks", await list_networks(session), audience.networks),
    ):
        by_id = {row.id: row.name for row in rows}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise CampaignError(
                f"campaign {campaign.name!r}: its audience has {kind} {missing} that no longer exist"
            )
        if ids:
            names[kind] = [by_id[i] for i in ids]
    if audience.languages:
        names["languages"] = audience.languages
    if audience.roles:
        names["roles"] = audience.roles
    return names


async def find_campaign(session: AsyncSession, name: str) -> Campaign:
    """The campaign with this name."""
    campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
    if campaign is None:
        raise CampaignError(f"no campaign called {name!r}; see `champbot campaign list`")
    return campaign


def _not_cancelled(campaign: Campaign) -> None:
    if campaign.status == CANCELLED:
        raise CampaignError(f"campaign {campaign.name!r} was cancelled")


# What each action may change, and the status it sets.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "pause": ((ACTIVE,), PAUSED),
    "resume": ((PAUSED,), ACTIVE),
    "cancel": ((ACTIVE, PAUSED), CANCELLED),
}


@dataclass(frozen=True)
class StatusChange:
    """What pausing, resuming or cancelling a campaign did."""

    changed: bool  # False: no such campaign, or not in a status the action applies to
    cancelled_messages: int = 0


async def change_campaign(session: AsyncSession, campaign_id: int, action: str) -> StatusChange:
    """Pause, resume or cancel a campaign with one conditional UPDATE, so of two racing changes
    only one applies. Cancelling also cancels its still-scheduled messages and skips the queued
    copies of those being delivered that have not gone yet."""
    allowed, status = ACTIONS[action]
    result = await rows_changed(session,
        update(Campaign).where(Campaign.id == campaign_id, Campaign.status.in_(allowed)).values(status=status)
    )
    if not result:
        return StatusChange(False)
    if status != CANCELLED:
        return StatusChange(True)
    messages = await rows_changed(session,
        update(Broadcast)
        .where(Broadcast.campaign_id == campaign_id, Broadcast.status == SCHEDULED)
        .values(status=CANCELLED)
    )
    # Copies of its messages already queued but not yet claimed are not sent either.
    ours = select(Broadcast.id).where(Broadcast.campaign_id == campaign_id).scalar_subquery()
    await session.execute(
        update(Delivery)
        .where(Delivery.broadcast_id.in_(ours), Delivery.state == outbox.PENDING)
        .values(state=outbox.SKIPPED, error="cancelled")
    )
    return StatusChange(True, messages)


def pause_campaign(campaign: Campaign) -> None:
    """Hold a campaign: the scheduler leaves its messages until it is resumed."""
    _not_cancelled(campaign)
    campaign.status = PAUSED


async def resume_campaign(session: AsyncSession, campaign: Campaign, now: datetime) -> int:
    """Let a paused campaign's messages go again (an active one stays as it is). Returns how many
    fell due while it was paused: the scheduler sends those still within its grace period and
    marks older ones missed."""
    if not (await change_campaign(session, campaign.id, "resume")).changed:
        await session.refresh(campaign)
        _not_cancelled(campaign)
    overdue = select(func.count()).where(
        Broadcast.campaign_id == campaign.id, Broadcast.status == SCHEDULED, Broadcast.send_at <= now
    )
    return int(await session.scalar(overdue) or 0)


async def cancel_campaign(session: AsyncSession, campaign: Campaign) -> int:
    """End a campaign for good: messages not yet sent are cancelled, sent ones keep their figures.
    Returns how many were cancelled (none if it already was)."""
    return (await change_campaign(session, campaign.id, "cancel")).cancelled_messages


@dataclass(frozen=True)
class Summary:
    """One line of the campaign list."""

    id: int
    name: str
    status: str
    timezone: str
    scheduled: int
    sent: int  # queued or sent
    missed: int
    next_at: datetime | None  # the earliest scheduled message, UTC


async def _summaries(session: AsyncSession, chosen: Select[Campaign]) -> list[Summary]:
    """The chosen campaigns, in the query's order, with their message counts and next send time."""
    found = list(await session.scalars(chosen))
    rows = await session.execute(
        select(Broadcast.campaign_id, Broadcast.status, func.count(), func.min(Broadcast.send_at))
        .where(Broadcast.campaign_id.in_([campaign.id for campaign in found]))
        .group_by(Broadcast.campaign_id, Broadcast.status)
    )
    counts: dict[tuple[int | None, str], tuple[int, datetime | None]] = {
        (campaign_id, status): (count, first) for campaign_id, status, count, first in rows
    }

    def count(campaign: Campaign, *statuses: str) -> int:
        return sum(counts.get((campaign.id, status), (0, None))[0] for status in statuses)

    return [
        Summary(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            timezone=campaign.timezone,
            scheduled=count(campaign, SCHEDULED),
            sent=count(campaign, SENDING, DONE),
            missed=count(campaign, MISSED),
            next_at=counts.get((campaign.id, SCHEDULED), (0, None))[1],
        )
        for campaign in found
    ]


async def list_campaigns(session: AsyncSession) -> list[Summary]:
    """Every campaign, by name, with its message counts and next send time."""
    return await _summaries(session, select(Campaign).order_by(Campaign.name))


async def latest_campaigns(session: AsyncSession, limit: int) -> tuple[list[Summary], int]:
    """Up to `limit` campaigns, running ones first, newest first, and how many there are in all."""
    total = await session.scalar(select(func.count(Campaign.id)))
    chosen = (
        select(Campaign)
        .order_by(
            case((Campaign.status == CANCELLED, 1), else_=0), Campaign.created_at.desc(), Campaign.id.desc()
        )
        .limit(limit)
    )
    return await _summaries(session, chosen), int(total or 0)


async def campaign_summary(session: AsyncSession, campaign_id: int) -> Summary | None:
    """One campaign's summary, or None if there is no such campaign."""
    found = await _summaries(session, select(Campaign).where(Campaign.id == campaign_id))
    return found[0] if found else None
