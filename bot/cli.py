"""`champbot`: the admin command line — set up the database, people and places, run the bot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import LANGUAGES, catalog_cache_dir, catalog_status, compile_catalogs
from bot.settings import Settings, SettingsError, SignupMode, get_settings
from storage import broadcasts, outbox

if TYPE_CHECKING:
    from storage.outbox_figures import KindFigures, Row

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run async work; a wrong setting found on the way ends it with one line, not a traceback."""
    try:
        return asyncio.run(work)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


# The levels `run` and `webhook` log at, by logger ("" is the root). Never DEBUG in production:
# python-telegram-bot then logs every update and request body, and httpx at INFO every URL (token included).
LOG_LEVELS = {"": logging.INFO, "httpx": logging.WARNING}


def _logging() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name, level in LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)


def _with_sessions(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run `work` with sessions on the configured database (migrated first on SQLite)."""
    from bot.channels import open_database

    async def run() -> T:
        engine, sessions = await open_database(_settings())
        try:
            return await work(sessions)
        finally:
            await engine.dispose()

    return _run(run())


@click.group()
def main() -> None:
    """Community Champions Bot: run it, and set up its database, coordinators and places.

    Settings come from CHAMPBOT_* environment variables or a .env file (see .env.example).
    """


@main.command()
def run() -> None:
    """Run the bot with long polling (one machine). Needs CHAMPBOT_TOKEN."""
    from bot.app import build_application
    from bot.channels import open_database, serve_polling, stop_on_signals

    settings = _settings()
    if settings.token is None:
        raise click.ClickException("CHAMPBOT_TOKEN: required to run; try `champbot sandbox` without one")
    _logging()

    async def go() -> None:
        engine, sessions = await open_database(settings)
        try:
            await serve_polling(build_application(settings, sessions), stop_on_signals())
        finally:
            await engine.dispose()

    _run(go())


@main.command()
def webhook() -> None:
    """Run the bot behind a webhook (production). Needs CHAMPBOT_TOKEN, _WEBHOOK_URL and _WEBHOOK_SECRET."""
    from bot.app import build_application
    from bot.channels import open_database, serve_webhook, stop_on_signals

    settings = _settings()
    if settings.token is None:
        raise click.ClickException("CHAMPBOT_TOKEN: required to run the webhook")
    if not settings.webhook_url:
        raise click.ClickException("CHAMPBOT_WEBHOOK_URL: required to run the webhook")
    _logging()

    async def go() -> None:
        engine, sessions = await open_database(settings)
        try:
            await serve_webhook(build_application(settings, sessions), settings, stop_on_signals())
        finally:
            await engine.dispose()

    _run(go())


@main.command()
@click.option("--port", default=8080, show_default=True, help="Port the dashboard listens on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on: this machine only, behind a reverse proxy that adds HTTPS; "
    "0.0.0.0 for every interface.",
)
def web(port: int, host: str) -> None:
    """Serve the coordinators' web dashboard on its own (`champbot webhook` serves it beside the
    webhooks on one port). Needs CHAMPBOT_WEB_URL, the address coordinators open, e.g.
    https://champions.example.org (cookies are Secure when it is https).

    Coordinators sign in by sending /web to the bot, which answers with a link that works once,
    for 10 minutes; a session ends after CHAMPBOT_WEB_IDLE_MINUTES unused. The bot itself runs
    elsewhere (`champbot run` or `champbot webhook`) on the same database.
    """
    from aiohttp import web as aiohttp_web

    from bot.app import load_report_topics
    from bot.channels import open_database, stop_on_signals
    from bot.web import web_app

    settings = _settings()
    if not settings.web_url:
        raise click.ClickException("CHAMPBOT_WEB_URL: required to serve the dashboard")
    _logging()

    async def go() -> None:
        engine, sessions = await open_database(settings)
        runner = aiohttp_web.AppRunner(web_app(sessions, settings, load_report_topics()), access_log=None)
        try:
            await runner.setup()
            await aiohttp_web.TCPSite(runner, host, port).start()
            logging.getLogger(__name__).info("Dashboard listening on %s:%s", host, port)
            await stop_on_signals().wait()
        finally:
            await runner.cleanup()  # lets requests in flight finish
            await engine.dispose()

    _run(go())


@main.command()
@click.option("--port", default=8080, show_default=True, help="Port of the chat page and emulator.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("data"),
    show_default=True,
    help="Folder for the sandbox's SQLite file.",
)
@click.option(
    "--rtt",
    default="0ms",
    show_default=True,
    help="Network round trip each Bot API call waits, jittered ±20% (e.g. 60ms), to feel a real network.",
)
@click.option(
    "--signup",
    type=click.Choice(get_args(SignupMode)),
    help="Who may join: open (anyone), invite (only with a coordinator's invite link) or approval "
    "(Sam approves each newcomer with /pending). Default: CHAMPBOT_SIGNUP_MODE, else open. The page "
    "can switch it while the sandbox runs.",
)
def sandbox(port: int, data_dir: Path, rtt: str, signup: SignupMode | None) -> None:
    """Try the bot locally: no token, SQLite, the Bot API emulator and a chat page in your browser."""
    from bot.channels import stop_on_signals
    from bot.emulator import parse_rtt
    from bot.sandbox import PortInUse, run_sandbox

    try:
        round_trip = parse_rtt(rtt)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--rtt") from None

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    async def go() -> None:
        await run_sandbox(data_dir, port=port, stop=stop_on_signals(), rtt=round_trip, signup=signup)

    try:
        _run(go())
    except PortInUse as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
def db_upgrade(revision: str) -> None:
    """Create or update the schema by applying migrations."""
    from bot.channels import open_database

    async def go() -> None:
        engine, _sessions = await open_database(_settings(), revision)
        await engine.dispose()

    _run(go())
    click.echo(f"Database is at revision {revision}.")


@main.group()
def coordinator() -> None:
    """Give or take the coordinator role."""


@coordinator.command("add")
@click.argument("telegram_id", type=int)
@click.option("--name", help="Display name.")
@click.option("--language", type=click.Choice(list(LANGUAGES)), default="en", show_default=True)
def coordinator_add(telegram_id: int, name: str | None, language: str) -> None:
    """Make TELEGRAM_ID (a numeric Telegram user id) a coordinator."""
    from storage import champions

    async def go(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions.begin() as session:
            await champions.make_coordinator(session, telegram_id, name, language)

    _with_sessions(go)
    click.echo(f"{telegram_id} is now a coordinator.")


@coordinator.command("remove")
@click.argument("telegram_id", type=int)
def coordinator_remove(telegram_id: int) -> None:
    """Take the coordinator role from TELEGRAM_ID."""
    from storage import champions

    async def go(sessions: async_sessionmaker[AsyncSession]) -> bool:
        async with sessions.begin() as session:
            return await champions.remove_coordinator(session, telegram_id)

    if not _with_sessions(go):
        raise click.ClickException(f"{telegram_id} is not a coordinator")
    click.echo(f"{telegram_id} is no longer a coordinator.")


@main.command()
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Events to print."
)
def audit(limit: int) -> None:
    """Print the dashboard's audit log, newest first: sign-ins, sign-outs, refused sign-in links,
    sessions ended because the person is no longer a coordinator, and pages viewed.

    Each event names a champion id only (`-` once that person has been erased), never a name or
    anything a person wrote. Times are UTC.
    """
    from storage import audit as audit_log
    from storage.models import AuditEvent

    async def go(sessions: async_sessionmaker[AsyncSession]) -> list[AuditEvent]:
        async with sessions() as session:
            return await audit_log.recent(session, limit)

    events = _with_sessions(go)
    if not events:
        click.echo("The audit log is empty.")
        return
    click.echo(f"{'when (UTC)':<20}  {'champion':>10}  {'action':<14}  detail")
    for event in events:
        who = "-" if event.champion_id is None else str(event.champion_id)
        click.echo(f"{event.at:%Y-%m-%d %H:%M:%S}  {who:>10}  {event.action:<14}  {event.detail or ''}")


def _add_names(add: Callable[[AsyncSession, list[str]], Awaitable[int]], names: tuple[str, ...]) -> int:
    async def go(sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions.begin() as session:
            return await add(session, [n.strip() for n in names if n.strip()])

    return _with_sessions(go)


@main.group()
def area() -> None:
    """Areas (wards, neighbourhoods) champions choose from."""


@area.command("add")
@click.argument("names", nargs=-1, required=True)
def area_add(names: tuple[str, ...]) -> None:
    """Add areas by name, e.g. `champbot area add Northfield "Old Town"`. Never addresses."""
    from storage import directory

    click.echo(f"Added {_add_names(directory.add_areas, names)} new area(s).")


@main.group()
def network() -> None:
    """Communities and networks champions connect with."""


@network.command("add")
@click.argument("names", nargs=-1, required=True)
def network_add(names: tuple[str, ...]) -> None:
    """Add networks by name, e.g. `champbot network add "Youth clubs"`."""
    from storage import directory

    click.echo(f"Added {_add_names(directory.add_networks, names)} new network(s).")


@main.group()
def invite() -> None:
    """Invite links."""


@invite.command("create")
@click.option("--network", help="Network the invited people join.")
@click.option("--uses", type=click.IntRange(min=1), help="How many people may use it (default: any number).")
@click.option(
    "--days", type=click.IntRange(1, 365), help="Days it stays valid (default: CHAMPBOT_INVITE_DAYS)."
)
@click.option("--bot-username", default="<your_bot>", show_default=True, help="Bot username for the link.")
def invite_create(network: str | None, uses: int | None, days: int | None, bot_username: str) -> None:
    """Make an invite deep link (t.me/<bot>?start=<code>)."""
    from storage import directory, invites

    settings = _settings()

    async def go(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions.begin() as session:
            network_id = None
            if network:
                found = await directory.find_network(session, network)
                if found is None:
                    raise click.ClickException(f"no network called {network!r}")
                network_id = found.id
            made = await invites.create_invite(
                session,
                created_by=None,
                network_id=network_id,
                max_uses=uses,
                days=days or settings.invite_days,
            )
            return made.code

    click.echo(f"https://t.me/{bot_username}?start={_with_sessions(go)}")


@main.group()
def i18n() -> None:
    """Translations."""


@i18n.command("status")
def i18n_status() -> None:
    """Print how complete each language is, and whether it is still a draft."""
    click.echo(f"{'language':<10}{'translated':>12}{'complete':>10}  review")
    for language in LANGUAGES:
        if language == "en":
            click.echo(f"{'en':<10}{'source':>12}{'100%':>10}  source language")
            continue
        status = catalog_status(language)
        review = "draft, awaiting native speaker" if status.draft else "reviewed"
        click.echo(f"{language:<10}{status.translated:>7}/{status.total:<4}{status.percent:>9.0f}%  {review}")
        for problem in status.problems[:5]:
            click.echo(f"{'':<10}- {problem}")


@i18n.command("compile")
def i18n_compile() -> None:
    """Compile the .po catalogs to .mo in the cache folder (the bot also does this when it needs one)."""
    written = compile_catalogs()
    click.echo(f"Compiled {len(written)} catalog(s) into {catalog_cache_dir()}.")


@main.group()
def content() -> None:
    """Training snippets under content/learn/."""


@content.command("check")
@click.option(
    "--dir", "root", type=click.Path(path_type=Path, file_okay=False), help="Content folder to check."
)
def content_check(root: Path | None) -> None:
    """Validate every snippet file; name each broken file and its problem (exit 1 if any)."""
    from storage.content import CONTENT_DIR, load_library

    library, problems = load_library(root or CONTENT_DIR, tuple(LANGUAGES))
    for problem in problems:
        click.echo(problem, err=True)
    languages = sorted({language for _id, language in library.snippets})
    english = library.all_ids()
    click.echo(
        f"{len(english)} snippets in {len(library.topics())} topics; {len(library.snippets)} files valid."
    )
    for language in languages:
        count = sum(1 for snippet_id in english if (snippet_id, language) in library.snippets)
        drafts = sum(1 for s in library.snippets.values() if s.language == language and s.draft)
        note = f" ({drafts} draft translations)" if drafts else ""
        click.echo(f"  {language}: {count}/{len(english)}{note}")
    if problems:
        raise click.ClickException(f"{len(problems)} file(s) have problems")


@main.group()
def whatsapp() -> None:
    """The WhatsApp channel (Cloud API)."""


@whatsapp.group("templates")
def whatsapp_templates() -> None:
    """The message templates the bot sends outside WhatsApp's 24-hour window
    (content/whatsapp_templates.yaml)."""


@whatsapp_templates.command("check")
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Catalogue to check (default: the one the bot ships with).",
)
def whatsapp_templates_check(path: Path | None) -> None:
    """Check that every kind of message the bot starts on its own (broadcasts, campaign messages,
    replies to reports, weekly snippets, digests, approvals, forwarded questions) has an English
    template, and that every template is one Meta would approve and the bot can fill: its name,
    category, language, placeholders {{1}}..{{n}} against its variables, length and buttons.

    Prints each problem and exits 1; otherwise prints how many templates there are, then which
    languages fall back to English, and why.
    """
    from bot.whatsapp_templates import TemplatesError, load

    try:
        catalogue = load(path)
    except TemplatesError as exc:
        raise click.ClickException(str(exc)) from None
    problems = catalogue.check(outbox.KINDS)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the WhatsApp templates")
    languages = catalogue.languages()
    click.echo(
        f"{catalogue.count} templates for {len(catalogue.kinds())} kinds in {len(languages)} "
        f"language{'s' if len(languages) != 1 else ''}: OK"
    )
    for note in catalogue.notes(outbox.KINDS):
        click.echo(f"  {note}")


@main.command()
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Workers in this process."
)
@click.option(
    "--until-idle", is_flag=True, help="Stop once nothing is left to send (instead of waiting for more)."
)
@click.option(
    "--lease",
    type=click.IntRange(min=0),
    default=120,
    show_default=True,
    help="Seconds after which another worker's unfinished claim counts as abandoned and is re-sent. "
    "Use 0 after a crash when no other worker is running.",
)
def deliver(workers: int, until_idle: bool, lease: int) -> None:
    """Send queued broadcast messages (a delivery worker). Run several on one PostgreSQL to share the work;
    every process sending with the token takes its share of CHAMPBOT_DELIVERY_RATE (and of
    CHAMPBOT_WHATSAPP_RATE)."""
    from bot.app import whatsapp_out
    from bot.budget import Budget
    from bot.channels import open_database, run_delivery, stop_on_signals
    from bot.heartbeat import sharing

    settings = _settings()
    _logging()

    async def go() -> None:
        engine, sessions = await open_database(settings)
        budget = Budget(settings.delivery_rate or None)
        whatsapp = whatsapp_out(settings, sessions)  # None without WhatsApp
        more = (whatsapp.budget,) if whatsapp is not None else ()
        try:
            async with sharing(budget, sessions, *more):
                stop = stop_on_signals()
                await run_delivery(
                    settings,
                    sessions,
                    stop,
                    budget,
                    workers=workers,
                    until_idle=until_idle,
                    lease=lease,
                    whatsapp=whatsapp,
                )
        finally:
            if whatsapp is not None:
                await whatsapp.client.close()
            await engine.dispose()

    _run(go())


ROWS_LISTED = 100  # rows `champbot outbox` lists at most under each heading


def _age(seconds: float) -> str:
    """A wait, roughly: 45 s, 12 min, 5 h, 3 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size * (2 if unit == "d" else 1):
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def _list_rows(heading: str, rows: list[Row], total: int, *, reasons: bool) -> None:
    """Print a heading and a table of rows by ids only (with attempts and reason for failed rows),
    and how many more there are."""
    click.echo(heading)
    width = max(len("kind"), *(len(row.kind) for row in rows))
    columns = f"  {'row':>10}  {'kind':<{width}}  {'champion':>10}"
    click.echo(columns + ("  attempts  reason" if reasons else ""))
    for row in rows:
        line = f"  {row.id:>10}  {row.kind:<{width}}  {row.champion_id:>10}"
        if reasons:
            line += f"  {row.attempts:>8}  {row.error or '(no reason kept)'}"
        click.echo(line)
    if total > len(rows):
        click.echo(f"  ... and {total - len(rows)} more; --kind shows one kind's.")


