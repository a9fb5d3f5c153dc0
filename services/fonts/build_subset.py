"""Regenerate services/fonts/NotoSansSC-Linli.ttf, the CJK font bundled for charts and reports.

    apt-get install -y fonts-noto-cjk          # Debian's Noto Sans CJK (SIL Open Font License 1.1)
    .venv/bin/python -m services.fonts.build_subset

What it keeps: ASCII, Latin-1 punctuation, general punctuation, arrows and the few math and shape
signs the charts draw (× ≥ ≤ – … ● ○), CJK symbols and fullwidth forms, the GB 2312 symbol rows and
its 3,755 level-1 hanzi, plus every hanzi written in the source of api/ and services/ (so a label we
add later is never a box: re-run this after adding one outside level 1; tests/api/test_kpi_report.py
checks the labels). The CFF outlines of the OS font are converted to TrueType quadratics with
fontTools' cu2qu, since ReportLab embeds only TrueType (glyf) fonts; matplotlib reads either.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # JP, KR, SC, TC, HK, then the Mono faces
OUT = Path(__file__).with_name("NotoSansSC-Linli.ttf")
FAMILY = "Noto Sans SC Linli"
ROOT = Path(__file__).resolve().parents[2]
HANZI = re.compile(r"[\u3400-\u9fff]")


def gb2312(rows: range) -> set[str]:
    out = set()
    for row in rows:
        for cell in range(0xA1, 0xFF):
            try:
                out.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def charset() -> set[str]:
    chars = {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0xA0, 0x100)}
    chars |= {chr(c) for c in range(0x2010, 0x2070)}  # dashes, quotes, bullets, ‰, primes
    chars |= set("←↑→↓√∞≈≠≤≥①②③④⑤⑥⑦⑧⑨⑩■□▲△▼▽◆◇○●★☆✓✗✔✘№℃")
    chars |= {chr(c) for c in range(0x3000, 0x3040)}  # CJK symbols and punctuation
    chars |= {chr(c) for c in range(0xFF01, 0xFF5F)}  # fullwidth forms
    chars |= gb2312(range(0xA1, 0xAA))  # GB 2312 symbol rows
    chars |= gb2312(range(0xB0, 0xD8))  # GB 2312 level-1 hanzi (3,755)
    for folder in ("api", "services"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            chars |= set(HANZI.findall(path.read_text(encoding="utf-8")))
    return chars


def to_truetype(font: TTFont) -> None:
    """CFF → glyf (after fontTools' Snippets/otf2ttf.py)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, g in glyphs.items():
        width = hmtx[name][0]
        hmtx[name] = (width, getattr(g, "xMin", 0) if g.numberOfContours else 0)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones",):
        setattr(maxp, attr, 1)
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font: TTFont) -> None:
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            name.setName(FAMILY, rec.nameID, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 4:
            name.setName(FAMILY, 4, rec.platformID, rec.platEncID, rec.langID)
        elif rec.nameID == 6:
            name.setName(FAMILY.replace(" ", "") + "-Regular", 6, rec.platformID, rec.platEncID, rec.langID)
    name.names = [r for r in name.names if r.langID in (0, 0x409) or (r.platformID == 1 and r.langID == 0)]


def build(source: Path = SOURCE, out: Path = OUT) -> int:
    font = TTCollection(str(source)).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14, 16, 17]
    options.drop_tables += ["vhea", "vmtx", "VORG", "GSUB", "GPOS", "BASE", "JSTF", "DSIG"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(ord(c) for c in charset()))
    sub.subset(font)
    to_truetype(font)
    rename(font)
    font.save(str(out))
    return len(font.getBestCmap())


if __name__ == "__main__":
    count = build(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
    print(f"{OUT}: {count} characters, {OUT.stat().st_size // 1024} KiB")
