//! Sentence deduplication in DataTrove's three stages (`SentenceDedupSignature`, `SentenceFindDedups`,
//! `SentenceDedupFilter`; C4's "discard all but one of any three-sentence span occurring more than
//! once"), with its files: `{worker:04}/{rank:05}.c4_sig` records `(hash, doc u32, sentence u16)` and
//! `{worker:04}/{rank:05}.c4_dup` records `(doc u32, sentence u16)`.
//!
//! The find stage's order is DataTrove's (hash, document, file, sentence), a total order, so the
//! same span occurrences are kept.

use crate::binio::{finder_inputs, le_uint, write_finder_files, Records};
use crate::hashing::HashConfig;
use crate::text::{simplify_text, TextNormConfig};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::Read;
use std::sync::Arc;
use trove_core::text::{splitlines, WordSplitter};
use trove_core::{
    open_storage, BuildContext, Context, Document, Error, Result, Source, SourceContext, Stage, Step,
    StepConfig, StepSpec, Storage,
};

fn three() -> usize {
    3
}
fn yes() -> bool {
    true
}
fn fifty() -> usize {
    50
}
fn one() -> usize {
    1
}
fn english() -> String {
    "en".into()
}
fn lines_to_buffer() -> i64 {
    5
}

/// DataTrove's `SentDedupConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentDedupConfig {
    /// Sentences per span.
    #[serde(default = "three")]
    pub n_sentences: usize,
    /// Split into sentences (`false`: into lines).
    #[serde(default = "yes")]
    pub split_sentences: bool,
    /// With an index: only report matches against it (indexes are not supported yet).
    #[serde(default = "yes")]
    pub only_dedup_in_index: bool,
    /// A changed document with fewer words is dropped.
    #[serde(default = "fifty")]
    pub min_doc_words: usize,
    /// A changed document with fewer sentences is dropped.
    #[serde(default = "three")]
    pub min_num_sentences: usize,
    /// A duplicate span with fewer words is kept.
    #[serde(default)]
    pub min_words_to_remove_span: usize,
    /// Normalization of each sentence before hashing.
    #[serde(default)]
    pub norm_config: TextNormConfig,
    /// The hash function.
    #[serde(default)]
    pub hash_config: HashConfig,
}

impl Default for SentDedupConfig {
    fn default() -> Self {
        SentDedupConfig {
            n_sentences: 3,
            split_sentences: true,
            only_dedup_in_index: true,
            min_doc_words: 50,
            min_num_sentences: 3,
            min_words_to_remove_span: 0,
            norm_config: TextNormConfig::default(),
            hash_config: HashConfig::default(),
        }
    }
}

impl SentDedupConfig {
    fn check(&self) -> Result<()> {
        self.hash_config.check()?;
        if self.n_sentences == 0 {
            return Err(Error::config("n_sentences must be at least 1"));
        }
        Ok(())
    }

    fn sig_size(&self) -> usize {
        self.hash_config.width() + 4 + 2
    }
}

/// `sentence_dedup_signature`: DataTrove's `SentenceDedupSignature`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentenceDedupSignatureConfig {
    /// Where `{worker:04}/{rank:05}.c4_sig` go.
    pub output_folder: String,
    /// Tasks of the find stage: the hash space is split among them.
    #[serde(default = "one")]
    pub finder_workers: usize,
    /// The dedup parameters.
    #[serde(default)]
    pub config: SentDedupConfig,
    /// The language whose sentence splitter is used.
    #[serde(default = "english")]
    pub language: String,
}

impl StepConfig for SentenceDedupSignatureConfig {
    const TYPE: &'static str = "sentence_dedup_signature";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        if self.finder_workers == 0 {
            return Err(Error::config("finder_workers must be at least 1"));
        }
        let step = SentenceSignatureStep {
            config: self.config.clone(),
            finder_workers: self.finder_workers,
            storage: open_storage(&self.output_folder)?,
            splitter: WordSplitter::new(&self.language),
            sigs: Vec::new(),
            next_index: 0,
        };
        Ok(Stage::step("🫂 - DEDUPS: 💥 sentence-deduplication stage 1", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = self.config.check() {
            problems.push(e.to_string());
        }
    }
}