@main.command("outbox")
@click.option("--kind", type=click.Choice(outbox.KINDS), help="Only this kind.")
@click.option(
    "--failed",
    "list_failed",
    is_flag=True,
    help="Also list the failed rows: id, kind, champion id, attempts and reason.",
)
def outbox_status(kind: str | None, list_failed: bool) -> None:
    """What the outbox holds, per kind: rows pending, sending (in flight), sent, failed, blocked and
    skipped, and how long the oldest pending row has been due (rows held for quiet hours or a retry
    count from when they fall due); the most common reasons rows failed; and the rows that were in
    flight when a worker stopped, so may have been received twice.

    Rows are named by their id, kind and champion id only: no names, Telegram ids or message text.
    """
    from storage import outbox_figures
    from storage.models import utcnow

    now = utcnow()

    async def go(
        sessions: async_sessionmaker[AsyncSession],
    ) -> tuple[list[KindFigures], tuple[list[Row], int], tuple[list[Row], int] | None]:
        async with sessions() as session:
            figures = await outbox_figures.by_kind(session, now, kind)
            twice = await outbox_figures.possibly_twice(session, kind, ROWS_LISTED)
            failed = await outbox_figures.failed(session, kind, ROWS_LISTED) if list_failed else None
            return figures, twice, failed

    figures, (twice, twice_total), failed = _with_sessions(go)
    if not figures:
        click.echo(f"No rows of kind {kind!r} in the outbox." if kind else "The outbox is empty.")
        return
    width = max(len("kind"), *(len(f.kind) for f in figures))
    states = outbox_figures.STATES
    click.echo(f"{'kind':<{width}}" + "".join(f"{state:>9}" for state in states) + "  oldest pending")
    for f in figures:
        waited = _age((now - f.oldest_due).total_seconds()) if f.oldest_due else "-"
        counts = "".join(f"{f.counts.get(state, 0):>9}" for state in states)
        click.echo(f"{f.kind:<{width}}{counts}  {waited}")
    reasons = [(f.kind, error, count) for f in figures for error, count in f.reasons]
    if reasons:
        click.echo("Most common failure reasons:")
        for reason_kind, error, count in reasons:
            click.echo(f"  {reason_kind:<{width}}{count:>7}  {error or '(no reason kept)'}")
    if twice:
        _list_rows(
            "In flight when a worker stopped, so possibly received twice:", twice, twice_total, reasons=False
        )
    if failed is not None:
        rows, total = failed
        if rows:
            _list_rows("Failed rows:", rows, total, reasons=True)
        else:
            click.echo("No failed rows.")


