//! The PDF stages on the seed's real Common Crawl PDFs (`fixtures/pdf/seed/samples`): a crawl-layout
//! WARC of them read with `pdf_warc_reader`, the truncation filter's reasons, and the bytes handed from
//! one stage to the next through JSONL (`save_media_bytes`) unchanged.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use trove::core::{LocalExecutor, LocalExecutorConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn samples() -> PathBuf {
    root().join("fixtures/pdf/seed/samples")
}

/// One gzip member per record, as Common Crawl stores them: an HTTP response with `body`.
fn record(out: &mut Vec<u8>, id: &str, url: &str, content_type: &str, body: &[u8], extra: &str) {
    let mut block =
        format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len())
            .into_bytes();
    block.extend_from_slice(body);
    let head = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Date: 2018-04-20T08:14:00Z\r\n\
         WARC-Target-URI: {url}\r\nContent-Type: application/http; msgtype=response\r\n{extra}Content-Length: {}\r\n\r\n",
        block.len()
    );
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(head.as_bytes()).unwrap();
    gz.write_all(&block).unwrap();
    gz.write_all(b"\r\n\r\n").unwrap();
    out.extend(gz.finish().unwrap());
}

fn run(dir: &Path, name: &str, toml: &str) -> trove::core::RunReport {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, toml).unwrap();
    let config = LocalExecutorConfig {
        logging_dir: Some(dir.join(format!("logs-{name}")).display().to_string()),
        ..Default::default()
    };
    LocalExecutor::from_pipeline_file(&file, trove::registry(), config).unwrap().run().unwrap()
}

fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn pdfs_from_a_crawl_survive_two_stages_byte_for_byte() {
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let names = ["high_ocr_01", "low_ocr_03", "very_low_ocr_05", "medium_ocr_03"];
    let mut warc = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let bytes = std::fs::read(samples().join(format!("{name}.pdf"))).unwrap();
        // The 1 MiB samples were cut by the crawler, which says so.
        let extra = if bytes.len() == 1 << 20 { "WARC-Truncated: length\r\n" } else { "" };
        let (url, ctype) = match i {
            0 => (format!("http://example.com/{name}.pdf"), "application/octet-stream"), // by URL
            1 => (format!("http://example.com/get?id={name}"), "application/pdf"),       // by Content-Type
            _ => (format!("http://example.com/{name}.PDF?x=1"), "application/pdf; qs=1"),
        };
        record(&mut warc, &format!("{i:08}-0000-0000-0000-000000000000"), &url, ctype, &bytes, extra);
    }
    record(&mut warc, "html", "http://example.com/page.html", "text/html", b"<html><p>no pdf</p></html>", "");
    // A URL ending in a multi-byte character (its last four bytes are not a `str` boundary).
    record(&mut warc, "utf8", "http://example.com/\u{e9}abc", "text/html", b"<p>caf\xc3\xa9</p>", "");
    // A tiny "PDF" that is an error page, and one with no header.
    record(&mut warc, "small", "http://example.com/small.pdf", "application/pdf", b"%PDF-1.4 tiny", "");
    record(&mut warc, "nohdr", "http://example.com/x.pdf", "application/pdf", &[b'x'; 5000], "");
    std::fs::create_dir_all(d.join("crawl")).unwrap();
    std::fs::write(d.join("crawl/pdfs.warc.gz"), &warc).unwrap();
    let p = |s: &str| d.join(s).display().to_string();
    let report = run(
        d,
        "stage1",
        &format!(
            "[[pipeline]]\ntype = \"pdf_warc_reader\"\ndata_folder = {:?}\n\n\
             [[pipeline]]\ntype = \"pdf_truncation_filter\"\naction = \"mark_for_refetch\"\n\n\
             [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = {:?}\ncompression = \"none\"\nsave_media_bytes = true\n",
            p("crawl"),
            p("stage1")
        ),
    );
    assert!(d.join("stage1/00000.jsonl").exists(), "{:?}", report.stats);
    let docs = read_jsonl(&d.join("stage1/00000.jsonl"));
    assert_eq!(docs.len(), 6, "the HTML record is not a PDF");
    let reasons: Vec<String> =
        docs.iter().map(|d| d["metadata"]["truncation_reasons"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(
        reasons,
        ["warc_truncated;exact_1mib", "", "", "warc_truncated;exact_1mib", "too_small", "no_pdf_header"]
    );
    assert_eq!(docs[0]["metadata"]["url"], "http://example.com/high_ocr_01.pdf");
    assert_eq!(docs[0]["metadata"]["needs_refetch"], true);
    assert_eq!(docs[1]["metadata"]["is_truncated"], false);
    assert_eq!(docs[1]["metadata"]["content_length"], 107_287);
    assert_eq!(docs[1]["id"], "<urn:uuid:00000001-0000-0000-0000-000000000000>");
    // Stage 2 reads them back and writes them again: the bytes are the sample files'.
    run(
        d,
        "stage2",
        &format!(
            "[[pipeline]]\ntype = \"jsonl_reader\"\ndata_folder = {:?}\n\n\
             [[pipeline]]\ntype = \"pdf_truncation_filter\"\n\n\
             [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = {:?}\ncompression = \"none\"\nsave_media_bytes = true\n",
            p("stage1"),
            p("stage2")
        ),
    );
    let kept = read_jsonl(&d.join("stage2/00000.jsonl"));
    assert_eq!(kept.len(), 2, "exclude drops the four truncated ones");
    use base64::Engine as _;
    for (doc, name) in kept.iter().zip(["low_ocr_03", "very_low_ocr_05"]) {
        let b64 = doc["media"][0]["media_bytes"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        assert!(bytes == std::fs::read(samples().join(format!("{name}.pdf"))).unwrap(), "{name} changed");
    }
}

#[test]
fn pdf_reader_reads_a_folder_of_pdfs() {
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let p = |s: &str| d.join(s).display().to_string();
    let report = run(
        d,
        "folder",
        &format!(
            "[[pipeline]]\ntype = \"pdf_reader\"\ndata_folder = {:?}\nmax_size_bytes = 1000000\n\n\
             [[pipeline]]\ntype = \"pdf_truncation_filter\"\n\n\
             [[pipeline]]\ntype = \"jsonl_writer\"\noutput_folder = {:?}\ncompression = \"none\"\n",
            samples().display().to_string(),
            p("out")
        ),
    );
    let docs = read_jsonl(&d.join("out/00000.jsonl"));
    // 25 samples, three of them 1 MiB (over max_size_bytes); none of the rest is truncated.
    assert_eq!(docs.len(), 22);
    assert_eq!(docs[0]["id"], "high_ocr_02");
    let reader = &report.stats.steps[0];
    assert_eq!(reader.stats.get("too_large").map(|m| m.total), Some(3.0), "{reader:?}");
}

/// Seed example 08's first stage on the crawl `cargo xtask fixtures --for-tests` packs (the seed's 25
/// PDFs, pypdf's 53 test PDFs, two HTML pages): truncated PDFs out, password-protected ones dropped
/// by the router, the rest split by route, with their bytes.
#[test]
fn example_08_routes_the_fixture_crawl() {
    let crawl = root().join("fixtures/cache/pdf-crawl");
    assert!(crawl.is_dir(), "run `cargo xtask fixtures --for-tests` first (cargo xtask test does)");
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let text = std::fs::read_to_string(root().join("examples/08_finepdfs/08_route.toml")).unwrap();
    let text = text
        .replace("\"out/", &format!("\"{}/out/", d.display()))
        .replace("\"logs/", &format!("\"{}/logs/", d.display()))
        .replace("\"fixtures/", &format!("\"{}/fixtures/", root().display()));
    let file = d.join("08_route.toml");
    std::fs::write(&file, text).unwrap();
    let config = LocalExecutorConfig {
        logging_dir: Some(d.join("logs/08_finepdfs/route").display().to_string()),
        ..Default::default()
    };
    let report = LocalExecutor::from_pipeline_file(&file, trove::registry(), config).unwrap().run().unwrap();
    let count = |step: usize, key: &str| report.stats.steps[step].stats.get(key).map_or(0.0, |m| m.total);
    assert_eq!(count(0, "documents"), 120.0, "the two HTML pages are skipped");
    assert_eq!(count(1, "dropped_truncated"), 12.0, "5 cut by the crawler, 7 too small");
    assert_eq!((count(1, "warc_truncated"), count(1, "too_small")), (5.0, 7.0));
    assert_eq!(count(2, "dropped_needs_password"), 4.0);
    assert_eq!((count(2, "ocr_extraction"), count(2, "text_extraction")), (53.0, 51.0));
    let routed = |route: &str| {
        let bytes = std::fs::read(d.join(format!("out/08_finepdfs/routed/{route}/00000.jsonl.gz"))).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).collect::<Vec<_>>()
    };
    let ocr = routed("ocr_extraction");
    let scanned =
        ocr.iter().find(|d| d["metadata"]["url"].as_str().unwrap().contains("china-jinpei")).unwrap();
    assert!(scanned["metadata"]["ocr_probability"].as_f64().unwrap() >= 0.5);
    assert_eq!(scanned["metadata"]["num_pages"], 1);
    assert!(scanned["media"][0]["media_bytes"].as_str().unwrap().len() > 100_000, "the PDF travels with it");
    assert!(routed("text_extraction")
        .iter()
        .all(|d| d["metadata"]["ocr_probability"].as_f64().unwrap() < 0.5));
    // OCRmyPDF's scans (JBIG2, CCITT G4, 2400 dpi, skewed) take the OCR route.
    for name in ["jbig2.pdf", "ccitt.pdf", "2400dpi.pdf", "skew.pdf", "linn.pdf"] {
        assert!(
            ocr.iter()
                .any(|d| d["metadata"]["url"].as_str().unwrap().ends_with(&format!("/ocrmypdf/{name}"))),
            "{name} is not on the OCR route"
        );
    }
}

/// Runs example 08's stage `name` (`08_route`, `08_ocr`, ...) with its folders moved into `d`, its
/// dependency included; `edit` changes the file's text first.
fn run_example_08(d: &Path, name: &str, edit: impl Fn(String) -> String) -> trove::core::RunReport {
    let mut last = None;
    for stage in ["08_route", name] {
        let text =
            std::fs::read_to_string(root().join(format!("examples/08_finepdfs/{stage}.toml"))).unwrap();
        let text = text
            .replace("\"out/", &format!("\"{}/out/", d.display()))
            .replace("\"logs/", &format!("\"{}/logs/", d.display()))
            .replace("\"fixtures/", &format!("\"{}/fixtures/", root().display()));
        let text = if stage == name { edit(text) } else { text };
        let text: String =
            text.lines().filter(|l| !l.starts_with("depends")).map(|l| format!("{l}\n")).collect();
        let file = d.join(format!("{stage}.toml"));
        std::fs::write(&file, text).unwrap();
        let config = LocalExecutorConfig {
            logging_dir: Some(d.join(format!("logs/{stage}")).display().to_string()),
            ..Default::default()
        };
        last =
            Some(LocalExecutor::from_pipeline_file(&file, trove::registry(), config).unwrap().run().unwrap());
        if stage == name {
            break;
        }
    }
    last.unwrap()
}

fn read_gz_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(path).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text).unwrap();
    text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).collect()
}

