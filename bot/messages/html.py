"""HTML helpers for messages: everything a person typed is escaped before it is shown."""

from __future__ import annotations

import html


def esc(value: object) -> str:
    """Escape anything a person typed before it goes into an HTML message."""
    return html.escape(str(value), quote=False)