@main.group()
def broadcast() -> None:
    """Send a message to champions now or later, and see how delivery went."""


@broadcast.command("send")
@click.option("--text", required=True, help="The English text (every language falls back to it).")
@click.option(
    "--translation", "translations", multiple=True, metavar="LANG=TEXT", help="A version, e.g. pl='...'."
)
@click.option("--area", "areas", multiple=True, help="Only champions in this area (repeatable).")
@click.option("--network", "networks", multiple=True, help="Only champions in this network (repeatable).")
@click.option(
    "--language", "languages", multiple=True, type=click.Choice(list(LANGUAGES)), help="Only these languages."
)
@click.option("--at", "send_at", help="Send at this local time, 'YYYY-MM-DD HH:MM' (default: now).")
@click.option("--timezone", default="Europe/London", show_default=True, help="Time zone of --at.")
@click.option("--urgent", is_flag=True, help="Send inside quiet hours too.")
@click.option("--no-answer-buttons", is_flag=True, help="Leave out the answer-back buttons.")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def broadcast_send(
    text: str,
    translations: tuple[str, ...],
    areas: tuple[str, ...],
    networks: tuple[str, ...],
    languages: tuple[str, ...],
    send_at: str | None,
    timezone: str,
    urgent: bool,
    no_answer_buttons: bool,
    yes: bool,
) -> None:
    """Schedule a broadcast; the running bot (or `champbot deliver`) sends it."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from storage import audience, directory, local_time
    from storage.audience import Audience

    texts = {"en": text}
    for item in translations:
        language, _, version = item.partition("=")
        if language not in LANGUAGES or not version.strip():
            raise click.ClickException(
                f"--translation {item!r}: use LANG=TEXT with LANG one of {', '.join(LANGUAGES)}"
            )
        texts[language] = version
    when = None
    if send_at:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.ClickException(f"--timezone {timezone!r}: not a known time zone") from None
        try:
            when = local_time.parse(send_at, zone)
        except local_time.SkippedTime as exc:
            raise click.ClickException(f"--at {send_at!r}: {exc}") from None
        if when is None:
            raise click.ClickException(f"--at {send_at!r}: use '{local_time.SHOWN}'")
        if when < datetime.now(UTC):
            raise click.ClickException(f"--at {send_at!r} is in the past")

    async def go(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
        async with sessions.begin() as session:
            area_ids = [a.id for a in await directory.list_areas(session) if a.name in areas]
            network_ids = [n.id for n in await directory.list_networks(session) if n.name in networks]
            if len(area_ids) != len(set(areas)) or len(network_ids) != len(set(networks)):
                raise click.ClickException("an --area or --network name is not known")
            chosen = Audience(areas=area_ids, networks=network_ids, languages=list(languages))
            size = await audience.size(session, chosen)
            if size == 0:
                raise click.ClickException("nobody is in that audience (active, consenting champions only)")
            if not yes and not click.confirm(f"Send to {size} champion(s)?"):
                raise click.Abort()
            made = await broadcasts.create_broadcast(
                session,
                texts=texts,
                audience=chosen,
                send_at=when,
                answer_back=not no_answer_buttons,
                urgent=urgent,
            )
            if when is None:  # now: queued at once, and the delivery workers are told
                await broadcasts.enqueue(session, made)
            return made.id, size

    broadcast_id, size = _with_sessions(go)
    click.echo(
        f"Broadcast {broadcast_id} to {size} champion(s) is {'queued' if when is None else 'scheduled'}; "
        f"see `champbot broadcast report {broadcast_id}`."
    )


@broadcast.command("report")
@click.argument("broadcast_id", type=int)
def broadcast_report(broadcast_id: int) -> None:
    """Delivery figures for a broadcast: sent, pending, failed, blocked, and who may have got it twice."""

    async def go(sessions: async_sessionmaker[AsyncSession]) -> broadcasts.Report:
        async with sessions.begin() as session:
            try:
                return await broadcasts.report(session, broadcast_id)
            except LookupError as exc:
                raise click.ClickException(str(exc)) from None

    result = _with_sessions(go)
    counts = result.counts
    click.echo(
        f"Broadcast {broadcast_id} ({result.status}): {counts.get('sent', 0)} sent, "
        f"{result.pending} pending, "
        f"{counts.get('failed', 0)} failed, {counts.get('blocked', 0)} blocked, of {result.total}."
    )
    if result.possibly_twice:
        click.echo(
            f"In flight when a worker stopped, so possibly received twice: champions {result.possibly_twice}"
        )


@main.group()
def campaign() -> None:
    """Campaigns: named series of scheduled messages, kept as YAML files (examples in content/campaigns/)."""


def _campaign_work(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction; a campaign problem ends it with one line."""
    from storage.campaigns import CampaignError

    async def go(sessions: async_sessionmaker[AsyncSession]) -> T:
        async with sessions.begin() as session:
            return await work(session)

    try:
        return _with_sessions(go)
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None


