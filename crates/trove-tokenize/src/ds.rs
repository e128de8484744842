//! `document_tokenizer`: DataTrove's `DocumentTokenizer` and its `.ds` token files.
//!
//! Format (DataTrove's, byte for byte): `NAME.ds` holds the token ids of every document back to back,
//! little-endian `u16` (`u32` when the vocabulary has more than 65,536 entries); `NAME.ds.index` the
//! cumulative end of each document in tokens (`u64`); `NAME.ds.loss` one byte per token (1 = counts in
//! the loss); `NAME.ds.metadata` the tokenizer name and token size, the token count and that count in
//! humanize's metric form. Documents are shuffled inside the task's file with numpy's
//! `default_rng(seed).permutation`, as DataTrove does (then optionally chunks of `shuffle_chunk_size`
//! tokens with the next permutation of the same generator).
//!
//! Tokens are written to an unshuffled temporary file as documents arrive (memory holds only the
//! document ends), then copied in the shuffled order when the task finishes; every output is staged and
//! published with the task.

use crate::counter::{encode_texts, shared_tokenizer};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use tokenizers::Tokenizer;
use trove_core::numpy_rng::Pcg64;
use trove_core::{
    open_storage, BuildContext, Context, Document, Error, Result, Stage, Step, StepConfig, Storage,
};

fn gpt2() -> String {
    "gpt2".into()
}
fn yes() -> bool {
    true
}
fn ten_thousand() -> usize {
    10_000
}

/// `document_tokenizer`: DataTrove's `DocumentTokenizer`. Tokenizes documents into `.ds` files in
/// `output_folder` (one per task, or several with `max_tokens_per_file`); documents end here.
///
/// Without a `seed`, task `r` shuffles with seed `r` (DataTrove draws fresh entropy): runs are
/// reproducible. `local_working_dir` and `upload_block_size` are accepted; the unshuffled tokens go to
/// `local_working_dir` or the system's temporary folder. With `save_loss_metadata`, a document's
/// `no_loss_ranges` metadata (character `[start, end)` pairs) marks tokens left out of the loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentTokenizerConfig {
    /// Where the `.ds` files go.
    pub output_folder: String,
    /// Folder for the unshuffled temporary file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_working_dir: Option<String>,
    /// Prefix of the output file names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_filename: Option<String>,
    /// A local tokenizer file or folder.
    #[serde(default = "gpt2")]
    pub tokenizer_name_or_path: String,
    /// Token appended to every document (the text, e.g. `<|endoftext|>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token: Option<String>,
    /// Write `.ds.index`.
    #[serde(default = "yes")]
    pub save_index: bool,
    /// Write `.ds.loss`.
    #[serde(default)]
    pub save_loss_metadata: bool,
    /// Write `.ds.metadata`.
    #[serde(default = "yes")]
    pub save_final_metadata: bool,
    /// Documents encoded together.
    #[serde(default = "ten_thousand")]
    pub batch_size: usize,
    /// Start a new file after this many tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_per_file: Option<u64>,
    /// Seed of the shuffles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Accepted for compatibility (an fsspec upload setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_block_size: Option<u64>,
    /// Shuffle documents inside the task's file.
    #[serde(default = "yes")]
    pub shuffle_documents: bool,
    /// Also shuffle chunks of this many tokens (the last, shorter chunk is dropped, as in DataTrove).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_chunk_size: Option<u64>,
}

