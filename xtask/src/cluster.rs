//! `cargo xtask cluster`: what a Slurm pipeline would submit, without submitting (a dry run), and the
//! script that brings up a single-node Slurm for development.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use trove_slurm::{render_array_script, render_merge_script, Launch, SlurmExecutorConfig};

/// `cargo xtask cluster <pipeline file>... [-o DIR] [--trove PATH]`.
pub fn cluster(args: &[String]) -> Result<()> {
    let mut files = Vec::new();
    let (mut out, mut trove) = (PathBuf::from("target/cluster"), String::from("trove"));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" | "--out" => out = PathBuf::from(it.next().context("-o needs a folder")?),
            "--trove" => trove = it.next().context("--trove needs the binary's path on the cluster")?.clone(),
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        bail!("usage: cargo xtask cluster <pipeline file>... [-o DIR] [--trove PATH ON THE CLUSTER]");
    }
    std::fs::create_dir_all(&out)?;
    let up = crate::root().join("xtask/cluster/slurm-single-node.sh");
    std::fs::copy(&up, out.join("slurm-single-node.sh"))?;
    for file in &files {
        write_scripts(file, &out, &trove)?;
    }
    println!("{}/slurm-single-node.sh: brings up a one-node Slurm from Debian's packages", out.display());
    Ok(())
}

fn write_scripts(file: &Path, out: &Path, trove: &str) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
    let value: serde_json::Value = match file.extension().and_then(|e| e.to_str()) {
        Some("toml") => serde_json::to_value(toml_value(&text)?)?,
        _ => bail!("{}: give the pipeline file as TOML", file.display()),
    };
    let mut table = value.get("executor").cloned().context("no [executor] table")?;
    if table.get("type").and_then(|t| t.as_str()) != Some("slurm") {
        bail!("{}: not a `type = \"slurm\"` pipeline", file.display());
    }
    if let Some(map) = table.as_object_mut() {
        map.remove("type");
    }
    let config: SlurmExecutorConfig =
        serde_json::from_value(table).with_context(|| format!("{}: executor", file.display()))?;
    let problems = config.check();
    if !problems.is_empty() {
        bail!("{}: {}", file.display(), problems.join("; "));
    }
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let sizes = config.array_sizes(config.jobs_for(config.tasks));
    let launch = Launch {
        trove: trove.to_string(),
        pipeline_file: format!("{}/pipeline.toml", config.logging_dir()),
        array_size: sizes.first().copied().unwrap_or(1),
    };
    let array = out.join(format!("{stem}.array.slurm"));
    std::fs::write(&array, render_array_script(&config, &launch)?)?;
    let merge = out.join(format!("{stem}.merge.slurm"));
    std::fs::write(&merge, render_merge_script(&config, trove)?)?;
    println!("{}: {} tasks in {} array(s) of {:?}", file.display(), config.tasks, sizes.len(), sizes);
    for (k, size) in sizes.iter().enumerate() {
        let dep = trove_slurm::dependency(
            &config,
            config.depends.as_ref().map(|_| "<last job of depends>"),
            (k > 0).then_some("<previous array>"),
        );
        println!(
            "  sbatch --parsable --export=ALL,RUN_OFFSET={k} --array=0-{}{} {}",
            size - 1,
            if dep.is_empty() { String::new() } else { format!(" --dependency={dep}") },
            array.display()
        );
    }
    println!("  sbatch --parsable --dependency=afterany:<last array> {}", merge.display());
    Ok(())
}

fn toml_value(text: &str) -> Result<toml::Value> {
    Ok(toml::from_str(text)?)
}
