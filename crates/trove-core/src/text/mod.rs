//! DataTrove's text utilities (`datatrove.utils.text` and `word_tokenizers`), shared by the filter,
//! dedup and stats crates so that every step splits words, lines and sentences the same way.
//!
//! - Python's string semantics where DataTrove relies on them: [`py_isspace`], [`py_strip`],
//!   [`splitlines`], [`py_split`], [`py_isalpha`], character counts ([`py_len`]).
//! - DataTrove's punctuation sets ([`is_punctuation`], [`is_terminal_punctuation`]).
//! - Word and sentence splitting ([`split_into_words`], [`split_into_sentences`]): English reproduces
//!   spaCy's blank English tokenizer and sentencizer ([`spacy`]), which is what DataTrove uses; other
//!   languages split on Unicode word boundaries (see docs/decisions.md).
//!
//! ```
//! use trove_core::text::{split_into_words, splitlines};
//!
//! assert_eq!(split_into_words("I can't go, gonna stay.", "en"), ["I", "ca", "n't", "go", ",", "gon", "na", "stay", "."]);
//! assert_eq!(splitlines("a\r\nb\n\nc\n").collect::<Vec<_>>(), ["a", "b", "", "c"]);
//! ```

pub mod spacy;

use std::sync::OnceLock;

pub use spacy::{EnglishTokenizer, Token};

/// Python's `str.isspace` for one character: Unicode `White_Space` plus the ASCII separators
/// U+001C..U+001F that Python also counts.
#[inline]
pub fn py_isspace(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f')
    } else {
        c.is_whitespace()
    }
}

/// Python's `str.strip()` (no argument).
#[inline]
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Python's `str.split()` (no argument): runs of whitespace separate, no empty parts.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(py_isspace).filter(|p| !p.is_empty())
}

/// Python's `len(s)`: Unicode scalar values.
#[inline]
pub fn py_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The first line break of `s` and its byte offset, found by bytes: every line break starts with one
/// of `\n \r \x0b \x0c \x1c \x1d \x1e` or the lead byte of U+0085 (`C2`) or U+2028/9 (`E2`).
fn find_line_break(s: &str) -> Option<(usize, char)> {
    const fn starts() -> [bool; 256] {
        let mut table = [false; 256];
        let bytes = [b'\n', b'\r', 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0xc2, 0xe2];
        let mut i = 0;
        while i < bytes.len() {
            table[bytes[i] as usize] = true;
            i += 1;
        }
        table
    }
    static STARTS: [bool; 256] = starts();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if STARTS[bytes[i] as usize] {
            // A lead byte is on a character boundary; the character decides.
            let c = s[i..].chars().next()?;
            if is_line_break(c) {
                return Some((i, c));
            }
        }
        i += 1;
    }
    None
}

/// Python's `str.splitlines()`: splits on every line boundary Python knows (`\r\n` counts once); a
/// final line break adds no empty line.
pub fn splitlines(s: &str) -> SplitLines<'_> {
    SplitLines { rest: s }
}

/// Iterator of [`splitlines`].
pub struct SplitLines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for SplitLines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        match find_line_break(self.rest) {
            None => {
                let line = self.rest;
                self.rest = "";
                Some(line)
            }
            Some((i, c)) => {
                let line = &self.rest[..i];
                let mut next = i + c.len_utf8();
                if c == '\r' && self.rest.as_bytes().get(next) == Some(&b'\n') {
                    next += 1;
                }
                self.rest = &self.rest[next..];
                Some(line)
            }
        }
    }
}

/// Unicode titlecase letters (general category Lt).
fn is_titlecase(c: char) -> bool {
    matches!(c, '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}' | '\u{1f88}'..='\u{1f8f}' | '\u{1f98}'..='\u{1f9f}'
        | '\u{1fa8}'..='\u{1faf}' | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}')
}