@campaign.command("load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; change nothing.")
def campaign_load(file: Path, dry_run: bool) -> None:
    """Create or update a campaign from a YAML FILE.

    A campaign with the file's name is updated, else a new one is created.

    Messages are matched by key: those not yet sent are edited, added or cancelled to match the
    file; those already sent are left as they were. Errors name the file's line. The format is
    described at the top of each example in content/campaigns/.
    """
    from zoneinfo import ZoneInfo

    from storage import campaigns
    from storage.models import utcnow

    try:
        spec = campaigns.read_campaign(file, tuple(LANGUAGES))
    except campaigns.CampaignError as exc:
        raise click.ClickException(str(exc)) from None

    async def go(session: AsyncSession) -> campaigns.LoadResult:
        return await campaigns.load_campaign(session, spec, utcnow(), dry_run=dry_run)

    result = _campaign_work(go)
    labels = {
        campaigns.ADD: "added",
        campaigns.UPDATE: "updated",
        campaigns.CANCEL: "cancelled",
        campaigns.SAME: "unchanged",
        campaigns.KEEP: "already sent or missed, left as they were",
    }
    counts = ", ".join(f"{result.count(a)} {label}" for a, label in labels.items() if result.count(a))
    done = "created" if result.created else "updated"
    verb = f"would be {done}" if dry_run else done
    click.echo(f"Campaign {result.name!r} {verb} ({result.status}); messages: {counts}.")
    zone = ZoneInfo(result.timezone)
    for change in sorted(result.changes, key=lambda c: c.send_at):
        if dry_run:
            click.echo(
                f"  {change.action:<10} {change.send_at.astimezone(zone):%Y-%m-%d %H:%M}  {change.key}"
            )
        if change.edited:
            click.echo(f"  {change.key} is no longer scheduled (sent or missed): its changes were left out.")
    if dry_run:
        click.echo(f"Dry run: nothing was saved. Times are in {result.timezone}.")