impl StepConfig for DocumentTokenizerConfig {
    const TYPE: &'static str = "document_tokenizer";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let tokenizer = shared_tokenizer(&self.tokenizer_name_or_path, self.eos_token.as_deref())?;
        let token_size = if tokenizer.get_vocab_size(true) > 65_536 { 4 } else { 2 };
        let dir = match &self.local_working_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
                std::path::PathBuf::from(d)
            }
            None => std::env::temp_dir(),
        };
        let temp = tempfile_in(&dir)?;
        let step = DocumentTokenizer {
            config: self.clone(),
            storage: open_storage(&self.output_folder)?,
            tokenizer,
            token_size,
            rank: cx.task.rank,
            tokens: BufWriter::with_capacity(1 << 20, temp.0),
            temp_path: temp.1,
            loss: Vec::new(),
            doc_ends: Vec::new(),
            written: 0,
            pending: Vec::new(),
            warned_loss_ranges: false,
        };
        Ok(Stage::step("🔢 - TOKENIZER: ✍️ Writer", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = shared_tokenizer(&self.tokenizer_name_or_path, self.eos_token.as_deref()) {
            problems.push(e.to_string());
        }
        if self.shuffle_chunk_size == Some(0) || self.max_tokens_per_file == Some(0) {
            problems.push("shuffle_chunk_size and max_tokens_per_file must be positive".into());
        }
    }
}

/// A fresh temporary file in `dir`, removed by the step when it is done (and by the OS on reboot).
fn tempfile_in(dir: &std::path::Path) -> Result<(File, std::path::PathBuf)> {
    for attempt in 0..100u32 {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let path = dir.join(format!(".trove-tokens-{}-{nanos}-{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Err(Error::config(format!("cannot create a temporary file in {}", dir.display())))
}

/// The runtime tokenizer step.
pub struct DocumentTokenizer {
    config: DocumentTokenizerConfig,
    storage: Arc<dyn Storage>,
    tokenizer: Arc<Tokenizer>,
    token_size: usize,
    rank: usize,
    tokens: BufWriter<File>,
    temp_path: std::path::PathBuf,
    /// Loss bytes of every token so far (only with `save_loss_metadata`).
    loss: Vec<u8>,
    doc_ends: Vec<u64>,
    written: u64,
    pending: Vec<Document>,
    warned_loss_ranges: bool,
}

impl Drop for DocumentTokenizer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp_path);
    }
}

/// DataTrove's `get_loss_values`: one byte per token, 0 inside the `no_loss_ranges` (character
/// `[start, end)` pairs mapped to tokens); a range reaching the end of the text (or past the last token)
/// cuts the document there.
fn loss_values(
    encoding: &tokenizers::Encoding,
    ranges: &serde_json::Value,
) -> std::result::Result<Vec<u8>, String> {
    let pairs = ranges.as_array().ok_or("is not a list")?;
    let mut loss = vec![1u8; encoding.get_ids().len()];
    for pair in pairs {
        let (Some(start), Some(end)) =
            (pair.get(0).and_then(|v| v.as_u64()), pair.get(1).and_then(|v| v.as_u64()))
        else {
            return Err(format!("has an entry that is not [start, end]: {pair}"));
        };
        let t_start = encoding.char_to_token(start as usize, 0);
        let t_end = encoding.char_to_token(end as usize, 0);
        // Python slices: a missing start is 0, a missing end is the end.
        let from = t_start.unwrap_or(0).min(loss.len());
        let to = t_end.unwrap_or(loss.len()).min(loss.len());
        if from < to {
            loss[from..to].iter_mut().for_each(|x| *x = 0);
        }
        if t_end.is_none_or(|e| e >= encoding.get_ids().len()) {
            loss.truncate(t_start.unwrap_or(loss.len()));
        }
    }
    Ok(loss)
}

/// DataTrove's `get_output_filename`.
fn output_filename(save_filename: Option<&str>, rank: usize, name: &str, sub_rank: Option<usize>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = save_filename.filter(|s| !s.is_empty()) {
        parts.push(s.to_string());
    }
    parts.push(format!("{rank:05}"));
    if let Some(sub) = sub_rank {
        parts.push(format!("{sub:05}"));
    }
    parts.push(format!("{name}.ds"));
    parts.join("_")
}

