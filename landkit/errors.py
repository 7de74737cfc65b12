"""Errors a bureau user sees.

Every error landkit raises for bad input is a :class:`LandkitError` whose message is in
Simplified Chinese and names where the problem is (file, layer, field, feature). The CLI
prints the message and exits 1; it never shows a traceback for these.
"""
from __future__ import annotations


class LandkitError(Exception):
    """Bad input or a failed run, with a Chinese message naming file/layer/field/feature."""

    def __init__(self, message: str, *, file=None, layer=None, field=None, feature=None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.layer = layer
        self.field = field
        self.feature = feature
        super().__init__(self.__str__())

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"文件：{self.file}")
        if self.layer:
            parts.append(f"图层：{self.layer}")
        if self.field:
            parts.append(f"字段：{self.field}")
        if self.feature is not None:
            parts.append(f"要素：{self.feature}")
        return "；".join(parts)

    def __str__(self) -> str:
        w = self.where()
        return f"{self.message}（{w}）" if w else self.message


class InputError(LandkitError):
    """The input data cannot be used as given."""


class EmptyLayerError(InputError):
    """A layer that holds no features at all (a quarter without 卫片 patches, an unfilled template)."""


class ConfigError(LandkitError):
    """landkit.toml or a --config file is wrong."""
