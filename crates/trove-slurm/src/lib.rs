//! # trove-slurm
//!
//! The Slurm executor's configuration (DataTrove's `SlurmPipelineExecutor` arguments, `type =
//! "slurm"` in a pipeline file) and its sbatch scripts, rendered by pure functions: the array job that
//! runs the same `trove` binary on the saved pipeline file, one rank per array task, and the job that
//! merges the stats afterwards. Every value that reaches a shell line is single-quoted; `#SBATCH`
//! values are double-quoted when they hold spaces or quotes and rejected when they hold a line break,
//! so a job name or path cannot inject a directive or a command.
//!
//! ```
//! use trove_slurm::{render_array_script, Launch, SlurmExecutorConfig};
//!
//! let config: SlurmExecutorConfig = serde_json::from_value(serde_json::json!({
//!     "tasks": 4, "time": "00:05:00", "partition": "cpu", "job_name": "my job $(rm -rf ~)",
//!     "logging_dir": "/shared/logs/run 1",
//! })).unwrap();
//! let script = render_array_script(&config, &Launch {
//!     trove: "/opt/trove/bin/trove".into(),
//!     pipeline_file: "/shared/pipelines/p.toml".into(),
//!     array_size: 4,
//! }).unwrap();
//! assert!(script.contains("#SBATCH --job-name=\"my job $(rm -rf ~)\""));
//! assert!(script.contains("echo 'Starting trove job my job $(rm -rf ~)'"));
//! assert!(script.contains("#SBATCH --array=0-3\n"));
//! ```
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write as _;
use trove_core::{Error, Result};

fn one() -> usize {
    1
}
fn two() -> usize {
    2
}
fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}
fn data_processing() -> String {
    "data_processing".into()
}
fn normal() -> Option<String> {
    Some("normal".into())
}
fn max_array() -> i64 {
    1001
}
fn all() -> String {
    "ALL".into()
}
/// The signals `requeue_signals` may name (without `SIG`).
pub const REQUEUE_SIGNALS: &[&str] = &["HUP", "INT", "QUIT", "USR1", "USR2", "ALRM", "TERM"];

/// `SIGUSR1` or `USR1` → `USR1`, if it is one of [`REQUEUE_SIGNALS`].
pub fn requeue_signal_name(name: &str) -> Option<&'static str> {
    let bare = name.trim().to_ascii_uppercase();
    let bare = bare.strip_prefix("SIG").unwrap_or(&bare);
    REQUEUE_SIGNALS.iter().copied().find(|s| *s == bare)
}

fn sigusr1() -> Option<Vec<String>> {
    Some(vec!["SIGUSR1".into()])
}

