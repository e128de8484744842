//! Parquet: `parquet_reader` and `parquet_writer`, DataTrove's `ParquetReader` and `ParquetWriter`
//! (arrow-rs; behind the `parquet` feature).
//!
//! Rows are converted to and from the JSON values DataTrove's adapters see (`batch.to_pylist()` and
//! `RecordBatch.from_pylist`): the writer infers its schema from the first document, as pyarrow does,
//! and later documents must fit it (missing fields become null, extra fields are dropped).

use crate::folder::DataFolder;
use crate::reader::{id_from_value, reader_name, Flow, ReadState, ReaderOptions, Record};
use crate::writer::{writer_name, DiskWriter, FormatFile};
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use arrow_array::{Array, ArrayRef, ListArray, NullArray, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use trove_core::{
    AtomicFile, BuildContext, Context, Document, Error, Metadata, Result, Source, SourceContext, Stage, Step,
    StepConfig,
};

fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}
fn thousand() -> usize {
    1000
}
fn text_key() -> String {
    "text".into()
}
fn id_key() -> String {
    "id".into()
}

/// `parquet_reader`: one document per row of `.parquet` files (DataTrove's `ParquetReader`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetReaderConfig {
    /// The folder to read.
    pub data_folder: String,
    /// A file listing the paths to read (relative to `data_folder`), one per line.
    #[serde(default)]
    pub paths_file: Option<String>,
    /// Documents per task at most; `-1` for all.
    #[serde(default = "minus_one")]
    pub limit: i64,
    /// Documents to skip at the start of each task's input.
    #[serde(default)]
    pub skip: u64,
    /// Rows decoded at a time.
    #[serde(default = "thousand")]
    pub batch_size: usize,
    /// Read every column (`false`: only the text and id columns).
    #[serde(default = "yes")]
    pub read_metadata: bool,
    /// Accepted for compatibility; the executor shows progress.
    #[serde(default)]
    pub file_progress: bool,
    /// Accepted for compatibility; the executor shows progress.
    #[serde(default)]
    pub doc_progress: bool,
    /// Column holding the text.
    #[serde(default = "text_key")]
    pub text_key: String,
    /// Column holding the id.
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

impl ParquetReaderConfig {
    /// A reader of `data_folder` with DataTrove's defaults.
    pub fn new(data_folder: impl Into<String>) -> ParquetReaderConfig {
        ParquetReaderConfig {
            data_folder: data_folder.into(),
            paths_file: None,
            limit: -1,
            skip: 0,
            batch_size: 1000,
            read_metadata: true,
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

impl StepConfig for ParquetReaderConfig {
    const TYPE: &'static str = "parquet_reader";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        Ok(Stage::source(reader_name("📒 Parquet"), ParquetReader { config: self.clone() }))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.options().check(problems);
        if self.batch_size == 0 {
            problems.push("batch_size must be at least 1".into());
        }
    }
}

/// The runtime Parquet reader.
pub struct ParquetReader {
    config: ParquetReaderConfig,
}

fn parquet_err(path: &str, e: impl std::fmt::Display) -> Error {
    Error::data(path, "parquet", e.to_string())
}

impl Source for ParquetReader {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ProjectionMask;
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
            let bytes = {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut folder.storage().open(file)?, &mut buf)
                    .map_err(|e| Error::io(&full, e))?;
                bytes::Bytes::from(buf)
            };
            let mut builder =
                ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| parquet_err(&full, e))?;
            if !self.config.read_metadata {
                let schema = builder.parquet_schema();
                let wanted: Vec<usize> = (0..schema.num_columns())
                    .filter(|&c| {
                        let name = schema.column(c).path().parts()[0].clone();
                        name == self.config.text_key || name == self.config.id_key
                    })
                    .collect();
                let mask = ProjectionMask::leaves(schema, wanted);
                builder = builder.with_projection(mask);
            }
            let reader =
                builder.with_batch_size(self.config.batch_size).build().map_err(|e| parquet_err(&full, e))?;
            let mut li: u64 = 0;
            'file: for batch in reader {
                let batch = batch.map_err(|e| parquet_err(&full, e))?;
                let schema = batch.schema();
                for row in 0..batch.num_rows() {
                    let mut record = Record::default();
                    for (col, field) in batch.columns().iter().zip(schema.fields()) {
                        let value = to_json(col.as_ref(), row).map_err(|e| {
                            parquet_err(&full, format!("row {row}: column `{}`: {e}", field.name()))
                        })?;
                        let name = field.name();
                        if *name == self.config.text_key {
                            record.text = match value {
                                Value::String(s) => Some(s),
                                Value::Null => None,
                                other => {
                                    return Err(parquet_err(
                                        &full,
                                        format!("text column `{name}` holds {other}"),
                                    ))
                                }
                            };
                        } else if *name == self.config.id_key {
                            record.id = id_from_value(value);
                        } else if name == "metadata" {
                            record.metadata = Some(value);
                        } else if name == "media" {
                            record.media =
                                crate::jsonl::media_from_value(value).map_err(|e| parquet_err(&full, e))?;
                        } else {
                            record.rest.insert(name.clone(), value);
                        }
                    }
                    let has_text = record.text.as_ref().is_some_and(|t| !t.is_empty());
                    let flow = state.offer(cx, record, file, li)?;
                    if has_text {
                        li += 1;
                    }
                    if flow == Flow::Stop {
                        break 'file;
                    }
                }
            }
            state.end_file(cx);
        }
        Ok(())
    }
}

