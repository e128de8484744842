//! Exact deduplication in DataTrove's three stages and file formats (`.c4_sig`, `.c4_dup`,
//! `.c4_counts`): a hash of each document's content (its text, its normalized text, or a metadata
//! field such as `url` for URL dedup), then one global pass finding repeated hashes, then a filter.
//!
//! Of the documents sharing a hash, the one with the highest `document_priority` is kept, then the
//! first by (task, index): a rule that does not depend on how a heap orders ties (DataTrove's does).

use crate::binio::{finder_inputs, le_uint, read_u32s, write_finder_files, Records};
use crate::hashing::HashConfig;
use crate::text::{simplify_text, TextNormConfig};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use trove_core::{
    open_storage, BuildContext, Context, Document, Error, Filter, Result, Source, SourceContext, Stage, Step,
    StepConfig, StepSpec, Storage, Verdict,
};

fn text() -> String {
    "text".into()
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn lines_to_buffer() -> i64 {
    5
}

/// DataTrove's `ExactDedupConfig`, with its callables given as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupConfig {
    /// What is hashed: `text`, `normalized_text` (DataTrove's `simplify_text` with `norm_config`), or
    /// `metadata.<key>` (`metadata.url` for URL dedup). DataTrove takes a function here.
    #[serde(default = "text")]
    pub content_getter: String,
    /// `metadata.<key>` holding an integer priority in 1..=65535; the highest is kept. Default: all 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_priority: Option<String>,
    /// The normalization of `normalized_text`.
    #[serde(default)]
    pub norm_config: TextNormConfig,
    /// The hash function.
    #[serde(default)]
    pub hash_config: HashConfig,
    /// With an index: only report matches against it (indexes are not supported yet).
    #[serde(default = "yes")]
    pub only_dedup_in_index: bool,
}

impl Default for ExactDedupConfig {
    fn default() -> Self {
        ExactDedupConfig {
            content_getter: text(),
            document_priority: None,
            norm_config: TextNormConfig::default(),
            hash_config: HashConfig::default(),
            only_dedup_in_index: true,
        }
    }
}

impl ExactDedupConfig {
    fn check(&self) -> Result<()> {
        self.hash_config.check()?;
        let getter = self.content_getter.as_str();
        if !(getter == "text" || getter == "normalized_text" || getter.starts_with("metadata.")) {
            return Err(Error::config(format!(
                "content_getter must be \"text\", \"normalized_text\" or \"metadata.<key>\", not {getter:?}"
            )));
        }
        if let Some(p) = &self.document_priority {
            if !p.starts_with("metadata.") {
                return Err(Error::config(format!(
                    "document_priority must be \"metadata.<key>\", not {p:?}"
                )));
            }
        }
        Ok(())
    }

    /// The bytes hashed for `doc`; `None` when the metadata field is missing.
    fn content<'a>(&self, doc: &'a Document) -> Option<std::borrow::Cow<'a, str>> {
        match self.content_getter.as_str() {
            "text" => Some(doc.text.as_str().into()),
            "normalized_text" => Some(simplify_text(&doc.text, &self.norm_config).into()),
            other => {
                let key = other.strip_prefix("metadata.").unwrap_or(other);
                match doc.metadata.get(key)? {
                    serde_json::Value::String(s) => Some(s.as_str().into()),
                    serde_json::Value::Null => None,
                    v => Some(v.to_string().into()),
                }
            }
        }
    }

    fn priority(&self, doc: &Document) -> Result<u16> {
        let Some(field) = &self.document_priority else { return Ok(1) };
        let key = field.strip_prefix("metadata.").unwrap_or(field);
        match doc.metadata.get(key).and_then(serde_json::Value::as_u64) {
            Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
            None => Ok(1),
            Some(p) => Err(Error::Format(format!(
                "document {}: priority {p} from `{key}` is outside 1..=65535",
                doc.id
            ))),
        }
    }

    fn sig_size(&self) -> usize {
        self.hash_config.width() + 2 + 4
    }
}

/// `exact_dedup_signature`: DataTrove's `ExactDedupSignature`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupSignatureConfig {
    /// Where `{finder:04}/{rank:05}.c4_sig` go.
    pub output_folder: String,
    /// What is hashed and how.
    #[serde(default)]
    pub config: ExactDedupConfig,
    /// Tasks of the find stage: the hash space is split among them.
    #[serde(default = "one")]
    pub finder_workers: usize,
}

