"""Deterministic synthetic counties for demos, tests and benchmarks.

``make_county(out_dir, ...)`` writes a complete county folder (DLTB, 永久基本农田, 卫片图斑,
批准用地, 供地, 宗地, 乡镇, 生态保护红线, 城镇开发边界, an image and ``landkit.toml``).
By default it is drawn on the real outline of 鄂城区 (湖北省鄂州市, 420704), converted
from GCJ-02 to CGCS2000 and projected to EPSG:4526; every other layer is synthetic.
"""
from .county import make_county

__all__ = ["make_county"]
