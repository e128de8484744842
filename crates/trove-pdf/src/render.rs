//! `pdf_page_renderer`: PDF pages to PNG images for the OCR route, sized for a Qwen2.5-VL-style
//! vision model (RolmOCR): longest side scaled to `longest_side` (1280 px), both sides rounded to
//! multiples of `patch_size` (28), shrunk if a page would exceed `max_visual_tokens` (2048 patches).
//!
//! Rendering is done by poppler's `pdftoppm` (Debian `poppler-utils`) as an external process, page
//! sizes come from `pdfinfo`: no pure-Rust renderer handled the seed's scanned and form PDFs as well
//! (docs/decisions.md). Each call runs under the document's time budget and is killed when it is
//! exceeded.

use crate::external::{run, RunError as RenderError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use trove_core::document::media_type;
use trove_core::step::{Filter, Verdict};
use trove_core::{BuildContext, Document, Media, Metadata, Result, Stage, Stats, StepConfig, StepSpec};

fn d_longest() -> u32 {
    1280
}
fn d_patch() -> u32 {
    28
}
fn d_tokens() -> u32 {
    2048
}
fn d_pages() -> usize {
    64
}
fn d_timeout() -> f64 {
    120.0
}
fn d_pdftoppm() -> String {
    "pdftoppm".into()
}
fn d_pdfinfo() -> String {
    "pdfinfo".into()
}

/// `pdf_page_renderer`: renders the pages of `media[0]` (a PDF) and appends one PNG image per page to
/// `media` (type image, id `{doc id}#page={n}`, metadata `page`, `width`, `height`, `mime_type`).
/// Metadata gets `rendered_pages`. Dropped: `no_media`, `render_failed` (poppler refused the file:
/// damaged, or a password is needed), `render_timeout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfPageRendererConfig {
    /// Target length of a page's longer side, in pixels.
    #[serde(default = "d_longest")]
    pub longest_side: u32,
    /// Both sides are multiples of this (the vision encoder's patch size).
    #[serde(default = "d_patch")]
    pub patch_size: u32,
    /// Most patches (`width/patch × height/patch`) per page.
    #[serde(default = "d_tokens")]
    pub max_visual_tokens: u32,
    /// Pages rendered at most (the first ones); `rendered_pages` says how many were.
    #[serde(default = "d_pages")]
    pub max_pages: usize,
    /// Seconds one document may take.
    #[serde(default = "d_timeout")]
    pub timeout: f64,
    /// The `pdftoppm` program.
    #[serde(default = "d_pdftoppm")]
    pub pdftoppm: String,
    /// The `pdfinfo` program.
    #[serde(default = "d_pdfinfo")]
    pub pdfinfo: String,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl Default for PdfPageRendererConfig {
    fn default() -> Self {
        PdfPageRendererConfig {
            longest_side: d_longest(),
            patch_size: d_patch(),
            max_visual_tokens: d_tokens(),
            max_pages: d_pages(),
            timeout: d_timeout(),
            pdftoppm: d_pdftoppm(),
            pdfinfo: d_pdfinfo(),
            exclusion_writer: None,
        }
    }
}

impl StepConfig for PdfPageRendererConfig {
    const TYPE: &'static str = "pdf_page_renderer";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        crate::external::require("pdf_page_renderer", &self.pdftoppm)?;
        crate::external::require("pdf_page_renderer", &self.pdfinfo)?;
        cx.filter_stage("🖼 PDF page renderer", Renderer(self.clone()), self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.patch_size == 0 || self.longest_side < self.patch_size {
            problems.push(format!(
                "longest_side ({}) must be at least patch_size ({}), which must be positive",
                self.longest_side, self.patch_size
            ));
        }
        if self.max_visual_tokens == 0 || self.max_pages == 0 {
            problems.push("max_visual_tokens and max_pages must be positive".into());
        }
        if self.timeout.is_nan() || self.timeout <= 0.0 {
            problems.push(format!("timeout must be positive, not {}", self.timeout));
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The pixel size a page of `width × height` points is rendered at (see the module docs).
pub fn target_size(width: f64, height: f64, longest_side: u32, patch: u32, max_tokens: u32) -> (u32, u32) {
    let (width, height) = (width.max(1.0), height.max(1.0));
    let p = f64::from(patch);
    let scale = f64::from(longest_side) / width.max(height);
    let (w, h) = (width * scale, height * scale);
    let round = |x: f64| ((x / p).round().max(1.0)) * p;
    let (mut rw, mut rh) = (round(w), round(h));
    if (rw / p) * (rh / p) > f64::from(max_tokens) {
        let beta = ((w * h) / (f64::from(max_tokens) * p * p)).sqrt();
        let floor = |x: f64| ((x / beta / p).floor().max(1.0)) * p;
        rw = floor(w);
        rh = floor(h);
    }
    (rw as u32, rh as u32)
}

/// Page sizes in points, rotation applied, from `pdfinfo -f 1 -l last`.
fn page_sizes(
    cfg: &PdfPageRendererConfig,
    pdf: &Path,
    deadline: Instant,
) -> std::result::Result<Vec<(f64, f64)>, RenderError> {
    let out = run(
        Command::new(&cfg.pdfinfo).args(["-f", "1", "-l", &cfg.max_pages.to_string()]).arg(pdf),
        deadline,
    )?;
    let text = String::from_utf8_lossy(&out);
    let mut sizes: Vec<(f64, f64)> = Vec::new();
    for line in text.lines() {
        // "Page    1 size: 612 x 792 pts (letter)" and "Page    1 rot:  90"
        let Some(rest) = line.strip_prefix("Page") else { continue };
        if let Some((_, size)) = rest.split_once("size:") {
            let mut parts = size.split_whitespace();
            let w = parts.next().and_then(|s| s.parse::<f64>().ok());
            let h = parts.nth(1).and_then(|s| s.parse::<f64>().ok());
            if let (Some(w), Some(h)) = (w, h) {
                sizes.push((w, h));
            }
        } else if let Some((_, rot)) = rest.split_once("rot:") {
            let rot = rot.trim().parse::<f64>().unwrap_or(0.0).rem_euclid(360.0);
            if let Some(last) = sizes.last_mut() {
                if rot == 90.0 || rot == 270.0 {
                    *last = (last.1, last.0);
                }
            }
        }
    }
    if sizes.is_empty() {
        return Err(RenderError::Failed("pdfinfo reported no pages".into()));
    }
    Ok(sizes)
}

/// One rendered page.
#[derive(Debug, Clone)]
pub struct Page {
    /// 1-based page number.
    pub number: usize,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// The PNG file.
    pub png: Vec<u8>,
}

fn render(cfg: &PdfPageRendererConfig, bytes: &[u8]) -> std::result::Result<Vec<Page>, RenderError> {
    let deadline = Instant::now() + Duration::from_secs_f64(cfg.timeout);
    let dir = tempfile::tempdir().map_err(|e| RenderError::Failed(e.to_string()))?;
    let pdf = dir.path().join("in.pdf");
    std::fs::write(&pdf, bytes).map_err(|e| RenderError::Failed(e.to_string()))?;
    let sizes = page_sizes(cfg, &pdf, deadline)?;
    let jobs: Vec<(usize, (u32, u32))> = sizes
        .into_iter()
        .take(cfg.max_pages)
        .enumerate()
        .map(|(i, (w, h))| {
            (i + 1, target_size(w, h, cfg.longest_side, cfg.patch_size, cfg.max_visual_tokens))
        })
        .collect();
    let render_one = |&(number, (tw, th)): &(usize, (u32, u32))| -> std::result::Result<Page, RenderError> {
        let n = number.to_string();
        let root = dir.path().join(format!("page-{n}"));
        run(
            Command::new(&cfg.pdftoppm)
                .args(["-png", "-f", &n, "-l", &n, "-singlefile"])
                .args(["-scale-to-x", &tw.to_string(), "-scale-to-y", &th.to_string()])
                .arg(&pdf)
                .arg(&root),
            deadline,
        )?;
        let png_path = root.with_extension("png");
        let png = std::fs::read(&png_path).map_err(|e| RenderError::Failed(format!("page {n}: {e}")))?;
        let _ = std::fs::remove_file(&png_path);
        let (width, height) = png_size(&png).unwrap_or((tw, th));
        Ok(Page { number, width, height, png })
    };
    // One pdftoppm per page, as many at once as there are cores (pages come back in order).
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let mut pages = Vec::with_capacity(jobs.len());
    for batch in jobs.chunks(parallel) {
        let results: Vec<std::result::Result<Page, RenderError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch.iter().map(|job| scope.spawn(|| render_one(job))).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| Err(RenderError::Failed("renderer thread panicked".into())))
                })
                .collect()
        });
        for r in results {
            pages.push(r?);
        }
    }
    Ok(pages)
}

