//! `inference_runner`: DataTrove's `InferenceRunner` as a pipeline-file step.
//!
//! Each document becomes one request per rollout (the query builder makes the payload), sent with
//! at most `max_concurrent_generations` in flight; the successful results go to
//! `metadata[metadata_key]` as DataTrove stores them (`{text, finish_reason, usage, reasoning}`), and
//! the document moves on **in input order**, whatever order the answers came in. A document whose
//! rollouts all failed is dropped (`no_rollouts`).
//!
//! Post-processing is ordinary steps after this one (`extract_inference_text`, then a writer): they
//! run in the same task and a writer stays open for the whole task, so DataTrove's special writer
//! contexts are not needed. DataTrove's `output_writer` argument is accepted too (documents then go
//! to it and not on).
//!
//! With `checkpoints_local_dir`, every finished document's results are appended to
//! `{checkpoints_local_dir}/{rank:05}/chunk_{index / records_per_chunk:05}.jsonl` as it completes;
//! a restarted task reads them back and sends no request for those documents, so a killed task loses
//! at most the requests in flight. Outputs are still published once, when the task succeeds.

use crate::client::{self, Endpoint, InferenceResult, RequestError};
use crate::config::InferenceConfig;
use crate::server::Server;
use crate::InferError;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trove_core::document::media_type;
use trove_core::step::{Context, Step};
use trove_core::{BuildContext, Document, Error, Result, Stage, Stats, StepConfig, StepSpec};

/// RolmOCR's prompt (its model card).
pub const ROLMOCR_PROMPT: &str =
    "Return the plain text representation of this document as if you were reading it naturally.\n";

/// How a document becomes a request (DataTrove takes a Python `rollout_fn`; a pipeline file names one
/// of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QueryBuilder {
    /// The document's text as the user message (`prompt` with `{text}` replaced, if given).
    #[default]
    Text,
    /// The seed's RolmOCR query: every image in `media` (rendered PDF pages, in order) as a PNG data URL
    /// and the RolmOCR prompt in one user message; `max_tokens` 4096, `temperature` 0.
    Rolmocr,
}

fn d_chunk() -> u64 {
    6000
}
fn d_key() -> String {
    "rollout_results".into()
}
fn d_retry() -> f64 {
    5.0
}

/// `inference_runner`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceRunnerConfig {
    /// The server and request settings (DataTrove's `InferenceConfig`).
    pub config: InferenceConfig,
    /// How documents become requests.
    #[serde(default)]
    pub query_builder: QueryBuilder,
    /// The prompt: for `text`, a template where `{text}` is the document's text; for `rolmocr`, the
    /// text sent after the images (default [`ROLMOCR_PROMPT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// A local folder for per-document checkpoints (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints_local_dir: Option<String>,
    /// Documents per checkpoint file.
    #[serde(default = "d_chunk")]
    pub records_per_chunk: u64,
    /// Where the results go in metadata.
    #[serde(default = "d_key")]
    pub metadata_key: String,
    /// Drop a document the server answers with HTTP 400 instead of failing the task.
    #[serde(default)]
    pub skip_bad_requests: bool,
    /// DataTrove's writer argument: when set, documents go to this writer instead of the next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_writer: Option<StepSpec>,
    /// Seconds before the first retry of a connection error; doubled at each attempt (DataTrove: 5).
    #[serde(default = "d_retry")]
    pub retry_delay: f64,
}

impl InferenceRunnerConfig {
    /// A runner with DataTrove's defaults for `config`.
    pub fn new(config: InferenceConfig) -> InferenceRunnerConfig {
        InferenceRunnerConfig {
            config,
            query_builder: QueryBuilder::Text,
            prompt: None,
            checkpoints_local_dir: None,
            records_per_chunk: d_chunk(),
            metadata_key: d_key(),
            skip_bad_requests: false,
            output_writer: None,
            retry_delay: d_retry(),
        }
    }
}

