"""Files people send on WhatsApp, kept under the data folder: WhatsApp's media ids expire after 7
days, and a coordinator may open a report weeks later. A kept file's id is "local:<name>"."""

from __future__ import annotations

import logging
import mimetypes
import secrets
from pathlib import Path

from bot.replies import Media

log = logging.getLogger(__name__)

LOCAL = "local:"
FOLDER = "media"


def keep(data_dir: Path, data: bytes, mime: str) -> str:
    """Store a received file; the file id reports keep for it."""
    folder = data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    extension = mimetypes.guess_extension(mime.split(";")[0].strip()) or ".bin"
    name = secrets.token_hex(12) + extension
    (folder / name).write_bytes(data)
    return LOCAL + name


def path(data_dir: Path, file_id: str) -> Path | None:
    """Where a kept file is (None for a file id of the channel's own)."""
    if not file_id.startswith(LOCAL):
        return None
    name = Path(file_id.removeprefix(LOCAL)).name  # never a path out of the folder
    return data_dir / FOLDER / name


def as_media(data_dir: Path, kind: str, file_id: str) -> Media:
    """A report's media to show: a kept file's bytes, or the channel's own file id."""
    where = path(data_dir, file_id)
    if where is None:
        return Media(kind, file_id)
    return Media(kind, where.read_bytes(), where.name)


def forget(data_dir: Path, file_ids: list[str]) -> None:
    """Delete kept files (with the reports that had them)."""
    for file_id in file_ids:
        where = path(data_dir, file_id)
        if where is not None:
            where.unlink(missing_ok=True)