@campaign.command("export")
@click.argument("name")
def campaign_export(name: str) -> None:
    """Print campaign NAME as a YAML file, to edit and load again.

    Weekly messages come out one by one under their keys (reminder#1, reminder#2, ...); messages
    already sent are included, and loading the file again leaves them alone.
    """
    from storage import campaigns

    async def go(session: AsyncSession) -> str:
        return await campaigns.export_campaign(session, await campaigns.find_campaign(session, name))

    click.echo(_campaign_work(go), nl=False)


@campaign.command("list")
def campaign_list() -> None:
    """List campaigns with their status, messages scheduled and sent, and next send time."""
    from zoneinfo import ZoneInfo

    from storage import campaigns

    summaries = _campaign_work(campaigns.list_campaigns)
    if not summaries:
        click.echo("No campaigns yet; load one with `champbot campaign load FILE`.")
        return
    width = max(4, *(len(s.name) for s in summaries))
    click.echo(f"{'name':<{width}}  {'status':<9} {'scheduled':>9} {'sent':>5} {'missed':>6}  next send")
    for s in summaries:
        upcoming = (
            f"{s.next_at.astimezone(ZoneInfo(s.timezone)):%Y-%m-%d %H:%M} {s.timezone}" if s.next_at else "-"
        )
        click.echo(f"{s.name:<{width}}  {s.status:<9} {s.scheduled:>9} {s.sent:>5} {s.missed:>6}  {upcoming}")


