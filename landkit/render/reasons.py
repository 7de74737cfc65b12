"""Why a figure of summary.json is null, as the analysis said it (one lookup rule for the
report, the ledger and the command-line headline; docs/summary-schema.md "Figures that cannot
be computed")."""
from __future__ import annotations


def figure_reason(section, key: str) -> str:
    """The reason for figure ``key`` (a path inside ``section``, e.g. ``idle_mu`` or
    ``idle.rate``): ``unavailable[key]``, else ``unavailable`` of its block, else the block's
    ``reason``, else the section's ``reason``; "" when the summary says nothing."""
    if not isinstance(section, dict):
        return ""
    un = section.get("unavailable") if isinstance(section.get("unavailable"), dict) else {}
    parts = key.split(".")
    for k in (key, parts[0]):
        if un.get(k):
            return str(un[k])
    block = section
    for k in parts[:-1]:
        block = block.get(k) if isinstance(block, dict) else None
    if len(parts) > 1 and isinstance(block, dict) and block.get("reason"):
        return str(block["reason"])
    return str(section["reason"]) if section.get("reason") else ""