struct SentenceSignatureStep {
    config: SentDedupConfig,
    finder_workers: usize,
    storage: Arc<dyn Storage>,
    splitter: WordSplitter,
    /// (hash, document, sentence)
    sigs: Vec<(u64, u32, u16)>,
    next_index: u64,
}

impl Step for SentenceSignatureStep {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        cx.stats.incr("total");
        let index = u32::try_from(self.next_index).map_err(|_| {
            Error::Format("sentence_dedup_signature: more than 2^32 documents in one task".into())
        })?;
        self.next_index += 1;
        let sentences: Vec<&str> = if self.config.split_sentences {
            self.splitter.sent_tokenize(&doc.text)
        } else {
            splitlines(&doc.text).collect()
        };
        let n = self.config.n_sentences;
        if sentences.len() < n {
            return Ok(());
        }
        let simplified: Vec<String> =
            sentences.iter().map(|s| simplify_text(s, &self.config.norm_config)).collect();
        for (i, window) in simplified.windows(n).enumerate() {
            let span = window.join(" ");
            if trove_core::text::py_strip(&span).is_empty() {
                continue;
            }
            let sent = u16::try_from(i).map_err(|_| {
                Error::Format(format!(
                    "document {}: more than 65,536 sentences (DataTrove stores u16)",
                    doc.id
                ))
            })?;
            self.sigs.push((self.config.hash_config.hash(span.as_bytes()), index, sent));
        }
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.sigs.sort_unstable();
        let width = self.config.hash_config.width();
        let encode = |&(h, d, s): &(u64, u32, u16), out: &mut Vec<u8>| {
            out.extend_from_slice(&h.to_le_bytes()[..width]);
            out.extend_from_slice(&d.to_le_bytes());
            out.extend_from_slice(&s.to_le_bytes());
        };
        let max = self.config.hash_config.max();
        write_finder_files(&*self.storage, cx, &self.sigs, |s| s.0, encode, self.finder_workers, max, max)?;
        Ok(())
    }
}

/// `sentence_find_dedups`: DataTrove's `SentenceFindDedups`: one task per finder worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentenceFindDedupsConfig {
    /// The signature stage's `output_folder`.
    pub data_folder: String,
    /// Where `{worker:04}/{rank:05}.c4_dup` go.
    pub output_folder: String,
    /// An index of earlier datasets' spans (not supported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_folder: Option<String>,
    /// The dedup parameters (the same as the signature stage's).
    #[serde(default)]
    pub config: SentDedupConfig,
    /// Accepted for DataTrove's signature (read buffering).
    #[serde(default = "lines_to_buffer")]
    pub lines_to_buffer: i64,
}

impl StepConfig for SentenceFindDedupsConfig {
    const TYPE: &'static str = "sentence_find_dedups";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        if self.index_folder.is_some() {
            return Err(Error::config("sentence_find_dedups: index_folder is not supported yet"));
        }
        let source = SentenceFindSource {
            config: self.config.clone(),
            input: open_storage(&self.data_folder)?,
            output: open_storage(&self.output_folder)?,
        };
        Ok(Stage::source("🫂 - DEDUPS: 💥 sentence-deduplication stage 2", source))
    }
}

struct SentenceFindSource {
    config: SentDedupConfig,
    input: Arc<dyn Storage>,
    output: Arc<dyn Storage>,
}

