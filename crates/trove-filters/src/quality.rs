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
    top: NgramTable<(u32, u32)>,
    dup: NgramTable<u32>,
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
            top: NgramTable::default(),
            dup: NgramTable::default(),
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

/// An open-addressing table from 64-bit n-gram keys to a small value, reused from document to
/// document. Slots carry the document's generation, so emptying the table writes nothing, and a
/// document uses only as many slots as its n-grams need (a table grown by a long document does not
/// spread a short one over memory). The keys are already hashes or packed ids, so the probe is a
/// multiply and a linear scan.
struct NgramTable<V> {
    slots: Vec<(u64, u32, V)>,
    generation: u32,
    bits: u32,
    /// Slots filled for the current document, in insertion order.
    used: Vec<u32>,
}

impl<V: Copy + Default> Default for NgramTable<V> {
    fn default() -> Self {
        NgramTable { slots: Vec::new(), generation: 0, bits: 0, used: Vec::new() }
    }
}

impl<V: Copy + Default> NgramTable<V> {
    /// Empties the table and sizes it for `entries` keys (load factor at most 1/2).
    fn reset(&mut self, entries: usize) {
        let bits = (entries.max(8) * 2).next_power_of_two().trailing_zeros();
        if self.slots.len() < 1 << bits {
            self.slots = vec![(0, 0, V::default()); 1 << bits];
            self.generation = 0;
        }
        self.bits = bits;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| s.1 = 0);
            self.generation = 1;
        }
        self.used.clear();
    }

    /// The value of `key`, and whether it was absent (then it is now `value`). At most `entries` keys
    /// (as given to `reset`) may be inserted.
    #[inline]
    fn entry(&mut self, key: u64, value: V) -> (&mut V, bool) {
        let mask = (1usize << self.bits) - 1;
        // Fibonacci hashing: the product's high bits depend on every bit of the key.
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize;
        loop {
            let slot = &self.slots[i];
            if slot.1 != self.generation {
                self.slots[i] = (key, self.generation, value);
                self.used.push(i as u32);
                return (&mut self.slots[i].2, true);
            }
            if slot.0 == key {
                return (&mut self.slots[i].2, false);
            }
            i = (i + 1) & mask;
        }
    }

    /// The values of the current document, in insertion order.
    fn values(&self) -> impl Iterator<Item = V> + '_ {
        self.used.iter().map(|&i| self.slots[i as usize].2)
    }
}

/// DataTrove's `find_top_duplicate` over the n-grams `" ".join(words[i..i+n])`: characters of the most
/// frequent one (the first seen among equals) times its count. Words are numbered so n-grams are
/// compared as id tuples (words hold no spaces, so equal tuples ⇔ equal joined strings).
///
/// `id_bits` is the width of the largest id: when `n` ids fit in 64 bits the n-gram's key is the ids
/// themselves (exact, rolled from window to window); otherwise a hash checked on every hit.
///
/// A window starting at a lonely word start (see [`lonely_starts`]) and joining into at least
/// [`LONELY_BYTES`] bytes occurs once: it is not counted, and when no counted n-gram occurs twice the
/// most frequent is the first window, once.
fn top_duplicate_chars(
    ids: &[u32],
    lens: &[usize],
    n: usize,
    id_bits: u32,
    once: &dyn Fn(usize, usize) -> bool,
    counts: &mut NgramTable<(u32, u32)>,
) -> usize {
    counts.reset(ids.len());
    if n as u32 * id_bits <= 64 {
        let width = n as u32 * id_bits;
        let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
        let mut key = ids[..n - 1].iter().fold(0u64, |k, &id| (k << id_bits) | u64::from(id));
        for (i, &id) in ids[n - 1..].iter().enumerate() {
            key = ((key << id_bits) | u64::from(id)) & mask;
            if !once(i, n) {
                counts.entry(key, (0, i as u32)).0 .0 += 1;
            }
        }
        return top_chars(counts.values(), lens, n);
    }
    for (i, gram) in ids.windows(n).enumerate() {
        if once(i, n) {
            continue;
        }
        let (entry, _) = counts.entry(hash_ids(gram), (0, i as u32));
        let first = entry.1 as usize;
        if ids[first..first + n] != *gram {
            // Two n-grams share a 64-bit hash: count this document exactly.
            return top_duplicate_chars_exact(ids, lens, n);
        }
        entry.0 += 1;
    }
    top_chars(counts.values(), lens, n)
}

