//! `cargo xtask bench-dedup`: MinHash dedup, trove against DataTrove 0.10.1 on the same files with the
//! same config in the same run, on a corpus with known duplicates:
//! - LibreOffice's English help in two spellings (Debian `libreoffice-help-en-us` / `-en-gb`): pages
//!   with the same path are near-duplicates (US vs UK spelling);
//! - generated documents (sentences of the Python documentation drawn by a seeded generator), a tenth of
//!   them near-duplicates of an earlier one: a tenth of the words replaced, a sentence inserted, or the
//!   last fifth cut.
//!
//! Per stage: wall time, docs/s, MB/s, peak RSS, bytes written; then precision and recall of duplicate
//! pairs (pairs of documents in the same cluster) against the ground truth, recall binned by the pairs'
//! true Jaccard similarity beside the analytic 1 − (1 − s^8)^14, and whether both tools remove the same
//! documents.

use crate::bench::{datatrove_python, python_sources, trove_binary};
use crate::fixtures::{cache, deb_unpacked, sections, write_jsonl};
use crate::proc::{dir_size, measure, Measured};
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use trove_dedup::minhash::{MinhashConfig, Shingler};

/// A SplitMix64 generator: the corpus is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Text of a help page: tags dropped, a few entities decoded, whitespace collapsed.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"");
    out.replace("&amp;", "&").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// LibreOffice's help pages in `lang` as JSONL (`text`, `id` = page path; sorted by path) in
/// `fixtures/cache/libreoffice-help-{lang}-text/help.jsonl.gz`; returns the folder.
pub fn help_jsonl(lang: &str) -> Result<PathBuf> {
    use std::io::Write as _;
    let dir = crate::fixtures::cache().join(format!("libreoffice-help-{}-text", lang.to_lowercase()));
    let file = dir.join("help.jsonl.gz");
    if file.is_file() {
        return Ok(dir);
    }
    let mut pages: Vec<(String, String)> = help_pages(lang)?.into_iter().collect();
    pages.sort();
    std::fs::create_dir_all(&dir)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for (id, text) in pages {
        writeln!(gz, "{}", serde_json::json!({"text": text, "id": id}))?;
    }
    std::fs::write(&file, gz.finish()?)?;
    Ok(dir)
}

fn help_pages(lang: &str) -> Result<HashMap<String, String>> {
    let package = format!("libreoffice-help-{}", lang.to_lowercase());
    let root = deb_unpacked(&package)?.join(format!("usr/share/libreoffice/help/{lang}/text"));
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "html") {
                out.push(p);
            }
        }
    }
    walk(&root, &mut files);
    let mut pages = HashMap::new();
    for f in files {
        let text = html_text(&std::fs::read_to_string(&f).unwrap_or_default());
        if text.split_whitespace().count() >= 20 {
            pages.insert(f.strip_prefix(&root)?.to_string_lossy().into_owned(), text);
        }
    }
    Ok(pages)
}

/// One document of the corpus and its ground-truth group (documents of a group are near-duplicates).
struct Doc {
    id: String,
    text: String,
    group: Option<usize>,
}

