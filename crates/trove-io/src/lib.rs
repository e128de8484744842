//! # trove-io
//!
//! Reading and writing documents: [`DataFolder`] (listing with DataTrove's sorting, glob and recursion
//! rules, sharding, compression from the extension, atomic writes), `jsonl_reader` / `jsonl_writer`
//! and, with the `parquet` feature, `parquet_reader` / `parquet_writer`.
//!
//! ```
//! use trove_core::{runner, Stage, StepConfig, BuildContext, Registry, TaskInfo};
//! use trove_io::{JsonlReaderConfig, JsonlWriterConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let input = dir.path().join("in");
//! std::fs::create_dir(&input)?;
//! std::fs::write(input.join("a.jsonl"), "{\"text\": \"hello\", \"lang\": \"en\"}\n{\"text\": \"\"}\n")?;
//!
//! let registry = Registry::new();
//! let task = TaskInfo::new(0, 1);
//! let cx = BuildContext { task: &task, registry: &registry };
//! let mut writer = JsonlWriterConfig::new(dir.path().join("out").to_str().unwrap());
//! writer.compression = None;
//! let stages: Vec<Stage> = vec![
//!     JsonlReaderConfig { add_file_path: false, ..JsonlReaderConfig::new(input.to_str().unwrap()) }.build(&cx)?,
//!     writer.build(&cx)?,
//! ];
//! let mut out = runner::run_task(stages, &[], &task, 1024, None)?;
//! out.outputs.commit_all()?;
//! let written = std::fs::read_to_string(dir.path().join("out/00000.jsonl"))?;
//! assert_eq!(written, "{\"text\":\"hello\",\"id\":\"a.jsonl/0\",\"metadata\":{\"lang\":\"en\"}}\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod compression;
pub mod folder;
pub mod jsonl;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod reader;
#[cfg(feature = "s3")]
pub mod s3;
pub mod warc;
pub mod writer;

pub use compression::Compression;
pub use folder::DataFolder;
pub use jsonl::{JsonlReaderConfig, JsonlWriterConfig};
#[cfg(feature = "parquet")]
pub use parquet::{ParquetReaderConfig, ParquetWriterConfig};
pub use warc::{PdfWarcReaderConfig, WarcReaderConfig};

/// Registers this crate's steps.
pub fn register(registry: &mut trove_core::Registry) {
    #[cfg(feature = "s3")]
    trove_core::storage::register_scheme("s3", s3::open);
    registry.register::<JsonlReaderConfig>().register::<JsonlWriterConfig>().register::<WarcReaderConfig>();
    registry.register::<PdfWarcReaderConfig>();
    #[cfg(feature = "parquet")]
    registry.register::<ParquetReaderConfig>().register::<ParquetWriterConfig>();
}
