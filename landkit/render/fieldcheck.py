"""外业核查表: a printable HTML page (A4, one page each) per selected 卫片 patch.

    >>> from landkit.render.fieldcheck import build_fieldcheck
    >>> build_fieldcheck(county, chips, "out/外业核查表.html")

Each page: the patch's id, class and 判定类型, location (乡镇, 村, a point inside the patch in
CGCS2000 lon/lat and in the working plane CRS), areas (亩, as the 卫片 analysis gives them), the
before/after chips, and blank fields for the field check (实地现状, 核查结论, 整改措施, 核查人,
核查日期 …). The patches are those of the chips (:mod:`landkit.render.chips`); a patch without a
picture says why. One self-contained file (pictures inline), written atomically.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .export import write_text_atomic
from .report import TEMPLATES, MISSING, mu, text, when_label

FILENAME = "外业核查表.html"


def dms(deg: float, pos: str, neg: str) -> str:
    """Degrees as 度分秒 with a hemisphere letter: 114°55′25.74″E."""
    if deg is None:
        return ""
    h = pos if deg >= 0 else neg
    v = abs(deg)
    d = int(v)
    m = int((v - d) * 60)
    s = (v - d - m / 60) * 3600
    if s >= 59.995:
        s, m = 0.0, m + 1
    if m == 60:
        m, d = 0, d + 1
    return f"{d}°{m:02d}′{s:05.2f}″{h}"


def render_fieldcheck(county, chips) -> str:
    """The 外业核查表 HTML of ``chips.items`` (see the module docstring)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(mu=mu, text=text)
    env.globals.update(MISSING=MISSING, dms=dms)
    cfg = getattr(county, "config", None)
    now = cfg.report.now().isoformat(timespec="seconds") if cfg is not None else None
    html = env.get_template("fieldcheck.html.j2").render(
        name=text(getattr(county, "name", "") or ""), adcode=text(getattr(county, "adcode", "") or ""),
        year=getattr(county, "year", None), as_of=text(getattr(county, "as_of", "") or ""),
        generated_at=when_label(now), chips=chips, items=chips.items)
    from .offline import assert_offline
    assert_offline(html)
    return html


def build_fieldcheck(county, chips, path=None) -> str:
    """Build the 外业核查表; write it to ``path`` atomically if given; return the HTML."""
    html = render_fieldcheck(county, chips)
    if path is not None:
        write_text_atomic(html, Path(path))
    return html
