//! JSONL: `jsonl_reader` and `jsonl_writer`, DataTrove's `JsonlReader` and `JsonlWriter`.
//!
//! Lines are parsed with simd-json straight into a [`Record`] (one pass, key order kept); documents are
//! written the way orjson writes them, so files from trove and DataTrove compare byte for byte.

use crate::compression::Compression;
use crate::folder::DataFolder;
use crate::reader::{id_from_value, reader_name, Flow, ReadState, ReaderOptions, Record};
use crate::writer::{writer_name, DiskWriter, FormatFile};
use base64::Engine as _;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use trove_core::pyjson::{write_orjson_str, write_orjson_value};
use trove_core::{
    AtomicFile, BuildContext, Context, Document, Error, IoResultExt, Media, Metadata, Result, Source,
    SourceContext, Stage, Step, StepConfig,
};

fn infer() -> Option<String> {
    Some("infer".into())
}
fn gzip() -> Option<String> {
    Some("gzip".into())
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

/// `jsonl_reader`: one document per line of `.jsonl` files (DataTrove's `JsonlReader`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlReaderConfig {
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
    /// Key holding the text.
    #[serde(default = "text_key")]
    pub text_key: String,
    /// Key holding the id.
    #[serde(default = "id_key")]
    pub id_key: String,
    /// Metadata added to every document.
    #[serde(default)]
    pub default_metadata: Option<Metadata>,
    /// Read subfolders too.
    #[serde(default = "yes")]
    pub recursive: bool,
    /// Only files matching this pattern (relative to `data_folder`).
    #[serde(default)]
    pub glob_pattern: Option<String>,
    /// Shuffle this task's files (seeded by rank, so reruns agree).
    #[serde(default)]
    pub shuffle_files: bool,
    /// Add the source file's path as `file_path` metadata when missing.
    #[serde(default = "yes")]
    pub add_file_path: bool,
}

impl JsonlReaderConfig {
    /// A reader of `data_folder` with DataTrove's defaults.
    pub fn new(data_folder: impl Into<String>) -> JsonlReaderConfig {
        JsonlReaderConfig {
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
            add_file_path: true,
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
            add_file_path: self.add_file_path,
        }
    }
}

impl StepConfig for JsonlReaderConfig {
    const TYPE: &'static str = "jsonl_reader";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        Compression::resolve(self.compression.as_deref(), "")?;
        Ok(Stage::source(
            reader_name("🐿 Jsonl"),
            JsonlReader { options: self.options(), compression: self.compression.clone() },
        ))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.options().check(problems);
        if let Err(e) = Compression::resolve(self.compression.as_deref(), "") {
            problems.push(e.to_string());
        }
    }
}

/// The runtime JSONL reader.
pub struct JsonlReader {
    options: ReaderOptions,
    compression: Option<String>,
}

impl Source for JsonlReader {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let folder = DataFolder::open(&self.options.data_folder)?;
        let files = self.options.shard(&folder, cx.task.rank, cx.task.world_size)?;
        let mut state = ReadState::new(&self.options, &folder);
        let mut lines = crate::compression::LineReader::default();
        let mut buffers = simd_json::Buffers::default();
        for (i, file) in files.iter().enumerate() {
            if state.done() {
                break;
            }
            state.start_file(cx, file, i, files.len());
            let mut reader = folder.open_read(file, self.compression.as_deref())?;
            lines.reset();
            let mut index: u64 = 0;
            loop {
                let line = match lines.next_line(reader.reader()) {
                    Ok(Some(line)) => line,
                    Ok(None) => break,
                    Err(e) => {
                        return Err(Error::data(
                            folder.resolve(file),
                            format!("line {}, byte {} of the file", index + 1, reader.raw_offset()),
                            format!("cannot decode ({:?} stream): {e}", reader.compression()),
                        ))
                    }
                };
                let this = index;
                index += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let seed = RecordSeed { text_key: &self.options.text_key, id_key: &self.options.id_key };
                let parsed = simd_json::Deserializer::from_slice_with_buffers(line, &mut buffers)
                    .map_err(|e| e.to_string())
                    .and_then(|mut de| seed.deserialize(&mut de).map_err(|e| e.to_string()));
                match parsed {
                    Ok(record) => {
                        if state.offer(cx, record, file, this)? == Flow::Stop {
                            break;
                        }
                    }
                    Err(e) => {
                        cx.stats.incr("malformed_lines");
                        tracing::warn!(
                            "{}: line {}: skipping malformed JSON: {e}",
                            folder.resolve(file),
                            this + 1
                        );
                    }
                }
            }
            state.end_file(cx);
        }
        Ok(())
    }
}

struct RecordSeed<'k> {
    text_key: &'k str,
    id_key: &'k str,
}