impl Source for SentenceFindSource {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let rank = cx.task.rank;
        let files = finder_inputs(&*self.input, rank, cx.task.world_size)?;
        let width = self.config.hash_config.width();
        let size = self.config.sig_size();
        let decode = |r: &[u8]| {
            (le_uint(&r[..width]), le_uint(&r[width..width + 4]) as u32, le_uint(&r[width + 4..]) as u16)
        };
        let mut stems = Vec::new();
        let mut readers = Vec::new();
        let mut heap = BinaryHeap::new();
        for (i, f) in files.iter().enumerate() {
            stems.push(f.rsplit('/').next().unwrap_or_default().trim_end_matches(".c4_sig").to_string());
            let mut r = Records::open(&*self.input, f, size)?;
            if let Some(rec) = r.next()? {
                let (h, d, s) = decode(rec);
                heap.push(Reverse((h, d, i, s)));
            }
            readers.push(r);
        }
        let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut last: Option<u64> = None;
        let mut found = 0i64;
        while let Some(Reverse((h, d, file, s))) = heap.pop() {
            if last == Some(h) {
                let buf = out.entry(format!("{rank:04}/{}.c4_dup", stems[file])).or_default();
                buf.extend_from_slice(&d.to_le_bytes());
                buf.extend_from_slice(&s.to_le_bytes());
                found += 1;
            }
            last = Some(h);
            if let Some(rec) = readers[file].next()? {
                let (nh, nd, ns) = decode(rec);
                if (nh, nd, ns) < (h, d, s) {
                    return Err(Error::Format(format!(
                        "{}: signatures are not sorted: re-run the signature stage for it",
                        readers[file].path
                    )));
                }
                heap.push(Reverse((nh, nd, file, ns)));
            }
        }
        cx.stats.update("duplicate_spans", found);
        for (path, bytes) in &out {
            trove_core::storage::write_all(&*self.output, path, bytes)?;
        }
        Ok(())
    }
}

/// `sentence_dedup_filter`: DataTrove's `SentenceDedupFilter`: removes each duplicate span's
/// sentences; a changed document left with fewer than `min_doc_words` words or `min_num_sentences`
/// sentences is dropped. The exclusion writer receives dropped documents and, for changed ones, the
/// original text with the removed spans marked `>>>` … `<<<`, as DataTrove writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentenceDedupFilterConfig {
    /// The find stage's `output_folder`.
    pub data_folder: String,
    /// The dedup parameters (the same as the other stages').
    #[serde(default)]
    pub config: SentDedupConfig,
    /// Where dropped and marked-up changed documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// The language whose splitters are used.
    #[serde(default = "english")]
    pub language: String,
}

impl StepConfig for SentenceDedupFilterConfig {
    const TYPE: &'static str = "sentence_dedup_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        self.config.check()?;
        let storage = open_storage(&self.data_folder)?;
        let name = format!("{:05}.c4_dup", cx.task.rank);
        let mut dups: Vec<(u32, u16)> = Vec::new();
        for f in storage.list("", true)? {
            if f.split_once('/').is_some_and(|(dir, file)| !dir.contains('/') && file == name) {
                let mut bytes = Vec::new();
                storage.open(&f)?.read_to_end(&mut bytes).map_err(|e| Error::io(storage.resolve(&f), e))?;
                if bytes.len() % 6 != 0 {
                    return Err(Error::Format(format!(
                        "{}: not whole (doc, sentence) records",
                        storage.resolve(&f)
                    )));
                }
                dups.extend(bytes.chunks_exact(6).map(|c| {
                    (u32::from_le_bytes([c[0], c[1], c[2], c[3]]), u16::from_le_bytes([c[4], c[5]]))
                }));
            }
        }
        dups.sort_unstable();
        let exclusion = match &self.exclusion_writer {
            Some(spec) => match cx.build_nested(spec)?.kind {
                trove_core::step::StageKind::Step(step) => Some(step),
                trove_core::step::StageKind::Source(_) => {
                    return Err(Error::config("exclusion_writer must be a writer, not a reader"))
                }
            },
            None => None,
        };
        let step = SentenceFilterStep {
            config: self.config.clone(),
            splitter: WordSplitter::new(&self.language),
            dups,
            at: 0,
            index: 0,
            exclusion,
            exclusion_stats: trove_core::Stats::new("exclusion writer"),
            scratch: Vec::new(),
        };
        Ok(Stage::step("🫂 - DEDUPS: 💥 sentence-deduplication stage 3", step))
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

struct SentenceFilterStep {
    config: SentDedupConfig,
    splitter: WordSplitter,
    dups: Vec<(u32, u16)>,
    at: usize,
    index: u64,
    exclusion: Option<Box<dyn Step>>,
    exclusion_stats: trove_core::Stats,
    scratch: Vec<Document>,
}

impl SentenceFilterStep {
    fn exclude(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        if let Some(writer) = &mut self.exclusion {
            let mut sub = Context::new(cx.task, &mut self.exclusion_stats, cx.outputs, &mut self.scratch);
            writer.process(doc, &mut sub)?;
            self.scratch.clear();
        }
        Ok(())
    }