/// humanize's `metric(value, unit)` with 3 digits of precision (DataTrove's `.ds.metadata`).
pub fn humanize_metric(value: u64, unit: &str) -> String {
    if value == 0 {
        return format!("0.00 {unit}");
    }
    let v = value as f64;
    let mut exponent = v.log10().floor() as i64;
    let old_bucket = exponent.div_euclid(3) * 3;
    let mut scaled = v / 10f64.powi(old_bucket as i32);
    let mut digits = (3 - exponent.rem_euclid(3) - 1).max(0) as usize;
    let rounded = (scaled * 10f64.powi(digits as i32)).round() / 10f64.powi(digits as i32);
    if exponent < 30 && rounded >= 10f64.powi((exponent.rem_euclid(3) + 1) as i32) {
        exponent += 1;
        let new_bucket = exponent.div_euclid(3) * 3;
        scaled /= 10f64.powi((new_bucket - old_bucket) as i32);
        digits = (3 - exponent.rem_euclid(3) - 1).max(0) as usize;
    }
    let prefix = if exponent >= 3 { "kMGTPEZYRQ".chars().nth((exponent / 3 - 1) as usize) } else { None };
    match prefix {
        Some(p) => format!("{scaled:.digits$} {p}{unit}"),
        None => format!("{scaled:.digits$} {unit}"),
    }
}

/// One output `.ds` file being written (staged with its index, loss and metadata files).
struct OutFile {
    name: String,
    tokens: Box<dyn trove_core::AtomicFile>,
    loss: Option<Box<dyn trove_core::AtomicFile>>,
    doc_ends: Vec<u64>,
    written: u64,
    save_index: bool,
}

impl DocumentTokenizer {
    fn flush(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let with_ranges = self.config.save_loss_metadata
            && self.pending.iter().any(|d| d.metadata.contains_key("no_loss_ranges"));
        let encodings = if with_ranges {
            // Character offsets, as DataTrove's Python encodings have, to map `no_loss_ranges`.
            let texts: Vec<&str> = self.pending.iter().map(|d| d.text.as_str()).collect();
            self.tokenizer
                .encode_batch_char_offsets(texts, true)
                .map_err(|e| Error::Format(format!("document_tokenizer: {e}")))?
        } else {
            encode_texts(&self.tokenizer, &self.pending, true, "document_tokenizer")?
        };
        let mut bytes = Vec::new();
        for (doc, encoding) in self.pending.iter().zip(&encodings) {
            let mut ids = encoding.get_ids();
            if self.config.save_loss_metadata {
                let loss = match doc.metadata.get("no_loss_ranges") {
                    Some(ranges) => match loss_values(encoding, ranges) {
                        Ok(loss) => loss,
                        Err(message) => {
                            if !self.warned_loss_ranges {
                                tracing::warn!(
                                    "document {}: no_loss_ranges {message}; ignored (logged once)",
                                    doc.id
                                );
                                self.warned_loss_ranges = true;
                            }
                            vec![1u8; ids.len()]
                        }
                    },
                    None => vec![1u8; ids.len()],
                };
                // DataTrove drops the tokens of a final no-loss section.
                ids = &ids[..loss.len().min(ids.len())];
                self.loss.extend_from_slice(&loss);
            }
            bytes.clear();
            for &id in ids {
                if self.token_size == 4 {
                    bytes.extend_from_slice(&id.to_le_bytes());
                } else {
                    bytes.extend_from_slice(&(id as u16).to_le_bytes());
                }
            }
            self.tokens.write_all(&bytes).map_err(|e| Error::io(&self.temp_path, e))?;
            self.written += ids.len() as u64;
            self.doc_ends.push(self.written);
            cx.stats.update("tokens", ids.len() as u64);
        }
        self.pending.clear();
        Ok(())
    }

    fn open_out(&self, name: String, save_index: bool) -> Result<OutFile> {
        Ok(OutFile {
            tokens: self.storage.create(&name)?,
            loss: if self.config.save_loss_metadata {
                Some(self.storage.create(&format!("{name}.loss"))?)
            } else {
                None
            },
            name,
            doc_ends: Vec::new(),
            written: 0,
            save_index,
        })
    }