/// A map key, borrowed from the line when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `media` entries as DataTrove writes them (`media_bytes` base64).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    id: String,
    #[serde(rename = "type")]
    media_type: i64,
    url: String,
    #[serde(default)]
    alt: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    length: Option<i64>,
    #[serde(default)]
    media_bytes: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

impl RawMedia {
    fn into_media(self) -> std::result::Result<Media, String> {
        let media_bytes = match self.media_bytes {
            None => None,
            Some(b64) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| format!("media `{}`: bad base64 in media_bytes: {e}", self.id))?,
            ),
        };
        Ok(Media {
            id: self.id,
            media_type: self.media_type,
            url: self.url,
            alt: self.alt,
            path: self.path,
            offset: self.offset,
            length: self.length,
            media_bytes,
            metadata: self.metadata.unwrap_or_default(),
        })
    }
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Record, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Record, A::Error> {
        use serde::de::Error as _;
        let mut record = Record::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if key == "metadata" && record.metadata.is_none() {
                record.metadata = Some(map.next_value::<Value>()?);
            } else if key == self.text_key {
                record.text = map.next_value::<Option<String>>()?;
            } else if key == self.id_key {
                record.id = id_from_value(map.next_value::<Value>()?);
            } else if key == "media" {
                let raw = map.next_value::<Option<Vec<RawMedia>>>()?.unwrap_or_default();
                record.media = raw
                    .into_iter()
                    .map(RawMedia::into_media)
                    .collect::<std::result::Result<_, _>>()
                    .map_err(A::Error::custom)?;
            } else {
                let value = map.next_value::<Value>()?;
                record.rest.insert(key.into_owned(), value);
            }
        }
        Ok(record)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Record, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Err(serde::de::Error::custom("a line must be a JSON object, not an array"))
    }
}

/// `jsonl_writer`: writes documents as JSON lines (DataTrove's `JsonlWriter`) and passes them on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlWriterConfig {
    /// The folder to write into.
    pub output_folder: String,
    /// File name template: `${rank}`, `${id}` and metadata keys. Default `${rank}.jsonl`.
    #[serde(default)]
    pub output_filename: Option<String>,
    /// `"gzip"` (default), `"zstd"` or `"none"`; the extension is appended when missing.
    #[serde(default = "gzip")]
    pub compression: Option<String>,
    /// Write metadata keys at the top level instead of under `metadata`.
    #[serde(default)]
    pub expand_metadata: bool,
    /// Start a new file (`000_name`, `001_name`, ...) once one holds this many bytes; `-1` for no limit.
    #[serde(default = "minus_one")]
    pub max_file_size: i64,
    /// Write media bytes (base64) instead of `null`.
    #[serde(default)]
    pub save_media_bytes: bool,
    /// trove only: compression level (gzip 0-9, default 1; zstd 1-22, default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
}

impl JsonlWriterConfig {
    /// A writer into `output_folder` with DataTrove's defaults.
    pub fn new(output_folder: impl Into<String>) -> JsonlWriterConfig {
        JsonlWriterConfig {
            output_folder: output_folder.into(),
            output_filename: None,
            compression: gzip(),
            expand_metadata: false,
            max_file_size: -1,
            save_media_bytes: false,
            compression_level: None,
        }
    }

    fn compression(&self) -> Result<Compression> {
        match self.compression.as_deref() {
            Some("infer") => {
                Ok(Compression::from_extension(self.output_filename.as_deref().unwrap_or("${rank}.jsonl")))
            }
            other => Compression::resolve(other, ""),
        }
    }

    /// The output file name template with the compression extension.
    pub fn filename(&self) -> Result<String> {
        let base = self.output_filename.as_deref().unwrap_or("${rank}.jsonl");
        Ok(DiskWriter::filename_with_extension(base, self.compression()?))
    }
}

impl StepConfig for JsonlWriterConfig {
    const TYPE: &'static str = "jsonl_writer";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let compression = self.compression()?;
        let (level, expand, media) = (self.compression_level, self.expand_metadata, self.save_media_bytes);
        let open = Box::new(move |folder: &DataFolder, name: &str| -> Result<Box<dyn FormatFile>> {
            let writer = folder.create(name, compression, level)?;
            Ok(Box::new(JsonlFile {
                writer,
                buf: Vec::with_capacity(1 << 14),
                expand,
                media,
                name: folder.resolve(name),
            }))
        });
        let writer =
            DiskWriter::new(&self.output_folder, &self.filename()?, self.max_file_size, cx.task.rank, open)?;
        Ok(Stage::step(writer_name("🐿 Jsonl"), JsonlWriter { writer }))
    }

    fn check(&self, problems: &mut Vec<String>) {
        match self.filename() {
            Ok(name) => match crate::writer::FilenameTemplate::parse(&name) {
                Ok(t) if !t.has_rank() && t.is_per_task() => problems.push(format!(
                    "output_filename `{name}` has no `${{rank}}`: every task would write the same file"
                )),
                Ok(_) => {}
                Err(e) => problems.push(e.to_string()),
            },
            Err(e) => problems.push(e.to_string()),
        }
    }
}

