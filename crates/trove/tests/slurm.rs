//! The Slurm executor on a real single-node Slurm cluster (`xtask/cluster/slurm-single-node.sh`, which
//! `.ci/run` runs first): the same pipeline file submitted with `type = "slurm"` gives byte-identical
//! output to the local executor (also with split arrays and several ranks per task), a cancelled or
//! killed array task is completed by relaunching, which submits only the missing rank, and a signalled
//! task requeues itself (`requeue_signals`).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn slurm_is_up() {
    let out = Command::new("sinfo").args(["-h", "-o", "%T"]).output();
    let up = out.as_ref().is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).contains("idle")
            || String::from_utf8_lossy(&o.stdout).contains("mix")
            || String::from_utf8_lossy(&o.stdout).contains("alloc")
    });
    assert!(
        up,
        "no Slurm cluster here: run `bash xtask/cluster/slurm-single-node.sh` (.ci/run does) — {out:?}"
    );
}

/// Example 1 with the given executor table, writing under `dir`.
fn pipeline(dir: &Path, name: &str, executor: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/01_basic_filtering.toml")).unwrap();
    let body = &text[text.find("[[pipeline]]").unwrap()..];
    let body = body
        .replace("fixtures/python-docs", &root().join("fixtures/python-docs").display().to_string())
        .replace("out/01_basic_filtering", &dir.join(format!("{name}-out")).display().to_string());
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(
        &file,
        format!(
            "[executor]\n{executor}\nlogging_dir = {:?}\n\n{body}",
            dir.join(format!("{name}-logs")).display().to_string()
        ),
    )
    .unwrap();
    file
}

fn trove(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trove")).current_dir(root()).args(args).output().unwrap()
}

fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

const SLURM: &str = "type = \"slurm\"\ntasks = 4\nworkers = 1\ntime = \"00:05:00\"\npartition = \"debug\"\n\
                     cpus_per_task = 1\nmem_per_cpu_gb = 1\njob_name = \"trove test: it's $(id)\"";

