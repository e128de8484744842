//! `inference_runner` against small OpenAI-compatible servers on 127.0.0.1 that the tests start
//! (`trove_infer::local_server`): protocol tests, not model tests. Servers that answer out of order,
//! drop connections, answer late, refuse requests (400) or break (500); checkpoints that let a
//! restarted task skip what it finished; the RolmOCR request.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use base64::Engine as _;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trove_core::document::{media_type, Media};
use trove_core::{Document, Stats, StepConfig, TaskInfo};
use trove_infer::local_server::{completion_reply, LocalServer, Reply, Request};
use trove_infer::{InferenceConfig, InferenceRunnerConfig, QueryBuilder, ServerType};

mod common;

/// Runs the runner over `docs` as one task; returns the emitted documents and the stats.
fn run(cfg: &InferenceRunnerConfig, docs: Vec<Document>) -> (trove_core::Result<Vec<Document>>, Stats) {
    common::run_step(cfg, TaskInfo::new(0, 1), docs)
}

fn runner(server: &LocalServer) -> InferenceRunnerConfig {
    let mut config = InferenceConfig::new(ServerType::Endpoint, "test-model");
    config.endpoint_url = Some(server.url());
    let mut cfg = InferenceRunnerConfig::new(config);
    cfg.retry_delay = 0.01;
    cfg
}

fn docs(n: usize) -> Vec<Document> {
    (0..n).map(|i| Document::new(format!("text {i}"), format!("doc-{i}"))).collect()
}

/// The user message's text of a chat request.
fn user_text(req: &Request) -> String {
    req.body["messages"][0]["content"].as_str().unwrap_or_default().to_string()
}

fn echo(req: &Request) -> Reply {
    completion_reply(&format!("echo: {}", user_text(req)), 3, 5, true)
}

fn texts(out: &[Document]) -> Vec<String> {
    out.iter().map(|d| d.metadata["rollout_results"][0]["text"].as_str().unwrap().to_string()).collect()
}

fn count(stats: &Stats, key: &str) -> f64 {
    let v = &stats.to_value()["stats"][key];
    v.as_f64().or_else(|| v["total"].as_f64()).unwrap_or(0.0)
}

#[test]
fn answers_out_of_order_come_back_in_input_order_within_the_concurrency_limit() {
    let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (f, p) = (in_flight.clone(), peak.clone());
    let server = LocalServer::start(Arc::new(move |req: &Request| {
        let now = f.fetch_add(1, Ordering::SeqCst) + 1;
        p.fetch_max(now, Ordering::SeqCst);
        // Later documents answer first.
        let i: u64 = user_text(req).trim_start_matches("text ").parse().unwrap_or(0);
        std::thread::sleep(Duration::from_millis(10 * (20 - i.min(20))));
        f.fetch_sub(1, Ordering::SeqCst);
        echo(req)
    }))
    .unwrap();
    let mut cfg = runner(&server);
    cfg.config.max_concurrent_generations = 6;
    let (out, stats) = run(&cfg, docs(20));
    let out = out.unwrap();
    assert_eq!(texts(&out), (0..20).map(|i| format!("echo: text {i}")).collect::<Vec<_>>());
    assert_eq!(out[3].id, "doc-3");
    let result = &out[0].metadata["rollout_results"][0];
    assert_eq!(result["finish_reason"], "stop");
    assert_eq!(result["usage"]["completion_tokens"], 5);
    assert_eq!(result["reasoning"], "");
    let peak = peak.load(Ordering::SeqCst);
    assert!((2..=6).contains(&peak), "peak concurrency {peak}");
    assert_eq!(count(&stats, "successful_requests"), 20.0);
    assert_eq!(count(&stats, "completion_tokens"), 100.0);
    assert_eq!(server.requests(), 20);
}

#[test]
fn the_request_carries_model_and_default_generation_params_and_the_api_key() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let server = LocalServer::start(Arc::new(move |req: &Request| {
        s.lock().unwrap().push((req.path.clone(), req.authorization.clone(), req.body.clone()));
        echo(req)
    }))
    .unwrap();
    let mut cfg = runner(&server);
    cfg.config.api_key = Some("sk-test".into());
    cfg.config.default_generation_params =
        json!({"temperature": 0.3, "max_tokens": 17}).as_object().unwrap().clone();
    cfg.prompt = Some("Summarise: {text}".into());
    cfg.config.rollouts_per_document = 2;
    let (out, stats) = run(&cfg, docs(1));
    let out = out.unwrap();
    assert_eq!(out[0].metadata["rollout_results"].as_array().unwrap().len(), 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let (path, auth, body) = &seen[0];
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 17);
    assert_eq!(body["messages"][0]["content"], "Summarise: text 0");
    assert_eq!(count(&stats, "successful_rollouts"), 2.0);
}

