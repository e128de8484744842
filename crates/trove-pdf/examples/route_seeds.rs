//! How the router's agreement with the seed's recorded routes depends on the page-sampling seed.
//!
//! The seed sampled 8 pages of longer PDFs with an unseeded random draw, so its recorded probability
//! for those is one draw among many. This routes the seed's 25 samples with `seed` = 0..N and prints,
//! per sample with more than 8 pages, how many seeds give the seed's route, and the distribution of
//! the total agreement (of 25).
//!
//! `cargo run --release -p trove-pdf --example route_seeds -- [N]` (default 200)
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a command-line tool

use std::collections::BTreeMap;
use std::path::Path;
use trove_pdf::features::{extract, Budget};
use trove_pdf::xgboost::Booster;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pdf/seed");
    let booster = Booster::load(&root.join("pdf_classifier_real_data.xgb")).unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("samples/sample_info.json")).unwrap())
            .unwrap();
    let mut totals = vec![0u32; n as usize];
    for bucket in info.as_array().unwrap() {
        for s in bucket["info"].as_array().unwrap() {
            let name = s["saved_filename"].as_str().unwrap();
            let recorded = s["ocr_prob"].as_f64().unwrap() >= 0.5;
            let bytes = std::fs::read(root.join("samples").join(name)).unwrap();
            let mut agree = 0;
            for seed in 0..n {
                let features = extract(&bytes, seed, Budget::default()).unwrap();
                let p = booster.predict(&features.vector(seed));
                if (f64::from(p) >= 0.5) == recorded {
                    agree += 1;
                    totals[seed as usize] += 1;
                }
            }
            if s["num_pages"].as_u64().unwrap_or(0) > 8 {
                println!(
                    "{name} ({} pages, recorded {:.3}): {agree}/{n} seeds agree",
                    s["num_pages"],
                    s["ocr_prob"].as_f64().unwrap_or(0.0)
                );
            }
        }
    }
    let mut histogram = BTreeMap::new();
    for t in &totals {
        *histogram.entry(*t).or_insert(0) += 1;
    }
    let mean = totals.iter().map(|&t| f64::from(t)).sum::<f64>() / n as f64;
    println!(
        "agreement of 25: seed 0 gives {}; over {n} seeds mean {mean:.2}, seeds per total {histogram:?}",
        totals[0]
    );
}