/// One cell as the JSON value pyarrow's `to_pylist` would give (bytes as base64 strings).
fn to_json(array: &dyn Array, row: usize) -> std::result::Result<Value, String> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    macro_rules! prim {
        ($t:ty) => {
            array.as_primitive_opt::<$t>().map(|a| Value::from(a.value(row)))
        };
    }
    let v = match array.data_type() {
        DataType::Null => Some(Value::Null),
        DataType::Boolean => array.as_boolean_opt().map(|a| Value::Bool(a.value(row))),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => {
            array.as_primitive_opt::<Float32Type>().map(|a| Value::from(f64::from(a.value(row))))
        }
        DataType::Float64 => prim!(Float64Type),
        DataType::Utf8 => array.as_string_opt::<i32>().map(|a| Value::from(a.value(row))),
        DataType::LargeUtf8 => array.as_string_opt::<i64>().map(|a| Value::from(a.value(row))),
        DataType::Utf8View => array.as_string_view_opt().map(|a| Value::from(a.value(row))),
        DataType::Binary => array.as_binary_opt::<i32>().map(|a| b64(a.value(row))),
        DataType::LargeBinary => array.as_binary_opt::<i64>().map(|a| b64(a.value(row))),
        DataType::BinaryView => array.as_binary_view_opt().map(|a| b64(a.value(row))),
        DataType::Struct(fields) => match array.as_struct_opt() {
            Some(s) => {
                let mut map = Map::new();
                for (f, col) in fields.iter().zip(s.columns()) {
                    map.insert(f.name().clone(), to_json(col.as_ref(), row)?);
                }
                Some(Value::Object(map))
            }
            None => None,
        },
        DataType::List(_) => match array.as_list_opt::<i32>() {
            Some(l) => Some(list_value(l.value(row).as_ref())?),
            None => None,
        },
        DataType::LargeList(_) => match array.as_list_opt::<i64>() {
            Some(l) => Some(list_value(l.value(row).as_ref())?),
            None => None,
        },
        DataType::Map(_, _) => match array.as_map_opt() {
            Some(m) => {
                let entries = m.value(row);
                let mut map = Map::new();
                for i in 0..entries.len() {
                    let key = match to_json(entries.column(0).as_ref(), i)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(key, to_json(entries.column(1).as_ref(), i)?);
                }
                Some(Value::Object(map))
            }
            None => None,
        },
        other => return Err(format!("unsupported Parquet type {other}")),
    };
    v.ok_or_else(|| format!("column data does not match its type {}", array.data_type()))
}

fn list_value(values: &dyn Array) -> std::result::Result<Value, String> {
    (0..values.len())
        .map(|i| to_json(values, i))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn snappy() -> Option<String> {
    Some("snappy".into())
}
fn five_gib() -> i64 {
    5 << 30
}

/// `use_content_defined_chunking`: `true` (DataTrove's defaults), `false`, or explicit options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChunkingOption {
    /// On with DataTrove's defaults (256 KiB – 1 MiB chunks, norm level 0), or off.
    Enabled(bool),
    /// Explicit options.
    Options {
        /// Minimum chunk size in bytes.
        min_chunk_size: usize,
        /// Maximum chunk size in bytes.
        max_chunk_size: usize,
        /// Normalization level.
        #[serde(default)]
        norm_level: i32,
    },
}

fn cdc_default() -> ChunkingOption {
    ChunkingOption::Enabled(true)
}

