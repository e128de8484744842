//! One OpenAI-compatible request with DataTrove's retry rule: connection errors and timeouts are
//! retried up to 6 attempts, waiting `retry_delay · 2^attempt` between them; HTTP 400 is a bad
//! request (the document may be skipped), 500 a server error (the task fails), any other non-200
//! status fails the request.

use serde_json::{Map, Value};
use std::time::Duration;

/// DataTrove's attempt count.
pub const MAX_ATTEMPTS: u32 = 6;

/// A successful completion: DataTrove's `InferenceResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceResult {
    /// The generated text.
    pub text: String,
    /// Why generation stopped.
    pub finish_reason: String,
    /// Token usage as the server reported it.
    pub usage: Map<String, Value>,
    /// Reasoning returned apart from the answer.
    pub reasoning: String,
}

impl InferenceResult {
    /// As DataTrove stores it in metadata: `{text, finish_reason, usage, reasoning}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("text".into(), self.text.clone().into());
        m.insert("finish_reason".into(), self.finish_reason.clone().into());
        m.insert("usage".into(), Value::Object(self.usage.clone()));
        m.insert("reasoning".into(), self.reasoning.clone().into());
        Value::Object(m)
    }

    /// Reads [`InferenceResult::to_value`]'s form back.
    pub fn from_value(v: &Value) -> Option<InferenceResult> {
        Some(InferenceResult {
            text: v.get("text")?.as_str()?.to_string(),
            finish_reason: v.get("finish_reason").and_then(Value::as_str).unwrap_or_default().to_string(),
            usage: v.get("usage").and_then(Value::as_object).cloned().unwrap_or_default(),
            reasoning: v.get("reasoning").and_then(Value::as_str).unwrap_or_default().to_string(),
        })
    }

    fn token_count(&self, key: &str) -> u64 {
        self.usage.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    /// `usage.prompt_tokens` (0 when absent).
    pub fn prompt_tokens(&self) -> u64 {
        self.token_count("prompt_tokens")
    }

    /// `usage.completion_tokens` (0 when absent).
    pub fn completion_tokens(&self) -> u64 {
        self.token_count("completion_tokens")
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// HTTP 400: the server refused this request.
    #[error("Got BadRequestError from server: {0}")]
    BadRequest(String),
    /// HTTP 500: the server is broken.
    #[error("Got InternalServerError from server: {0}")]
    Server(String),
    /// Another non-200 status.
    #[error("Error http status {0}")]
    Status(u16),
    /// Every attempt hit a connection error or a timeout.
    #[error("Failed to process request after {attempts} attempts (last: {last})")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        last: String,
    },
    /// A 200 answer that is not a completion.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// How requests are sent.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The full URL (`.../v1/chat/completions` or `.../v1/completions`).
    pub url: String,
    /// Chat answers (`message.content`) or plain ones (`text`).
    pub chat: bool,
    /// Bearer token.
    pub api_key: Option<String>,
    /// Limit for one attempt.
    pub timeout: Option<Duration>,
    /// Base of the exponential backoff (DataTrove: 5 s).
    pub retry_delay: Duration,
}

/// Sends `payload` and parses the answer, retrying transport errors.
pub async fn send(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    payload: &Value,
) -> Result<InferenceResult, RequestError> {
    let body = payload.to_string();
    let mut last = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        let mut request =
            client.post(&endpoint.url).header("Content-Type", "application/json").body(body.clone());
        if let Some(key) = &endpoint.api_key {
            request = request.bearer_auth(key);
        }
        if let Some(t) = endpoint.timeout {
            request = request.timeout(t);
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => Ok((status, bytes)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((200, bytes)) => return parse(&bytes, endpoint.chat),
            Ok((400, bytes)) => {
                return Err(RequestError::BadRequest(String::from_utf8_lossy(&bytes).into_owned()))
            }
            Ok((500, bytes)) => {
                return Err(RequestError::Server(String::from_utf8_lossy(&bytes).into_owned()))
            }
            Ok((status, _)) => return Err(RequestError::Status(status)),
            Err(e) => {
                last = error_chain(&e);
                tracing::warn!("Client error (attempt {} of {MAX_ATTEMPTS}): {last}", attempt + 1);
                if attempt + 1 < MAX_ATTEMPTS {
                    tokio::time::sleep(endpoint.retry_delay * 2u32.pow(attempt)).await;
                }
            }
        }
    }
    Err(RequestError::Exhausted { attempts: MAX_ATTEMPTS, last })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn parse(bytes: &[u8], chat: bool) -> Result<InferenceResult, RequestError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| RequestError::Malformed(e.to_string()))?;
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| RequestError::Malformed("no choices[0]".into()))?;
    let (text, reasoning) = if chat {
        let message =
            choice.get("message").ok_or_else(|| RequestError::Malformed("no choices[0].message".into()))?;
        let text = message.get("content").and_then(Value::as_str).unwrap_or_default();
        let reasoning = message
            .get("reasoning")
            .and_then(Value::as_str)
            .or_else(|| message.get("reasoning_content").and_then(Value::as_str))
            .unwrap_or_default();
        (text.to_string(), reasoning.to_string())
    } else {
        (choice.get("text").and_then(Value::as_str).unwrap_or_default().to_string(), String::new())
    };
    Ok(InferenceResult {
        text,
        finish_reason: choice.get("finish_reason").and_then(Value::as_str).unwrap_or_default().to_string(),
        usage: v.get("usage").and_then(Value::as_object).cloned().unwrap_or_default(),
        reasoning,
    })
}
