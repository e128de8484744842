"""pypdf 7.1.0's text of each PDF the text route is compared on: pypdf's own test PDFs (its sdist's
resources/, without issue-604.pdf) and the seed's 25 Common Crawl samples. Pages 1-20, joined by a
blank line; encrypted files opened with the empty password; a file pypdf cannot read is null.
Run by `cargo xtask golden-pdf`; read by crates/trove-pdf/tests/text.rs.

usage: golden_pdf_text.py PYPDF_RESOURCES SEED_SAMPLES OUT_JSON
"""
import json
import logging
import sys
import warnings
from pathlib import Path

import pypdf

MAX_PAGES = 20
logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore")


def text_of(path):
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            if not reader.decrypt(""):
                return None
        pages = [reader.pages[i].extract_text() for i in range(min(MAX_PAGES, len(reader.pages)))]
        return "\n\n".join(pages)
    except Exception:
        return None


def main():
    resources, samples, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    files = sorted(p for p in resources.glob("*.pdf") if p.name != "issue-604.pdf")
    files += sorted(samples.glob("*.pdf"))
    result = {"pypdf": pypdf.__version__, "max_pages": MAX_PAGES, "texts": {}}
    for p in files:
        key = ("seed/" if p.parent == samples else "pypdf/") + p.name
        result["texts"][key] = text_of(p)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
