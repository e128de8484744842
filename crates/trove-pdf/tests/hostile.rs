//! Bad PDFs never panic and never run past the budget: cut files, corrupted bytes, garbage, a
//! 10,000-page document and a compression bomb in a content stream.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a failed unwrap in a test is a failed test

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trove_pdf::features::{extract, Budget, FeatureError};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures/pdf/seed/samples").join(name)).unwrap()
}

fn no_panic(bytes: &[u8], what: &str) -> Result<(), String> {
    match std::panic::catch_unwind(|| extract(bytes, 0, Budget::default())) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => panic!("{what}: extraction panicked"),
    }
}

#[test]
fn cut_and_corrupted_files_give_errors_or_features() {
    let bytes = sample("low_ocr_02.pdf");
    let (mut ok, mut err) = (0, 0);
    for cut in [0, 1, 8, 100, 1000, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
        match no_panic(&bytes[..cut], &format!("cut at {cut}")) {
            Ok(()) => ok += 1,
            Err(_) => err += 1,
        }
    }
    // Seeded byte flips all over the file.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..150 {
        let mut copy = bytes.clone();
        for _ in 0..1 + round % 20 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % copy.len() as u64) as usize;
            copy[i] = (state >> 32) as u8;
        }
        match no_panic(&copy, &format!("flip round {round}")) {
            Ok(()) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert!(no_panic(b"not a pdf at all", "garbage").is_err());
    assert!(no_panic(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "no pages").is_err());
    println!("{ok} gave features, {err} errors");
    assert!(ok > 0);
}

/// A minimal PDF: `pages` pages sharing one content stream (`content`, stored with `filter`).
fn build_pdf(pages: usize, content: &[u8], filter: Option<&str>) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let mut out: Vec<u8> = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    let kids: String = (0..pages).map(|i| format!("{} 0 R ", 4 + i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!("<< /Type /Pages /Kids [{kids}] /Count {pages} >>"));
    objects.push(String::new()); // 3: the content stream, written below
    for _ in 0..pages {
        objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>".into());
    }
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        if i == 2 {
            let filter = filter.map(|f| format!(" /Filter /{f}")).unwrap_or_default();
            write!(out, "3 0 obj\n<< /Length {}{filter} >>\nstream\n", content.len()).unwrap();
            out.extend_from_slice(content);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        } else {
            write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1).unwrap();
        }
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for off in offsets {
        writeln!(out, "{off:010} 00000 n ").unwrap();
    }
    write!(out, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
        .unwrap();
    out
}

#[test]
fn ten_thousand_pages_sample_eight() {
    let pdf = build_pdf(10_000, b"0 0 m 100 100 l S", None);
    let start = Instant::now();
    let f = extract(&pdf, 0, Budget::default()).unwrap();
    assert_eq!((f.num_pages, f.pages.len()), (10_000, 8));
    assert!(f.pages.iter().all(|p| p.vector_graphics_object_count == 1 && p.drawing_stroke_count == 2));
    println!("10,000 pages in {:?}", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_compression_bomb_stays_within_the_budget() {
    // 512 MiB of zeros deflated to about half a megabyte.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..512 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = z.finish().unwrap();
    let pdf = build_pdf(1, &bomb, Some("FlateDecode"));
    let start = Instant::now();
    let budget = Budget { max_stream_bytes: 16 << 20, ..Budget::default() };
    let result = extract(&pdf, 0, budget);
    // The page reads as empty (its content is over the limit): features, or a clean error.
    match result {
        Ok(f) => assert_eq!(f.pages[0].char_count, 0),
        Err(e) => assert!(!matches!(e, FeatureError::Timeout(_)), "{e}"),
    }
    println!("bomb handled in {:?}", start.elapsed());
    assert!(start.elapsed() < Duration::from_secs(20));
}