/// The `[executor]` table for `type = "slurm"`: DataTrove's `SlurmPipelineExecutor` arguments, with
/// its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmExecutorConfig {
    /// Total number of tasks (shards).
    pub tasks: usize,
    /// Time limit per array task (`HH:MM:SS`, or anything `--time` takes).
    pub time: String,
    /// The partition.
    pub partition: String,
    /// CPUs per task.
    #[serde(default = "one")]
    pub cpus_per_task: usize,
    /// Memory per CPU in GB (`--mem-per-cpu`: always set, so a job never takes a whole node).
    #[serde(default = "two")]
    pub mem_per_cpu_gb: usize,
    /// GPUs per task.
    #[serde(default)]
    pub gpus_per_task: usize,
    /// Nodes per task.
    #[serde(default = "one")]
    pub nodes_per_task: usize,
    /// Array tasks running at once (`%N` of `--array`); -1 for no limit.
    #[serde(default = "minus_one")]
    pub workers: i64,
    /// The job name.
    #[serde(default = "data_processing")]
    pub job_name: String,
    /// The QOS (`null` to leave it out).
    #[serde(default = "normal")]
    pub qos: Option<String>,
    /// Shell lines run before the task (module loads, environment activation). Not quoted: it is code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_command: Option<String>,
    /// A conda environment to activate (when `env_command` is not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condaenv: Option<String>,
    /// A virtualenv to source (when neither `env_command` nor `condaenv` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venv_path: Option<String>,
    /// More `#SBATCH` directives (`{ account = "x", constraint = "y" }`; `true`/empty for a flag).
    #[serde(default)]
    pub sbatch_args: serde_json::Map<String, Value>,
    /// Largest job array; more tasks are split into several arrays. -1 for no limit.
    #[serde(default = "max_array")]
    pub max_array_size: i64,
    /// Launch a split job's arrays at once instead of one after another.
    #[serde(default)]
    pub max_array_launch_parallel: bool,
    /// Seconds between launches of a split job's arrays (with `max_array_launch_parallel`).
    #[serde(default)]
    pub stagger_max_array_jobs: u64,
    /// trove: the pipeline file this one runs after (DataTrove takes an executor object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends: Option<String>,
    /// A Slurm job id this one runs after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_job_id: Option<String>,
    /// Accepted for DataTrove's signature: trove reads job ids with `sbatch --parsable`.
    #[serde(default = "minus_one")]
    pub job_id_position: i64,
    /// Run even when the dependency failed (`afterany` instead of `afterok`).
    #[serde(default)]
    pub run_on_dependency_fail: bool,
    /// The logging folder (on storage every node sees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging_dir: Option<String>,
    /// Where Slurm writes the array tasks' stdout/stderr; default `{logging_dir}/slurm_logs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_logs_folder: Option<String>,
    /// Skip ranks whose completion marker exists.
    #[serde(default = "yes")]
    pub skip_completed: bool,
    /// Sleep up to this many seconds before a task starts.
    #[serde(default)]
    pub randomize_start_duration: u64,
    /// Signals on which an array task requeues itself (`scontrol requeue $SLURM_JOB_ID`, exit 15), as
    /// DataTrove's handler does: names from [`REQUEUE_SIGNALS`], with or without `SIG`. Slurm sends
    /// one before a time limit with `sbatch_args = { signal = "USR1@90" }`, or `scancel --signal`.
    #[serde(default = "sigusr1")]
    pub requeue_signals: Option<Vec<String>>,
    /// `--mail-type` (used with `mail_user`).
    #[serde(default = "all")]
    pub mail_type: String,
    /// `--mail-user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_user: Option<String>,
    /// `--requeue`.
    #[serde(default = "yes")]
    pub requeue: bool,
    /// Options of the `srun` line (`{ cpu-bind = "none" }`).
    #[serde(default)]
    pub srun_args: serde_json::Map<String, Value>,
    /// Ranks run by one array task, one after another.
    #[serde(default = "one")]
    pub tasks_per_job: usize,
    /// Run the task under `srun`.
    #[serde(default = "yes")]
    pub with_srun: bool,
    /// trove: `--kill-on-invalid-dep=yes`, so a job whose dependency failed ends instead of pending
    /// forever.
    #[serde(default = "yes")]
    pub kill_on_invalid_dep: bool,
}

/// What a launch knows beyond the config.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `trove` binary as the compute nodes see it.
    pub trove: String,
    /// The saved pipeline file as the compute nodes see it.
    pub pipeline_file: String,
    /// Array tasks in this job (`--array=0-{n-1}`).
    pub array_size: usize,
}

impl SlurmExecutorConfig {
    /// The logging folder (`logs/{job_name}` when unset).
    pub fn logging_dir(&self) -> String {
        self.logging_dir.clone().unwrap_or_else(|| format!("logs/{}", self.job_name))
    }

    /// The folder of the array tasks' Slurm logs, scripts and saved pipeline: a local (shared) path,
    /// since Slurm and the nodes read it directly; `slurm_logs/{job_name}` when the logging folder is
    /// remote (`s3://`), as DataTrove does.
    pub fn slurm_logs_folder(&self) -> String {
        self.slurm_logs_folder.clone().unwrap_or_else(|| {
            let logs = self.logging_dir();
            if logs.contains("://") {
                format!("slurm_logs/{}", self.job_name)
            } else {
                format!("{logs}/slurm_logs")
            }
        })
    }

