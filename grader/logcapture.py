"""Collect what nbgrader logs, to put its reasons into our own error messages."""

from __future__ import annotations

import logging


class Capture(logging.Handler):
    """A logging handler that keeps the messages at or above ``level``."""

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
