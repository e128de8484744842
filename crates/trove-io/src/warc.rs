//! WARC: `warc_reader`, DataTrove's `WarcReader`.
//!
//! Reads `.warc`, `.warc.gz` (one gzip member per record, as Common Crawl, or the whole file) and
//! `.warc.zst`. `response` records with an HTML payload (and WET `conversion` records with text) become
//! documents: the id is `WARC-Record-ID`, metadata `url` (`WARC-Target-URI`, angle brackets removed) and
//! `date` (`WARC-Date`). HTTP headers are stripped (chunked transfer and gzip/deflate content encodings
//! decoded), the payload is decoded as UTF-8 or, failing that, in the charset a detector picks.
//!
//! A broken record (bad header, missing or lying `Content-Length`) is counted as `broken_records`, logged
//! with the file and byte offset, and skipped: reading resumes at the next `WARC/` line. A truncated file
//! ends the file's reading the same way. Nothing here panics on input.

use crate::folder::DataFolder;
use crate::reader::{reader_name, Flow, ReadState, ReaderOptions, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Read;
use trove_core::{BuildContext, Media, Metadata, Result, Source, SourceContext, Stage, StepConfig};

fn infer() -> Option<String> {
    Some("infer".into())
}
fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}
fn text_key() -> String {
    "text".into()
}
fn id_key() -> String {
    "id".into()
}

/// `warc_reader`: one document per HTML response record (DataTrove's `WarcReader`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarcReaderConfig {
    /// The folder to read.
    pub data_folder: String,
    /// A file listing the paths to read (relative to `data_folder`), one per line.
    #[serde(default)]
    pub paths_file: Option<String>,
    /// `"infer"` (from the extension), `"gzip"`, `"zstd"` or `"none"`.
    #[serde(default = "infer")]
    pub compression: Option<String>,
    /// Documents per task at most; `-1` for all.
    #[serde(default = "minus_one")]
    pub limit: i64,
    /// Documents to skip at the start of each task's input.
    #[serde(default)]
    pub skip: u64,
    /// Accepted for compatibility; the executor shows progress.
    #[serde(default)]
    pub file_progress: bool,
    /// Accepted for compatibility; the executor shows progress.
    #[serde(default)]
    pub doc_progress: bool,
    /// Key the text is stored under before the adapter runs (DataTrove's default adapter).
    #[serde(default = "text_key")]
    pub text_key: String,
    /// Key the id is stored under before the adapter runs.
    #[serde(default = "id_key")]
    pub id_key: String,
    /// Metadata added to every document.
    #[serde(default)]
    pub default_metadata: Option<Metadata>,
    /// Read subfolders too.
    #[serde(default = "yes")]
    pub recursive: bool,
    /// Only files matching this pattern.
    #[serde(default)]
    pub glob_pattern: Option<String>,
    /// Shuffle this task's files (seeded by rank).
    #[serde(default)]
    pub shuffle_files: bool,
}

impl WarcReaderConfig {
    /// A reader of `data_folder` with DataTrove's defaults.
    pub fn new(data_folder: impl Into<String>) -> WarcReaderConfig {
        WarcReaderConfig {
            data_folder: data_folder.into(),
            paths_file: None,
            compression: infer(),
            limit: -1,
            skip: 0,
            file_progress: false,
            doc_progress: false,
            text_key: text_key(),
            id_key: id_key(),
            default_metadata: None,
            recursive: true,
            glob_pattern: None,
            shuffle_files: false,
        }
    }

    fn options(&self) -> ReaderOptions {
        ReaderOptions {
            data_folder: self.data_folder.clone(),
            paths_file: self.paths_file.clone(),
            limit: self.limit,
            skip: self.skip,
            text_key: self.text_key.clone(),
            id_key: self.id_key.clone(),
            default_metadata: self.default_metadata.clone(),
            recursive: self.recursive,
            glob_pattern: self.glob_pattern.clone(),
            shuffle_files: self.shuffle_files,
            add_file_path: true,
        }
    }
}

