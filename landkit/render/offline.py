"""Self-contained HTML: inline Leaflet from an installed package, fail closed on anything external.

folium writes ``<script src="https://cdn...">`` / ``<link href="https://cdn...">`` tags. A report
that arrives by e-mail on an intranet machine must open with no network at all, so after a map
is rendered every such tag is replaced by an inline copy of the asset, taken from an installed
Python package (never from the network, never from files committed to landkit):

* Leaflet 1.9.4 JS + CSS from ``django-js-lib-leaflet`` (BSD-2-Clause; its license is kept as an
  HTML comment next to the inlined code). The CSS's image URLs become ``data:`` URIs and
  ``L.Icon.Default`` is pointed at them (Leaflet would otherwise derive a broken path).
* bootstrap / font-awesome / glyphicons / awesome-markers (only needed by ``folium.Icon``
  markers, which landkit does not use) are dropped.
* jQuery is not shipped: landkit's maps do not use jQuery-based folium features (``folium.Popup``,
  ``keep_in_front``, ``GeoJson(embed=False)``). A page that still needs it raises.

Then :func:`assert_offline` raises :class:`OfflineError` if any ``<script src>``, ``<link href>``,
``<img src>`` (or CSS ``url()``/``@import``) still points to http(s) or a protocol-relative URL.
"""
from __future__ import annotations

import base64
import functools
import html as _html
import importlib.metadata as _md
import importlib.resources as _res
import re
from dataclasses import dataclass

from ..errors import LandkitError

LEAFLET_VERSION = "1.9.4"
LEAFLET_DIST = "django-js-lib-leaflet"
#: the URLs landkit's maps reference; anything with these basenames is served inline
LEAFLET_JS_URL = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"
LEAFLET_CSS_URL = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"

#: assets folium adds by default that only folium.Icon markers use: dropped from offline pages
_DROPPABLE = re.compile(r"bootstrap|fontawesome|font-awesome|glyphicons|awesome-markers|awesome\.rotate", re.I)
_JQUERY = re.compile(r"jquery", re.I)


class OfflineError(LandkitError):
    """The page would need the network (an external asset or jQuery that cannot be inlined)."""


@dataclass(frozen=True)
class Asset:
    name: str
    kind: str          # "js" | "css"
    text: str
    license: str       # license text, kept as an HTML comment


def _comment(text: str) -> str:
    """An HTML comment that cannot be closed early."""
    return "<!--\n" + text.replace("--", "- -").replace(">", "&gt;") + "\n-->"


@functools.lru_cache(maxsize=None)
def _leaflet_files():
    try:
        root = _res.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        js = (root / "leaflet.js").read_text(encoding="utf-8")
        css = (root / "leaflet.css").read_text(encoding="utf-8")
        images = {p.name: p.read_bytes() for p in (root / "images").iterdir() if p.name.endswith(".png")}
    except (ModuleNotFoundError, FileNotFoundError) as e:    # pragma: no cover - dependency missing
        raise OfflineError(f"找不到离线 Leaflet 资源（请安装 {LEAFLET_DIST}=={LEAFLET_VERSION}.1）：{e}")
    try:
        lic = _md.distribution(LEAFLET_DIST).read_text("LICENSE") or ""
    except _md.PackageNotFoundError:                           # pragma: no cover
        lic = ""
    if f"Leaflet {LEAFLET_VERSION}" not in js[:300]:
        raise OfflineError(f"已安装的 {LEAFLET_DIST} 不是 Leaflet {LEAFLET_VERSION}")
    return js, css, images, lic


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


@functools.lru_cache(maxsize=None)
def leaflet_assets() -> tuple[Asset, Asset]:
    """Leaflet's JS and CSS, ready to inline (CSS image URLs as data URIs, default icon fixed)."""
    js, css, images, lic = _leaflet_files()

    def img(m):
        name = m.group(2).rsplit("/", 1)[-1]
        return f"url({png_data_uri(images[name])})" if name in images else m.group(0)
    css = re.sub(r"""url\((['"]?)(images/[^'")]+)\1\)""", img, css)
    icon = {k: png_data_uri(images[f]) for k, f in
            (("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"), ("shadowUrl", "marker-shadow.png"))}
    fix = ("\n;(function(){if(window.L&&L.Icon&&L.Icon.Default){L.Icon.Default.imagePath='';"
           + "".join(f"L.Icon.Default.prototype.options.{k}='{v}';" for k, v in icon.items()) + "}})();\n")
    header = f"Leaflet {LEAFLET_VERSION} (https://leafletjs.com), from the Python package {LEAFLET_DIST}. " \
             "License: BSD-2-Clause\n\n"
    return (Asset("leaflet", "js", js + fix, header + lic), Asset("leaflet_css", "css", css, header + lic))


def _safe_inline(text: str, tag: str) -> str:
    # an inline script/style must not contain its own end tag
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.I)