/// Width and height from a PNG's IHDR chunk.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    Some((w, h))
}

/// Renders `bytes` (a PDF) with `cfg`'s sizes; the pages in order.
pub fn render_pdf(cfg: &PdfPageRendererConfig, bytes: &[u8]) -> std::result::Result<Vec<Page>, String> {
    render(cfg, bytes).map_err(|e| match e {
        RenderError::Failed(m) => m,
        RenderError::Timeout => format!("timed out after {} s", cfg.timeout),
    })
}

struct Renderer(PdfPageRendererConfig);

impl Filter for Renderer {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let Some(bytes) = doc.media.first().and_then(|m| m.media_bytes.as_deref()) else {
            return Verdict::Drop(Some("no_media"));
        };
        let pages = match render(&self.0, bytes) {
            Ok(pages) => pages,
            Err(RenderError::Timeout) => {
                tracing::warn!("{}: rendering took more than {} s", doc.id, self.0.timeout);
                return Verdict::Drop(Some("render_timeout"));
            }
            Err(RenderError::Failed(message)) => {
                tracing::warn!("{}: cannot render: {message}", doc.id);
                return Verdict::Drop(Some("render_failed"));
            }
        };
        stats.update_unit("rendered_pages", pages.len() as u64, "doc");
        doc.metadata.insert("rendered_pages".into(), (pages.len() as u64).into());
        for page in pages {
            let mut metadata = Metadata::new();
            metadata.insert("page".into(), (page.number as u64).into());
            metadata.insert("width".into(), page.width.into());
            metadata.insert("height".into(), page.height.into());
            metadata.insert("mime_type".into(), "image/png".into());
            doc.media.push(Media {
                id: format!("{}#page={}", doc.id, page.number),
                media_type: media_type::IMAGE,
                url: String::new(),
                alt: None,
                path: None,
                offset: None,
                length: Some(page.png.len() as i64),
                media_bytes: Some(page.png),
                metadata,
            });
        }
        Verdict::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::target_size;

    #[test]
    fn sizes_follow_the_seed_rules() {
        // (points) → (pixels): longest side to ≥ 1280 rounded to 28s, at most 2048 patches.
        let cases = [
            ((612.0, 792.0), (980, 1288)),  // US letter
            ((595.0, 842.0), (896, 1288)),  // A4
            ((842.0, 595.0), (1288, 896)),  // A4 landscape
            ((600.0, 600.0), (1260, 1260)), // square: 46 × 46 patches would be 2116 > 2048
            ((200.0, 2000.0), (140, 1288)), // a strip
            ((10.0, 10000.0), (28, 1288)),  // never below one patch
        ];
        for ((w, h), want) in cases {
            let got = target_size(w, h, 1280, 28, 2048);
            assert_eq!(got, want, "{w} x {h}");
            assert_eq!((got.0 % 28, got.1 % 28), (0, 0));
            assert!((got.0 / 28) * (got.1 / 28) <= 2048);
        }
    }
}
