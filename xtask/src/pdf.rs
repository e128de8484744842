//! `cargo xtask golden-pdf`: the PDF issue's reference outputs, from the Python packages the seed used.

use crate::bench::datatrove_python;
use crate::proc::run;
use crate::root;
use anyhow::Result;
use std::process::Command;

/// The XGBoost version that saved the seed's classifier.
const XGBOOST: &str = "xgboost-cpu==3.0.5";
/// PyMuPDF, which the seed's feature extractor used.
const PYMUPDF: &str = "pymupdf==2.0";
/// pypdf, whose test PDFs and text extraction the text route is compared with.
const PYPDF: &str = "pypdf==7.1.0";

/// Trains small XGBoost models with the wheel and records its predictions (and the seed model's) under
/// `fixtures/golden/xgboost/`; measures every page of the seed's samples with PyMuPDF (the seed's
/// feature definitions) into `fixtures/golden/pdf/pymupdf-features.json`; pypdf's text of its own test
/// PDFs and the seed's samples into `fixtures/golden/pdf/pypdf-text.json`.
pub fn golden_pdf() -> Result<()> {
    let python = datatrove_python()?;
    let has = Command::new(&python)
        .args([
            "-c",
            "import pymupdf, pypdf, xgboost; assert xgboost.__version__ == '3.0.5' and pymupdf.__version__ == '2.0' \
             and pypdf.__version__ == '7.1.0'",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has {
        run(Command::new(&python).args(["-m", "pip", "install", "-q", XGBOOST, PYMUPDF, PYPDF]))?;
    }
    run(Command::new(&python)
        .args([
            "xtask/python/golden_xgboost.py",
            "fixtures/golden/xgboost",
            "fixtures/pdf/seed/pdf_classifier_real_data.xgb",
        ])
        .current_dir(root()))?;
    run(Command::new(&python)
        .args([
            "xtask/python/golden_pdf_features.py",
            "fixtures/pdf/seed/samples",
            "fixtures/golden/pdf/pymupdf-features.json",
        ])
        .current_dir(root()))?;
    let resources = pdf_crawl().map(|_| crate::fixtures::cache().join("pypdf-7.1.0/resources"))?;
    run(Command::new(&python)
        .arg("xtask/python/golden_pdf_text.py")
        .arg(&resources)
        .args(["fixtures/pdf/seed/samples", "fixtures/golden/pdf/pypdf-text.json"])
        .current_dir(root()))?;
    eprintln!("golden-pdf: wrote fixtures/golden/xgboost/ and fixtures/golden/pdf/");
    Ok(())
}

/// One WARC response record, gzipped on its own (Common Crawl's layout).
fn warc_record(out: &mut Vec<u8>, headers: &[(&str, String)], http_type: &str, body: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut block =
        format!("HTTP/1.1 200 OK\r\nContent-Type: {http_type}\r\nContent-Length: {}\r\n\r\n", body.len())
            .into_bytes();
    block.extend_from_slice(body);
    let mut head = String::from("WARC/1.0\r\nWARC-Type: response\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
        block.len()
    ));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(head.as_bytes())?;
    gz.write_all(&block)?;
    gz.write_all(b"\r\n\r\n")?;
    out.extend(gz.finish()?);
    Ok(())
}

/// The PDFs in `subdir` of the PyPI sdist `package==version`, sorted, without the `skip` file names.
fn sdist_pdfs(package: &str, version: &str, subdir: &str, skip: &[&str]) -> Result<Vec<std::path::PathBuf>> {
    let unpacked = crate::fixtures::sdist(package, version)?;
    let mut pdfs: Vec<_> = std::fs::read_dir(unpacked.join(subdir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "pdf")
                && !skip.iter().any(|s| p.file_name().is_some_and(|f| f == *s))
        })
        .collect();
    pdfs.sort();
    Ok(pdfs)
}

/// A file's name as it appears in a URL (spaces escaped).
fn url_name(p: &std::path::Path) -> String {
    p.file_name().map(|f| f.to_string_lossy().replace(' ', "%20")).unwrap_or_default()
}

