//! `bert_classifier` (cargo feature `candle`): a BERT-family encoder and a linear head, run locally on
//! the CPU with candle — FineWeb-Edu-style quality annotation.
//!
//! The encoder folder holds `config.json`, `model.safetensors` and `tokenizer.json` (a Hugging Face
//! BERT checkpoint such as sentence-transformers' all-MiniLM-L6-v2). The head is a safetensors file
//! with `weight` (`[labels, hidden]`) and `bias` (`[labels]`). Texts are embedded by mean pooling
//! (sentence-transformers) or the `[CLS]` vector, optionally L2-normalised, then scored by the head:
//! one label gives a `score` (a sigmoid probability, or the raw value for a regression head such as
//! FineWeb-Edu's, with `int_score`); several give softmax `scores` and the best `label`.

use crate::InferError;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::{BertModel, Config};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trove_core::step::{Filter, Verdict};
use trove_core::{BuildContext, Document, Error, Result, Stage, Stats, StepConfig, StepSpec};

fn err(what: impl std::fmt::Display) -> InferError {
    InferError::Model { message: what.to_string() }
}

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Mean of the token vectors (padding excluded): sentence-transformers.
    #[default]
    Mean,
    /// The `[CLS]` token's vector.
    Cls,
}

/// A BERT encoder with its tokenizer.
pub struct Encoder {
    model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    device: Device,
}

