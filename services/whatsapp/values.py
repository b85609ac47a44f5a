"""Graph API JSON values, read defensively (Meta sends numbers as ints or strings)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["as_int", "as_str"]


def as_int(value: Any) -> int | None:
    """An integer from an int or a digit string (Graph sends both), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    """A non-empty string or None."""
    return value if isinstance(value, str) and value else None
