//! `cargo xtask bench-web`: the web-text pipeline (WARC → extraction → language → Gopher filters →
//! JSONL) on the debian-handbook crawl, trove against DataTrove 0.10.1 in the same run, plus the
//! extraction agreement (word-level F1 against DataTrove's Trafilatura) and the quality filters alone.

use crate::bench::{datatrove_python, trove_binary};
use crate::fixtures::{cache, find, for_tests, handbook_warc};
use crate::proc::{best_of, Measured};
use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use trove_core::text::word_f1;

/// Splits a WARC (gzip member per record) into `n` files, responses dealt round-robin (each with the
/// records before it, its request), so that `n` tasks get the same number of pages. Responses get the `WARC-Identified-Payload-Type` header Common Crawl writes (from their
/// HTTP `Content-Type`): without it DataTrove asks libmagic, which calls the handbook's XHTML pages
/// `text/xml` and drops them all.
fn split_warc(src: &Path, n: usize) -> Result<PathBuf> {
    let dir = src.with_file_name(format!("split-{n}-balanced"));
    if dir.join("DONE").is_file() {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(src)?).read_to_end(&mut data)?;
    let mut outs: Vec<std::io::BufWriter<std::fs::File>> = (0..n)
        .map(|i| std::fs::File::create(dir.join(format!("part-{i:02}.warc.gz"))).map(std::io::BufWriter::new))
        .collect::<std::io::Result<_>>()?;
    let records = crate::fixtures::warc_records(&data)?;
    let mut responses = 0;
    for &(start, head_end, end) in &records {
        let head = String::from_utf8_lossy(&data[start..head_end]);
        let mut record = data[start..head_end - 2].to_vec();
        let block = &data[head_end..end];
        let http_head =
            String::from_utf8_lossy(&block[..find(block, b"\r\n\r\n").unwrap_or(0)]).to_lowercase();
        if head.contains("WARC-Type: response") && http_head.contains("content-type: text/html") {
            record.extend_from_slice(b"WARC-Identified-Payload-Type: text/html\r\n");
        }
        let part = responses % n;
        if head.contains("WARC-Type: response") {
            responses += 1;
        }
        record.extend_from_slice(&data[head_end - 2..end]);
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(&record)?;
        outs[part].write_all(&gz.finish()?)?;
    }
    for mut o in outs {
        o.flush()?;
    }
    std::fs::write(dir.join("DONE"), format!("{} records\n", records.len()))?;
    Ok(dir)
}

/// The documents of every `.jsonl.gz` under `dir`: id → text.
fn read_outputs(dir: &Path) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("{}", d.display()))?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".jsonl.gz") {
                let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(std::fs::File::open(&p)?));
                for line in reader.lines() {
                    let v: Value = serde_json::from_str(&line?)?;
                    let id = match &v["id"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.insert(id, v["text"].as_str().unwrap_or_default().to_string());
                }
            }
        }
    }
    Ok(out)
}

/// The two tools of a comparison, each run `runs` times on its own copy of a pipeline.
pub struct Tool {
    pub python: PathBuf,
    pub trove: PathBuf,
    pub work: PathBuf,
    pub runs: usize,
}

impl Tool {
    /// Runs a DataTrove script and a trove file `runs` times each; the best wall time of each.
    pub fn both(
        &self,
        name: &str,
        py: &str,
        toml: &str,
        dt_dir: &Path,
        tr_dir: &Path,
    ) -> Result<(Measured, Measured)> {
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("p.py"), py)?;
        std::fs::write(dir.join("p.toml"), toml)?;
        let dt = best_of(self.runs, &[dt_dir], &|| {
            let mut c = Command::new(&self.python);
            c.arg(dir.join("p.py")).env("HF_HOME", cache().join("hf")).current_dir(crate::root());
            c
        })?;
        let tr = best_of(self.runs, &[tr_dir], &|| {
            let mut c = Command::new(&self.trove);
            c.args(["run", "--no-progress"]).arg(dir.join("p.toml")).current_dir(crate::root());
            c
        })?;
        Ok((dt, tr))
    }
}

