"""Deciding the text encoding of a shapefile's .dbf.

Bureau shapefiles are mostly GBK, written by ArcGIS without a .cpg and with the DBF
language-driver byte (LDID) at 0, so GDAL falls back to ISO-8859-1 and Chinese text
becomes mojibake. The decision here:

1. a ``.cpg`` that names an encoding Python knows is honoured, *unless* the DBF bytes
   contradict it (a .cpg saying UTF-8 over GBK bytes): then the bytes win, with a warning;
2. otherwise the text bytes of the first records decide: pure ASCII → no preference
   (UTF-8); strict UTF-8 decodes → UTF-8; else GB18030 (a superset of GBK/GB2312/CP936);
3. bytes that are neither → an error naming the file.

The returned :class:`EncodingDecision` records the source of the decision for QA.
"""
from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SAMPLE_RECORDS = 5000

# LDID byte values that name a Chinese/UTF code page (DBF header offset 29)
_LDID = {0x4D: "GB18030", 0x7A: "GB18030"}
_CPG_ALIASES = {"936": "GB18030", "cp936": "GB18030", "gbk": "GB18030", "gb2312": "GB18030",
                "gb18030": "GB18030", "utf-8": "UTF-8", "utf8": "UTF-8", "65001": "UTF-8",
                "ansi 936": "GB18030"}


@dataclass(frozen=True)
class EncodingDecision:
    encoding: str     # a Python/GDAL codec name, e.g. "UTF-8", "GB18030"
    source: str       # "cpg", "bytes", "ldid", "ascii"
    detail: str       # Chinese explanation for QA

    def __str__(self) -> str:
        return f"{self.encoding}（{self.detail}）"

    @property
    def short(self) -> str:
        how = {"cpg": "按 .cpg", "bytes": "按内容判定", "ldid": "按语言标识", "ascii": "纯 ASCII",
               "config": "按配置", "format": "格式内置"}.get(self.source, self.source)
        name = "GBK/GB18030" if self.encoding.upper() in ("GB18030", "GBK", "CP936") else self.encoding
        return f"{name}（{how}）"


def _dbf_text_sample(dbf: Path) -> bytes:
    """The raw bytes of character fields in the first records of a .dbf."""
    with open(dbf, "rb") as f:
        head = f.read(32)
        if len(head) < 32:
            raise InputError("属性表文件 .dbf 已损坏（文件头不完整）", file=dbf)
        nrec, hlen, rlen = struct.unpack("<IHH", head[4:12])
        fields = []
        off = 1  # deletion flag
        f.seek(32)
        while f.tell() < hlen - 1:
            d = f.read(32)
            if not d or d[0] == 0x0D or len(d) < 32:
                break
            ftype, flen = chr(d[11]), d[16]
            if ftype in "CM":
                fields.append((off, flen))
            off += flen
        if not fields or rlen == 0:
            return b""
        f.seek(hlen)
        data = f.read(rlen * min(nrec, SAMPLE_RECORDS))
    chunks = []
    for r in range(0, len(data) - rlen + 1, rlen):
        rec = data[r:r + rlen]
        for o, n in fields:
            chunks.append(rec[o:o + n].rstrip(b" \x00"))
    return b"\n".join(chunks)


def _ldid(dbf: Path) -> int:
    with open(dbf, "rb") as f:
        f.seek(29)
        b = f.read(1)
    return b[0] if b else 0


def _decodes(data: bytes, enc: str) -> bool:
    try:
        data.decode(enc, errors="strict")
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _field_name_bytes(dbf: Path) -> bytes:
    with open(dbf, "rb") as f:
        head = f.read(32)
        hlen = struct.unpack("<H", head[8:10])[0]
        raw = f.read(max(0, hlen - 32))
    names = []
    for i in range(0, len(raw) - 31, 32):
        d = raw[i:i + 32]
        if d[0] == 0x0D:
            break
        names.append(d[:11].split(b"\x00")[0])
    return b"\n".join(names)


def _decode_names(data: bytes, enc: str) -> bool:
    """Field names decode in ``enc``, allowing one multi-byte character cut at the 10-byte limit."""
    for name in data.split(b"\n"):
        try:
            name.decode(enc)
        except UnicodeDecodeError as e:
            if e.start < len(name) - 3 or not _decodes(name[:e.start], enc):
                return False
        except LookupError:
            return False
    return True


def cut_field_names(dbf: Path, enc: str) -> list[tuple[int, bytes]]:
    """(descriptor offset, repaired name) for field names that end in a cut character.

    GDAL cuts long names to 10 bytes, which can split a UTF-8 (or GBK) character; such a
    name cannot be decoded and makes GDAL/pyogrio fail. The repair drops the broken tail.
    """
    with open(dbf, "rb") as f:
        head = f.read(32)
        hlen = struct.unpack("<H", head[8:10])[0]
        raw = f.read(max(0, hlen - 32))
    out = []
    for i in range(0, len(raw) - 31, 32):
        d = raw[i:i + 32]
        if d[0] == 0x0D:
            break
        name = d[:11].split(b"\x00")[0]
        try:
            name.decode(enc)
        except UnicodeDecodeError as e:
            out.append((32 + i, name[:e.start]))
        except LookupError:
            break
    return out


def sniff_bytes(data: bytes) -> str | None:
    """"UTF-8", "GB18030", "ASCII" or None (neither) for a sample of DBF text bytes."""
    if not data or all(b < 0x80 for b in data):
        return "ASCII"
    if _decodes(data, "utf-8"):
        return "UTF-8"
    if _decodes(data, "gb18030"):
        return "GB18030"
    return None


