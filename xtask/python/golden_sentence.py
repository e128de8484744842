"""Golden sentence dedup: DataTrove 0.10.1's three stages (default SentDedupConfig, 2 finder workers) on
the near-duplicate corpus of fixtures/minhash/ (2 tasks). Records SHA-1 digests of the signature and
duplicate files, and (id, SHA-1 of text) of every kept document and every exclusion-writer document.

Usage: golden_sentence.py OUT.json"""
import hashlib
import json
import os
import sys
import tempfile

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.sentence_dedup import (
    SentDedupConfig, SentenceDedupFilter, SentenceDedupSignature, SentenceFindDedups,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def digests(folder):
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            out[os.path.relpath(path, folder)] = hashlib.sha1(open(path, "rb").read()).hexdigest()
    return dict(sorted(out.items()))


def docs(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        out[name] = [
            [d["id"], hashlib.sha1(d["text"].encode()).hexdigest()]
            for d in map(json.loads, open(os.path.join(folder, name)))
        ]
    return out


def main():
    work = tempfile.mkdtemp()
    config = SentDedupConfig()
    sigs, dups, kept, removed = (os.path.join(work, x) for x in ("sigs", "dups", "kept", "removed"))
    LocalPipelineExecutor(
        [JsonlReader("fixtures/minhash"), SentenceDedupSignature(sigs, finder_workers=2, config=config)],
        tasks=2, logging_dir=os.path.join(work, "l1"),
    ).run()
    LocalPipelineExecutor(
        [SentenceFindDedups(sigs, dups, config=config)], tasks=2, logging_dir=os.path.join(work, "l2"),
    ).run()
    LocalPipelineExecutor(
        [
            JsonlReader("fixtures/minhash"),
            SentenceDedupFilter(dups, config=config, exclusion_writer=JsonlWriter(removed, compression=None)),
            JsonlWriter(kept, compression=None),
        ],
        tasks=2, logging_dir=os.path.join(work, "l3"),
    ).run()
    golden = {"signatures": digests(sigs), "dups": digests(dups), "kept": docs(kept), "removed": docs(removed)}
    with open(sys.argv[1], "w") as f:
        json.dump(golden, f, indent=1)
    print({k: len(v) for k, v in golden.items()}, {k: len(v) for k, v in golden["kept"].items()})


if __name__ == "__main__":
    main()
