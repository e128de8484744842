"""Golden summary stats: DataTrove 0.10.1's DocStats on the committed Python docs sample (summary and
histogram groups; the documents have no URL) and on the fixture WARCs' Trafilatura text (all four groups).
Usage: golden_doc_stats.py OUT_DIR"""
import glob
import gzip
import json
import os
import sys

from datatrove.data import Document
from datatrove.pipeline.stats import DocStats

out = sys.argv[1]


def load(paths):
    for path in paths:
        for line in gzip.open(path, "rt"):
            d = json.loads(line)
            yield Document(text=d["text"], id=str(d["id"]), metadata=d.get("metadata") or {})


list(DocStats(os.path.join(out, "python-docs"), groups_to_compute=["summary", "histogram"]).run(
    load(sorted(glob.glob("fixtures/python-docs/*.jsonl.gz")))))
list(DocStats(os.path.join(out, "warc")).run(load(["fixtures/golden/datatrove/warc-trafilatura.jsonl.gz"])))
