//! `single_bloom_filter`: DataTrove's `SingleBloomFilter`: one pass, a document is a duplicate when
//! more than `duplicate_threshold` of its word n-grams were already seen.
//!
//! DataTrove computes each bit index as `hash & m_bytes` (a bitwise AND with the byte count), so only
//! the bits set in `m_bytes` are ever addressed and the filter saturates early. trove takes
//! `hash % m` (m = bits), as a Bloom filter must; the filter's size can also be derived from
//! `expected_elements` and `false_positive_rate`.

use crate::hashing::HashConfig;
use crate::minhash::{permutation_parameters, permute, Shingler};
use crate::text::TextNormConfig;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;
use trove_core::{
    open_storage, BuildContext, Context, Document, Error, Filter, Result, Stage, StepConfig, StepSpec,
    Storage, Verdict,
};

fn point_eight() -> f64 {
    0.8
}
fn thirteen() -> usize {
    13
}
fn english() -> String {
    "en".into()
}
fn hash32() -> HashConfig {
    HashConfig { precision: 32, ..HashConfig::default() }
}

/// DataTrove's `BloomFilterConfig`, plus `false_positive_rate` to size the filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BloomFilterConfig {
    /// Size in bytes; if absent, from `expected_elements` and `false_positive_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m_bytes: Option<u64>,
    /// Hash functions; if absent, the optimal `ceil(m / n · ln 2)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// Expected number of distinct shingles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_elements: Option<u64>,
    /// trove: the false-positive rate the size is computed for when `m_bytes` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub false_positive_rate: Option<f64>,
    /// A document whose fraction of already-seen shingles is above this is dropped.
    #[serde(default = "point_eight")]
    pub duplicate_threshold: f64,
    /// Words per shingle.
    #[serde(default = "thirteen")]
    pub n_grams: usize,
    /// Seed of the hash parameters.
    #[serde(default)]
    pub seed: u32,
    /// Text normalization before splitting into words.
    #[serde(default)]
    pub norm_config: TextNormConfig,
    /// The shingle hash (32-bit, as DataTrove requires).
    #[serde(default = "hash32")]
    pub hash_config: HashConfig,
}

impl BloomFilterConfig {
    /// (bits, hash functions).
    pub fn size(&self) -> Result<(u64, usize)> {
        self.hash_config.check()?;
        if self.hash_config.precision != 32 {
            return Err(Error::config(
                "single_bloom_filter: hash_config.precision must be 32, as in DataTrove",
            ));
        }
        let bits = match (self.m_bytes, self.expected_elements, self.false_positive_rate) {
            (Some(m), _, _) => m.checked_mul(8).ok_or_else(|| Error::config("m_bytes is too large"))?,
            (None, Some(n), Some(p)) if p > 0.0 && p < 1.0 && n > 0 => {
                let bits = (-(n as f64) * p.ln() / (std::f64::consts::LN_2 * std::f64::consts::LN_2)).ceil();
                (bits as u64).div_ceil(8) * 8
            }
            _ => return Err(Error::config(
                "single_bloom_filter needs m_bytes, or expected_elements and false_positive_rate (0 < p < 1)",
            )),
        };
        if bits == 0 {
            return Err(Error::config("single_bloom_filter: the filter has no bits"));
        }
        let k = match (self.k, self.expected_elements) {
            (Some(k), _) if k > 0 => k,
            (None, Some(n)) if n > 0 => {
                ((bits as f64 / n as f64) * std::f64::consts::LN_2).ceil().max(1.0) as usize
            }
            _ => return Err(Error::config("single_bloom_filter needs k, or expected_elements to choose it")),
        };
        Ok((bits, k))
    }
}

/// `single_bloom_filter` step parameters (DataTrove's `SingleBloomFilter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SingleBloomFilterConfig {
    /// Where `bloom_filter.bloom` goes when saved.
    pub output_folder: String,
    /// The filter's parameters.
    pub config: BloomFilterConfig,
    /// Save the bit array at the end of the task.
    #[serde(default)]
    pub save_bloom_filter: bool,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// The language whose word splitter is used.
    #[serde(default = "english")]
    pub language: String,
}

