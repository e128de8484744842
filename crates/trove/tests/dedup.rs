//! Deduplication against DataTrove 0.10.1: the four MinHash stages, each its own pipeline file run with
//! `trove run`, on `fixtures/minhash/` (240 Python docs sections and 80 near-duplicate variants over two
//! files). Golden file: `fixtures/golden/datatrove/minhash.json`, from `xtask/python/golden_minhash.py`.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn run(dir: &Path, name: &str, body: &str) {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, body.replace("DIR", dir.to_str().unwrap())).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trove"))
        .current_dir(root())
        .args(["run", "--no-progress"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file below `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.insert(
                    p.strip_prefix(base).unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The golden file `fixtures/golden/datatrove/{name}.json`.
fn golden(name: &str) -> Value {
    let path = root().join(format!("fixtures/golden/datatrove/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The documents of every JSONL file below `dir` (relative path → documents), in order.
fn jsonl_docs(dir: &Path) -> BTreeMap<String, Vec<Value>> {
    files(dir)
        .into_iter()
        .map(|(k, v)| {
            let docs =
                String::from_utf8(v).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            (k, docs)
        })
        .collect()
}

fn sha1_hex(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

fn digests(dir: &Path) -> Value {
    files(dir)
        .into_iter()
        .map(|(k, v)| (k, Value::from(sha1_hex(&v))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Stage 1 on the fixture corpus: 2 tasks into `DIR/sigs`, DataTrove's default config spelled out.
fn signatures(d: &Path) {
    run(
        d,
        "1-signatures",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l1\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"minhash_dedup_signature\"\noutput_folder = \"DIR/sigs\"\n\
         config = { n_grams = 5, num_buckets = 14, hashes_per_bucket = 8, seed = 1 }\n",
    );
}

#[test]
fn minhash_four_stages_equal_datatrove() {
    let golden: Value = golden("minhash");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    signatures(d);
    // The signature files are DataTrove's, byte for byte.
    assert_eq!(digests(&d.join("sigs")), golden["signatures"]);

    // Two workers per bucket, each on a hash range.
    run(
        d,
        "2-buckets",
        "[executor]\ntasks = 28\nworkers = 2\nlogging_dir = \"DIR/l2\"\n\n\
         [[pipeline]]\ntype = \"minhash_dedup_buckets\"\ninput_folder = \"DIR/sigs\"\noutput_folder = \"DIR/buckets\"\n",
    );
    assert_eq!(digests(&d.join("buckets")), golden["dups"]);

    run(
        d,
        "3-cluster",
        "[executor]\ntasks = 1\nlogging_dir = \"DIR/l3\"\n\n\
         [[pipeline]]\ntype = \"minhash_dedup_cluster\"\ninput_folder = \"DIR/buckets\"\noutput_folder = \"DIR/clusters\"\n\
         save_cluster_id = true\nsave_cluster_size = true\n",
    );
    let clusters: serde_json::Map<String, Value> = files(&d.join("clusters"))
        .into_iter()
        .map(|(k, v)| {
            let values: Vec<u32> =
                v.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (k, Value::from(values))
        })
        .collect();
    assert_eq!(Value::from(clusters), golden["clusters"]);

    run(
        d,
        "4-filter",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l4\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"minhash_dedup_filter\"\ninput_folder = \"DIR/clusters\"\nload_cluster_ids = true\n\
         exclusion_writer = { type = \"jsonl_writer\", output_folder = \"DIR/removed\", compression = \"none\" }\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"DIR/kept\"\ncompression = \"none\"\n",
    );
    let ids = |dir: &Path| -> BTreeMap<String, Vec<String>> {
        jsonl_docs(dir)
            .into_iter()
            .map(|(k, docs)| (k, docs.iter().map(|d| d["id"].as_str().unwrap().to_string()).collect()))
            .collect()
    };
    let kept = ids(&d.join("kept"));
    assert_eq!(serde_json::to_value(&kept).unwrap(), golden["kept"]);
    // One document of each of the 80 pairs went (which one is DataTrove's union-find choice); nothing
    // was lost or duplicated; the removed ones carry their cluster id.
    let removed: Vec<String> = ids(&d.join("removed")).into_values().flatten().collect();
    assert_eq!(removed.len(), 80);
    let mut all: Vec<String> = kept.into_values().flatten().chain(removed.iter().cloned()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 320);
    let first_removed = files(&d.join("removed")).into_values().next().unwrap();
    let line: Value = serde_json::from_slice(first_removed.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert!(line["metadata"]["minhash_cluster_id"].as_i64().unwrap() >= 0, "{line}");
}

/// A signature file cut short (a killed DataTrove task, say) is an error naming the file, not a
/// silently shorter bucket.
#[test]
fn a_truncated_signature_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    signatures(d);
    let victim = d.join("sigs/bucket_003/00001.minhash.sig");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 10]).unwrap();
    let file = d.join("2.toml");
    std::fs::write(
        &file,
        format!(
            "[executor]\ntasks = 14\nlogging_dir = \"{0}/l2\"\n\n[[pipeline]]\ntype = \"minhash_dedup_buckets\"\n\
             input_folder = \"{0}/sigs\"\noutput_folder = \"{0}/buckets\"\n",
            d.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trove"))
        .args(["run", "--no-progress"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "one task fails");
    let log = std::fs::read_to_string(d.join("l2/logs/task_00003.log")).unwrap();
    assert!(log.contains("00001.minhash.sig") && log.contains("truncated"), "{log}");
    // The other buckets completed and are not redone.
    assert_eq!(std::fs::read_dir(d.join("l2/completions")).unwrap().count(), 13);
}

/// Kept documents of a jsonl output folder: (id, text digest, duplicate_count), in file order.
fn kept_docs(dir: &Path) -> Vec<(String, String, i64)> {
    jsonl_docs(dir)
        .into_values()
        .flatten()
        .map(|d| {
            let count = d["metadata"]["duplicate_count"].as_i64().unwrap_or(-1);
            (d["id"].as_str().unwrap().to_string(), sha1_hex(d["text"].as_str().unwrap().as_bytes()), count)
        })
        .collect()
}

/// Exact dedup's three stages as three pipeline files, against DataTrove 0.10.1 on the near-duplicate
/// corpus (2 tasks, 2 finder workers): the same number of documents removed and the same texts kept
/// (which copy of a text is kept may differ: trove keeps the first by (task, index), see
/// docs/decisions.md), and the same `duplicate_count` total.
#[test]
fn exact_dedup_keeps_the_texts_datatrove_keeps() {
    let golden: Value = golden("exact");
    let want = &golden["minhash-corpus"];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        "1",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l1\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"exact_dedup_signature\"\noutput_folder = \"DIR/sigs\"\nfinder_workers = 2\n",
    );
    run(
        d,
        "2",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l2\"\n\n\
         [[pipeline]]\ntype = \"exact_find_dedups\"\ndata_folder = \"DIR/sigs\"\noutput_folder = \"DIR/dups\"\n",
    );
    run(
        d,
        "3",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l3\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"exact_dedup_filter\"\ndata_folder = \"DIR/dups\"\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"DIR/kept\"\ncompression = \"none\"\n",
    );
    let kept = kept_docs(&d.join("kept"));
    assert_eq!(kept.len(), want["kept_ids"].as_array().unwrap().len());
    let mut texts: Vec<&String> = kept.iter().map(|k| &k.1).collect();
    texts.sort();
    let want_texts: Vec<&str> =
        want["kept_texts"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(texts, want_texts);
    let total: i64 = kept.iter().map(|k| k.2).sum();
    let want_total: i64 =
        want["duplicate_count"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(total, want_total);
}

/// Seed example 5 as shipped: 14 documents → 10, the first of each group kept (as DataTrove keeps
/// them here), `duplicate_count` on the kept ones, the 4 copies in the exclusion writer's output.
#[test]
fn example_5_removes_the_copies() {
    let golden: Value = golden("exact");
    let out = root().join("out/05_deduplication");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(root().join("logs/05_deduplication"));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_trove"))
        .current_dir(root())
        .args(["run", "--no-progress", "examples/05_deduplication.toml"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let kept = kept_docs(&out.join("output"));
    let ids: Vec<&str> = kept.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(serde_json::to_value(&ids).unwrap(), golden["14-docs"]["kept_ids"]);
    assert_eq!(ids.len(), 10);
    let counts: BTreeMap<&str, i64> = kept.iter().map(|k| (k.0.as_str(), k.2)).collect();
    assert_eq!(serde_json::to_value(&counts).unwrap(), golden["14-docs"]["duplicate_count"]);
    let removed: Vec<String> = kept_docs(&out.join("removed")).into_iter().map(|k| k.0).collect();
    assert_eq!(removed, ["copy-of-doc-02", "copy-of-doc-05", "copy-of-doc-07", "pangram-again"]);
}

/// Seed example 7 as shipped: the four MinHash stages chained by `depends` remove the 80
/// near-duplicates, and a second run finds every stage complete and redoes nothing.
#[test]
fn example_7_runs_the_four_stages_in_order() {
    let out = root().join("out/07_minhash");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(root().join("logs/07_minhash"));
    let trove = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_trove"))
            .current_dir(root())
            .args(["run", "--no-progress", "examples/07_minhash_deduplication.toml"])
            .output()
            .unwrap()
    };
    let first = trove();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let count = |dir: &str| -> usize { files(&out.join(dir)).values().map(|v| flate2_lines(v)).sum() };
    assert_eq!(count("deduplicated"), 240);
    assert_eq!(count("removed"), 80);
    let again = trove();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success() && text.contains("0 tasks run, 2 skipped"), "{text}");
}

/// Lines of a gzipped JSONL file.
fn flate2_lines(bytes: &[u8]) -> usize {
    use std::io::Read;
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s.lines().count()
}

/// The Bloom filter in one pass over the near-duplicate corpus (one task, so it sees both files):
/// exact copies, appended and truncated variants go; no document without a near-duplicate is dropped
/// (the index is `hash % m`, not DataTrove's `hash & m_bytes`); the saved bit array has `m` bits.
#[test]
fn bloom_filter_drops_near_duplicates_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        "bloom",
        "[executor]\ntasks = 1\nlogging_dir = \"DIR/l\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"single_bloom_filter\"\noutput_folder = \"DIR/bloom\"\nsave_bloom_filter = true\n\
         config = { expected_elements = 200000, false_positive_rate = 0.001 }\n\
         exclusion_writer = { type = \"jsonl_writer\", output_folder = \"DIR/removed\", compression = \"none\" }\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"DIR/kept\"\ncompression = \"none\"\n",
    );
    let removed: Vec<String> = kept_docs(&d.join("removed")).into_iter().map(|k| k.0).collect();
    let kept: Vec<String> = kept_docs(&d.join("kept")).into_iter().map(|k| k.0).collect();
    assert_eq!(removed.len() + kept.len(), 320);
    // Every document of a near-duplicate pair has the pair's base id; ids without a variant are unique.
    let base = |id: &str| id.split("-variant").next().unwrap().to_string();
    let with_variant: std::collections::BTreeSet<String> =
        kept.iter().chain(&removed).filter(|id| id.contains("-variant")).map(|id| base(id)).collect();
    for id in &removed {
        assert!(with_variant.contains(&base(id)), "{id} has no near-duplicate but was dropped");
    }
    // One document of each pair went — the later one — for every exact copy, appended and truncated
    // variant (60 pairs); a changed word leaves 13 new 13-grams, which may keep a short document.
    let mut per_base: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for id in kept.iter().chain(&removed).filter(|id| id.contains("-variant")) {
        per_base.insert(base(id), (id.rsplit('-').next().unwrap().to_string(), 0));
    }
    for id in &removed {
        per_base.get_mut(&base(id)).unwrap().1 += 1;
    }
    for (b, (kind, n)) in &per_base {
        assert!(*n <= 1, "{b}: both documents dropped");
        if kind != "variant1" {
            assert_eq!(*n, 1, "{b} ({kind}): not caught");
        }
    }
    eprintln!("bloom: {} of 80 pairs caught, {} documents removed", removed.len(), removed.len());
    let bits = std::fs::metadata(d.join("bloom/bloom_filter.bloom")).unwrap().len() * 8;
    assert!((2_875_000..2_876_000).contains(&bits), "{bits} bits");
}

/// (id, SHA-1 of the text) of every document in a JSONL folder, per file.
fn docs_by_file(dir: &Path) -> Value {
    jsonl_docs(dir)
        .into_iter()
        .map(|(k, docs)| {
            let docs: Vec<Value> = docs
                .iter()
                .map(|d| serde_json::json!([d["id"], sha1_hex(d["text"].as_str().unwrap().as_bytes())]))
                .collect();
            (k, Value::from(docs))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Sentence dedup's three stages, each its own pipeline file, against DataTrove 0.10.1 on the
/// near-duplicate corpus (2 tasks, 2 finder workers): signature and duplicate files byte-identical,
/// the same documents kept with the same texts, the same exclusion-writer output (dropped documents
/// and changed ones with their spans marked).
#[test]
fn sentence_dedup_equals_datatrove() {
    let golden: Value = golden("sentence");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        "1",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l1\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"sentence_dedup_signature\"\noutput_folder = \"DIR/sigs\"\nfinder_workers = 2\n",
    );
    assert_eq!(digests(&d.join("sigs")), golden["signatures"]);
    run(
        d,
        "2",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l2\"\n\n\
         [[pipeline]]\ntype = \"sentence_find_dedups\"\ndata_folder = \"DIR/sigs\"\noutput_folder = \"DIR/dups\"\n",
    );
    assert_eq!(digests(&d.join("dups")), golden["dups"]);
    run(
        d,
        "3",
        "[executor]\ntasks = 2\nlogging_dir = \"DIR/l3\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"fixtures/minhash\"\n\n\
         [[pipeline]]\ntype = \"sentence_dedup_filter\"\ndata_folder = \"DIR/dups\"\n\
         exclusion_writer = { type = \"jsonl_writer\", output_folder = \"DIR/removed\", compression = \"none\" }\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"DIR/kept\"\ncompression = \"none\"\n",
    );
    assert_eq!(docs_by_file(&d.join("kept")), golden["kept"]);
    assert_eq!(docs_by_file(&d.join("removed")), golden["removed"]);
}
