//! The `trove` command.
#![allow(clippy::print_stdout)] // a command-line program reports on stdout

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod slurm;
use trove::core::{
    config::{parse_table, FileFormat},
    Error, LocalExecutor, LocalExecutorConfig, PipelineFile, PipelineStats, RunReport,
};

#[derive(Parser)]
#[command(
    name = "trove",
    version,
    about = "Build LLM pretraining datasets: DataTrove's pipelines, in Rust.",
    long_about = "Build LLM pretraining datasets: DataTrove's pipelines, in Rust.\n\n\
A pipeline file (TOML, YAML or JSON) holds an [executor] table and a [[pipeline]] list of steps; each \
step's `type` is its DataTrove class name in snake_case and takes DataTrove's parameters. \
`trove steps` lists the step types this build knows."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline file: every incomplete task, or one rank with --rank.
    ///
    /// Tasks already marked complete in the logging folder are skipped, so a failed or interrupted
    /// run is resumed by running the same command again.
    Run {
        /// The pipeline file (.toml, .yaml, .yml or .json).
        file: PathBuf,
        /// Override the executor's `tasks` (number of shards).
        #[arg(long)]
        tasks: Option<usize>,
        /// Override the executor's `workers` (tasks run at once).
        #[arg(long)]
        workers: Option<i64>,
        /// Run only this rank (what a Slurm array task does), then exit.
        #[arg(long)]
        rank: Option<usize>,
        /// Override the executor's `logging_dir`.
        #[arg(long)]
        logging_dir: Option<String>,
        /// Run completed tasks again instead of skipping them.
        #[arg(long)]
        no_skip_completed: bool,
        /// Documents per batch handed from readers to the steps.
        #[arg(long, default_value_t = trove::core::runner::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// Never draw the progress line (it is drawn only when stderr is a terminal).
        #[arg(long)]
        no_progress: bool,
        /// With a `type = "slurm"` executor: wait until the submitted jobs end; exit 1 if a rank
        /// did not complete.
        #[arg(long)]
        wait: bool,
        /// Run as a Slurm array task: the ranks of `SLURM_ARRAY_TASK_ID` (set by the launch script).
        #[arg(long, hide = true)]
        slurm_task: bool,
    },
    /// Check pipeline files and report every problem found (exit code 0 when all are valid).
    Validate {
        /// Pipeline files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Work with stats files.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Follow and repair runs: which ranks completed, are queued or failed; relaunch the rest.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// List the step types this build knows.
    Steps,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Completed, queued and failed ranks of a logging folder (exit code 1 when some rank failed).
    Status {
        /// The run's logging folder.
        logging_dir: String,
        /// Also print the end of each failed rank's log.
        #[arg(long)]
        logs: bool,
    },
    /// Run the ranks of a pipeline file that have not completed (on Slurm: submit them), nothing else.
    Relaunch {
        /// The pipeline file.
        file: PathBuf,
        /// With a Slurm executor: wait for the jobs to end.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Subcommand)]
enum StatsCommand {
    /// Merge per-task stats (`stats/*.json` of a logging folder, or a folder of stats files) into one
    /// file, as DataTrove's `merge_stats` does.
    Merge {
        /// A logging folder (holding `stats/`) or a folder of stats JSON files.
        folder: PathBuf,
        /// Where to write the merged stats. Default: `<logging folder>/stats.json`.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write one self-contained HTML page picturing a summary-stats folder (the `output_folder` of
    /// `doc_stats`, `word_stats`, ...): a histogram per metric, the summary values, the top domains.
    ///
    /// Merged `metric.json` files (from `stats_merger`) are used when present; otherwise the per-task
    /// files are merged on the fly. The page needs no network: open it in any browser.
    Report {
        /// The stats folder (holding `summary/`, `histogram/`, `fqdn/`, `suffix/`).
        folder: String,
        /// The HTML file to write.
        #[arg(short, long, default_value = "report.html")]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    trove::core::logging::init("info");
    // Registers every step type and storage scheme (`s3://`) before any folder is opened.
    let _ = trove::registry();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<Error>() {
                Some(Error::Config(problems)) if problems.len() > 1 => {
                    eprintln!("trove: error: {} problems:", problems.len());
                    for p in problems {
                        eprintln!("  - {p}");
                    }
                }
                _ => eprintln!("trove: error: {e:#}"),
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run {
            file,
            tasks,
            workers,
            rank,
            logging_dir,
            no_skip_completed,
            batch_size,
            no_progress,
            wait,
            slurm_task,
        } => {
            let overrides = |c: &mut LocalExecutorConfig| {
                if let Some(t) = tasks {
                    c.tasks = t;
                }
                if let Some(w) = workers {
                    c.workers = w;
                }
                if let Some(dir) = &logging_dir {
                    c.logging_dir = Some(dir.clone());
                }
                if no_skip_completed {
                    c.skip_completed = false;
                }
            };
            let kind = executor_kind(&file)?;
            if kind == "slurm" {
                return slurm::run(&file, slurm_task, wait, batch_size);
            }
            if kind != "local" {
                bail!("{}: executor type `{kind}` is not known (use \"local\" or \"slurm\")", file.display());
            }
            let mut executor = LocalExecutor::from_file(&file, trove::registry(), &overrides)?;
            executor.batch_size = batch_size.max(1);
            if no_progress {
                executor.progress = Some(false);
            }
            if let Some(rank) = rank {
                let ran = executor.run_rank(rank)?;
                println!(
                    "rank {rank}: {} · logs in {}",
                    if ran { "completed" } else { "already complete, skipped" },
                    executor.logging_dir()
                );
                return Ok(ExitCode::SUCCESS);
            }
            match executor.run() {
                Ok(report) => {
                    print_report(&report, &executor);
                    Ok(ExitCode::SUCCESS)
                }
                Err(Error::Tasks { failed, total }) => {
                    eprintln!(
                        "trove: {} of {total} tasks failed (re-run the same command to retry them):",
                        failed.len()
                    );
                    for (rank, err) in &failed {
                        eprintln!("  rank {rank}: {err}");
                        eprintln!("    log: {}/logs/task_{rank:05}.log", executor.logging_dir());
                    }
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Validate { files } => {
            let mut bad = 0;
            for file in &files {
                let problems = validate(file);
                if problems.is_empty() {
                    println!("{}: ok", file.display());
                } else {
                    bad += 1;
                    println!(
                        "{}: {} problem{}",
                        file.display(),
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    );
                    for p in problems {
                        println!("  - {p}");
                    }
                }
            }
            Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Jobs { command: JobsCommand::Status { logging_dir, logs } } => {
            jobs_status(&logging_dir, logs)
        }
        Command::Jobs { command: JobsCommand::Relaunch { file, wait } } => {
            if executor_kind(&file)? == "slurm" {
                return slurm::run(&file, false, wait, trove::core::runner::DEFAULT_BATCH_SIZE);
            }
            let executor = LocalExecutor::from_file(&file, trove::registry(), &|_| {})?;
            let missing = executor.incomplete_ranks()?;
            println!("{}: relaunching {} incomplete rank(s): {missing:?}", file.display(), missing.len());
            match executor.run() {
                Ok(report) => {
                    print_report(&report, &executor);
                    Ok(ExitCode::SUCCESS)
                }
                Err(Error::Tasks { failed, total }) => {
                    eprintln!("trove: {} of {total} tasks failed again", failed.len());
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Stats { command: StatsCommand::Report { folder, output } } => {
            let storage = trove::core::open_storage(&folder)?;
            let stats = trove::report::load(&*storage)?;
            let html = trove::report::render(&stats, &folder);
            write_atomic(&output, html.as_bytes())?;
            let metrics: usize = stats.groups.values().map(|g| g.len()).sum();
            println!(
                "trove: wrote {} ({metrics} metric files of {} groups)",
                output.display(),
                stats.groups.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { command: StatsCommand::Merge { folder, output } }
            if folder.to_string_lossy().contains("://") =>
        {
            // A remote logging folder: its `stats/*.json` into its `stats.json`.
            let url = folder.to_string_lossy().into_owned();
            let storage = trove::core::open_storage(&url)?;
            let files: Vec<String> =
                storage.list("stats", false)?.into_iter().filter(|f| f.ends_with(".json")).collect();
            if files.is_empty() {
                bail!("{url}: no stats/*.json");
            }
            let mut merged = PipelineStats::default();
            for f in &files {
                let text = trove::core::storage::read_to_string(&*storage, f)?;
                let stats = PipelineStats::from_json(&text).with_context(|| storage.resolve(f))?;
                merged = merged.merge(&stats).with_context(|| storage.resolve(f))?;
            }
            let out = output.map(|o| o.to_string_lossy().into_owned()).unwrap_or_else(|| "stats.json".into());
            trove::core::storage::write_all(&*storage, &out, merged.to_json().as_bytes())?;
            println!("merged {} steps into {}", merged.steps.len(), storage.resolve(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { command: StatsCommand::Merge { folder, output } } => {
            let stats_dir = if folder.join("stats").is_dir() { folder.join("stats") } else { folder.clone() };
            let merged = merge_dir(&stats_dir)?;
            let out = output.unwrap_or_else(|| {
                if stats_dir != folder {
                    folder.join("stats.json")
                } else {
                    folder.join("merged_stats.json")
                }
            });
            write_atomic(&out, merged.to_json().as_bytes())?;
            println!("merged {} steps into {}", merged.steps.len(), out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Steps => {
            for t in trove::registry().types() {
                println!("{t}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn executor_kind(file: &Path) -> anyhow::Result<String> {
    let parsed = PipelineFile::load(file)?;
    Ok(parsed.executor.get("type").and_then(|t| t.as_str()).unwrap_or("local").to_string())
}

fn validate(file: &Path) -> Vec<String> {
    let parsed = match PipelineFile::load(file) {
        Ok(p) => p,
        Err(Error::Config(problems)) => return problems,
        Err(e) => return vec![e.to_string()],
    };
    let mut problems = Vec::new();
    let kind = parsed.executor.get("type").and_then(|t| t.as_str()).unwrap_or("local");
    if kind == "slurm" {
        match parse_table::<trove::slurm::SlurmExecutorConfig>(&parsed.executor, "executor") {
            Ok(cfg) => {
                problems.extend(cfg.check().into_iter().map(|p| format!("executor: {p}")));
                if let Some(dep) = &cfg.depends {
                    if !Path::new(dep).is_file() {
                        problems.push(format!("executor: depends: `{dep}` is not a file"));
                    }
                }
            }
            Err(Error::Config(p)) => problems.extend(p),
            Err(e) => problems.push(e.to_string()),
        }
    } else if kind != "local" {
        problems.push(format!("executor: type `{kind}` is not known (use \"local\" or \"slurm\")"));
    } else {
        match parse_table::<LocalExecutorConfig>(&parsed.executor, "executor") {
            Ok(cfg) => {
                if cfg.tasks == 0 {
                    problems.push("executor: `tasks` must be at least 1".into());
                }
                if let Some(dep) = &cfg.depends {
                    if !Path::new(dep).is_file() {
                        problems.push(format!("executor: depends: `{dep}` is not a file"));
                    }
                }
            }
            Err(Error::Config(p)) => problems.extend(p),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if let Err(e) = FileFormat::from_path(file) {
        problems.push(e.to_string());
    }
    match parsed.resolve(trove::registry()) {
        Ok(_) => {}
        Err(Error::Config(p)) => problems.extend(p),
        Err(e) => problems.push(e.to_string()),
    }
    problems
}

/// `trove jobs status`: ranks from the completion markers, the task logs and (for Slurm runs) the
/// queue.
fn jobs_status(logging_dir: &str, show_logs: bool) -> anyhow::Result<ExitCode> {
    let dir = Path::new(logging_dir);
    let executor: serde_json::Value = std::fs::read_to_string(dir.join("executor.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .with_context(|| format!("{logging_dir}: no executor.json (has no task of this run started yet?)"))?;
    let world =
        executor["executor"]["world_size"].as_u64().context("executor.json has no world_size")? as usize;
    let done: std::collections::BTreeSet<usize> = std::fs::read_dir(dir.join("completions"))
        .map(|entries| {
            entries.flatten().filter_map(|e| e.file_name().to_string_lossy().parse().ok()).collect()
        })
        .unwrap_or_default();
    // Slurm launches still in the queue.
    let jobs: Vec<serde_json::Value> = std::fs::read_to_string(dir.join(trove::slurm::JOBS_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let ids: Vec<String> = jobs
        .iter()
        .flat_map(|j| j["array_jobs"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let queued = !ids.is_empty()
        && std::process::Command::new("squeue")
            .args(["-h", "-o", "%i", "-j", &ids.join(",")])
            .output()
            .map(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
            .unwrap_or(false);
    // While a launch is in the queue its incomplete ranks may still run; after, they failed or never ran.
    let incomplete: Vec<usize> = (0..world).filter(|r| !done.contains(r)).collect();
    let (waiting, failed) = if queued { (incomplete, Vec::new()) } else { (Vec::new(), incomplete) };
    println!(
        "{logging_dir}: {world} tasks: {} completed, {} queued or running, {} failed or never ran",
        done.len(),
        waiting.len(),
        failed.len()
    );
    if !waiting.is_empty() {
        println!("  queued or running: {waiting:?}");
    }
    if !failed.is_empty() {
        println!(
            "  failed or never ran: {failed:?} (relaunch them with `trove jobs relaunch <pipeline file>`)"
        );
    }
    if show_logs {
        for rank in &failed {
            let log = dir.join(format!("logs/task_{rank:05}.log"));
            match std::fs::read_to_string(&log) {
                Ok(text) => {
                    println!("--- {} (last 20 lines)", log.display());
                    let lines: Vec<&str> = text.lines().collect();
                    for l in &lines[lines.len().saturating_sub(20)..] {
                        println!("{l}");
                    }
                }
                Err(_) => println!("--- rank {rank}: no task log (the task never started)"),
            }
        }
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

fn merge_dir(dir: &Path) -> anyhow::Result<PipelineStats> {
    let storage = trove::core::LocalStorage::new(dir);
    let mut merged = PipelineStats::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no stats files (*.json) found", dir.display());
    }
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = trove::core::storage::read_to_string(&storage, &name)?;
        let stats = PipelineStats::from_json(&text).with_context(|| format!("reading {}", path.display()))?;
        merged = merged.merge(&stats).with_context(|| format!("merging {}", path.display()))?;
    }
    Ok(merged)
}

fn count(stats: &trove::core::Stats, key: &str) -> Option<f64> {
    stats.stats.get(key).map(|m| m.total)
}

fn print_report(report: &RunReport, executor: &LocalExecutor) {
    let secs = report.elapsed.as_secs_f64();
    println!(
        "trove: {} task{} run, {} skipped (already complete) in {secs:.2}s",
        report.completed.len(),
        if report.completed.len() == 1 { "" } else { "s" },
        report.skipped.len()
    );
    let steps = executor.pipeline.to_values().unwrap_or_default();
    for (i, s) in report.stats.steps.iter().enumerate() {
        let mut line = format!("  {:<28}", s.name);
        if let Some(read) = count(s, "documents") {
            line += &format!(" read {read}");
        }
        if let Some(total) = count(s, "total") {
            line += &format!(" in {total}");
        }
        if let Some(fwd) = count(s, "forwarded") {
            line += &format!(" kept {fwd}");
        }
        if let Some(dropped) = count(s, "dropped") {
            line += &format!(" dropped {dropped}");
            let reasons: Vec<String> = s
                .stats
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("dropped_").map(|r| format!("{r} {}", v.total)))
                .collect();
            if !reasons.is_empty() {
                line += &format!(" ({})", reasons.join(", "));
            }
        }
        if let Some(m) = s.stats.get("tokens") {
            line += &format!(" tokens {} ({} documents, {:.1} per document)", m.total, m.n, m.mean);
        }
        for problem in ["extract_timeout", "extract_too_large", "clean_error", "broken_records"] {
            if let Some(n) = count(s, problem) {
                line += &format!(" {problem} {n}");
            }
        }
        if let Some(bad) = count(s, "malformed_lines") {
            line += &format!(" malformed lines {bad}");
        }
        if let Some(folder) = steps.get(i).and_then(|v| v.get("output_folder")).and_then(|v| v.as_str()) {
            line += &format!(" → {folder}/");
        }
        println!("{line}");
    }
    println!("  logs and stats: {}/ (stats.json, logs/, stats/, completions/)", report.logging_dir);
}
