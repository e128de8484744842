//! The server a task sends its requests to: an endpoint that already runs, the in-process dummy, or
//! a vLLM / SGLang / LMDeploy process the task starts and stops.

use crate::config::{InferenceConfig, ServerType};
use crate::local_server::LocalServer;
use crate::InferError;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server for one task; a started process is killed when this is dropped.
pub struct Server {
    base_url: String,
    child: Option<Child>,
    _dummy: Option<LocalServer>,
}

impl Server {
    /// The base URL (`http://host:port`, no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Starts (or finds) the server of `config` for task `rank`, waiting until it lists its models.
    pub async fn start(
        config: &InferenceConfig,
        rank: usize,
        client: &reqwest::Client,
    ) -> Result<Server, InferError> {
        match config.server_type {
            ServerType::Endpoint => {
                let url = config.endpoint_url.clone().ok_or_else(|| InferError::Server {
                    message: "endpoint_url is required when server_type is \"endpoint\"".into(),
                })?;
                Ok(Server { base_url: url.trim_end_matches('/').to_string(), child: None, _dummy: None })
            }
            ServerType::Dummy => {
                let dummy = LocalServer::dummy()
                    .map_err(|e| InferError::Server { message: format!("dummy server: {e}") })?;
                Ok(Server { base_url: dummy.url(), child: None, _dummy: Some(dummy) })
            }
            ServerType::Custom => Err(InferError::Server {
                message: "server_type \"custom\" is not supported: use \"endpoint\" with a server you start"
                    .into(),
            }),
            ServerType::Sglang | ServerType::Vllm | ServerType::Lmdeploy => {
                let mut last = String::new();
                for attempt in 0..=config.server_start_max_retries {
                    match spawn_and_wait(config, rank, client).await {
                        Ok(server) => return Ok(server),
                        Err(e) => {
                            tracing::warn!(attempt, "inference server did not start: {e}");
                            last = e.to_string();
                        }
                    }
                }
                Err(InferError::Server {
                    message: format!(
                        "{} server did not start after {} attempts: {last}",
                        config.server_type.as_str(),
                        config.server_start_max_retries + 1
                    ),
                })
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The command line that starts the server (DataTrove's flags; `model_kwargs` as `--key=value`,
/// `true` as `--key`, `false` as `--no-key`).
pub fn server_command(config: &InferenceConfig, port: u16) -> Vec<String> {
    let model = config.model_name_or_path.clone();
    let context = config.model_max_context.to_string();
    let mut cmd: Vec<String> = match config.server_type {
        ServerType::Vllm => vec![
            "vllm".into(),
            "serve".into(),
            model,
            "--port".into(),
            port.to_string(),
            "--max-model-len".into(),
            context,
            "--trust-remote-code".into(),
            "--disable-uvicorn-access-log".into(),
        ],
        ServerType::Sglang => vec![
            "python3".into(),
            "-m".into(),
            "sglang.launch_server".into(),
            "--model-path".into(),
            model,
            "--allow-auto-truncate".into(),
            "--context-length".into(),
            context,
            "--port".into(),
            port.to_string(),
            "--log-level-http".into(),
            "warning".into(),
            "--dist-init-addr".into(),
            format!("localhost:{}", config.master_port),
        ],
        _ => vec![
            "lmdeploy".into(),
            "serve".into(),
            "api_server".into(),
            model,
            "--server-port".into(),
            port.to_string(),
            "--session-len".into(),
            context,
        ],
    };
    let mut kwargs = config.model_kwargs.clone().unwrap_or_default();
    let (tp, dp, pp) = match config.server_type {
        ServerType::Vllm => ("tensor-parallel-size", "data-parallel-size", "pipeline-parallel-size"),
        ServerType::Sglang => ("tp-size", "dp-size", "pp-size"),
        _ => ("tp", "dp", "pp"),
    };
    for (key, value) in [(tp, config.tp), (dp, config.dp), (pp, config.pp)] {
        if value > 1 && !kwargs.contains_key(key) {
            kwargs.insert(key.into(), value.into());
        }
    }
    for (key, value) in kwargs {
        match value {
            serde_json::Value::Bool(true) => cmd.push(format!("--{key}")),
            serde_json::Value::Bool(false) => cmd.push(format!("--no-{key}")),
            serde_json::Value::String(s) => cmd.push(format!("--{key}={s}")),
            other => cmd.push(format!("--{key}={other}")),
        }
    }
    cmd
}

async fn spawn_and_wait(
    config: &InferenceConfig,
    rank: usize,
    client: &reqwest::Client,
) -> Result<Server, InferError> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| InferError::Server { message: format!("no free port: {e}") })?;
    let cmd = server_command(config, port);
    let (stdout, stderr, log) = match &config.server_log_folder {
        Some(folder) => {
            std::fs::create_dir_all(folder)
                .map_err(|e| InferError::Server { message: format!("server_log_folder {folder}: {e}") })?;
            let path = std::path::Path::new(folder).join(format!("{rank:05}.log"));
            let file = std::fs::File::create(&path)
                .map_err(|e| InferError::Server { message: format!("{}: {e}", path.display()) })?;
            let err = file.try_clone().map_err(|e| InferError::Server { message: e.to_string() })?;
            (Stdio::from(file), Stdio::from(err), format!(" (its output: {})", path.display()))
        }
        None => (Stdio::null(), Stdio::null(), String::new()),
    };
    let started = Instant::now();
    let child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| InferError::Server { message: format!("cannot run `{}`: {e}", cmd.join(" ")) })?;
    if started.elapsed().as_secs_f64() > config.server_start_timeout_sec {
        tracing::warn!("spawning the server took longer than server_start_timeout_sec");
    }
    let mut server =
        Server { base_url: format!("http://127.0.0.1:{port}"), child: Some(child), _dummy: None };
    tracing::info!("started `{}`{log}", cmd.join(" "));
    let models = format!("{}/v1/models", server.base_url);
    for _ in 0..config.server_ready_max_attempts {
        if let Some(child) = &mut server.child {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(InferError::Server {
                    message: format!("`{}` exited with {status}{log}", cmd[0]),
                });
            }
        }
        if let Ok(reply) = client.get(&models).timeout(Duration::from_secs(10)).send().await {
            if reply.status().is_success() {
                tracing::info!("inference server ready after {:.1} s", started.elapsed().as_secs_f64());
                return Ok(server);
            }
        }
        tokio::time::sleep(Duration::from_secs_f64(config.server_ready_delay_sec)).await;
    }
    Err(InferError::Server {
        message: format!(
            "`{}` did not answer {models} after {} polls{log}",
            cmd[0], config.server_ready_max_attempts
        ),
    })
}