#[test]
fn dropped_connections_are_retried_with_backoff() {
    // The first three requests get no answer at all.
    let server =
        LocalServer::start(Arc::new(|req: &Request| if req.number < 3 { Reply::Drop } else { echo(req) }))
            .unwrap();
    let mut cfg = runner(&server);
    cfg.config.max_concurrent_generations = 1;
    let (out, stats) = run(&cfg, docs(4));
    assert_eq!(texts(&out.unwrap()), (0..4).map(|i| format!("echo: text {i}")).collect::<Vec<_>>());
    assert_eq!(server.requests(), 7);
    assert_eq!(count(&stats, "failed_requests"), 0.0);
}

#[test]
fn a_server_that_never_answers_fails_the_task_after_six_attempts_naming_the_document() {
    let server = LocalServer::start(Arc::new(|_: &Request| Reply::Drop)).unwrap();
    let cfg = runner(&server);
    let (out, _) = run(&cfg, docs(1));
    let err = out.unwrap_err().to_string();
    assert!(err.contains("doc-0") && err.contains("after 6 attempts"), "{err}");
    assert_eq!(server.requests(), 6);
}

#[test]
fn a_slow_server_is_waited_for_and_a_request_timeout_retries() {
    let slow = LocalServer::start(Arc::new(|req: &Request| {
        Reply::Delay(Duration::from_millis(400), Box::new(echo(req)))
    }))
    .unwrap();
    let (out, _) = run(&runner(&slow), docs(3));
    assert_eq!(texts(&out.unwrap()).len(), 3);

    // First answer of each document after 2 s, the retry at once; the timeout is 0.3 s.
    let first_slow = LocalServer::start(Arc::new(|req: &Request| {
        if req.number < 2 {
            Reply::Delay(Duration::from_secs(2), Box::new(echo(req)))
        } else {
            echo(req)
        }
    }))
    .unwrap();
    let mut cfg = runner(&first_slow);
    cfg.config.request_timeout = Some(0.3);
    let started = std::time::Instant::now();
    let (out, _) = run(&cfg, docs(2));
    assert_eq!(texts(&out.unwrap()), ["echo: text 0", "echo: text 1"]);
    assert!(started.elapsed() < Duration::from_millis(1900), "{:?}", started.elapsed());
    assert_eq!(first_slow.requests(), 4);
}

#[test]
fn bad_requests_are_skipped_when_asked_and_server_errors_fail_the_task() {
    let server = LocalServer::start(Arc::new(|req: &Request| {
        if user_text(req) == "text 1" {
            Reply::Json(400, json!({"error": "prompt too long"}))
        } else {
            echo(req)
        }
    }))
    .unwrap();
    let mut cfg = runner(&server);
    let (out, _) = run(&cfg, docs(3));
    let err = out.unwrap_err().to_string();
    assert!(
        err.contains("doc-1") && err.contains("BadRequestError") && err.contains("prompt too long"),
        "{err}"
    );
    cfg.skip_bad_requests = true;
    let (out, stats) = run(&cfg, docs(3));
    assert_eq!(texts(&out.unwrap()), ["echo: text 0", "echo: text 2"]);
    assert_eq!(count(&stats, "skipped_bad_requests"), 1.0);

    let broken =
        LocalServer::start(Arc::new(|_: &Request| Reply::Json(500, json!({"error": "CUDA out of memory"}))))
            .unwrap();
    let (out, _) = run(&runner(&broken), docs(1));
    let err = out.unwrap_err().to_string();
    assert!(err.contains("InternalServerError") && err.contains("CUDA out of memory"), "{err}");
    assert_eq!(broken.requests(), 1, "a server error is not retried");
}