    /// Array tasks needed for `ranks` ranks.
    pub fn jobs_for(&self, ranks: usize) -> usize {
        ranks.div_ceil(self.tasks_per_job.max(1))
    }

    /// Problems `trove validate` reports.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.tasks == 0 {
            problems.push("tasks must be at least 1".to_string());
        }
        if self.tasks_per_job == 0 {
            problems.push("tasks_per_job must be at least 1".into());
        }
        if self.max_array_size == 0 || self.max_array_size < -1 {
            problems.push("max_array_size must be positive, or -1 for no limit".into());
        }
        for name in self.requeue_signals.iter().flatten() {
            if requeue_signal_name(name).is_none() {
                problems.push(format!(
                    "requeue_signals: unknown signal `{name}` (one of {})",
                    REQUEUE_SIGNALS.join(", ")
                ));
            }
        }
        for (k, v) in self.directives(1, None).unwrap_or_default() {
            if let Err(e) = directive_value(&k, &v) {
                problems.push(e.to_string());
            }
        }
        problems
    }

    /// The array size of each job for `jobs` array tasks: `max_array_size` at most.
    pub fn array_sizes(&self, jobs: usize) -> Vec<usize> {
        let max = if self.max_array_size < 0 { jobs.max(1) } else { self.max_array_size as usize };
        let mut sizes = Vec::new();
        let mut left = jobs;
        while left > 0 {
            sizes.push(left.min(max));
            left -= left.min(max);
        }
        sizes
    }

    /// DataTrove's `get_sbatch_args`, in its order, plus `kill-on-invalid-dep`.
    fn directives(&self, array_size: usize, merge: Option<&str>) -> Result<Vec<(String, String)>> {
        let log = format!("{}/%A_%a.out", self.slurm_logs_folder());
        let mut d: Vec<(String, String)> = vec![
            (
                "cpus-per-task".into(),
                if merge.is_some() { "1".into() } else { self.cpus_per_task.to_string() },
            ),
            (
                "mem-per-cpu".into(),
                if merge.is_some() { "1G".into() } else { format!("{}G", self.mem_per_cpu_gb) },
            ),
            ("nodes".into(), self.nodes_per_task.to_string()),
            ("partition".into(), self.partition.clone()),
            ("job-name".into(), self.job_name.clone()),
            ("time".into(), self.time.clone()),
            ("output".into(), log.clone()),
            ("error".into(), log),
        ];
        if merge.is_none() {
            let limit = if self.workers > 0 { format!("%{}", self.workers) } else { String::new() };
            d.push(("array".into(), format!("0-{}{limit}", array_size.saturating_sub(1))));
        }
        if let Some(user) = &self.mail_user {
            d.push(("mail-type".into(), self.mail_type.clone()));
            d.push(("mail-user".into(), user.clone()));
        }
        for (k, v) in &self.sbatch_args {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Bool(true) | Value::Null => String::new(),
                Value::Bool(false) => continue,
                other => other.to_string(),
            };
            d.push((k.clone(), v));
        }
        if self.requeue {
            d.push(("requeue".into(), String::new()));
        }
        if let Some(qos) = self.qos.as_ref().filter(|q| !q.is_empty()) {
            d.push(("qos".into(), qos.clone()));
        }
        let gpus = self.gpus_per_task * self.nodes_per_task;
        if gpus > 0 && merge.is_none() {
            d.push(("gpus".into(), gpus.to_string()));
        }
        if self.kill_on_invalid_dep {
            d.push(("kill-on-invalid-dep".into(), "yes".into()));
        }
        Ok(d)
    }

    /// The environment lines (DataTrove's `env_command`, `condaenv`, `venv_path`).
    fn env_lines(&self) -> String {
        match (&self.env_command, &self.condaenv, &self.venv_path) {
            (Some(cmd), _, _) => cmd.clone(),
            (None, Some(env), _) => {
                format!("conda init bash\nconda activate {}\nsource ~/.bashrc", shell_quote(env))
            }
            (None, None, Some(venv)) => format!("source {}", shell_quote(venv)),
            _ => String::new(),
        }
    }
}

