//! What every file reader shares: the shard, `skip` and `limit`, DataTrove's document adapter and the
//! reader stats (`input_files`, `doc_len`, `documents`).

use crate::folder::DataFolder;
use serde_json::{Map, Value};
use trove_core::{storage, task, Document, Error, Media, Metadata, Result, SourceContext};

/// Display name DataTrove gives readers in stats: `📖 - READER: {name}`.
pub fn reader_name(name: &str) -> String {
    format!("📖 - READER: {name}")
}

/// Reader settings shared by the file readers (DataTrove's `BaseDiskReader` arguments).
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// The folder to read.
    pub data_folder: String,
    /// A file listing the paths to read, relative to `data_folder`, one per line.
    pub paths_file: Option<String>,
    /// Documents per task at most (`-1`: no limit).
    pub limit: i64,
    /// Documents to skip at the start of each task's input.
    pub skip: u64,
    /// Key of the text field.
    pub text_key: String,
    /// Key of the id field.
    pub id_key: String,
    /// Metadata added to every document (the document's own values win).
    pub default_metadata: Option<Metadata>,
    /// List files in subfolders too.
    pub recursive: bool,
    /// Only files matching this pattern.
    pub glob_pattern: Option<String>,
    /// Shuffle this task's files (deterministically, seeded by rank).
    pub shuffle_files: bool,
    /// Add `file_path` to metadata when missing.
    pub add_file_path: bool,
}

impl ReaderOptions {
    /// Checks the shared settings.
    pub fn check(&self, problems: &mut Vec<String>) {
        if self.limit < -1 {
            problems.push(format!("`limit` must be -1 (no limit) or at least 0, not {}", self.limit));
        }
        if self.data_folder.is_empty() {
            problems.push("`data_folder` must not be empty".into());
        }
    }

    /// This task's files, in order.
    pub fn shard(&self, folder: &DataFolder, rank: usize, world_size: usize) -> Result<Vec<String>> {
        let mut files = match &self.paths_file {
            Some(list) => {
                let text = storage::read_to_string(&*trove_core::open_storage(list)?, "")?;
                let lines: Vec<String> =
                    text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
                task::shard(&lines, rank, world_size)
            }
            None => {
                let all = folder.list_files(self.recursive, self.glob_pattern.as_deref())?;
                if all.is_empty() {
                    return Err(Error::config(format!(
                        "no files found in `{}`{}",
                        folder.path(),
                        self.glob_pattern.as_ref().map(|g| format!(" matching `{g}`")).unwrap_or_default()
                    )));
                }
                task::shard(&all, rank, world_size)
            }
        };
        if files.is_empty() {
            tracing::warn!("no files found in {} for rank={rank}", folder.path());
        }
        if self.shuffle_files {
            // Deterministic Fisher-Yates (SplitMix64 seeded by rank): reruns read in the same order.
            let mut state = rank as u64 ^ 0x9e37_79b9_7f4a_7c15;
            for i in (1..files.len()).rev() {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                files.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
            }
        }
        Ok(files)
    }
}

/// Per-task reading state: applies `skip` and `limit` and records DataTrove's reader stats.
pub struct ReadState<'a> {
    opts: &'a ReaderOptions,
    folder: &'a DataFolder,
    skipped: u64,
    emitted: u64,
    in_file: u64,
    warned_empty: bool,
}

/// Whether to keep reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read on.
    Continue,
    /// The task's `limit` is reached.
    Stop,
}

impl<'a> ReadState<'a> {
    /// State for one task.
    pub fn new(opts: &'a ReaderOptions, folder: &'a DataFolder) -> ReadState<'a> {
        ReadState { opts, folder, skipped: 0, emitted: 0, in_file: 0, warned_empty: false }
    }

    /// Whether the limit is reached.
    pub fn done(&self) -> bool {
        self.opts.limit >= 0 && self.emitted >= self.opts.limit as u64
    }

    /// Call when a file starts.
    pub fn start_file(&mut self, cx: &mut SourceContext<'_>, file: &str, index: usize, count: usize) {
        cx.stats.incr("input_files");
        tracing::info!(target: "trove::task", "reading input file {file}, {}/{count}", index + 1);
        self.in_file = 0;
    }

    /// Call when a file ends.
    pub fn end_file(&mut self, cx: &mut SourceContext<'_>) {
        cx.stats.update_unit("documents", self.in_file, "input_file");
    }

    /// Turns a parsed record into a document and emits it, honouring `skip` and `limit`.
    pub fn offer(
        &mut self,
        cx: &mut SourceContext<'_>,
        record: Record,
        file: &str,
        index: u64,
    ) -> Result<Flow> {
        let Some(doc) = self.adapt(record, file, index) else { return Ok(Flow::Continue) };
        if self.skipped < self.opts.skip {
            self.skipped += 1;
            return Ok(Flow::Continue);
        }
        if self.done() {
            return Ok(Flow::Stop);
        }
        cx.stats.doc_stats(&doc);
        cx.emit(doc)?;
        self.emitted += 1;
        self.in_file += 1;
        Ok(if self.done() { Flow::Stop } else { Flow::Continue })
    }

    /// DataTrove's default adapter: text and id from their keys, `metadata` (a map, a JSON string, or
    /// anything else under `metadata`) followed by every remaining key; documents without text are
    /// dropped unless they carry media (a PDF before extraction has no text yet).
    fn adapt(&mut self, record: Record, file: &str, index: u64) -> Option<Document> {
        let text = match record.text {
            Some(t) if !t.is_empty() => t,
            t if !record.media.is_empty() => t.unwrap_or_default(),
            _ => {
                if !self.warned_empty {
                    self.warned_empty = true;
                    tracing::warn!(
                        "found a document without text in {file}, skipping. Is `text_key` (\"{}\") correct?",
                        self.opts.text_key
                    );
                }
                return None;
            }
        };
        let mut metadata = match record.metadata {
            None => Map::new(),
            Some(Value::Object(m)) => m,
            Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
                Ok(Value::Object(m)) => m,
                Ok(other) => Map::from_iter([("metadata".to_string(), other)]),
                Err(_) => Map::from_iter([("metadata".to_string(), Value::String(s))]),
            },
            Some(other) => Map::from_iter([("metadata".to_string(), other)]),
        };
        for (k, v) in record.rest {
            metadata.insert(k, v);
        }
        if let Some(defaults) = &self.opts.default_metadata {
            let mut merged = defaults.clone();
            for (k, v) in metadata {
                merged.insert(k, v);
            }
            metadata = merged;
        }
        if self.opts.add_file_path && !metadata.contains_key("file_path") {
            metadata.insert("file_path".into(), Value::String(self.folder.resolve(file)));
        }
        let id = record.id.unwrap_or_else(|| format!("{file}/{index}"));
        Some(Document { text, id, media: record.media, metadata })
    }
}

/// A record as read from a file, before DataTrove's adapter runs.
#[derive(Debug, Default)]
pub struct Record {
    /// The text field, if present and not null.
    pub text: Option<String>,
    /// The id field, as a string, if present and not null.
    pub id: Option<String>,
    /// Media.
    pub media: Vec<Media>,
    /// The `metadata` field, if present.
    pub metadata: Option<Value>,
    /// Every other field, in file order.
    pub rest: Map<String, Value>,
}

/// DataTrove keeps a numeric id as a number; trove ids are strings, so numbers become their decimal form.
pub fn id_from_value(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}
