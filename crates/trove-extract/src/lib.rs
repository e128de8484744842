//! # trove-extract
//!
//! Main-text extraction from HTML, as DataTrove's extractor steps:
//!
//! - `trafilatura` (DataTrove's `Trafilatura`, its default extractor): a port of Python
//!   trafilatura 1.11, the version DataTrove 0.10.1 runs, for the options DataTrove passes
//!   (`favour_precision`, `deduplicate`, comments excluded, tables kept, fallbacks on): its
//!   `bare_extraction` on an lxml-like tree, its readability fallback ([`readability_lxml`]), its
//!   second fallback jusText (with jusText's stoplists bundled), its baseline rescue of short texts
//!   and its text output;
//! - `readability_inscriptis` (DataTrove's `ReadabilityInscriptis`; `readability` is accepted as
//!   another name): Mozilla Readability through the `dom_smoothie` crate, its article HTML rendered as
//!   inscriptis renders it with the strict CSS profile ([`inscriptis`]), runs of more than
//!   `max_new_lines` newlines collapsed.
//!
//! Each document is extracted under a budget: HTML larger than `max_html_bytes` is not parsed
//! (`extract_too_large`), and an extraction that runs longer than `timeout` seconds is abandoned
//! (`extract_timeout`): it runs on a helper thread, which is replaced. A panic inside an extraction
//! library is caught and counted (`clean_error`). Documents whose extracted text is empty are dropped,
//! as DataTrove does.
//!
//! ```
//! use trove_extract::{Extractor, Trafilatura, TrafilaturaConfig};
//!
//! let html = "<html><body><nav>Home | About</nav><article><h1>Title</h1>\
//!             <p>The first paragraph of a long enough article about something.</p>\
//!             <p>The second paragraph, with more words to make it look like content.</p></article>\
//!             <footer>Copyright</footer></body></html>";
//! let mut extractor = Trafilatura::new(&TrafilaturaConfig::default());
//! let text = extractor.extract(html).unwrap();
//! assert!(text.contains("The first paragraph"));
//! assert!(!text.contains("Copyright"));
//! ```
#![deny(missing_docs)]

mod baseline;
mod etree;
pub mod inscriptis;
mod justext;
mod links;
mod pytrafilatura;
#[doc(hidden)]
pub use pytrafilatura::justext_paragraphs;
pub mod readability_lxml;
mod sandbox;
mod totext;

use sandbox::{Outcome, Sandbox};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use trove_core::{BuildContext, Context, Document, Registry, Result, Stage, Step, StepConfig};

/// Registers this crate's steps.
pub fn register(registry: &mut Registry) {
    registry
        .register::<TrafilaturaConfig>()
        .register::<ReadabilityConfig<true>>()
        .register::<ReadabilityConfig<false>>();
}

/// Turns HTML into text.
pub trait Extractor: Send + 'static {
    /// The main text of `html` (empty when there is none), or an error message.
    fn extract(&mut self, html: &str) -> std::result::Result<String, String>;
}

fn yes() -> bool {
    true
}

fn one_second() -> f64 {
    1.0
}

fn ten_mb() -> usize {
    10_000_000
}

/// `trafilatura`: DataTrove's `Trafilatura` extractor step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafilaturaConfig {
    /// Prefer less text but correct extraction.
    #[serde(default = "yes")]
    pub favour_precision: bool,
    /// Not supported (DataTrove raises too).
    #[serde(default)]
    pub include_images: bool,
    /// Seconds one document may take.
    #[serde(default = "one_second")]
    pub timeout: f64,
    /// Trafilatura's `deduplicate` option.
    #[serde(default = "yes")]
    pub deduplicate: bool,
    /// Largest HTML (bytes) parsed; larger documents are dropped (trove-only).
    #[serde(default = "ten_mb")]
    pub max_html_bytes: usize,
}

impl Default for TrafilaturaConfig {
    fn default() -> Self {
        TrafilaturaConfig {
            favour_precision: true,
            include_images: false,
            timeout: one_second(),
            deduplicate: true,
            max_html_bytes: ten_mb(),
        }
    }
}

