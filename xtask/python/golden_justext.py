"""jusText as Python trafilatura 1.11 runs it in `justext_rescue` (favor_precision, DataTrove 0.10.1's
options), on every HTML page of the fixture WARCs as DataTrove's WarcReader reads them: the page is
loaded and cleaned (`tree_cleaning`, then the paywall and comment-section pruning) and every paragraph
of `custom_justext` with the stoplist trafilatura uses (all of jusText's lists) is written with its
final class: [[text, is_good], ...]. Run by `cargo xtask golden-stats`; read by
crates/trove/tests/pipeline.rs.

usage: golden_justext.py WARC_FOLDER OUT_JSONL_GZ
"""
import gzip
import json
import logging
import sys

from datatrove.pipeline.readers import WarcReader
from trafilatura.external import custom_justext, jt_stoplist_init
from trafilatura.htmlprocessing import prune_unwanted_nodes, tree_cleaning
from trafilatura.settings import Extractor
from trafilatura.utils import load_html
from trafilatura.xpaths import PAYWALL_DISCARD_XPATH, REMOVE_COMMENTS_XPATH

logging.disable(logging.CRITICAL)
warc_folder, out = sys.argv[1], sys.argv[2]
options = Extractor(precision=True, comments=False, tables=True, dedup=True)
stoplist = jt_stoplist_init()
rows = []
for doc in WarcReader(warc_folder, glob_pattern="*.warc.gz").run():
    tree = load_html(doc.text)
    if tree is None:
        continue
    tree = tree_cleaning(tree, options)
    tree = prune_unwanted_nodes(tree, PAYWALL_DISCARD_XPATH)
    tree = prune_unwanted_nodes(tree, REMOVE_COMMENTS_XPATH)
    paragraphs = [[p.text, not p.is_boilerplate] for p in custom_justext(tree, stoplist)]
    rows.append({"id": doc.id, "paragraphs": paragraphs})
rows.sort(key=lambda r: r["id"])
with gzip.open(out, "wt") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(f"{len(rows)} pages, {sum(len(r['paragraphs']) for r in rows)} paragraphs", file=sys.stderr)
