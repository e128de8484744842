//! `pdf_text_extractor` against pypdf 7.1.0 (`fixtures/golden/pdf/pypdf-text.json`, from
//! `cargo xtask golden-pdf`) on pypdf's own test PDFs and the seed's Common Crawl samples: word-level
//! F1 per file (bag of words, ligatures spelled out on both sides), and pypdf's expected text for
//! `crazyones.pdf` line for line. Needs poppler-utils and the fixture cache
//! (`cargo xtask fixtures --for-tests`).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use trove_pdf::text::{extract_pages, spell_ligatures as ligatures, PdfTextExtractorConfig, TextError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn resources() -> PathBuf {
    let dir = root().join("fixtures/cache/pypdf-7.1.0/resources");
    assert!(dir.is_dir(), "{} is missing: run `cargo xtask fixtures --for-tests`", dir.display());
    dir
}

#[test]
fn text_agrees_with_pypdf() {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/golden/pdf/pypdf-text.json")).unwrap(),
    )
    .unwrap();
    let cfg = PdfTextExtractorConfig { max_pages: 20, page_separator: "\n\n".into(), ..Default::default() };
    let mut scores = Vec::new();
    let mut report = String::new();
    for (key, expected) in golden["texts"].as_object().unwrap() {
        let Some(expected) = expected.as_str() else { continue };
        if expected.trim().is_empty() {
            continue; // pypdf found no text (a scan): nothing to compare
        }
        let path = match key.split_once('/').unwrap() {
            ("seed", name) => root().join("fixtures/pdf/seed/samples").join(name),
            (_, name) => resources().join(name),
        };
        let bytes = std::fs::read(&path).unwrap();
        let ours = match extract_pages(&cfg, &bytes) {
            Ok(pages) => pages.join("\n\n"),
            Err(TextError::NeedsPassword) => panic!("{key}: pypdf opened it with the empty password"),
            Err(e) => {
                report.push_str(&format!("{key}: no text ({e:?})\n"));
                scores.push(0.0);
                continue;
            }
        };
        let score = trove_core::text::word_f1(&ours, &ligatures(expected));
        report.push_str(&format!("{score:.3} {key}\n"));
        scores.push(score);
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let above = scores.iter().filter(|&&s| s >= 0.9).count();
    eprintln!("{report}{} files, mean word F1 {mean:.3}, {above} at 0.9 or more", scores.len());
    assert!(scores.len() >= 55, "{} files compared", scores.len());
    assert!(mean >= 0.85, "mean word F1 {mean:.3}");
}

#[test]
fn crazyones_matches_pypdfs_expected_text_line_for_line() {
    let bytes = std::fs::read(resources().join("crazyones.pdf")).unwrap();
    let pages = extract_pages(&PdfTextExtractorConfig::default(), &bytes).unwrap();
    let expected = ligatures(&std::fs::read_to_string(resources().join("crazyones.txt")).unwrap());
    let ours: Vec<&str> = pages[0].lines().collect();
    let theirs: Vec<&str> = expected.lines().collect();
    assert_eq!(ours, theirs);
}

#[test]
fn encrypted_and_broken_files_give_reasons() {
    let cfg = PdfTextExtractorConfig::default();
    // RC4 and AES (R2 to R6) with an empty user password, or only an owner password: readable.
    let dir = resources().join("encryption");
    for name in [
        "r2-empty-password",
        "r3-empty-password",
        "r5-empty-password",
        "r6-empty-password",
        "r4-owner-password",
    ] {
        let bytes = std::fs::read(dir.join(format!("{name}.pdf"))).unwrap();
        let pages = extract_pages(&cfg, &bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(pages[0].starts_with("pdf encryption test"), "{name}: {pages:?}");
    }
    // A user password: the document is dropped as `needs_password`.
    for path in [dir.join("r4-aes-user-password.pdf"), resources().join("encrypted-file.pdf")] {
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(extract_pages(&cfg, &bytes), Err(TextError::NeedsPassword), "{}", path.display());
    }
    assert!(matches!(extract_pages(&cfg, b"%PDF-1.4 garbage"), Err(TextError::Failed(_))));
}