/// `'value'` for a POSIX shell: nothing inside is expanded (`'` becomes `'\''`).
pub fn shell_quote(value: &str) -> String {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./:=@%+,".contains(&b)) {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A `#SBATCH` value: as is when plain, double-quoted when it has spaces or quotes (sbatch's own
/// parser reads the line; no shell does), rejected when it would end the line or the quotes.
fn directive_value(key: &str, value: &str) -> Result<String> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(Error::config(format!("slurm executor: `{key}` may not contain a line break")));
    }
    if value.contains('"') {
        return Err(Error::config(format!("slurm executor: `{key}` may not contain a double quote")));
    }
    if value.contains(|c: char| c.is_whitespace() || c == '\'' || c == '#') {
        return Ok(format!("\"{value}\""));
    }
    Ok(value.to_string())
}

fn header(out: &mut String, directives: &[(String, String)]) -> Result<()> {
    out.push_str("#!/bin/bash\n");
    for (k, v) in directives {
        if v.is_empty() {
            let _ = writeln!(out, "#SBATCH --{k}");
        } else {
            let _ = writeln!(out, "#SBATCH --{k}={}", directive_value(k, v)?);
        }
    }
    Ok(())
}

/// The array job's script: each array task runs `trove run --slurm-task <pipeline file>`, which
/// finds its ranks from `SLURM_ARRAY_TASK_ID` and the `RUN_OFFSET` the launch exports.
pub fn render_array_script(config: &SlurmExecutorConfig, launch: &Launch) -> Result<String> {
    let mut out = String::new();
    header(&mut out, &config.directives(launch.array_size, None)?)?;
    let _ = writeln!(out, "echo {}", shell_quote(&format!("Starting trove job {}", config.job_name)));
    let env = config.env_lines();
    if !env.is_empty() {
        let _ = writeln!(out, "{env}");
    }
    out.push_str("set -xe\nexport RUST_BACKTRACE=1\n");
    let run =
        format!("{} run --slurm-task {}", shell_quote(&launch.trove), shell_quote(&launch.pipeline_file));
    if config.with_srun {
        let mut srun = String::from("srun");
        for (k, v) in &config.srun_args {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(srun, " {}", shell_quote(&format!("--{k}={v}")));
        }
        let _ = writeln!(out, "{srun} -l -n {} {run}", config.nodes_per_task);
    } else {
        let _ = writeln!(out, "{run}");
    }
    Ok(out)
}

/// The job that merges the stats once the array jobs have ended (`trove stats merge`).
pub fn render_merge_script(config: &SlurmExecutorConfig, trove: &str) -> Result<String> {
    let mut out = String::new();
    header(&mut out, &config.directives(1, Some("merge"))?)?;
    let _ =
        writeln!(out, "echo {}", shell_quote(&format!("Merging the stats of trove job {}", config.job_name)));
    let env = config.env_lines();
    if !env.is_empty() {
        let _ = writeln!(out, "{env}");
    }
    out.push_str("set -xe\n");
    let _ = writeln!(out, "{} stats merge {}", shell_quote(trove), shell_quote(&config.logging_dir()));
    Ok(out)
}