def detect_shapefile_encoding(shp: Path | str, override: str | None = None) -> EncodingDecision:
    """Decide the encoding of ``shp``'s .dbf (see the module docstring).

    ``override`` (from landkit.toml [encoding]) wins over everything.
    """
    shp = Path(shp)
    dbf = sibling_file(shp, ".dbf")
    if override:
        try:
            codecs.lookup(override)
        except LookupError:
            raise InputError(f"配置的编码 {override!r} 无法识别", file=shp)
        return EncodingDecision(override, "config", f"按配置文件指定为 {override}")
    if dbf is None:
        raise InputError("缺少属性表文件 .dbf（shapefile 需要 .shp、.shx、.dbf 三个文件）", file=shp)
    sample = _dbf_text_sample(dbf)
    names = _field_name_bytes(dbf)
    sniffed = sniff_bytes(sample)
    if sniffed == "ASCII" and not all(b < 0x80 for b in names):
        sniffed = "UTF-8" if _decode_names(names, "utf-8") else \
            ("GB18030" if _decode_names(names, "gb18030") else None)
    cpg = sibling_file(shp, ".cpg")
    cpg_enc = None
    if cpg is not None:
        text = cpg.read_bytes().decode("ascii", errors="ignore").strip()
        cpg_enc = _CPG_ALIASES.get(text.lower(), text)
        try:
            codecs.lookup(cpg_enc)
        except LookupError:
            cpg_enc = None
            cpg_note = f".cpg 内容 {text!r} 不是可识别的编码"
        else:
            cpg_note = f".cpg 指定 {text}"
    if cpg_enc is not None:
        if sniffed == "ASCII" or sniffed == cpg_enc:
            return EncodingDecision(cpg_enc, "cpg", cpg_note)
        if sniffed is None or (sniffed == "GB18030" and _decodes(sample, cpg_enc)):
            if not _decodes(sample, cpg_enc):
                raise InputError(f"属性表文字既不是 UTF-8 也不是 GBK/GB18030，{cpg_note} 也无法解码", file=dbf)
            return EncodingDecision(cpg_enc, "cpg", cpg_note)
        # valid multi-byte UTF-8 is decisive; GBK bytes under a UTF-8 .cpg likewise
        return EncodingDecision(sniffed, "bytes",
                                f"{cpg_note}，但属性表内容不是该编码，按内容判定为 {sniffed}")
    if sniffed is None:
        raise InputError("无法判定属性表的文字编码：内容既不是 UTF-8 也不是 GBK/GB18030。"
                         "请在 landkit.toml 的 [encoding] 中指定", file=dbf)
    if sniffed == "ASCII":
        ld = _LDID.get(_ldid(dbf))
        if ld:
            return EncodingDecision(ld, "ldid", f"无 .cpg，属性表仅含 ASCII，按 DBF 语言标识判定为 {ld}")
        return EncodingDecision("UTF-8", "ascii", "无 .cpg，属性表仅含 ASCII 字符")
    label = "GBK/GB18030" if sniffed == "GB18030" else sniffed
    return EncodingDecision(sniffed, "bytes", f"无 .cpg，按属性表内容判定为 {label}")


def sibling_file(shp: Path, ext: str) -> Path | None:
    """The sidecar file with extension ``ext`` in any letter case."""
    for cand in (shp.with_suffix(ext), shp.with_suffix(ext.upper())):
        if cand.is_file():
            return cand
    stem = shp.stem.lower()
    for p in shp.parent.iterdir():
        if p.stem.lower() == stem and p.suffix.lower() == ext:
            return p
    return None


def fast_codec(encoding: str | None) -> str | None:
    """The Python codec to decode ``encoding`` with after a Latin-1 read, or None when GDAL
    should decode it itself (UTF-8 / ASCII / Latin-1, or a codec Python does not know).

    GDAL recodes GBK/GB18030 through iconv field by field, which costs ~3 s on a 150k-feature
    DLTB; its Latin-1 path is a plain byte copy. Latin-1 maps every byte to one character, so
    reading as Latin-1 and re-decoding the distinct values in Python gives the same text.
    """
    import codecs
    if not encoding:
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return None if name in ("utf-8", "ascii", "latin-1", "iso8859-1") else name


def _recode(value, codec: str):
    if isinstance(value, str) and not value.isascii():
        try:
            return value.encode("latin-1").decode(codec, errors="replace")
        except UnicodeEncodeError:      # not a Latin-1 read after all: leave it
            return value
    return value


def recode_latin1(df, codec: str):
    """Column names and text columns of ``df`` (read as Latin-1) decoded as ``codec``.
    Each distinct value is decoded once."""
    import numpy as np
    import pandas as pd
    out = {}
    for c in df.columns:
        col = df[c]
        if c == getattr(df, "_geometry_column_name", None) or not (
                pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)):
            continue
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        uniq = np.asarray(uniques, dtype=object)
        new = np.array([_recode(v, codec) for v in uniq], dtype=object)
        if all(a is b for a, b in zip(uniq, new)):
            continue
        vals = np.full(len(col), None, dtype=object)
        ok = codes >= 0
        vals[ok] = new[codes[ok]]
        out[c] = pd.Series(vals, index=col.index, dtype=col.dtype if pd.api.types.is_string_dtype(col.dtype) else object)
    for c, v in out.items():
        df[c] = v
    return df.rename(columns={c: _recode(c, codec) for c in df.columns if isinstance(c, str) and not c.isascii()})