/// `parquet_writer`: writes documents to Parquet files (DataTrove's `ParquetWriter`) and passes them on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetWriterConfig {
    /// The folder to write into.
    pub output_folder: String,
    /// File name template (`${rank}`, `${id}`, metadata keys). Default `${rank}.parquet`.
    #[serde(default)]
    pub output_filename: Option<String>,
    /// Column compression: `"snappy"` (default), `"gzip"`, `"lz4"`, `"zstd"` or `"none"`.
    #[serde(default = "snappy")]
    pub compression: Option<String>,
    /// Documents buffered per record batch.
    #[serde(default = "thousand")]
    pub batch_size: usize,
    /// Metadata keys as top-level columns instead of a `metadata` struct.
    #[serde(default)]
    pub expand_metadata: bool,
    /// Start a new file (`000_name`, `001_name`, ...) past this many bytes; `-1` for no limit.
    #[serde(default = "five_gib")]
    pub max_file_size: i64,
    /// Write media bytes instead of null.
    #[serde(default)]
    pub save_media_bytes: bool,
    /// Content-defined chunking (better deduplication of uploaded files).
    #[serde(default = "cdc_default")]
    pub use_content_defined_chunking: ChunkingOption,
    /// Write the page index.
    #[serde(default = "yes")]
    pub write_page_index: bool,
}

impl ParquetWriterConfig {
    /// A writer into `output_folder` with DataTrove's defaults.
    pub fn new(output_folder: impl Into<String>) -> ParquetWriterConfig {
        ParquetWriterConfig {
            output_folder: output_folder.into(),
            output_filename: None,
            compression: snappy(),
            batch_size: 1000,
            expand_metadata: false,
            max_file_size: five_gib(),
            save_media_bytes: false,
            use_content_defined_chunking: cdc_default(),
            write_page_index: true,
        }
    }

    fn properties(&self) -> Result<parquet::file::properties::WriterProperties> {
        use parquet::basic::{Compression as C, GzipLevel, ZstdLevel};
        use parquet::file::properties::{CdcOptions, EnabledStatistics, WriterProperties};
        let compression = match self.compression.as_deref() {
            None | Some("none") => C::UNCOMPRESSED,
            Some("snappy") => C::SNAPPY,
            Some("gzip") => C::GZIP(GzipLevel::default()),
            Some("lz4") => C::LZ4_RAW,
            Some("zstd") => C::ZSTD(ZstdLevel::default()),
            Some(other) => {
                return Err(Error::config(format!(
                    "parquet compression `{other}` is not available (use snappy, gzip, lz4, zstd or none)"
                )))
            }
        };
        let cdc = match &self.use_content_defined_chunking {
            ChunkingOption::Enabled(false) => None,
            ChunkingOption::Enabled(true) => {
                Some(CdcOptions { min_chunk_size: 256 * 1024, max_chunk_size: 1024 * 1024, norm_level: 0 })
            }
            ChunkingOption::Options { min_chunk_size, max_chunk_size, norm_level } => {
                if *min_chunk_size == 0 || max_chunk_size <= min_chunk_size {
                    return Err(Error::config(
                        "use_content_defined_chunking: need 0 < min_chunk_size < max_chunk_size",
                    ));
                }
                Some(CdcOptions {
                    min_chunk_size: *min_chunk_size,
                    max_chunk_size: *max_chunk_size,
                    norm_level: *norm_level,
                })
            }
        };
        let stats = if self.write_page_index { EnabledStatistics::Page } else { EnabledStatistics::Chunk };
        Ok(WriterProperties::builder()
            .set_compression(compression)
            .set_statistics_enabled(stats)
            .set_offset_index_disabled(!self.write_page_index)
            .set_content_defined_chunking(cdc)
            .build())
    }
}

impl StepConfig for ParquetWriterConfig {
    const TYPE: &'static str = "parquet_writer";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let props = self.properties()?;
        let (batch_size, expand, media) =
            (self.batch_size.max(1), self.expand_metadata, self.save_media_bytes);
        let open = Box::new(move |folder: &DataFolder, name: &str| -> Result<Box<dyn FormatFile>> {
            let file = folder.storage().create(name)?;
            Ok(Box::new(ParquetFile {
                file: Some(file),
                writer: None,
                props: props.clone(),
                pending: Vec::new(),
                warned: Default::default(),
                batch_size,
                expand,
                media,
                name: folder.resolve(name),
            }))
        });
        let name = self.output_filename.as_deref().unwrap_or("${rank}.parquet");
        let writer = DiskWriter::new(&self.output_folder, name, self.max_file_size, cx.task.rank, open)?;
        Ok(Stage::step(writer_name("📒 Parquet"), ParquetWriterStep { writer }))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = self.properties() {
            problems.push(e.to_string());
        }
        if let Err(e) =
            crate::writer::FilenameTemplate::parse(self.output_filename.as_deref().unwrap_or("${rank}"))
        {
            problems.push(e.to_string());
        }
    }
}

