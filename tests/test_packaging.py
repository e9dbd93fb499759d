"""A built wheel, installed in a fresh virtual environment, works from any folder: it carries the
content, the report topics and the catalogs, and writes nothing into its own site-packages."""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import importlib.util
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.emulator import Emulator
from bot.i18n import translator
from storage.content import load_library
from tests.conftest import texts

ROOT = Path(__file__).resolve().parent.parent
# Left out of the copy the wheel is built from: local state, never part of a release. Compiled
# catalogs are copied if a checkout has any, so the wheel is checked not to pick them up.
NOT_SOURCE = shutil.ignore_patterns(
    *(".git", ".venv", "build", "dist", "data", "*.egg-info", "__pycache__", ".pytest_cache"),
    *(".hypothesis", "test-results", "*.db", "*.db-*", ".env"),
)
WAIT = 60.0  # a process start on a busy machine included


@dataclass
class Install:
    wheel: Path
    venv: Path
    site_packages: Path
    env: dict[str, str]
    cache: Path
    build_output: str  # what building the wheel printed, setuptools' own output included (pip -v)

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        command = [str(self.venv / "bin" / args[0]), *args[1:]]
        return subprocess.run(command, capture_output=True, text=True, env=self.env, cwd=cwd, timeout=WAIT)


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _set_writable(folder: Path, writable: bool) -> None:
    """Make a folder tree read-only (or writable again), as an install owned by another user is."""
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod((mode | stat.S_IWUSR) if writable else (mode & ~write))


def _quiet(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    """The project built into a wheel and installed, without its dependencies, in a new venv that
    borrows them from this one through a plain path line (which runs no editable-install hook)."""
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed here, so no wheel can be built")
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--quiet"]
    build = [sys.executable, "-m", "pip", "-v", "wheel", "--no-deps", "-w", str(work / "dist"), "."]
    build_output = _quiet(build, source)  # -v, for pip shows setuptools' warnings only then
    (wheel,) = (work / "dist").glob("champbot-*.whl")
    venv = work / "venv"
    _quiet([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    python = venv / "bin" / "python"
    _quiet([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], work)
    site_packages = Path(
        subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        .decode()
        .strip()
    )
    borrowed = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "borrowed-dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    home = work / "home"
    home.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PYTHONDONTWRITEBYTECODE": "1",  # the check below is about what the bot writes
    }
    _set_writable(site_packages, False)
    try:
        yield Install(wheel, venv, site_packages, env, home / ".cache", build_output)
    finally:
        _set_writable(site_packages, True)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An empty folder, far from the checkout, to run commands in."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_the_wheel_carries_content_catalogs_and_the_dashboard_but_no_mo_file(installed: Install) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        f"champbot_content/{path.relative_to(ROOT / 'content')}" for path in (ROOT / "content").rglob("*.*")
    } | {
        f"champbot_locales/{path.relative_to(ROOT / 'locales')}" for path in (ROOT / "locales").rglob("*.po*")
    } | {  # the dashboard's templates, its CSS and NHS.UK frontend's, with that one's licence
        f"bot/web/{path.relative_to(ROOT / 'bot' / 'web')}"
        for folder in ("templates", "static")
        for path in (ROOT / "bot" / "web" / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    } | {  # the national export's JSON Schema, which merge checks its inputs against
        f"storage/schemas/{path.name}" for path in (ROOT / "storage" / "schemas").glob("*.json")
    }
    assert "storage/schemas/national-export.schema.json" in expected
    assert "champbot_content/report_topics.yaml" in expected and len(expected) > 20
    assert {"bot/web/templates/base.html", "bot/web/static/nhsuk/LICENSE"} <= expected
    assert expected - names == set()
    assert [name for name in names if name.endswith(".mo")] == []


def test_the_wheel_builds_without_a_setuptools_warning(installed: Install) -> None:
    """The licence, for one, is an SPDX expression: the older table form warns and stops working in 2027."""
    warnings = [line.strip() for line in installed.build_output.splitlines() if "Setuptools" in line]
    assert warnings == []
    metadata = zipfile.ZipFile(installed.wheel).read("champbot-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata.splitlines()


def test_the_installed_package_is_the_one_imported(installed: Install, elsewhere: Path) -> None:
    script = "import bot, storage; print(bot.__file__, storage.__file__)"
    found = installed.run("python", "-c", script, cwd=elsewhere)
    assert found.returncode == 0, found.stderr
    assert all(Path(path).is_relative_to(installed.site_packages) for path in found.stdout.split())


def test_content_check_runs_from_another_folder(installed: Install, elsewhere: Path) -> None:
    library, problems = load_library()
    assert problems == [] and library.all_ids()
    result = installed.run("champbot", "content", "check", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"{len(library.all_ids())} snippets in {len(library.topics())} topics; "
        f"{len(library.snippets)} files valid."
    )


async def test_a_chat_turn_through_the_emulator_writes_nothing_into_site_packages(
    installed: Install, elsewhere: Path
) -> None:
    before = _files(installed.venv)
    emulator = Emulator()
    await emulator.start()
    env = {
        **installed.env,
        "CHAMPBOT_TOKEN": "1000001:packaging-test-token",
        "CHAMPBOT_API_BASE_URL": emulator.base_url,
        "CHAMPBOT_DATA_DIR": str(elsewhere / "data"),
        "CHAMPBOT_DELIVERY_WORKERS": "0",
    }
    log = elsewhere / "bot.log"
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            str(installed.venv / "bin" / "champbot"), "run", env=env, cwd=elsewhere, stderr=log_file
        )
    try:
        emulator.add_user(7001, "Ola", "pl")
        emulator.send(7001, "/start")

        def said() -> list[str]:
            return texts([m for m in emulator.history(7001) if m.get("from_bot")])

        async with asyncio.timeout(WAIT):
            while not said() and process.returncode is None:
                await emulator.wait_for_change(7001, 1.0)
        welcome = "Welcome! Please choose your language."
        assert translator("pl").gettext(welcome) != welcome
        assert said() == [translator("pl").gettext(welcome)], log.read_text()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), WAIT)
        await emulator.stop()
    assert returncode == 0, log.read_text()
    assert _files(installed.venv) == before  # root ignores the read-only mode, so look as well
    assert list(installed.cache.rglob("*.mo")), "the catalogs are compiled into the user's cache"
    assert set(os.listdir(elsewhere)) == {"data", "bot.log"}


def _needed(name: str) -> set[str]:
    """The distributions that installing `name` without extras brings in, itself included."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(name, frozenset[str]())]
    while todo:
        current, extras = todo.pop()
        dist = importlib.metadata.distribution(current)
        key = (canonicalize_name(dist.metadata["Name"]), extras)
        if key in seen:
            continue
        seen.add(key)
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in {"", *extras}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return {dist for dist, _extras in seen}


def _imported(path: Path) -> set[str]:
    """The top-level names a module imports absolutely, in functions as well as at the top."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_the_bot_imports_nothing_that_only_the_test_extras_install() -> None:
    """`make sandbox` installs the package without its test extras, so every import in bot/, handlers/
    and storage/ must come from the standard library, the project or what its base dependencies bring."""
    own = {"bot", "handlers", "storage", "champbot_content", "champbot_locales"}
    providers = importlib.metadata.packages_distributions()
    needed = _needed("champbot")
    outside = {
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("bot", "handlers", "storage")
        for path in (ROOT / folder).rglob("*.py")
        for name in _imported(path) - own - sys.stdlib_module_names
        if not {canonicalize_name(dist) for dist in providers.get(name, [])} & needed
    }
    assert outside == set()
