//! Object storage: a pipeline reading its input from `s3://`, writing its output and its logging
//! folder to `s3://`, against a real S3-compatible server on 127.0.0.1 (moto's server mode, from the
//! fixture cache: `cargo xtask fixtures --for-tests`), writes the same output as the same pipeline on
//! local folders (both read back through the same copy pipeline, then compared byte for byte); a
//! re-run skips the completed tasks by reading their markers from S3.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A moto server on a free port, stopped when dropped.
struct Moto(Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One raw HTTP exchange; an error reads as an empty reply (the caller retries).
fn http(port: u16, request: &str) -> String {
    let mut out = String::new();
    if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
        if s.write_all(request.as_bytes()).is_ok() {
            let _ = s.read_to_string(&mut out);
        }
    }
    out
}

fn moto() -> Moto {
    let server = root().join("fixtures/cache/moto-venv/bin/moto_server");
    assert!(server.is_file(), "{} is missing: run `cargo xtask fixtures --for-tests`", server.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child, port);
    // The port accepts connections a moment before the server answers them (CI once saw an empty
    // reply to the first request), so the bucket creation itself is retried until it succeeds.
    let mut last = String::new();
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // A bucket (moto does not check signatures).
            last = http(
                port,
                "PUT /trove HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            if last.starts_with("HTTP/1.1 200") {
                return moto;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("moto_server did not create the bucket on port {port} within 30 s; last reply: {last:?}");
}

fn trove(port: u16, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trove"))
        .current_dir(root())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .args(args)
        .output()
        .unwrap()
}

fn pipeline(dir: &Path, name: &str, input: &str, output: &str, logs: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/01_basic_filtering.toml")).unwrap();
    let text = text
        .replace("logging_dir = \"logs/01_basic_filtering\"", &format!("logging_dir = {logs:?}"))
        .replace("data_folder = \"fixtures/python-docs\"", &format!("data_folder = {input:?}"))
        .replace("output_folder = \"out/01_basic_filtering\"", &format!("output_folder = {output:?}"));
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_pipeline_on_s3_writes_what_it_writes_locally() {
    let moto = moto();
    let port = moto.1;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Input to S3 with trove itself (a copy pipeline), then the same example on S3 and locally.
    let copy = d.join("copy.toml");
    std::fs::write(
        &copy,
        format!(
            "[executor]\ntasks = 4\nlogging_dir = {:?}\n\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
             data_folder = {:?}\n\n[[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = \"s3://trove/input\"\n\
             output_filename = \"${{rank}}.jsonl.gz\"\n",
            d.join("copy-logs").display().to_string(),
            root().join("fixtures/python-docs").display().to_string()
        ),
    )
    .unwrap();
    let out = trove(port, &["run", "--no-progress", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let on_s3 = pipeline(d, "s3", "s3://trove/input", "s3://trove/output", "s3://trove/logs");
    let run = trove(port, &["run", "--no-progress", on_s3.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}{}", String::from_utf8_lossy(&run.stderr));
    assert!(text.contains("4 tasks run"), "{text}");
    // The local run reads the same bytes: download the S3 input with a copy pipeline the other way.
    let back = d.join("back.toml");
    std::fs::write(
        &back,
        format!(
            "[executor]\ntasks = 4\nlogging_dir = {:?}\n\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
             data_folder = \"s3://trove/output\"\n\n[[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = {:?}\n\
             compression = \"none\"\noutput_filename = \"${{rank}}.jsonl\"\n",
            d.join("back-logs").display().to_string(),
            d.join("from-s3").display().to_string()
        ),
    )
    .unwrap();
    assert!(trove(port, &["run", "--no-progress", back.to_str().unwrap()]).status.success());
    let local_in = d.join("local-in");
    let copy_local = d.join("copy-local.toml");
    std::fs::write(
        &copy_local,
        std::fs::read_to_string(&copy)
            .unwrap()
            .replace("s3://trove/input", &local_in.display().to_string())
            .replace("copy-logs", "copy-local-logs"),
    )
    .unwrap();
    assert!(trove(port, &["run", "--no-progress", copy_local.to_str().unwrap()]).status.success());
    let local = pipeline(
        d,
        "local",
        &local_in.display().to_string(),
        &d.join("local-out").display().to_string(),
        &d.join("local-logs").display().to_string(),
    );
    assert!(trove(port, &["run", "--no-progress", local.to_str().unwrap()]).status.success());
    let back_local = d.join("back-local.toml");
    std::fs::write(
        &back_local,
        std::fs::read_to_string(&back)
            .unwrap()
            .replace("s3://trove/output", &d.join("local-out").display().to_string())
            .replace("from-s3", "from-local")
            .replace("back-logs", "back-local-logs"),
    )
    .unwrap();
    assert!(trove(port, &["run", "--no-progress", back_local.to_str().unwrap()]).status.success());
    for r in 0..4 {
        let name = format!("{r:05}.jsonl");
        let (a, b) = (
            std::fs::read(d.join("from-s3").join(&name)).unwrap(),
            std::fs::read(d.join("from-local").join(&name)).unwrap(),
        );
        assert!(!a.is_empty() && a == b, "{name} differs");
    }
    // The task logs were uploaded with the rest of the logging folder (read with boto3 from moto's venv).
    let read = Command::new(root().join("fixtures/cache/moto-venv/bin/python"))
        .args(["-c", &format!(
            "import boto3; s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:{port}', aws_access_key_id='t', \
             aws_secret_access_key='t', region_name='us-east-1'); \
             print(s3.get_object(Bucket='trove', Key='logs/logs/task_00002.log')['Body'].read().decode())"
        )])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&read.stdout);
    assert!(
        read.status.success() && log.contains("rank=2 of 4"),
        "{log}{}",
        String::from_utf8_lossy(&read.stderr)
    );
    // Completion markers live on S3: a re-run skips every task.
    let again = trove(port, &["run", "--no-progress", on_s3.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 tasks run, 4 skipped"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

fn slurm_is_up() {
    let out = Command::new("sinfo").args(["-h", "-o", "%T"]).output();
    let states = out.as_ref().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    assert!(
        ["idle", "mix", "alloc"].iter().any(|s| states.contains(s)),
        "no Slurm cluster here: run `bash xtask/cluster/slurm-single-node.sh` (.ci/run does) — {out:?}"
    );
}

/// The end-to-end run the object-storage and Slurm issue asks for: seed example 7's four MinHash
/// stages submitted to a real Slurm as chained job arrays, input read from S3 and every output (and
/// logging folder) written to S3; the kept and removed documents equal the local executor's run of the
/// same stages on the same input.
#[test]
fn minhash_on_slurm_over_s3_equals_local() {
    slurm_is_up();
    let moto = moto();
    let port = moto.1;
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    // The input on S3.
    let copy = d.join("copy.toml");
    std::fs::write(
        &copy,
        format!(
            "[executor]\ntasks = 2\nlogging_dir = {:?}\n\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
             data_folder = \"fixtures/minhash\"\n\n[[pipeline]]\ntype = \"jsonl_writer\"\n\
             output_folder = \"s3://trove/minhash\"\noutput_filename = \"${{rank}}.jsonl.gz\"\n",
            d.join("copy-logs").display().to_string()
        ),
    )
    .unwrap();
    assert!(trove(port, &["run", "--no-progress", copy.to_str().unwrap()]).status.success());
    let names = [
        ("07a_minhash_signatures", "07s1_minhash_slurm_signatures"),
        ("07b_minhash_buckets", "07s2_minhash_slurm_buckets"),
        ("07c_minhash_cluster", "07s3_minhash_slurm_cluster"),
        ("07_minhash_deduplication", "07_minhash_slurm"),
    ];
    for (local, slurm) in names {
        let text = std::fs::read_to_string(root().join(format!("examples/{local}.toml"))).unwrap();
        let text = text
            .replace("\"fixtures/minhash\"", "\"s3://trove/minhash\"")
            .replace("\"out/", &format!("\"{}/out/", d.display()))
            .replace("\"logs/", &format!("\"{}/logs/", d.display()))
            .replace("\"examples/", &format!("\"{}/", d.display()));
        std::fs::write(d.join(format!("{local}.toml")), text).unwrap();
        let text = std::fs::read_to_string(root().join(format!("examples/{slurm}.toml"))).unwrap();
        let text = text
            .replace("\"fixtures/minhash\"", "\"s3://trove/minhash\"")
            .replace("\"out/", "\"s3://trove/out/")
            .replace("\"logs/", "\"s3://trove/logs/")
            .replace("\"examples/", &format!("\"{}/", d.display()))
            .replace(
                "job_name = ",
                &format!(
                    "slurm_logs_folder = {:?}\njob_name = ",
                    d.join(format!("slurm-logs-{slurm}")).display().to_string()
                ),
            );
        std::fs::write(d.join(format!("{slurm}.toml")), text).unwrap();
    }
    let local =
        trove(port, &["run", "--no-progress", d.join("07_minhash_deduplication.toml").to_str().unwrap()]);
    assert!(local.status.success(), "{}", String::from_utf8_lossy(&local.stderr));
    let run = trove(port, &["run", "--wait", d.join("07_minhash_slurm.toml").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{text}{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(text.matches("submitted").count(), 4, "{text}");
    // Read the S3 outputs back and compare with the local run's files, byte for byte.
    for sub in ["deduplicated", "removed"] {
        let back = d.join(format!("back-{sub}.toml"));
        std::fs::write(
            &back,
            format!(
                "[executor]\ntasks = 1\nlogging_dir = {:?}\n\n[[pipeline]]\ntype = \"jsonl_reader\"\n\
                 data_folder = \"s3://trove/out/07_minhash_slurm/{sub}\"\n\n[[pipeline]]\ntype = \"jsonl_writer\"\n\
                 output_folder = {:?}\ncompression = \"none\"\n",
                d.join(format!("back-logs-{sub}")).display().to_string(),
                d.join(format!("from-s3/{sub}")).display().to_string()
            ),
        )
        .unwrap();
        assert!(trove(port, &["run", "--no-progress", back.to_str().unwrap()]).status.success());
        let local_back = d.join(format!("local-back-{sub}.toml"));
        std::fs::write(
            &local_back,
            std::fs::read_to_string(&back)
                .unwrap()
                .replace(
                    &format!("s3://trove/out/07_minhash_slurm/{sub}"),
                    &d.join(format!("out/07_minhash/{sub}")).display().to_string(),
                )
                .replace("from-s3", "from-local")
                .replace("back-logs", "local-back-logs"),
        )
        .unwrap();
        assert!(trove(port, &["run", "--no-progress", local_back.to_str().unwrap()]).status.success());
        let (a, b) = (
            std::fs::read(d.join(format!("from-s3/{sub}/00000.jsonl"))).unwrap(),
            std::fs::read(d.join(format!("from-local/{sub}/00000.jsonl"))).unwrap(),
        );
        assert!(!a.is_empty() && a == b, "{sub} differs between the Slurm-over-S3 run and the local run");
    }
}
