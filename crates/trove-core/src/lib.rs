//! # trove-core
//!
//! The small, stable crate every trove plugin depends on: the [`Document`] that flows through a
//! pipeline, push-based [`Step`]s and [`Source`]s with the [`Filter`] and [`Map`] adapters,
//! DataTrove-compatible [`stats`], sharding ([`task::shard`]), the [`Storage`] trait, the pipeline
//! file and step [`Registry`] ([`config`]), the task runner and the [`LocalExecutor`].
//!
//! Plugin crates (`trove-io`, `trove-filters`, ...) implement [`StepConfig`] for their steps and expose
//! a `register(&mut Registry)` function; the `trove` crate wires them together.
//!
//! ```
//! use trove_core::{runner, Document, Filter, FilterStep, Result, Source, SourceContext, Stage, TaskInfo, Verdict};
//!
//! /// Emits three documents.
//! struct Numbers;
//! impl Source for Numbers {
//!     fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
//!         for text in ["a short one", "a much longer document", "tiny"] {
//!             cx.emit(Document::new(text, format!("doc-{}", cx.emitted())))?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! /// Keeps documents of at least 10 characters.
//! struct AtLeast10;
//! impl Filter for AtLeast10 {
//!     fn filter(&mut self, doc: &Document) -> Verdict {
//!         if doc.text.chars().count() >= 10 { Verdict::Keep } else { Verdict::Drop(Some("too_short")) }
//!     }
//! }
//!
//! let stages = vec![
//!     Stage::source("📖 - READER: numbers", Numbers),
//!     Stage::step("🔻 - FILTER: at least 10", FilterStep::new(AtLeast10, None)),
//! ];
//! let out = runner::run_task(stages, &[], &TaskInfo::new(0, 1), 1024, None)?;
//! let filter = &out.stats.steps[1];
//! assert_eq!(filter.stats["forwarded"].total, 2.0);
//! assert_eq!(filter.stats["dropped_too_short"].total, 1.0);
//! # Ok::<(), trove_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod config;
pub mod document;
pub mod domain;
pub mod error;
pub mod executor;
pub mod hash;
pub mod logging;
pub mod numpy_rng;
pub mod pyjson;
pub mod runner;
pub mod stats;
pub mod step;
pub mod storage;
pub mod summary;
pub mod task;
pub mod text;

pub use config::{BuildContext, Pipeline, PipelineFile, Registry, StepConfig, StepSpec};
pub use document::{Document, Media, Metadata, Value};
pub use error::{Error, IoResultExt, Result};
pub use executor::{LocalExecutor, LocalExecutorConfig, RunReport};
pub use stats::{MetricStats, PipelineStats, Stats};
pub use step::{
    Context, Filter, FilterStep, Map, MapStep, Source, SourceContext, Stage, StageKind, Step, Verdict,
};
pub use storage::{open_storage, AtomicFile, LocalStorage, Storage};
pub use task::TaskInfo;
