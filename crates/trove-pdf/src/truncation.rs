//! `pdf_truncation_filter`: PDFs the crawler cut short.

use serde::{Deserialize, Serialize};
use trove_core::step::{Filter, Verdict};
use trove_core::{BuildContext, Document, Result, Stage, Stats, StepConfig, StepSpec};

/// Common Crawl stores at most this many bytes of a response: a PDF of exactly this size was cut.
pub const CRAWL_CAP: usize = 1024 * 1024;

fn exclude() -> String {
    "exclude".into()
}
fn yes() -> bool {
    true
}
fn thousand() -> usize {
    1000
}

/// `pdf_truncation_filter`: finds truncated PDFs in `media[0]`'s bytes and metadata. Reasons, joined by
/// `;` into metadata `truncation_reasons` and each counted in stats: `warc_truncated` (metadata
/// `is_truncated`, from the record's `WARC-Truncated`), `exact_1mib` (exactly 1 MiB of bytes, the
/// crawler's cap), `too_small` (under `min_size_bytes`), `no_pdf_header` (`check_pdf_header` and no
/// `%PDF-` in the first 1024 bytes), `no_media` (no bytes at all). `action`: `exclude` drops truncated
/// documents (drop reason `truncated`); `mark_for_refetch` keeps them with `needs_refetch = true`;
/// `include` keeps everything. Every document gets `is_truncated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfTruncationFilterConfig {
    /// `exclude`, `mark_for_refetch` or `include`.
    #[serde(default = "exclude")]
    pub action: String,
    /// Require the `%PDF-` header.
    #[serde(default = "yes")]
    pub check_pdf_header: bool,
    /// Smaller PDFs count as truncated.
    #[serde(default = "thousand")]
    pub min_size_bytes: usize,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl Default for PdfTruncationFilterConfig {
    fn default() -> Self {
        PdfTruncationFilterConfig {
            action: exclude(),
            check_pdf_header: true,
            min_size_bytes: thousand(),
            exclusion_writer: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Exclude,
    MarkForRefetch,
    Include,
}

fn action(name: &str) -> Option<Action> {
    match name {
        "exclude" => Some(Action::Exclude),
        "mark_for_refetch" => Some(Action::MarkForRefetch),
        "include" => Some(Action::Include),
        _ => None,
    }
}

impl StepConfig for PdfTruncationFilterConfig {
    const TYPE: &'static str = "pdf_truncation_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let action = action(&self.action).ok_or_else(|| trove_core::Error::config(self.action_problem()))?;
        let filter = PdfTruncationFilter { config: self.clone(), action };
        cx.filter_stage("✂️ PDF truncation", filter, self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if action(&self.action).is_none() {
            problems.push(self.action_problem());
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

impl PdfTruncationFilterConfig {
    fn action_problem(&self) -> String {
        format!("action must be exclude, mark_for_refetch or include, not `{}`", self.action)
    }
}

/// The reasons a document's PDF looks truncated (empty: complete).
pub fn truncation_reasons(
    doc: &Document,
    check_pdf_header: bool,
    min_size_bytes: usize,
) -> Vec<&'static str> {
    let mut reasons = Vec::new();
    if doc.metadata.get("is_truncated").and_then(|v| v.as_bool()) == Some(true) {
        reasons.push("warc_truncated");
    }
    let Some(bytes) = doc.media.first().and_then(|m| m.media_bytes.as_deref()) else {
        reasons.push("no_media");
        return reasons;
    };
    if bytes.len() == CRAWL_CAP {
        reasons.push("exact_1mib");
    }
    if bytes.len() < min_size_bytes {
        reasons.push("too_small");
    }
    if check_pdf_header && memchr::memmem::find(&bytes[..bytes.len().min(1024)], b"%PDF-").is_none() {
        reasons.push("no_pdf_header");
    }
    reasons
}

/// The runtime filter.
pub struct PdfTruncationFilter {
    config: PdfTruncationFilterConfig,
    action: Action,
}

impl Filter for PdfTruncationFilter {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let reasons = truncation_reasons(doc, self.config.check_pdf_header, self.config.min_size_bytes);
        for r in &reasons {
            stats.incr(r);
        }
        let truncated = !reasons.is_empty();
        doc.metadata.insert("is_truncated".into(), truncated.into());
        if truncated {
            doc.metadata.insert("truncation_reasons".into(), reasons.join(";").into());
        }
        match (truncated, self.action) {
            (true, Action::Exclude) => Verdict::Drop(Some("truncated")),
            (true, Action::MarkForRefetch) => {
                doc.metadata.insert("needs_refetch".into(), true.into());
                Verdict::Keep
            }
            _ => Verdict::Keep,
        }
    }
}
