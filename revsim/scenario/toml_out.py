"""Write a scenario mapping back to TOML (used to save the scenario as run, overrides applied)."""

from __future__ import annotations

from typing import Any

import tomli_w


def dumps(raw: dict[str, Any]) -> str:
    """TOML text for a raw scenario mapping (comments are not preserved)."""
    return tomli_w.dumps(raw)