impl StepConfig for WarcReaderConfig {
    const TYPE: &'static str = "warc_reader";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        crate::Compression::resolve(self.compression.as_deref(), "")?;
        Ok(Stage::source(reader_name("🕷 Warc"), WarcReader { config: self.clone(), pdf: false }))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.options().check(problems);
        if let Err(e) = crate::Compression::resolve(self.compression.as_deref(), "") {
            problems.push(e.to_string());
        }
    }
}

/// `pdf_warc_reader`: one document per PDF in a crawl (FinePDFs' first stage). A `response` record is a
/// PDF when its `WARC-Identified-Payload-Type` or its HTTP `Content-Type` is `application/pdf`, or its
/// URL's path ends in `.pdf`. The HTTP body goes to `media[0]` (type document, bytes kept); the text is
/// empty; metadata has `url`, `date`, `content_type` (declared), `content_length` (bytes of the body)
/// and `is_truncated` (the record has `WARC-Truncated`). Same parameters as `warc_reader`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PdfWarcReaderConfig(pub WarcReaderConfig);

impl StepConfig for PdfWarcReaderConfig {
    const TYPE: &'static str = "pdf_warc_reader";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        crate::Compression::resolve(self.0.compression.as_deref(), "")?;
        Ok(Stage::source(reader_name("🕷 PDF Warc"), WarcReader { config: self.0.clone(), pdf: true }))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.0.check(problems);
    }
}

/// The runtime WARC reader (HTML, or PDF for `pdf_warc_reader`).
pub struct WarcReader {
    config: WarcReaderConfig,
    pdf: bool,
}

impl Source for WarcReader {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let options = self.config.options();
        let folder = DataFolder::open(&options.data_folder)?;
        let files = options.shard(&folder, cx.task.rank, cx.task.world_size)?;
        let mut state = ReadState::new(&options, &folder);
        for (i, file) in files.iter().enumerate() {
            if state.done() {
                break;
            }
            state.start_file(cx, file, i, files.len());
            let full = folder.resolve(file);
            let mut decoded = folder.open_read(file, self.config.compression.as_deref())?;
            let mut records = RecordReader::new();
            let mut index: u64 = 0;
            loop {
                let raw = match records.next(decoded.reader()) {
                    Ok(Next::Record(r)) => r,
                    Ok(Next::Broken { offset, why }) => {
                        cx.stats.incr("broken_records");
                        tracing::warn!("{full}: record at byte {offset} (decompressed): {why}; skipped");
                        index += 1;
                        continue;
                    }
                    Ok(Next::End) => break,
                    Err(e) => {
                        cx.stats.incr("broken_records");
                        tracing::warn!(
                            "{full}: reading stopped at byte {} of the file ({} decompressed): {e}",
                            decoded.raw_offset(),
                            records.offset
                        );
                        break;
                    }
                };
                let this = index;
                index += 1;
                let record = if self.pdf {
                    pdf_record(&raw, &self.config)
                } else {
                    document_record(&raw, &self.config)
                };
                let Some(record) = record else { continue };
                if state.offer(cx, record, file, this)? == Flow::Stop {
                    break;
                }
            }
            state.end_file(cx);
        }
        Ok(())
    }
}

/// One WARC record: its headers (in file order) and its block.
#[derive(Debug, Default)]
pub struct RawRecord {
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The content block.
    pub block: Vec<u8>,
    /// Byte offset of the record in the decompressed stream.
    pub offset: u64,
}

impl RawRecord {
    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What [`RecordReader::next`] found.
pub enum Next {
    /// A well-formed record.
    Record(RawRecord),
    /// A record that could not be read; reading can go on.
    Broken {
        /// Where it started (decompressed bytes).
        offset: u64,
        /// What was wrong.
        why: String,
    },
    /// The end of the stream.
    End,
}

/// Splits a decompressed WARC stream into records, resynchronizing after broken ones.
pub struct RecordReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Decompressed bytes consumed so far.
    pub offset: u64,
}

impl Default for RecordReader {
    fn default() -> Self {
        RecordReader::new()
    }
}

const MAX_HEADER: usize = 1 << 20;