def inline_tag(asset: Asset) -> str:
    """The ``<script>``/``<style>`` element carrying an asset, its license as a comment before it."""
    if asset.kind == "js":
        body = f"<script>{_safe_inline(asset.text, 'script')}</script>"
    else:
        body = f"<style>{_safe_inline(asset.text, 'style')}</style>"
    return f"{_comment(asset.license)}\n{body}"


_SCRIPT_SRC = re.compile(r"""<script\b[^>]*\bsrc\s*=\s*(["']?)([^"'\s>]+)\1[^>]*>\s*</script>""", re.I)
_LINK_HREF = re.compile(r"""<link\b[^>]*\bhref\s*=\s*(["']?)([^"'\s>]+)\1[^>]*/?>""", re.I)


def _asset_for(url: str):
    base = url.split("?", 1)[0].rsplit("/", 1)[-1].lower()
    js, css = leaflet_assets()
    if base in ("leaflet.js", "leaflet-src.js") and "leaflet" in url.lower():
        return js
    if base == "leaflet.css":
        return css
    return None


def inline_assets(html: str) -> str:
    """Replace folium's CDN ``<script src>``/``<link href>`` tags by inline copies (see module doc).

    Raises :class:`OfflineError` for an external asset it cannot inline (and, through
    :func:`assert_offline`, for anything external left over).
    """
    seen: set[str] = set()
    problems: list[str] = []

    def repl(m, kind):
        url = m.group(2)
        if kind == "css" and not re.search(r"""rel\s*=\s*["']?stylesheet""", m.group(0), re.I):
            return m.group(0)
        if url.startswith("data:"):
            return m.group(0)
        asset = _asset_for(url)
        if asset is not None:
            if asset.name in seen:
                return ""
            seen.add(asset.name)
            return inline_tag(asset)
        if _DROPPABLE.search(url):
            return ""
        if _JQUERY.search(url):
            problems.append(f"jQuery（{url}）：离线报告不提供 jQuery，请勿使用依赖 jQuery 的 folium 功能"
                            "（folium.Popup、keep_in_front、GeoJson(embed=False)）")
        else:
            problems.append(url)
        return m.group(0)

    out = _SCRIPT_SRC.sub(lambda m: repl(m, "js"), html)
    out = _LINK_HREF.sub(lambda m: repl(m, "css"), out)
    if problems:
        raise OfflineError("无法离线内嵌的外部资源：" + "；".join(problems))
    assert_offline(out)
    return out


_EXTERNAL = [
    ("script src", re.compile(r"""<script\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.I)),
    ("link href", re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//""", re.I)),
    ("img src", re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.I)),
    ("iframe src", re.compile(r"""<iframe\b[^>]*\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.I)),
    ("css url()", re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I)),
    ("css @import", re.compile(r"""@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""", re.I)),
]


def external_references(html: str) -> list[str]:
    """Every tag/CSS reference in ``html`` that would load something over the network."""
    found = []
    for what, rx in _EXTERNAL:
        for m in rx.finditer(html):
            found.append(f"{what}: {html[m.start():m.start() + 160]}")
    return found


def assert_offline(html: str) -> None:
    """Fail closed: raise :class:`OfflineError` if any external script/link/img/CSS URL remains."""
    found = external_references(html)
    if found:
        raise OfflineError("离线页面中仍有外部资源引用（打开时会联网）：\n" + "\n".join(found[:10]))


def jquery_uses(script: str) -> list[str]:
    """folium's jQuery idioms found in generated map script (the page ships no jQuery)."""
    rx = re.compile(r"(?<![\w$])(?:\$\((?:document|`)|\$\.ajax|jQuery\()")
    return [script[max(0, m.start() - 40):m.end() + 40] for m in rx.finditer(script)]


def render_offline(m) -> str:
    """A folium map (or Figure) rendered as one self-contained HTML page with no external assets."""
    fig = m.get_root()
    page = fig.render()
    uses = jquery_uses(page)
    if uses:
        raise OfflineError("地图脚本使用了 jQuery（离线报告不提供）：" + " … ".join(uses[:3]))
    page = inline_assets(page)
    if "name=\"renderer\"" not in page:
        page = page.replace("<head>", '<head>\n<meta charset="utf-8">\n<meta name="renderer" content="webkit">\n'
                            '<meta http-equiv="X-UA-Compatible" content="IE=edge">', 1)
    return page


def save_offline(m, path) -> str:
    """Write a folium map as one self-contained HTML file (no network needed to open it)."""
    from pathlib import Path
    page = render_offline(m)
    Path(path).write_text(page, encoding="utf-8")
    return str(path)


def iframe_html(page: str, height: str = "600px") -> str:
    """The page in an ``<iframe srcdoc>`` as Jupyter shows folium maps (assets already inline)."""
    return (f'<div style="width:100%;height:{_html.escape(height)};position:relative;">'
            f'<iframe srcdoc="{_html.escape(page)}" style="position:absolute;width:100%;height:100%;'
            'left:0;top:0;border:none !important;" allowfullscreen></iframe></div>')
