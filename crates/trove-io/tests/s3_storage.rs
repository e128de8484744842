//! The `s3://` storage backend against moto's S3 server on 127.0.0.1 (from the fixture cache:
//! `cargo xtask fixtures --for-tests`): a file is invisible until committed, a 20 MiB file goes up as a
//! multipart upload and reads back byte for byte through ranged reads, listing is relative and sorted,
//! removal of a missing file is not an error, and a missing bucket is an error naming the URL.
#![cfg(feature = "s3")]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn s3_folders_publish_whole_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let server = root.join("fixtures/cache/moto-venv/bin/moto_server");
    assert!(server.is_file(), "{} is missing: run `cargo xtask fixtures --for-tests`", server.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The port accepts connections a moment before the server answers them (CI once saw an empty
    // reply), so the bucket creation is retried until it succeeds.
    let mut up = false;
    for _ in 0..300 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let mut reply = String::new();
            if s.write_all(
                b"PUT /bucket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .is_ok()
            {
                let _ = s.read_to_string(&mut reply);
            }
            if reply.starts_with("HTTP/1.1 200") {
                up = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The only test in this binary: the process environment is ours to set.
    std::env::set_var("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"));
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    let result = std::panic::catch_unwind(|| {
        assert!(up, "moto_server did not create the bucket within 30 s");
        let storage = trove_io::s3::open("s3://bucket/some/prefix").unwrap();
        assert_eq!(storage.resolve("a/b.txt"), "s3://bucket/some/prefix/a/b.txt");

        // Invisible until committed; a 20 MiB file takes the multipart path.
        let big: Vec<u8> = (0..20u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut file = storage.create("data/big.bin").unwrap();
        file.write_all(&big).unwrap();
        assert!(!storage.exists("data/big.bin").unwrap(), "visible before commit");
        file.commit().unwrap();
        assert!(storage.exists("data/big.bin").unwrap());
        let mut back = Vec::new();
        storage.open("data/big.bin").unwrap().read_to_end(&mut back).unwrap();
        assert!(back == big, "20 MiB read back differs ({} bytes)", back.len());

        trove_core::storage::write_all(&*storage, "data/small.txt", b"hello").unwrap();
        trove_core::storage::write_all(&*storage, "data/sub/deep.txt", b"deep").unwrap();
        assert_eq!(storage.list("data", false).unwrap(), ["data/big.bin", "data/small.txt"]);
        assert_eq!(
            storage.list("data", true).unwrap(),
            ["data/big.bin", "data/small.txt", "data/sub/deep.txt"]
        );
        assert_eq!(trove_core::storage::read_to_string(&*storage, "data/small.txt").unwrap(), "hello");
        storage.remove("data/small.txt").unwrap();
        storage.remove("data/never-there.txt").unwrap();
        assert!(!storage.exists("data/small.txt").unwrap());

        let missing = trove_io::s3::open("s3://no-such-bucket/x").unwrap();
        let err = missing.list("", true).unwrap_err().to_string();
        assert!(err.contains("s3://no-such-bucket"), "{err}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
