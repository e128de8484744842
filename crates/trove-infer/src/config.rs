//! DataTrove's `InferenceConfig`: the server and how requests are sent.

use serde::{Deserialize, Serialize};
use serde_json::Map;
use serde_json::Value;

/// Which server answers the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerType {
    /// `python3 -m sglang.launch_server`, started by the task.
    Sglang,
    /// `vllm serve`, started by the task.
    Vllm,
    /// `lmdeploy serve api_server`, started by the task (a trove addition; same API).
    Lmdeploy,
    /// An in-process server answering a fixed text (DataTrove's `DummyServer`), for dry runs.
    Dummy,
    /// DataTrove's user-script server; not supported by trove (a pipeline file cannot carry a script).
    Custom,
    /// A server that is already running, at `endpoint_url`.
    Endpoint,
}

impl ServerType {
    /// The snake_case name used in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerType::Sglang => "sglang",
            ServerType::Vllm => "vllm",
            ServerType::Lmdeploy => "lmdeploy",
            ServerType::Dummy => "dummy",
            ServerType::Custom => "custom",
            ServerType::Endpoint => "endpoint",
        }
    }
}

fn d_context() -> u64 {
    8192
}
fn yes() -> bool {
    true
}
fn d_interval() -> u64 {
    120
}
fn one() -> u32 {
    1
}
fn one_usize() -> usize {
    1
}
fn d_generations() -> usize {
    500
}
fn d_port() -> u16 {
    9810
}
fn d_start_timeout() -> f64 {
    60.0
}
fn d_attempts() -> u32 {
    300
}
fn d_delay() -> f64 {
    5.0
}

/// DataTrove 0.10.1's `InferenceConfig`, field for field, with its defaults. Keys DataTrove's
/// runner reads but trove has no use for (`metric_interval`, `master_port`) are accepted and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceConfig {
    /// The server.
    pub server_type: ServerType,
    /// The model the server loads, sent as `model` in every request.
    pub model_name_or_path: String,
    /// Context length passed to a server the task starts.
    #[serde(default = "d_context")]
    pub model_max_context: u64,
    /// `/v1/chat/completions` (true) or `/v1/completions`.
    #[serde(default = "yes")]
    pub use_chat: bool,
    /// Base URL of an `endpoint` server, e.g. `http://127.0.0.1:8000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Sent as `Authorization: Bearer ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Seconds between progress reports in the task log.
    #[serde(default = "d_interval")]
    pub metric_interval: u64,
    /// Tensor parallelism of a server the task starts.
    #[serde(default = "one")]
    pub tp: u32,
    /// Data parallelism of a server the task starts.
    #[serde(default = "one")]
    pub dp: u32,
    /// Pipeline parallelism of a server the task starts.
    #[serde(default = "one")]
    pub pp: u32,
    /// Keys added to every request unless the query builder set them.
    #[serde(default)]
    pub default_generation_params: Map<String, Value>,
    /// Requests per document; each successful one is a result.
    #[serde(default = "one_usize")]
    pub rollouts_per_document: usize,
    /// Requests in flight at once.
    #[serde(default = "d_generations")]
    pub max_concurrent_generations: usize,
    /// Documents in flight at once (default `max_concurrent_generations / rollouts_per_document`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_documents: Option<usize>,
    /// Seconds one HTTP request may take (none: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<f64>,
    /// Extra command-line flags for a server the task starts (`{"enforce-eager": true}` → `--enforce-eager`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_kwargs: Option<Map<String, Value>>,
    /// Where a started server's output goes (`{rank:05}.log`); discarded when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_log_folder: Option<String>,
    /// SGLang's distributed init port.
    #[serde(default = "d_port")]
    pub master_port: u16,
    /// Seconds to spawn the server process.
    #[serde(default = "d_start_timeout")]
    pub server_start_timeout_sec: f64,
    /// Readiness polls of `/v1/models` before a start counts as failed.
    #[serde(default = "d_attempts")]
    pub server_ready_max_attempts: u32,
    /// Seconds between readiness polls.
    #[serde(default = "d_delay")]
    pub server_ready_delay_sec: f64,
    /// Extra start attempts after a failed one.
    #[serde(default = "one")]
    pub server_start_max_retries: u32,
}

impl InferenceConfig {
    /// A config for `server_type` and model, every other field at DataTrove's default.
    pub fn new(server_type: ServerType, model_name_or_path: impl Into<String>) -> InferenceConfig {
        InferenceConfig {
            server_type,
            model_name_or_path: model_name_or_path.into(),
            model_max_context: d_context(),
            use_chat: true,
            endpoint_url: None,
            api_key: None,
            metric_interval: d_interval(),
            tp: 1,
            dp: 1,
            pp: 1,
            default_generation_params: Map::new(),
            rollouts_per_document: 1,
            max_concurrent_generations: d_generations(),
            max_concurrent_documents: None,
            request_timeout: None,
            model_kwargs: None,
            server_log_folder: None,
            master_port: d_port(),
            server_start_timeout_sec: d_start_timeout(),
            server_ready_max_attempts: d_attempts(),
            server_ready_delay_sec: d_delay(),
            server_start_max_retries: 1,
        }
    }

    /// Documents in flight at once.
    pub fn documents_in_flight(&self) -> usize {
        self.max_concurrent_documents
            .unwrap_or(self.max_concurrent_generations / self.rollouts_per_document.max(1))
            .max(1)
    }

    /// Problems with the values, each naming the field.
    pub fn check(&self, problems: &mut Vec<String>) {
        match self.server_type {
            ServerType::Endpoint if self.endpoint_url.is_none() => {
                problems.push("config.endpoint_url is required when server_type is \"endpoint\"".into())
            }
            ServerType::Custom => problems.push(
                "config.server_type \"custom\" needs a Python server script, which a pipeline file cannot carry; \
                 start the server yourself and use server_type = \"endpoint\""
                    .into(),
            ),
            _ => {}
        }
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems
                    .push(format!("config.endpoint_url must start with http:// or https://, not {url:?}"));
            }
        }
        if self.rollouts_per_document == 0 {
            problems.push("config.rollouts_per_document must be at least 1".into());
        }
        if self.max_concurrent_generations == 0 {
            problems.push("config.max_concurrent_generations must be at least 1".into());
        }
        if self.server_start_timeout_sec.is_nan() || self.server_start_timeout_sec <= 0.0 {
            problems.push("config.server_start_timeout_sec must be > 0".into());
        }
        if self.server_ready_max_attempts < 1 {
            problems.push("config.server_ready_max_attempts must be >= 1".into());
        }
        if self.server_ready_delay_sec.is_nan() || self.server_ready_delay_sec <= 0.0 {
            problems.push("config.server_ready_delay_sec must be > 0".into());
        }
        if let Some(t) = self.request_timeout {
            if t.is_nan() || t <= 0.0 {
                problems.push(format!("config.request_timeout must be positive, not {t}"));
            }
        }
    }
}
