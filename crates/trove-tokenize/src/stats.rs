//! `token_stats`: DataTrove's `TokenStats` over trove-core's summary-stats machinery.

use crate::counter::{encode_strs, shared_tokenizer};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokenizers::Tokenizer;
use trove_core::stats::Num;
use trove_core::summary::{ExtractStats, StatsOutput, SummaryStats, TopKConfig};
use trove_core::{BuildContext, Document, Result, Stage, StepConfig};

fn gpt2() -> String {
    "gpt2".into()
}

fn three() -> i32 {
    3
}

/// `token_stats`: DataTrove's `TokenStats`: `token_count` per document, from its `token_count`
/// metadata (left by `tokens_counter`) or by encoding the text (special tokens added, as
/// `Tokenizer.encode` does). The tokenizer is loaded only when a document lacks the metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenStatsConfig {
    /// Where the per-task stats go: `{output_folder}/{group}/{stat}/{rank:05}.json`.
    pub output_folder: String,
    /// A local tokenizer file or folder (DataTrove also takes hub names; trove does not download).
    #[serde(default = "gpt2")]
    pub tokenizer_name_or_path: String,
    /// Groups; DataTrove's `TokenStats` default is `fqdn`, `suffix`, `summary`, `histogram`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_to_compute: Option<Vec<String>>,
    /// Digits histogram keys are rounded to (DataTrove names it so here, unlike the other stats).
    #[serde(default = "three")]
    pub histogram_rounding: i32,
    /// Truncation of the `fqdn` and `suffix` groups.
    #[serde(default)]
    pub top_k_config: TopKConfig,
}

impl TokenStatsConfig {
    fn output(&self) -> StatsOutput {
        let default = ["fqdn", "suffix", "summary", "histogram"].map(String::from).to_vec();
        StatsOutput {
            output_folder: self.output_folder.clone(),
            groups_to_compute: Some(self.groups_to_compute.clone().unwrap_or(default)),
            histogram_round_digits: self.histogram_rounding,
            top_k_config: self.top_k_config.clone(),
        }
    }
}

impl StepConfig for TokenStatsConfig {
    const TYPE: &'static str = "token_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let stats = TokenStats { path: self.tokenizer_name_or_path.clone(), tokenizer: None };
        Ok(Stage::step("📊 - STATS: 🔗 Token counter", SummaryStats::new(stats, &self.output())?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.output().check(problems);
    }
}

/// The token metric.
pub struct TokenStats {
    path: String,
    tokenizer: Option<Arc<Tokenizer>>,
}

impl TokenStats {
    fn tokenizer(&mut self) -> Result<Arc<Tokenizer>> {
        if let Some(t) = &self.tokenizer {
            return Ok(t.clone());
        }
        let t = shared_tokenizer(&self.path, None)?;
        self.tokenizer = Some(t.clone());
        Ok(t)
    }
}

fn token_count(doc: &Document) -> Option<Num> {
    let v = doc.metadata.get("token_count").filter(|v| !v.is_null())?;
    Some(match v.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(v.as_f64().unwrap_or_default()),
    })
}

impl ExtractStats for TokenStats {
    fn names(&self) -> Vec<String> {
        vec!["token_count".into()]
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        self.extract_batch(std::slice::from_ref(doc), out)
    }

    fn extract_batch(&mut self, docs: &[Document], out: &mut Vec<Num>) -> Result<()> {
        let start = out.len();
        let mut missing = Vec::new();
        for doc in docs {
            match token_count(doc) {
                Some(n) => out.push(n),
                None => {
                    missing.push(out.len());
                    out.push(Num::Int(0));
                }
            }
        }
        if !missing.is_empty() {
            let tokenizer = self.tokenizer()?;
            let texts = missing.iter().map(|&i| docs[i - start].text.as_str()).collect();
            for (slot, enc) in missing.iter().zip(encode_strs(&tokenizer, texts, true, "token_stats")?) {
                out[*slot] = Num::Int(enc.get_ids().len() as i64);
            }
        }
        Ok(())
    }
}