/// The most frequent n-gram (first seen among equals): its characters times its count.
fn top_chars(counts: impl Iterator<Item = (u32, u32)>, lens: &[usize], n: usize) -> usize {
    let (count, gram_start) = match counts.max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1))) {
        Some((count, start)) if count > 1 => (count, start as usize),
        // Every n-gram occurs once (counted or not): the first is the most frequent.
        _ if lens.len() >= n => (1, 0),
        _ => return 0,
    };
    let chars: usize = lens[gram_start..gram_start + n].iter().sum::<usize>() + (n - 1);
    chars * count as usize
}

fn top_duplicate_chars_exact(ids: &[u32], lens: &[usize], n: usize) -> usize {
    let mut counts: FxHashMap<&[u32], (u32, u32)> = FxHashMap::default();
    for (i, gram) in ids.windows(n).enumerate() {
        counts.entry(gram).or_insert((0, i as u32)).0 += 1;
    }
    top_chars(counts.values().copied(), lens, n)
}

/// Polynomial hashes of the words and of every prefix of their concatenation, so that the hash of
/// `"".join(words[i..j])` takes two multiplications: `H(i..j) = P[j] − P[i]·B^len(i..j)` (mod 2^64),
/// with `B^len(i..j) = B^bytes(..j) · B^−bytes(..i)` (`B` is odd, so invertible mod 2^64). The value
/// is the hash of the joined bytes, whatever the split into words.
struct ConcatHashes {
    /// The hash of each word alone.
    word: Vec<u64>,
    /// `P[k]`: the hash of `"".join(words[..k])`.
    prefix: Vec<u64>,
    /// `B^bytes(words[..k])`.
    power: Vec<u64>,
    /// `B^−bytes(words[..k])`.
    inverse: Vec<u64>,
    /// Bytes in `words[..k]`.
    offset: Vec<usize>,
}

const POLY_BASE: u64 = 0x100_0000_01b3;

/// The inverse of an odd number modulo 2^64 (Newton's iteration doubles the correct bits each step).
const fn inverse_mod_2_64(b: u64) -> u64 {
    let mut x = b;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(b.wrapping_mul(x)));
        i += 1;
    }
    x
}

const POLY_INVERSE: u64 = inverse_mod_2_64(POLY_BASE);

/// `[B^k, B^−k]` for words shorter than 64 bytes, so that hashing a word is one multiply-add per byte.
const POLY_POWERS: [[u64; 2]; 64] = {
    let mut table = [[1u64, 1u64]; 64];
    let mut k = 1;
    while k < 64 {
        table[k] = [table[k - 1][0].wrapping_mul(POLY_BASE), table[k - 1][1].wrapping_mul(POLY_INVERSE)];
        k += 1;
    }
    table
};

/// `B^n` and `B^−n`.
fn poly_powers(n: usize) -> (u64, u64) {
    match POLY_POWERS.get(n) {
        Some(&[b, ib]) => (b, ib),
        None => {
            let (mut b, mut ib) = (1u64, 1u64);
            for _ in 0..n {
                b = b.wrapping_mul(POLY_BASE);
                ib = ib.wrapping_mul(POLY_INVERSE);
            }
            (b, ib)
        }
    }
}