#[test]
fn a_restarted_task_sends_no_request_for_checkpointed_documents() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(Arc::new(echo)).unwrap();
    let mut cfg = runner(&server);
    cfg.checkpoints_local_dir = Some(dir.path().display().to_string());
    cfg.records_per_chunk = 4;
    let (first, _) = run(&cfg, docs(10));
    let first = first.unwrap();
    assert_eq!(server.requests(), 10);
    let rank = dir.path().join("00000");
    let mut files: Vec<String> =
        std::fs::read_dir(&rank).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["chunk_00000.jsonl", "chunk_00001.jsonl", "chunk_00002.jsonl"]);

    // Everything checkpointed: no request, same documents.
    let (again, stats) = run(&cfg, docs(10));
    assert_eq!(again.unwrap(), first);
    assert_eq!(server.requests(), 10);
    assert_eq!(count(&stats, "resumed_documents"), 10.0);

    // A task killed while writing: the last chunk is gone and chunk 1's last line is cut.
    std::fs::remove_file(rank.join("chunk_00002.jsonl")).unwrap();
    let path = rank.join("chunk_00001.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 20]).unwrap();
    let (resumed, stats) = run(&cfg, docs(10));
    assert_eq!(resumed.unwrap(), first);
    assert_eq!(server.requests(), 13, "doc-7 (cut line), doc-8 and doc-9 are asked again");
    assert_eq!(count(&stats, "resumed_documents"), 7.0);
}

fn png_media(id: &str, bytes: &[u8]) -> Media {
    Media {
        id: id.into(),
        media_type: media_type::IMAGE,
        url: String::new(),
        alt: None,
        path: None,
        offset: None,
        length: None,
        media_bytes: Some(bytes.to_vec()),
        metadata: Default::default(),
    }
}

#[test]
fn the_rolmocr_query_sends_every_page_image_with_the_prompt() {
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s = seen.clone();
    let server = LocalServer::start(Arc::new(move |req: &Request| {
        s.lock().unwrap().push(req.body.clone());
        completion_reply("Page text", 10, 2, true)
    }))
    .unwrap();
    let mut cfg = runner(&server);
    cfg.query_builder = QueryBuilder::Rolmocr;
    cfg.config.model_name_or_path = "reducto/RolmOCR".into();
    let mut pdf = Document::new("", "pdf-1");
    pdf.media = vec![png_media("p1", b"\x89PNG one"), png_media("p2", b"\x89PNG two")];
    let no_pages = Document::new("", "pdf-2");
    let (out, stats) = run(&cfg, vec![pdf, no_pages]);
    let out = out.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(count(&stats, "dropped_no_images"), 1.0);
    let seen = seen.lock().unwrap();
    let body = &seen[0];
    assert_eq!(body["model"], "reducto/RolmOCR");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["temperature"], 0.0);
    let content = body["messages"][0]["content"].as_array().unwrap();
    assert_eq!(content.len(), 3);
    let b64 = base64::engine::general_purpose::STANDARD;
    for (part, bytes) in content[..2].iter().zip([&b"\x89PNG one"[..], b"\x89PNG two"]) {
        assert_eq!(part["type"], "image_url");
        let url = part["image_url"]["url"].as_str().unwrap();
        assert_eq!(b64.decode(url.strip_prefix("data:image/png;base64,").unwrap()).unwrap(), bytes);
    }
    assert_eq!(content[2], json!({"type": "text", "text": trove_infer::runner::ROLMOCR_PROMPT}));
}

#[test]
fn the_dummy_server_and_config_errors() {
    let mut cfg = InferenceRunnerConfig::new(InferenceConfig::new(ServerType::Dummy, "m"));
    cfg.config.use_chat = false;
    let (out, _) = run(&cfg, docs(2));
    let out = out.unwrap();
    assert!(out[1].metadata["rollout_results"][0]["text"].as_str().unwrap().starts_with("This is dummy"));

    let mut problems = Vec::new();
    InferenceRunnerConfig::new(InferenceConfig::new(ServerType::Endpoint, "m")).check(&mut problems);
    assert!(problems.iter().any(|p| p.contains("endpoint_url is required")), "{problems:?}");
    let mut problems = Vec::new();
    InferenceRunnerConfig::new(InferenceConfig::new(ServerType::Custom, "m")).check(&mut problems);
    assert!(problems.iter().any(|p| p.contains("custom")), "{problems:?}");
}
