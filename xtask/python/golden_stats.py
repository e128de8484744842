"""Golden summary stats of every DataTrove 0.10.1 stats block, chained as one pipeline (TokenStats first,
so the later blocks' histograms carry `__tokens`), then StatsMerger into the same folder, on the committed
Python docs sample (summary and histogram groups) and the fixture WARCs' Trafilatura text (all groups).

The outputs are bundled as one gzipped JSON object (relative path -> file content) to keep the
repository small. Usage: golden_stats.py GPT2_TOKENIZER_JSON LID176_MODEL OUT.json.gz"""
import glob
import gzip
import json
import os
import sys
import tempfile

from fasttext.FastText import _FastText

from datatrove.data import Document
from datatrove.pipeline.stats import (
    LangStats, LineStats, ParagraphStats, SentenceStats, StatsMerger, TokenStats, WordStats,
)

from datatrove.pipeline.stats.config import TopKConfig

tokenizer, lid, bundle = sys.argv[1:]
out = tempfile.mkdtemp()
model = _FastText(lid)


def load(paths):
    for path in paths:
        for line in gzip.open(path, "rt"):
            d = json.loads(line)
            yield Document(text=d["text"], id=str(d["id"]), metadata=d.get("metadata") or {})


def run(sub, paths, groups, digits):
    folder = os.path.join(out, sub)
    kw = {"groups_to_compute": groups} if groups else {}
    rd = {"histogram_round_digits": digits}
    lang = LangStats(folder, language="en", **kw, **rd)
    lang.fasttext._model = model
    steps = [
        TokenStats(folder, tokenizer_name_or_path=tokenizer, histogram_rounding=-2, **kw),
        WordStats(folder, short_word_max_chars_threshold=[2, 3], **kw, **rd),
        LineStats(folder, ignore_empty_lines=sub == "warc", **kw, **rd),
        ParagraphStats(folder, **kw, **rd),
        SentenceStats(folder, long_sentence_max_chars_threshold=[50, 100], histogram_round_digits=1, **kw),
        lang,
    ]
    docs = load(paths)
    for step in steps:
        docs = step.run(docs)
    for _ in docs:
        pass
    list(StatsMerger(folder, folder, top_k_config=TopKConfig(top_k_groups=["fqdn"], top_k=5)).run(None))


run("python-docs", sorted(glob.glob("fixtures/python-docs/*.jsonl.gz")), ["summary", "histogram"], 1)
run("warc", ["fixtures/golden/datatrove/warc-trafilatura.jsonl.gz"], None, 3)
files = {}
for root, _, names in os.walk(out):
    for name in names:
        path = os.path.join(root, name)
        files[os.path.relpath(path, out)] = open(path).read()
with gzip.open(bundle, "wt") as f:
    json.dump(dict(sorted(files.items())), f, indent=0)