/// The runtime Parquet writer.
pub struct ParquetWriterStep {
    writer: DiskWriter,
}

impl Step for ParquetWriterStep {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        self.writer.write(&doc, cx)?;
        cx.emit(doc);
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.writer.finish(cx)
    }
}

struct ParquetFile {
    file: Option<Box<dyn AtomicFile>>,
    writer: Option<(parquet::arrow::ArrowWriter<Box<dyn AtomicFile>>, arrow_schema::SchemaRef)>,
    props: parquet::file::properties::WriterProperties,
    pending: Vec<Value>,
    warned: std::collections::HashSet<String>,
    batch_size: usize,
    expand: bool,
    media: bool,
    name: String,
}

impl ParquetFile {
    fn flush_batch(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let name = self.name.clone();
        let err = |e: String| Error::data(&name, "parquet", e);
        if self.writer.is_none() {
            // pyarrow infers from the first document only, so a key missing there is dropped from every
            // later document; trove infers from the whole first batch.
            let inferred = self.pending.iter().map(infer).reduce(|a, b| merge_types(&a, &b));
            let schema = Arc::new(Schema::new(match inferred {
                Some(DataType::Struct(fields)) => fields,
                _ => Fields::empty(),
            }));
            let file = self.file.take().ok_or_else(|| err("file already closed".into()))?;
            let writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(self.props.clone()))
                .map_err(|e| err(e.to_string()))?;
            self.writer = Some((writer, schema));
        }
        let Some((writer, schema)) = self.writer.as_mut() else { return Ok(()) };
        let schema = schema.clone();
        for row in &self.pending {
            if let Value::Object(map) = row {
                for key in map.keys() {
                    if schema.field_with_name(key).is_err() && self.warned.insert(key.clone()) {
                        tracing::warn!("{}: field `{key}` is not in the schema inferred from the first batch; its values are not written", self.name);
                    }
                }
            }
        }
        let rows: Vec<&Value> = self.pending.iter().collect();
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let cells: Vec<&Value> =
                    rows.iter().map(|r| r.get(f.name()).unwrap_or(&Value::Null)).collect();
                build_array(f.data_type(), &cells, f.name())
                    .map_err(|e| err(format!("column `{}`: {e}", f.name())))
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new(schema, columns).map_err(|e| err(e.to_string()))?;
        writer.write(&batch).map_err(|e| err(e.to_string()))?;
        self.pending.clear();
        Ok(())
    }
}

