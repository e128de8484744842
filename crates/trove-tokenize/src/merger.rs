//! `document_tokenizer_merger`: DataTrove's `DocumentTokenizerMerger`.

use crate::ds::humanize_metric;
use serde::{Deserialize, Serialize};
use std::io::{BufReader, Read, Write};
use std::sync::Arc;
use trove_core::numpy_rng::Pcg64;
use trove_core::{
    open_storage, AtomicFile, BuildContext, Error, Result, Source, SourceContext, Stage, StepConfig, Storage,
};

fn hundred_billion() -> f64 {
    100e9
}
fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}
fn twenty_mb() -> u64 {
    20 << 20
}

/// `document_tokenizer_merger`: merges the `.ds` files of `input_folder` (from `document_tokenizer`)
/// into `{NNN}_{save_filename}.ds` files of at most `max_tokens_per_file` tokens, documents (or chunks
/// of `shuffle_chunk_size` tokens) in numpy's `default_rng(seed).permutation` order, plus a total
/// `{save_filename}.ds.metadata`. Runs as one task; reads each input file once, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentTokenizerMergerConfig {
    /// Folder with the `.ds` files.
    pub input_folder: String,
    /// Where the merged files go.
    pub output_folder: String,
    /// Name of the merged files.
    pub save_filename: String,
    /// Start a new file once this many tokens are written.
    #[serde(default = "hundred_billion")]
    pub max_tokens_per_file: f64,
    /// Stop after this many tokens (`-1`: all).
    #[serde(default = "minus_one")]
    pub max_tokens: i64,
    /// Shuffle documents (or chunks) across files.
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Shuffle chunks of this many tokens instead of documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_chunk_size: Option<u64>,
    /// Accepted for compatibility (an fsspec upload setting).
    #[serde(default = "twenty_mb")]
    pub upload_block_size: u64,
    /// Seed of the shuffle (without one, 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Merge the `.ds.loss` files too.
    #[serde(default)]
    pub save_loss_metadata: bool,
    /// Write `.ds.metadata` files.
    #[serde(default = "yes")]
    pub save_final_metadata: bool,
    /// Accepted for compatibility (the executor shows progress).
    #[serde(default = "yes")]
    pub progress: bool,
}

impl StepConfig for DocumentTokenizerMergerConfig {
    const TYPE: &'static str = "document_tokenizer_merger";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        if cx.task.world_size != 1 {
            return Err(Error::config(format!(
                "document_tokenizer_merger runs as one task (tasks = 1), not {}",
                cx.task.world_size
            )));
        }
        let merger = Merger {
            config: self.clone(),
            input: open_storage(&self.input_folder)?,
            output: open_storage(&self.output_folder)?,
        };
        Ok(Stage::source("🔢 - TOKENIZER: 🗃 Document Merger", merger))
    }
}

/// The runtime merger.
pub struct Merger {
    config: DocumentTokenizerMergerConfig,
    input: Arc<dyn Storage>,
    output: Arc<dyn Storage>,
}

/// One input file: its reader and the spans (in tokens) still to hand out, each with the document
/// ends to write for it (none when the span is one document).
struct Input {
    name: String,
    tokens: BufReader<Box<dyn Read + Send>>,
    loss: Option<BufReader<Box<dyn Read + Send>>>,
    spans: std::vec::IntoIter<(u64, Option<Vec<u64>>)>,
}

/// An output file being written.
struct Output {
    name: String,
    tokens: Box<dyn AtomicFile>,
    loss: Option<Box<dyn AtomicFile>>,
    doc_ends: Vec<u64>,
    written: u64,
}

impl Merger {
    fn open_output(&self, index: usize) -> Result<Output> {
        let name = format!("{index:03}_{}.ds", self.config.save_filename);
        Ok(Output {
            tokens: self.output.create(&name)?,
            loss: if self.config.save_loss_metadata {
                Some(self.output.create(&format!("{name}.loss"))?)
            } else {
                None
            },
            name,
            doc_ends: Vec::new(),
            written: 0,
        })
    }

    fn metadata(&self, tokenizer: &str, token_size: usize, count: u64) -> String {
        format!("{tokenizer}|{token_size}\n{count}\n{}", humanize_metric(count, "T"))
    }

    fn close_output(
        &self,
        out: Output,
        tokenizer: &str,
        token_size: usize,
        staged: &mut Vec<Box<dyn AtomicFile>>,
    ) -> Result<()> {
        staged.push(out.tokens);
        if let Some(loss) = out.loss {
            staged.push(loss);
        }
        let mut index = self.output.create(&format!("{}.index", out.name))?;
        let bytes: Vec<u8> = out.doc_ends.iter().flat_map(|e| e.to_le_bytes()).collect();
        index.write_all(&bytes).map_err(|e| Error::io(index.path().to_string(), e))?;
        staged.push(index);
        if self.config.save_final_metadata {
            let mut meta = self.output.create(&format!("{}.metadata", out.name))?;
            meta.write_all(self.metadata(tokenizer, token_size, out.written).as_bytes())
                .map_err(|e| Error::io(meta.path().to_string(), e))?;
            staged.push(meta);
        }
        Ok(())
    }
}

fn read_exact(reader: &mut impl Read, len: usize, file: &str) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf).map_err(|e| Error::io(file, e))?;
    Ok(buf)
}