    fn close_out(&self, out: OutFile, cx: &mut Context<'_>) -> Result<()> {
        cx.outputs.stage(out.tokens);
        if let Some(loss) = out.loss {
            cx.outputs.stage(loss);
        }
        if out.save_index {
            let mut index = self.storage.create(&format!("{}.index", out.name))?;
            let bytes: Vec<u8> = out.doc_ends.iter().flat_map(|e| e.to_le_bytes()).collect();
            index.write_all(&bytes).map_err(|e| Error::io(format!("{}.index", out.name), e))?;
            cx.outputs.stage(index);
        }
        if self.config.save_final_metadata {
            let mut meta = self.storage.create(&format!("{}.metadata", out.name))?;
            let text = format!(
                "{}|{}\n{}\n{}",
                self.config.tokenizer_name_or_path,
                self.token_size,
                out.written,
                humanize_metric(out.written, "T")
            );
            meta.write_all(text.as_bytes()).map_err(|e| Error::io(format!("{}.metadata", out.name), e))?;
            cx.outputs.stage(meta);
        }
        Ok(())
    }

    /// DataTrove's `TokenizedFile.copy`: the spans of `boundaries` (each a list of document ends, the
    /// last being the span's end) in `ordering`, into files named with `sub_name`, a new file after
    /// `max_tokens_per_file` tokens.
    fn copy(
        &self,
        source: &[u8],
        boundaries: &[Vec<u64>],
        ordering: &[usize],
        sub_name: &str,
        cx: &mut Context<'_>,
    ) -> Result<()> {
        let (max_tokens, save_index) = (self.config.max_tokens_per_file, self.config.save_index);
        let ts = self.token_size as u64;
        let save_filename = self.config.save_filename.as_deref();
        let mut sub_rank = 0;
        let mut out =
            self.open_out(output_filename(save_filename, self.rank, sub_name, Some(sub_rank)), save_index)?;
        let mut since_split = 0u64;
        for &doc in ordering {
            let start = if doc > 0 { *boundaries[doc - 1].last().unwrap_or(&0) } else { 0 };
            let end = *boundaries[doc].last().unwrap_or(&0);
            let bytes = &source[(start * ts) as usize..(end * ts) as usize];
            out.tokens.write_all(bytes).map_err(|e| Error::io(&out.name, e))?;
            if let Some(loss) = &mut out.loss {
                loss.write_all(&self.loss[start as usize..end as usize])
                    .map_err(|e| Error::io(&out.name, e))?;
            }
            let base = out.written;
            out.doc_ends.extend(boundaries[doc].iter().map(|e| e - start + base));
            out.written += end - start;
            since_split += end - start;
            if max_tokens.is_some_and(|m| since_split > m) {
                let full = std::mem::replace(
                    &mut out,
                    self.open_out(
                        output_filename(save_filename, self.rank, sub_name, Some(sub_rank + 1)),
                        true,
                    )?,
                );
                self.close_out(full, cx)?;
                sub_rank += 1;
                since_split = 0;
            }
        }
        self.close_out(out, cx)
    }

