//! The local executor: runs a pipeline as `tasks` shards on `workers` threads and keeps DataTrove's
//! logging folder layout.
//!
//! ```text
//! {logging_dir}/executor.json         the resolved config
//! {logging_dir}/logs/task_00000.log   one log per task
//! {logging_dir}/stats/00000.json      one stats file per completed task
//! {logging_dir}/completions/00000     marker: the task completed
//! {logging_dir}/stats.json            merged stats of every completed task
//! ```
//! A task publishes its outputs, then its stats, then its completion marker; a failed task leaves no
//! marker, so a re-run redoes it and skips the completed ones.

use crate::config::{parse_table, Pipeline, PipelineFile, PipelineStep, Registry};
use crate::error::{Error, IoResultExt, Result};
use crate::logging::{set_task_log, TaskLogSink};
use crate::runner::{run_task, DEFAULT_BATCH_SIZE};
use crate::stats::PipelineStats;
use crate::storage::{open_storage, read_to_string, write_all, Storage};
use crate::task::TaskInfo;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{error, info};

/// The `[executor]` table for `type = "local"`: DataTrove's `LocalPipelineExecutor` arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalExecutorConfig {
    /// Total number of tasks (shards).
    #[serde(default = "one")]
    pub tasks: usize,
    /// Tasks run at once; `-1` means as many as `tasks`.
    #[serde(default = "minus_one")]
    pub workers: i64,
    /// Where logs, stats and completion markers go. Default: `logs/{timestamp}_{random}`.
    #[serde(default)]
    pub logging_dir: Option<String>,
    /// A pipeline file to run (and complete) before this one.
    #[serde(default)]
    pub depends: Option<String>,
    /// Skip tasks that have a completion marker.
    #[serde(default = "yes")]
    pub skip_completed: bool,
    /// Accepted for compatibility with DataTrove files; trove runs tasks on threads.
    #[serde(default = "forkserver")]
    pub start_method: String,
    /// How many of the tasks this machine runs; `-1` for all.
    #[serde(default = "minus_one")]
    pub local_tasks: i64,
    /// The first rank this machine runs.
    #[serde(default)]
    pub local_rank_offset: usize,
    /// Delay each task's start by up to this many seconds.
    #[serde(default)]
    pub randomize_start_duration: u64,
}

fn one() -> usize {
    1
}
fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}
fn forkserver() -> String {
    "forkserver".into()
}

impl Default for LocalExecutorConfig {
    fn default() -> Self {
        LocalExecutorConfig {
            tasks: 1,
            workers: -1,
            logging_dir: None,
            depends: None,
            skip_completed: true,
            start_method: forkserver(),
            local_tasks: -1,
            local_rank_offset: 0,
            randomize_start_duration: 0,
        }
    }
}

impl LocalExecutorConfig {
    fn check(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.tasks == 0 {
            problems.push("executor: `tasks` must be at least 1".to_string());
        }
        if self.workers == 0 || self.workers < -1 {
            problems.push("executor: `workers` must be at least 1 (or -1 for one per task)".to_string());
        }
        if self.local_rank_offset + self.local_tasks() > self.tasks {
            problems.push(format!(
                "executor: local tasks go beyond the total tasks (local_rank_offset + local_tasks = {} > {} = tasks)",
                self.local_rank_offset + self.local_tasks(),
                self.tasks
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems))
        }
    }

    fn local_tasks(&self) -> usize {
        if self.local_tasks < 0 {
            self.tasks
        } else {
            self.local_tasks as usize
        }
    }

