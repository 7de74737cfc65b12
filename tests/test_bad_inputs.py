"""The bad-input corpus (tests/data/bad/) walked through `landkit check` and `landkit run`.

For every case: either a clear Chinese message naming the file (exit 1), or a repaired result
with the repair in QA (exit 0); never a traceback, never a half-written output.
"""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data"))
import make_bad_corpus as corpus  # noqa: E402

from landkit.cli import main  # noqa: E402


@pytest.fixture(scope="session")
def bad_root():
    root = corpus.BAD
    if not all((root / name).exists() for name in corpus.CASES):
        corpus.build(root)
    return root


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_corpus_is_big_enough():
    assert len(corpus.CASES) >= 60


@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_check(bad_root, capsys, name):
    _fn, exit_code, needles, _re, _rn, qa = corpus.CASES[name]
    d = corpus.county_dir(name, bad_root)
    code, out, err = invoke(capsys, "check", str(d), "--json")
    text = out + err
    assert "Traceback" not in text
    assert code == exit_code, text[-2000:]
    if out.strip():
        report = json.loads(out)
        codes = {f["code"] for f in report["qa"]["findings"]}
        for c in qa:
            assert c in codes, (c, codes)
        msgs = " ".join(f["message"] + " " + (f["file"] or "") + " " + " ".join(f.get("features") or [])
                        for f in report["qa"]["findings"])
    else:
        msgs = err
    for n in needles:
        assert n in msgs, (n, msgs[-1500:])


@pytest.mark.parametrize("name", sorted(corpus.CASES))
def test_run(bad_root, capsys, tmp_path, name):
    _fn, _ce, _cn, exit_code, needles, _qa = corpus.CASES[name]
    d = corpus.county_dir(name, bad_root)
    out_dir = tmp_path / "结果 输出"
    code, out, err = invoke(capsys, "run", str(d), "-o", str(out_dir))
    assert "Traceback" not in out + err
    assert code == exit_code, (out + err)[-2000:]
    if exit_code == 0:
        assert {"summary.json", "ledger.xlsx"} <= {p.name for p in out_dir.iterdir()}
    else:
        assert err.startswith("错误："), err
        for n in needles:
            assert n in err, (n, err)
        # no half-written output
        assert not out_dir.exists() or not any(out_dir.iterdir())


def _figures(summary: dict) -> dict:
    """The headline figures of a summary.json: every number under satellite, inventory,
    disposal and farmland_overlap (by_township lists included), keyed by path."""
    out = {}

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")
        elif isinstance(v, (int, float)) and not isinstance(v, bool) or v is None:
            out[path] = v
    for key in ("satellite", "inventory", "disposal", "farmland_overlap"):
        walk(summary.get(key), key)
    return out


@pytest.fixture(scope="module")
def base_figures(bad_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "out"
    from landkit.pipeline.run import run_county
    return _figures(run_county(corpus.county_dir("unbroken_base_county", bad_root), out))


@pytest.mark.parametrize("name", sorted(corpus.SAME_FIGURES - {"unbroken_base_county"}))
def test_broken_the_way_exports_are_same_figures_as_the_clean_county(bad_root, base_figures, tmp_path, name):
    """A file broken the way real exports are (encodings, .prj dialects, dates as numbers, codes
    padded, full-width, as names, two vintages, ...) gives every figure of the clean county: a
    wrong figure is a failure, not just a traceback. 亩 to 0.01; reprojected lon/lat DLTB to 1e-6."""
    from landkit.pipeline.run import run_county
    got = _figures(run_county(corpus.county_dir(name, bad_root), tmp_path / "out"))
    assert set(got) == set(base_figures)
    for k, want in base_figures.items():
        if want is None or got[k] is None:
            assert got[k] == want, k
        else:
            assert got[k] == pytest.approx(want, rel=1e-6, abs=0.005), k
    assert any(v for v in base_figures.values())      # the oracle has figures to compare


def test_console_check_prints_brackets_and_feature_ids(bad_root, capsys):
    """The console report is data, not rich markup: '[satellite.judgement]' (the setting to
    add) used to vanish from `landkit check`; the patch carrying the value is listed."""
    d = corpus.county_dir("unknown_judgement_values", bad_root)
    code, out, err = invoke(capsys, "check", str(d))
    assert code == 1
    assert "[satellite.judgement]" in out and "42070420240000" in out
