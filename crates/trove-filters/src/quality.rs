//! The Gopher, C4 and FineWeb quality filters, as DataTrove 0.10.1 writes them.
//!
//! Each follows DataTrove's code line by line: the same order of checks, the same drop reasons, the
//! same Python string semantics (character counts, `splitlines`, `strip`, `split`) and the same word
//! and sentence splitting (`trove_core::text`, spaCy's rules for English).

use crate::simple::filter_stage;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};
use trove_core::hash::{FxHashMap, FxHashSet};
use trove_core::numpy_rng::Pcg64;
use trove_core::text::{
    is_punctuation, is_terminal_punctuation, py_isalpha, py_len, py_split, py_strip, splitlines, WordSplitter,
};
use trove_core::{
    BuildContext, Document, Error, Filter, Result, Stage, Stats, StepConfig, StepSpec, Verdict,
};

/// A drop reason built from configuration (`top_3_gram`, ...) as the `&'static str` stats want; one
/// allocation per distinct reason in the process.
pub(crate) fn intern(reason: String) -> &'static str {
    static REASONS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = REASONS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = set.get(reason.as_str()) {
        return r;
    }
    let leaked: &'static str = Box::leak(reason.into_boxed_str());
    set.insert(leaked);
    leaked
}

fn english() -> String {
    "en".into()
}

/// DataTrove's `find_duplicates`: (number of repeated elements, characters in them).
pub(crate) fn find_duplicates<'a>(items: impl IntoIterator<Item = &'a str>) -> (usize, usize) {
    let mut seen = FxHashSet::default();
    let (mut elements, mut chars) = (0, 0);
    for item in items {
        if !seen.insert(item) {
            elements += 1;
            chars += py_len(item);
        }
    }
    (elements, chars)
}

/// Whether a fraction threshold is on (DataTrove tests it for truth: `None` and `0` disable it).
fn on(threshold: Option<f64>) -> Option<f64> {
    threshold.filter(|&t| t != 0.0)
}

/// Splits on runs of `\n` of at least `min` (DataTrove's `re.split(r"\n{2,}")` and `re.split("\n+")`).
fn split_newline_runs(text: &str, min: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let run_start = i;
            while i < bytes.len() && bytes[i] == b'\n' {
                i += 1;
            }
            if i - run_start >= min {
                parts.push(&text[start..run_start]);
                start = i;
            }
        } else {
            i += 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

// ---------------------------------------------------------------------------------------------
// Gopher repetition

fn default_top_n_grams() -> Vec<(usize, f64)> {
    vec![(2, 0.2), (3, 0.18), (4, 0.16)]
}

fn default_dup_n_grams() -> Vec<(usize, f64)> {
    vec![(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]
}

fn some_0_3() -> Option<f64> {
    Some(0.3)
}

fn some_0_2() -> Option<f64> {
    Some(0.2)
}

/// `gopher_repetition_filter`: DataTrove's `GopherRepetitionFilter` (Gopher's Table A1 repetition
/// rules). A threshold of `0` (or `null` in YAML/JSON) disables its rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GopherRepetitionFilterConfig {
    /// Largest fraction of duplicated lines.
    #[serde(default = "some_0_3")]
    pub dup_line_frac: Option<f64>,
    /// Largest fraction of duplicated paragraphs.
    #[serde(default = "some_0_3")]
    pub dup_para_frac: Option<f64>,
    /// Largest fraction of characters in duplicated lines.
    #[serde(default = "some_0_2")]
    pub dup_line_char_frac: Option<f64>,
    /// Largest fraction of characters in duplicated paragraphs.
    #[serde(default = "some_0_2")]
    pub dup_para_char_frac: Option<f64>,
    /// `(n, fraction)`: largest fraction of characters in the most frequent n-gram.
    #[serde(default = "default_top_n_grams")]
    pub top_n_grams: Vec<(usize, f64)>,
    /// `(n, fraction)`: largest fraction of characters in duplicated n-grams.
    #[serde(default = "default_dup_n_grams")]
    pub dup_n_grams: Vec<(usize, f64)>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Language of the word splitter.
    #[serde(default = "english")]
    pub language: String,
}

impl Default for GopherRepetitionFilterConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults deserialize")
    }
}

