//! Every quality and URL filter decides as DataTrove 0.10.1 does on the committed documents: the Python
//! docs sample, dolma's CCNet sample, the fixture WARCs' Trafilatura text and synthetic URL cases
//! (`fixtures/golden/datatrove/filters.jsonl.gz`, made by `xtask/python/golden_filters.py`).
//!
//! Needs the filter assets in `fixtures/cache/assets` (`cargo xtask fixtures --for-tests`).

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use trove_core::{Document, Filter, Stats, Verdict};
use trove_filters::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| serde_json::from_str(&l.expect("a line")).expect("JSON"))
        .collect()
}

fn assets() -> PathBuf {
    let assets = root().join("fixtures/cache/assets");
    assert!(
        assets.join("url_filter/domains").is_file() && assets.join("c4_badwords/en").is_file(),
        "the filter assets are missing: run `cargo xtask fixtures --for-tests`"
    );
    assets
}

fn filter_for(name: &str) -> Box<dyn Filter> {
    let assets = assets();
    match name {
        "gopher_repetition_filter" => Box::new(GopherRepetitionFilter::new(&Default::default())),
        "gopher_quality_filter" => Box::new(GopherQualityFilter::new(&Default::default())),
        "c4_quality_filter" => Box::new(C4QualityFilter::new(&Default::default())),
        "c4_quality_filter:sentences" => Box::new(C4QualityFilter::new(&C4QualityFilterConfig {
            split_paragraph: false,
            ..Default::default()
        })),
        "c4_paragraph_filter" => Box::new(C4ParagraphFilter),
        "c4_bad_words_filter" => {
            let config: C4BadWordsFilterConfig = serde_json::from_value(serde_json::json!({
                "badwords_folder": assets.join("c4_badwords").to_string_lossy(),
            }))
            .expect("config");
            Box::new(C4BadWordsFilter::new(&config, 0).expect("bad words filter"))
        }
        "fineweb_quality_filter" => Box::new(FineWebQualityFilter::new(&Default::default())),
        "url_filter" | "url_filter:extra" => {
            let mut config = serde_json::json!({
                "integrated_lists_folder": assets.join("url_filter").to_string_lossy(),
            });
            if name == "url_filter:extra" {
                config["extra_domains"] = serde_json::json!(["blocked-example.com", "sub.listed-host.org"]);
                config["extra_urls"] = serde_json::json!(["http://exact.example.net/path?q=1"]);
                config["banned_words"] = serde_json::json!(["nightlife"]);
                config["soft_banned_words"] = serde_json::json!(["deal", "now"]);
            }
            let config: UrlFilterConfig = serde_json::from_value(config).expect("config");
            Box::new(UrlFilter::new(&config).expect("url filter"))
        }
        other => panic!("no filter for {other}"),
    }
}

#[test]
fn filters_decide_as_datatrove() {
    let golden = read_jsonl(&root().join("fixtures/golden/datatrove/filters.jsonl.gz"));
    let mut sources: HashMap<String, Vec<Value>> = HashMap::new();
    let mut filters: BTreeMap<String, Box<dyn Filter>> = BTreeMap::new();
    // filter → (documents, agreeing, first disagreements)
    let mut tally: BTreeMap<String, (usize, usize, Vec<String>)> = BTreeMap::new();
    for row in &golden {
        let source = row["source"].as_str().expect("source").to_string();
        let docs = sources.entry(source.clone()).or_insert_with(|| read_jsonl(&root().join(&source)));
        let input = &docs[row["line"].as_u64().expect("line") as usize];
        let name = row["filter"].as_str().expect("filter").to_string();
        let filter = filters.entry(name.clone()).or_insert_with(|| filter_for(&name));
        let mut doc = Document::new(input["text"].as_str().expect("text"), "doc");
        if let Some(Value::Object(meta)) = input.get("metadata") {
            doc.metadata = meta.clone();
        }
        if !doc.metadata.contains_key("url") {
            if let Some(id) = input.get("id").and_then(Value::as_str) {
                doc.metadata.insert("url".into(), id.into());
            }
        }
        let verdict = filter.filter_counted(&mut doc, &mut Stats::new("golden"));
        let want_keep = row["keep"].as_bool().expect("keep");
        let want_reason = row["reason"].as_str();
        let same_verdict = match verdict {
            Verdict::Keep => want_keep,
            Verdict::Drop(reason) => !want_keep && reason == want_reason,
        };
        let want = if want_keep { "Keep".to_string() } else { format!("Drop({want_reason:?})") };
        let same_text = row.get("text").and_then(Value::as_str).is_none_or(|t| t == doc.text);
        let entry = tally.entry(name.clone()).or_default();
        entry.0 += 1;
        if same_verdict && same_text {
            entry.1 += 1;
        } else if entry.2.len() < 5 {
            entry.2.push(format!(
                "{source}:{} trove {verdict:?} datatrove {want}{}",
                row["line"],
                if same_text { "" } else { " (text differs)" }
            ));
        }
    }
    let mut failures = Vec::new();
    for (name, (n, agree, examples)) in &tally {
        let rate = *agree as f64 / *n as f64;
        eprintln!("{name}: {agree}/{n} agree ({:.2}%)", 100.0 * rate);
        for e in examples {
            eprintln!("    {e}");
        }
        if rate < 0.995 {
            failures.push(format!("{name}: {:.2}% agreement", 100.0 * rate));
        }
    }
    assert!(tally.len() >= 9, "golden file covers {} filters", tally.len());
    assert!(failures.is_empty(), "below 99.5%: {failures:?}");
}
