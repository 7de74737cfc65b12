"""Headline figures carried from run to run (summary.json ``history``, newest last).

Every ``landkit run`` writes ``history``: the previous run's history (when ``--previous`` names
it) followed by this run's headline. A run for an as-of date already in the history replaces
that entry, so re-running a month does not count it twice.
"""
from __future__ import annotations


def _get(d, *path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def headline(summary: dict) -> dict:
    """The figures a trend is drawn from (None where the run could not compute them)."""
    as_of = _get(summary, "county", "as_of") or _get(summary, "inventory", "as_of")
    return {
        "as_of": as_of.isoformat() if hasattr(as_of, "isoformat") else as_of,
        "satellite_ratio": _get(summary, "satellite", "ratio"),
        "illegal_farmland_mu": _get(summary, "satellite", "illegal_farmland_mu"),
        "new_construction_farmland_mu": _get(summary, "satellite", "new_construction_farmland_mu"),
        "satellite_cap": _get(summary, "satellite", "cap"),
        "approved_unsupplied_mu": _get(summary, "inventory", "approved_unsupplied_mu"),
        "idle_mu": _get(summary, "inventory", "idle_mu"),
        "inventory_total_mu": _get(summary, "inventory", "total_mu"),
        "approved_unsupplied_disposal_rate": _get(summary, "disposal", "approved_unsupplied", "rate"),
        "idle_disposal_rate": _get(summary, "disposal", "idle", "rate"),
        "disposal_target": _get(summary, "disposal", "approved_unsupplied", "target"),
    }


def history(summary: dict, previous_summary: dict | None) -> list[dict]:
    """This run's ``history``: the previous run's entries (or its headline, for a summary.json
    written before history existed), then this run's, one entry per as-of date, oldest first."""
    past = []
    if previous_summary:
        past = list(previous_summary.get("history") or [headline(previous_summary)])
    now = headline(summary)
    entries = [h for h in past if isinstance(h, dict) and h.get("as_of") != now["as_of"]] + [now]
    return sorted(entries, key=lambda h: str(h.get("as_of") or ""))
