//! `pdf_text_extractor`: the text route (Docling's role in the seed) — a PDF's text in reading order
//! with its line breaks, page by page.
//!
//! The text comes from poppler's `pdftotext` (Debian `poppler-utils`, the same package the OCR route
//! renders pages with), run as an external process under the document's time budget: its
//! reading-order mode handles columns, rotated pages, Type 3 and CID fonts with `ToUnicode` maps, and
//! opens files encrypted with an empty user password (docs/decisions.md says why not a Rust
//! interpreter over lopdf). Ligature code points (U+FB00–U+FB06) are spelled out, as NFKC does for
//! them, without touching other characters.

use crate::external::{run, RunError};
use serde::{Deserialize, Serialize};
use std::process::Command;
use std::time::{Duration, Instant};
use trove_core::step::{Filter, Verdict};
use trove_core::{BuildContext, Document, Result, Stage, Stats, StepConfig, StepSpec};

fn d_timeout() -> f64 {
    60.0
}
fn minus_one() -> i64 {
    -1
}
fn d_separator() -> String {
    "\n\n".into()
}
fn d_pdftotext() -> String {
    "pdftotext".into()
}

/// `pdf_text_extractor`: sets `text` from the PDF in `media[0]`: each page's text (lines kept, reading
/// order), pages joined by `page_separator`; metadata gets `extracted_pages`. Dropped:
/// `no_media`, `needs_password` (a user password other than empty), `extract_failed` (poppler
/// cannot open it), `extract_timeout`, `no_text` (no page had text: a scan, better sent to OCR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfTextExtractorConfig {
    /// Seconds one document may take.
    #[serde(default = "d_timeout")]
    pub timeout: f64,
    /// Only the first pages; `-1` for all.
    #[serde(default = "minus_one")]
    pub max_pages: i64,
    /// Between two pages' texts.
    #[serde(default = "d_separator")]
    pub page_separator: String,
    /// Keep the page layout with spaces (`pdftotext -layout`) instead of reading order.
    #[serde(default)]
    pub layout: bool,
    /// The `pdftotext` program.
    #[serde(default = "d_pdftotext")]
    pub pdftotext: String,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl Default for PdfTextExtractorConfig {
    fn default() -> Self {
        PdfTextExtractorConfig {
            timeout: d_timeout(),
            max_pages: -1,
            page_separator: d_separator(),
            layout: false,
            pdftotext: d_pdftotext(),
            exclusion_writer: None,
        }
    }
}

impl StepConfig for PdfTextExtractorConfig {
    const TYPE: &'static str = "pdf_text_extractor";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        crate::external::require("pdf_text_extractor", &self.pdftotext)?;
        cx.filter_stage("📃 PDF text extractor", Extractor(self.clone()), self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.timeout.is_nan() || self.timeout <= 0.0 {
            problems.push(format!("timeout must be positive, not {}", self.timeout));
        }
        if self.max_pages == 0 || self.max_pages < -1 {
            problems.push(format!("max_pages must be positive or -1, not {}", self.max_pages));
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// Why there is no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// Needs a user password.
    NeedsPassword,
    /// poppler could not open or read the file.
    Failed(String),
    /// Over the time budget.
    Timeout,
}

/// The text of each page of `bytes` (a PDF), ligatures spelled out.
pub fn extract_pages(
    cfg: &PdfTextExtractorConfig,
    bytes: &[u8],
) -> std::result::Result<Vec<String>, TextError> {
    let deadline = Instant::now() + Duration::from_secs_f64(cfg.timeout);
    let dir = tempfile::tempdir().map_err(|e| TextError::Failed(e.to_string()))?;
    let pdf = dir.path().join("in.pdf");
    std::fs::write(&pdf, bytes).map_err(|e| TextError::Failed(e.to_string()))?;
    let mut cmd = Command::new(&cfg.pdftotext);
    cmd.args(["-enc", "UTF-8", "-eol", "unix"]);
    if cfg.layout {
        cmd.arg("-layout");
    }
    if cfg.max_pages > 0 {
        cmd.args(["-f", "1", "-l", &cfg.max_pages.to_string()]);
    }
    cmd.arg(&pdf).arg("-");
    let out = run(&mut cmd, deadline).map_err(|e| match e {
        RunError::Timeout => TextError::Timeout,
        RunError::Failed(m) if m.contains("password") => TextError::NeedsPassword,
        RunError::Failed(m) => TextError::Failed(m),
    })?;
    let text = String::from_utf8_lossy(&out);
    // pdftotext ends every page with a form feed.
    let mut pages: Vec<String> = text.split('\u{c}').map(clean_page).collect();
    if pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    Ok(pages)
}

/// Spells out the ligature code points U+FB00–U+FB06 (NFKC's mapping for them; nothing else changes).
pub fn spell_ligatures(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            c => out.push(c),
        }
    }
    out
}

/// Spells out ligatures and trims the page's trailing blank lines.
fn clean_page(page: &str) -> String {
    let mut out = spell_ligatures(page);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

struct Extractor(PdfTextExtractorConfig);

impl Filter for Extractor {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let Some(bytes) = doc.media.first().and_then(|m| m.media_bytes.as_deref()) else {
            return Verdict::Drop(Some("no_media"));
        };
        let pages = match extract_pages(&self.0, bytes) {
            Ok(pages) => pages,
            Err(TextError::NeedsPassword) => return Verdict::Drop(Some("needs_password")),
            Err(TextError::Timeout) => {
                tracing::warn!("{}: text extraction took more than {} s", doc.id, self.0.timeout);
                return Verdict::Drop(Some("extract_timeout"));
            }
            Err(TextError::Failed(message)) => {
                tracing::warn!("{}: cannot extract text: {message}", doc.id);
                return Verdict::Drop(Some("extract_failed"));
            }
        };
        stats.update_unit("extracted_pages", pages.len() as u64, "doc");
        doc.metadata.insert("extracted_pages".into(), (pages.len() as u64).into());
        let text = pages.join(&self.0.page_separator);
        if text.trim().is_empty() {
            return Verdict::Drop(Some("no_text"));
        }
        doc.text = text;
        Verdict::Keep
    }
}
