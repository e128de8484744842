//! Running commands and measuring them: wall time and the peak RSS of the whole process tree.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a command, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// What a measured run took.
pub struct Measured {
    pub wall: Duration,
    /// Peak of the summed RSS of the process and all its descendants, in bytes.
    pub peak_rss: u64,
}

fn rss_of_tree(root: u32) -> u64 {
    let page = 4096u64;
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut rss: HashMap<u32, u64> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the parenthesised command name.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(ppid), Some(pages)) = (fields.get(1), fields.get(21)) else { continue };
        parent.insert(pid, ppid.parse().unwrap_or(0));
        rss.insert(pid, pages.parse::<u64>().unwrap_or(0) * page);
    }
    rss.iter()
        .filter(|(pid, _)| {
            let mut p = **pid;
            for _ in 0..64 {
                if p == root {
                    return true;
                }
                match parent.get(&p) {
                    Some(&pp) if pp != 0 => p = pp,
                    _ => return false,
                }
            }
            false
        })
        .map(|(_, r)| r)
        .sum()
}

/// Runs `cmd`, sampling the RSS of its process tree every 10 ms on another thread while this one waits
/// for the exit (so the wall time is not rounded up to a polling interval).
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let start = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id();
    let done = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let status = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_of_tree(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let status = child.wait();
        let wall = start.elapsed();
        done.store(true, Ordering::Relaxed);
        status.map(|s| (s, wall))
    });
    let (status, wall) = status?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(Measured { wall, peak_rss: peak.load(Ordering::Relaxed) })
}

/// The number after `--name` in `args`, or `default`.
pub fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `cmd` `runs` times (output discarded), removing the folders in `clear` before each run; the
/// run with the best wall time.
pub fn best_of(runs: usize, clear: &[&Path], cmd: &dyn Fn() -> Command) -> Result<Measured> {
    let mut best: Option<Measured> = None;
    for _ in 0..runs.max(1) {
        for d in clear {
            let _ = std::fs::remove_dir_all(d);
        }
        let m = measure(cmd().stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()))?;
        if best.as_ref().is_none_or(|b| m.wall < b.wall) {
            best = Some(m);
        }
    }
    best.context("no run")
}

/// Total size of the files in a folder (recursively).
pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                total += dir_size(&p);
            } else if let Ok(m) = p.metadata() {
                total += m.len();
            }
        }
    }
    total
}