impl RecordReader {
    /// A reader with an empty buffer.
    pub fn new() -> RecordReader {
        RecordReader { buf: vec![0; 1 << 18], start: 0, end: 0, eof: false, offset: 0 }
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Makes at least `n` bytes available unless the stream ends first; returns how many are.
    fn fill(&mut self, r: &mut dyn Read, n: usize) -> std::io::Result<usize> {
        while self.end - self.start < n && !self.eof {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let grow = self.buf.len().max(n - self.buf.len().min(n));
                self.buf.resize(self.buf.len() + grow, 0);
            }
            let got = r.read(&mut self.buf[self.end..])?;
            if got == 0 {
                self.eof = true;
            }
            self.end += got;
        }
        Ok(self.end - self.start)
    }

    /// Skips to the next line that starts a record (`WARC/`), from the current position.
    fn resync(&mut self, r: &mut dyn Read) -> std::io::Result<()> {
        loop {
            let avail = self.avail();
            if let Some(p) = memchr::memmem::find(avail, b"\nWARC/") {
                self.consume(p + 1);
                return Ok(());
            }
            if self.eof {
                let n = self.end - self.start;
                self.consume(n);
                return Ok(());
            }
            // Keep the last few bytes (a marker may straddle the read).
            let keep = 6.min(avail.len());
            let n = avail.len() - keep;
            self.consume(n);
            let want = self.end - self.start + (1 << 16);
            self.fill(r, want)?;
        }
    }

