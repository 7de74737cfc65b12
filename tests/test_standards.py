"""三调 codes, 三大类 switches, unit codes, units and presentation rounding."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landkit.standards import codes as c
from landkit.standards.units import m2_to_ha, m2_to_mu, mu_to_m2, round_half_up


def test_construction_set_is_r5():
    expected = {"05H1", "0508", "0601", "0602", "0603", "0701", "0702", "08H1", "08H2", "08H2A", "0809",
                "0810", "0810A", "09", "1001", "1002", "1003", "1004", "1005", "1007", "1008", "1009",
                "1109", "1201"}
    assert c.construction_codes() == expected
    assert "1107A" in c.construction_codes(class_1107a=c.CONSTRUCTION)


def test_unused_set_and_0404_switch():
    s = c.class_sets()
    assert s[c.UNUSED] == {"0404", "1101", "1102", "1105", "1106", "1108", "1110", "1204", "1205", "1206", "1207"}
    assert "0404" in c.class_sets(class_0404=c.AGRI)[c.AGRI]
    assert c.big_class("1104A") == c.AGRI and c.big_class("0201K") == c.AGRI and c.big_class("1006") == c.AGRI
    assert c.big_class("XXXX") is None


def test_every_code_in_exactly_one_class():
    s = c.class_sets()
    allc = set().union(*s.values())
    assert allc == set(c.DLBM_TABLE) and sum(len(v) for v in s.values()) == len(allc)


def test_names_and_parent_codes():
    assert c.dlbm_name("0101") == "水田" and c.dlbm_name("1203") == "田坎"
    assert c.parent_code("0201K") == "0201" and c.parent_code("1104A") == "1104"
    assert c.parent_code("0810A") == "0810" and c.parent_code("05H1") == "05H1"
    assert c.CULTIVATED == {"0101", "0102", "0103"}


def test_ownership():
    assert c.ownership("10") == "国有" and c.ownership("20") == "国有"
    assert c.ownership("30") == "集体" and c.ownership("43") == "集体"
    assert c.ownership("") is None and c.ownership("99") is None


def test_unit_code_parsing():
    u = c.parse_unit_code("4207041001010000000")
    assert (u.county, u.township, u.village, u.tail) == ("420704", "420704100", "420704100101", "0000000")
    for bad in ("420704100101000000", "42070410010100000001", "42070410010100000X0", None):
        assert not c.is_valid_unit_code(bad)
    with pytest.raises(ValueError):
        c.parse_unit_code("420704")
    assert c.township_kind("420704001") == "街道" and c.township_kind("420704105") == "镇"
    assert c.township_kind("420704201") == "乡"


def test_mu_exact():
    assert m2_to_mu(2000.0 / 3.0) == pytest.approx(1.0, abs=1e-15)
    assert m2_to_mu(10000.0) == 15.0            # 1 公顷 = 15 亩
    assert m2_to_ha(10000.0) == 1.0
    assert mu_to_m2(15.0) == pytest.approx(10000.0)
    assert m2_to_mu(666.7) != pytest.approx(1.0, abs=1e-6)    # the wrong 666.7 factor is not ours
    np.testing.assert_allclose(m2_to_mu(np.array([0.0, 666.6666666666666, 1e6])), [0.0, 1.0, 1500.0])


@pytest.mark.parametrize("x,nd,expected", [
    (0.125, 2, 0.13), (2.675, 2, 2.68), (1.005, 2, 1.01), (-0.125, 2, -0.13), (12.5, 0, 13.0),
    (0.1249, 2, 0.12), (1234567.895, 2, 1234567.9),
])
def test_round_half_up(x, nd, expected):
    assert round_half_up(x, nd) == expected


def test_round_half_up_arrays_and_nan():
    out = round_half_up(np.array([0.005, np.nan, 2.345]), 2)
    assert out[0] == 0.01 and np.isnan(out[1]) and out[2] == 2.35


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(-10**9, 10**9).map(lambda k: k / 1000),      # exact ties in 2 digits
                          st.integers(-10**7, 10**7).map(lambda k: k / 200)), min_size=1, max_size=50),
       st.integers(0, 4))
def test_round_half_up_array_equals_scalar(xs, nd):
    """The vectorised path (numpy away from ties) gives exactly what the per-value Decimal path gives."""
    arr = round_half_up(np.array(xs, dtype="float64"), nd)
    one = np.array([round_half_up(float(x), nd) for x in xs])
    np.testing.assert_array_equal(arr, one)