impl StepConfig for ExactDedupSignatureConfig {
    const TYPE: &'static str = "exact_dedup_signature";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        if self.finder_workers == 0 {
            return Err(Error::config("finder_workers must be at least 1"));
        }
        let step = ExactSignatureStep {
            config: self.config.clone(),
            finder_workers: self.finder_workers,
            storage: open_storage(&self.output_folder)?,
            sigs: Vec::new(),
            next_index: 0,
        };
        Ok(Stage::step("🫂 - DEDUPS: 💥 exact-deduplication stage 1", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = self.config.check() {
            problems.push(e.to_string());
        }
    }
}

struct ExactSignatureStep {
    config: ExactDedupConfig,
    finder_workers: usize,
    storage: Arc<dyn Storage>,
    /// (hash, priority, document index)
    sigs: Vec<(u64, u16, u32)>,
    next_index: u64,
}

impl Step for ExactSignatureStep {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        cx.stats.incr("total");
        let index = u32::try_from(self.next_index).map_err(|_| {
            Error::Format("exact_dedup_signature: more than 2^32 documents in one task".into())
        })?;
        self.next_index += 1;
        match self.config.content(&doc) {
            Some(content) => {
                let hash = self.config.hash_config.hash(content.as_bytes());
                self.sigs.push((hash, self.config.priority(&doc)?, index));
            }
            None => cx.stats.incr("missing_content"),
        }
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        // DataTrove's order: hash, then highest priority, then document index.
        self.sigs.sort_unstable_by_key(|&(h, p, d)| (h, Reverse(p), d));
        let width = self.config.hash_config.width();
        let encode = |&(h, p, d): &(u64, u16, u32), out: &mut Vec<u8>| {
            out.extend_from_slice(&h.to_le_bytes()[..width]);
            out.extend_from_slice(&p.to_le_bytes());
            out.extend_from_slice(&d.to_le_bytes());
        };
        let max = self.config.hash_config.max();
        // DataTrove's exact dedup gives its last worker everything up to u64::MAX.
        write_finder_files(
            &*self.storage,
            cx,
            &self.sigs,
            |s| s.0,
            encode,
            self.finder_workers,
            max,
            u64::MAX,
        )?;
        Ok(())
    }
}

/// `exact_find_dedups`: DataTrove's `ExactFindDedups`: one task per finder worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactFindDedupsConfig {
    /// The signature stage's `output_folder`.
    pub data_folder: String,
    /// Where `{rank:05}/{task:05}.c4_dup` and `.c4_counts` go.
    pub output_folder: String,
    /// What was hashed and how (the same as the signature stage's).
    #[serde(default)]
    pub config: ExactDedupConfig,
    /// Accepted for DataTrove's signature (the counts are always written, as DataTrove does).
    #[serde(default)]
    pub save_cluster_size: bool,
    /// An index of earlier datasets' hashes (not supported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_folder: Option<String>,
    /// Accepted for DataTrove's signature (read buffering).
    #[serde(default = "lines_to_buffer")]
    pub lines_to_buffer: i64,
}

impl StepConfig for ExactFindDedupsConfig {
    const TYPE: &'static str = "exact_find_dedups";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        if self.index_folder.is_some() {
            return Err(Error::config("exact_find_dedups: index_folder is not supported yet"));
        }
        let source = FindSource {
            config: self.config.clone(),
            input: open_storage(&self.data_folder)?,
            output: open_storage(&self.output_folder)?,
        };
        Ok(Stage::source("🫂 - DEDUPS: 💥 exact-deduplication stage 2", source))
    }
}

struct FindSource {
    config: ExactDedupConfig,
    input: Arc<dyn Storage>,
    output: Arc<dyn Storage>,
}

/// Reads `(hash, priority, document)` records.
struct SigFile {
    records: Records,
    width: usize,
}

impl SigFile {
    fn next(&mut self) -> Result<Option<(u64, u16, u32)>> {
        let w = self.width;
        let Some(rec) = self.records.next()? else { return Ok(None) };
        Ok(Some((le_uint(&rec[..w]), le_uint(&rec[w..w + 2]) as u16, le_uint(&rec[w + 2..w + 6]) as u32)))
    }
}