impl FormatFile for ParquetFile {
    fn write_doc(&mut self, doc: &Document) -> Result<()> {
        self.pending.push(Value::Object(crate::jsonl::document_map(doc, self.expand, self.media)));
        if self.pending.len() >= self.batch_size {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn size(&self) -> u64 {
        self.writer.as_ref().map_or(0, |(w, _)| (w.bytes_written() + w.in_progress_size()) as u64)
    }

    fn finish(mut self: Box<Self>) -> Result<Box<dyn AtomicFile>> {
        self.flush_batch()?;
        let name = self.name.clone();
        match self.writer.take() {
            Some((w, _)) => w.into_inner().map_err(|e| Error::data(name, "parquet", e.to_string())),
            // No document reached this file: it is an empty file, as pyarrow never opened a writer.
            None => self.file.take().ok_or_else(|| Error::data(name, "parquet", "file already closed")),
        }
    }
}

/// pyarrow's type inference for one value.
fn infer(v: &Value) -> DataType {
    match v {
        Value::Null => DataType::Null,
        Value::Bool(_) => DataType::Boolean,
        Value::Number(n) if n.is_i64() => DataType::Int64,
        Value::Number(n) if n.is_u64() => DataType::UInt64,
        Value::Number(_) => DataType::Float64,
        Value::String(_) => DataType::Utf8,
        Value::Array(items) => {
            let t = items.iter().map(infer).reduce(|a, b| merge_types(&a, &b)).unwrap_or(DataType::Null);
            DataType::List(Arc::new(Field::new("item", t, true)))
        }
        // Parquet cannot store a struct without fields: an empty object is written as null.
        Value::Object(map) if map.is_empty() => DataType::Null,
        Value::Object(map) => DataType::Struct(
            map.iter()
                .map(|(k, v)| {
                    // Media bytes travel as base64 text inside trove; in Parquet they are binary.
                    let t = if k == "media_bytes" && v.is_string() { DataType::Binary } else { infer(v) };
                    Field::new(k, t, true)
                })
                .collect(),
        ),
    }
}

/// The type that holds values of both `a` and `b` (struct fields are united, null gives way, integers
/// widen to floats); otherwise `a`, whose schema later values must fit.
fn merge_types(a: &DataType, b: &DataType) -> DataType {
    match (a, b) {
        (DataType::Null, t) | (t, DataType::Null) => t.clone(),
        (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => DataType::Float64,
        (DataType::List(x), DataType::List(y)) => {
            DataType::List(Arc::new(Field::new("item", merge_types(x.data_type(), y.data_type()), true)))
        }
        (DataType::Struct(x), DataType::Struct(y)) => {
            let mut fields: Vec<Field> = x.iter().map(|f| f.as_ref().clone()).collect();
            for f in y.iter() {
                match fields.iter_mut().find(|g| g.name() == f.name()) {
                    Some(g) => *g = Field::new(g.name(), merge_types(g.data_type(), f.data_type()), true),
                    None => fields.push(f.as_ref().clone()),
                }
            }
            DataType::Struct(fields.into())
        }
        (t, _) => t.clone(),
    }
}

fn build_array(t: &DataType, cells: &[&Value], at: &str) -> std::result::Result<ArrayRef, String> {
    let mismatch =
        |v: &Value| format!("{at}: {v} does not fit the schema's {t} (inferred from the first document)");
    Ok(match t {
        DataType::Null => Arc::new(NullArray::new(cells.len())),
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(cells.len());
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::Bool(x) => b.append_value(*x),
                    v => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Int64 => {
            let mut b = Int64Builder::with_capacity(cells.len());
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::Number(n) if n.is_i64() => b.append_value(n.as_i64().unwrap_or_default()),
                    v => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::UInt64 => {
            let mut b = UInt64Builder::with_capacity(cells.len());
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::Number(n) if n.is_u64() => b.append_value(n.as_u64().unwrap_or_default()),
                    v => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::with_capacity(cells.len());
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::Number(n) => b.append_value(n.as_f64().unwrap_or(f64::NAN)),
                    v => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::with_capacity(cells.len(), 1024);
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::String(s) => b.append_value(s),
                    v => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Binary => {
            let mut b = BinaryBuilder::new();
            for v in cells {
                match v {
                    Value::Null => b.append_null(),
                    Value::String(s) => b.append_value(
                        base64::engine::general_purpose::STANDARD
                            .decode(s)
                            .map_err(|e| format!("{at}: {e}"))?,
                    ),
                    v => return Err(mismatch(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::List(field) => {
            let mut lengths = Vec::with_capacity(cells.len());
            let mut valid = Vec::with_capacity(cells.len());
            let mut children: Vec<&Value> = Vec::new();
            for v in cells {
                match v {
                    Value::Null => {
                        lengths.push(0);
                        valid.push(false);
                    }
                    Value::Array(items) => {
                        lengths.push(items.len());
                        valid.push(true);
                        children.extend(items.iter());
                    }
                    v => return Err(mismatch(v)),
                }
            }
            let values = build_array(field.data_type(), &children, at)?;
            Arc::new(
                ListArray::try_new(
                    field.clone(),
                    arrow_buffer::OffsetBuffer::from_lengths(lengths),
                    values,
                    Some(arrow_buffer::NullBuffer::from(valid)),
                )
                .map_err(|e| format!("{at}: {e}"))?,
            )
        }
        DataType::Struct(fields) => {
            let mut valid = Vec::with_capacity(cells.len());
            for v in cells {
                match v {
                    Value::Null => valid.push(false),
                    Value::Object(_) => valid.push(true),
                    v => return Err(mismatch(v)),
                }
            }
            let nulls = Some(arrow_buffer::NullBuffer::from(valid));
            if fields.is_empty() {
                return Ok(Arc::new(StructArray::new_empty_fields(cells.len(), nulls)));
            }
            let arrays = fields
                .iter()
                .map(|f| {
                    let sub: Vec<&Value> =
                        cells.iter().map(|c| c.get(f.name()).unwrap_or(&Value::Null)).collect();
                    build_array(f.data_type(), &sub, &format!("{at}.{}", f.name()))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Arc::new(StructArray::try_new(fields.clone(), arrays, nulls).map_err(|e| format!("{at}: {e}"))?)
        }
        other => return Err(format!("{at}: cannot write type {other}")),
    })
}