impl StepConfig for GopherRepetitionFilterConfig {
    const TYPE: &'static str = "gopher_repetition_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        filter_stage(
            "👯 Gopher Repetition",
            GopherRepetitionFilter::new(self),
            self.exclusion_writer.as_ref(),
            cx,
        )
    }

    fn check(&self, problems: &mut Vec<String>) {
        for (n, _) in self.top_n_grams.iter().chain(&self.dup_n_grams) {
            if *n == 0 {
                problems.push("n-gram sizes must be at least 1".into());
            }
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime Gopher repetition filter.
pub struct GopherRepetitionFilter {
    config: GopherRepetitionFilterConfig,
    top_reasons: Vec<&'static str>,
    dup_reasons: Vec<&'static str>,
    splitter: WordSplitter,
    /// Maps reused from document to document (keys are hashes, checked exactly on a hit).
    top: FxHashMap<u64, (usize, usize)>,
    dup: FxHashMap<u64, usize>,
}

impl GopherRepetitionFilter {
    /// A filter from its config.
    pub fn new(config: &GopherRepetitionFilterConfig) -> GopherRepetitionFilter {
        GopherRepetitionFilter {
            top_reasons: config.top_n_grams.iter().map(|(n, _)| intern(format!("top_{n}_gram"))).collect(),
            dup_reasons: config
                .dup_n_grams
                .iter()
                .map(|(n, _)| intern(format!("duplicated_{n}_n_grams")))
                .collect(),
            splitter: WordSplitter::new(&config.language),
            config: config.clone(),
            top: FxHashMap::default(),
            dup: FxHashMap::default(),
        }
    }
}

fn hash_ids(ids: &[u32]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = trove_core::hash::FxBuildHasher::default().build_hasher();
    for &id in ids {
        h.write_u32(id);
    }
    h.finish()
}

/// DataTrove's `find_top_duplicate` over the n-grams `" ".join(words[i..i+n])`: characters of the most
/// frequent one (the first seen among equals) times its count. Words are numbered so n-grams are
/// compared as id tuples (words hold no spaces, so equal tuples ⇔ equal joined strings).
fn top_duplicate_chars(
    ids: &[u32],
    lens: &[usize],
    n: usize,
    counts: &mut FxHashMap<u64, (usize, usize)>,
) -> usize {
    counts.clear();
    for (i, gram) in ids.windows(n).enumerate() {
        let entry = counts.entry(hash_ids(gram)).or_insert((0, i));
        if ids[entry.1..entry.1 + n] != *gram {
            // Two n-grams share a 64-bit hash: count this document exactly.
            return top_duplicate_chars_exact(ids, lens, n);
        }
        entry.0 += 1;
    }
    top_chars(counts.values().copied(), lens, n)
}

/// The most frequent n-gram (first seen among equals): its characters times its count.
fn top_chars(counts: impl Iterator<Item = (usize, usize)>, lens: &[usize], n: usize) -> usize {
    let Some((count, gram_start)) = counts.max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1))) else {
        return 0;
    };
    let chars: usize = lens[gram_start..gram_start + n].iter().sum::<usize>() + (n - 1);
    chars * count
}

fn top_duplicate_chars_exact(ids: &[u32], lens: &[usize], n: usize) -> usize {
    let mut counts: FxHashMap<&[u32], (usize, usize)> = FxHashMap::default();
    for (i, gram) in ids.windows(n).enumerate() {
        counts.entry(gram).or_insert((0, i)).0 += 1;
    }
    top_chars(counts.values().copied(), lens, n)
}

/// Per-word polynomial hashes, so that the hash of a concatenation `"".join(words[i..i+n])` is a fold
/// over `n` words instead of a pass over their bytes: `H(a‖b) = H(a)·B^len(b) + H(b)` (mod 2^64).
struct ConcatHashes {
    hash: Vec<u64>,
    power: Vec<u64>,
}

const POLY_BASE: u64 = 0x100_0000_01b3;

impl ConcatHashes {
    fn new(words: &[&str]) -> ConcatHashes {
        let mut hash = Vec::with_capacity(words.len());
        let mut power = Vec::with_capacity(words.len());
        for w in words {
            let (mut h, mut p) = (0u64, 1u64);
            for &b in w.as_bytes() {
                h = h.wrapping_mul(POLY_BASE).wrapping_add(u64::from(b) + 1);
                p = p.wrapping_mul(POLY_BASE);
            }
            hash.push(h);
            power.push(p);
        }
        ConcatHashes { hash, power }
    }

    fn window(&self, start: usize, n: usize) -> u64 {
        (start..start + n).fold(0u64, |h, i| h.wrapping_mul(self.power[i]).wrapping_add(self.hash[i]))
    }
}