/// The dependency of a job: the jobs it must wait for, DataTrove's rules (`afterok`, or `afterany`
/// with `run_on_dependency_fail`, on the job this one depends on; `afterany` on the previous array of
/// a split job unless its arrays launch in parallel).
pub fn dependency(
    config: &SlurmExecutorConfig,
    depends_on: Option<&str>,
    previous_array: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some(dep) = depends_on.or(config.depends_job_id.as_deref()) {
        parts.push(format!("{}:{dep}", if config.run_on_dependency_fail { "afterany" } else { "afterok" }));
    }
    if let (Some(prev), false) = (previous_array, config.max_array_launch_parallel) {
        parts.push(format!("afterany:{prev}"));
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: Value) -> SlurmExecutorConfig {
        let mut base = serde_json::json!({
            "tasks": 2, "time": "00:05:00", "partition": "debug", "cpus_per_task": 8, "mem_per_cpu_gb": 8,
            "logging_dir": "/shared/logs/example 6", "job_name": "example6",
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            b.extend(e);
        }
        serde_json::from_value(base).unwrap_or_else(|e| panic!("{e}"))
    }

    fn launch() -> Launch {
        Launch { trove: "/opt/trove".into(), pipeline_file: "/shared/p.toml".into(), array_size: 2 }
    }

    /// The whole script, as a snapshot.
    #[test]
    fn renders_datatrove_directives_in_order() {
        let script = render_array_script(&config(serde_json::json!({"workers": 1})), &launch())
            .unwrap_or_else(|e| panic!("{e}"));
        let want = "#!/bin/bash
#SBATCH --cpus-per-task=8
#SBATCH --mem-per-cpu=8G
#SBATCH --nodes=1
#SBATCH --partition=debug
#SBATCH --job-name=example6
#SBATCH --time=00:05:00
#SBATCH --output=\"/shared/logs/example 6/slurm_logs/%A_%a.out\"
#SBATCH --error=\"/shared/logs/example 6/slurm_logs/%A_%a.out\"
#SBATCH --array=0-1%1
#SBATCH --requeue
#SBATCH --qos=normal
#SBATCH --kill-on-invalid-dep=yes
echo 'Starting trove job example6'
set -xe
export RUST_BACKTRACE=1
srun -l -n 1 /opt/trove run --slurm-task /shared/p.toml
";
        assert_eq!(script, want);
    }

    #[test]
    fn hostile_values_inject_nothing() {
        let c = config(serde_json::json!({
            "job_name": "it's $(touch /tmp/pwned) `id`", "venv_path": "/v/it's here",
            "srun_args": {"cpu-bind": "none; rm -rf /"},
        }));
        let l = Launch { trove: "/opt/tro ve".into(), pipeline_file: "/p/$(x).toml".into(), array_size: 1 };
        let script = render_array_script(&c, &l).unwrap_or_else(|e| panic!("{e}"));
        assert!(script.contains("#SBATCH --job-name=\"it's $(touch /tmp/pwned) `id`\"\n"), "{script}");
        assert!(script.contains("echo 'Starting trove job it'\\''s $(touch /tmp/pwned) `id`'\n"), "{script}");
        assert!(script.contains("source '/v/it'\\''s here'\n"), "{script}");
        assert!(
            script.contains(
                "srun '--cpu-bind=none; rm -rf /' -l -n 1 '/opt/tro ve' run --slurm-task '/p/$(x).toml'\n"
            ),
            "{script}"
        );
        for bad in ["two\nlines", "a \"quoted\" name"] {
            let c = config(serde_json::json!({ "job_name": bad }));
            assert!(render_array_script(&c, &l).is_err(), "{bad:?}");
            assert_eq!(c.check().len(), 1, "{bad:?}");
        }
    }

    #[test]
    fn requeue_signals_are_checked() {
        assert_eq!(requeue_signal_name("SIGUSR1"), Some("USR1"));
        assert_eq!(requeue_signal_name("term"), Some("TERM"));
        assert_eq!(requeue_signal_name("SIGKILL"), None);
        assert!(config(serde_json::json!({})).check().is_empty());
        let bad = config(serde_json::json!({"requeue_signals": ["SIGUSR1", "SIGKILL"]}));
        assert_eq!(
            bad.check(),
            ["requeue_signals: unknown signal `SIGKILL` (one of HUP, INT, QUIT, USR1, USR2, ALRM, TERM)"]
        );
        assert!(config(serde_json::json!({"requeue_signals": null})).check().is_empty());
    }

    #[test]
    fn splits_arrays_and_chains_dependencies() {
        let c = config(serde_json::json!({"tasks": 2500, "max_array_size": 1001}));
        assert_eq!(c.array_sizes(c.jobs_for(2500)), [1001, 1001, 498]);
        let per_job = config(serde_json::json!({"tasks": 10, "tasks_per_job": 4}));
        assert_eq!(per_job.jobs_for(10), 3);
        assert_eq!(dependency(&c, Some("41"), None), "afterok:41");
        assert_eq!(dependency(&c, Some("41"), Some("42")), "afterok:41,afterany:42");
        let lenient =
            config(serde_json::json!({"run_on_dependency_fail": true, "max_array_launch_parallel": true}));
        assert_eq!(dependency(&lenient, Some("41"), Some("42")), "afterany:41");
        let merge = render_merge_script(&c, "/opt/trove").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            merge.contains("#SBATCH --cpus-per-task=1\n#SBATCH --mem-per-cpu=1G\n")
                && !merge.contains("--array")
        );
        assert!(merge.ends_with("/opt/trove stats merge '/shared/logs/example 6'\n"), "{merge}");
    }
}

