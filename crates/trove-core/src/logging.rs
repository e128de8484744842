//! Logging: every `tracing` event goes to stderr and, while a task runs on the current thread, to that
//! task's `logs/task_{rank:05}.log`.
//!
//! The executor sets the current task's log file on its worker thread; [`TaskLogLayer`] writes events
//! there. Binaries install it with [`init`]; a library user with their own subscriber can add the layer.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// A task's log sink.
pub type TaskLogSink = Arc<Mutex<Box<dyn Write + Send>>>;

thread_local! {
    static CURRENT: RefCell<Option<TaskLogSink>> = const { RefCell::new(None) };
}

/// Routes this thread's events to `sink` until the guard drops.
pub fn set_task_log(sink: TaskLogSink) -> TaskLogGuard {
    CURRENT.with(|c| *c.borrow_mut() = Some(sink));
    TaskLogGuard(())
}

/// Stops routing events to the task log when dropped.
pub struct TaskLogGuard(());

impl Drop for TaskLogGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// UTC time as `YYYY-MM-DD HH:MM:SS.mmm`.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// Writes events to the current thread's task log (info and above).
#[derive(Debug, Default, Clone, Copy)]
pub struct TaskLogLayer;

impl<S: Subscriber> Layer<S> for TaskLogLayer {
    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        if *event.metadata().level() > Level::INFO {
            return;
        }
        CURRENT.with(|c| {
            if let Some(sink) = c.borrow().as_ref() {
                let mut visitor = MessageVisitor(String::new());
                event.record(&mut visitor);
                let line = format!(
                    "{} | {:<7} | {} - {}\n",
                    timestamp(),
                    event.metadata().level().as_str(),
                    event.metadata().target(),
                    visitor.0
                );
                if let Ok(mut w) = sink.lock() {
                    let _ = w.write_all(line.as_bytes());
                    let _ = w.flush();
                }
            }
        });
    }
}

/// Makes sure task logs are written even when the program installed no global subscriber (a library
/// user's program, a test): then a subscriber that only writes task logs becomes the global default.
pub fn ensure_task_logging() {
    if !tracing::dispatcher::has_been_set() {
        let _ = tracing_subscriber::registry().with(TaskLogLayer).try_init();
    }
}

/// Installs stderr logging (`RUST_LOG` or `default_level`) plus task logs as the global subscriber.
/// Per-task detail (target `trove::task`) goes to the task logs only unless `RUST_LOG` asks for it;
/// the HTML libraries' own chatter (per-page notes) only shows when `RUST_LOG` asks for it.
/// Does nothing if a subscriber is installed already.
pub fn init(default_level: &str) {
    const QUIET: &str =
        "trafilatura=off,libreadability=off,justext=off,dom_smoothie=off,html5ever=off,selectors=off";
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default_level},trove::task=warn,{QUIET}"))
    });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(stderr).with(TaskLogLayer).try_init();
}
