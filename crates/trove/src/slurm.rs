//! `trove run` for a `type = "slurm"` pipeline file: submit the ranks still to run (after the file it
//! `depends` on), or, inside an array task, run this task's ranks.
#![allow(clippy::print_stdout)] // the command reports on stdout

use anyhow::{bail, Context as _};
use std::path::Path;
use std::process::ExitCode;
use trove::core::{config::parse_table, LocalExecutor, PipelineFile};
use trove::slurm::{SlurmExecutorConfig, Submit};

fn load(file: &Path) -> anyhow::Result<SlurmExecutorConfig> {
    let parsed = PipelineFile::load(file)?;
    let kind = parsed.executor.get("type").and_then(|t| t.as_str()).unwrap_or("local");
    if kind != "slurm" {
        bail!(
            "{}: depends on a `{kind}` pipeline; a Slurm pipeline depends on Slurm pipelines",
            file.display()
        );
    }
    Ok(parse_table(&parsed.executor, &format!("{}: executor", file.display()))?)
}

fn executor(file: &Path, config: &SlurmExecutorConfig) -> anyhow::Result<LocalExecutor> {
    Ok(LocalExecutor::from_pipeline_file(file, trove::registry(), trove::slurm::local_config(config))?)
}

/// What a file's launch left in the queue: its last array job (what a dependent file waits for, with
/// `afterok`, so a failed rank holds the stages after it) and its stats-merge job (the very last).
type Queued = Option<(String, String)>;

/// Submits `file` (and first what it depends on).
fn submit_file(
    file: &Path,
    submit: &mut Submit<'_>,
    seen: &mut Vec<std::path::PathBuf>,
) -> anyhow::Result<Queued> {
    let canonical = file.canonicalize().with_context(|| file.display().to_string())?;
    if seen.contains(&canonical) {
        bail!("{}: `depends` forms a cycle", file.display());
    }
    seen.push(canonical);
    let config = load(file)?;
    let problems = config.check();
    if !problems.is_empty() {
        bail!("{}: {}", file.display(), problems.join("; "));
    }
    let depends_on = match &config.depends {
        Some(dep) => submit_file(Path::new(dep), submit, seen)?.map(|(array, _)| array),
        None => None,
    };
    let ranks = executor(file, &config)?.incomplete_ranks()?;
    if ranks.is_empty() {
        println!("{}: all {} tasks complete, nothing submitted", file.display(), config.tasks);
        return Ok(None);
    }
    let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let trove = std::env::current_exe().context("locating the trove binary")?.display().to_string();
    let launched = trove::slurm::launch(&config, &text, &name, &trove, ranks, depends_on.as_deref(), submit)?;
    println!(
        "{}: submitted {} of {} tasks as job {} (stats merge: job {}); logs in {}",
        file.display(),
        launched.ranks.len(),
        config.tasks,
        launched.array_jobs.join(", "),
        launched.merge_job,
        config.logging_dir()
    );
    let last = launched.array_jobs.last().cloned().unwrap_or_default();
    Ok(Some((last, launched.merge_job)))
}

/// Whether a job is still known to the queue.
fn queued(job: &str) -> bool {
    std::process::Command::new("squeue")
        .args(["-h", "-j", job, "-o", "%i"])
        .output()
        .map(|o| o.status.success() && !String::from_utf8_lossy(&o.stdout).trim().is_empty())
        .unwrap_or(false)
}

/// DataTrove's requeue handler: on one of `requeue_signals`, ask Slurm to requeue this array task
/// and exit 15. DataTrove requeues `$SLURM_JOB_ID`, which for an array's last task is the id of the
/// whole array (Slurm gives the master's id to it), so every task of the array ran again; trove
/// requeues `${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}`, this task only. Ranks finished
/// before the signal keep their completion markers, and the rank cut short left only temporary
/// files, so the requeued task runs exactly the ranks still missing.
fn requeue_on_signals(config: &SlurmExecutorConfig) -> anyhow::Result<()> {
    use signal_hook::consts::signal;
    let mut numbers = Vec::new();
    for name in config.requeue_signals.iter().flatten() {
        let number = match trove::slurm::requeue_signal_name(name) {
            Some("HUP") => signal::SIGHUP,
            Some("INT") => signal::SIGINT,
            Some("QUIT") => signal::SIGQUIT,
            Some("USR1") => signal::SIGUSR1,
            Some("USR2") => signal::SIGUSR2,
            Some("ALRM") => signal::SIGALRM,
            Some("TERM") => signal::SIGTERM,
            _ => bail!("requeue_signals: unknown signal `{name}`"),
        };
        numbers.push(number);
    }
    if numbers.is_empty() {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new(&numbers).context("installing requeue_signals")?;
    std::thread::Builder::new().name("requeue-signals".into()).spawn(move || {
        if let Some(number) = signals.forever().next() {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            let job = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
                (Some(array), Some(task)) => format!("{array}_{task}"),
                _ => var("SLURM_JOB_ID").unwrap_or_default(),
            };
            eprintln!("trove: received signal {number}; requeueing Slurm job {job} and exiting");
            match std::process::Command::new("scontrol").args(["requeue", &job]).status() {
                Ok(s) if s.success() => {}
                Ok(s) => eprintln!("trove: `scontrol requeue {job}` failed ({s})"),
                Err(e) => eprintln!("trove: cannot run `scontrol requeue {job}`: {e}"),
            }
            std::process::exit(15);
        }
    })?;
    Ok(())
}

pub fn run(file: &Path, slurm_task: bool, wait: bool, batch_size: usize) -> anyhow::Result<ExitCode> {
    let config = load(file)?;
    if slurm_task {
        requeue_on_signals(&config)?;
        let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<usize>().ok());
        let task = env("SLURM_ARRAY_TASK_ID")
            .context("--slurm-task runs inside a Slurm array task (no SLURM_ARRAY_TASK_ID)")?;
        let ranks = trove::slurm::task_ranks(&config, task, env("RUN_OFFSET").unwrap_or(0))?;
        let mut executor = executor(file, &config)?;
        executor.batch_size = batch_size.max(1);
        executor.progress = Some(false);
        for rank in ranks {
            let ran = executor.run_rank(rank)?;
            println!("rank {rank}: {}", if ran { "completed" } else { "already complete, skipped" });
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut submit = |args: &[String], script: &Path| trove::slurm::sbatch(args, script);
    let last = submit_file(file, &mut submit, &mut Vec::new())?;
    if wait {
        if let Some((_, job)) = last {
            while queued(&job) {
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
        }
        let missing = executor(file, &config)?.incomplete_ranks()?;
        if !missing.is_empty() {
            eprintln!(
                "trove: {} of {} ranks did not complete: {:?}; see {}/slurm_logs and logs/",
                missing.len(),
                config.tasks,
                missing,
                config.logging_dir()
            );
            return Ok(ExitCode::from(1));
        }
        println!("{}: all {} tasks complete", file.display(), config.tasks);
    }
    Ok(ExitCode::SUCCESS)
}
