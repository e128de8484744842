"""Golden MinHash dedup: DataTrove 0.10.1's four stages on a corpus with known near-duplicates.

The corpus (written to fixtures/minhash/, committed) is 240 sections of the committed Python docs sample
plus variants of every third one: exact copies, one word changed, a sentence appended, the last tenth cut,
spread over two files so that duplicates cross tasks. DataTrove runs the signature stage (2 tasks), the
buckets stage (28 tasks: two hash ranges per bucket), the cluster stage (cluster ids and sizes saved) and
the filter stage (2 tasks). The golden JSON records SHA-1 digests of every signature and .dups file, the
.remove/.clusters/.sizes contents and the ids each filter task kept.

Usage: golden_minhash.py OUT.json"""
import glob
import gzip
import hashlib
import json
import os
import struct
import sys
import tempfile

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def main():
    out_json = sys.argv[1]
    docs = []
    for path in sorted(glob.glob("fixtures/python-docs/*.jsonl.gz")):
        for line in gzip.open(path, "rt"):
            d = json.loads(line)
            if len(d["text"].split()) >= 60:
                docs.append({"text": d["text"], "id": d["id"]})
    base = docs[:240]
    files = [[], []]
    for i, d in enumerate(base):
        files[i % 2].append(d)
        if i % 3:
            continue
        words = d["text"].split(" ")
        kind = (i // 3) % 4
        if kind == 0:
            text = d["text"]
        elif kind == 1:
            j = len(words) // 2
            words[j] = "tortoise" if words[j] != "tortoise" else "hare"
            text = " ".join(words)
        elif kind == 2:
            text = d["text"] + "\n\nThis paragraph was added to a copy."
        else:
            text = d["text"][: len(d["text"]) * 9 // 10]
        files[(i + 1) % 2].append({"text": text, "id": f"{d['id']}-variant{kind}"})
    os.makedirs("fixtures/minhash", exist_ok=True)
    for k, part in enumerate(files):
        with gzip.GzipFile(f"fixtures/minhash/{k:05d}.jsonl.gz", "wb", mtime=0) as f:
            for d in part:
                f.write((json.dumps(d) + "\n").encode())

    work = tempfile.mkdtemp()
    sigs, buckets, clusters, kept = (os.path.join(work, x) for x in ("sigs", "buckets", "clusters", "kept"))
    config = MinhashConfig()
    LocalPipelineExecutor(
        [JsonlReader("fixtures/minhash"), MinhashDedupSignature(sigs, config=config)],
        tasks=2, logging_dir=os.path.join(work, "l1"),
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupBuckets(sigs, buckets, config=config)], tasks=28, logging_dir=os.path.join(work, "l2"),
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupCluster(buckets, clusters, config=config, save_cluster_id=True, save_cluster_size=True)],
        tasks=1, logging_dir=os.path.join(work, "l3"),
    ).run()
    LocalPipelineExecutor(
        [JsonlReader("fixtures/minhash"), MinhashDedupFilter(clusters), JsonlWriter(kept, compression=None)],
        tasks=2, logging_dir=os.path.join(work, "l4"),
    ).run()


    def digests(folder):
        out = {}
        for root, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(root, name)
                out[os.path.relpath(path, folder)] = hashlib.sha1(open(path, "rb").read()).hexdigest()
        return dict(sorted(out.items()))


    def u32s(path):
        data = open(path, "rb").read()
        return list(struct.unpack(f"<{len(data) // 4}I", data))


    golden = {
        "signatures": digests(sigs),
        "dups": digests(buckets),
        "clusters": {n: u32s(os.path.join(clusters, n)) for n in sorted(os.listdir(clusters))},
        "kept": {
            n: [json.loads(line)["id"] for line in open(os.path.join(kept, n))] for n in sorted(os.listdir(kept))
        },
    }
    with open(out_json, "w") as f:
        json.dump(golden, f, indent=1)
    print(f"{sum(len(v) for v in golden['kept'].values())} kept of {sum(len(p) for p in files)}")


if __name__ == "__main__":
    main()
