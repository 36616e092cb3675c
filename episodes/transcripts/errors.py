"""The one error every transcript parser raises: what is wrong, and on which line."""

from __future__ import annotations


class TranscriptError(ValueError):
    """A transcript file that cannot be used; ``line`` is 1-based, ``None`` for the whole file."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)