/// The runtime JSONL writer.
pub struct JsonlWriter {
    writer: DiskWriter,
}

impl Step for JsonlWriter {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        self.writer.write(&doc, cx)?;
        cx.emit(doc);
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.writer.finish(cx)
    }
}

struct JsonlFile {
    writer: crate::compression::CompressedWriter,
    buf: Vec<u8>,
    expand: bool,
    media: bool,
    name: String,
}

/// Serialized documents are gathered into blocks of this size before they reach the (compressing) writer.
const BLOCK: usize = 1 << 17;

impl FormatFile for JsonlFile {
    fn write_doc(&mut self, doc: &Document) -> Result<()> {
        serialize_document(&mut self.buf, doc, self.expand, self.media);
        self.buf.push(b'\n');
        if self.buf.len() >= BLOCK {
            self.writer.write_all(&self.buf).with_path(&self.name)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.writer.written() + self.buf.len() as u64
    }

    fn finish(mut self: Box<Self>) -> Result<Box<dyn AtomicFile>> {
        self.writer.write_all(&self.buf).with_path(&self.name)?;
        let name = self.name;
        self.writer.finish().with_path(name)
    }
}

fn media_value(m: &Media, save_bytes: bool) -> Value {
    let bytes = match (&m.media_bytes, save_bytes) {
        (Some(b), true) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        _ => Value::Null,
    };
    let mut map = Map::new();
    map.insert("id".into(), m.id.clone().into());
    map.insert("type".into(), m.media_type.into());
    map.insert("url".into(), m.url.clone().into());
    map.insert("alt".into(), m.alt.clone().into());
    map.insert("path".into(), m.path.clone().into());
    map.insert("offset".into(), m.offset.into());
    map.insert("length".into(), m.length.into());
    map.insert("media_bytes".into(), bytes);
    map.insert("metadata".into(), Value::Object(m.metadata.clone()));
    Value::Object(map)
}

/// DataTrove's default writer adapter: `text`, `id`, `media`, `metadata` in that order, each left out
/// when empty; with `expand_metadata` the metadata keys are merged into the top level.
pub fn document_map(doc: &Document, expand_metadata: bool, save_media_bytes: bool) -> Map<String, Value> {
    let mut map = Map::new();
    if !doc.text.is_empty() {
        map.insert("text".into(), doc.text.clone().into());
    }
    if !doc.id.is_empty() {
        map.insert("id".into(), doc.id.clone().into());
    }
    if !doc.media.is_empty() {
        map.insert("media".into(), doc.media.iter().map(|m| media_value(m, save_media_bytes)).collect());
    }
    if !doc.metadata.is_empty() {
        if expand_metadata {
            for (k, v) in &doc.metadata {
                map.insert(k.clone(), v.clone());
            }
        } else {
            map.insert("metadata".into(), Value::Object(doc.metadata.clone()));
        }
    }
    map
}

/// Media from their JSON form (`media_bytes` base64), as DataTrove's readers take them.
pub fn media_from_value(value: Value) -> std::result::Result<Vec<Media>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        value => {
            let raw: Vec<RawMedia> = serde_json::from_value(value).map_err(|e| format!("media: {e}"))?;
            raw.into_iter().map(RawMedia::into_media).collect()
        }
    }
}

/// Serializes a document as DataTrove's default adapter and orjson would: `text`, `id`, `media`,
/// `metadata` in that order, each left out when empty.
pub fn serialize_document(out: &mut Vec<u8>, doc: &Document, expand_metadata: bool, save_media_bytes: bool) {
    if expand_metadata && !doc.metadata.is_empty() {
        write_orjson_value(out, &Value::Object(document_map(doc, true, save_media_bytes)));
        return;
    }
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, k: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_orjson_str(out, k);
        out.push(b':');
    };
    if !doc.text.is_empty() {
        key(out, "text");
        write_orjson_str(out, &doc.text);
    }
    if !doc.id.is_empty() {
        key(out, "id");
        write_orjson_str(out, &doc.id);
    }
    if !doc.media.is_empty() {
        key(out, "media");
        let media: Vec<Value> = doc.media.iter().map(|m| media_value(m, save_media_bytes)).collect();
        write_orjson_value(out, &Value::Array(media));
    }
    if !doc.metadata.is_empty() {
        key(out, "metadata");
        out.push(b'{');
        for (i, (k, v)) in doc.metadata.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_orjson_str(out, k);
            out.push(b':');
            write_orjson_value(out, v);
        }
        out.push(b'}');
    }
    out.push(b'}');
}
