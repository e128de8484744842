//! Runs extractions on a helper thread so one pathological page cannot stall a task.
//!
//! DataTrove runs its extractor in a child process it kills on timeout. A thread cannot be killed:
//! on timeout the sandbox forgets the helper (it exits once its extraction ends, as its channels are
//! closed) and starts a new one for the next document. Panics inside the extraction libraries are
//! caught on the helper and reported as failures.

use crate::Extractor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// What became of one document.
pub enum Outcome {
    /// The extracted text.
    Done(String),
    /// The budget ran out.
    Timeout,
    /// The extractor returned an error or panicked.
    Failed(String),
}

type Make = Arc<dyn Fn() -> Box<dyn Extractor> + Send + Sync>;

struct Helper {
    send: Sender<String>,
    receive: Receiver<Result<String, String>>,
}

/// A helper thread and how to build its extractor.
pub struct Sandbox {
    make: Make,
    helper: Option<Helper>,
}

/// Parsers recurse on nested markup: give helpers a large stack.
const HELPER_STACK: usize = 64 << 20;

impl Sandbox {
    pub fn new(make: impl Fn() -> Box<dyn Extractor> + Send + Sync + 'static) -> Sandbox {
        Sandbox { make: Arc::new(make), helper: None }
    }

    fn spawn(&self) -> Option<Helper> {
        let (send, jobs) = mpsc::channel::<String>();
        let (results, receive) = mpsc::channel();
        let make = self.make.clone();
        std::thread::Builder::new()
            .name("trove-extract".into())
            .stack_size(HELPER_STACK)
            .spawn(move || {
                let mut extractor = make();
                for html in jobs {
                    let result = catch_unwind(AssertUnwindSafe(|| extractor.extract(&html)))
                        .unwrap_or_else(|panic| Err(panic_message(&panic)));
                    if results.send(result).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Helper { send, receive })
    }

    /// Extracts `html` within `timeout`.
    pub fn run(&mut self, html: String, timeout: Duration) -> Outcome {
        if self.helper.is_none() {
            self.helper = self.spawn();
        }
        let Some(helper) = &self.helper else {
            return Outcome::Failed("cannot start an extraction thread".into());
        };
        if helper.send.send(html).is_err() {
            self.helper = None;
            return Outcome::Failed("the extraction thread stopped".into());
        }
        match helper.receive.recv_timeout(timeout) {
            Ok(Ok(text)) => Outcome::Done(text),
            Ok(Err(message)) => Outcome::Failed(message),
            Err(RecvTimeoutError::Timeout) => {
                self.helper = None;
                Outcome::Timeout
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.helper = None;
                Outcome::Failed("the extraction thread stopped".into())
            }
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    format!("panic in the extractor: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Slow;
    impl Extractor for Slow {
        fn extract(&mut self, html: &str) -> Result<String, String> {
            match html {
                "slow" => std::thread::sleep(Duration::from_millis(300)),
                "panic" => panic!("boom"),
                _ => {}
            }
            Ok(html.to_uppercase())
        }
    }

    #[test]
    fn timeouts_and_panics_are_outcomes() {
        let mut sandbox = Sandbox::new(|| Box::new(Slow) as Box<dyn Extractor>);
        let short = Duration::from_millis(50);
        assert!(matches!(sandbox.run("a".into(), short), Outcome::Done(t) if t == "A"));
        assert!(matches!(sandbox.run("slow".into(), short), Outcome::Timeout));
        // A new helper serves the next document at once.
        assert!(matches!(sandbox.run("b".into(), short), Outcome::Done(t) if t == "B"));
        // (a panic prints its backtrace first, which may take a while)
        let long = Duration::from_secs(30);
        assert!(matches!(sandbox.run("panic".into(), long), Outcome::Failed(m) if m.contains("boom")));
        assert!(matches!(sandbox.run("c".into(), short), Outcome::Done(t) if t == "C"));
    }
}