impl ConcatHashes {
    fn new(words: &[&str]) -> ConcatHashes {
        let mut word = Vec::with_capacity(words.len());
        let mut prefix = Vec::with_capacity(words.len() + 1);
        let mut power = Vec::with_capacity(words.len() + 1);
        let mut inverse = Vec::with_capacity(words.len() + 1);
        let mut offset = Vec::with_capacity(words.len() + 1);
        let (mut p, mut pw, mut inv, mut bytes) = (0u64, 1u64, 1u64, 0usize);
        offset.push(0);
        prefix.push(p);
        power.push(pw);
        inverse.push(inv);
        for w in words {
            let h =
                w.bytes().fold(0u64, |h, byte| h.wrapping_mul(POLY_BASE).wrapping_add(u64::from(byte) + 1));
            let (b, ib) = poly_powers(w.len());
            p = p.wrapping_mul(b).wrapping_add(h);
            pw = pw.wrapping_mul(b);
            inv = inv.wrapping_mul(ib);
            bytes += w.len();
            word.push(h);
            prefix.push(p);
            power.push(pw);
            inverse.push(inv);
            offset.push(bytes);
        }
        ConcatHashes { word, prefix, power, inverse, offset }
    }

    /// The hash of `"".join(words[start..start + n])`.
    #[inline]
    fn window(&self, start: usize, n: usize) -> u64 {
        let end = start + n;
        let scale = self.power[end].wrapping_mul(self.inverse[start]);
        self.prefix[end].wrapping_sub(self.prefix[start].wrapping_mul(scale))
    }
}

/// Numbers the distinct words in order of first appearance. The words' hashes key a table, checked
/// exactly on every hit; a document where two words share a hash is numbered with a string map.
fn word_ids(words: &[&str], hashes: &ConcatHashes, table: &mut NgramTable<(u32, u32)>) -> (Vec<u32>, usize) {
    table.reset(words.len());
    let mut ids = Vec::with_capacity(words.len());
    let mut next = 0u32;
    for (i, (w, &h)) in words.iter().zip(&hashes.word).enumerate() {
        let (entry, inserted) = table.entry(h ^ w.len() as u64, (next, i as u32));
        if inserted {
            next += 1;
        } else if words[entry.1 as usize] != *w {
            let mut vocabulary: FxHashMap<&str, u32> = FxHashMap::default();
            let ids = words
                .iter()
                .map(|w| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(w).or_insert(next)
                })
                .collect();
            return (ids, vocabulary.len());
        }
        ids.push(entry.0);
    }
    (ids, next as usize)
}

/// Bytes of the joined words from a word's start that [`lonely_starts`] compares.
const LONELY_BYTES: usize = 16;

/// Whether the window of `n` words at `start` occurs once for sure: it starts at a lonely word start
/// and joins into at least [`LONELY_BYTES`] bytes.
fn occurs_once(lonely: &[bool], hashes: &ConcatHashes, start: usize, n: usize) -> bool {
    lonely[start] && hashes.offset[start + n] - hashes.offset[start] >= LONELY_BYTES
}

/// Which word starts no other word start shares the next [`LONELY_BYTES`] bytes of the joined words
/// with. A window of `n` words at least that long starting there equals no other window of `n`
/// words (equal joined strings start with equal bytes), so `find_all_duplicate` can pass over it
/// without remembering it: most windows of ordinary text are such, and skipping them saves a table
/// probe per window and per `n`. (Two different prefixes with one hash only make fewer starts
/// lonely.)
fn lonely_starts(words: &[&str], hashes: &ConcatHashes, table: &mut NgramTable<u32>) -> Vec<bool> {
    let joined: Vec<u8> = words.iter().flat_map(|w| w.bytes()).collect();
    let key = |i: usize| {
        let at = hashes.offset[i];
        let bytes = joined.get(at..at + LONELY_BYTES)?;
        let (a, b) = bytes.split_at(8);
        let a = u64::from_le_bytes(a.try_into().unwrap_or_default());
        let b = u64::from_le_bytes(b.try_into().unwrap_or_default());
        Some(a.wrapping_mul(0xff51_afd7_ed55_8ccd).rotate_left(31) ^ b)
    };
    table.reset(words.len());
    let mut lonely = vec![false; words.len()];
    for i in 0..words.len() {
        let Some(k) = key(i) else { continue };
        let (first, inserted) = table.entry(k, i as u32);
        if inserted {
            lonely[i] = true;
        } else {
            lonely[*first as usize] = false;
        }
    }
    lonely
}