impl Source for Merger {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let c = &self.config;
        let top = |suffix: &str| -> Result<Vec<String>> {
            Ok(self
                .input
                .list("", false)?
                .into_iter()
                .filter(|f| !f.contains('/') && f.ends_with(suffix))
                .collect())
        };
        let (files, indexes) = (top(".ds")?, top(".ds.index")?);
        let losses = if c.save_loss_metadata { top(".ds.loss")? } else { Vec::new() };
        if files.len() != indexes.len() || (c.save_loss_metadata && losses.len() != files.len()) {
            return Err(Error::config(format!(
                "{}: mismatch between the numbers of .ds, .ds.index and .ds.loss files ({} vs {} vs {})",
                c.input_folder,
                files.len(),
                indexes.len(),
                losses.len()
            )));
        }
        let (mut tokenizer, mut token_size) = ("Unknown Tokenizer|2".to_string(), 2usize);
        if c.save_final_metadata {
            if let Some(first) = files.first() {
                let meta = format!("{first}.metadata");
                if self.input.exists(&meta)? {
                    let text = trove_core::storage::read_to_string(&*self.input, &meta)?;
                    let line = text.lines().next().unwrap_or("");
                    match line.rsplit_once('|') {
                        Some((name, size)) => {
                            tokenizer = name.to_string();
                            token_size =
                                size.parse().map_err(|_| Error::config(format!("{meta}: bad token size")))?;
                        }
                        None => tokenizer = line.to_string(),
                    }
                }
            }
        }
        let mut inputs = Vec::new();
        let mut counts = Vec::new();
        for (i, (file, index)) in files.iter().zip(&indexes).enumerate() {
            let mut raw = Vec::new();
            self.input.open(index)?.read_to_end(&mut raw).map_err(|e| Error::io(index, e))?;
            let ends: Vec<u64> =
                raw.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect();
            let spans: Vec<(u64, Option<Vec<u64>>)> = match c.shuffle_chunk_size {
                None => ends.iter().map(|&e| (e, None)).collect(),
                Some(size) => crate::ds::chunk_doc_ends(&ends, size)
                    .into_iter()
                    .enumerate()
                    .map(|(w, window)| {
                        let end = (w as u64 + 1) * size;
                        (end, Some(window.iter().map(|b| b - w as u64 * size).collect()))
                    })
                    .collect(),
            };
            counts.push(spans.len());
            inputs.push(Input {
                name: file.clone(),
                tokens: BufReader::with_capacity(1 << 20, self.input.open(file)?),
                loss: if c.save_loss_metadata {
                    Some(BufReader::new(self.input.open(&losses[i])?))
                } else {
                    None
                },
                spans: spans.into_iter(),
            });
        }
        let mut ordering: Vec<usize> =
            counts.iter().enumerate().flat_map(|(i, &n)| std::iter::repeat_n(i, n)).collect();
        if c.shuffle {
            let mut rng = Pcg64::from_seed(c.seed.map(u128::from).unwrap_or(0));
            let perm = rng.permutation(ordering.len());
            ordering = perm.into_iter().map(|p| ordering[p]).collect();
        }
        let mut starts = vec![0u64; inputs.len()];
        let mut staged: Vec<Box<dyn AtomicFile>> = Vec::new();
        let mut file_ct = 0;
        let mut out = self.open_output(file_ct)?;
        let mut total = 0u64;
        for input_id in ordering {
            if c.max_tokens > 0 && total >= c.max_tokens as u64 {
                break;
            }
            if c.max_tokens_per_file > 0.0 && out.written as f64 >= c.max_tokens_per_file {
                file_ct += 1;
                let full = std::mem::replace(&mut out, self.open_output(file_ct)?);
                self.close_output(full, &tokenizer, token_size, &mut staged)?;
            }
            let input = &mut inputs[input_id];
            let Some((end, window_ends)) = input.spans.next() else { continue };
            let len = end - starts[input_id];
            starts[input_id] = end;
            let bytes = read_exact(&mut input.tokens, len as usize * token_size, &input.name)?;
            out.tokens.write_all(&bytes).map_err(|e| Error::io(&out.name, e))?;
            if let (Some(src), Some(dst)) = (&mut input.loss, &mut out.loss) {
                let loss = read_exact(src, len as usize, &input.name)?;
                dst.write_all(&loss).map_err(|e| Error::io(&out.name, e))?;
            }
            let base = out.written;
            match window_ends {
                Some(ends) => out.doc_ends.extend(ends.iter().map(|e| e + base)),
                None => out.doc_ends.push(base + len),
            }
            out.written += len;
            total += len;
            cx.stats.update("tokens", len);
        }
        self.close_output(out, &tokenizer, token_size, &mut staged)?;
        if c.save_final_metadata {
            let name = format!("{}.ds.metadata", c.save_filename);
            let mut meta = self.output.create(&name)?;
            meta.write_all(self.metadata(&tokenizer, token_size, total).as_bytes())
                .map_err(|e| Error::io(&name, e))?;
            staged.push(meta);
        }
        // Published with the task, like every output (a source has no output list: commit at the end).
        for file in staged {
            file.commit()?;
        }
        Ok(())
    }
}