impl StepConfig for InferenceRunnerConfig {
    const TYPE: &'static str = "inference_runner";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let mut problems = Vec::new();
        self.check(&mut problems);
        if !problems.is_empty() {
            return Err(Error::Config(problems));
        }
        let output = match &self.output_writer {
            None => None,
            Some(spec) => match cx.build_nested(spec)?.kind {
                trove_core::step::StageKind::Step(step) => Some(step),
                trove_core::step::StageKind::Source(_) => {
                    return Err(Error::config("output_writer must be a writer, not a reader"))
                }
            },
        };
        let checkpoint = match &self.checkpoints_local_dir {
            None => None,
            Some(dir) => Some(Checkpoint::open(
                PathBuf::from(dir).join(format!("{:05}", cx.task.rank)),
                self.records_per_chunk,
            )?),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            Error::External(Box::new(InferError::Server { message: format!("async runtime: {e}") }))
        })?;
        Ok(Stage::step(
            "Inference 🔍",
            InferenceRunner {
                cfg: Arc::new(self.clone()),
                runtime,
                client: reqwest::Client::new(),
                server: None,
                checkpoint,
                output,
                output_stats: Stats::new("output writer"),
                scratch: Vec::new(),
                index: 0,
                started: Instant::now(),
                last_report: Instant::now(),
                done: 0,
            },
        ))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.config.check(problems);
        if self.records_per_chunk == 0 {
            problems.push("records_per_chunk must be positive".into());
        }
        if self.retry_delay.is_nan() || self.retry_delay < 0.0 {
            problems.push(format!("retry_delay must be >= 0, not {}", self.retry_delay));
        }
        if let Some(dir) = &self.checkpoints_local_dir {
            if dir.contains("://") {
                problems.push(format!("checkpoints_local_dir must be a local directory, not {dir}"));
            }
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.output_writer.iter().collect()
    }
}

/// Per-document checkpoints of one task.
struct Checkpoint {
    dir: PathBuf,
    records_per_chunk: u64,
    done: HashMap<String, Value>,
    file: Option<(u64, PathBuf, std::fs::File)>,
}

impl Checkpoint {
    fn open(dir: PathBuf, records_per_chunk: u64) -> Result<Checkpoint> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut done = HashMap::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        for path in files {
            let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
                let line = line.map_err(|e| Error::io(&path, e))?;
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if let Some(id) = v.get("id").and_then(Value::as_str) {
                            done.insert(id.to_string(), v);
                        }
                    }
                    // A task killed while writing leaves a cut last line: that document is redone.
                    Err(e) => tracing::warn!("{}: line {}: ignored ({e})", path.display(), n + 1),
                }
            }
        }
        if !done.is_empty() {
            tracing::info!("resuming: {} documents have results in {}", done.len(), dir.display());
        }
        Ok(Checkpoint { dir, records_per_chunk, done, file: None })
    }

    fn record(&mut self, index: u64, entry: &Value) -> Result<()> {
        let chunk = index / self.records_per_chunk;
        if self.file.as_ref().is_none_or(|(c, _, _)| *c != chunk) {
            let path = self.dir.join(format!("chunk_{chunk:05}.jsonl"));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            self.file = Some((chunk, path, file));
        }
        if let Some((_, path, file)) = &mut self.file {
            let mut line = entry.to_string();
            line.push('\n');
            file.write_all(line.as_bytes()).map_err(|e| Error::io(&*path, e))?;
        }
        Ok(())
    }
}

/// The runtime step.
pub struct InferenceRunner {
    cfg: Arc<InferenceRunnerConfig>,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    server: Option<Server>,
    checkpoint: Option<Checkpoint>,
    output: Option<Box<dyn Step>>,
    output_stats: Stats,
    scratch: Vec<Document>,
    index: u64,
    started: Instant,
    last_report: Instant,
    done: u64,
}

/// What happened to one document.
enum Outcome {
    Results(Vec<std::result::Result<InferenceResult, RequestError>>),
    NoQuery(&'static str),
}

impl InferenceRunner {
    fn endpoint(&self) -> Endpoint {
        let base = self.server.as_ref().map(|s| s.base_url().to_string()).unwrap_or_default();
        let chat = self.cfg.config.use_chat;
        Endpoint {
            url: format!("{base}{}", if chat { "/v1/chat/completions" } else { "/v1/completions" }),
            chat,
            api_key: self.cfg.config.api_key.clone(),
            timeout: self.cfg.config.request_timeout.map(Duration::from_secs_f64),
            retry_delay: Duration::from_secs_f64(self.cfg.retry_delay),
        }
    }

