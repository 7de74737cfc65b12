"""landkit: a toolkit for county natural-resources bureaus (县级自然资源局).

Read a county's land data the way bureaus hold it, compute official CGCS2000 ellipsoidal
areas, check data quality, and (in later modules) analyse 卫片, 永久基本农田, 存量建设用地.

    >>> import landkit as lk
    >>> county = lk.read_county("sample_data/420704_鄂城区")
    >>> county.dltb.head()
"""
from .config import Config, load_config
from .errors import ConfigError, InputError, LandkitError
from .io.county import County, read_county
from .io.read import read_layer
from .standards.area import ellipsoidal_area

__version__ = "0.1.0"
__all__ = ["County", "Config", "ConfigError", "InputError", "LandkitError", "ellipsoidal_area",
           "load_config", "read_county", "read_layer", "__version__"]
