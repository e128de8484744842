//! # trove-infer
//!
//! Model inference in trove pipelines.
//!
//! - [`runner`]: `inference_runner`, DataTrove's `InferenceRunner` — an OpenAI-compatible
//!   chat-completions client (vLLM, SGLang and LMDeploy serve that API) with DataTrove's
//!   `InferenceConfig` ([`config`]), retries with backoff ([`client`]), bounded concurrency and
//!   per-document checkpoints; [`postprocess`]'s `extract_inference_text` turns the answer into the
//!   document's text. Async (tokio, reqwest) stays inside this crate: the step is an ordinary
//!   synchronous [`trove_core::Step`].
//! - `bert` (cargo feature `candle`): `bert_classifier`, a BERT-family encoder and a linear head run
//!   locally with candle (FineWeb-Edu-style scores).
//! - [`local_server`]: a small OpenAI-compatible server on 127.0.0.1 behind the `dummy` server type
//!   and the protocol tests.
//!
//! ```
//! use trove_core::step::{Context, Outputs, StageKind};
//! use trove_core::{BuildContext, Document, Registry, Stats, StepConfig, TaskInfo};
//! use trove_infer::local_server::LocalServer;
//! use trove_infer::{InferenceConfig, InferenceRunnerConfig, ServerType};
//!
//! // In a pipeline file: `type = "inference_runner"` with a `[pipeline.config]` table.
//! let server = LocalServer::dummy().unwrap();
//! let mut config = InferenceConfig::new(ServerType::Endpoint, "any-model");
//! config.endpoint_url = Some(server.url());
//! let runner = InferenceRunnerConfig::new(config);
//!
//! let (task, registry) = (TaskInfo::new(0, 1), Registry::new());
//! let StageKind::Step(mut step) = runner.build(&BuildContext { task: &task, registry: &registry }).unwrap().kind
//! else { unreachable!() };
//! let (mut stats, mut outputs, mut out) = (Stats::new("inference"), Outputs::default(), Vec::new());
//! let mut cx = Context::new(&task, &mut stats, &mut outputs, &mut out);
//! step.process_batch(&mut vec![Document::new("Say something.", "d1")], &mut cx).unwrap();
//! let results = out[0].metadata["rollout_results"].as_array().unwrap();
//! assert!(results[0]["text"].as_str().unwrap().starts_with("This is dummy text"));
//! //! ```
#![deny(missing_docs)]

#[cfg(feature = "candle")]
pub mod bert;
pub mod client;
pub mod config;
pub mod local_server;
pub mod postprocess;
pub mod runner;
pub mod server;

pub use config::{InferenceConfig, ServerType};
pub use postprocess::ExtractInferenceTextConfig;
pub use runner::{InferenceRunnerConfig, QueryBuilder};

/// Errors of this crate (wrapped in [`trove_core::Error::External`]).
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The server could not be started or reached.
    #[error("inference server: {message}")]
    Server {
        /// What went wrong.
        message: String,
    },
    /// A local model could not be loaded or run.
    #[error("model: {message}")]
    Model {
        /// What went wrong.
        message: String,
    },
    /// A request for a document failed for good.
    #[error("Failed to process document {id}: {error}")]
    Document {
        /// The document.
        id: String,
        /// Why.
        error: client::RequestError,
    },
}

/// Registers this crate's steps.
pub fn register(registry: &mut trove_core::Registry) {
    registry.register::<InferenceRunnerConfig>().register::<ExtractInferenceTextConfig>();
    #[cfg(feature = "candle")]
    registry.register::<bert::BertClassifierConfig>();
}