/// Stage 3 (the OCR route) against an OpenAI-compatible test server on 127.0.0.1 that answers the
/// seed's recorded RolmOCR outputs when it receives the pages of those PDFs (recognised by the PNG
/// bytes, rendered here the same way) — a protocol test of the whole stage, not a model test.
#[test]
fn example_08_ocr_stage_sends_every_page_and_keeps_the_answer() {
    use base64::Engine as _;
    use std::collections::HashMap;
    use std::sync::Arc;
    use trove::infer::local_server::{completion_reply, LocalServer, Reply, Request};

    let crawl = root().join("fixtures/cache/pdf-crawl");
    assert!(crawl.is_dir(), "run `cargo xtask fixtures --for-tests` first (cargo xtask test does)");
    // The seed's outputs, keyed by the first page's PNG as the request carries it.
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut answers: HashMap<String, String> = HashMap::new();
    let mut expected: HashMap<String, String> = HashMap::new();
    let reference =
        std::fs::read_to_string(root().join("fixtures/pdf/seed/rolmocr_reference_outputs.jsonl")).unwrap();
    for line in reference.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (id, text) = (v["id"].as_str().unwrap(), v["text"].as_str().unwrap());
        let meta = v["metadata"]["source"].as_str().unwrap();
        let name =
            ["high_ocr_02", "high_ocr_04", "high_ocr_05"].into_iter().find(|n| meta.contains(n)).unwrap();
        let pdf = std::fs::read(samples().join(format!("{name}.pdf"))).unwrap();
        let pages = trove::pdf::render::render_pdf(&Default::default(), &pdf).unwrap();
        answers.insert(format!("data:image/png;base64,{}", b64.encode(&pages[0].png)), text.to_string());
        expected.insert(id.to_string(), text.to_string());
    }
    assert_eq!(expected.len(), 3);
    let pages_seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = pages_seen.clone();
    let server = LocalServer::start(Arc::new(move |req: &Request| {
        if req.path != "/v1/chat/completions" {
            return Reply::Json(404, serde_json::json!({}));
        }
        let content = req.body["messages"][0]["content"].as_array().cloned().unwrap_or_default();
        let images: Vec<&str> = content.iter().filter_map(|c| c["image_url"]["url"].as_str()).collect();
        seen.lock().unwrap().push(images.len());
        let text = images.first().and_then(|i| answers.get(*i)).cloned();
        completion_reply(&text.unwrap_or_else(|| format!("{} pages read", images.len())), 1000, 50, true)
    }))
    .unwrap();

    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let url = server.url();
    // At most 4 pages a document here, to keep the test short (the example renders up to 64).
    let report = run_example_08(d, "08_ocr", |t| {
        t.replace("http://127.0.0.1:8000", &url)
            .replace("max_visual_tokens = 2048", "max_visual_tokens = 2048\nmax_pages = 4")
    });
    let count = |step: usize, key: &str| report.stats.steps[step].stats.get(key).map_or(0.0, |m| m.total);
    let rendered = count(0, "documents") - count(1, "dropped");
    assert_eq!(count(0, "documents"), 53.0);
    assert_eq!(count(2, "successful_requests"), rendered);
    let seen = pages_seen.lock().unwrap().clone();
    assert_eq!(seen.len() as f64, rendered, "one request per document");
    assert!(seen.iter().all(|&n| (1..=4).contains(&n)), "{seen:?}");
    assert_eq!(seen.iter().sum::<usize>() as f64, count(1, "rendered_pages"));

    let out = read_gz_jsonl(&d.join("out/08_finepdfs/ocr/00000.jsonl.gz"));
    assert_eq!(out.len() as f64, rendered);
    for doc in &out {
        let id = doc["id"].as_str().unwrap();
        assert_eq!(doc["metadata"]["processing_method"], "rolmocr");
        assert!(doc["metadata"].get("rollout_results").is_none());
        match expected.get(id) {
            Some(text) => assert_eq!(doc["text"].as_str().unwrap(), text, "{id}"),
            None => assert!(doc["text"].as_str().unwrap().ends_with("pages read"), "{id}"),
        }
    }
    assert_eq!(out.iter().filter(|d| expected.contains_key(d["id"].as_str().unwrap())).count(), 3);
}