    fn workers(&self) -> usize {
        if self.workers < 0 {
            self.tasks
        } else {
            self.workers as usize
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Total tasks of the pipeline.
    pub world_size: usize,
    /// Ranks run (and completed) in this run.
    pub completed: Vec<usize>,
    /// Ranks skipped because they had completed before.
    pub skipped: Vec<usize>,
    /// Merged stats of every completed task (`stats.json`).
    pub stats: PipelineStats,
    /// The logging folder.
    pub logging_dir: String,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Runs a pipeline locally.
pub struct LocalExecutor {
    /// The executor settings.
    pub config: LocalExecutorConfig,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Runs before this one.
    pub depends: Option<Box<LocalExecutor>>,
    /// Documents per batch.
    pub batch_size: usize,
    /// Show a progress line: `None` decides from whether stderr is a terminal.
    pub progress: Option<bool>,
    logging_dir: String,
    storage: Arc<dyn Storage>,
}

fn default_logging_dir() -> String {
    let ts = crate::logging::timestamp();
    let stamp: String = ts[..19]
        .chars()
        .map(|c| {
            if c == ' ' {
                '_'
            } else if c == ':' {
                '-'
            } else {
                c
            }
        })
        .collect();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let random = (nanos ^ std::process::id().rotate_left(16)) % 0x100_0000;
    format!("logs/{stamp}_{random:06x}")
}

impl LocalExecutor {
    /// An executor for `pipeline` with `config`.
    pub fn new(pipeline: Pipeline, mut config: LocalExecutorConfig) -> Result<LocalExecutor> {
        config.check()?;
        let logging_dir = config.logging_dir.get_or_insert_with(default_logging_dir).clone();
        Ok(LocalExecutor {
            storage: open_storage(&logging_dir)?,
            logging_dir,
            config,
            pipeline,
            depends: None,
            batch_size: DEFAULT_BATCH_SIZE,
            progress: None,
        })
    }

    /// Loads a pipeline file with a `local` executor, and the files it `depends` on.
    /// `overrides` is applied to this file's executor table (the CLI's `--tasks`, `--workers`, ...).
    pub fn from_file(
        path: &Path,
        registry: Arc<Registry>,
        overrides: &dyn Fn(&mut LocalExecutorConfig),
    ) -> Result<LocalExecutor> {
        Self::from_file_inner(path, registry, overrides, &mut Vec::new())
    }

    /// Loads a pipeline file's steps with a given executor config, whatever its executor table says:
    /// how a Slurm array task runs its ranks of a `type = "slurm"` file. `depends` is not followed.
    pub fn from_pipeline_file(
        path: &Path,
        registry: Arc<Registry>,
        config: LocalExecutorConfig,
    ) -> Result<LocalExecutor> {
        let file = PipelineFile::load(path)?;
        let pipeline = file.resolve(registry).map_err(|e| match e {
            Error::Config(problems) => {
                Error::Config(problems.into_iter().map(|p| format!("{}: {p}", path.display())).collect())
            }
            e => e,
        })?;
        LocalExecutor::new(pipeline, LocalExecutorConfig { depends: None, ..config })
    }

    fn from_file_inner(
        path: &Path,
        registry: Arc<Registry>,
        overrides: &dyn Fn(&mut LocalExecutorConfig),
        seen: &mut Vec<PathBuf>,
    ) -> Result<LocalExecutor> {
        let canonical = path.canonicalize().with_path(path)?;
        if seen.contains(&canonical) {
            return Err(Error::config(format!("{}: `depends` forms a cycle", path.display())));
        }
        seen.push(canonical);
        let file = PipelineFile::load(path)?;
        let kind = file.executor.get("type").and_then(|t| t.as_str()).unwrap_or("local");
        if kind != "local" {
            return Err(Error::config(format!(
                "{}: executor type `{kind}` is not run by the local executor",
                path.display()
            )));
        }
        let mut config: LocalExecutorConfig =
            parse_table(&file.executor, &format!("{}: executor", path.display()))?;
        overrides(&mut config);
        let pipeline = file.resolve(registry.clone()).map_err(|e| match e {
            Error::Config(problems) => {
                Error::Config(problems.into_iter().map(|p| format!("{}: {p}", path.display())).collect())
            }
            e => e,
        })?;
        let depends = match &config.depends {
            Some(dep) => Some(Box::new(Self::from_file_inner(Path::new(dep), registry, &|_| {}, seen)?)),
            None => None,
        };
        let mut executor = LocalExecutor::new(pipeline, config)?;
        executor.depends = depends;
        Ok(executor)
    }

    /// The logging folder.
    pub fn logging_dir(&self) -> &str {
        &self.logging_dir
    }

    /// Total number of tasks.
    pub fn world_size(&self) -> usize {
        self.config.tasks
    }

    fn completion_path(rank: usize) -> String {
        format!("completions/{rank:05}")
    }

    /// Whether `rank` has a completion marker.
    pub fn is_completed(&self, rank: usize) -> Result<bool> {
        self.storage.exists(&Self::completion_path(rank))
    }

    /// Ranks of this pipeline without a completion marker.
    pub fn incomplete_ranks(&self) -> Result<Vec<usize>> {
        let done: std::collections::HashSet<String> =
            self.storage.list("completions", false)?.into_iter().collect();
        Ok((0..self.world_size()).filter(|r| !done.contains(&Self::completion_path(*r))).collect())
    }

    /// The resolved config written to `executor.json`.
    pub fn to_json(&self) -> Result<String> {
        let mut executor = serde_json::to_value(&self.config).map_err(|e| Error::Format(e.to_string()))?;
        if let serde_json::Value::Object(map) = &mut executor {
            map.insert("world_size".into(), self.world_size().into());
        }
        let value = serde_json::json!({
            "trove_version": env!("CARGO_PKG_VERSION"),
            "executor": executor,
            "pipeline": self.pipeline.to_values().unwrap_or_default(),
        });
        serde_json::to_string_pretty(&value).map_err(|e| Error::Format(e.to_string()))
    }

    /// Runs every incomplete local task (after the pipeline this one depends on), then merges stats.
    pub fn run(&self) -> Result<RunReport> {
        if let Some(dep) = &self.depends {
            info!("running dependency {}", dep.logging_dir());
            dep.run()?;
            let incomplete = dep.incomplete_ranks()?;
            if !incomplete.is_empty() {
                return Err(Error::config(format!(
                    "dependency {} still has {} incomplete tasks",
                    dep.logging_dir(),
                    incomplete.len()
                )));
            }
        }
        let start = Instant::now();
        let local: Vec<usize> = (self.config.local_rank_offset
            ..self.config.local_rank_offset + self.config.local_tasks())
            .collect();
        let mut to_run = Vec::new();
        let mut skipped = Vec::new();
        for rank in local {
            if self.config.skip_completed && self.is_completed(rank)? {
                skipped.push(rank);
            } else {
                to_run.push(rank);
            }
        }
        if !skipped.is_empty() {
            info!("skipping {} already completed tasks", skipped.len());
        }
        if !to_run.is_empty() {
            write_all(&*self.storage, "executor.json", self.to_json()?.as_bytes())?;
        }
        let (fresh, failed) = self.run_ranks(&to_run)?;
        let stats = merge_stats(&*self.storage, self.world_size(), &fresh)?;
        write_all(&*self.storage, "stats.json", stats.to_json().as_bytes())?;
        if !failed.is_empty() {
            return Err(Error::Tasks { failed, total: to_run.len() });
        }
        Ok(RunReport {
            world_size: self.world_size(),
            completed: to_run,
            skipped,
            stats,
            logging_dir: self.logging_dir.clone(),
            elapsed: start.elapsed(),
        })
    }

    /// Runs a single rank (a Slurm array task, or `trove run --rank`). Skips it if completed.
    /// Returns whether it ran.
    pub fn run_rank(&self, rank: usize) -> Result<bool> {
        if rank >= self.world_size() {
            return Err(Error::config(format!(
                "rank {rank} is out of range: the pipeline has {} tasks",
                self.world_size()
            )));
        }
        if self.config.skip_completed && self.is_completed(rank)? {
            info!("skipping rank {rank}: already completed");
            return Ok(false);
        }
        if rank == 0 || !self.storage.exists("executor.json")? {
            write_all(&*self.storage, "executor.json", self.to_json()?.as_bytes())?;
        }
        self.run_one(rank, &Progress::default()).map(|_| true)
    }

    #[allow(clippy::type_complexity)]
    fn run_ranks(&self, ranks: &[usize]) -> Result<(HashMap<usize, PipelineStats>, Vec<(usize, String)>)> {
        let workers = self.config.workers().min(ranks.len()).max(1);
        let progress = Arc::new(Progress { total: ranks.len(), ..Progress::default() });
        let show = self.progress.unwrap_or_else(|| std::io::stderr().is_terminal()) && !ranks.is_empty();
        let reporter = show.then(|| spawn_reporter(progress.clone()));
        let next = AtomicUsize::new(0);
        let failed = Mutex::new(Vec::new());
        let fresh = Mutex::new(HashMap::new());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let builder = std::thread::Builder::new().name("trove-worker".into()).stack_size(16 << 20);
                let spawned = builder.spawn_scoped(scope, || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&rank) = ranks.get(i) else { break };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.run_one(rank, &progress)
                    }));
                    let err = match outcome {
                        Ok(Ok(stats)) => {
                            fresh.lock().unwrap_or_else(|p| p.into_inner()).insert(rank, stats);
                            None
                        }
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(panic) => Some(format!(
                            "task panicked: {}",
                            panic
                                .downcast_ref::<String>()
                                .map(String::as_str)
                                .or_else(|| panic.downcast_ref::<&str>().copied())
                                .unwrap_or("unknown panic")
                        )),
                    };
                    let done = progress.done.fetch_add(1, Ordering::SeqCst) + 1;
                    match err {
                        None if !show => info!("{done}/{} tasks completed (rank {rank})", ranks.len()),
                        None => {}
                        Some(e) => failed.lock().unwrap_or_else(|p| p.into_inner()).push((rank, e)),
                    }
                });
                if let Err(e) = spawned {
                    failed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((usize::MAX, format!("cannot start a worker thread: {e}")));
                }
            }
        });
        progress.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = reporter {
            let _ = handle.join();
        }
        let mut failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
        failed.sort();
        Ok((fresh.into_inner().unwrap_or_else(|p| p.into_inner()), failed))
    }

    fn open_log(&self, rank: usize) -> Result<TaskLogSink> {
        let path = log_path(rank);
        let sink: Box<dyn Write + Send> = match self.storage.local_path(&path) {
            Some(local) => {
                if let Some(dir) = local.parent() {
                    std::fs::create_dir_all(dir).with_path(dir)?;
                }
                Box::new(std::fs::File::create(&local).with_path(&local)?)
            }
            None => Box::new(RemoteLog { storage: self.storage.clone(), path, buf: Vec::new() }),
        };
        Ok(Arc::new(Mutex::new(sink)))
    }

    fn run_one(&self, rank: usize, progress: &Progress) -> Result<PipelineStats> {
        crate::logging::ensure_task_logging();
        let _guard = set_task_log(self.open_log(rank)?);
        let task = TaskInfo::new(rank, self.world_size());
        info!(target: "trove::task", "launching pipeline for rank={rank} of {}", self.world_size());
        if self.config.randomize_start_duration > 0 {
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let secs =
                (nanos.subsec_nanos() as u64 ^ rank as u64) % (self.config.randomize_start_duration + 1);
            std::thread::sleep(Duration::from_secs(secs));
        }
        let result = (|| {
            let type_names: Vec<String> = self
                .pipeline
                .steps
                .iter()
                .map(|s| match s {
                    PipelineStep::Config(c) => c.type_name().to_string(),
                    PipelineStep::Custom { name, .. } => name.clone(),
                })
                .collect();
            for (i, name) in type_names.iter().enumerate() {
                info!(target: "trove::task", "step {i}: {name}");
            }
            let stages = self.pipeline.build(&task)?;
            let mut output = run_task(stages, &type_names, &task, self.batch_size, Some(&progress.docs))?;
            output.outputs.commit_all()?;
            write_all(
                &*self.storage,
                &format!("stats/{rank:05}.json"),
                output.stats.to_json_full().as_bytes(),
            )?;
            write_all(&*self.storage, &Self::completion_path(rank), b"")?;
            Ok(output.stats)
        })();
        match result {
            Ok(stats) => {
                for s in &stats.steps {
                    let counts: Vec<String> =
                        s.stats.iter().take(6).map(|(k, v)| format!("{k}={}", v.total)).collect();
                    info!(target: "trove::task", "{} [{:.3}s] {}", s.name, s.time_stats.metric.total, counts.join(" "));
                }
                info!(target: "trove::task", "processing done for rank={rank}");
                Ok(stats)
            }
            Err(e) => {
                error!("rank {rank} failed: {e} (log: {})", self.storage.resolve(&log_path(rank)));
                Err(e)
            }
        }
    }
}