@campaign.command("pause")
@click.argument("name")
def campaign_pause(name: str) -> None:
    """Pause campaign NAME: its messages wait until it is resumed."""
    from storage import campaigns

    async def go(session: AsyncSession) -> None:
        campaigns.pause_campaign(await campaigns.find_campaign(session, name))

    _campaign_work(go)
    click.echo(f"Campaign {name!r} is paused; `champbot campaign resume` lets its messages go again.")


@campaign.command("resume")
@click.argument("name")
def campaign_resume(name: str) -> None:
    """Resume campaign NAME after a pause."""
    from storage import campaigns
    from storage.models import utcnow

    async def go(session: AsyncSession) -> int:
        return await campaigns.resume_campaign(
            session, await campaigns.find_campaign(session, name), utcnow()
        )

    overdue = _campaign_work(go)
    click.echo(f"Campaign {name!r} is active again.")
    if overdue:
        click.echo(
            f"{overdue} message(s) fell due while it was paused: the bot sends those within its grace "
            "period (CHAMPBOT_SCHEDULE_GRACE_MINUTES) and marks older ones missed."
        )


@campaign.command("cancel")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def campaign_cancel(name: str, yes: bool) -> None:
    """Cancel campaign NAME for good. Messages not yet sent are cancelled; sent ones keep their figures."""
    from storage import campaigns

    if not yes and not click.confirm(f"Cancel campaign {name!r} for good?"):
        raise click.Abort()

    async def go(session: AsyncSession) -> int:
        return await campaigns.cancel_campaign(session, await campaigns.find_campaign(session, name))

    click.echo(f"Campaign {name!r} is cancelled; {_campaign_work(go)} message(s) will not be sent.")


