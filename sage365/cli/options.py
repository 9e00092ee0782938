"""Option parsing shared by the commands."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer


def parse_today(value: Optional[str]) -> dt.date:
    """--today: a YYYY-MM-DD date, or today's date when not given."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)", param_hint="--today") from None