/// Python's `str.isupper()`: at least one cased character and no lowercase or titlecase one.
pub fn py_isupper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// Python's `str.istitle()`: uppercase or titlecase characters only after uncased ones, lowercase
/// ones only after cased ones, and at least one cased character.
pub fn py_istitle(s: &str) -> bool {
    let (mut cased, mut previous_cased) = (false, false);
    for c in s.chars() {
        if c.is_uppercase() || is_titlecase(c) {
            if previous_cased {
                return false;
            }
            previous_cased = true;
            cased = true;
        } else if c.is_lowercase() {
            if !previous_cased {
                return false;
            }
            previous_cased = true;
            cased = true;
        } else {
            previous_cased = false;
        }
    }
    cased
}

/// Python's `str.isalpha` for one character: Unicode general category L (Lu, Ll, Lt, Lm, Lo).
#[inline]
pub fn py_isalpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    static LETTER: OnceLock<regex::Regex> = OnceLock::new();
    let re = LETTER.get_or_init(|| regex::Regex::new(r"^\p{L}$").expect("a valid pattern"));
    let mut buf = [0u8; 4];
    re.is_match(c.encode_utf8(&mut buf))
}

/// Python's `str.isdigit` for one character: decimal digits (category Nd) and the other digits Python
/// counts (superscripts, subscripts, circled and parenthesized digits, ...).
#[inline]
pub fn py_isdigit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static DIGIT: OnceLock<regex::Regex> = OnceLock::new();
    let re = DIGIT.get_or_init(|| {
        regex::Regex::new(
            r"^[\p{Nd}\u{B2}\u{B3}\u{B9}\u{1369}-\u{1371}\u{19DA}\u{2070}\u{2074}-\u{2079}\u{2080}-\u{2089}\u{2460}-\u{2468}\u{2474}-\u{247C}\u{2488}-\u{2490}\u{24EA}\u{24F5}-\u{24FD}\u{24FF}\u{2776}-\u{277E}\u{2780}-\u{2788}\u{278A}-\u{2792}\u{10A40}-\u{10A43}\u{1F100}-\u{1F10A}]$",
        )
        .expect("a valid pattern")
    });
    let mut buf = [0u8; 4];
    re.is_match(c.encode_utf8(&mut buf))
}

/// Whether every character of `s` is in Unicode general category P (spaCy's `is_punct`).
pub fn is_unicode_punct(s: &str) -> bool {
    static PUNCT: OnceLock<regex::Regex> = OnceLock::new();
    PUNCT.get_or_init(|| regex::Regex::new(r"^\p{P}*$").expect("a valid pattern")).is_match(s)
}

/// A set of characters: a bitmap for ASCII (most text), a sorted list for the rest.
#[derive(Clone, Default)]
struct CharSet {
    ascii: u128,
    other: Vec<char>,
}

impl CharSet {
    fn insert(&mut self, c: char) {
        if c.is_ascii() {
            self.ascii |= 1 << c as u32;
        } else if let Err(i) = self.other.binary_search(&c) {
            self.other.insert(i, c);
        }
    }

    #[inline]
    fn contains(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii & (1 << c as u32) != 0
        } else {
            self.other.binary_search(&c).is_ok()
        }
    }

    fn iter(&self) -> impl Iterator<Item = char> + '_ {
        (0u8..128).map(char::from).filter(|&c| self.contains(c)).chain(self.other.iter().copied())
    }
}

impl FromIterator<char> for CharSet {
    fn from_iter<I: IntoIterator<Item = char>>(iter: I) -> CharSet {
        let mut set = CharSet::default();
        for c in iter {
            set.insert(c);
        }
        set
    }
}

struct Sets {
    punctuation: CharSet,
    punctuation_string: CharSet,
    terminal: CharSet,
}

fn sets() -> &'static Sets {
    static SETS: OnceLock<Sets> = OnceLock::new();
    SETS.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Data {
            punctuation: String,
            terminal_punctuation: String,
        }
        let data: Data = serde_json::from_str(include_str!("../../data/datatrove_text.json"))
            .expect("the bundled datatrove_text.json parses");
        let terminal: CharSet = data.terminal_punctuation.chars().collect();
        let punctuation_string: CharSet = data.punctuation.chars().collect();
        let punctuation: CharSet = punctuation_string.iter().chain(terminal.iter()).collect();
        Sets { punctuation, punctuation_string, terminal }
    })
}

