//! The OCR router on the seed's 25 real Common Crawl PDFs (`fixtures/pdf/seed/samples`), against the
//! probabilities the seed recorded with PyMuPDF features (`sample_info.json`).
//!
//! The seed sampled pages at random (and padded to 8 slots at random), so only its one-page PDFs are
//! reproducible: those must take the seed's route. Over all 25, with trove's seeded sampling (seed 0),
//! at least 22 take the seed's route (the rest are multi-page documents whose probability depends on
//! the draw; `docs/pdf.md` lists them). The deterministic check is against PyMuPDF itself: its
//! measurements of every page (`fixtures/golden/pdf/pymupdf-features.json`, from
//! `cargo xtask golden-pdf`) on the pages trove sampled give the same route for all 25.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use trove_pdf::features::{extract, merge_strips, Budget, PageFeatures, PdfFeatures};
use trove_pdf::xgboost::Booster;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn routes_match_the_seed() {
    let dir = root().join("fixtures/pdf/seed");
    let booster = Booster::load(&dir.join("pdf_classifier_real_data.xgb")).unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("samples/sample_info.json")).unwrap())
            .unwrap();
    let (mut agree, mut total) = (0, 0);
    println!("{:22} {:>6} {:>6} {:>5}", "sample", "trove", "seed", "pages");
    for bucket in info.as_array().unwrap() {
        for s in bucket["info"].as_array().unwrap() {
            let name = s["saved_filename"].as_str().unwrap();
            let bytes = std::fs::read(dir.join("samples").join(name)).unwrap();
            let f = extract(&bytes, 0, Budget::default()).unwrap();
            let p = booster.predict(&f.vector(0));
            let want = s["ocr_prob"].as_f64().unwrap() as f32;
            let same = (p >= 0.5) == (want >= 0.5);
            println!("{name:22} {p:6.3} {want:6.3} {:5} {}", f.num_pages, if same { "" } else { "differs" });
            assert_eq!(f.num_pages as u64, s["num_pages"].as_u64().unwrap(), "{name}");
            assert_eq!(f.is_form, s["is_form"].as_bool().unwrap(), "{name}");
            assert_eq!(f.is_encrypted, s["is_encrypted"].as_bool().unwrap(), "{name}");
            if f.num_pages == 1 {
                assert!(same, "{name}: one page, so the seed's route is reproducible: {p} vs {want}");
                // Garbled text is estimated per font (no ToUnicode on a composite font), not per glyph.
                let garbled = s["garbled_text_ratio"].as_f64().unwrap();
                assert!(
                    (f.garbled_text_ratio - garbled).abs() < 0.25,
                    "{name}: garbled {} vs {garbled}",
                    f.garbled_text_ratio
                );
            }
            agree += usize::from(same);
            total += 1;
        }
    }
    println!("{agree} of {total} take the seed's route");
    assert_eq!(total, 25);
    assert!(agree >= 22, "{agree} of 25");
}

#[test]
fn sampling_is_deterministic() {
    let bytes = std::fs::read(root().join("fixtures/pdf/seed/samples/medium_ocr_03.pdf")).unwrap();
    let a = extract(&bytes, 3, Budget::default()).unwrap();
    let b = extract(&bytes, 3, Budget::default()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.sampled_pages.len(), 8);
    assert_eq!(a.vector(3), b.vector(3));
    assert_eq!(a.vector(3).len(), 124);
}