/// The local-executor config an array task runs its ranks with (one rank at a time, the same
/// logging folder, so completion markers, logs and stats land where a local run puts them).
pub fn local_config(config: &SlurmExecutorConfig) -> trove_core::LocalExecutorConfig {
    trove_core::LocalExecutorConfig {
        tasks: config.tasks,
        workers: 1,
        logging_dir: Some(config.logging_dir()),
        skip_completed: config.skip_completed,
        randomize_start_duration: config.randomize_start_duration,
        ..trove_core::LocalExecutorConfig::default()
    }
}

/// The file, in the logging folder, listing the ranks a launch submitted (array task `i` of the
/// `k`-th array runs entries `(i + k · max_array_size) · tasks_per_job ..`); written once per launch so
/// array tasks and relaunches agree.
pub const RANKS_FILE: &str = "ranks_to_run.json";

/// The ranks of this array task: from `SLURM_ARRAY_TASK_ID`, `RUN_OFFSET` and the launch's
/// `ranks_to_run.json`.
pub fn task_ranks(config: &SlurmExecutorConfig, task_id: usize, run_offset: usize) -> Result<Vec<usize>> {
    let storage = trove_core::open_storage(&config.logging_dir())?;
    let text = trove_core::storage::read_to_string(&*storage, RANKS_FILE)?;
    let all: Vec<usize> = serde_json::from_str(&text)
        .map_err(|e| Error::Format(format!("{}: {e}", storage.resolve(RANKS_FILE))))?;
    let max = if config.max_array_size < 0 { 0 } else { config.max_array_size as usize };
    let slurm_rank = task_id + max * run_offset;
    let per = config.tasks_per_job.max(1);
    Ok(all.iter().skip(slurm_rank * per).take(per).copied().collect())
}

/// The launches of a logging folder (job ids and ranks), newest last.
pub const JOBS_FILE: &str = "slurm_jobs.json";

/// Submits a script: `sbatch --parsable [args] script` → the job id. Tests pass their own.
pub type Submit<'a> = dyn FnMut(&[String], &std::path::Path) -> Result<String> + 'a;