    fn ensure_server(&mut self, rank: usize) -> Result<()> {
        if self.server.is_none() {
            let server = self
                .runtime
                .block_on(Server::start(&self.cfg.config, rank, &self.client))
                .map_err(|e| Error::External(Box::new(e)))?;
            self.server = Some(server);
        }
        Ok(())
    }

    fn pass_on(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        match &mut self.output {
            None => {
                cx.emit(doc);
                Ok(())
            }
            Some(writer) => {
                let mut sub = Context::new(cx.task, &mut self.output_stats, cx.outputs, &mut self.scratch);
                writer.process(doc, &mut sub)?;
                self.scratch.clear();
                Ok(())
            }
        }
    }

    fn run_window(&mut self, docs: Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        let first_index = self.index;
        self.index += docs.len() as u64;
        // Documents with checkpointed results skip the server.
        let mut resumed: Vec<Option<Value>> = vec![None; docs.len()];
        if let Some(cp) = &self.checkpoint {
            for (slot, doc) in resumed.iter_mut().zip(&docs) {
                *slot = cp.done.get(&doc.id).cloned();
            }
        }
        let rollouts = self.cfg.config.rollouts_per_document;
        let payloads: Vec<Option<std::result::Result<Value, &'static str>>> = docs
            .iter()
            .zip(&resumed)
            .map(|(doc, r)| if r.is_some() { None } else { Some(build_payload(&self.cfg, doc)) })
            .collect();
        if payloads.iter().any(|p| matches!(p, Some(Ok(_)))) {
            self.ensure_server(cx.task.rank)?;
        }
        let endpoint = self.endpoint();
        let semaphore =
            Arc::new(tokio::sync::Semaphore::new(self.cfg.config.max_concurrent_generations.max(1)));
        let client = &self.client;
        let outcomes: Vec<Option<Outcome>> = self.runtime.block_on(async {
            let futures = payloads.iter().map(|p| {
                let (endpoint, semaphore) = (&endpoint, semaphore.clone());
                async move {
                    match p {
                        None => None,
                        Some(Err(reason)) => Some(Outcome::NoQuery(reason)),
                        Some(Ok(payload)) => {
                            let calls = (0..rollouts).map(|_| {
                                let semaphore = semaphore.clone();
                                async move {
                                    let _permit = semaphore.acquire().await;
                                    client::send(client, endpoint, payload).await
                                }
                            });
                            Some(Outcome::Results(futures::future::join_all(calls).await))
                        }
                    }
                }
            });
            futures::future::join_all(futures).await
        });
        for (i, ((mut doc, outcome), resumed)) in docs.into_iter().zip(outcomes).zip(resumed).enumerate() {
            let index = first_index + i as u64;
            let key = self.cfg.metadata_key.clone();
            let results: Vec<Value> = match (outcome, resumed) {
                (_, Some(entry)) => {
                    cx.stats.incr("resumed_documents");
                    if entry.get("skipped").and_then(Value::as_bool) == Some(true) {
                        cx.stats.incr("skipped_bad_requests");
                        continue;
                    }
                    entry.get("results").and_then(Value::as_array).cloned().unwrap_or_default()
                }
                (Some(Outcome::NoQuery(reason)), None) => {
                    cx.stats.incr("dropped");
                    cx.stats.incr(&format!("dropped_{reason}"));
                    tracing::warn!("document {}: no request built ({reason}); dropped", doc.id);
                    continue;
                }
                (Some(Outcome::Results(list)), None) => {
                    let mut ok = Vec::new();
                    let mut skipped = false;
                    cx.stats.update_unit("requests", list.len() as u64, "rollout");
                    for r in list {
                        match r {
                            Ok(result) => {
                                cx.stats.update_unit("successful_requests", 1u64, "request");
                                cx.stats.update_unit("prompt_tokens", result.prompt_tokens(), "request");
                                cx.stats.update_unit(
                                    "completion_tokens",
                                    result.completion_tokens(),
                                    "request",
                                );
                                ok.push(result.to_value());
                            }
                            Err(RequestError::BadRequest(message)) if self.cfg.skip_bad_requests => {
                                cx.stats.update_unit("failed_requests", 1u64, "request");
                                cx.stats.incr("skipped_bad_requests");
                                tracing::warn!("Skipping document {} due to bad request: {message}", doc.id);
                                if let Some(cp) = &mut self.checkpoint {
                                    cp.record(
                                        index,
                                        &json!({"id": doc.id, "index": index, "skipped": true}),
                                    )?;
                                }
                                skipped = true;
                                break;
                            }
                            Err(e) => {
                                cx.stats.update_unit("failed_requests", 1u64, "request");
                                return Err(Error::External(Box::new(InferError::Document {
                                    id: doc.id.clone(),
                                    error: e,
                                })));
                            }
                        }
                    }
                    if skipped {
                        continue;
                    }
                    if let Some(cp) = &mut self.checkpoint {
                        cp.record(index, &json!({"id": doc.id, "index": index, "results": ok}))?;
                    }
                    ok
                }
                (None, None) => continue,
            };
            self.done += 1;
            cx.stats.update_unit("successful_rollouts", results.len() as u64, "document");
            cx.stats.update_unit(
                "failed_rollouts",
                rollouts.saturating_sub(results.len()) as u64,
                "document",
            );
            if results.is_empty() {
                cx.stats.incr("dropped");
                cx.stats.incr("dropped_no_rollouts");
                continue;
            }
            cx.stats.update_unit("documents_processed", 1u64, "document");
            doc.metadata.insert(key, Value::Array(results));
            self.pass_on(doc, cx)?;
        }
        if self.last_report.elapsed().as_secs() >= self.cfg.config.metric_interval {
            self.last_report = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            tracing::info!(
                "inference: {} documents in {secs:.0} s ({:.2} docs/s)",
                self.done,
                self.done as f64 / secs
            );
        }
        Ok(())
    }
}

/// Builds the request body for `doc` (without `model` and the default parameters), or the reason
/// there is none.
pub fn build_payload(
    cfg: &InferenceRunnerConfig,
    doc: &Document,
) -> std::result::Result<Value, &'static str> {
    let mut payload = Map::new();
    match cfg.query_builder {
        QueryBuilder::Text => {
            let text = match &cfg.prompt {
                Some(template) => template.replace("{text}", &doc.text),
                None => doc.text.clone(),
            };
            if cfg.config.use_chat {
                payload.insert("messages".into(), json!([{"role": "user", "content": text}]));
            } else {
                payload.insert("prompt".into(), text.into());
            }
        }
        QueryBuilder::Rolmocr => {
            let mut content = Vec::new();
            for media in &doc.media {
                if media.media_type != media_type::IMAGE {
                    continue;
                }
                let Some(bytes) = &media.media_bytes else { continue };
                let mime = media.metadata.get("mime_type").and_then(Value::as_str).unwrap_or("image/png");
                let url =
                    format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes));
                content.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            if content.is_empty() {
                return Err("no_images");
            }
            content.push(json!({"type": "text", "text": cfg.prompt.as_deref().unwrap_or(ROLMOCR_PROMPT)}));
            payload.insert("messages".into(), json!([{"role": "user", "content": content}]));
            payload.insert("max_tokens".into(), 4096.into());
            payload.insert("temperature".into(), json!(0.0));
        }
    }
    payload.insert("model".into(), cfg.config.model_name_or_path.clone().into());
    for (k, v) in &cfg.config.default_generation_params {
        payload.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(Value::Object(payload))
}

impl Step for InferenceRunner {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        self.run_window(vec![doc], cx)
    }

    fn process_batch(&mut self, batch: &mut Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        let window = self.cfg.config.documents_in_flight();
        while !batch.is_empty() {
            let take = window.min(batch.len());
            let docs: Vec<Document> = batch.drain(..take).collect();
            self.run_window(docs, cx)?;
        }
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if let Some(writer) = &mut self.output {
            let mut sub = Context::new(cx.task, &mut self.output_stats, cx.outputs, &mut self.scratch);
            writer.finish(&mut sub)?;
            self.scratch.clear();
        }
        self.server = None; // stops a server the task started
        Ok(())
    }
}