impl StepConfig for SingleBloomFilterConfig {
    const TYPE: &'static str = "single_bloom_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let (bits, k) = self.config.size()?;
        let words = usize::try_from(bits.div_ceil(64))
            .map_err(|_| Error::config("single_bloom_filter: the filter does not fit in memory"))?;
        let (a, b) = permutation_parameters(self.config.seed, k);
        let filter = BloomFilter {
            bits: vec![0u64; words],
            m: bits,
            a,
            b,
            threshold: self.config.duplicate_threshold,
            shingler: Shingler::new(
                &self.config.norm_config,
                &self.config.hash_config,
                self.config.n_grams,
                &self.language,
            ),
            save: self.save_bloom_filter.then(|| open_storage(&self.output_folder)).transpose()?,
            shingles_seen: 0,
        };
        tracing::info!(
            "Bloom filter: {bits} bits ({:.1} MB), k = {k}, false-positive rate at {} elements: {:.3e}",
            bits as f64 / 8e6,
            self.config.expected_elements.unwrap_or(0),
            false_positive_rate(bits, self.config.expected_elements.unwrap_or(0), k)
        );
        cx.filter_stage_named("🫂 - DEDUPS: 🪷 Bloom-filter", filter, self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = self.config.size() {
            problems.push(e.to_string());
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// `(1 - (1 - 1/m)^(k n))^k`.
pub fn false_positive_rate(bits: u64, n: u64, k: usize) -> f64 {
    (1.0 - (1.0 - 1.0 / bits as f64).powf(k as f64 * n as f64)).powi(k as i32)
}

/// The runtime filter.
pub struct BloomFilter {
    bits: Vec<u64>,
    m: u64,
    a: Vec<u64>,
    b: Vec<u64>,
    threshold: f64,
    shingler: Shingler,
    save: Option<Arc<dyn Storage>>,
    shingles_seen: u64,
}

impl BloomFilter {
    fn test(&self, i: u64) -> bool {
        self.bits[(i / 64) as usize] & (1 << (i % 64)) != 0
    }
}

impl Filter for BloomFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let shingles = self.shingler.shingles(&doc.text);
        self.shingles_seen += shingles.len() as u64;
        if shingles.is_empty() {
            return Verdict::Keep;
        }
        let mut seen = 0usize;
        let mut to_set = Vec::new();
        for &s in &shingles {
            let start = to_set.len();
            to_set.extend(self.a.iter().zip(&self.b).map(|(&a, &b)| permute(s, a, b) % self.m));
            if to_set[start..].iter().all(|&i| self.test(i)) {
                seen += 1;
                to_set.truncate(start);
            }
        }
        // As DataTrove: the document's own new shingles are added after it was judged.
        for i in to_set {
            self.bits[(i / 64) as usize] |= 1 << (i % 64);
        }
        if seen as f64 / shingles.len() as f64 > self.threshold {
            Verdict::Drop(None)
        } else {
            Verdict::Keep
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        let k = self.a.len();
        tracing::info!(
            "{} shingles; false-positive rate at that count {:.3e}",
            self.shingles_seen,
            false_positive_rate(self.m, self.shingles_seen, k)
        );
        if let Some(storage) = &self.save {
            // DataTrove's layout: bit i is bit (i % 8) of byte i / 8.
            let bytes: Vec<u8> =
                self.bits.iter().flat_map(|w| w.to_le_bytes()).take(self.m.div_ceil(8) as usize).collect();
            let path = "bloom_filter.bloom";
            let mut file = storage.create(path)?;
            file.write_all(&bytes).map_err(|e| Error::io(storage.resolve(path), e))?;
            cx.outputs.stage(file);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(m_bytes: Option<u64>) -> BloomFilterConfig {
        serde_json::from_value(serde_json::json!({
            "m_bytes": m_bytes, "expected_elements": 100_000, "false_positive_rate": 0.01
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sizes_from_the_expected_elements_and_rate() {
        // m = -n ln p / ln² 2 = 958,506 bits for 100,000 elements at 1 %; k = ceil(m/n ln 2) = 7.
        let (bits, k) = config(None).size().unwrap_or_default();
        assert_eq!((bits, k), (958_512, 7));
        assert!((false_positive_rate(bits, 100_000, k) - 0.01).abs() < 0.001);
        assert_eq!(config(Some(1 << 20)).size().unwrap_or_default(), (8 << 20, 59));
    }
}
