//! `pdf_page_renderer` on real PDFs (the seed's Common Crawl samples and a password-protected one):
//! every page becomes a PNG whose sides are multiples of 28, with the longer side at 1280 px or more
//! and at most 2048 patches; what poppler cannot open is dropped with a reason, not a panic.
//! Needs poppler-utils (`.ci/run` installs it).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use trove_pdf::render::{png_size, render_pdf, PdfPageRendererConfig};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pdf/seed/samples")
}

#[test]
fn seed_samples_render_to_vision_model_sizes() {
    let cfg = PdfPageRendererConfig::default();
    // One-page A4 scan (the seed's RolmOCR reference sample), a one-page form, a 14-page scan.
    for (name, pages_in_file) in
        [("high_ocr_02.pdf", 1), ("high_ocr_05.pdf", 1), ("very_high_ocr_03.pdf", 14)]
    {
        let bytes = std::fs::read(samples().join(name)).unwrap();
        let pages = render_pdf(&cfg, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pages.len(), pages_in_file, "{name}");
        assert_eq!(
            pages.iter().map(|p| p.number).collect::<Vec<_>>(),
            (1..=pages_in_file).collect::<Vec<_>>()
        );
        for page in &pages {
            let (w, h) = png_size(&page.png).unwrap();
            assert_eq!((w, h), (page.width, page.height));
            assert_eq!((w % 28, h % 28), (0, 0), "{name} page {}: {w} x {h}", page.number);
            assert!((w / 28) * (h / 28) <= 2048, "{name} page {}: {w} x {h}", page.number);
            assert!(w.max(h) >= 1232, "{name} page {}: {w} x {h}", page.number);
        }
        if name == "high_ocr_02.pdf" {
            // A4 portrait: 595.3 x 841.9 pt.
            assert_eq!((pages[0].width, pages[0].height), (896, 1288));
            // Not a blank page: a scan has many distinct bytes after compression.
            assert!(pages[0].png.len() > 50_000, "{} bytes", pages[0].png.len());
        }
    }
}

#[test]
fn unreadable_input_is_an_error_not_a_panic() {
    let cfg = PdfPageRendererConfig { timeout: 20.0, ..PdfPageRendererConfig::default() };
    for bad in [&b"not a pdf at all"[..], b""] {
        let err = render_pdf(&cfg, bad).unwrap_err();
        assert!(!err.is_empty());
    }
    // Cut at 1 MiB by the crawler, no trailer: poppler refuses it (the truncation filter sends such
    // files to be fetched again before they reach the OCR route).
    let bytes = std::fs::read(samples().join("high_ocr_01.pdf")).unwrap();
    let err = render_pdf(&cfg, &bytes).unwrap_err();
    assert!(err.contains("xref") || err.contains("trailer"), "{err}");
    // Only the first `max_pages` pages.
    let bytes = std::fs::read(samples().join("very_high_ocr_03.pdf")).unwrap();
    let few = PdfPageRendererConfig { max_pages: 3, ..cfg };
    assert_eq!(render_pdf(&few, &bytes).unwrap().len(), 3);
}
