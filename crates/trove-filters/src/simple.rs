//! The simple filters.

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};
use trove_core::numpy_rng::Pcg64;
use trove_core::{
    BuildContext, Document, Error, Filter, FilterStep, Result, Stage, Step, StepConfig, StepSpec, Verdict,
};

/// Display name DataTrove gives filters in stats: `🔻 - FILTER: {name}`.
pub fn filter_name(name: &str) -> String {
    format!("🔻 - FILTER: {name}")
}

/// Builds a filter stage with its optional exclusion writer ([`BuildContext::filter_stage`]).
pub fn filter_stage<F: Filter + 'static>(
    name: &str,
    filter: F,
    exclusion_writer: Option<&StepSpec>,
    cx: &BuildContext<'_>,
) -> Result<Stage> {
    cx.filter_stage(name, filter, exclusion_writer)
}

/// `regex_filter`: drops documents in which `regex_exp` matches (DataTrove's `RegexFilter`).
///
/// Rust's `regex` syntax: no look-around or back-references (a pattern using them is a config error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexFilterConfig {
    /// The pattern; a document is dropped when it matches anywhere.
    pub regex_exp: String,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for RegexFilterConfig {
    const TYPE: &'static str = "regex_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let regex = regex::Regex::new(&self.regex_exp)
            .map_err(|e| Error::config(format!("regex_exp `{}`: {e}", self.regex_exp)))?;
        filter_stage("🕵 Regex", RegexFilter { regex }, self.exclusion_writer.as_ref(), cx)
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let Err(e) = regex::Regex::new(&self.regex_exp) {
            problems.push(format!("regex_exp `{}`: {e}", self.regex_exp));
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime regex filter.
pub struct RegexFilter {
    regex: regex::Regex,
}

impl Filter for RegexFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        if self.regex.is_match(&doc.text) {
            Verdict::Drop(None)
        } else {
            Verdict::Keep
        }
    }
}

fn half() -> f64 {
    0.5
}

/// `sampler_filter`: keeps each document with probability `rate` (DataTrove's `SamplerFilter`).
///
/// With a `seed`, every task draws numpy's `default_rng(seed).uniform()` stream, exactly as DataTrove
/// does, so the same documents are kept. Without one, task `r` uses seed `r` (DataTrove would draw
/// fresh entropy): runs are always reproducible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerFilterConfig {
    /// Fraction of documents to keep.
    #[serde(default = "half")]
    pub rate: f64,
    /// Random seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for SamplerFilterConfig {
    const TYPE: &'static str = "sampler_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let seed = self.seed.map(u128::from).unwrap_or(cx.task.rank as u128);
        let filter = SamplerFilter { rate: self.rate, rng: Pcg64::from_seed(seed) };
        filter_stage("🎲 Sampler", filter, self.exclusion_writer.as_ref(), cx)
    }

    fn check(&self, problems: &mut Vec<String>) {
        if !(0.0..=1.0).contains(&self.rate) {
            problems.push(format!("rate must be between 0 and 1, not {}", self.rate));
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime sampler.
pub struct SamplerFilter {
    rate: f64,
    rng: Pcg64,
}

impl Filter for SamplerFilter {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        if self.rng.uniform() < self.rate {
            Verdict::Keep
        } else {
            Verdict::Drop(None)
        }
    }
}

/// `lambda_filter`: a Rust closure deciding per document (DataTrove's `LambdaFilter`).
///
/// A closure cannot live in a pipeline file: add it to a Rust pipeline with `Pipeline::custom` and
/// [`LambdaFilter::stage`]. In a file, this type is rejected with advice (use `length_filter`,
/// `keyword_filter` or `regex_filter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFilterConfig {
    /// The Python source of DataTrove's lambda, if a generator copied it; not run.
    #[serde(default)]
    pub filter_function: Option<String>,
    /// Where dropped documents go.
    #[serde(default)]
    pub exclusion_writer: Option<StepSpec>,
}

const LAMBDA_ADVICE: &str = "a lambda_filter runs a Rust closure and cannot come from a pipeline file; \
use length_filter, keyword_filter or regex_filter, or build the pipeline in Rust with Pipeline::custom";

impl StepConfig for LambdaFilterConfig {
    const TYPE: &'static str = "lambda_filter";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        Err(Error::config(LAMBDA_ADVICE))
    }

    fn check(&self, problems: &mut Vec<String>) {
        problems.push(LAMBDA_ADVICE.to_string());
    }
}

/// A filter from a closure: `true` keeps the document.
pub struct LambdaFilter<F>(pub F);

impl<F: FnMut(&Document) -> bool + Send> Filter for LambdaFilter<F> {
    fn filter(&mut self, doc: &Document) -> Verdict {
        if (self.0)(doc) {
            Verdict::Keep
        } else {
            Verdict::Drop(None)
        }
    }
}

impl<F: FnMut(&Document) -> bool + Send + 'static> LambdaFilter<F> {
    /// The stage for `Pipeline::custom`, named as DataTrove names lambda filters.
    pub fn stage(f: F, exclusion_writer: Option<Box<dyn Step>>) -> Stage {
        Stage::step(filter_name("👤 Lambda"), FilterStep::new(LambdaFilter(f), exclusion_writer))
    }
}