/// DataTrove's `find_all_duplicate`: characters of `"".join(words[i..i+n])` n-grams seen before,
/// skipping `n` words after each repeat.
fn all_duplicate_chars(
    words: &[&str],
    lens: &[usize],
    hashes: &ConcatHashes,
    n: usize,
    seen: &mut FxHashMap<u64, usize>,
) -> usize {
    // The joined strings are compared exactly on a hash hit (different splits can join equally).
    let same = |a: usize, b: usize| {
        words[a..a + n].iter().flat_map(|w| w.bytes()).eq(words[b..b + n].iter().flat_map(|w| w.bytes()))
    };
    seen.clear();
    let mut collided: Vec<(u64, usize)> = Vec::new();
    let (mut repeated, mut idx) = (0, 0);
    while words.len() >= n && idx < words.len() - n + 1 {
        let h = hashes.window(idx, n);
        let known = match seen.get(&h) {
            None => false,
            Some(&first) => {
                same(first, idx) || collided.iter().any(|&(ch, start)| ch == h && same(start, idx))
            }
        };
        if known {
            repeated += lens[idx..idx + n].iter().sum::<usize>();
            idx += n;
        } else {
            match seen.get(&h) {
                None => {
                    seen.insert(h, idx);
                }
                Some(_) => collided.push((h, idx)),
            }
            idx += 1;
        }
    }
    repeated
}

impl Filter for GopherRepetitionFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let c = &self.config;
        let text = doc.text.as_str();
        if text.is_empty() {
            return Verdict::Drop(Some("empty"));
        }
        let text_len = py_len(text) as f64;
        let paragraphs = split_newline_runs(py_strip(text), 2);
        let (para_dups, para_chars) = find_duplicates(paragraphs.iter().copied());
        if on(c.dup_para_frac).is_some_and(|t| para_dups as f64 / paragraphs.len() as f64 > t) {
            return Verdict::Drop(Some("dup_para_frac"));
        }
        if on(c.dup_para_char_frac).is_some_and(|t| para_chars as f64 / text_len > t) {
            return Verdict::Drop(Some("dup_para_char_frac"));
        }
        let lines = split_newline_runs(text, 1);
        let (line_dups, line_chars) = find_duplicates(lines.iter().copied());
        if on(c.dup_line_frac).is_some_and(|t| line_dups as f64 / lines.len() as f64 > t) {
            return Verdict::Drop(Some("dup_line_frac"));
        }
        if on(c.dup_line_char_frac).is_some_and(|t| line_chars as f64 / text_len > t) {
            return Verdict::Drop(Some("dup_line_char_frac"));
        }
        let words = self.splitter.words(text);
        let lens: Vec<usize> = words.iter().map(|w| py_len(w)).collect();
        let mut vocabulary: FxHashMap<&str, u32> = FxHashMap::default();
        vocabulary.reserve(words.len());
        let ids: Vec<u32> = words
            .iter()
            .map(|w| {
                let next = vocabulary.len() as u32;
                *vocabulary.entry(w).or_insert(next)
            })
            .collect();
        for (&(n, frac), reason) in c.top_n_grams.iter().zip(&self.top_reasons) {
            if n == 0 || words.len() < n {
                continue;
            }
            if top_duplicate_chars(&ids, &lens, n, &mut self.top) as f64 / text_len > frac {
                return Verdict::Drop(Some(reason));
            }
        }
        let hashes = ConcatHashes::new(&words);
        for (&(n, frac), reason) in c.dup_n_grams.iter().zip(&self.dup_reasons) {
            if n == 0 {
                continue;
            }
            if all_duplicate_chars(&words, &lens, &hashes, n, &mut self.dup) as f64 / text_len > frac {
                return Verdict::Drop(Some(reason));
            }
        }
        Verdict::Keep
    }
}

// ---------------------------------------------------------------------------------------------
// Gopher quality

pub(crate) const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// `gopher_quality_filter`: DataTrove's `GopherQualityFilter` (Gopher's quality rules). A threshold
/// of `0` (or `null`) disables its rule, as in DataTrove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GopherQualityFilterConfig {
    /// Fewest words (not counting symbol-only words).
    #[serde(default = "some_50")]
    pub min_doc_words: Option<u64>,
    /// Most words.
    #[serde(default = "some_100000")]
    pub max_doc_words: Option<u64>,
    /// Smallest mean word length.
    #[serde(default = "some_3f")]
    pub min_avg_word_length: Option<f64>,
    /// Largest mean word length.
    #[serde(default = "some_10f")]
    pub max_avg_word_length: Option<f64>,
    /// Largest ratio of `#` or ellipses to words.
    #[serde(default = "some_0_1")]
    pub max_symbol_word_ratio: Option<f64>,
    /// Largest fraction of lines starting with a bullet.
    #[serde(default = "some_0_9")]
    pub max_bullet_lines_ratio: Option<f64>,
    /// Largest fraction of lines ending with an ellipsis.
    #[serde(default = "some_0_3")]
    pub max_ellipsis_lines_ratio: Option<f64>,
    /// Smallest fraction of words with a letter (DataTrove's name).
    #[serde(default = "some_0_8")]
    pub max_non_alpha_words_ratio: Option<f64>,
    /// Fewest distinct stop words.
    #[serde(default = "some_2")]
    pub min_stop_words: Option<u64>,
    /// The stop words (DataTrove's eight English ones by default).
    #[serde(default)]
    pub stop_words: Option<Vec<String>>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Language of the word splitter.
    #[serde(default = "english")]
    pub language: String,
}

