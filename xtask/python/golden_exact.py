"""Golden exact dedup: DataTrove 0.10.1's three stages (content = the text, 2 finder workers) on the
near-duplicate corpus of fixtures/minhash/ (2 tasks), and on the 14-document fixture of example 5.
Records, per corpus, the number of documents removed and SHA-1 digests of the kept texts (which text
survives does not depend on which copy is kept), and the kept ids.

Usage: golden_exact.py OUT.json"""
import hashlib
import json
import os
import sys
import tempfile

from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig, ExactDedupFilter, ExactDedupSignature, ExactFindDedups
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def get_text(doc: Document) -> str:
    return doc.text


def run(folder, glob, tasks, workers):
    work = tempfile.mkdtemp()
    config = ExactDedupConfig(content_getter=get_text)
    sigs, dups, kept = (os.path.join(work, x) for x in ("sigs", "dups", "kept"))
    LocalPipelineExecutor(
        [JsonlReader(folder, glob_pattern=glob), ExactDedupSignature(sigs, config=config, finder_workers=workers)],
        tasks=tasks, logging_dir=os.path.join(work, "l1"),
    ).run()
    LocalPipelineExecutor(
        [ExactFindDedups(sigs, dups, config=config)], tasks=workers, logging_dir=os.path.join(work, "l2"),
    ).run()
    LocalPipelineExecutor(
        [JsonlReader(folder, glob_pattern=glob), ExactDedupFilter(dups, config=config), JsonlWriter(kept, compression=None)],
        tasks=tasks, logging_dir=os.path.join(work, "l3"),
    ).run()
    ids, texts, counts = [], [], {}
    for name in sorted(os.listdir(kept)):
        for line in open(os.path.join(kept, name)):
            d = json.loads(line)
            ids.append(d["id"])
            texts.append(hashlib.sha1(d["text"].encode()).hexdigest())
            counts[d["id"]] = d["metadata"]["duplicate_count"]
    return {"kept_ids": ids, "kept_texts": sorted(texts), "duplicate_count": counts}


def main():
    golden = {
        "minhash-corpus": run("fixtures/minhash", "*.jsonl.gz", 2, 2),
        "14-docs": run("fixtures/dedup", "14_docs.jsonl", 1, 1),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(golden, f, indent=1)
    print({k: len(v["kept_ids"]) for k, v in golden.items()})


if __name__ == "__main__":
    main()