/// Stage 2 (the text route) on what stage 1 routed to text extraction.
#[test]
fn example_08_text_stage_extracts_the_text_route() {
    let crawl = root().join("fixtures/cache/pdf-crawl");
    assert!(crawl.is_dir(), "run `cargo xtask fixtures --for-tests` first (cargo xtask test does)");
    let dir = tempfile::tempdir_in(root().join("target")).unwrap();
    let d = dir.path();
    let report = run_example_08(d, "08_text", |t| t);
    let count = |step: usize, key: &str| report.stats.steps[step].stats.get(key).map_or(0.0, |m| m.total);
    assert_eq!(count(0, "documents"), 51.0);
    let out = read_gz_jsonl(&d.join("out/08_finepdfs/text/00000.jsonl.gz"));
    let dropped: f64 = ["no_text", "extract_failed", "needs_password", "extract_timeout"]
        .iter()
        .map(|r| count(1, &format!("dropped_{r}")))
        .sum();
    assert_eq!(out.len() as f64 + dropped, 51.0);
    assert!(out.len() >= 45, "{} documents with text", out.len());
    // The seed's very_low_ocr_05 (a text PDF): its words, in reading order, with line breaks.
    let crazy = out.iter().find(|d| d["text"].as_str().unwrap().contains("The Crazy Ones")).unwrap();
    assert!(crazy["text"].as_str().unwrap().contains("Heres to the crazy ones. The misfits. The rebels."));
    assert!(out.iter().all(|d| d["metadata"]["extracted_pages"].as_u64().unwrap() >= 1));
    assert!(out.iter().all(|d| !d["text"].as_str().unwrap().contains('\u{FB01}')), "ligatures spelled out");
}