fn some_50() -> Option<u64> {
    Some(50)
}
fn some_100000() -> Option<u64> {
    Some(100_000)
}
fn some_3f() -> Option<f64> {
    Some(3.0)
}
fn some_10f() -> Option<f64> {
    Some(10.0)
}
fn some_0_1() -> Option<f64> {
    Some(0.1)
}
fn some_0_9() -> Option<f64> {
    Some(0.9)
}
fn some_0_8() -> Option<f64> {
    Some(0.8)
}
fn some_2() -> Option<u64> {
    Some(2)
}

impl Default for GopherQualityFilterConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults deserialize")
    }
}

impl StepConfig for GopherQualityFilterConfig {
    const TYPE: &'static str = "gopher_quality_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        filter_stage("🥇 Gopher Quality", GopherQualityFilter::new(self), self.exclusion_writer.as_ref(), cx)
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime Gopher quality filter.
pub struct GopherQualityFilter {
    config: GopherQualityFilterConfig,
    stop_words: HashSet<String>,
    splitter: WordSplitter,
}

impl GopherQualityFilter {
    /// A filter from its config.
    pub fn new(config: &GopherQualityFilterConfig) -> GopherQualityFilter {
        let stop_words = match &config.stop_words {
            Some(words) => words.iter().cloned().collect(),
            None => STOP_WORDS.iter().map(|w| w.to_string()).collect(),
        };
        GopherQualityFilter {
            config: config.clone(),
            stop_words,
            splitter: WordSplitter::new(&config.language),
        }
    }
}

fn nonzero_u(v: Option<u64>) -> Option<u64> {
    v.filter(|&v| v != 0)
}

impl Filter for GopherQualityFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let c = &self.config;
        let text = doc.text.as_str();
        let words = self.splitter.words(text);
        let n_words = words.len();
        let non_symbol: Vec<&str> =
            words.iter().copied().filter(|w| w.chars().any(|ch| !is_punctuation(ch))).collect();
        let n_non_symbol = non_symbol.len() as u64;
        if nonzero_u(c.min_doc_words).is_some_and(|m| n_non_symbol < m) {
            return Verdict::Drop(Some("gopher_short_doc"));
        }
        if nonzero_u(c.max_doc_words).is_some_and(|m| n_non_symbol > m) {
            return Verdict::Drop(Some("gopher_long_doc"));
        }
        if n_words == 0 {
            // DataTrove divides by zero here (only reachable with min_doc_words disabled).
            return Verdict::Drop(Some("gopher_short_doc"));
        }
        // np.mean of an empty list is nan: every comparison with it is false.
        let avg = non_symbol.iter().map(|w| py_len(w)).sum::<usize>() as f64 / non_symbol.len() as f64;
        if on(c.min_avg_word_length).is_some_and(|m| avg < m) {
            return Verdict::Drop(Some("gopher_below_avg_threshold"));
        }
        if on(c.max_avg_word_length).is_some_and(|m| avg > m) {
            return Verdict::Drop(Some("gopher_above_avg_threshold"));
        }
        let n = n_words as f64;
        if let Some(ratio) = on(c.max_symbol_word_ratio) {
            if text.matches('#').count() as f64 / n > ratio {
                return Verdict::Drop(Some("gopher_too_many_hashes"));
            }
            if (text.matches("...").count() + text.matches('…').count()) as f64 / n > ratio {
                return Verdict::Drop(Some("gopher_too_many_ellipsis"));
            }
        }
        let lines: Vec<&str> = splitlines(text).collect();
        let n_lines = lines.len() as f64;
        if let Some(ratio) = on(c.max_bullet_lines_ratio) {
            let bullets = lines
                .iter()
                .filter(|l| {
                    let l = l.trim_start_matches(trove_core::text::py_isspace);
                    l.starts_with('•') || l.starts_with('-')
                })
                .count();
            if bullets as f64 / n_lines > ratio {
                return Verdict::Drop(Some("gopher_too_many_bullets"));
            }
        }
        if let Some(ratio) = on(c.max_ellipsis_lines_ratio) {
            let ellipses = lines
                .iter()
                .filter(|l| {
                    let l = l.trim_end_matches(trove_core::text::py_isspace);
                    l.ends_with("...") || l.ends_with('…')
                })
                .count();
            if ellipses as f64 / n_lines > ratio {
                return Verdict::Drop(Some("gopher_too_many_end_ellipsis"));
            }
        }
        if let Some(ratio) = on(c.max_non_alpha_words_ratio) {
            let alpha = words.iter().filter(|w| w.chars().any(py_isalpha)).count();
            if (alpha as f64) / n < ratio {
                return Verdict::Drop(Some("gopher_below_alpha_threshold"));
            }
        }
        if let Some(min) = nonzero_u(c.min_stop_words) {
            let found: FxHashSet<&str> =
                words.iter().copied().filter(|w| self.stop_words.contains(*w)).collect();
            if (found.len() as u64) < min {
                return Verdict::Drop(Some("gopher_enough_stop_words"));
            }
        }
        Verdict::Keep
    }
}

