"""The sandbox's chat history in its data folder, so a restart shows the earlier messages.

The emulator keeps chats in memory only; the sandbox writes every chat's messages to one JSON file
each time a chat changes, and each file a message shows once, beside it, and loads them at start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.emulator import Emulator, StoredFile

HISTORY_FILE = "sandbox-chats.json"
FILES_DIR = "sandbox-files"


class History:
    """Where the sandbox keeps what its page shows."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / HISTORY_FILE
        self.files_dir = data_dir / FILES_DIR
        self._saved_files: set[str] = set()

    def load(self, emulator: Emulator) -> None:
        """Give the emulator the chats and files of the last run, if there was one."""
        if not self.path.exists():
            return
        saved = json.loads(self.path.read_text(encoding="utf-8"))
        files = {
            file_id: StoredFile(meta["name"], meta["content_type"], (self.files_dir / file_id).read_bytes())
            for file_id, meta in saved["files"].items()
        }
        emulator.restore({int(chat_id): messages for chat_id, messages in saved["chats"].items()}, files)
        self._saved_files = set(files)

    def watch(self, emulator: Emulator) -> None:
        """Save the emulator's chats whenever one changes."""
        emulator.listener = lambda _event, _chat_id: self.save(emulator)

    def save(self, emulator: Emulator) -> None:
        """Write any new files, then every chat's messages (to a new file moved into place, so a
        stop half-way through a write leaves the last whole history)."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for file_id in emulator.files.keys() - self._saved_files:
            (self.files_dir / file_id).write_bytes(emulator.files[file_id].content)
            self._saved_files.add(file_id)
        saved = {
            "chats": {str(chat_id): chat.messages for chat_id, chat in emulator.chats.items()},
            "files": {
                file_id: {"name": stored.name, "content_type": stored.content_type}
                for file_id, stored in emulator.files.items()
            },
        }
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.path)