    fn word_count(&mut self, text: &str) -> usize {
        self.splitter.words(text).len()
    }

    /// DataTrove's `remove_dup_sentences`: (kept text, original with `>>>`/`<<<` marks).
    fn remove(&mut self, text: &str, dup_sentences: &[u16], cx: &mut Context<'_>) -> (String, String) {
        let split = self.config.split_sentences;
        let pieces: Vec<&str> = if split {
            let mut last = 0;
            let spans = self.splitter.span_tokenize(text);
            spans
                .into_iter()
                .map(|(_, end)| {
                    let piece = &text[last..end];
                    last = end;
                    piece
                })
                .collect()
        } else {
            splitlines(text).collect()
        };
        let (mut kept, mut marked): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut removed_span: Vec<&str> = Vec::new();
        let (mut next_dup, mut drop_until) = (0, 0);
        let min_words = self.config.min_words_to_remove_span;
        for (idx, &piece) in pieces.iter().enumerate() {
            if next_dup < dup_sentences.len() && usize::from(dup_sentences[next_dup]) == idx {
                drop_until = idx + self.config.n_sentences;
                next_dup += 1;
            }
            if idx >= drop_until {
                if !removed_span.is_empty() {
                    marked.push("<<<");
                    if min_words > 0 && self.word_count(&removed_span.join("\n")) < min_words {
                        kept.extend(removed_span.iter().copied());
                    }
                    removed_span.clear();
                }
                kept.push(piece);
            } else if removed_span.is_empty() {
                // As DataTrove: only a span's first piece is remembered for `min_words_to_remove_span`.
                removed_span.push(piece);
                marked.push(">>>");
            }
            marked.push(piece);
        }
        if !removed_span.is_empty() {
            marked.push("<<<");
            if min_words > 0 && self.word_count(&removed_span.join("\n")) < min_words {
                kept.extend(removed_span.iter().copied());
            }
        }
        if kept.len() < pieces.len() {
            cx.stats.update("removed_sentences", (pieces.len() - kept.len()) as i64);
        }
        cx.stats.update("original_sentences", pieces.len() as i64);
        let join = if split { "" } else { "\n" };
        (kept.join(join).trim_start_matches(trove_core::text::py_isspace).to_string(), marked.join(join))
    }
}

impl Step for SentenceFilterStep {
    fn process(&mut self, mut doc: Document, cx: &mut Context<'_>) -> Result<()> {
        cx.stats.incr("total");
        let index = self.index;
        self.index += 1;
        let start = self.at;
        while self.at < self.dups.len() && u64::from(self.dups[self.at].0) == index {
            self.at += 1;
        }
        let (filtered, marked) = if start == self.at {
            (doc.text.clone(), None)
        } else {
            let sentences: Vec<u16> = self.dups[start..self.at].iter().map(|d| d.1).collect();
            let (f, m) = self.remove(&doc.text, &sentences, cx);
            (f, Some(m))
        };
        let unchanged = filtered == doc.text;
        let keep = !filtered.is_empty()
            && (unchanged
                || ((self.config.min_doc_words == 0
                    || self.word_count(&filtered) >= self.config.min_doc_words)
                    && (self.config.min_num_sentences == 0
                        || self.splitter.count_sentences(&filtered) >= self.config.min_num_sentences)));
        if keep {
            if let (false, Some(m)) = (unchanged, &marked) {
                let mut copy = doc.clone();
                copy.text = m.clone();
                self.exclude(copy, cx)?;
            }
            doc.text = filtered;
            cx.stats.incr("forwarded");
            cx.stats.doc_stats(&doc);
            cx.emit(doc);
        } else {
            cx.stats.incr("dropped");
            if let Some(m) = marked {
                doc.text = m;
            }
            self.exclude(doc, cx)?;
        }
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if let Some(writer) = &mut self.exclusion {
            let mut sub = Context::new(cx.task, &mut self.exclusion_stats, cx.outputs, &mut self.scratch);
            writer.finish(&mut sub)?;
            self.scratch.clear();
        }
        Ok(())
    }
}
