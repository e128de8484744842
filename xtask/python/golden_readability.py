"""Python trafilatura 1.11's readability fallback (`trafilatura.external.try_readability`, its fork of
python-readability) on every HTML page of the fixture WARCs, as DataTrove 0.10.1's WarcReader reads
them: the article's text (`trim` of lxml's text serialisation), or "" for an empty article.
Run by `cargo xtask golden-stats`; read by crates/trove/tests/pipeline.rs.

usage: golden_readability.py WARC_FOLDER OUT_JSONL_GZ
"""
import gzip
import json
import logging
import sys

from datatrove.pipeline.readers import WarcReader
from lxml.etree import tostring
from trafilatura.external import try_readability
from trafilatura.utils import load_html, trim

logging.disable(logging.CRITICAL)
warc_folder, out = sys.argv[1], sys.argv[2]
rows = []
for doc in WarcReader(warc_folder, glob_pattern="*.warc.gz").run():
    tree = load_html(doc.text)
    if tree is None:
        continue
    article = try_readability(tree)
    text = trim(tostring(article, method="text", encoding="utf-8").decode("utf-8"))
    rows.append({"id": doc.id, "text": text})
rows.sort(key=lambda r: r["id"])
with gzip.open(out, "wt") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(f"{len(rows)} pages", file=sys.stderr)
