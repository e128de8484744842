"""The seed's PDF features, computed with PyMuPDF for every page of each PDF in a folder (no sampling),
so trove's lopdf features can be compared page by page and routed on the same pages
(crates/trove-pdf/tests/router.rs). Run by `cargo xtask golden-pdf`.

usage: golden_pdf_features.py SAMPLES_DIR OUT_JSON
"""
import json
import sys
from pathlib import Path

import pymupdf

SCANNERS = ["scanner", "scan", "epson", "hp scanjet", "canon", "fujitsu", "kodak", "brother", "xerox",
            "lexmark", "kmc", "kofax", "ricoh", "iris", "capturedocument", "paperport", "readiris", "simpleocr"]


def page_values(page):
    rect = page.rect
    area = float(rect.width * rect.height) or 1.0
    fonts = {f[3] for f in page.get_fonts(full=True) if len(f) > 3 and f[3]}
    vis = [0, 0, 0.0]
    hid = [0, 0, 0.0]
    for trace in page.get_texttrace():
        n = len(trace.get("chars", []))
        b = trace.get("bbox", (0, 0, 0, 0))
        a = (b[2] - b[0]) * (b[3] - b[1])
        slot = hid if trace.get("type") == 3 or trace.get("opacity", 1.0) == 0 else vis
        slot[0] += n
        slot[1] += 1
        slot[2] += a
    images = []
    for img in page.get_images(full=False):
        xref = img[0]
        if xref == 0:
            continue
        for r in page.get_image_rects(xref, transform=False):
            images.append([r.x0, r.y0, r.x1, r.y1, xref, bool(r.is_empty or r.is_infinite)])
    strokes = 0
    drawings = page.get_cdrawings()
    for path in drawings:
        strokes += sum(1 for item in path.get("items", []) if item[0] in ("l", "c", "q"))
        if (path.get("rect") or path.get("quad")) and path.get("stroke_opacity", 1) > 0 and path.get("color"):
            strokes += 1
    text = page.get_text("text", flags=pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP)
    return {
        "width": rect.width,
        "height": rect.height,
        "fonts": len(fonts),
        "visible": vis,
        "hidden": hid,
        "images": images,
        "strokes": strokes,
        "paths": len(drawings),
        "text_len": len(text),
        "garbled": text.count(chr(0xFFFD)),
    }


def main():
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    result = {"pymupdf": pymupdf.VersionBind, "documents": {}}
    for path in sorted(folder.glob("*.pdf")):
        with pymupdf.open(path) as doc:
            meta = doc.metadata or {}
            creator = ((meta.get("creator") or "") + " " + (meta.get("producer") or "")).lower()
            pages = []
            for i in range(len(doc)):
                try:
                    pages.append(page_values(doc.load_page(i)))
                except Exception as e:  # the seed skipped pages that fail to load
                    pages.append({"error": str(e)})
            result["documents"][path.name] = {
                "num_pages": len(doc),
                "is_form": bool(doc.is_form_pdf),
                "is_encrypted": bool(doc.is_encrypted),
                "scanner": any(s in creator for s in SCANNERS),
                "pages": pages,
            }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=0))


if __name__ == "__main__":
    main()