// ---------------------------------------------------------------------------------------------
// C4 quality

fn yes() -> bool {
    true
}
fn five() -> i64 {
    5
}
fn three() -> i64 {
    3
}
fn thousand() -> i64 {
    1000
}

/// `c4_quality_filter`: DataTrove's `C4QualityFilter` (C4's line and document rules). Keeps only the
/// lines that pass, so it changes the text of the documents it keeps. `-1` disables a number rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C4QualityFilterConfig {
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Rules apply to lines (`true`, as in C4) or to sentences.
    #[serde(default = "yes")]
    pub split_paragraph: bool,
    /// Removes Wikipedia-style citations (`[1]`, `[edit]`, `[citation needed]`).
    #[serde(default = "yes")]
    pub remove_citations: bool,
    /// Drops lines not ending in terminal punctuation.
    #[serde(default = "yes")]
    pub filter_no_terminal_punct: bool,
    /// Fewest sentences in the kept lines.
    #[serde(default = "five")]
    pub min_num_sentences: i64,
    /// Fewest words per kept line.
    #[serde(default = "three")]
    pub min_words_per_line: i64,
    /// Drops lines with a longer word.
    #[serde(default = "thousand")]
    pub max_word_length: i64,
    /// Drops documents containing "lorem ipsum".
    #[serde(default = "yes")]
    pub filter_lorem_ipsum: bool,
    /// Drops lines mentioning "javascript".
    #[serde(default = "yes")]
    pub filter_javascript: bool,
    /// Drops documents containing `{`.
    #[serde(default = "yes")]
    pub filter_curly_bracket: bool,
    /// Drops lines with cookie or terms-of-use phrases.
    #[serde(default = "yes")]
    pub filter_policy: bool,
    /// Language of the sentence splitter.
    #[serde(default = "english")]
    pub language: String,
}

impl Default for C4QualityFilterConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults deserialize")
    }
}

impl StepConfig for C4QualityFilterConfig {
    const TYPE: &'static str = "c4_quality_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        filter_stage("⛰ C4 Quality", C4QualityFilter::new(self), self.exclusion_writer.as_ref(), cx)
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

const POLICY_SUBSTRINGS: [&str; 6] =
    ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"];

/// The runtime C4 quality filter.
pub struct C4QualityFilter {
    config: C4QualityFilterConfig,
    citation: regex::Regex,
    splitter: WordSplitter,
}

impl C4QualityFilter {
    /// A filter from its config.
    pub fn new(config: &C4QualityFilterConfig) -> C4QualityFilter {
        C4QualityFilter {
            config: config.clone(),
            citation: regex::Regex::new(r"\[\d*]|\[edit]|\[citation needed]").expect("a valid pattern"),
            splitter: WordSplitter::new(&config.language),
        }
    }
}

impl Filter for C4QualityFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        self.filter_counted(&mut doc.clone(), &mut Stats::new("c4"))
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let c = &self.config;
        let lines: Vec<&str> = if c.split_paragraph {
            splitlines(&doc.text).collect()
        } else {
            self.splitter.sentences(&doc.text)
        };
        let mut num_sentences: i64 = 0;
        let mut kept: Vec<String> = Vec::new();
        for line in lines {
            let line = py_strip(line);
            let n_words = py_split(line).count() as i64;
            stats.incr("line-total");
            if c.max_word_length != -1 && py_split(line).any(|w| py_len(w) as i64 > c.max_word_length) {
                stats.incr("line-filter-too_long_word");
                continue;
            }
            let line = if c.remove_citations { self.citation.replace_all(line, "") } else { line.into() };
            if c.filter_no_terminal_punct
                && (!line.ends_with(['.', '?', '!', '"', '\'']) || line.ends_with("..."))
            {
                stats.incr("line-filter-no_terminal_punc");
                continue;
            }
            if n_words < c.min_words_per_line {
                stats.incr("line-filter-too_few_words");
                continue;
            }
            let lower = line.to_lowercase();
            if c.filter_lorem_ipsum && lower.contains("lorem ipsum") {
                return Verdict::Drop(Some("lorem_ipsum"));
            }
            if c.filter_javascript && lower.contains("javascript") {
                stats.incr("line-filter-javascript");
                continue;
            }
            if c.filter_curly_bracket && line.contains('{') {
                return Verdict::Drop(Some("curly_bracket"));
            }
            if c.filter_policy && POLICY_SUBSTRINGS.iter().any(|p| lower.contains(p)) {
                stats.incr("line-filter-policy");
                continue;
            }
            if c.min_num_sentences != -1 {
                num_sentences +=
                    if c.split_paragraph { self.splitter.count_sentences(&line) as i64 } else { 1 };
            }
            kept.push(line.into_owned());
            stats.incr("line-kept");
        }
        if num_sentences < c.min_num_sentences {
            return Verdict::Drop(Some("too_few_sentences"));
        }
        let joined = kept.join(if c.split_paragraph { "\n" } else { " " });
        doc.text = py_strip(&joined).to_string();
        Verdict::Keep
    }
}

