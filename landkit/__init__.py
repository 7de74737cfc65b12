"""landkit: the annual land analyses of a county natural-resources bureau (县级自然资源局).

landkit reads a county's land data as bureaus hold it (shapefiles in GBK, geodatabases,
GeoPackages; 三调 DLTB, 永久基本农田, 卫片图斑, approvals, supply, parcels), checks its
quality, and computes with CGCS2000 ellipsoidal areas (亩 = m² × 3/2000):

* the 卫片 violation ratio (illegal 耕地 ÷ 耕地 taken by new construction) against the local
  cap and the 15 % line;
* 永久基本农田 overlap of approvals, supply, parcels and patches;
* the 存量建设用地 inventory (批而未供, 闲置土地, 城镇低效用地, 农村集体经营性建设用地) and the
  annual 处置率;

and writes them as summary.json, a 台账 workbook, a GeoPackage, PostGIS tables and an offline
HTML report with maps. The rules it follows, with their sources, are in docs/rules.md.

    >>> import landkit as lk
    >>> county = lk.read_county("sample_data/420704_鄂城区")
    >>> result = lk.analyse(county)
    >>> result.summary["satellite"]["ratio"]
    >>> lk.report(county, result, "report.html")
"""
from .settings import Settings, load_settings
from .errors import ConfigError, InputError, LandkitError
from .county import County, read_county
from .io.read import read_layer
from .standards.area import ellipsoidal_area


def map(county, analysis=None, basemap=None, **kwargs):
    """A folium map of a county and its results (see :func:`landkit.render.maps.county_map`)."""
    from .render.maps import county_map
    return county_map(county, analysis, basemap, **kwargs)


def report(county, analysis=None, path=None, **kwargs) -> str:
    """The leadership report as one self-contained offline HTML (see :func:`landkit.render.report.build_report`)."""
    from .render.report import build_report
    if analysis is None:
        analysis = analyse(county)
    return build_report(county, analysis, path, **kwargs)


def analyse(county):
    """Run every analysis on a County: a :class:`landkit.analyses.county_analysis.CountyAnalysis`."""
    from .analyses.county_analysis import analyse as _analyse
    return _analyse(county)

from .version import __version__
__all__ = ["County", "ConfigError", "InputError", "LandkitError", "analyse", "ellipsoidal_area",
           "load_settings", "map", "read_county", "read_layer", "report", "Settings", "__version__"]
