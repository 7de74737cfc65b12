"""The landkit version (one place; summary.json and the report carry it)."""

__version__ = "0.1.0"
