"""The sandbox's chat history in its data folder, so a restart shows the earlier messages.

The emulators keep chats in memory only; the sandbox writes every chat's messages (Telegram's and
WhatsApp's), and the newcomers invite links brought to the page, to one JSON file each time a chat
changes, and each file or media a message shows once, beside it, and loads them at start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bot.emulator import Emulator, StoredFile
from bot.whatsapp_emulator import Media, WhatsAppEmulator

HISTORY_FILE = "sandbox-chats.json"
FILES_DIR = "sandbox-files"
MEDIA_PREFIX = "wa-"  # a WhatsApp media id's file, beside Telegram's files
KEPT = 10 * 365 * 24 * 3600.0  # seconds a media id of an earlier run stays valid: the page shows it


class History:
    """Where the sandbox keeps what its page shows."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / HISTORY_FILE
        self.files_dir = data_dir / FILES_DIR
        self._saved_files: set[str] = set()
        self.newcomers: list[dict[str, Any]] = []  # people added to the page, as the page lists them

    def load_newcomers(self) -> list[dict[str, Any]]:
        """The newcomers of the last run (to add to the emulators before `load`)."""
        if self.path.exists():
            self.newcomers = json.loads(self.path.read_text(encoding="utf-8")).get("newcomers", [])
        return self.newcomers

    def load(self, emulator: Emulator, whatsapp: WhatsAppEmulator | None = None) -> None:
        """Give the emulators the chats and files of the last run, if there was one (WhatsApp
        people must have been added: a chat of someone no longer in the sandbox is left out)."""
        if not self.path.exists():
            return
        saved = json.loads(self.path.read_text(encoding="utf-8"))
        files = {
            file_id: StoredFile(meta["name"], meta["content_type"], (self.files_dir / file_id).read_bytes())
            for file_id, meta in saved["files"].items()
        }
        emulator.restore({int(chat_id): messages for chat_id, messages in saved["chats"].items()}, files)
        self._saved_files = set(files)
        if whatsapp is None or "whatsapp" not in saved:
            return
        kept: dict[str, Any] = saved["whatsapp"]
        media = {
            media_id: Media(
                media_id,
                (self.files_dir / (MEDIA_PREFIX + media_id)).read_bytes(),
                meta["mime"],
                whatsapp.now(),
                KEPT,
                meta.get("filename"),
            )
            for media_id, meta in kept["media"].items()
        }
        chats = {
            address: messages for address, messages in kept["chats"].items() if address in whatsapp.people
        }
        whatsapp.restore(chats, media)
        self._saved_files |= {MEDIA_PREFIX + media_id for media_id in media}

    def watch(self, emulator: Emulator, whatsapp: WhatsAppEmulator | None = None) -> None:
        """Save the chats whenever one changes."""
        emulator.listener = lambda _event, _chat_id: self.save(emulator, whatsapp)
        if whatsapp is not None:
            whatsapp.listener = lambda _event, _address: self.save(emulator, whatsapp)

    def save(self, emulator: Emulator, whatsapp: WhatsAppEmulator | None = None) -> None:
        """Write any new files, then every chat's messages (to a new file moved into place, so a
        stop half-way through a write leaves the last whole history)."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for file_id in emulator.files.keys() - self._saved_files:
            (self.files_dir / file_id).write_bytes(emulator.files[file_id].content)
            self._saved_files.add(file_id)
        saved: dict[str, Any] = {
            "chats": {str(chat_id): chat.messages for chat_id, chat in emulator.chats.items()},
            "files": {
                file_id: {"name": stored.name, "content_type": stored.content_type}
                for file_id, stored in emulator.files.items()
            },
            "newcomers": self.newcomers,
        }
        if whatsapp is not None:
            for media_id, media in whatsapp.media.items():
                if MEDIA_PREFIX + media_id not in self._saved_files:
                    (self.files_dir / (MEDIA_PREFIX + media_id)).write_bytes(media.data)
                    self._saved_files.add(MEDIA_PREFIX + media_id)
            saved["whatsapp"] = {
                "chats": {address: person.messages for address, person in whatsapp.people.items()},
                "media": {
                    media_id: {"mime": media.mime, "filename": media.filename}
                    for media_id, media in whatsapp.media.items()
                },
            }
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.path)