/// Builds (or reuses) the corpus: `part-00000.jsonl.gz`, `part-00001.jsonl.gz` (document i in file
/// i % 2) and `truth.json` (each file's group per document index, -1 for none).
fn corpus(n: usize) -> Result<(PathBuf, Vec<Vec<i64>>, usize, f64)> {
    let dir = cache().join(format!("bench-dedup-{n}"));
    if !dir.join("truth.json").exists() {
        let us = help_pages("en-US")?;
        let gb = help_pages("en-GB")?;
        let mut paths: Vec<&String> = us.keys().filter(|p| gb.contains_key(*p)).collect();
        paths.sort();
        let mut docs: Vec<Doc> = Vec::new();
        let mut groups = 0;
        for p in &paths {
            docs.push(Doc { id: format!("en-US/{p}"), text: us[*p].clone(), group: Some(groups) });
            docs.push(Doc { id: format!("en-GB/{p}"), text: gb[*p].clone(), group: Some(groups) });
            groups += 1;
        }
        eprintln!("bench-dedup: {} LibreOffice help pages in both spellings", paths.len());
        let pool: Vec<String> = sections(&python_sources()?)?
            .iter()
            .flat_map(|s| {
                s.text
                    .split(". ")
                    .map(str::trim)
                    .filter(|x| x.split_whitespace().count() >= 4)
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut rng = Rng(20_261_128);
        let originals_start = docs.len();
        while docs.len() < n {
            let i = docs.len();
            if i > originals_start + 100 && rng.below(10) == 0 {
                let src = originals_start + rng.below(i - originals_start);
                if docs[src].id.contains("-dup") {
                    continue;
                }
                let group = *docs[src].group.get_or_insert_with(|| {
                    groups += 1;
                    groups - 1
                });
                let mut words: Vec<String> = docs[src].text.split(' ').map(String::from).collect();
                let kind = rng.below(3);
                match kind {
                    0 => {
                        for _ in 0..words.len().div_ceil(10) {
                            let at = rng.below(words.len());
                            let from = &pool[rng.below(pool.len())];
                            words[at] = from.split(' ').next().unwrap_or("word").to_string();
                        }
                    }
                    1 => {
                        let at = rng.below(words.len() + 1);
                        words.insert(at, pool[rng.below(pool.len())].clone() + ".");
                    }
                    _ => words.truncate(words.len() * 4 / 5),
                }
                let id = format!("{}-dup{kind}-{i}", docs[src].id);
                docs.push(Doc { id, text: words.join(" "), group: Some(group) });
            } else {
                let sentences = 4 + rng.below(17);
                let text: Vec<&str> = (0..sentences).map(|_| pool[rng.below(pool.len())].as_str()).collect();
                docs.push(Doc { id: format!("gen-{i}"), text: text.join(". ") + ".", group: None });
            }
        }
        let mut truth = vec![Vec::new(), Vec::new()];
        for (f, t) in truth.iter_mut().enumerate() {
            let part = docs.iter().skip(f).step_by(2);
            t.extend(part.clone().map(|d| d.group.map_or(-1, |g| g as i64)));
            write_jsonl(
                &dir.join(format!("part-{f:05}.jsonl.gz")),
                part.map(|d| json!({"text": d.text, "id": d.id})),
            )?;
        }
        let text_mb: f64 = docs.iter().map(|d| d.text.len()).sum::<usize>() as f64 / 1e6;
        std::fs::write(
            dir.join("truth.json"),
            serde_json::to_string(&json!({"truth": truth, "text_mb": text_mb}))?,
        )?;
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json"))?)?;
    let truth: Vec<Vec<i64>> = serde_json::from_value(v["truth"].clone())?;
    let docs = truth.iter().map(Vec::len).sum();
    Ok((dir, truth, docs, v["text_mb"].as_f64().unwrap_or(0.0)))
}

/// A document: (file, index in the file).
type Key = (u32, u32);
/// A true duplicate pair and its Jaccard similarity.
type TruePair = (Key, Key, f64);

/// (file, doc) → cluster id, from a cluster stage's `.clusters` files.
fn clusters(dir: &Path) -> Result<HashMap<Key, u32>> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".clusters") else { continue };
        let file: u32 = stem.parse()?;
        let bytes = std::fs::read(e.path())?;
        for c in bytes.chunks_exact(8) {
            let doc = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let id = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            out.insert((file, doc), id);
        }
    }
    Ok(out)
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Precision and recall of duplicate pairs; true pairs' (Jaccard, found).
fn score(
    truth: &[Vec<i64>],
    predicted: &HashMap<Key, u32>,
    jaccards: &[TruePair],
) -> (f64, f64, Vec<(f64, bool)>) {
    let mut true_sizes: HashMap<i64, u64> = HashMap::new();
    for t in truth.iter().flatten().filter(|&&g| g >= 0) {
        *true_sizes.entry(*t).or_default() += 1;
    }
    let true_pairs: u64 = true_sizes.values().map(|&n| pairs(n)).sum();
    let mut pred_sizes: HashMap<u32, u64> = HashMap::new();
    let mut both: HashMap<(u32, i64), u64> = HashMap::new();
    for (&(f, d), &c) in predicted {
        *pred_sizes.entry(c).or_default() += 1;
        let g = truth[f as usize].get(d as usize).copied().unwrap_or(-1);
        if g >= 0 {
            *both.entry((c, g)).or_default() += 1;
        }
    }
    let pred_pairs: u64 = pred_sizes.values().map(|&n| pairs(n)).sum();
    let hits: u64 = both.values().map(|&n| pairs(n)).sum();
    let found = jaccards
        .iter()
        .map(|(a, b, j)| (*j, matches!((predicted.get(a), predicted.get(b)), (Some(x), Some(y)) if x == y)))
        .collect();
    (hits as f64 / pred_pairs.max(1) as f64, hits as f64 / true_pairs.max(1) as f64, found)
}

/// The true Jaccard similarity (5-gram shingle sets, DataTrove's normalization) of every true pair.
fn true_jaccards(dir: &Path, truth: &[Vec<i64>]) -> Result<Vec<TruePair>> {
    let config = MinhashConfig::default();
    let mut shingler = Shingler::new(&config.norm_config, &config.hash_config, config.n_grams, "en");
    let mut members: HashMap<i64, Vec<(Key, Vec<u64>)>> = HashMap::new();
    for (f, t) in truth.iter().enumerate() {
        let path = dir.join(format!("part-{f:05}.jsonl.gz"));
        let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(std::fs::File::open(&path)?));
        for (i, line) in std::io::BufRead::lines(reader).enumerate() {
            let g = t.get(i).copied().unwrap_or(-1);
            if g < 0 {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            let mut s = shingler.shingles(v["text"].as_str().unwrap_or_default());
            s.sort_unstable();
            s.dedup();
            members.entry(g).or_default().push(((f as u32, i as u32), s));
        }
    }
    let mut out = Vec::new();
    for m in members.values() {
        for a in 0..m.len() {
            for b in a + 1..m.len() {
                let (x, y) = (&m[a].1, &m[b].1);
                let (mut i, mut j, mut common) = (0, 0, 0);
                while i < x.len() && j < y.len() {
                    match x[i].cmp(&y[j]) {
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => j += 1,
                        std::cmp::Ordering::Equal => {
                            common += 1;
                            i += 1;
                            j += 1;
                        }
                    }
                }
                let union = x.len() + y.len() - common;
                out.push((m[a].0, m[b].0, if union == 0 { 1.0 } else { common as f64 / union as f64 }));
            }
        }
    }
    Ok(out)
}

struct Stage {
    name: &'static str,
    py: String,
    toml: String,
    out: &'static str,
}

/// `cargo xtask bench-dedup [--docs N] [--tasks N]`.
pub fn bench_dedup(args: &[String]) -> Result<()> {
    let arg = |name: &str, default: usize| crate::proc::arg(args, name, default);
    let (n, tasks) = (arg("--docs", 1_000_000), arg("--tasks", 2));
    let (corpus, truth, docs, text_mb) = corpus(n)?;
    let python = datatrove_python()?;
    let trove = trove_binary()?;
    let work = cache().join("bench-dedup-work");
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "bench-dedup: {docs} documents ({text_mb:.1} MB of text: LibreOffice help en-US/en-GB pairs and generated documents \
         with seeded near-duplicates) in 2 files; MinHash 5-grams, 14 buckets × 8 hashes; signature and filter stages on \
         {tasks} tasks, buckets on 14 tasks, {tasks} workers; {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let stages = |tool: &str| -> Vec<Stage> {
        let w = work.join(tool);
        let (c, w) = (corpus.display().to_string(), w.display().to_string());
        let header = "from datatrove.executor import LocalPipelineExecutor\nfrom datatrove.pipeline.readers import JsonlReader\n\
                      from datatrove.pipeline.writers import JsonlWriter\nfrom datatrove.pipeline.dedup.minhash import *\n\
                      if __name__ == '__main__':\n    c = MinhashConfig()\n";
        let exec = |name: &str, t: usize, body: String| {
            (
                format!("{header}    LocalPipelineExecutor([{body}], tasks={t}, workers={tasks}, logging_dir='{w}/logs-{name}').run()\n"),
                format!("[executor]\ntasks = {t}\nworkers = {tasks}\nlogging_dir = \"{w}/logs-{name}\"\n\n"),
            )
        };
        let mut out = Vec::new();
        let (py, head) =
            exec("sig", tasks, format!("JsonlReader('{c}'), MinhashDedupSignature('{w}/sigs', config=c)"));
        out.push(Stage { name: "1 signatures", py, toml: format!("{head}[[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{c}\"\n\n[[pipeline]]\ntype = \"minhash_dedup_signature\"\noutput_folder = \"{w}/sigs\"\n"), out: "sigs" });
        let (py, head) =
            exec("buckets", 14, format!("MinhashDedupBuckets('{w}/sigs', '{w}/buckets', config=c)"));
        out.push(Stage { name: "2 buckets", py, toml: format!("{head}[[pipeline]]\ntype = \"minhash_dedup_buckets\"\ninput_folder = \"{w}/sigs\"\noutput_folder = \"{w}/buckets\"\n"), out: "buckets" });
        let (py, head) = exec(
            "cluster",
            1,
            format!("MinhashDedupCluster('{w}/buckets', '{w}/clusters', config=c, save_cluster_id=True)"),
        );
        out.push(Stage { name: "3 cluster", py, toml: format!("{head}[[pipeline]]\ntype = \"minhash_dedup_cluster\"\ninput_folder = \"{w}/buckets\"\noutput_folder = \"{w}/clusters\"\nsave_cluster_id = true\n"), out: "clusters" });
        let (py, head) = exec(
            "filter",
            tasks,
            format!("JsonlReader('{c}'), MinhashDedupFilter('{w}/clusters'), JsonlWriter('{w}/output')"),
        );
        out.push(Stage { name: "4 filter", py, toml: format!("{head}[[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{c}\"\n\n[[pipeline]]\ntype = \"minhash_dedup_filter\"\ninput_folder = \"{w}/clusters\"\n\n[[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"{w}/output\"\n"), out: "output" });
        out
    };
    println!(
        "{:<14} {:>9} {:>9} {:>10} {:>8} {:>9} {:>10}",
        "stage", "tool", "wall s", "docs/s", "MB/s", "peak RSS", "written"
    );
    let mut totals = HashMap::new();
    for tool in ["datatrove", "trove"] {
        let dir = work.join(tool);
        std::fs::create_dir_all(&dir)?;
        let mut total = (0.0, 0u64);
        for (i, st) in stages(tool).into_iter().enumerate() {
            let m: Measured = if tool == "trove" {
                let f = dir.join(format!("stage{i}.toml"));
                std::fs::write(&f, &st.toml)?;
                measure(
                    Command::new(&trove)
                        .args(["run", "--no-progress"])
                        .arg(&f)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null()),
                )?
            } else {
                let f = dir.join(format!("stage{i}.py"));
                std::fs::write(&f, &st.py)?;
                measure(Command::new(&python).arg(&f).stdout(Stdio::null()).stderr(Stdio::null()))
                    .with_context(|| format!("DataTrove stage {}", st.name))?
            };
            let s = m.wall.as_secs_f64();
            total = (total.0 + s, total.1.max(m.peak_rss));
            println!(
                "{:<14} {tool:>9} {s:>9.2} {:>10.0} {:>8.1} {:>7.0}MB {:>8.1}MB",
                st.name,
                docs as f64 / s,
                text_mb / s,
                m.peak_rss as f64 / 1e6,
                dir_size(&dir.join(st.out)) as f64 / 1e6
            );
        }
        totals.insert(tool, total);
    }
    let (dt, tr) = (totals["datatrove"], totals["trove"]);
    println!(
        "end to end: DataTrove {:.1}s ({:.0} docs/s, peak {:.0} MB), trove {:.1}s ({:.0} docs/s, peak {:.0} MB): {:.1}x \
         (target ≥ 20x, peak RSS ≤ DataTrove's)",
        dt.0,
        docs as f64 / dt.0,
        dt.1 as f64 / 1e6,
        tr.0,
        docs as f64 / tr.0,
        tr.1 as f64 / 1e6,
        dt.0 / tr.0
    );
    let removed = |tool: &str| -> Result<HashMap<String, Vec<u8>>> {
        let mut out = HashMap::new();
        for e in std::fs::read_dir(work.join(tool).join("clusters"))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".remove") {
                out.insert(name, std::fs::read(e.path())?);
            }
        }
        Ok(out)
    };
    let (dt_removed, tr_removed) = (removed("datatrove")?, removed("trove")?);
    let count = |m: &HashMap<String, Vec<u8>>| m.values().map(|v| v.len() / 4).sum::<usize>();
    println!(
        "removed: DataTrove {}, trove {}; removed sets identical: {}",
        count(&dt_removed),
        count(&tr_removed),
        if dt_removed == tr_removed { "yes" } else { "NO" }
    );
    let jaccards = true_jaccards(&corpus, &truth)?;
    for tool in ["datatrove", "trove"] {
        let predicted = clusters(&work.join(tool).join("clusters"))?;
        let (precision, recall, found) = score(&truth, &predicted, &jaccards);
        println!(
            "{tool}: duplicate pairs precision {precision:.4}, recall {recall:.4} ({} true pairs)",
            jaccards.len()
        );
        if tool == "trove" {
            println!("  recall by true Jaccard (pairs; found; analytic 1-(1-s^8)^14 at the bin's centre):");
            for bin in 0..10 {
                let (lo, hi) = (bin as f64 / 10.0, (bin + 1) as f64 / 10.0);
                let in_bin: Vec<bool> = found
                    .iter()
                    .filter(|(j, _)| *j >= lo && (*j < hi || (bin == 9 && *j <= 1.0)))
                    .map(|f| f.1)
                    .collect();
                if in_bin.is_empty() {
                    continue;
                }
                let s = (lo + hi) / 2.0;
                println!(
                    "    [{lo:.1}, {hi:.1}): {:>6} pairs, recall {:.3}, analytic {:.3}",
                    in_bin.len(),
                    in_bin.iter().filter(|f| **f).count() as f64 / in_bin.len() as f64,
                    1.0 - (1.0 - s.powi(8)).powi(14)
                );
            }
        }
    }
    Ok(())
}