/// `fixtures/cache/pdf-crawl/`: the seed's 25 Common Crawl PDFs (with their record ids, URLs and
/// `WARC-Truncated` for the ones the crawler cut at 1 MiB), pypdf 7.1.0's test PDFs and OCRmyPDF
/// 17.13.0's (scans, JBIG2, CCITT, broken files; from their sdists) packed into a WARC the way a crawler
/// stores them, plus two HTML pages the PDF reader skips.
/// Example 08 reads it. Returns the folder.
pub fn pdf_crawl() -> Result<std::path::PathBuf> {
    let dir = crate::fixtures::cache().join("pdf-crawl");
    let warc = dir.join("CC-MAIN-finepdfs-sample.warc.gz");
    if warc.is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    let samples = root().join("fixtures/pdf/seed/samples");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(samples.join("sample_info.json"))?)?;
    let mut out = Vec::new();
    let date = |i: usize| format!("2018-04-20T08:{:02}:{:02}Z", i / 60 % 60, i % 60);
    let mut n = 0;
    for bucket in info.as_array().into_iter().flatten() {
        for s in bucket["info"].as_array().into_iter().flatten() {
            let name = s["saved_filename"].as_str().unwrap_or_default();
            let body = std::fs::read(samples.join(name))?;
            let mut headers = vec![
                ("WARC-Record-ID", s["id"].as_str().unwrap_or_default().to_string()),
                ("WARC-Date", date(n)),
                ("WARC-Target-URI", s["url"].as_str().unwrap_or_default().to_string()),
                ("WARC-Identified-Payload-Type", "application/pdf".to_string()),
            ];
            if s["is_truncated"].as_bool() == Some(true) {
                headers.push(("WARC-Truncated", "length".to_string()));
            }
            warc_record(&mut out, &headers, "application/pdf", &body)?;
            n += 1;
            if n % 10 == 0 {
                let page = format!("<html><body><p>Index page {n}: see the PDFs.</p></body></html>");
                let headers = [
                    ("WARC-Record-ID", format!("<urn:uuid:00000000-0000-4000-8000-{n:012}>")),
                    ("WARC-Date", date(n)),
                    ("WARC-Target-URI", format!("http://example.org/index{n}.html")),
                ];
                warc_record(&mut out, &headers, "text/html; charset=utf-8", page.as_bytes())?;
            }
        }
    }
    // pypdf's test PDFs: text, forms, encrypted, multilingual (issue-604.pdf stays out, see DATA.md).
    // No identified type: the reader goes by the declared type and the `.pdf` URL.
    let pdfs = sdist_pdfs("pypdf", "7.1.0", "resources", &["issue-604.pdf"])?;
    for (i, p) in pdfs.iter().enumerate() {
        let headers = [
            ("WARC-Record-ID", format!("<urn:uuid:00000000-0000-4000-9000-{i:012}>")),
            ("WARC-Date", date(n + i)),
            ("WARC-Target-URI", format!("http://example.org/pypdf/{}", url_name(p))),
        ];
        warc_record(&mut out, &headers, "application/pdf", &std::fs::read(p)?)?;
    }
    // OCRmyPDF's test PDFs: scans (skewed, rotated, 2400 dpi, JBIG2, CCITT, JPEG 2000), Type 3 fonts
    // without a Unicode mapping, a 1 MB blank page, an invalid file.
    let scans = sdist_pdfs("ocrmypdf", "17.13.0", "tests/resources", &[])?;
    for (i, p) in scans.iter().enumerate() {
        let headers = [
            ("WARC-Record-ID", format!("<urn:uuid:00000000-0000-4000-a000-{i:012}>")),
            ("WARC-Date", date(n + pdfs.len() + i)),
            ("WARC-Target-URI", format!("http://example.org/ocrmypdf/{}", url_name(p))),
            ("WARC-Identified-Payload-Type", "application/pdf".to_string()),
        ];
        warc_record(&mut out, &headers, "application/pdf", &std::fs::read(p)?)?;
    }
    let tmp = dir.join(".warc.tmp");
    std::fs::write(&tmp, &out)?;
    std::fs::rename(&tmp, &warc)?;
    let total = n + pdfs.len() + scans.len();
    eprintln!("fixtures: {} ({total} PDFs, {} bytes)", warc.display(), out.len());
    Ok(dir)
}