impl StepConfig for TrafilaturaConfig {
    const TYPE: &'static str = "trafilatura";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let config = self.clone();
        let step = ExtractorStep::new(
            move || Box::new(Trafilatura::new(&config)) as Box<dyn Extractor>,
            self.timeout,
            self.max_html_bytes,
        );
        Ok(Stage::step("🛢 - EXTRAC: ⛏ Trafilatura", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.include_images {
            problems.push("include_images is not implemented (as in DataTrove)".into());
        }
        if self.timeout.is_nan() || self.timeout <= 0.0 {
            problems.push(format!("timeout must be positive, not {}", self.timeout));
        }
    }
}

/// The trafilatura extractor.
pub struct Trafilatura {
    favour_precision: bool,
    /// Python trafilatura's process-wide duplicate cache (`deduplicate`), kept per task.
    seen: Option<SeenLines>,
}

/// Python trafilatura 1.11's `duplicate_test` (the version DataTrove 0.10.1 installs): a process-wide
/// LRU cache (4,096 entries) of whitespace-trimmed text segments and how often each was seen. Every
/// tested segment is counted, short ones too (they take cache room); a segment longer than 100
/// characters already counted more than twice is a duplicate. Trafilatura tests each text element,
/// then the whole extracted body: a body seen more than twice discards the document. trove keeps one
/// cache per task (DataTrove's is per worker process, which runs its tasks one after another).
pub(crate) struct SeenLines {
    /// Segment → (count, last use).
    counts: std::collections::HashMap<String, (i64, u64)>,
    /// Last use → segment: the least recently used first.
    order: std::collections::BTreeMap<u64, String>,
    tick: u64,
}

const LRU_SIZE: usize = 4096;
const MIN_DUPLICATE_CHECK_SIZE: usize = 100;
const MAX_REPETITIONS: i64 = 2;

impl SeenLines {
    fn new() -> SeenLines {
        SeenLines { counts: Default::default(), order: Default::default(), tick: 0 }
    }

    /// `LRUCache.get`: the count (-1 when absent), marking the entry as just used.
    fn get(&mut self, key: &str) -> i64 {
        self.tick += 1;
        match self.counts.get_mut(key) {
            Some((count, tick)) => {
                self.order.remove(tick);
                *tick = self.tick;
                self.order.insert(self.tick, key.to_string());
                *count
            }
            None => -1,
        }
    }

    /// `LRUCache.put`: stores `value`, evicting the least recently used entry when full.
    fn put(&mut self, key: &str, value: i64) {
        self.tick += 1;
        if let Some((count, tick)) = self.counts.get_mut(key) {
            self.order.remove(tick);
            *tick = self.tick;
            *count = value;
            self.order.insert(self.tick, key.to_string());
            return;
        }
        if self.counts.len() >= LRU_SIZE {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.counts.remove(&oldest);
            }
        }
        self.counts.insert(key.to_string(), (value, self.tick));
        self.order.insert(self.tick, key.to_string());
    }

    /// `duplicate_test` on one segment: counts it; whether it is a duplicate to drop.
    pub(crate) fn duplicate(&mut self, segment: &str) -> bool {
        let key = pytrafilatura::trim(segment);
        if key.chars().count() > MIN_DUPLICATE_CHECK_SIZE {
            let count = self.get(&key);
            if count > MAX_REPETITIONS {
                self.put(&key, count + 1);
                return true;
            }
        }
        let count = self.get(&key);
        self.put(&key, if count == -1 { 1 } else { count + 1 });
        false
    }
}

impl Trafilatura {
    /// An extractor with DataTrove's options.
    pub fn new(config: &TrafilaturaConfig) -> Trafilatura {
        Trafilatura {
            favour_precision: config.favour_precision,
            seen: config.deduplicate.then(SeenLines::new),
        }
    }
}

impl Extractor for Trafilatura {
    fn extract(&mut self, html: &str) -> std::result::Result<String, String> {
        Ok(pytrafilatura::extract(html, self.favour_precision, self.seen.as_mut()))
    }
}

fn two() -> usize {
    2
}
fn twenty_five() -> usize {
    25
}
fn twenty() -> usize {
    20
}
fn tenth() -> f64 {
    0.1
}

