"""Set-up: settings that stop start-up with one clear line, the command line, reversible migrations."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import SettingsError, load_settings
from storage import champions
from storage.db import downgrade, make_engine, upgrade
from storage.models import Base


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"signup_mode": "everyone"}, "CHAMPBOT_SIGNUP_MODE"),
        ({"default_language": "xx"}, "CHAMPBOT_DEFAULT_LANGUAGE"),
        ({"api_base_url": "api.telegram.org"}, "CHAMPBOT_API_BASE_URL"),
        ({"database_url": "postgresql://x/y"}, "CHAMPBOT_DATABASE_URL"),
        ({"webhook_port": 0}, "CHAMPBOT_WEBHOOK_PORT"),
    ],
)
def test_a_wrong_setting_is_named_in_one_line(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(**overrides)
    message = str(raised.value)
    assert message.startswith(f"{named}:") and "\n" not in message


def test_webhook_without_a_secret_is_refused() -> None:
    with pytest.raises(SettingsError, match="CHAMPBOT_WEBHOOK_SECRET is required"):
        load_settings(webhook_url="https://example.org/telegram")


def champbot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "champbot"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_cli_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    result = champbot("run", env={"CHAMPBOT_SIGNUP_MODE": "nobody", "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: CHAMPBOT_SIGNUP_MODE: Input should be 'open', 'invite' or 'approval'"
    ]


def test_cli_names_an_unreachable_bot_api_or_database(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "CHAMPBOT_TOKEN": "1:x",
        "CHAMPBOT_DATA_DIR": str(tmp_path),
        "CHAMPBOT_API_BASE_URL": f"http://127.0.0.1:{closed}",
    }
    result = champbot("run", env=env, cwd=tmp_path)
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("Error: CHAMPBOT_API_BASE_URL: cannot reach the Bot API server")
    env["CHAMPBOT_DATABASE_URL"] = f"postgresql+asyncpg://nobody@127.0.0.1:{closed}/none"
    result = champbot("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("Error: CHAMPBOT_DATABASE_URL: cannot open the database")


def test_cli_run_needs_a_token(tmp_path: Path) -> None:
    result = champbot("run", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode != 0 and "CHAMPBOT_TOKEN" in result.stderr and "sandbox" in result.stderr


def test_cli_sets_up_a_database_with_people_and_places(tmp_path: Path) -> None:
    env = {"CHAMPBOT_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    assert champbot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    assert (
        champbot("area", "add", "Northfield", "Old Town", env=env, cwd=tmp_path).stdout
        == "Added 2 new area(s).\n"
    )
    assert champbot("area", "add", "Northfield", env=env, cwd=tmp_path).stdout == "Added 0 new area(s).\n"
    assert champbot("network", "add", "Youth clubs", env=env, cwd=tmp_path).returncode == 0
    assert champbot("coordinator", "add", "4242", "--name", "Sam", env=env, cwd=tmp_path).returncode == 0
    link = champbot(
        "invite",
        "create",
        "--network",
        "youth clubs",
        "--uses",
        "1",
        "--bot-username",
        "mybot",
        env=env,
        cwd=tmp_path,
    ).stdout.strip()
    assert link.startswith("https://t.me/mybot?start=")
    missing = champbot("invite", "create", "--network", "Chess", env=env, cwd=tmp_path)
    assert missing.returncode != 0 and "no network called 'Chess'" in missing.stderr
    assert champbot("coordinator", "remove", "4242", env=env, cwd=tmp_path).returncode == 0
    assert champbot("coordinator", "remove", "4242", env=env, cwd=tmp_path).returncode != 0
    assert (tmp_path / "data" / "champbot.db").exists()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["webhook"],
        ["web"],
        ["audit"],
        ["sandbox"],
        ["db", "upgrade"],
        ["coordinator", "add"],
        ["area", "add"],
        ["network", "add"],
        ["invite", "create"],
        ["i18n", "status"],
        ["outbox"],
    ],
)
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = champbot(*command, "--help", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 0 and "Usage: champbot" in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_i18n_status_prints_each_language(tmp_path: Path) -> None:
    lines = champbot("i18n", "status", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path).stdout.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["en", "ar", "bn", "pl", "pt", "ro", "so", "ur"]
    assert all("100%" in line and "draft" in line for line in lines[2:])


async def test_migrations_go_down_and_up_again(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    engine = make_engine(database_url)
    try:
        await downgrade(engine, "base")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert "champion" not in tables
        await upgrade(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert {"champion", "area", "network", "invite", "conversation_state", "champion_network"} <= set(
            tables
        )
    finally:
        await engine.dispose()
    async with sessions.begin() as session:
        await champions.make_coordinator(session, 1, "Sam", "en")


async def test_a_reply_stored_but_untold_before_the_upgrade_is_queued_by_it(database_url: str) -> None:
    engine = make_engine(database_url)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    try:
        await downgrade(engine, "0008")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO champion (id, telegram_id, language, timezone, role, status, share_consent, "
                    "created_at, updated_at) VALUES (1, 5, 'en', 'Europe/London', 'champion', 'active', "
                    "false, :now, :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO report (id, champion_id, topic, kind, text, people, anonymous, language, "
                    "status, created_at, updated_at) VALUES (7, 1, 'other', 'idea', 'x', 'one', true, 'en', "
                    "'acted', :now, :now)"
                ),
                {"now": now},
            )
            await connection.execute(
                text(
                    "INSERT INTO report_reply (id, report_id, text, theme, created_at, notified_at) VALUES "
                    "(3, 7, 'told', false, :now, :now), (4, 7, 'untold', false, :now, NULL)"
                ),
                {"now": now},
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT kind, lane, champion_id, payload FROM delivery"))
            ).all()
    finally:
        async with engine.begin() as connection:
            for table in ("delivery", "report_reply", "report", "champion"):
                await connection.execute(text(f"DELETE FROM {table}"))
        await engine.dispose()
    assert [
        (kind, lane, champion, json.loads(payload) if isinstance(payload, str) else payload)
        for kind, lane, champion, payload in rows
    ] == [("reply", 1, 1, {"reply": 4})]


async def test_the_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    """A column or index added to a model but not to a migration (or the other way) shows here."""
    engine = make_engine(database_url)

    def differences(connection: Connection) -> list[Any]:
        def built_here(item: Any, *_: Any) -> bool:
            """An index only some databases build (`ddl_if(dialect=...)`: the PostgreSQL trigram
            index) is expected only there."""
            only = getattr(item, "_ddl_if", None)
            return only is None or only.dialect in (None, connection.dialect.name)

        options = {"compare_type": False, "compare_server_default": False, "include_object": built_here}
        return list(compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata))

    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert found == []


async def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 30000
    finally:
        await engine.dispose()


def test_sandbox_on_a_busy_port_says_which_and_how_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as holder:  # something else already listening on the port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        result = champbot(
            "sandbox", "--port", str(busy), "--data-dir", str(tmp_path / "data"), env=env, cwd=tmp_path
        )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Error: port {busy} is taken (something else is listening on 127.0.0.1:{busy}); choose another "
        f"with `make sandbox PORT={busy + 1}` or `champbot sandbox --port {busy + 1}`"
    ]
    assert result.stdout == ""


def make_dry_run(target: str, tmp_path: Path, *args: str) -> str:
    """What `make TARGET` would run in a fresh clone (a venv not made yet)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parent.parent
    fresh = f"VENV={tmp_path / 'venv'}"
    command = ["make", "-n", "--no-print-directory", "-C", str(root), target, fresh, *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def test_make_sandbox_installs_only_what_running_needs_on_the_port_asked_for(tmp_path: Path) -> None:
    commands = make_dry_run("sandbox", tmp_path, "PORT=8123").splitlines()
    installs = [line for line in commands if " install " in line and "--upgrade pip" not in line]
    assert [line.split()[-1] for line in installs] == ["."]
    assert commands[-1].endswith("/champbot sandbox --port 8123")
    assert make_dry_run("sandbox", tmp_path).splitlines()[-1].endswith("/champbot sandbox --port 8080")


@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_test_and_lint_add_the_test_extras(target: str, tmp_path: Path) -> None:
    assert '-e ".[test]"' in make_dry_run(target, tmp_path)


async def test_every_telegram_champion_gets_their_identity_in_the_upgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    try:
        await downgrade(engine, "0009")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO champion (id, telegram_id, language, timezone, role, status, share_consent, "
                    "created_at, updated_at) VALUES (1, 5, 'en', 'Europe/London', 'champion', 'active', "
                    "false, :now, :now), (2, 987654321012, 'pl', 'Europe/London', 'coordinator', 'active', "
                    "false, :now, :now)"
                ),
                {"now": now},
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT chat_id, channel, address, champion_id FROM identity ORDER BY champion_id")
                )
            ).all()
    finally:
        async with engine.begin() as connection:
            for table in ("identity", "champion"):
                await connection.execute(text(f"DELETE FROM {table}"))
        await engine.dispose()
    assert [tuple(row) for row in rows] == [
        (5, "telegram", "5", 1),
        (987654321012, "telegram", "987654321012", 2),
    ]
