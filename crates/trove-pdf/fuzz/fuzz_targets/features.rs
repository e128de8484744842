//! Fuzzes the router's PDF feature extraction: any bytes give features or an error, never a panic or a
//! hang. Run from `crates/trove-pdf`: `cargo +nightly fuzz run features fuzz/corpus/features`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use trove_pdf::features::{extract, Budget};

fuzz_target!(|data: &[u8]| {
    let budget = Budget { time: Duration::from_secs(2), max_stream_bytes: 8 << 20, max_operations: 200_000 };
    let _ = extract(data, 0, budget);
});