/// `length_filter` (trove): keeps documents whose text has between `min_length` and `max_length`
/// characters (Unicode scalar values, as Python's `len`), both inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthFilterConfig {
    /// Fewest characters kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Most characters kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for LengthFilterConfig {
    const TYPE: &'static str = "length_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let filter = LengthFilter { min_length: self.min_length, max_length: self.max_length };
        filter_stage("📏 Length", filter, self.exclusion_writer.as_ref(), cx)
    }

    fn check(&self, problems: &mut Vec<String>) {
        if let (Some(lo), Some(hi)) = (self.min_length, self.max_length) {
            if lo > hi {
                problems.push(format!("min_length ({lo}) is greater than max_length ({hi})"));
            }
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime length filter.
#[derive(Debug, Clone, Copy)]
pub struct LengthFilter {
    /// Fewest characters kept.
    pub min_length: Option<u64>,
    /// Most characters kept.
    pub max_length: Option<u64>,
}

impl Filter for LengthFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        // Byte length bounds the character count from above (and from below by a quarter).
        let bytes = doc.text.len() as u64;
        let quick_min = self.min_length.is_none_or(|lo| bytes / 4 >= lo);
        let quick_max = self.max_length.is_none_or(|hi| bytes <= hi);
        let chars = if quick_min && quick_max { 0 } else { doc.text.chars().count() as u64 };
        if !quick_min && self.min_length.is_some_and(|lo| chars < lo) {
            Verdict::Drop(Some("too_short"))
        } else if !quick_max && self.max_length.is_some_and(|hi| chars > hi) {
            Verdict::Drop(Some("too_long"))
        } else {
            Verdict::Keep
        }
    }
}

/// `keyword_filter` (trove): keeps documents containing any of `keywords`, ignoring case — what
/// `any(k in doc.text.lower() for k in keywords)` does in a DataTrove lambda.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordFilterConfig {
    /// Words or phrases; a document is kept when its lowercased text contains one.
    pub keywords: Vec<String>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for KeywordFilterConfig {
    const TYPE: &'static str = "keyword_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let words: Vec<&str> = self.keywords.iter().map(String::as_str).collect();
        filter_stage("🔑 Keywords", KeywordFilter::new(&words), self.exclusion_writer.as_ref(), cx)
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.keywords.is_empty() || self.keywords.iter().any(String::is_empty) {
            problems.push("keywords must be a non-empty list of non-empty strings".into());
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime keyword filter.
pub struct KeywordFilter {
    ascii: Option<AhoCorasick>,
    lowered: Vec<String>,
}

impl KeywordFilter {
    /// A filter for `keywords` (matched as lowercase substrings).
    pub fn new(keywords: &[&str]) -> KeywordFilter {
        let lowered: Vec<String> = keywords.iter().map(|k| k.to_lowercase()).collect();
        let ascii = lowered
            .iter()
            .all(|k| k.is_ascii())
            .then(|| AhoCorasick::builder().ascii_case_insensitive(true).build(&lowered).ok());
        KeywordFilter { ascii: ascii.flatten(), lowered }
    }
}

impl Filter for KeywordFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let found = match &self.ascii {
            // ASCII keywords: a case-insensitive search equals a search in the lowercased text, except
            // for the two characters whose lowercase is ASCII (K KELVIN SIGN, İ): fall back then.
            Some(ac) if !doc.text.contains(['\u{212A}', '\u{130}']) => ac.is_match(&doc.text),
            _ => {
                let text = doc.text.to_lowercase();
                self.lowered.iter().any(|k| text.contains(k.as_str()))
            }
        };
        if found {
            Verdict::Keep
        } else {
            Verdict::Drop(Some("no_keyword"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(f: &mut dyn Filter, texts: &[&str]) -> Vec<Verdict> {
        texts.iter().map(|t| f.filter(&Document::new(*t, "x"))).collect()
    }

    #[test]
    fn length_bounds_are_inclusive_and_count_characters() {
        let mut f = LengthFilter { min_length: Some(3), max_length: Some(4) };
        let got = verdicts(&mut f, &["ab", "abc", "éèêë", "abcde", "ééé"]);
        use Verdict::*;
        assert_eq!(got, [Drop(Some("too_short")), Keep, Keep, Drop(Some("too_long")), Keep]);
    }

    #[test]
    fn keywords_match_like_python_lower() {
        let mut f = KeywordFilter::new(&["data", "kelvin"]);
        use Verdict::*;
        let got = verdicts(&mut f, &["DaTa!", "metadata", "none here", "\u{212A}ELVIN scale"]);
        assert_eq!(got, [Keep, Keep, Drop(Some("no_keyword")), Keep]);
        let mut f = KeywordFilter::new(&["straße"]);
        assert_eq!(verdicts(&mut f, &["STRASSE", "Straße"]), [Drop(Some("no_keyword")), Keep]);
    }

    #[test]
    fn regex_drops_matches() {
        let mut f = RegexFilter { regex: regex::Regex::new(r"lorem\s+ipsum").unwrap() };
        assert_eq!(verdicts(&mut f, &["Lorem ipsum", "lorem  ipsum"]), [Verdict::Keep, Verdict::Drop(None)]);
    }

    #[test]
    fn sampler_follows_numpy_stream() {
        // default_rng(1).uniform() gives 0.5118, 0.9505, 0.1442: with rate 0.5 → drop, drop, keep.
        let mut f = SamplerFilter { rate: 0.5, rng: Pcg64::from_seed(1) };
        assert_eq!(
            verdicts(&mut f, &["a", "b", "c"]),
            [Verdict::Drop(None), Verdict::Drop(None), Verdict::Keep]
        );
    }
}