/// DataTrove's `find_all_duplicate`: characters of `"".join(words[i..i+n])` n-grams seen before,
/// skipping `n` words after each repeat.
fn all_duplicate_chars(
    words: &[&str],
    lens: &[usize],
    hashes: &ConcatHashes,
    n: usize,
    lonely: &[bool],
    seen: &mut NgramTable<u32>,
) -> usize {
    // The joined strings are compared exactly on a hash hit (different splits can join equally).
    let same = |a: usize, b: usize| {
        words[a..a + n].iter().flat_map(|w| w.bytes()).eq(words[b..b + n].iter().flat_map(|w| w.bytes()))
    };
    seen.reset(words.len());
    let mut collided: Vec<(u64, usize)> = Vec::new();
    let (mut repeated, mut idx) = (0, 0);
    while words.len() >= n && idx < words.len() - n + 1 {
        if occurs_once(lonely, hashes, idx, n) {
            idx += 1;
            continue;
        }
        let h = hashes.window(idx, n);
        // One probe per window: a new hash is inserted on the spot.
        let (first, inserted) = seen.entry(h, idx as u32);
        let known = !inserted
            && (same(*first as usize, idx)
                || collided.iter().any(|&(ch, start)| ch == h && same(start, idx)));
        if !inserted && !known {
            collided.push((h, idx));
        }
        if known {
            repeated += lens[idx..idx + n].iter().sum::<usize>();
            idx += n;
        } else {
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
        let hashes = ConcatHashes::new(&words);
        let (ids, vocabulary) = word_ids(&words, &hashes, &mut self.top);
        let id_bits = (u32::BITS - (vocabulary as u32).saturating_sub(1).leading_zeros()).max(1);
        let lonely = lonely_starts(&words, &hashes, &mut self.dup);
        let once = |i: usize, n: usize| occurs_once(&lonely, &hashes, i, n);
        for (&(n, frac), reason) in c.top_n_grams.iter().zip(&self.top_reasons) {
            if n == 0 || words.len() < n {
                continue;
            }
            if top_duplicate_chars(&ids, &lens, n, id_bits, &once, &mut self.top) as f64 / text_len > frac {
                return Verdict::Drop(Some(reason));
            }
        }
        for (&(n, frac), reason) in c.dup_n_grams.iter().zip(&self.dup_reasons) {
            if n == 0 {
                continue;
            }
            if all_duplicate_chars(&words, &lens, &hashes, n, &lonely, &mut self.dup) as f64 / text_len > frac
            {
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
    /// Bytes in the longest stop word: longer words need no lookup.
    longest_stop_word: usize,
    splitter: WordSplitter,
}

impl GopherQualityFilter {
    /// A filter from its config.
    pub fn new(config: &GopherQualityFilterConfig) -> GopherQualityFilter {
        let stop_words: HashSet<String> = match &config.stop_words {
            Some(words) => words.iter().cloned().collect(),
            None => STOP_WORDS.iter().map(|w| w.to_string()).collect(),
        };
        GopherQualityFilter {
            config: config.clone(),
            longest_stop_word: stop_words.iter().map(String::len).max().unwrap_or(0),
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
            // Distinct stop words, counted until there are enough.
            let mut found: FxHashSet<&str> = FxHashSet::default();
            for w in words.iter().copied().filter(|w| w.len() <= self.longest_stop_word) {
                if self.stop_words.contains(w) {
                    found.insert(w);
                    if found.len() as u64 >= min {
                        break;
                    }
                }
            }
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
        // Where each kept line lies in the original text (`None` once one is rewritten).
        let mut pieces: Option<Vec<(usize, usize)>> = Some(Vec::new());
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
            // Only `num_sentences < min_num_sentences` is asked at the end: once there are enough,
            // further lines need not be split into sentences.
            if c.min_num_sentences != -1 && num_sentences < c.min_num_sentences {
                num_sentences +=
                    if c.split_paragraph { self.splitter.count_sentences(&line) as i64 } else { 1 };
            }
            if let (Some(pieces), std::borrow::Cow::Borrowed(piece)) = (&mut pieces, &line) {
                let start = piece.as_ptr() as usize - doc.text.as_ptr() as usize;
                pieces.push((start, start + piece.len()));
            } else {
                pieces = None;
            }
            kept.push(line.into_owned());
            stats.incr("line-kept");
        }
        if num_sentences < c.min_num_sentences {
            return Verdict::Drop(Some("too_few_sentences"));
        }
        let separator = if c.split_paragraph { "\n" } else { " " };
        let joined = kept.join(separator);
        let text = py_strip(&joined).to_string();
        if let Some(pieces) = pieces {
            // The next filter finds the new text's words without splitting it again.
            self.splitter.remember_pieces(&doc.text, &pieces, separator, &text);
        }
        doc.text = text;
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
        // find_all_duplicate(words, 2): "ab" at 0 new, "ba" at 1 new, "ab" at 2 repeated (+2, skip to
        // 4), "ab" at 4 repeated (+2, skip to 6), done.
        assert_eq!(dup_chars(&words, 2), 4);
        // "".join makes ("ab", "c") equal to ("a", "bc").
        let words = ["ab", "c", "a", "bc"];
        assert_eq!(dup_chars(&words, 2), 3);
        // Top 2-gram: "a b" three times, 3 characters each.
        let ids = [0, 1, 0, 1, 0, 1, 2];
        assert_eq!(top_duplicate_chars(&ids, &[1; 7], 2, 2, &|_, _| false, &mut NgramTable::default()), 9);
        assert_eq!(top_duplicate_chars_exact(&ids, &[1; 7], 2), 9);
    }

    /// DataTrove's `find_all_duplicate` as written in Python, on strings.
    fn find_all_duplicate(words: &[&str], n: usize) -> usize {
        let mut unique = HashSet::new();
        let (mut repeated, mut idx) = (0, 0);
        while words.len() >= n && idx < words.len() - n + 1 {
            let gram = words[idx..idx + n].concat();
            if unique.contains(&gram) {
                repeated += gram.chars().count();
                idx += n;
            } else {
                unique.insert(gram);
                idx += 1;
            }
        }
        repeated
    }

    /// `all_duplicate_chars` with lonely starts skipped, checked against the same without skipping
    /// and against the Python algorithm.
    fn dup_chars(words: &[&str], n: usize) -> usize {
        let lens: Vec<usize> = words.iter().map(|w| w.chars().count()).collect();
        let hashes = ConcatHashes::new(words);
        let mut table = NgramTable::default();
        let lonely = lonely_starts(words, &hashes, &mut table);
        let skipping = all_duplicate_chars(words, &lens, &hashes, n, &lonely, &mut table);
        let plain = all_duplicate_chars(words, &lens, &hashes, n, &vec![false; words.len()], &mut table);
        assert_eq!(skipping, plain, "{words:?} {n}");
        assert_eq!(skipping, find_all_duplicate(words, n), "{words:?} {n}");
        skipping
    }

    /// DataTrove's `find_top_duplicate` over `" ".join` n-grams as written in Python (`Counter`,
    /// `most_common(1)`: the first inserted among equals).
    fn find_top_duplicate(words: &[&str], n: usize) -> usize {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for gram in words.windows(n).map(|w| w.join(" ")) {
            match counts.iter_mut().find(|(g, _)| *g == gram) {
                Some((_, c)) => *c += 1,
                None => counts.push((gram, 1)),
            }
        }
        let best = counts.iter().fold(None::<&(String, usize)>, |best, x| match best {
            Some(b) if b.1 >= x.1 => Some(b),
            _ => Some(x),
        });
        best.map_or(0, |(g, c)| g.chars().count() * c)
    }

    /// `top_duplicate_chars` as the filter calls it (lonely windows not counted), checked against the
    /// Python algorithm.
    fn top_chars_checked(words: &[&str], n: usize) -> usize {
        if words.len() < n {
            return 0;
        }
        let lens: Vec<usize> = words.iter().map(|w| w.chars().count()).collect();
        let hashes = ConcatHashes::new(words);
        let mut table = NgramTable::default();
        let (ids, distinct) = word_ids(words, &hashes, &mut table);
        let lonely = lonely_starts(words, &hashes, &mut NgramTable::default());
        let once = |i: usize, n: usize| occurs_once(&lonely, &hashes, i, n);
        let bits = (u32::BITS - (distinct as u32).saturating_sub(1).leading_zeros()).max(1);
        let got = top_duplicate_chars(&ids, &lens, n, bits, &once, &mut table);
        assert_eq!(got, find_top_duplicate(words, n), "{words:?} {n}");
        got
    }

    #[test]
    fn duplicate_ngrams_agree_with_python_on_generated_text() {
        // Words from a small vocabulary of varied lengths (some joining into others: "ab" + "c" =
        // "a" + "bc"), so that repeats, overlaps and cross-split equalities all occur.
        let vocabulary = [
            "a",
            "b",
            "ab",
            "c",
            "bc",
            "abc",
            "the",
            "cat",
            "sat",
            "on",
            "mat",
            "é",
            "chat",
            "",
            "elephant",
            "encyclopaedia",
            "élan",
            "antidisestablishment",
            "x",
            "yz",
        ];
        let mut state = 99u64;
        let mut lonely = 0;
        for round in 0..300 {
            let len = 5 + round % 60;
            let words: Vec<&str> = (0..len)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    vocabulary[((state >> 33) % (3 + round as u64 % 18)) as usize]
                })
                .collect();
            let hashes = ConcatHashes::new(&words);
            lonely +=
                lonely_starts(&words, &hashes, &mut NgramTable::default()).iter().filter(|l| **l).count();
            for n in [1, 2, 5, 6, 10] {
                dup_chars(&words, n);
            }
            for n in [2, 3, 4] {
                top_chars_checked(&words, n);
            }
        }
        assert!(lonely > 1000, "the generated text has {lonely} lonely starts");
    }

    #[test]
    fn window_hashes_are_hashes_of_the_joined_words() {
        assert_eq!(POLY_BASE.wrapping_mul(POLY_INVERSE), 1);
        let long = "x".repeat(70);
        let words = ["Le", "", "chat", "é", "chat", "Lé", "chat", "a", "b", "ab", &long, "b"];
        let hashes = ConcatHashes::new(&words);
        let direct =
            |s: &str| s.bytes().fold(0u64, |h, b| h.wrapping_mul(POLY_BASE).wrapping_add(u64::from(b) + 1));
        for start in 0..words.len() {
            for n in 0..=words.len() - start {
                assert_eq!(hashes.window(start, n), direct(&words[start..start + n].concat()));
            }
        }
        // Ids number distinct words in order of first appearance.
        let (ids, distinct) = word_ids(&words, &hashes, &mut NgramTable::default());
        assert_eq!(ids, [0, 1, 2, 3, 2, 4, 2, 5, 6, 7, 8, 6]);
        assert_eq!(distinct, 9);
    }

    #[test]
    fn packed_and_hashed_top_ngrams_agree_with_the_exact_count() {
        // Ids from a small linear congruential generator; lengths vary so ties between n-grams of
        // equal count are broken by the first seen, as DataTrove's Counter.most_common(1) does.
        let mut state = 12345u64;
        let mut next = |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        let mut counts = NgramTable::default();
        for vocab in [1u64, 2, 3, 17, 300, 70_000] {
            let ids: Vec<u32> = (0..2_000).map(|_| next(vocab) as u32).collect();
            let lens: Vec<usize> = (0..2_000).map(|_| 1 + next(9) as usize).collect();
            let bits = (u32::BITS - (vocab as u32 - 1).leading_zeros()).max(1);
            for n in 1..=5 {
                let exact = top_duplicate_chars_exact(&ids, &lens, n);
                // `bits` packs where n ids fit in 64 bits; 32 forces the hashed path from n = 3.
                let never = |_: usize, _: usize| false;
                assert_eq!(
                    top_duplicate_chars(&ids, &lens, n, bits, &never, &mut counts),
                    exact,
                    "{vocab} {n}"
                );
                assert_eq!(
                    top_duplicate_chars(&ids, &lens, n, 32, &never, &mut counts),
                    exact,
                    "{vocab} {n}"
                );
            }
        }
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