// ---------------------------------------------------------------------------------------------
// C4 paragraph

/// `c4_paragraph_filter`: DataTrove's `C4ParagraphFilter` (mC4): drops pages without three lines of
/// at least 200 characters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C4ParagraphFilterConfig {
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for C4ParagraphFilterConfig {
    const TYPE: &'static str = "c4_paragraph_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        filter_stage("⛰ C4 Paragraph", C4ParagraphFilter, self.exclusion_writer.as_ref(), cx)
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime C4 paragraph filter.
pub struct C4ParagraphFilter;

impl Filter for C4ParagraphFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let mut lens: Vec<usize> = doc.text.split('\n').map(py_len).collect();
        if lens.len() < 3 {
            return Verdict::Drop(Some("< 3 paragraphs"));
        }
        lens.sort_unstable_by(|a, b| b.cmp(a));
        if lens[2] < 200 {
            return Verdict::Drop(Some("< 3 paragraphs"));
        }
        Verdict::Keep
    }
}

// ---------------------------------------------------------------------------------------------
// C4 bad words

const BADWORDS_LANGS: [&str; 28] = [
    "ar",
    "cs",
    "da",
    "de",
    "en",
    "eo",
    "es",
    "fa",
    "fi",
    "fil",
    "fr",
    "fr-CA-u-sd-caqc",
    "hi",
    "hu",
    "it",
    "ja",
    "kab",
    "ko",
    "nl",
    "no",
    "pl",
    "pt",
    "ru",
    "sv",
    "th",
    "tlh",
    "tr",
    "zh",
];

fn zero() -> f64 {
    0.0
}

/// `c4_bad_words_filter`: DataTrove's `C4BadWordsFilter`: drops documents containing a word of the
/// LDNOOBW list of their `language` (metadata, else `default_language`).
///
/// The lists are files named by language code in `badwords_folder` (trove-only; default: the
/// `c4_badwords` folder of `$TROVE_ASSETS`). `cargo xtask fixtures` puts them in
/// `fixtures/cache/assets/c4_badwords/` from the npm package `naughty-words`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C4BadWordsFilterConfig {
    /// Fraction of documents with bad words kept anyway.
    #[serde(default = "zero")]
    pub keep_fraction: f64,
    /// A language without a list: `true` drops the document (`missing_badwords_lang`), `false` keeps it.
    #[serde(default = "yes")]
    pub fail_on_missing_language: bool,
    /// Seed of the `keep_fraction` draws (numpy's `default_rng`); task `r` uses `r` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Language of documents without `language` metadata.
    #[serde(default = "english")]
    pub default_language: String,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Folder with one list per language code (trove-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badwords_folder: Option<String>,
}

