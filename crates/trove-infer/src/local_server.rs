//! A small OpenAI-compatible HTTP server on 127.0.0.1, one thread per connection.
//!
//! It backs the `dummy` server type (DataTrove's `DummyServer`: a fixed answer for every request) and the
//! protocol tests, which script its behaviour: answer from the request, drop the connection without a
//! reply, or answer late. It is a protocol stand-in, not a model.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The body parsed as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// 0-based number of this request among all the server received.
    pub number: u64,
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status and JSON body.
    Json(u16, Value),
    /// Close the connection without answering.
    Drop,
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
}

/// Decides the reply to each request.
pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running server; stops accepting when dropped.
pub struct LocalServer {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
}

impl LocalServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start(handler: Handler) -> std::io::Result<LocalServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::Builder::new().name("trove-local-server".into()).spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (handler, requests) = (handler.clone(), requests2.clone());
                        let _ = std::thread::Builder::new()
                            .name("trove-local-server-conn".into())
                            .spawn(move || serve(stream, &handler, &requests));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        })?;
        Ok(LocalServer { port, stop, requests })
    }

    /// DataTrove's dummy server: the same text for every chat completion, models listed for readiness.
    pub fn dummy() -> std::io::Result<LocalServer> {
        LocalServer::start(Arc::new(|req: &Request| match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/v1/models") => models_reply("dummy-model"),
            ("POST", "/v1/chat/completions") | ("POST", "/v1/completions") => {
                let prompt_tokens = req.body.to_string().len() as u64 / 4;
                completion_reply(
                    "This is dummy text content for debugging purposes. Page contains sample text to simulate OCR output.",
                    prompt_tokens,
                    100,
                    req.path.ends_with("chat/completions"),
                )
            }
            _ => Reply::Json(404, json!({"error": "not found"})),
        }))
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A `/v1/models` answer listing one model.
pub fn models_reply(model: &str) -> Reply {
    Reply::Json(200, json!({"object": "list", "data": [{"id": model, "object": "model"}]}))
}

/// A chat (or plain) completion answer with `text`, finish reason `stop` and token usage.
pub fn completion_reply(text: &str, prompt_tokens: u64, completion_tokens: u64, chat: bool) -> Reply {
    let choice = if chat {
        json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"})
    } else {
        json!({"index": 0, "text": text, "finish_reason": "stop"})
    };
    Reply::Json(
        200,
        json!({
            "object": if chat { "chat.completion" } else { "text_completion" },
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens
            }
        }),
    )
}

fn serve(stream: TcpStream, handler: &Handler, requests: &AtomicU64) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(write_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut out = write_half;
    // Keep-alive: serve requests on this connection until the client closes it.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else { return };
        let (method, path) = (method.to_string(), path.to_string());
        let (mut length, mut authorization, mut close) = (0usize, None, false);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "authorization" => authorization = Some(value.to_string()),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let number = requests.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let request = Request { method, path, authorization, body, number };
        let mut reply = handler(&request);
        loop {
            match reply {
                Reply::Delay(d, inner) => {
                    std::thread::sleep(d);
                    reply = *inner;
                }
                Reply::Drop => return,
                Reply::Json(status, value) => {
                    let body = value.to_string();
                    let head = format!(
                        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        if status == 200 { "OK" } else { "Error" },
                        body.len()
                    );
                    if out.write_all(head.as_bytes()).and_then(|_| out.write_all(body.as_bytes())).is_err() {
                        return;
                    }
                    break;
                }
            }
        }
        if close {
            return;
        }
    }
}