    fn write_outputs(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.tokens.flush().map_err(|e| Error::io(&self.temp_path, e))?;
        if self.doc_ends.is_empty() {
            tracing::warn!("document_tokenizer: no data saved");
            return Ok(());
        }
        let file = self.tokens.get_ref();
        let mut source = vec![0u8; (self.written as usize) * self.token_size];
        file.read_exact_at(&mut source, 0).map_err(|e| Error::io(&self.temp_path, e))?;
        let c = &self.config;
        let mut rng = Pcg64::from_seed(c.seed.map(u128::from).unwrap_or(self.rank as u128));
        let docs: Vec<Vec<u64>> = self.doc_ends.iter().map(|&e| vec![e]).collect();
        if !c.shuffle_documents && c.shuffle_chunk_size.is_none() {
            // The unshuffled file is the output.
            let mut out = self.open_out(
                output_filename(c.save_filename.as_deref(), self.rank, "unshuffled", None),
                c.save_index,
            )?;
            out.tokens.write_all(&source).map_err(|e| Error::io(&out.name, e))?;
            if let Some(loss) = &mut out.loss {
                loss.write_all(&self.loss).map_err(|e| Error::io(&out.name, e))?;
            }
            out.doc_ends = self.doc_ends.clone();
            out.written = self.written;
            return self.close_out(out, cx);
        }
        if c.shuffle_documents && c.shuffle_chunk_size.is_none() {
            let ordering = rng.permutation(docs.len());
            return self.copy(&source, &docs, &ordering, "doc_shuffled", cx);
        }
        let (mut source, mut loss, mut ends) =
            (source, std::mem::take(&mut self.loss), self.doc_ends.clone());
        if c.shuffle_documents {
            let ordering = rng.permutation(docs.len());
            // An intermediate shuffled copy, chunked next.
            let ts = self.token_size;
            let (mut s2, mut l2, mut e2) = (Vec::with_capacity(source.len()), Vec::new(), Vec::new());
            let mut written = 0u64;
            for &d in &ordering {
                let start = if d > 0 { ends[d - 1] } else { 0 };
                let end = ends[d];
                s2.extend_from_slice(&source[start as usize * ts..end as usize * ts]);
                if c.save_loss_metadata {
                    l2.extend_from_slice(&loss[start as usize..end as usize]);
                }
                written += end - start;
                e2.push(written);
            }
            (source, loss, ends) = (s2, l2, e2);
        }
        let chunk = c.shuffle_chunk_size.unwrap_or(u64::MAX);
        let chunks = chunk_doc_ends(&ends, chunk);
        let ordering = rng.permutation(chunks.len());
        self.loss = loss;
        self.copy(&source, &chunks, &ordering, "chunk_shuffled", cx)
    }
}

/// DataTrove's `chunk_doc_ends`: document ends grouped into chunks of `size` tokens, each chunk's list
/// ending with the chunk's end; the last, shorter chunk is dropped.
pub(crate) fn chunk_doc_ends(doc_ends: &[u64], size: u64) -> Vec<Vec<u64>> {
    let mut all = Vec::new();
    let total = doc_ends.last().copied().unwrap_or(0);
    let mut i = 0;
    let mut chunk_end = size;
    while chunk_end <= total {
        let mut chunk = Vec::new();
        while i < doc_ends.len() && doc_ends[i] <= chunk_end {
            if doc_ends[i] < chunk_end {
                chunk.push(doc_ends[i]);
            }
            i += 1;
        }
        chunk.push(chunk_end);
        all.push(chunk);
        chunk_end += size;
    }
    all
}

impl Step for DocumentTokenizer {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        self.pending.push(doc);
        if self.pending.len() >= self.config.batch_size.max(1) {
            self.flush(cx)?;
        }
        Ok(())
    }

    fn process_batch(&mut self, batch: &mut Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        for doc in batch.drain(..) {
            self.process(doc, cx)?;
        }
        self.flush(cx)
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.flush(cx)?;
        self.write_outputs(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_metric_like_datatrove() {
        assert_eq!(output_filename(None, 3, "unshuffled", None), "00003_unshuffled.ds");
        assert_eq!(
            output_filename(Some("web"), 3, "doc_shuffled", Some(1)),
            "web_00003_00001_doc_shuffled.ds"
        );
        // humanize 4.17: metric(v, "T").
        for (v, want) in [
            (1_182_498, "1.18 MT"),
            (999, "999 T"),
            (1500, "1.50 kT"),
            (123_000, "123 kT"),
            (999_999, "1.00 MT"),
            (12, "12.0 T"),
            (7, "7.00 T"),
        ] {
            assert_eq!(humanize_metric(v, "T"), want, "{v}");
        }
    }

    #[test]
    fn chunks_like_datatrove() {
        assert_eq!(chunk_doc_ends(&[3, 5, 10, 12], 4), vec![vec![3, 4], vec![5, 8], vec![10, 12]]);
        assert_eq!(chunk_doc_ends(&[4, 8], 4), vec![vec![4], vec![8]]);
    }
}