@main.group()
def export() -> None:
    """Export data as files (CSV or XLSX): `insights` for inside the organisation, `partner` for
    partners."""


EXPORT_PROGRESS_EVERY = 100_000
# write(session, filters, topics, out, path): a binary stream `out` for csv, the file `path` for xlsx.
ExportWriter = Callable[[AsyncSession, Any, list[Any], Any, Path | None], Awaitable[int]]


def _export_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options both report exports take: format, output file, and the filters."""
    for option in reversed(
        [
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["csv", "xlsx"]),
                default="csv",
                show_default=True,
                help="File type.",
            ),
            click.option(
                "--output",
                type=click.Path(path_type=Path, dir_okay=False),
                help="File to write (default for csv: standard output; required for xlsx).",
            ),
            click.option("--topic", help="Only this topic id (see content/report_topics.yaml)."),
            click.option(
                "--kind", help="Only this kind: barrier, works, question, misinfo, idea, success or concern."
            ),
            click.option("--area", help="Only reports from the area with this name."),
            click.option(
                "--since",
                type=click.DateTime(["%Y-%m-%d"]),
                metavar="YYYY-MM-DD",
                help="First day to include (UTC).",
            ),
            click.option(
                "--until",
                type=click.DateTime(["%Y-%m-%d"]),
                metavar="YYYY-MM-DD",
                help="Last day to include (UTC).",
            ),
        ]
    ):
        command = option(command)
    return command


def _export(
    fmt: str,
    output: Path | None,
    filters: dict[str, Any],
    write: ExportWriter,
) -> int:
    """Check the options, build the filters and run `write(session, filters, topics, out, path)`
    (`out` a binary stream for csv, `path` the file for xlsx); return how many reports."""
    import sys
    from datetime import UTC, timedelta

    from storage import directory
    from storage.report_topics import TopicsError, load_topics
    from storage.reports import ALL_KINDS, STATUSES, Filters

    topic, kind, area, status = (filters.get(key) for key in ("topic", "kind", "area", "status"))
    since, until = filters.get("since"), filters.get("until")
    try:
        topics = load_topics(languages=tuple(LANGUAGES))
    except TopicsError as exc:
        raise click.ClickException(f"content/report_topics.yaml: {exc}") from None
    for name, value, known in (
        ("--topic", topic, [t.id for t in topics]),
        ("--kind", kind, ALL_KINDS),
        ("--status", status, STATUSES),
    ):
        if value is not None and value not in known:
            raise click.ClickException(f"{name} {value!r} is not known; use one of: {', '.join(known)}")
    if fmt == "xlsx" and output is None:
        raise click.ClickException("--output is required for xlsx (it is not text to print)")
    if since and until and until < since:
        raise click.ClickException("--until is before --since")

    async def go(sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions() as session:
            area_id = None
            if area is not None:
                found = next((a for a in await directory.list_areas(session) if a.name == area), None)
                if found is None:
                    raise click.ClickException(f"--area {area!r}: no area with that name")
                area_id = found.id
            chosen = Filters(
                topic=topic,
                kind=kind,
                area_id=area_id,
                status=status,
                since=since.replace(tzinfo=UTC) if since else None,
                until=until.replace(tzinfo=UTC) + timedelta(days=1) if until else None,
            )
            if fmt == "xlsx":
                return await write(session, chosen, topics, None, output)
            if output is None:
                count = await write(session, chosen, topics, sys.stdout.buffer, None)
                sys.stdout.flush()
                return count
            with output.open("wb") as out:
                return await write(session, chosen, topics, out, None)

    return _with_sessions(go)


@export.command("insights")
@_export_options
@click.option("--status", help="Only reports with this status: new, seen or acted.")
def export_insights(fmt: str, output: Path | None, **filters: Any) -> None:
    """Export champions' reports for use INSIDE the organisation, as CSV or XLSX: its first line
    says it is not for sharing, then one row per report, oldest first.

    Anonymous reports carry no name or language and only the day they were sent, and no column
    identifies a champion by id. For anything leaving the organisation use `champbot export
    partner`. Progress goes to standard error every 100,000 reports.
    """
    from storage import insight_export

    def progress(count: int) -> None:
        if count % EXPORT_PROGRESS_EVERY == 0:
            click.echo(f"{count:,} reports written…", err=True)

    async def write(
        session: AsyncSession, chosen: Any, topics: list[Any], out: Any, path: Path | None
    ) -> int:
        if path is not None:
            return await insight_export.write_xlsx(session, chosen, topics, path, progress)
        return await insight_export.write_csv(session, chosen, topics, out, progress)

    count = _export(fmt, output, filters, write)
    click.echo(f"Exported {count:,} report(s){f' to {output}' if output else ''}.", err=True)


@export.command("partner")
@_export_options
@click.option(
    "--with-text",
    is_flag=True,
    help="Add what the consenting champions wrote (a second table or sheet, with its month only).",
)
def export_partner(fmt: str, output: Path | None, with_text: bool, **filters: Any) -> None:
    """Export reports for PARTNERS (such as the NHS or the council), as CSV or XLSX.

    Only reports whose champion agrees, today, to sharing with partners are included (a champion
    who withdraws in /privacy drops out of the next export). The file counts them by month (UTC),
    topic with its Core20PLUS5 area, kind and area; any count under 5 is shown as "<5". There are
    no names, references, ids, languages or exact dates, and no free text unless --with-text is
    given: then what those champions wrote follows, each with its month, topic, kind and area only.
    """
    from storage import insight_export

    async def write(
        session: AsyncSession, chosen: Any, topics: list[Any], out: Any, path: Path | None
    ) -> int:
        if path is not None:
            return await insight_export.write_partner_xlsx(
                session, chosen, topics, path, with_text=with_text
            )
        return await insight_export.write_partner_csv(session, chosen, topics, out, with_text=with_text)

    count = _export(fmt, output, filters, write)
    click.echo(f"Exported {count:,} report(s) for partners{f' to {output}' if output else ''}.", err=True)


@main.group()
def report() -> None:
    """Reports for partners, made from the bot's figures: `impact`."""