#[test]
fn slurm_output_equals_local_output() {
    slurm_is_up();
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let local = pipeline(dir.path(), "local", "type = \"local\"\ntasks = 4");
    assert!(trove(&["run", "--no-progress", local.to_str().unwrap()]).status.success());
    let slurm = pipeline(dir.path(), "slurm", SLURM);
    let run = trove(&["run", "--wait", slurm.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}{}", String::from_utf8_lossy(&run.stderr));
    assert!(text.contains("submitted 4 of 4 tasks") && text.contains("all 4 tasks complete"), "{text}");
    let (a, b) = (outputs(&dir.path().join("local-out")), outputs(&dir.path().join("slurm-out")));
    assert_eq!(a.len(), 4);
    assert!(a == b, "Slurm output differs from the local executor's");
    // The stats merge job ran after the array.
    let stats = std::fs::read_to_string(dir.path().join("slurm-logs/stats.json")).unwrap();
    let local_stats = std::fs::read_to_string(dir.path().join("local-logs/stats.json")).unwrap();
    let docs =
        |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap()[0]["stats"]["documents"].clone();
    assert_eq!(docs(&stats), docs(&local_stats));
    // Running the file again submits nothing.
    let again = trove(&["run", slurm.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing submitted"));
}

#[test]
fn a_cancelled_rank_is_completed_by_running_again() {
    slurm_is_up();
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let local = pipeline(dir.path(), "local", "type = \"local\"\ntasks = 4");
    assert!(trove(&["run", "--no-progress", local.to_str().unwrap()]).status.success());
    let slurm = pipeline(dir.path(), "slurm", SLURM);
    let run = trove(&["run", slurm.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{text}");
    // `... as job 12 (stats merge: job 13)`: one array task at a time, so the last is still pending.
    let job = text.split("as job ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let cancel = Command::new("scancel").arg(format!("{job}_3")).output().unwrap();
    assert!(cancel.status.success(), "{cancel:?}");
    let merge = text.split("stats merge: job ").nth(1).unwrap().split(')').next().unwrap().to_string();
    for _ in 0..120 {
        let q = Command::new("squeue").args(["-h", "-j", &merge]).output().unwrap();
        if String::from_utf8_lossy(&q.stdout).trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let completions = dir.path().join("slurm-logs/completions");
    assert_eq!(std::fs::read_dir(&completions).unwrap().count(), 3, "rank 3 was cancelled");
    let status = trove(&["jobs", "status", dir.path().join("slurm-logs").to_str().unwrap(), "--logs"]);
    let said = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(1), "{said}");
    assert!(said.contains("3 completed") && said.contains("failed or never ran: [3]"), "{said}");
    // Relaunching submits the missing rank only.
    let again = trove(&["jobs", "relaunch", "--wait", slurm.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success() && text.contains("submitted 1 of 4 tasks"), "{text}");
    let ranks = std::fs::read_to_string(dir.path().join("slurm-logs/ranks_to_run.json")).unwrap();
    assert_eq!(ranks, "[3]");
    assert!(
        outputs(&dir.path().join("local-out")) == outputs(&dir.path().join("slurm-out")),
        "nothing lost or doubled"
    );
}

/// Seed example 7 on Slurm: the four MinHash stages, each a job array chained to the previous one by
/// `depends`, submitted at once by running the last file; the kept and removed documents are
/// byte-identical to the local executor's run of the same stages (example 7).
#[test]
fn minhash_stages_on_slurm_equal_local() {
    slurm_is_up();
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let names = [
        ("07a_minhash_signatures", "07s1_minhash_slurm_signatures"),
        ("07b_minhash_buckets", "07s2_minhash_slurm_buckets"),
        ("07c_minhash_cluster", "07s3_minhash_slurm_cluster"),
        ("07_minhash_deduplication", "07_minhash_slurm"),
    ];
    // Both chains, with their folders moved under the temporary directory.
    let rewrite = |text: &str| {
        text.replace("\"out/", &format!("\"{}/out/", d.display()))
            .replace("\"logs/", &format!("\"{}/logs/", d.display()))
            .replace("\"examples/", &format!("\"{}/", d.display()))
    };
    for (local, slurm) in names {
        for name in [local, slurm] {
            let text = std::fs::read_to_string(root().join(format!("examples/{name}.toml"))).unwrap();
            std::fs::write(d.join(format!("{name}.toml")), rewrite(&text)).unwrap();
        }
    }
    let local = trove(&["run", "--no-progress", d.join("07_minhash_deduplication.toml").to_str().unwrap()]);
    assert!(local.status.success(), "{}", String::from_utf8_lossy(&local.stderr));
    let run = trove(&["run", "--wait", d.join("07_minhash_slurm.toml").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(text.matches("submitted").count(), 4, "{text}");
    for sub in ["deduplicated", "removed"] {
        let (a, b) = (
            outputs(&d.join(format!("out/07_minhash/{sub}"))),
            outputs(&d.join(format!("out/07_minhash_slurm/{sub}"))),
        );
        assert!(!a.is_empty() && a == b, "{sub} differs");
    }
}

/// Two ranks: rank 0 reads a small file, rank 1 a named pipe (`in/b.jsonl`), so it stays running,
/// blocked in `open`, until the test writes the pipe with [`feed`].
fn pipe_pipeline(d: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(d.join("in")).unwrap();
    std::fs::write(
        d.join("in/a.jsonl"),
        "{\"id\":\"a0\",\"text\":\"first\"}\n{\"id\":\"a1\",\"text\":\"second\"}\n",
    )
    .unwrap();
    let fifo = d.join("in/b.jsonl");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let file = d.join("requeue.toml");
    std::fs::write(
        &file,
        format!(
            "[executor]\ntype = \"slurm\"\ntasks = 2\ntime = \"00:05:00\"\npartition = \"debug\"\n\
             cpus_per_task = 1\nmem_per_cpu_gb = 1\njob_name = \"trove-requeue\"\nlogging_dir = {:?}\n\n\
             [[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = {:?}\n\n\
             [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = {:?}\ncompression = \"none\"\n",
            d.join("logs").display().to_string(),
            d.join("in").display().to_string(),
            d.join("out").display().to_string(),
        ),
    )
    .unwrap();
    (file, fifo)
}

fn feed(fifo: &Path) {
    let mut pipe = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
    std::io::Write::write_all(&mut pipe, b"{\"id\":\"b0\",\"text\":\"third\"}\n").unwrap();
}

/// `{name}: {documents}` for each output file.
fn counted(dir: &Path) -> Vec<String> {
    outputs(dir)
        .into_iter()
        .map(|(name, bytes)| format!("{name}: {}", String::from_utf8_lossy(&bytes).matches("\"id\"").count()))
        .collect()
}

/// Runs `file` without waiting: (the array job, the stats merge job).
fn submit(file: &Path) -> (String, String) {
    let run = trove(&["run", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "{text}{}", String::from_utf8_lossy(&run.stderr));
    let job = text.split("as job ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    let merge = text.split("stats merge: job ").nth(1).unwrap().split(')').next().unwrap().to_string();
    (job, merge)
}

/// Whether `job` has left the queue.
fn gone(job: &str) -> bool {
    let q = Command::new("squeue").args(["-h", "-j", job]).output().unwrap();
    String::from_utf8_lossy(&q.stdout).trim().is_empty()
}

fn wait_for(what: &str, ok: &dyn Fn() -> bool) {
    for _ in 0..240 {
        if ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}");
}

/// `requeue_signals` (DataTrove's default, `SIGUSR1`): a running array task that receives the signal
/// asks Slurm to requeue it and exits; the requeued task runs the rank again and the run ends complete.
/// Rank 1 reads a named pipe, so it is still running (blocked in `open`) when the signal comes, and
/// finishes once the test writes the pipe.
#[test]
fn a_signalled_task_requeues_itself() {
    slurm_is_up();
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let (file, fifo) = pipe_pipeline(d);
    let (job, merge) = submit(&file);
    let task = format!("{job}_1");
    let show = |task: &str| {
        let out = Command::new("scontrol").args(["show", "job", task]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Rank 1's task log exists once trove runs the rank, after the handler is installed.
    wait_for("rank 1 to start", &|| d.join("logs/logs/task_00001.log").exists());
    assert!(show(&task).contains("JobState=RUNNING"));
    let signal = Command::new("scancel").args(["--signal=USR1", &task]).output().unwrap();
    assert!(signal.status.success(), "{signal:?}");
    wait_for("the requeue", &|| {
        let s = show(&task);
        s.contains("Restarts=1") && s.contains("JobState=PENDING")
    });
    // A requeued job waits about two minutes before it is eligible again; start it now.
    let start = Command::new("scontrol").args(["update", &format!("JobId={task}"), "StartTime=now"]).output();
    assert!(start.unwrap().status.success());
    // The requeued rank opens the pipe again; feed it.
    feed(&fifo);
    wait_for("the stats merge job", &|| gone(&merge));
    let status = trove(&["jobs", "status", d.join("logs").to_str().unwrap()]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stdout));
    assert_eq!(counted(&d.join("out")), ["00000.jsonl: 2", "00001.jsonl: 1"]);
    let stats = std::fs::read_to_string(d.join("logs/stats.json")).unwrap();
    let docs = serde_json::from_str::<serde_json::Value>(&stats).unwrap()[0]["stats"]["documents"].clone();
    assert_eq!(docs["total"], 3, "{stats}");
    // The requeued run's Slurm log (Slurm truncates it on requeue).
    let slurm_log = std::fs::read_to_string(d.join(format!("logs/slurm_logs/{job}_1.out"))).unwrap();
    assert!(slurm_log.contains("rank 1: completed"), "{slurm_log}");
    assert!(show(&task).contains("Restarts=1"));
}

/// `tasks_per_job` and `max_array_size` on the cluster: 4 ranks, 2 per array task, at most one task per
/// array, so two arrays of one task each (the second started with `RUN_OFFSET`); the output equals the
/// local executor's.
#[test]
fn split_arrays_with_several_ranks_per_task_equal_local() {
    slurm_is_up();
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let local = pipeline(dir.path(), "local", "type = \"local\"\ntasks = 4");
    assert!(trove(&["run", "--no-progress", local.to_str().unwrap()]).status.success());
    let executor = SLURM.replace("workers = 1", "tasks_per_job = 2\nmax_array_size = 1");
    let slurm = pipeline(dir.path(), "slurm", &executor);
    let run = trove(&["run", "--wait", slurm.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}{}", String::from_utf8_lossy(&run.stderr));
    // `as job 12, 13 (stats merge: ...)`: two arrays.
    let jobs = text.split("as job ").nth(1).unwrap().split(" (").next().unwrap();
    assert_eq!(jobs.split(", ").count(), 2, "{text}");
    assert!(outputs(&dir.path().join("local-out")) == outputs(&dir.path().join("slurm-out")));
    let logs = std::fs::read_dir(dir.path().join("slurm-logs/slurm_logs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".out"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    for rank in 0..4 {
        assert!(logs.contains(&format!("rank {rank}: completed")), "{logs}");
    }
}

/// A running array task killed with `scancel`: its rank leaves no output (temporary files only, which
/// readers never list), `trove jobs status` names it, and `trove jobs relaunch` runs that rank alone.
#[test]
fn a_killed_running_task_is_completed_by_relaunch() {
    slurm_is_up();
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let (file, fifo) = pipe_pipeline(d);
    let (job, merge) = submit(&file);
    wait_for("rank 1 to start", &|| d.join("logs/logs/task_00001.log").exists());
    let kill = Command::new("scancel").arg(format!("{job}_1")).output().unwrap();
    assert!(kill.status.success(), "{kill:?}");
    wait_for("the array and merge jobs to end", &|| gone(&job) && gone(&merge));
    assert_eq!(counted(&d.join("out")), ["00000.jsonl: 2"]);
    let status = trove(&["jobs", "status", d.join("logs").to_str().unwrap()]);
    let said = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(1), "{said}");
    assert!(said.contains("failed or never ran: [1]"), "{said}");
    // `relaunch --wait` returns once rank 1 ran, which needs the pipe fed meanwhile.
    let feeder = {
        let fifo = fifo.clone();
        std::thread::spawn(move || feed(&fifo))
    };
    let relaunch = trove(&["jobs", "relaunch", "--wait", file.to_str().unwrap()]);
    feeder.join().unwrap();
    let text = String::from_utf8_lossy(&relaunch.stdout);
    assert!(relaunch.status.success() && text.contains("submitted 1 of 2 tasks"), "{text}");
    assert_eq!(counted(&d.join("out")), ["00000.jsonl: 2", "00001.jsonl: 1"], "nothing lost or doubled");
}