impl Encoder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`; texts are cut at
    /// `max_length` tokens.
    pub fn load(dir: &Path, max_length: usize) -> std::result::Result<Encoder, InferError> {
        let device = Device::Cpu;
        let read = |name: &str| -> std::result::Result<PathBuf, InferError> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(err(format!("{} is missing", p.display())))
            }
        };
        let config: Config = serde_json::from_str(
            &std::fs::read_to_string(read("config.json")?)
                .map_err(|e| err(format!("{}: {e}", dir.display())))?,
        )
        .map_err(|e| err(format!("{}/config.json: {e}", dir.display())))?;
        let weights = read("model.safetensors")?;
        // SAFETY-free: candle memory-maps the file; the workspace forbids `unsafe`, so load it into memory.
        let vb = candle_nn::VarBuilder::from_buffered_safetensors(
            std::fs::read(&weights).map_err(|e| err(format!("{}: {e}", weights.display())))?,
            DType::F32,
            &device,
        )
        .map_err(|e| err(format!("{}: {e}", weights.display())))?;
        let model = BertModel::load(vb, &config).map_err(|e| err(format!("{}: {e}", weights.display())))?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(read("tokenizer.json")?)
            .map_err(|e| err(format!("{}/tokenizer.json: {e}", dir.display())))?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams { max_length, ..Default::default() }))
            .map_err(|e| err(format!("truncation: {e}")))?;
        tokenizer.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        Ok(Encoder { model, tokenizer, device })
    }

    /// One vector per text.
    pub fn embed(
        &self,
        texts: &[&str],
        pooling: Pooling,
        normalize: bool,
    ) -> std::result::Result<Tensor, InferError> {
        let encodings =
            self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| err(format!("tokenizer: {e}")))?;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> std::result::Result<Tensor, InferError> {
            let v: Vec<Tensor> = encodings
                .iter()
                .map(|e| Tensor::new(f(e), &self.device))
                .collect::<candle_core::Result<_>>()
                .map_err(err)?;
            Tensor::stack(&v, 0).map_err(err)
        };
        let ids = rows(&|e| e.get_ids())?;
        let types = rows(&|e| e.get_type_ids())?;
        let mask = rows(&|e| e.get_attention_mask())?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(err)?; // [B, L, H]
        let pooled = match pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1).and_then(|t| t.squeeze(1)),
            Pooling::Mean => (|| {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // [B, L, 1]
                let sum = hidden.broadcast_mul(&m)?.sum(1)?; // [B, H]
                let count = m.sum(1)?.clamp(1e-9, f64::MAX)?; // [B, 1]
                sum.broadcast_div(&count)
            })(),
        }
        .map_err(err)?;
        if normalize {
            let norm = pooled.sqr().and_then(|t| t.sum_keepdim(1)).and_then(|t| t.sqrt()).map_err(err)?;
            let norm = norm.clamp(1e-12, f64::MAX).map_err(err)?;
            pooled.broadcast_div(&norm).map_err(err)
        } else {
            Ok(pooled)
        }
    }
}

/// A linear head: `logits = x · weightᵀ + bias`.
pub struct Head {
    weight: Tensor,
    bias: Tensor,
}

impl Head {
    /// Reads `weight` and `bias` from a safetensors file.
    pub fn load(path: &Path) -> std::result::Result<Head, InferError> {
        let mut tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| err(format!("{}: {e}", path.display())))?;
        let mut take = |name: &str| {
            tensors
                .remove(name)
                .ok_or_else(|| err(format!("{}: no tensor `{name}`", path.display())))
                .and_then(|t| t.to_dtype(DType::F32).map_err(err))
        };
        let (weight, bias) = (take("weight")?, take("bias")?);
        if weight.rank() != 2 || bias.dims() != [weight.dims()[0]] {
            return Err(err(format!(
                "{}: weight must be [labels, hidden] and bias [labels], not {:?} and {:?}",
                path.display(),
                weight.dims(),
                bias.dims()
            )));
        }
        Ok(Head { weight, bias })
    }

    /// Number of outputs.
    pub fn labels(&self) -> usize {
        self.weight.dims()[0]
    }

    /// Input width.
    pub fn hidden(&self) -> usize {
        self.weight.dims()[1]
    }

    /// Logits, one row per input row.
    pub fn logits(&self, x: &Tensor) -> std::result::Result<Vec<Vec<f32>>, InferError> {
        let out = x
            .matmul(&self.weight.t().map_err(err)?)
            .and_then(|t| t.broadcast_add(&self.bias))
            .map_err(err)?;
        out.to_vec2::<f32>().map_err(err)
    }
}

/// What the head's output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// One output: a probability.
    Sigmoid,
    /// One output: a raw regression value (FineWeb-Edu: 0–5, with `int_score`).
    None,
    /// Several outputs: probabilities over `labels`.
    Softmax,
}

fn d_key() -> String {
    "score".into()
}
fn d_length() -> usize {
    256
}
fn d_batch() -> usize {
    32
}
fn yes() -> bool {
    true
}
fn d_activation() -> Activation {
    Activation::Sigmoid
}

/// `bert_classifier`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BertClassifierConfig {
    /// Folder with `config.json`, `model.safetensors`, `tokenizer.json`.
    pub model_path: String,
    /// Safetensors file with the head's `weight` and `bias`.
    pub head_path: String,
    /// How token vectors are pooled.
    #[serde(default)]
    pub pooling: Pooling,
    /// L2-normalise the pooled vector before the head (sentence-transformers' `Normalize`).
    #[serde(default = "yes")]
    pub normalize: bool,
    /// What the head's output is.
    #[serde(default = "d_activation")]
    pub activation: Activation,
    /// Names of the outputs for `softmax` (default `0`, `1`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// Tokens per text at most.
    #[serde(default = "d_length")]
    pub max_length: usize,
    /// Texts per forward pass.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// Metadata key of the score (`{key}s` and `label` for softmax; `int_score` for `none`).
    #[serde(default = "d_key")]
    pub metadata_key: String,
    /// Keep only documents whose score is at least this (one-output heads); unset: annotate only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl BertClassifierConfig {
    /// A classifier with the defaults.
    pub fn new(model_path: impl Into<String>, head_path: impl Into<String>) -> BertClassifierConfig {
        BertClassifierConfig {
            model_path: model_path.into(),
            head_path: head_path.into(),
            pooling: Pooling::Mean,
            normalize: true,
            activation: Activation::Sigmoid,
            labels: None,
            max_length: d_length(),
            batch_size: d_batch(),
            metadata_key: d_key(),
            threshold: None,
            exclusion_writer: None,
        }
    }

    /// Loads the model and head.
    pub fn load(&self) -> Result<BertClassifier> {
        let encoder = Encoder::load(Path::new(&self.model_path), self.max_length)
            .map_err(|e| Error::config(format!("model_path: {e}")))?;
        let head =
            Head::load(Path::new(&self.head_path)).map_err(|e| Error::config(format!("head_path: {e}")))?;
        let one = head.labels() == 1;
        if one == (self.activation == Activation::Softmax) {
            return Err(Error::config(format!(
                "head_path: a head with {} outputs does not go with activation {:?}",
                head.labels(),
                self.activation
            )));
        }
        if let Some(labels) = &self.labels {
            if labels.len() != head.labels() {
                return Err(Error::config(format!(
                    "labels: {} names for {} outputs",
                    labels.len(),
                    head.labels()
                )));
            }
        }
        Ok(BertClassifier { cfg: self.clone(), encoder, head })
    }
}

impl StepConfig for BertClassifierConfig {
    const TYPE: &'static str = "bert_classifier";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let classifier = self.load()?;
        cx.filter_stage("🤖 BERT classifier", classifier, self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.batch_size == 0 || self.max_length < 2 {
            problems.push("batch_size must be positive and max_length at least 2".into());
        }
        if self.threshold.is_some() && self.activation == Activation::Softmax {
            problems.push("threshold applies to one-output heads (sigmoid or none), not softmax".into());
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime classifier.
pub struct BertClassifier {
    cfg: BertClassifierConfig,
    encoder: Encoder,
    head: Head,
}

impl BertClassifier {
    /// Head outputs (after the activation) for each text.
    pub fn scores(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, InferError> {
        let emb = self.encoder.embed(texts, self.cfg.pooling, self.cfg.normalize)?;
        let mut logits = self.head.logits(&emb)?;
        for row in &mut logits {
            match self.cfg.activation {
                Activation::None => {}
                Activation::Sigmoid => row.iter_mut().for_each(|x| *x = 1.0 / (1.0 + (-*x).exp())),
                Activation::Softmax => {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let sum: f32 = row.iter().map(|x| (x - max).exp()).sum();
                    row.iter_mut().for_each(|x| *x = (*x - max).exp() / sum);
                }
            }
        }
        Ok(logits)
    }

    fn annotate(&self, doc: &mut Document, row: &[f32]) -> Verdict {
        let key = &self.cfg.metadata_key;
        let round = |x: f32| (f64::from(x) * 1e6).round() / 1e6;
        if row.len() == 1 {
            let score = f64::from(row[0]);
            doc.metadata.insert(key.clone(), round(row[0]).into());
            if self.cfg.activation == Activation::None {
                doc.metadata.insert("int_score".into(), (score.clamp(0.0, 5.0).round() as i64).into());
            }
            if let Some(t) = self.cfg.threshold {
                if score < t {
                    return Verdict::Drop(Some("below_threshold"));
                }
            }
        } else {
            let best = row.iter().enumerate().fold(0, |b, (i, x)| if *x > row[b] { i } else { b });
            let label = self.cfg.labels.as_ref().map_or_else(|| best.to_string(), |l| l[best].clone());
            doc.metadata.insert(format!("{key}s"), row.iter().map(|x| round(*x)).collect::<Vec<_>>().into());
            doc.metadata.insert("label".into(), label.into());
        }
        Verdict::Keep
    }
}

impl Filter for BertClassifier {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_batch(&mut self, docs: &mut [Document], verdicts: &mut Vec<Verdict>, stats: &mut Stats) {
        for chunk in docs.chunks_mut(self.cfg.batch_size.max(1)) {
            let texts: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
            match self.scores(&texts) {
                Ok(rows) => {
                    for (doc, row) in chunk.iter_mut().zip(rows) {
                        verdicts.push(self.annotate(doc, &row));
                    }
                }
                Err(e) => {
                    tracing::warn!("bert_classifier: a batch of {} documents failed: {e}", chunk.len());
                    stats.update("model_errors", chunk.len() as u64);
                    verdicts.extend(chunk.iter().map(|_| Verdict::Drop(Some("model_error"))));
                }
            }
        }
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let mut verdicts = Vec::with_capacity(1);
        self.filter_batch(std::slice::from_mut(doc), &mut verdicts, stats);
        verdicts.pop().unwrap_or(Verdict::Drop(Some("model_error")))
    }
}