impl StepConfig for C4BadWordsFilterConfig {
    const TYPE: &'static str = "c4_bad_words_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let filter = C4BadWordsFilter::new(self, cx.task.rank)?;
        filter_stage("⛰ C4 Badwords", filter, self.exclusion_writer.as_ref(), cx)
    }

    fn check(&self, problems: &mut Vec<String>) {
        if !(0.0..=1.0).contains(&self.keep_fraction) {
            problems.push(format!("keep_fraction must be between 0 and 1, not {}", self.keep_fraction));
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime C4 bad-words filter.
pub struct C4BadWordsFilter {
    config: C4BadWordsFilterConfig,
    folder: std::path::PathBuf,
    regexes: HashMap<String, Option<regex::Regex>>,
    rng: Pcg64,
}

/// Words allowed although listed (common subwords in languages without spaces).
fn allowlisted(word: &str) -> bool {
    matches!(word, "sm" | "グロ" | "女の子" | "性")
}

impl C4BadWordsFilter {
    /// A filter for task `rank` (the seed of its draws when the config has none).
    pub fn new(config: &C4BadWordsFilterConfig, rank: usize) -> Result<C4BadWordsFilter> {
        let folder = match &config.badwords_folder {
            Some(f) => std::path::PathBuf::from(f),
            None => crate::assets_folder("c4_badwords")?,
        };
        Ok(C4BadWordsFilter {
            config: config.clone(),
            folder,
            regexes: HashMap::new(),
            rng: Pcg64::from_seed(config.seed.map(u128::from).unwrap_or(rank as u128)),
        })
    }

    fn regex(&mut self, lang: &str) -> Option<&regex::Regex> {
        if !self.regexes.contains_key(lang) {
            let compiled = if BADWORDS_LANGS.contains(&lang) { self.load(lang) } else { None };
            self.regexes.insert(lang.to_string(), compiled);
        }
        self.regexes.get(lang).and_then(Option::as_ref)
    }

    fn load(&self, lang: &str) -> Option<regex::Regex> {
        let path = self.folder.join(lang);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("c4_bad_words_filter: cannot read the {lang} list {}: {e}", path.display());
                return None;
            }
        };
        let mut words: Vec<&str> = text.lines().map(py_strip).filter(|w| !allowlisted(w)).collect();
        words.sort_unstable();
        words.dedup();
        let alternation = words.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|");
        let pattern = if matches!(lang, "ja" | "th" | "zh") {
            alternation
        } else {
            format!(r"(?:\W|^)({alternation})(?:\W|$)")
        };
        regex::RegexBuilder::new(&pattern).size_limit(1 << 28).build().ok()
    }
}

impl Filter for C4BadWordsFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        self.filter_counted(&mut doc.clone(), &mut Stats::new("c4 badwords"))
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let lang = doc
            .metadata
            .get("language")
            .and_then(|v| v.as_str())
            .unwrap_or(&self.config.default_language)
            .to_string();
        let fail_on_missing = self.config.fail_on_missing_language;
        let keep_fraction = self.config.keep_fraction;
        let lower = doc.text.to_lowercase();
        let found = match self.regex(&lang) {
            None => {
                stats.incr("missing_badwords_lang");
                stats.incr(&format!("missing_badwords_lang_{lang}"));
                return if fail_on_missing {
                    Verdict::Drop(Some("missing_badwords_lang"))
                } else {
                    Verdict::Keep
                };
            }
            Some(re) => re.is_match(&lower),
        };
        if !found {
            return Verdict::Keep;
        }
        stats.incr("documents_with_badwords");
        stats.incr(&format!("documents_with_badwords_{lang}"));
        if keep_fraction > 0.0 && self.rng.uniform() < keep_fraction {
            stats.incr("document_kept_with_badwords");
            stats.incr(&format!("document_kept_with_badwords_{lang}"));
            return Verdict::Keep;
        }
        stats.incr(&format!("document_removed_with_badwords_{lang}"));
        Verdict::Drop(Some("document_removed_with_badwords"))
    }
}

// ---------------------------------------------------------------------------------------------
// FineWeb quality

fn f0_12() -> f64 {
    0.12
}
fn f0_67() -> f64 {
    0.67
}
fn thirty() -> usize {
    30
}
fn f0_01() -> f64 {
    0.01
}
fn f0_3() -> f64 {
    0.3
}

/// `fineweb_quality_filter`: DataTrove's `FineWebQualityFilter` (FineWeb's line-punctuation,
/// short-line, duplicated-line and list rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FineWebQualityFilterConfig {
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// Smallest fraction of lines ending in a stop character.
    #[serde(default = "f0_12")]
    pub line_punct_thr: f64,
    /// Keeps documents where no line ends in a stop character.
    #[serde(default)]
    pub line_punct_exclude_zero: bool,
    /// Line endings that count (DataTrove's `TERMINAL_PUNCTUATION` by default).
    #[serde(default)]
    pub stop_chars: Option<Vec<String>>,
    /// Largest fraction of short lines.
    #[serde(default = "f0_67")]
    pub short_line_thr: f64,
    /// A line this long or shorter is short.
    #[serde(default = "thirty")]
    pub short_line_length: usize,
    /// Largest fraction of characters in duplicated lines.
    #[serde(default = "f0_01")]
    pub char_duplicates_ratio: f64,
    /// Largest ratio of newlines to words.
    #[serde(default = "f0_3")]
    pub new_line_ratio: f64,
    /// Language of the word splitter.
    #[serde(default = "english")]
    pub language: String,
}

impl Default for FineWebQualityFilterConfig {
    fn default() -> Self {
        serde_json::from_value(serde_json::json!({})).expect("defaults deserialize")
    }
}