impl Source for FindSource {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let rank = cx.task.rank;
        let files = finder_inputs(&*self.input, rank, cx.task.world_size)?;
        let mut stems = Vec::new();
        let mut readers = Vec::new();
        let mut heap = BinaryHeap::new();
        for (i, f) in files.iter().enumerate() {
            let stem = f.rsplit('/').next().unwrap_or_default().trim_end_matches(".c4_sig").to_string();
            let mut r = SigFile {
                records: Records::open(&*self.input, f, self.config.sig_size())?,
                width: self.config.hash_config.width(),
            };
            if let Some((h, p, d)) = r.next()? {
                heap.push(Reverse((h, Reverse(p), i, d)));
            }
            stems.push(stem);
            readers.push(r);
        }
        let mut dups: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut counts: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        // The kept document of the current hash: (hash, file, doc) and its duplicate count.
        let mut first: Option<(u64, usize, u32)> = None;
        let mut count = 0u32;
        let flush = |first: Option<(u64, usize, u32)>, count: u32, counts: &mut BTreeMap<String, Vec<u8>>| {
            if let Some((_, file, doc)) = first.filter(|_| count > 0) {
                let buf = counts.entry(format!("{rank:05}/{}.c4_counts", stems[file])).or_default();
                buf.extend_from_slice(&doc.to_le_bytes());
                buf.extend_from_slice(&count.to_le_bytes());
            }
        };
        let mut found = 0i64;
        while let Some(Reverse((h, p, file, doc))) = heap.pop() {
            match first {
                Some((fh, _, _)) if fh == h => {
                    count += 1;
                    found += 1;
                    dups.entry(format!("{rank:05}/{}.c4_dup", stems[file]))
                        .or_default()
                        .extend_from_slice(&doc.to_le_bytes());
                }
                _ => {
                    flush(first, count, &mut counts);
                    first = Some((h, file, doc));
                    count = 0;
                }
            }
            if let Some((nh, np, nd)) = readers[file].next()? {
                if (nh, Reverse(np), nd) < (h, p, doc) {
                    return Err(Error::Format(format!(
                        "{}: signatures are not sorted: re-run the signature stage for it",
                        readers[file].records.path
                    )));
                }
                heap.push(Reverse((nh, Reverse(np), file, nd)));
            }
        }
        flush(first, count, &mut counts);
        cx.stats.update("duplicates", found);
        for (path, bytes) in dups.iter().chain(&counts) {
            trove_core::storage::write_all(&*self.output, path, bytes)?;
        }
        Ok(())
    }
}

/// `exact_dedup_filter`: DataTrove's `ExactDedupFilter`: drops the duplicates found for this task,
/// writes `duplicate_count` (copies removed elsewhere) into the kept documents' metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExactDedupFilterConfig {
    /// The find stage's `output_folder`.
    pub data_folder: String,
    /// The dedup configuration (kept for DataTrove's signature).
    #[serde(default)]
    pub config: ExactDedupConfig,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for ExactDedupFilterConfig {
    const TYPE: &'static str = "exact_dedup_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let storage = open_storage(&self.data_folder)?;
        let rank = cx.task.rank;
        let (mut dups, mut counts) = (Vec::new(), Vec::new());
        for f in storage.list("", true)? {
            let Some((folder, name)) = f.split_once('/') else { continue };
            if folder.contains('/') {
                continue;
            }
            let read = |f: &str| -> Result<Vec<u32>> { Ok(read_u32s(&*storage, f)?.unwrap_or_default()) };
            if name == format!("{rank:05}.c4_dup") {
                dups.extend(read(&f)?);
            } else if name == format!("{rank:05}.c4_counts") {
                counts.extend(read(&f)?.chunks_exact(2).map(|c| (c[0], c[1])));
            }
        }
        dups.sort_unstable();
        counts.sort_unstable();
        let filter = ExactFilter {
            dups: dups.into_iter().peekable(),
            counts: counts.into_iter().peekable(),
            index: 0,
        };
        cx.filter_stage_named(
            "🫂 - DEDUPS: 💥 exact-deduplication stage 3",
            filter,
            self.exclusion_writer.as_ref(),
        )
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// Drops listed document indexes, annotates `duplicate_count` on the others.
pub struct ExactFilter {
    dups: std::iter::Peekable<std::vec::IntoIter<u32>>,
    counts: std::iter::Peekable<std::vec::IntoIter<(u32, u32)>>,
    index: u64,
}

impl Filter for ExactFilter {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_mut(&mut self, doc: &mut Document) -> Verdict {
        let index = self.index;
        self.index += 1;
        if self.dups.peek().is_some_and(|&d| u64::from(d) == index) {
            self.dups.next();
            return Verdict::Drop(None);
        }
        let count = match self.counts.peek() {
            Some(&(d, c)) if u64::from(d) == index => {
                self.counts.next();
                c
            }
            _ => 0,
        };
        doc.metadata.insert("duplicate_count".into(), count.into());
        Verdict::Keep
    }
}
