"""A storage backend whose disk is always full: how tests see what happens when storing a file fails."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import FileSystemStorage


class BrokenStorage(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        raise OSError(28, "No space left on device")
