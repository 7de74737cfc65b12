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
    assert len(corpus.CASES) >= 30


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


def test_console_check_prints_brackets_and_feature_ids(bad_root, capsys):
    """The console report is data, not rich markup: '[satellite.judgement]' (the setting to
    add) used to vanish from `landkit check`; the patch carrying the value is listed."""
    d = corpus.county_dir("unknown_judgement_values", bad_root)
    code, out, err = invoke(capsys, "check", str(d))
    assert code == 1
    assert "[satellite.judgement]" in out and "42070420240000" in out