/// `readability_inscriptis` (and `readability`): DataTrove's `ReadabilityInscriptis` extractor step.
///
/// `min_text_length` and `min_text_score` are python-readability's; Mozilla Readability (dom_smoothie)
/// scores differently and uses `min_text_length` as its character threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadabilityConfig<const INSCRIPTIS: bool> {
    /// Most consecutive newlines kept.
    #[serde(default = "two")]
    pub max_new_lines: usize,
    /// Shortest text block considered.
    #[serde(default = "twenty_five")]
    pub min_text_length: usize,
    /// Accepted for compatibility; not used by Mozilla Readability.
    #[serde(default = "twenty")]
    pub min_text_score: usize,
    /// Seconds one document may take.
    #[serde(default = "tenth")]
    pub timeout: f64,
    /// Largest HTML (bytes) parsed; larger documents are dropped (trove-only).
    #[serde(default = "ten_mb")]
    pub max_html_bytes: usize,
}

impl<const I: bool> Default for ReadabilityConfig<I> {
    fn default() -> Self {
        ReadabilityConfig {
            max_new_lines: two(),
            min_text_length: twenty_five(),
            min_text_score: twenty(),
            timeout: tenth(),
            max_html_bytes: ten_mb(),
        }
    }
}

impl<const INSCRIPTIS: bool> StepConfig for ReadabilityConfig<INSCRIPTIS> {
    const TYPE: &'static str = if INSCRIPTIS { "readability_inscriptis" } else { "readability" };

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let (max_new_lines, min_text_length) = (self.max_new_lines, self.min_text_length);
        let step = ExtractorStep::new(
            move || Box::new(Readability { max_new_lines, min_text_length }) as Box<dyn Extractor>,
            self.timeout,
            self.max_html_bytes,
        );
        Ok(Stage::step("🛢 - EXTRAC: ReadabilityInscriptis", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.timeout.is_nan() || self.timeout <= 0.0 {
            problems.push(format!("timeout must be positive, not {}", self.timeout));
        }
    }
}

/// The readability extractor.
pub struct Readability {
    max_new_lines: usize,
    min_text_length: usize,
}

impl Readability {
    /// An extractor with DataTrove's defaults.
    pub fn new(config: &ReadabilityConfig<true>) -> Readability {
        Readability { max_new_lines: config.max_new_lines, min_text_length: config.min_text_length }
    }
}

impl Extractor for Readability {
    fn extract(&mut self, html: &str) -> std::result::Result<String, String> {
        let config = dom_smoothie::Config { char_threshold: self.min_text_length, ..Default::default() };
        let mut readability =
            dom_smoothie::Readability::new(html, None, Some(config)).map_err(|e| e.to_string())?;
        let article = match readability.parse() {
            Ok(a) => a,
            Err(dom_smoothie::ReadabilityError::GrabFailed) => return Ok(String::new()),
            Err(e) => return Err(e.to_string()),
        };
        // DataTrove renders readability's summary HTML with inscriptis' strict profile.
        let text = inscriptis::html_to_text(&article.content);
        Ok(collapse_newlines(text.trim(), self.max_new_lines))
    }
}

/// Replaces runs of more than `max` newlines with `max` newlines (DataTrove's `regex_excessive_lines`).
fn collapse_newlines(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = 0;
    for c in text.chars() {
        if c == '\n' {
            run += 1;
            if run > max {
                continue;
            }
        } else {
            run = 0;
        }
        out.push(c);
    }
    out
}

/// Runs an [`Extractor`] as a step, under a time and size budget (DataTrove's `BaseExtractor.run`).
pub struct ExtractorStep {
    sandbox: Sandbox,
    timeout: Duration,
    max_html_bytes: usize,
    warned_error: bool,
}

impl ExtractorStep {
    /// A step that builds its extractor with `make` (on a helper thread, again after a timeout).
    pub fn new(
        make: impl Fn() -> Box<dyn Extractor> + Send + Sync + 'static,
        timeout_seconds: f64,
        max_html_bytes: usize,
    ) -> ExtractorStep {
        ExtractorStep {
            sandbox: Sandbox::new(make),
            timeout: Duration::from_secs_f64(timeout_seconds.clamp(0.001, 1e6)),
            max_html_bytes,
            warned_error: false,
        }
    }
}

impl Step for ExtractorStep {
    fn process(&mut self, mut doc: Document, cx: &mut Context<'_>) -> Result<()> {
        cx.stats.incr("total");
        if doc.text.len() > self.max_html_bytes {
            cx.stats.incr("extract_too_large");
            tracing::warn!(
                "document {}: {} bytes of HTML, more than max_html_bytes ({}): skipped",
                doc.id,
                doc.text.len(),
                self.max_html_bytes
            );
            return Ok(());
        }
        let html = std::mem::take(&mut doc.text);
        match self.sandbox.run(html, self.timeout) {
            Outcome::Done(text) => {
                cx.stats.incr("extracted");
                doc.text = text;
            }
            Outcome::Timeout => {
                cx.stats.incr("extract_timeout");
                tracing::warn!(
                    "document {}: extraction took longer than {:?}: skipped",
                    doc.id,
                    self.timeout
                );
                return Ok(());
            }
            Outcome::Failed(message) => {
                cx.stats.incr("clean_error");
                if !self.warned_error {
                    tracing::warn!(
                        "document {}: extraction failed ({message}); skipped (logged once)",
                        doc.id
                    );
                    self.warned_error = true;
                }
                return Ok(());
            }
        }
        if doc.text.is_empty() {
            cx.stats.incr("dropped");
        } else {
            cx.stats.incr("forwarded");
            cx.stats.doc_stats(&doc);
            cx.emit(doc);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_seen_three_times_before_are_dropped() {
        // trafilatura 1.11: the first sighting stores 1, the third 3; the fourth finds 3 > 2.
        let mut seen = SeenLines::new();
        let body = format!("{}\nsecond   line", "x".repeat(120));
        for _ in 0..3 {
            assert!(!seen.duplicate(&body));
        }
        assert!(seen.duplicate(&body));
        // Whitespace is trimmed before comparing.
        assert!(seen.duplicate(&body.replace('\n', " ")));
        // Short bodies (100 characters or fewer) are never duplicates.
        let short = "y".repeat(100);
        for _ in 0..6 {
            assert!(!seen.duplicate(&short));
        }
    }

    #[test]
    fn the_duplicate_cache_forgets_the_least_recently_used() {
        let mut seen = SeenLines::new();
        let body = "z".repeat(150);
        for _ in 0..3 {
            assert!(!seen.duplicate(&body));
        }
        // 4,096 other segments (short ones count too) push it out of the cache.
        for i in 0..LRU_SIZE {
            seen.duplicate(&format!("other {i}"));
        }
        assert!(!seen.duplicate(&body));
    }

    #[test]
    fn short_extractions_become_the_baseline_as_in_python_trafilatura() {
        // Expected texts: Python trafilatura 1.11 `extract(html, favor_precision=True,
        // include_comments=False, deduplicate=True)`, as DataTrove 0.10.1 calls it.
        let cases = [
            (
                "<html><body><ul><li><a href=a>Prev</a></li><li><a href=b>Next</a></li></ul>\
                 <div class=para>A short page: one paragraph of about eighty characters in all.</div>\
                 <footer>(c) 2024</footer></body></html>",
                "Prev\nNext\nA short page: one paragraph of about eighty characters in all.",
            ),
            (
                "<html><body><nav>Menu</nav><p>First short paragraph with some words in it.</p>\
                 <p>Second short paragraph, also with a few words in it.</p>\
                 <p>Third one here, to go past one hundred characters.</p></body></html>",
                "First short paragraph with some words in it.\nSecond short paragraph, also with a few \
                 words in it.\nThird one here, to go past one hundred characters.",
            ),
        ];
        for (html, want) in cases {
            let mut extractor = Trafilatura::new(&TrafilaturaConfig::default());
            assert_eq!(extractor.extract(html).as_deref(), Ok(want), "{html}");
        }
    }

    #[test]
    fn collapses_newline_runs() {
        assert_eq!(collapse_newlines("a\n\n\n\nb\nc\n\n\nd", 2), "a\n\nb\nc\n\nd");
    }

    #[test]
    fn readability_reads_pages_whose_html_has_a_sidebar_class() {
        // The `readability` crate returns nothing for such pages (shared/docs/CRATES.md).
        let paragraph = "This is a sentence of the article body that goes on for a while. ".repeat(8);
        let html = format!(
            "<html class=\"sidebar-visible\"><body><nav class=\"sidebar\">Chapter 1 Chapter 2</nav>\
             <main><h1>Title</h1><p>{paragraph}</p><p>{paragraph}</p></main></body></html>"
        );
        let text = Readability::new(&ReadabilityConfig::default()).extract(&html).expect("extracts");
        assert!(text.contains("sentence of the article body"), "{text}");
        assert!(!text.contains("Chapter 2"), "{text}");
    }
}
