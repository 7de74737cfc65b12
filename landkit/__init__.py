"""landkit: a toolkit for county natural-resources bureaus (县级自然资源局).

Read a county's land data the way bureaus hold it, compute official CGCS2000 ellipsoidal
areas, check data quality, and (in later modules) analyse 卫片, 永久基本农田, 存量建设用地.

    >>> import landkit as lk
    >>> county = lk.read_county("sample_data/420704_鄂城区")
    >>> county.dltb.head()
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
