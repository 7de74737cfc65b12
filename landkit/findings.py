"""QA findings: what was found in the data, at what level, about which layer, file, field and features.

A :class:`Finding` has a level: ``error`` (the county cannot be used as it is),
``warning`` (usable, but a person should look), ``info`` (what was decided). Findings name
the layer, file, field and features (ids) concerned, in Chinese. Reading, QA checks and the
analyses all report through these two classes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dc_field

import pandas as pd

MAX_LISTED = 50   # feature ids kept per finding (the count is always exact)

LEVEL_NAMES = {"error": "错误", "warning": "警告", "info": "说明"}


@dataclass
class Finding:
    level: str                  # error | warning | info
    code: str                   # machine-readable kind, e.g. "dlbm_unknown"
    message: str                # Chinese
    layer: str | None = None    # role
    file: str | None = None
    field: str | None = None
    features: list = dc_field(default_factory=list)
    count: int | None = None    # affected features; defaults to len(features)

    def __post_init__(self):
        feats = [str(f) for f in self.features]
        if self.count is None:
            self.count = len(feats) if feats else None
        self.features = feats[:MAX_LISTED]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class QAReport:
    findings: list[Finding] = dc_field(default_factory=list)

    def add(self, f: Finding | list[Finding]) -> None:
        if isinstance(f, list):
            self.findings.extend(f)
        else:
            self.findings.append(f)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def usable(self) -> bool:
        return not self.errors

    def by_code(self, code: str) -> list[Finding]:
        return [f for f in self.findings if f.code == code]

    def to_dict(self) -> dict:
        return {"usable": self.usable, "error_count": len(self.errors),
                "warning_count": len(self.warnings),
                "findings": [f.to_dict() for f in self.findings]}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([f.to_dict() for f in self.findings],
                            columns=["level", "code", "message", "layer", "file", "field", "features", "count"])
