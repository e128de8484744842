//! Extracts every `.html` file under a folder with one extractor and prints the time per page: the
//! loop to profile extraction without WARC reading or a pipeline around it.
//!
//! ```text
//! cargo run --release -p trove-extract --example extract_dir -- <folder> [trafilatura|readability] [texts.txt]
//! ```
//!
//! With a third argument, the texts are written there (each after a `==> <file>` line), to compare two
//! builds of the extractor page by page.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trove_extract::{Extractor, Readability, ReadabilityConfig, Trafilatura, TrafilaturaConfig};

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            html_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "html" || e == "htm") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: extract_dir <folder> [trafilatura|readability]".into());
    };
    let mut files = Vec::new();
    html_files(Path::new(dir), &mut files)?;
    files.sort();
    let mut extractor: Box<dyn Extractor> = match args.get(1).map(String::as_str) {
        None | Some("trafilatura") => Box::new(Trafilatura::new(&TrafilaturaConfig::default())),
        Some("readability") => Box::new(Readability::new(&ReadabilityConfig::default())),
        Some(other) => return Err(format!("unknown extractor {other}").into()),
    };
    let pages: Vec<(String, String)> = files
        .iter()
        .map(|p| Ok((p.display().to_string(), String::from_utf8_lossy(&std::fs::read(p)?).into_owned())))
        .collect::<std::io::Result<_>>()?;
    let bytes: usize = pages.iter().map(|(_, h)| h.len()).sum();
    let start = Instant::now();
    let (mut empty, mut errors) = (0, 0);
    let mut texts = Vec::with_capacity(pages.len());
    for (_, html) in &pages {
        match extractor.extract(html) {
            Ok(text) => {
                empty += usize::from(text.is_empty());
                texts.push(text);
            }
            Err(e) => {
                errors += 1;
                texts.push(format!("ERROR {e}"));
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    writeln!(
        std::io::stdout(),
        "{} pages, {:.1} MB: {:.2} s, {:.2} ms/page, {:.1} MB/s; {empty} empty, {errors} errors",
        pages.len(),
        bytes as f64 / 1e6,
        secs,
        secs * 1e3 / pages.len() as f64,
        bytes as f64 / 1e6 / secs
    )?;
    if let Some(out) = args.get(2) {
        let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
        for ((name, _), text) in pages.iter().zip(&texts) {
            writeln!(file, "==> {name}\n{text}")?;
        }
        file.flush()?;
    }
    Ok(())
}
