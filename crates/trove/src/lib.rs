//! # trove
//!
//! LLM pretraining data pipelines — DataTrove's model rebuilt in Rust. This facade re-exports every
//! trove crate and provides [`registry`], which knows every step type; the `trove` binary runs
//! pipeline files with it.
//!
//! A pipeline is data: the same steps come from a TOML/YAML file or from the Rust builder.
//!
//! ```
//! use trove::{core::Pipeline, filters::LengthFilterConfig, io::{JsonlReaderConfig, JsonlWriterConfig}};
//!
//! let pipeline = Pipeline::new(trove::registry())
//!     .step(JsonlReaderConfig { limit: 10, ..JsonlReaderConfig::new("fixtures/python-docs") })
//!     .step(LengthFilterConfig { min_length: Some(101), max_length: None, exclusion_writer: None })
//!     .step(JsonlWriterConfig::new("out/example"));
//! let steps = pipeline.to_values()?;
//! assert_eq!(steps[1]["type"], "length_filter");
//! assert_eq!(steps[2]["compression"], "gzip"); // DataTrove's default, filled in
//! # Ok::<(), trove::core::Error>(())
//! ```
#![deny(missing_docs)]

use std::sync::{Arc, OnceLock};

pub mod report;

pub use trove_core as core;
pub use trove_dedup as dedup;
pub use trove_extract as extract;
pub use trove_filters as filters;
pub use trove_infer as infer;
pub use trove_io as io;
pub use trove_pdf as pdf;
pub use trove_slurm as slurm;
pub use trove_tokenize as tokenize;

/// A registry with every step type of every trove crate.
pub fn registry() -> Arc<core::Registry> {
    static REGISTRY: OnceLock<Arc<core::Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let mut r = core::Registry::new();
            trove_io::register(&mut r);
            trove_filters::register(&mut r);
            trove_extract::register(&mut r);
            trove_tokenize::register(&mut r);
            trove_dedup::register(&mut r);
            trove_pdf::register(&mut r);
            trove_infer::register(&mut r);
            Arc::new(r)
        })
        .clone()
}