    /// The next record.
    pub fn next(&mut self, r: &mut dyn Read) -> std::io::Result<Next> {
        // Skip blank lines between records.
        loop {
            if self.fill(r, 1)? == 0 {
                return Ok(Next::End);
            }
            let skip = self.avail().iter().take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t')).count();
            if skip == 0 {
                break;
            }
            self.consume(skip);
        }
        let offset = self.offset;
        self.fill(r, 8)?;
        if !self.avail().starts_with(b"WARC/") {
            self.resync(r)?;
            return Ok(Next::Broken {
                offset,
                why: "no `WARC/` version line where a record should start".into(),
            });
        }
        // Headers end at the first empty line.
        let header_end = loop {
            let avail = self.avail();
            if let Some(p) = memchr::memmem::find(avail, b"\r\n\r\n") {
                break Some((p, 4));
            }
            if let Some(p) = memchr::memmem::find(avail, b"\n\n") {
                break Some((p, 2));
            }
            if avail.len() > MAX_HEADER || self.eof {
                break None;
            }
            let want = avail.len() + (1 << 16);
            self.fill(r, want)?;
        };
        let Some((hlen, sep)) = header_end else {
            self.consume(1);
            self.resync(r)?;
            return Ok(Next::Broken { offset, why: "headers do not end (no empty line)".into() });
        };
        let head = String::from_utf8_lossy(&self.avail()[..hlen]).into_owned();
        self.consume(hlen + sep);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines().skip(1) {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let record = RawRecord { headers, block: Vec::new(), offset };
        let Some(length) = record.header("Content-Length").and_then(|v| v.parse::<usize>().ok()) else {
            self.resync(r)?;
            return Ok(Next::Broken { offset, why: "missing or invalid Content-Length".into() });
        };
        let have = self.fill(r, length + 4)?;
        let boundary = have >= length && {
            let tail = &self.avail()[length..have.min(length + 4)];
            tail.is_empty() || tail.starts_with(b"\r\n") || tail.starts_with(b"\n")
        };
        if !boundary {
            // A lying Content-Length or a truncated file: resume at the next record start, if any.
            if let Some(p) = memchr::memmem::find(&self.avail()[..have], b"\nWARC/") {
                self.consume(p + 1);
                return Ok(Next::Broken {
                    offset,
                    why: format!("Content-Length {length} does not end at a record boundary"),
                });
            }
            if have < length {
                self.consume(have);
                return Ok(Next::Broken {
                    offset,
                    why: format!("truncated: Content-Length {length}, {have} bytes left"),
                });
            }
            self.consume(length);
            self.resync(r)?;
            return Ok(Next::Broken {
                offset,
                why: format!("Content-Length {length} does not end at a record boundary"),
            });
        }
        let block = self.avail()[..length].to_vec();
        self.consume(length);
        Ok(Next::Record(RawRecord { block, ..record }))
    }
}

/// DataTrove's `process_record`: the document fields of an HTML response (or WET conversion) record.
fn document_record(raw: &RawRecord, config: &WarcReaderConfig) -> Option<Record> {
    let kind = raw.header("WARC-Type")?;
    let conversion = kind == "conversion";
    if kind != "response" && !conversion {
        return None;
    }
    let accepted = |mime: &str| {
        mime == "text/html" || mime == "application/xhtml+xml" || (conversion && mime == "text/plain")
    };
    let identified = raw.header("WARC-Identified-Payload-Type");
    if identified.is_some_and(|m| !accepted(m)) {
        return None;
    }
    let payload = payload(raw, conversion);
    if identified.is_none() && !accepted(sniff(&payload, conversion)) {
        return None;
    }
    let text = decode(&payload)?;
    let fields = record_fields(raw, text, target_uri(raw))?;
    Some(adapt(fields, config, Vec::new()))
}

/// DataTrove's record dict: `{"text", "id", "url", "date"}`.
fn record_fields(
    raw: &RawRecord,
    text: String,
    url: Option<String>,
) -> Option<serde_json::Map<String, Value>> {
    let id = raw.header("WARC-Record-ID")?.to_string();
    let mut fields = serde_json::Map::new();
    fields.insert("text".into(), Value::String(text));
    fields.insert("id".into(), Value::String(id));
    fields.insert("url".into(), url.map_or(Value::Null, Value::String));
    fields.insert("date".into(), raw.header("WARC-Date").map_or(Value::Null, |d| Value::String(d.into())));
    Some(fields)
}

/// DataTrove's adapter: text and id from `text_key` and `id_key`, the other fields to metadata.
fn adapt(mut fields: serde_json::Map<String, Value>, config: &WarcReaderConfig, media: Vec<Media>) -> Record {
    let text = match fields.shift_remove(&config.text_key) {
        Some(Value::String(t)) => Some(t),
        _ => None,
    };
    let id = fields.shift_remove(&config.id_key).and_then(crate::reader::id_from_value);
    Record { text, id, media, metadata: None, rest: fields }
}

/// A PDF response record as a document (see [`PdfWarcReaderConfig`]).
fn pdf_record(raw: &RawRecord, config: &WarcReaderConfig) -> Option<Record> {
    if raw.header("WARC-Type")? != "response" {
        return None;
    }
    let is_pdf =
        |mime: &str| mime.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/pdf"));
    let declared = http_header(raw, "content-type");
    let url = target_uri(raw);
    let by_url = url.as_deref().is_some_and(|u| {
        let path = u.split(['?', '#']).next().unwrap_or(u).as_bytes();
        path.len() >= 4 && path[path.len() - 4..].eq_ignore_ascii_case(b".pdf")
    });
    let identified = raw.header("WARC-Identified-Payload-Type").is_some_and(is_pdf);
    if !(identified || declared.as_deref().is_some_and(is_pdf) || by_url) {
        return None;
    }
    let bytes = payload(raw, false);
    let mut fields = record_fields(raw, String::new(), url.clone())?;
    fields.insert("content_type".into(), declared.map_or(Value::Null, Value::String));
    fields.insert("content_length".into(), Value::from(bytes.len()));
    fields.insert("is_truncated".into(), Value::Bool(raw.header("WARC-Truncated").is_some()));
    let media = Media {
        id: raw.header("WARC-Record-ID")?.to_string(),
        media_type: trove_core::document::media_type::DOCUMENT,
        url: url.unwrap_or_default(),
        length: Some(bytes.len() as i64),
        media_bytes: Some(bytes),
        ..Media::default()
    };
    Some(adapt(fields, config, vec![media]))
}

/// `WARC-Target-URI` without angle brackets, spaces escaped.
fn target_uri(raw: &RawRecord) -> Option<String> {
    let mut u = raw.header("WARC-Target-URI")?.to_string();
    if u.starts_with('<') && u.ends_with('>') && u.len() >= 2 {
        u = u[1..u.len() - 1].to_string();
    }
    if u.contains(' ') {
        u = u.replace(' ', "%20");
    }
    Some(u)
}

/// A header of the HTTP response in the record's block (name in lower case).
fn http_header(raw: &RawRecord, name: &str) -> Option<String> {
    let block = &raw.block;
    if !block.starts_with(b"HTTP/") {
        return None;
    }
    let end = memchr::memmem::find(block, b"\r\n\r\n").or_else(|| memchr::memmem::find(block, b"\n\n"))?;
    let head = String::from_utf8_lossy(&block[..end]);
    head.lines().skip(1).find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    })
}