/// Whether `c` is in DataTrove's `PUNCTUATION_SET` (its `PUNCTUATION` string, ASCII control
/// characters, and `TERMINAL_PUNCTUATION`).
#[inline]
pub fn is_punctuation(c: char) -> bool {
    sets().punctuation.contains(c)
}

/// Whether `c` is in DataTrove's `PUNCTUATION` string (without `TERMINAL_PUNCTUATION`; `doc_stats`
/// counts these).
#[inline]
pub fn in_punctuation_string(c: char) -> bool {
    sets().punctuation_string.contains(c)
}

/// Whether `c` is in DataTrove's `TERMINAL_PUNCTUATION`.
#[inline]
pub fn is_terminal_punctuation(c: char) -> bool {
    sets().terminal.contains(c)
}

/// DataTrove's `TERMINAL_PUNCTUATION`, sorted (the default `stop_chars` of `fineweb_quality_filter`).
pub fn terminal_punctuation() -> Vec<char> {
    let mut v: Vec<char> = sets().terminal.iter().collect();
    v.sort_unstable();
    v
}

/// Splits text into words as DataTrove's `split_into_words(text, language)` does: spaCy's tokenizer
/// for English (whitespace tokens dropped, tokens stripped), Unicode word boundaries otherwise.
pub fn split_into_words<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    WordSplitter::new(language).words_into(text, &mut out);
    out
}

/// Splits text into sentences as DataTrove's `split_into_sentences`: each sentence runs to the end of
/// spaCy's sentence span; the whitespace after it opens the next one; the last ends at the text's end.
pub fn split_into_sentences<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    WordSplitter::new(language).sentences(text)
}

/// Byte ranges of the words of a text.
type WordSpans = Vec<(u32, u32)>;

/// The English texts split into words most recently on this thread, with their words' byte ranges:
/// filters later in a pipeline find the batch's documents here. Bounded in entries and bytes; texts of
/// 4 GiB or more are not kept.
#[derive(Default)]
struct RecentWords {
    entries: crate::hash::FxHashMap<u64, Vec<(Box<str>, WordSpans)>>,
    order: std::collections::VecDeque<u64>,
    bytes: usize,
}

const RECENT_ENTRIES: usize = 4096;
const RECENT_BYTES: usize = 64 << 20;

impl RecentWords {
    fn key(text: &str) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = crate::hash::FxBuildHasher::default().build_hasher();
        h.write(text.as_bytes());
        h.write_usize(text.len());
        h.finish()
    }

    fn get(&self, text: &str) -> Option<&Vec<(u32, u32)>> {
        self.entries.get(&Self::key(text))?.iter().find(|(t, _)| **t == *text).map(|(_, s)| s)
    }

    fn insert(&mut self, text: &str, spans: Vec<(u32, u32)>) {
        if text.len() >= u32::MAX as usize || text.len() > RECENT_BYTES / 4 {
            return;
        }
        while self.order.len() >= RECENT_ENTRIES || self.bytes + text.len() > RECENT_BYTES {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(list) = self.entries.get_mut(&old) {
                if !list.is_empty() {
                    let (t, _) = list.remove(0);
                    self.bytes -= t.len();
                }
                if list.is_empty() {
                    self.entries.remove(&old);
                }
            }
        }
        let key = Self::key(text);
        self.bytes += text.len();
        self.entries.entry(key).or_default().push((text.into(), spans));
        self.order.push_back(key);
    }
}

thread_local! {
    static RECENT_WORDS: std::cell::RefCell<RecentWords> = Default::default();
}

/// A word and sentence splitter for one language, with a cache (reuse one per task).
pub struct WordSplitter {
    english: Option<EnglishTokenizer>,
    tokens: Vec<Token>,
}

impl WordSplitter {
    /// A splitter for an ISO 639-1 language code (`en` gets spaCy's English rules).
    pub fn new(language: &str) -> WordSplitter {
        let english = matches!(language, "en" | "eng" | "english").then(EnglishTokenizer::new);
        WordSplitter { english, tokens: Vec::new() }
    }