/// PyMuPDF's measurements of every page (`xtask/python/golden_pdf_features.py`, the seed's definitions)
/// turned into the page features for the pages trove sampled.
fn reference_features(doc: &serde_json::Value, sampled: &[usize]) -> PdfFeatures {
    // The seed skipped pages PyMuPDF failed to load.
    let pages: Vec<&serde_json::Value> =
        sampled.iter().map(|&i| &doc["pages"][i]).filter(|p| p.get("error").is_none()).collect();
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    // Junk images: on at least max(50%, 3) of the sampled pages, when 3 or more were sampled.
    let mut junk = std::collections::HashSet::new();
    if pages.len() >= 3 {
        let threshold = (pages.len() as f64 * 0.5).max(3.0).min(pages.len() as f64);
        let mut counts = std::collections::HashMap::<u64, usize>::new();
        for p in &pages {
            let ids: std::collections::HashSet<u64> =
                p["images"].as_array().into_iter().flatten().map(|i| i[4].as_u64().unwrap()).collect();
            for id in ids {
                *counts.entry(id).or_default() += 1;
            }
        }
        junk = counts.into_iter().filter(|&(_, c)| c as f64 >= threshold).map(|(id, _)| id).collect();
    }
    let (mut text, mut garbled) = (0.0, 0.0);
    let mut out = PdfFeatures::default();
    for p in &pages {
        text += f(&p["text_len"]);
        garbled += f(&p["garbled"]);
        let area = (f(&p["width"]) * f(&p["height"])).max(f64::MIN_POSITIVE);
        let area = if area > 0.0 { area } else { 1.0 };
        let images: Vec<&serde_json::Value> = p["images"].as_array().into_iter().flatten().collect();
        let non_junk: Vec<&&serde_json::Value> =
            images.iter().filter(|i| !junk.contains(&i[4].as_u64().unwrap())).collect();
        let mut rects: Vec<[f64; 4]> = non_junk
            .iter()
            .filter(|i| !i[5].as_bool().unwrap())
            .map(|i| [f(&i[0]), f(&i[1]), f(&i[2]), f(&i[3])])
            .collect();
        let areas: Vec<f64> = merge_strips(&mut rects, f(&p["width"]), f(&p["height"]))
            .iter()
            .map(|b| (b[2] - b[0]).abs() * (b[3] - b[1]).abs())
            .collect();
        let (v, h) = (&p["visible"], &p["hidden"]);
        let mean = |s: &serde_json::Value| if f(&s[1]) > 0.0 { f(&s[2]) / f(&s[1]) } else { 0.0 };
        out.pages.push(PageFeatures {
            unique_font_count: f(&p["fonts"]) as usize,
            char_count: f(&v[0]) as usize,
            text_box_count: f(&v[1]) as usize,
            mean_text_box_area: mean(v),
            text_area_ratio: f(&v[2]) / area,
            hidden_char_count: f(&h[0]) as usize,
            hidden_text_box_count: f(&h[1]) as usize,
            mean_hidden_text_box_area: mean(h),
            hidden_text_area_ratio: f(&h[2]) / area,
            image_count: images.len(),
            non_junk_image_count: non_junk.len(),
            bitmap_proportion: areas.iter().sum::<f64>() / area,
            max_merged_strip_area: areas.iter().copied().fold(0.0, f64::max) / area,
            drawing_stroke_count: f(&p["strokes"]) as usize,
            vector_graphics_object_count: f(&p["paths"]) as usize,
        });
    }
    out.garbled_text_ratio = if text > 0.0 { garbled / text } else { 0.0 };
    out.is_form = doc["is_form"].as_bool().unwrap();
    out.creator_or_producer_is_known_scanner = doc["scanner"].as_bool().unwrap();
    out
}

/// The deterministic comparison: on the pages trove sampled (and the same padding slots), PyMuPDF's
/// features (the seed's extractor) and trove's lopdf features give the same route for every sample.
#[test]
fn routes_match_pymupdf_features_on_the_same_pages() {
    let dir = root().join("fixtures/pdf/seed");
    let booster = Booster::load(&dir.join("pdf_classifier_real_data.xgb")).unwrap();
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/golden/pdf/pymupdf-features.json")).unwrap(),
    )
    .unwrap();
    let mut worst = 0f32;
    let mut lines = Vec::new();
    let (mut pages, mut glyphs_equal, mut images_equal) = (0, 0, 0);
    for (name, doc) in golden["documents"].as_object().unwrap() {
        let bytes = std::fs::read(dir.join("samples").join(name)).unwrap();
        let ours = extract(&bytes, 0, Budget::default()).unwrap();
        let reference = reference_features(doc, &ours.sampled_pages);
        let (p, r) = (booster.predict(&ours.vector(0)), booster.predict(&reference.vector(0)));
        worst = worst.max((p - r).abs());
        lines.push(format!(
            "{name:22} trove {p:.3} PyMuPDF {r:.3}{}",
            if (p >= 0.5) == (r >= 0.5) { "" } else { " differs" }
        ));
        // Page by page, the glyph and image counts (what the content streams show, not how MuPDF groups
        // or boxes them) agree.
        if reference.pages.len() == ours.pages.len() {
            for (a, b) in ours.pages.iter().zip(&reference.pages) {
                pages += 1;
                glyphs_equal +=
                    usize::from(a.char_count + a.hidden_char_count == b.char_count + b.hidden_char_count);
                images_equal += usize::from(a.image_count == b.image_count);
            }
        }
    }
    println!("glyph counts equal on {glyphs_equal} of {pages} pages, image counts on {images_equal}");
    assert!(glyphs_equal * 10 >= pages * 9 && images_equal * 10 >= pages * 9);
    println!("{}\nlargest probability difference {worst:.3}", lines.join("\n"));
    assert_eq!(lines.len(), 25);
    let differ: Vec<&String> = lines.iter().filter(|l| l.ends_with("differs")).collect();
    assert!(differ.is_empty(), "routes differ from PyMuPDF's features: {differ:?}");
}
