//! Runs the quality filters over the documents of a folder of JSONL(.gz) files and prints the time
//! each filter takes: the loop to profile the filters without reading, writing or a pipeline around
//! them. Every filter sees every document (a drop does not stop the next filter), and the English
//! word splitting is timed apart first, so the filters' own times exclude it.
//!
//! ```text
//! cargo run --release -p trove-filters --example filter_dir -- <folder> [rounds]
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use trove_core::text::WordSplitter;
use trove_core::{Document, Filter, Verdict};
use trove_filters::{
    C4QualityFilter, C4QualityFilterConfig, FineWebQualityFilter, FineWebQualityFilterConfig,
    GopherQualityFilter, GopherQualityFilterConfig, GopherRepetitionFilter, GopherRepetitionFilterConfig,
};

fn read_docs(dir: &Path) -> Result<Vec<Document>, Box<dyn std::error::Error>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    paths.sort();
    let mut docs = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let file = std::fs::File::open(&path)?;
        let reader: Box<dyn Read> = if name.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else if name.ends_with(".jsonl") {
            Box::new(file)
        } else {
            continue;
        };
        for (i, line) in BufReader::new(reader).lines().enumerate() {
            let value: serde_json::Value = serde_json::from_str(&line?)?;
            let text = value["text"].as_str().ok_or_else(|| format!("{name}:{}: no text", i + 1))?;
            docs.push(Document::new(text, format!("{name}/{i}")));
        }
    }
    Ok(docs)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: filter_dir <folder of .jsonl/.jsonl.gz> [rounds]".into());
    };
    let rounds: usize = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(3);
    let docs = read_docs(Path::new(dir))?;
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let mut filters: Vec<(&str, Box<dyn Filter>)> = vec![
        (
            "gopher_repetition_filter",
            Box::new(GopherRepetitionFilter::new(&GopherRepetitionFilterConfig::default())),
        ),
        ("gopher_quality_filter", Box::new(GopherQualityFilter::new(&GopherQualityFilterConfig::default()))),
        ("c4_quality_filter", Box::new(C4QualityFilter::new(&C4QualityFilterConfig::default()))),
        (
            "fineweb_quality_filter",
            Box::new(FineWebQualityFilter::new(&FineWebQualityFilterConfig::default())),
        ),
    ];
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} documents, {:.1} MB of text, best of {rounds} rounds", docs.len(), bytes as f64 / 1e6)?;
    let mut splitter = WordSplitter::new("en");
    let mut words = Vec::new();
    let mut best_split = Duration::MAX;
    let mut best = vec![Duration::MAX; filters.len()];
    let mut kept = vec![0usize; filters.len()];
    for _ in 0..rounds {
        let mut split = Duration::ZERO;
        let mut totals = vec![Duration::ZERO; filters.len()];
        kept.iter_mut().for_each(|k| *k = 0);
        for doc in &docs {
            let start = Instant::now();
            words.clear();
            splitter.words_into(&doc.text, &mut words);
            split += start.elapsed();
            // Each filter runs right after the split, so the splitter's cache holds the document.
            for (i, (_, filter)) in filters.iter_mut().enumerate() {
                let start = Instant::now();
                let verdict = filter.filter(doc);
                totals[i] += start.elapsed();
                kept[i] += usize::from(verdict == Verdict::Keep);
            }
        }
        best_split = best_split.min(split);
        for (b, t) in best.iter_mut().zip(totals) {
            *b = (*b).min(t);
        }
    }
    let per_round = |d: Duration| d.as_secs_f64();
    writeln!(
        out,
        "{:<26} {:>8.3} s  {:>7.1} MB/s",
        "english word split",
        per_round(best_split),
        bytes as f64 / 1e6 / per_round(best_split)
    )?;
    for ((name, _), (t, k)) in filters.iter().zip(best.iter().zip(&kept)) {
        writeln!(
            out,
            "{name:<26} {:>8.3} s  {:>7.1} MB/s  kept {}",
            per_round(*t),
            bytes as f64 / 1e6 / per_round(*t),
            k
        )?;
    }
    Ok(())
}