    /// Appends the words of `text` to `out`.
    ///
    /// Recently split English texts are remembered on this thread (DataTrove keeps an `lru_cache` on
    /// `split_into_parts`), so the filters of a pipeline splitting the same document pay once.
    pub fn words_into<'a>(&mut self, text: &'a str, out: &mut Vec<&'a str>) {
        match &mut self.english {
            Some(tok) => RECENT_WORDS.with(|recent| {
                let mut recent = recent.borrow_mut();
                if let Some(spans) = recent.get(text) {
                    out.extend(spans.iter().map(|&(a, b)| &text[a as usize..b as usize]));
                    return;
                }
                tok.tokenize_into(text, &mut self.tokens);
                let spans: Vec<(u32, u32)> = self
                    .tokens
                    .iter()
                    .filter_map(|t| {
                        let w = py_strip(&text[t.start..t.end]);
                        let start = w.as_ptr() as usize - text.as_ptr() as usize;
                        (!w.is_empty()).then_some((start as u32, (start + w.len()) as u32))
                    })
                    .collect();
                out.extend(spans.iter().map(|&(a, b)| &text[a as usize..b as usize]));
                recent.insert(text, spans);
            }),
            None => {
                use unicode_segmentation::UnicodeSegmentation;
                out.extend(text.split_word_bounds().map(py_strip).filter(|w| !w.is_empty()));
            }
        }
    }

    /// Tells the splitter that `joined` is pieces of `original` joined by `separator` (whitespace):
    /// `pieces` are their byte ranges in `original`, each starting and ending with a non-whitespace
    /// character. When `original`'s words are remembered, those of `joined` are derived from them
    /// without splitting again (spaCy splits each whitespace-delimited span on its own, so a piece
    /// bounded by whitespace has the same words alone as inside the whole). Filters that rewrite a
    /// document from its lines (C4) call this so the next filter finds the new text's words.
    pub fn remember_pieces(
        &mut self,
        original: &str,
        pieces: &[(usize, usize)],
        separator: &str,
        joined: &str,
    ) {
        if self.english.is_none() || !separator.chars().all(py_isspace) {
            return;
        }
        RECENT_WORDS.with(|recent| {
            let mut recent = recent.borrow_mut();
            if recent.get(joined).is_some() {
                return;
            }
            let Some(spans) = recent.get(original) else { return };
            let mut derived: WordSpans = Vec::new();
            let mut at = 0usize;
            // Spans are sorted: each piece's words are found by binary search.
            for (k, &(start, end)) in pieces.iter().enumerate() {
                let Some(piece) = original.get(start..end) else { return };
                let bounded = original[..start].chars().next_back().is_none_or(py_isspace)
                    && original[end..].chars().next().is_none_or(py_isspace);
                if piece.is_empty()
                    || piece != py_strip(piece)
                    || !bounded
                    || joined.get(at..at + piece.len()) != Some(piece)
                {
                    return;
                }
                let first = spans.partition_point(|&(a, _)| (a as usize) < start);
                for &(a, b) in spans[first..].iter().take_while(|&&(_, b)| (b as usize) <= end) {
                    derived.push(((a as usize - start + at) as u32, (b as usize - start + at) as u32));
                }
                at += piece.len();
                if k + 1 < pieces.len() {
                    if joined.get(at..at + separator.len()) != Some(separator) {
                        return;
                    }
                    at += separator.len();
                }
            }
            if at == joined.len() {
                recent.insert(joined, derived);
            }
        });
    }

    /// The words of `text`.
    pub fn words<'a>(&mut self, text: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.words_into(text, &mut out);
        out
    }

    /// Sentence end offsets (bytes) as spaCy's sentencizer finds them (`span_tokenize`'s ends).
    pub fn sentence_ends(&mut self, text: &str) -> Vec<usize> {
        match &mut self.english {
            Some(tok) => {
                tok.tokenize_into(text, &mut self.tokens);
                spacy::sentence_spans(text, &self.tokens).into_iter().map(|(_, end)| end).collect()
            }
            None => {
                use unicode_segmentation::UnicodeSegmentation;
                text.split_sentence_bound_indices()
                    .map(|(i, s)| i + s.trim_end_matches(py_isspace).len())
                    .filter(|&end| end > 0)
                    .collect()
            }
        }
    }

    /// DataTrove's `sent_tokenize`: each sentence's own text (spaCy's `sent.text`), stripped, blank
    /// ones left out.
    pub fn sent_tokenize<'a>(&mut self, text: &'a str) -> Vec<&'a str> {
        let spans = self.span_tokenize(text);
        spans.into_iter().map(|(a, b)| py_strip(&text[a..b])).filter(|s| !s.is_empty()).collect()
    }

    /// DataTrove's `span_tokenize`: each sentence's (start, end) byte offsets (spaCy's `start_char`,
    /// `end_char`: trailing whitespace belongs to no sentence).
    pub fn span_tokenize(&mut self, text: &str) -> Vec<(usize, usize)> {
        match &mut self.english {
            Some(tok) => {
                tok.tokenize_into(text, &mut self.tokens);
                spacy::sentence_spans(text, &self.tokens)
            }
            None => {
                use unicode_segmentation::UnicodeSegmentation;
                text.split_sentence_bound_indices()
                    .map(|(i, s)| (i, i + s.trim_end_matches(py_isspace).len()))
                    .filter(|(a, b)| b > a)
                    .collect()
            }
        }
    }

    /// The sentences of `text` (DataTrove's `split_into_sentences`).
    pub fn sentences<'a>(&mut self, text: &'a str) -> Vec<&'a str> {
        let ends = self.sentence_ends(text);
        let mut out = Vec::with_capacity(ends.len().max(1));
        let mut start = 0;
        for &end in ends.iter().take(ends.len().saturating_sub(1)) {
            out.push(&text[start..end]);
            start = end;
        }
        out.push(&text[start..]);
        out
    }

    /// The number of sentences (`len(split_into_sentences(text))`).
    pub fn count_sentences(&mut self, text: &str) -> usize {
        if self.english.is_some() && spacy::surely_one_sentence(text) {
            return 1;
        }
        self.sentence_ends(text).len().max(1)
    }
}