/// `sbatch --parsable`, the job id from its output (`id` or `id;cluster`).
pub fn sbatch(args: &[String], script: &std::path::Path) -> Result<String> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| Error::config(format!("running sbatch (is Slurm installed here?): {e}")))?;
    if !out.status.success() {
        return Err(Error::config(format!(
            "sbatch {}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return Err(Error::config(format!("sbatch printed no job id: {text:?}")));
    }
    Ok(id)
}

/// What a launch submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    /// The array jobs, in launch order.
    pub array_jobs: Vec<String>,
    /// The stats-merging job.
    pub merge_job: String,
    /// Ranks submitted.
    pub ranks: Vec<usize>,
}

/// Launches the ranks still to run: saves the pipeline file, `ranks_to_run.json` and the scripts in
/// the logging folder, submits the arrays (split at `max_array_size`, chained by DataTrove's rules,
/// after `depends_on`) and the merge job after the last array.
pub fn launch(
    config: &SlurmExecutorConfig,
    pipeline_text: &str,
    pipeline_name: &str,
    trove: &str,
    ranks: Vec<usize>,
    depends_on: Option<&str>,
    submit: &mut Submit<'_>,
) -> Result<Launched> {
    // Slurm reads the scripts, and the array tasks the saved pipeline, from the (local, shared) Slurm
    // logs folder; copies go to the logging folder with the rest of the run's records.
    let local = std::path::absolute(config.slurm_logs_folder())
        .map_err(|e| Error::io(config.slurm_logs_folder(), e))?;
    std::fs::create_dir_all(&local).map_err(|e| Error::io(local.display().to_string(), e))?;
    let local_storage = trove_core::LocalStorage::new(&local);
    let storage = trove_core::open_storage(&config.logging_dir())?;
    let save = |name: &str, bytes: &[u8]| -> Result<std::path::PathBuf> {
        trove_core::storage::write_all(&local_storage, name, bytes)?;
        trove_core::storage::write_all(&*storage, name, bytes)?;
        Ok(local.join(name))
    };
    // The array tasks rebuild the pipeline from this copy, whatever happens to the original.
    let saved = format!("pipeline.{}", pipeline_name.rsplit('.').next().unwrap_or("toml"));
    let saved_path = save(&saved, pipeline_text.as_bytes())?;
    let ranks_json = serde_json::to_string(&ranks).map_err(|e| Error::Format(e.to_string()))?;
    trove_core::storage::write_all(&*storage, RANKS_FILE, ranks_json.as_bytes())?;
    let sizes = config.array_sizes(config.jobs_for(ranks.len()));
    let max_size = sizes.first().copied().unwrap_or(1);
    let launch = Launch {
        trove: trove.to_string(),
        pipeline_file: saved_path.display().to_string(),
        array_size: max_size,
    };
    let script_path = save("launch_script.slurm", render_array_script(config, &launch)?.as_bytes())?;
    let mut array_jobs: Vec<String> = Vec::new();
    for (k, size) in sizes.iter().enumerate() {
        if k > 0 && config.max_array_launch_parallel && config.stagger_max_array_jobs > 0 {
            std::thread::sleep(std::time::Duration::from_secs(config.stagger_max_array_jobs));
        }
        let limit = if config.workers > 0 { format!("%{}", config.workers) } else { String::new() };
        let mut args = vec![format!("--export=ALL,RUN_OFFSET={k}"), format!("--array=0-{}{limit}", size - 1)];
        let dep = dependency(config, depends_on, array_jobs.last().map(String::as_str));
        if !dep.is_empty() {
            args.push(format!("--dependency={dep}"));
        }
        array_jobs.push(submit(&args, &script_path)?);
    }
    let merge_path = save("merge_stats.slurm", render_merge_script(config, trove)?.as_bytes())?;
    let last = array_jobs.last().cloned().unwrap_or_default();
    // `afterany`: the merge covers the completed ranks even when some failed (a relaunch merges again).
    let merge_job = submit(&[format!("--dependency=afterany:{last}")], &merge_path)?;
    // Every launch is recorded, for `trove jobs status`.
    let mut history: Vec<Value> = trove_core::storage::read_to_string(&*storage, JOBS_FILE)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    history.push(serde_json::json!({"array_jobs": array_jobs, "merge_job": merge_job, "ranks": ranks}));
    let text = serde_json::to_string_pretty(&history).map_err(|e| Error::Format(e.to_string()))?;
    trove_core::storage::write_all(&*storage, JOBS_FILE, text.as_bytes())?;
    Ok(Launched { array_jobs, merge_job, ranks })
}