fn log_path(rank: usize) -> String {
    format!("logs/task_{rank:05}.log")
}

/// Merges the stats of every completed rank in rank order: `fresh` holds the ranks run now (merged
/// from memory, as DataTrove's executor does), the others are read from `stats/{rank:05}.json`.
pub fn merge_stats(
    storage: &dyn Storage,
    world_size: usize,
    fresh: &HashMap<usize, PipelineStats>,
) -> Result<PipelineStats> {
    let mut merged = PipelineStats::default();
    let on_disk: HashMap<usize, String> = storage
        .list("stats", false)?
        .into_iter()
        .filter_map(|file| {
            let rank = file.strip_prefix("stats/")?.strip_suffix(".json")?.parse::<usize>().ok()?;
            Some((rank, file))
        })
        .collect();
    for rank in 0..world_size {
        if let Some(stats) = fresh.get(&rank) {
            merged = merged.merge(stats)?;
        } else if let Some(file) = on_disk.get(&rank) {
            let stats = PipelineStats::from_json(&read_to_string(storage, file)?)
                .map_err(|e| Error::Format(format!("{}: {e}", storage.resolve(file))))?;
            merged = merged.merge(&stats)?;
        }
    }
    Ok(merged)
}

#[derive(Default)]
struct Progress {
    docs: AtomicU64,
    done: AtomicUsize,
    total: usize,
    stop: AtomicBool,
}

fn spawn_reporter(progress: Arc<Progress>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let mut stderr = std::io::stderr();
        loop {
            let stopping = progress.stop.load(Ordering::SeqCst);
            let docs = progress.docs.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            let _ = write!(
                stderr,
                "\r\x1b[2K{}/{} tasks · {docs} documents read · {:.0} docs/s · {:.1}s",
                progress.done.load(Ordering::SeqCst),
                progress.total,
                docs as f64 / secs,
                secs
            );
            let _ = stderr.flush();
            if stopping {
                let _ = writeln!(stderr);
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

/// A task log on remote storage: kept in memory and uploaded when the task's log is closed (the task
/// ended, completed or not).
struct RemoteLog {
    storage: Arc<dyn Storage>,
    path: String,
    buf: Vec<u8>,
}

impl Write for RemoteLog {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RemoteLog {
    fn drop(&mut self) {
        if let Err(e) = crate::storage::write_all(&*self.storage, &self.path, &self.buf) {
            eprintln!("trove: could not upload the task log {}: {e}", self.storage.resolve(&self.path));
        }
    }
}
