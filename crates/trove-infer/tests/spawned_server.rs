//! `server_type = "vllm"`: the task starts `vllm serve ...` from `PATH`, polls `/v1/models` until it
//! answers, sends its requests there and stops the process at the end. The `vllm` here is a small
//! Python stand-in (an OpenAI-compatible server that starts listening after a second and records its
//! command line); the only test in this binary, so it may set the process environment.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use std::os::unix::fs::PermissionsExt;
use trove_core::{Document, TaskInfo};
use trove_infer::{InferenceConfig, InferenceRunnerConfig, ServerType};

const FAKE_VLLM: &str = r#"#!/usr/bin/env python3
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
with open(os.environ["FAKE_VLLM_ARGS"], "w") as f:
    json.dump(sys.argv[1:], f)
print("fake vllm starting", flush=True)
port = int(sys.argv[sys.argv.index("--port") + 1])
time.sleep(1.0)
class H(BaseHTTPRequestHandler):
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.reply({"object": "list", "data": [{"id": sys.argv[2]}]})
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = "served by fake vllm: " + req["messages"][0]["content"]
        self.reply({"choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

#[test]
fn a_vllm_server_is_started_polled_used_and_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let script = bin.join("vllm");
    std::fs::write(&script, FAKE_VLLM).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let args_file = dir.path().join("args.json");
    std::env::set_var("FAKE_VLLM_ARGS", &args_file);
    std::env::set_var("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()));

    let mut config = InferenceConfig::new(ServerType::Vllm, "org/some-model");
    config.tp = 2;
    config.server_ready_delay_sec = 0.2;
    config.server_log_folder = Some(dir.path().join("server-logs").display().to_string());
    config.model_kwargs =
        serde_json::json!({"enforce-eager": true, "gpu-memory-utilization": 0.9}).as_object().cloned();
    let cfg = InferenceRunnerConfig::new(config);

    let docs = vec![Document::new("hello", "a"), Document::new("world", "b")];
    let out = common::run_step(&cfg, TaskInfo::new(3, 4), docs).0.unwrap();
    let texts: Vec<&str> =
        out.iter().map(|d| d.metadata["rollout_results"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["served by fake vllm: hello", "served by fake vllm: world"]);

    let args: Vec<String> = serde_json::from_str(&std::fs::read_to_string(&args_file).unwrap()).unwrap();
    let port = args[args.iter().position(|a| a == "--port").unwrap() + 1].clone();
    assert_eq!(
        args,
        [
            "serve",
            "org/some-model",
            "--port",
            &port,
            "--max-model-len",
            "8192",
            "--trust-remote-code",
            "--disable-uvicorn-access-log",
            "--enforce-eager",
            "--gpu-memory-utilization=0.9",
            "--tensor-parallel-size=2",
        ]
    );
    let log = std::fs::read_to_string(dir.path().join("server-logs/00003.log")).unwrap();
    assert!(log.contains("fake vllm starting"), "{log}");
    // Stopped at the end of the task: the port no longer answers.
    let gone = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err();
    assert!(gone, "the server still runs after the task");
}
