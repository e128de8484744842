//! Seed example 1 built in Rust: the same pipeline as `examples/01_basic_filtering.toml`.
//!
//! Run from the repository root:
//! `cargo run --release -p trove --example 01_basic_filtering`
#![allow(clippy::print_stdout)] // an example program reports on stdout

use trove::core::{LocalExecutor, LocalExecutorConfig, Pipeline};
use trove::filters::{KeywordFilterConfig, LengthFilterConfig, SamplerFilterConfig};
use trove::io::{JsonlReaderConfig, JsonlWriterConfig};

/// The pipeline of seed example 1.
pub fn pipeline() -> Pipeline {
    Pipeline::new(trove::registry())
        .step(JsonlReaderConfig {
            glob_pattern: Some("*.jsonl.gz".into()),
            limit: 1000,
            ..JsonlReaderConfig::new("fixtures/python-docs")
        })
        .step(LengthFilterConfig { min_length: Some(101), max_length: None, exclusion_writer: None })
        .step(KeywordFilterConfig {
            keywords: ["data", "learning", "computer", "science"].map(String::from).to_vec(),
            exclusion_writer: None,
        })
        .step(SamplerFilterConfig { rate: 0.5, seed: Some(42), exclusion_writer: None })
        .step(JsonlWriterConfig {
            output_filename: Some("filtered_${rank}.jsonl".into()),
            ..JsonlWriterConfig::new("out/01_basic_filtering")
        })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    trove::core::logging::init("warn");
    let config = LocalExecutorConfig {
        tasks: 4,
        workers: 2,
        logging_dir: Some("logs/01_basic_filtering_rs".into()),
        ..LocalExecutorConfig::default()
    };
    let executor = LocalExecutor::new(pipeline(), config)?;
    let report = executor.run()?;
    let read = report.stats.steps[0].stats.get("documents").map_or(0.0, |m| m.total);
    let written = report.stats.steps[4].stats.get("total").map_or(0.0, |m| m.total);
    println!(
        "read {read} documents, wrote {written} to out/01_basic_filtering/ in {:.2}s (logs: {})",
        report.elapsed.as_secs_f64(),
        report.logging_dir
    );
    Ok(())
}
