//! `tokens_counter` and `token_count_filter`.

use crate::load_tokenizer;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokenizers::Tokenizer;
use trove_core::{
    BuildContext, Context, Document, Error, Filter, Result, Stage, Step, StepConfig, StepSpec, Verdict,
};

/// Loaded tokenizers by (path, eos token).
type Loaded = HashMap<(String, Option<String>), Arc<Tokenizer>>;

/// Tokenizers loaded in this process, by (path, eos token): tasks share them.
pub(crate) fn shared_tokenizer(path: &str, eos: Option<&str>) -> Result<Arc<Tokenizer>> {
    static CACHE: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let key = (path.to_string(), eos.map(String::from));
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = cache.get(&key) {
        return Ok(t.clone());
    }
    let tokenizer = Arc::new(load_tokenizer(path, eos)?);
    cache.insert(key, tokenizer.clone());
    Ok(tokenizer)
}

/// Encodes the texts of `docs` on the tokenizer's thread pool (the order is kept); `step` names the
/// step in errors.
pub(crate) fn encode_texts(
    tokenizer: &Tokenizer,
    docs: &[Document],
    add_special_tokens: bool,
    step: &str,
) -> Result<Vec<tokenizers::Encoding>> {
    encode_strs(tokenizer, docs.iter().map(|d| d.text.as_str()).collect(), add_special_tokens, step)
}

/// [`encode_texts`] for bare texts.
pub(crate) fn encode_strs(
    tokenizer: &Tokenizer,
    texts: Vec<&str>,
    add_special_tokens: bool,
    step: &str,
) -> Result<Vec<tokenizers::Encoding>> {
    tokenizer.encode_batch_fast(texts, add_special_tokens).map_err(|e| Error::Format(format!("{step}: {e}")))
}

fn gpt2() -> String {
    "gpt2".into()
}

fn ten_thousand() -> usize {
    10_000
}

/// `tokens_counter`: DataTrove's `TokensCounter`: writes the number of tokens of each document to its
/// `token_count` metadata (plus one with `count_eos_token`) and counts `tokens` in stats. Batches are
/// encoded in parallel on the tokenizer's thread pool; counts do not depend on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensCounterConfig {
    /// A local tokenizer file or folder (DataTrove also takes hub names; trove does not download).
    #[serde(default = "gpt2")]
    pub tokenizer_name_or_path: String,
    /// Count an end-of-sequence token per document.
    #[serde(default)]
    pub count_eos_token: bool,
    /// Documents encoded together.
    #[serde(default = "ten_thousand")]
    pub batch_size: usize,
}

impl StepConfig for TokensCounterConfig {
    const TYPE: &'static str = "tokens_counter";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let tokenizer = shared_tokenizer(&self.tokenizer_name_or_path, None)?;
        let step = TokensCounter {
            tokenizer,
            count_eos_token: self.count_eos_token,
            batch_size: self.batch_size.max(1),
            pending: Vec::new(),
        };
        Ok(Stage::step("🔢 - TOKENIZER: 📊 Counter", step))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = shared_tokenizer(&self.tokenizer_name_or_path, None) {
            problems.push(e.to_string());
        }
    }
}

/// The runtime counter.
pub struct TokensCounter {
    tokenizer: Arc<Tokenizer>,
    count_eos_token: bool,
    batch_size: usize,
    pending: Vec<Document>,
}

impl TokensCounter {
    fn flush(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let encodings = encode_texts(&self.tokenizer, &self.pending, false, "tokens_counter")?;
        for (mut doc, encoding) in self.pending.drain(..).zip(encodings) {
            let count = encoding.get_ids().len() + usize::from(self.count_eos_token);
            doc.metadata.insert("token_count".into(), count.into());
            cx.stats.update("tokens", count as u64);
            cx.emit(doc);
        }
        Ok(())
    }
}

impl Step for TokensCounter {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        self.pending.push(doc);
        if self.pending.len() >= self.batch_size {
            self.flush(cx)?;
        }
        Ok(())
    }

    fn process_batch(&mut self, batch: &mut Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        // Encode what the runner hands over at once (up to batch_size at a time), so documents are
        // not held back between batches.
        for doc in batch.drain(..) {
            self.pending.push(doc);
            if self.pending.len() >= self.batch_size {
                self.flush(cx)?;
            }
        }
        self.flush(cx)
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        self.flush(cx)
    }
}

/// `token_count_filter` (trove): keeps documents whose `token_count` metadata (from `tokens_counter`)
/// is between `min_tokens` and `max_tokens`, both inclusive — DataTrove users write
/// `LambdaFilter(lambda doc: 50 <= doc.metadata["token_count"] <= 2048)`. A document without a count
/// is dropped (`no_token_count`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCountFilterConfig {
    /// Fewest tokens kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<u64>,
    /// Most tokens kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for TokenCountFilterConfig {
    const TYPE: &'static str = "token_count_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let filter = TokenCountFilter { min_tokens: self.min_tokens, max_tokens: self.max_tokens };
        cx.filter_stage("🔢 Token count", filter, self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let (Some(lo), Some(hi)) = (self.min_tokens, self.max_tokens) {
            if lo > hi {
                problems.push(format!("min_tokens ({lo}) is larger than max_tokens ({hi})"));
            }
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime token-count filter.
pub struct TokenCountFilter {
    /// Fewest tokens kept.
    pub min_tokens: Option<u64>,
    /// Most tokens kept.
    pub max_tokens: Option<u64>,
}

impl Filter for TokenCountFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let Some(count) = doc.metadata.get("token_count").and_then(|v| v.as_u64()) else {
            return Verdict::Drop(Some("no_token_count"));
        };
        if self.min_tokens.is_some_and(|m| count < m) {
            return Verdict::Drop(Some("too_few_tokens"));
        }
        if self.max_tokens.is_some_and(|m| count > m) {
            return Verdict::Drop(Some("too_many_tokens"));
        }
        Verdict::Keep
    }
}