/// The imports of the DataTrove benchmark scripts, and `install_lid_model`.
pub const PY_HEADER: &str = r#"
import os, shutil
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import WarcReader, JsonlReader
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (LanguageFilter, GopherRepetitionFilter, GopherQualityFilter,
    C4QualityFilter, FineWebQualityFilter)
from datatrove.pipeline.writers import JsonlWriter

def install_lid_model(path):
    # DataTrove downloads lid.176 from a hub; offline, put the local model where it looks for it.
    from huggingface_hub import cached_assets_path
    from datatrove.io import strip_protocol
    from datatrove.utils.lid import FT176LID
    d = cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER)
    local = os.path.join(d, strip_protocol(FT176LID.MODEL_URL).replace("/", "_"))
    shutil.copy(path, local)
    open(local + ".completed", "w").close()
"#;

/// `cargo xtask bench-web [--tasks N] [--runs N]`.
pub fn bench_web(args: &[String]) -> Result<()> {
    let arg = |name: &str, default: usize| crate::proc::arg(args, name, default);
    let (tasks, runs) = (arg("--tasks", 2), arg("--runs", 1).max(1));
    let workers = tasks;
    let model = for_tests()?;
    let warc_dir = split_warc(&handbook_warc()?, tasks)?;
    let warc_bytes: u64 = std::fs::read_dir(&warc_dir)?
        .flatten()
        .filter(|e| e.path().to_string_lossy().ends_with(".warc.gz"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let work = cache().join("bench-web-work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let tool = Tool { python: datatrove_python()?, trove: trove_binary()?, work: work.clone(), runs };
    let (w, m) = (warc_dir.display(), model.display());
    println!(
        "bench-web: debian-handbook crawl, {:.1} MB of WARC.gz in {tasks} files; {tasks} tasks on {workers} workers; {} cores; best of {runs}",
        warc_bytes as f64 / 1e6,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );

    // 1. Extraction only: agreement and speed.
    let (dt_ex, tr_ex) = (work.join("dt-extract"), work.join("tr-extract"));
    let py = format!(
        "{PY_HEADER}\nif __name__ == '__main__':\n    LocalPipelineExecutor(pipeline=[WarcReader('{w}', glob_pattern='*.warc.gz'), \
         Trafilatura(favour_precision=True, timeout=10), JsonlWriter('{o}')], tasks={tasks}, workers={workers}, \
         logging_dir='{l}').run()\n",
        o = dt_ex.join("out").display(),
        l = dt_ex.join("logs").display()
    );
    let toml = format!(
        "[executor]\ntype = \"local\"\ntasks = {tasks}\nworkers = {workers}\nlogging_dir = \"{l}\"\n\n\
         [[pipeline]]\ntype = \"warc_reader\"\ndata_folder = \"{w}\"\nglob_pattern = \"*.warc.gz\"\n\n\
         [[pipeline]]\ntype = \"trafilatura\"\ntimeout = 10.0\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"{o}\"\n",
        o = tr_ex.join("out").display(),
        l = tr_ex.join("logs").display()
    );
    let (dt, tr) = tool.both("extract", &py, &toml, &dt_ex, &tr_ex)?;
    let (dt_docs, tr_docs) = (read_outputs(&dt_ex.join("out"))?, read_outputs(&tr_ex.join("out"))?);
    let read = reader_total(&tr_ex.join("logs"))?;
    let mut ids: Vec<&String> = dt_docs.keys().chain(tr_docs.keys()).collect();
    ids.sort();
    ids.dedup();
    let f1: Vec<f64> = ids
        .iter()
        .map(|id| {
            word_f1(dt_docs.get(*id).map_or("", String::as_str), tr_docs.get(*id).map_or("", String::as_str))
        })
        .collect();
    let mean_f1 = f1.iter().sum::<f64>() / f1.len().max(1) as f64;
    let both: Vec<f64> = ids
        .iter()
        .filter(|id| dt_docs.contains_key(**id) && tr_docs.contains_key(**id))
        .map(|id| word_f1(&dt_docs[*id], &tr_docs[*id]))
        .collect();
    let mut sorted = f1.clone();
    sorted.sort_by(f64::total_cmp);
    println!("{:<28} {:>8} {:>10} {:>10} {:>10}", "step", "tool", "wall s", "docs/s", "peak RSS");
    let row = |step: &str, tool: &str, m: &Measured, docs: f64| {
        let s = m.wall.as_secs_f64();
        println!("{step:<28} {tool:>8} {s:>10.2} {:>10.0} {:>8.0}MB", docs / s, m.peak_rss as f64 / 1e6);
    };
    row("extract (trafilatura)", "datatrove", &dt, read);
    row("extract (trafilatura)", "trove", &tr, read);
    println!(
        "  extraction: {read} records read; DataTrove extracted {} documents, trove {}; word-level F1 against \
         DataTrove's Trafilatura: mean {mean_f1:.3} over {} documents (either side non-empty), median {:.3}, \
         mean {:.3} over the {} both extracted; speed ratio {:.1}x",
        dt_docs.len(),
        tr_docs.len(),
        f1.len(),
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
        both.iter().sum::<f64>() / both.len().max(1) as f64,
        both.len(),
        dt.wall.as_secs_f64() / tr.wall.as_secs_f64()
    );

    // 2. The whole pipeline of seed example 2.
    let (dt_full, tr_full) = (work.join("dt-full"), work.join("tr-full"));
    let py = format!(
        "{PY_HEADER}\nif __name__ == '__main__':\n    install_lid_model('{m}')\n    LocalPipelineExecutor(pipeline=[\
         WarcReader('{w}', glob_pattern='*.warc.gz'), Trafilatura(favour_precision=True, timeout=10), \
         LanguageFilter(languages=['en']), GopherRepetitionFilter(), \
         GopherQualityFilter(min_doc_words=50, max_doc_words=100000), JsonlWriter('{o}')], tasks={tasks}, \
         workers={workers}, logging_dir='{l}').run()\n",
        o = dt_full.join("out").display(),
        l = dt_full.join("logs").display()
    );
    let toml = format!(
        "[executor]\ntype = \"local\"\ntasks = {tasks}\nworkers = {workers}\nlogging_dir = \"{l}\"\n\n\
         [[pipeline]]\ntype = \"warc_reader\"\ndata_folder = \"{w}\"\nglob_pattern = \"*.warc.gz\"\n\n\
         [[pipeline]]\ntype = \"trafilatura\"\ntimeout = 10.0\n\n\
         [[pipeline]]\ntype = \"language_filter\"\nlanguages = [\"en\"]\nmodel_path = \"{m}\"\n\n\
         [[pipeline]]\ntype = \"gopher_repetition_filter\"\n\n\
         [[pipeline]]\ntype = \"gopher_quality_filter\"\nmin_doc_words = 50\nmax_doc_words = 100000\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"{o}\"\n",
        o = tr_full.join("out").display(),
        l = tr_full.join("logs").display()
    );
    let (dt, tr) = tool.both("full", &py, &toml, &dt_full, &tr_full)?;
    row("warc→extract→lang→gopher×2", "datatrove", &dt, read);
    row("warc→extract→lang→gopher×2", "trove", &tr, read);
    let (dt_kept, tr_kept) = (read_outputs(&dt_full.join("out"))?, read_outputs(&tr_full.join("out"))?);
    let common = dt_kept.keys().filter(|k| tr_kept.contains_key(*k)).count();
    println!(
        "  full pipeline: {:.1} MB/s of WARC.gz for trove, {:.1} for DataTrove; kept {} (DataTrove) / {} (trove), \
         {common} by both; speed ratio {:.1}x (target ≥ 10x)",
        warc_bytes as f64 / 1e6 / tr.wall.as_secs_f64(),
        warc_bytes as f64 / 1e6 / dt.wall.as_secs_f64(),
        dt_kept.len(),
        tr_kept.len(),
        dt.wall.as_secs_f64() / tr.wall.as_secs_f64()
    );

    // 3. The quality filters alone, on DataTrove's extracted text.
    let text_dir = dt_ex.join("out");
    let (dt_q, tr_q) = (work.join("dt-quality"), work.join("tr-quality"));
    let py = format!(
        "{PY_HEADER}\nif __name__ == '__main__':\n    LocalPipelineExecutor(pipeline=[JsonlReader('{t}'), \
         GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter(), \
         JsonlWriter('{o}')], tasks={tasks}, workers={workers}, logging_dir='{l}').run()\n",
        t = text_dir.display(),
        o = dt_q.join("out").display(),
        l = dt_q.join("logs").display()
    );
    let toml = format!(
        "[executor]\ntype = \"local\"\ntasks = {tasks}\nworkers = {workers}\nlogging_dir = \"{l}\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{t}\"\n\n\
         [[pipeline]]\ntype = \"gopher_repetition_filter\"\n\n[[pipeline]]\ntype = \"gopher_quality_filter\"\n\n\
         [[pipeline]]\ntype = \"c4_quality_filter\"\n\n[[pipeline]]\ntype = \"fineweb_quality_filter\"\n\n\
         [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"{o}\"\n",
        t = text_dir.display(),
        o = tr_q.join("out").display(),
        l = tr_q.join("logs").display()
    );
    let (dt, tr) = tool.both("quality", &py, &toml, &dt_q, &tr_q)?;
    let n = dt_docs.len() as f64;
    row("quality filters (4) on text", "datatrove", &dt, n);
    row("quality filters (4) on text", "trove", &tr, n);
    let (dt_kept, tr_kept) = (read_outputs(&dt_q.join("out"))?, read_outputs(&tr_q.join("out"))?);
    let same = dt_kept.iter().filter(|(k, v)| tr_kept.get(*k) == Some(*v)).count();
    println!(
        "  quality filters: kept {} (DataTrove) / {} (trove), {same} identical documents; speed ratio {:.1}x (target ≥ 50x)",
        dt_kept.len(),
        tr_kept.len(),
        dt.wall.as_secs_f64() / tr.wall.as_secs_f64()
    );
    Ok(())
}

/// Documents the reader emitted, from a trove logging folder's merged stats.
fn reader_total(logs: &Path) -> Result<f64> {
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(logs.join("stats.json"))?)?;
    let first = stats.as_array().and_then(|a| a.first()).context("empty stats.json")?;
    let docs = &first["stats"]["documents"];
    Ok(docs["total"].as_f64().or_else(|| docs.as_f64()).unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::split_warc;
    use std::io::{Read, Write};

    #[test]
    fn split_warc_deals_responses_and_types_html() {
        let dir = std::env::temp_dir().join(format!("trove-xtask-split-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut warc = Vec::new();
        for (i, kind) in ["request", "response", "response"].iter().enumerate() {
            let block = format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>{i}</p>");
            warc.extend(
                format!(
                    "WARC/1.0\r\nWARC-Type: {kind}\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
                    block.len()
                )
                .as_bytes(),
            );
        }
        let src = dir.join("all.warc.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&warc).unwrap();
        std::fs::write(&src, gz.finish().unwrap()).unwrap();
        let out = split_warc(&src, 2).unwrap();
        let read = |name: &str| {
            let mut s = String::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(out.join(name)).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            s
        };
        let (a, b) = (read("part-00.warc.gz"), read("part-01.warc.gz"));
        // One response each; the request goes with the response after it.
        assert_eq!((a.matches("WARC/1.0").count(), b.matches("WARC/1.0").count()), (2, 1));
        assert_eq!(
            (a.matches("WARC-Type: response").count(), b.matches("WARC-Type: response").count()),
            (1, 1)
        );
        assert!(a.find("WARC-Type: request") < a.find("WARC-Type: response"), "{a}");
        assert_eq!(a.matches("WARC-Identified-Payload-Type: text/html").count(), 1, "{a}");
        assert!(
            b.contains("Content-Length: 52\r\nWARC-Identified-Payload-Type: text/html\r\n\r\nHTTP"),
            "{b}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