@report.command("impact")
@click.option(
    "--period",
    required=True,
    help="The period: a quarter like 2027-Q1, a month like 2027-03, or a year like 2027 (UTC).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File to write (default: impact-PERIOD.html here); a name ending in .pdf writes a PDF, "
    "if WeasyPrint is installed.",
)
@click.option(
    "--language", type=click.Choice(list(LANGUAGES)), default="en", show_default=True, help="Its language."
)
def report_impact(period: str, output: Path | None, language: str) -> None:
    """Write the impact report for PARTNERS: one printable A4 page (HTML, with its styles inline).

    It shows the headline figures beside the period before (reports from champions who agree to
    sharing, champions active, conversations and people reached, messages sent and passed on),
    reports each month by topic as a chart with its table, the top themes with what was done, and
    the success stories coordinators wrote for reports whose champions agree to sharing. Counts
    under 5 are shown as "<5". A period with nothing in it gives a report that says so.
    """
    from bot.i18n import translator
    from bot.impact_report import render, write
    from storage.impact import impact
    from storage.periods import PeriodError, parse_period
    from storage.report_topics import TopicsError, load_topics

    try:
        chosen = parse_period(period)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    try:
        topics = load_topics(languages=tuple(LANGUAGES))
    except TopicsError as exc:
        raise click.ClickException(f"content/report_topics.yaml: {exc}") from None
    path = output or Path(f"impact-{chosen.label}.html")
    if not path.parent.is_dir():
        raise click.ClickException(f"{path.parent} is not a folder")

    async def go(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions() as session:
            figures = await impact(session, chosen)
        return render(translator(language), topics, figures)

    html = _with_sessions(go)
    try:
        write(path, html)
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote the impact report for {chosen.label} to {path}.", err=True)