/// The payload: the block without its HTTP status line and headers (responses), with chunked transfer
/// and gzip/deflate content encodings undone (as warcio's `content_stream`).
fn payload(raw: &RawRecord, conversion: bool) -> Vec<u8> {
    let block = &raw.block;
    let is_http = !conversion && raw.header("Content-Type").is_some_and(|c| c.contains("application/http"));
    if !is_http || !block.starts_with(b"HTTP/") {
        return block.clone();
    }
    let (head_len, sep) = match memchr::memmem::find(block, b"\r\n\r\n") {
        Some(p) => (p, 4),
        None => match memchr::memmem::find(block, b"\n\n") {
            Some(p) => (p, 2),
            None => return Vec::new(),
        },
    };
    let head = String::from_utf8_lossy(&block[..head_len]).to_ascii_lowercase();
    let body = &block[head_len + sep..];
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.trim() == name).map(|(_, v)| v.trim().to_string())
        })
    };
    let mut data = if header("transfer-encoding").as_deref() == Some("chunked") {
        dechunk(body).unwrap_or_else(|| body.to_vec())
    } else {
        body.to_vec()
    };
    match header("content-encoding").as_deref() {
        Some("gzip" | "x-gzip") => {
            let mut out = Vec::new();
            if flate2::read::MultiGzDecoder::new(&data[..]).read_to_end(&mut out).is_ok() {
                data = out;
            }
        }
        Some("deflate") => {
            let mut out = Vec::new();
            if flate2::read::ZlibDecoder::new(&data[..]).read_to_end(&mut out).is_ok() {
                data = out;
            } else {
                out.clear();
                if flate2::read::DeflateDecoder::new(&data[..]).read_to_end(&mut out).is_ok() {
                    data = out;
                }
            }
        }
        _ => {}
    }
    data
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let line_end = memchr::memchr(b'\n', body)?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?.trim();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 1..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size..)?;
        body = body.strip_prefix(b"\r\n").or_else(|| body.strip_prefix(b"\n")).unwrap_or(body);
    }
}

/// A small stand-in for libmagic's MIME sniffing on what matters here: HTML or plain text.
fn sniff(payload: &[u8], conversion: bool) -> &'static str {
    let head = &payload[..payload.len().min(4096)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    let head = head[start..].strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head[start..]);
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    const TAGS: [&[u8]; 12] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<title",
        b"<body",
        b"<script",
        b"<style",
        b"<table",
        b"<a href",
        b"<h1",
        b"<meta",
        b"<!--",
    ];
    if TAGS.iter().any(|t| lower.starts_with(t)) {
        return "text/html";
    }
    if !head.contains(&0) && std::str::from_utf8(head).is_ok() {
        // libmagic also finds markup further in; a text file with an <html> tag counts as HTML.
        if memchr::memmem::find(&lower, b"<html").is_some()
            || memchr::memmem::find(&lower, b"<!doctype html").is_some()
        {
            return "text/html";
        }
        return if conversion { "text/plain" } else { "text/plain; not html" };
    }
    "application/octet-stream"
}

/// UTF-8, else the detected charset; `None` when neither decodes cleanly (DataTrove drops those).
fn decode(bytes: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_string());
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, chardetng::Utf8Detection::Deny);
    if encoding == encoding_rs::UTF_8 {
        return None;
    }
    encoding.decode_without_bom_handling_and_without_replacement(bytes).map(|c| c.into_owned())
}