/// Word-level F1 of two texts: the harmonic mean of precision and recall of their multisets of
/// whitespace-separated words (1 for two empty texts). The agreement measure the extraction checks and
/// benchmarks report against DataTrove's or pypdf's text.
pub fn word_f1(a: &str, b: &str) -> f64 {
    let mut counts: crate::hash::FxHashMap<&str, u32> = Default::default();
    let mut total = 0usize;
    for w in a.split_whitespace() {
        *counts.entry(w).or_default() += 1;
        total += 1;
    }
    let mut common = 0usize;
    for w in b.split_whitespace() {
        total += 1;
        if let Some(c) = counts.get_mut(w).filter(|c| **c > 0) {
            *c -= 1;
            common += 1;
        }
    }
    if total == 0 {
        return 1.0;
    }
    2.0 * common as f64 / total as f64
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_f1_counts_repeated_words_once_each() {
        use super::word_f1;
        assert_eq!(word_f1("", ""), 1.0);
        assert_eq!(word_f1("a b", ""), 0.0);
        assert_eq!(word_f1("a  b\nc", "c b a"), 1.0);
        // precision 2/4, recall 2/2: F1 = 2/3.
        assert!((word_f1("a a a b", "a b") - 2.0 / 3.0).abs() < 1e-12);
    }

    use super::*;

    #[test]
    fn splitlines_like_python() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("\n", &[""]),
            ("a", &["a"]),
            ("a\n", &["a"]),
            ("a\n\nb", &["a", "", "b"]),
            ("a\r\nb\rc\x0bd\u{2028}e\u{85}f", &["a", "b", "c", "d", "e", "f"]),
            ("a\r\r\nb", &["a", "", "b"]),
            // Characters sharing a lead byte with the line breaks are no breaks (U+00A0, U+00B7,
            // U+2027, U+2030).
            ("\u{a0}\x1c\u{b7}\u{2027}x\u{2029}\u{2030}\x1e", &["\u{a0}", "\u{b7}\u{2027}x", "\u{2030}"]),
        ];
        for (text, want) in cases {
            assert_eq!(splitlines(text).collect::<Vec<_>>(), *want, "{text:?}");
        }
    }

    #[test]
    fn python_character_classes() {
        assert!(
            py_isspace('\x1f') && py_isspace('\u{a0}') && py_isspace('\u{3000}') && !py_isspace('\u{200b}')
        );
        assert_eq!(py_strip("\x1c a b \u{2029}"), "a b");
        assert_eq!(py_split("  a\tb\u{a0}c  ").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(py_isalpha('é') && py_isalpha('中') && !py_isalpha('\u{0301}') && !py_isalpha('1'));
        assert!(is_unicode_punct("...") && !is_unicode_punct("$"));
        assert!(is_punctuation('…') && is_punctuation('\x01') && !is_punctuation('a'));
        assert!(
            is_terminal_punctuation('.') && is_terminal_punctuation('。') && !is_terminal_punctuation(',')
        );
    }

    /// Every text of `fixtures/golden/datatrove/spacy-en-words.jsonl.gz` (edge cases and a fifth of
    /// the Python docs sample, split by DataTrove 0.10.1 with spaCy 3.8) splits the same here.
    #[test]
    fn words_and_sentences_equal_datatrove_golden() {
        use std::io::BufRead;
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/golden/datatrove/spacy-en-words.jsonl.gz");
        let file = std::fs::File::open(path).expect("golden file");
        let mut splitter = WordSplitter::new("en");
        let (mut checked, mut derived) = (0, 0);
        for line in std::io::BufReader::new(flate2::read::GzDecoder::new(file)).lines() {
            let row: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("json");
            let text = row["text"].as_str().expect("text");
            let words: Vec<&str> =
                row["words"].as_array().expect("words").iter().filter_map(|w| w.as_str()).collect();
            let sentences: Vec<&str> =
                row["sentences"].as_array().expect("sentences").iter().filter_map(|w| w.as_str()).collect();
            assert_eq!(splitter.words(text), words, "words of {text:?}");
            assert_eq!(splitter.sentences(text), sentences, "sentences of {text:?}");
            // The count's shortcut (no tokenizing for surely single sentences) agrees, on the text and
            // on each of its lines (C4 counts line by line).
            assert_eq!(splitter.count_sentences(text), sentences.len(), "sentence count of {text:?}");
            for line in splitlines(text).map(py_strip) {
                let slow = splitter.sentence_ends(line).len().max(1);
                assert_eq!(splitter.count_sentences(line), slow, "sentence count of {line:?}");
            }
            // Words derived for the text's lines joined again (as C4 rewrites a document) equal a
            // fresh split of the joined text.
            let pieces: Vec<(usize, usize)> = splitlines(text)
                .map(py_strip)
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let start = l.as_ptr() as usize - text.as_ptr() as usize;
                    (start, start + l.len())
                })
                .collect();
            let joined = pieces.iter().map(|&(a, b)| &text[a..b]).collect::<Vec<_>>().join("\n");
            splitter.remember_pieces(text, &pieces, "\n", &joined);
            assert!(RECENT_WORDS.with(|r| r.borrow().get(&joined).is_some()), "not derived: {text:?}");
            let fresh: Vec<&str> = EnglishTokenizer::new()
                .tokenize(&joined)
                .iter()
                .map(|t| py_strip(&joined[t.start..t.end]))
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(splitter.words(&joined), fresh, "words of the lines of {text:?}");
            derived += usize::from(joined != text);
            checked += 1;
        }
        assert!(derived > 50, "only {derived} texts with lines rejoined differently");
        assert!(checked > 300, "only {checked} golden texts");
    }

    #[test]
    fn sentences_cover_the_text() {
        let text = "Hello there. How are you?  Fine!\nBye";
        let sents = split_into_sentences(text, "en");
        assert_eq!(sents.concat(), text);
        assert_eq!(sents, ["Hello there.", " How are you?", "  Fine!", "\nBye"]);
        assert_eq!(split_into_sentences("", "en"), [""]);
    }
}