impl StepConfig for FineWebQualityFilterConfig {
    const TYPE: &'static str = "fineweb_quality_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        filter_stage(
            "🍷 FineWeb Quality",
            FineWebQualityFilter::new(self),
            self.exclusion_writer.as_ref(),
            cx,
        )
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime FineWeb quality filter.
pub struct FineWebQualityFilter {
    config: FineWebQualityFilterConfig,
    splitter: WordSplitter,
}

impl FineWebQualityFilter {
    /// A filter from its config.
    pub fn new(config: &FineWebQualityFilterConfig) -> FineWebQualityFilter {
        FineWebQualityFilter { config: config.clone(), splitter: WordSplitter::new(&config.language) }
    }

    fn ends_with_stop(&self, line: &str) -> bool {
        match &self.config.stop_chars {
            None => line.chars().next_back().is_some_and(is_terminal_punctuation),
            Some(stops) => stops.iter().any(|s| line.ends_with(s.as_str())),
        }
    }
}

impl Filter for FineWebQualityFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        let c = &self.config;
        let text = doc.text.as_str();
        let lines: Vec<&str> = text.split('\n').filter(|l| !py_strip(l).is_empty()).collect();
        if lines.is_empty() {
            return Verdict::Drop(Some("empty"));
        }
        let n = lines.len() as f64;
        let ratio = lines.iter().filter(|l| self.ends_with_stop(l)).count() as f64 / n;
        if ratio < c.line_punct_thr && !(ratio == 0.0 && c.line_punct_exclude_zero) {
            return Verdict::Drop(Some("line_punct_ratio"));
        }
        let ratio = lines.iter().filter(|l| py_len(l) <= c.short_line_length).count() as f64 / n;
        if ratio > c.short_line_thr {
            return Verdict::Drop(Some("short_line_ratio"));
        }
        let newlines = text.bytes().filter(|&b| b == b'\n').count();
        let ratio = find_duplicates(lines.iter().copied()).1 as f64 / (py_len(text) - newlines) as f64;
        if ratio > c.char_duplicates_ratio {
            return Verdict::Drop(Some("char_dup_ratio"));
        }
        let words = self.splitter.words(text).len();
        if newlines as f64 / words as f64 > c.new_line_ratio {
            return Verdict::Drop(Some("list_ratio"));
        }
        Verdict::Keep
    }
}

/// An error for a missing asset folder.
pub(crate) fn missing_assets(what: &str) -> Error {
    Error::config(format!(
        "{what}: no folder given and TROVE_ASSETS is not set; run `cargo xtask fixtures` and set \
         TROVE_ASSETS=fixtures/cache/assets, or pass the folder in the step's config"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_runs_split_like_re() {
        assert_eq!(split_newline_runs("a\nb\n\nc\n\n\nd", 2), ["a\nb", "c", "d"]);
        assert_eq!(split_newline_runs("a\nb\n\nc\n", 1), ["a", "b", "c", ""]);
        assert_eq!(split_newline_runs("\nx", 1), ["", "x"]);
    }

    #[test]
    fn duplicate_ngrams_like_datatrove() {
        let words = ["a", "b", "a", "b", "a", "b", "c"];
        let lens: Vec<usize> = words.iter().map(|w| w.len()).collect();
        // find_all_duplicate(words, 2): "ab" at 0 new, "ba" at 1 new, "ab" at 2 repeated (+2, skip to
        // 4), "ab" at 4 repeated (+2, skip to 6), done.
        let mut seen = FxHashMap::default();
        assert_eq!(all_duplicate_chars(&words, &lens, &ConcatHashes::new(&words), 2, &mut seen), 4);
        // "".join makes ("ab", "c") equal to ("a", "bc").
        let words = ["ab", "c", "a", "bc"];
        let lens: Vec<usize> = words.iter().map(|w| w.len()).collect();
        assert_eq!(all_duplicate_chars(&words, &lens, &ConcatHashes::new(&words), 2, &mut seen), 3);
        // Top 2-gram: "a b" three times, 3 characters each.
        let ids = [0, 1, 0, 1, 0, 1, 2];
        assert_eq!(top_duplicate_chars(&ids, &[1; 7], 2, &mut FxHashMap::default()), 9);
        assert_eq!(top_duplicate_chars_exact(&ids, &[1; 7], 2), 9);
    }

    #[test]
    fn c4_paragraphs_need_three_long_lines() {
        let long = "x".repeat(200);
        let doc = |t: String| Document::new(t, "d");
        assert_eq!(C4ParagraphFilter.filter(&doc(format!("{long}\n{long}\n{long}"))), Verdict::Keep);
        assert_eq!(
            C4ParagraphFilter.filter(&doc(format!("{long}\n{long}\nshort"))),
            Verdict::Drop(Some("< 3 paragraphs"))
        );
    }
}
