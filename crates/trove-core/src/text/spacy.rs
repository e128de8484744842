//! spaCy's blank English tokenizer and its sentencizer, reproduced.
//!
//! DataTrove splits English words with `spacy.blank("en")` and sentences with its `sentencizer`. The
//! rules (prefix, suffix and infix patterns, the URL pattern, 1,347 special cases and the sentence
//! punctuation) are spaCy 3.8's, dumped to `data/spacy_en.json` by `cargo xtask spacy-data`; the
//! algorithm follows spaCy's `Tokenizer` (`_tokenize_affixes`, `_split_affixes`, `_attach_tokens`,
//! `_apply_special_cases`) step by step. Tokens of one whitespace-delimited span are cached, as spaCy
//! caches them.

use super::{is_unicode_punct, py_isspace};
use crate::hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::{Arc, OnceLock};

/// A token: a byte range of the text. Whitespace tokens (runs of whitespace other than the single
/// space that separates two tokens) are tokens too, as in spaCy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Start byte offset.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
}

struct Rules {
    prefix: Alternation,
    suffix: Alternation,
    infix: Alternation,
    url: fancy_regex::Regex,
    /// Special cases: the string and the lengths (bytes) of its pieces.
    specials: HashMap<String, Vec<usize>>,
    /// Special-case patterns applied after affix splitting (spaCy's `_special_matcher`): first token →
    /// (token texts, special string).
    matcher: HashMap<String, Vec<Vec<String>>>,
    sentence_punct: HashSet<char>,
    /// The byte lengths (bit `len`, below 64) and first bytes (bit `byte`, ASCII) of the special cases
    /// made of letters only or digits only: a plain word outside them is no special case, told
    /// without hashing it.
    plain_special_lens: u64,
    plain_special_first: u128,
}

impl Rules {
    /// Whether the plain (letters-only or digits-only) word `span` may be a special case.
    #[inline]
    fn may_be_plain_special(&self, span: &str) -> bool {
        let first = span.as_bytes().first().copied().unwrap_or(0);
        span.len() < 64
            && (self.plain_special_lens >> span.len()) & 1 == 1
            && first < 128
            && (self.plain_special_first >> first) & 1 == 1
    }
}

fn rules() -> Arc<Rules> {
    static RULES: OnceLock<Arc<Rules>> = OnceLock::new();
    RULES.get_or_init(|| Arc::new(Rules::load())).clone()
}

fn compile(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).expect("the bundled spaCy pattern compiles")
}

/// Splits a Python regex at its top-level `|` (outside brackets and groups).
fn split_alternatives(pattern: &str) -> Vec<&str> {
    let (mut alts, mut depth, mut in_class, mut start) = (Vec::new(), 0i32, false, 0);
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b']' if in_class => in_class = false,
            _ if in_class => {}
            b'[' => in_class = true,
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'|' if depth == 0 => {
                alts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    alts.push(&pattern[start..]);
    alts
}

/// The end of the group that opens at `open` (the index of its `(`).
fn group_end(pattern: &str, open: usize) -> usize {
    let (mut depth, mut in_class) = (0i32, false);
    let bytes = pattern.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b']' if in_class => in_class = false,
            _ if in_class => {}
            b'[' => in_class = true,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    pattern.len()
}

/// One alternative with look-around, `(?<=B)X(?=A)` / `(?!A)` / `X$`, taken apart so that the `regex`
/// crate (no look-around) can run each part: the look-behind on the few characters before the
/// position, the body on a short candidate, the look-ahead anchored after it.
struct Lookaround {
    behind: Option<regex::Regex>,
    /// The body anchored at both ends.
    body: regex::Regex,
    /// The body anchored at the start only: a quick test before trying lengths.
    body_prefix: regex::Regex,
    /// The body unanchored (and anchored at the end for `X$`): finds the next place where the body
    /// can start, so that a search tests only there.
    body_search: regex::Regex,
    ahead: Option<(regex::Regex, bool)>,
    at_end: bool,
}

/// Longest body a look-around alternative of spaCy's matches, in characters (units such as `km/h`).
const MAX_BODY_CHARS: usize = 12;

impl Lookaround {
    fn parse(alt: &str) -> Lookaround {
        let mut rest = alt.strip_prefix('^').unwrap_or(alt);
        let mut behind = None;
        if rest.starts_with("(?<=") {
            let end = group_end(rest, 0);
            behind = Some(compile(&format!("(?:{})$", &rest[4..end])));
            rest = &rest[end + 1..];
        }
        let at_end = rest.ends_with('$') && !rest.ends_with("\\$");
        if at_end {
            rest = &rest[..rest.len() - 1];
        }
        let mut ahead = None;
        if let Some(open) = rest.rfind("(?=").or_else(|| rest.rfind("(?!")) {
            if group_end(rest, open) == rest.len() - 1 {
                let negative = rest[open..].starts_with("(?!");
                ahead = Some((compile(&format!("^(?:{})", &rest[open + 3..rest.len() - 1])), negative));
                rest = &rest[..open];
            }
        }
        Lookaround {
            behind,
            body: compile(&format!("^(?:{rest})$")),
            body_prefix: compile(&format!("^(?:{rest})")),
            body_search: compile(&format!("(?:{rest}){}", if at_end { "$" } else { "" })),
            ahead,
            at_end,
        }
    }

    /// The first byte at or after `from` where the body matches (a match of the whole alternative can
    /// start nowhere before it).
    fn candidate(&self, s: &str, from: usize) -> Option<usize> {
        self.body_search.find_at(s, from).map(|m| m.start())
    }

    /// The length of the match at byte `p` of `s`, if any (shortest body first, as the patterns'
    /// alternatives are ordered).
    fn match_at(&self, s: &str, p: usize) -> Option<usize> {
        let rest = &s[p..];
        let len = if self.at_end {
            if rest.is_empty() || rest.len() > 4 * MAX_BODY_CHARS || !self.body.is_match(rest) {
                return None;
            }
            rest.len()
        } else {
            if !self.body_prefix.is_match(rest) {
                return None;
            }
            rest.char_indices()
                .take(MAX_BODY_CHARS)
                .map(|(i, c)| i + c.len_utf8())
                .filter(|&len| self.body.is_match(&rest[..len]))
                .find(|&len| match &self.ahead {
                    Some((ahead, negative)) => ahead.is_match(&rest[len..]) != *negative,
                    None => true,
                })?
        };
        if let Some(behind) = &self.behind {
            let before = &s[..p];
            let from = before.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
            if !behind.is_match(&before[from..]) {
                return None;
            }
        }
        Some(len)
    }
}

/// A group of consecutive alternatives: plain ones run as one `regex` (leftmost-first, as Python's
/// `re`), look-around ones one by one.
enum Group {
    Plain { anchored: regex::Regex, search: regex::Regex },
    Look(Lookaround),
}

/// A spaCy affix pattern (prefix, suffix or infix) with Python `re`'s search semantics.
struct Alternation {
    groups: Vec<Group>,
}

impl Alternation {
    fn new(pattern: &str) -> Alternation {
        let mut groups = Vec::new();
        let mut plain: Vec<&str> = Vec::new();
        let flush = |plain: &mut Vec<&str>, groups: &mut Vec<Group>| {
            if !plain.is_empty() {
                let joined = plain.join("|");
                groups.push(Group::Plain {
                    anchored: compile(&format!("^(?:{joined})")),
                    search: compile(&format!("(?:{joined})")),
                });
                plain.clear();
            }
        };
        for alt in split_alternatives(pattern) {
            if alt.contains("(?<=") || alt.contains("(?=") || alt.contains("(?!") {
                flush(&mut plain, &mut groups);
                groups.push(Group::Look(Lookaround::parse(alt)));
            } else {
                plain.push(alt);
            }
        }
        flush(&mut plain, &mut groups);
        Alternation { groups }
    }

    /// The first alternative (in pattern order) that matches at byte `p`: its length.
    fn match_at(&self, s: &str, p: usize) -> Option<usize> {
        self.groups.iter().find_map(|g| match g {
            Group::Plain { anchored, .. } => anchored.find(&s[p..]).map(|m| m.end()),
            Group::Look(l) => l.match_at(s, p),
        })
    }

    /// Python's `pattern.search(s)` from byte `from`: the leftmost match (start, end).
    fn search(&self, s: &str, from: usize) -> Option<(usize, usize)> {
        let plain_start = self
            .groups
            .iter()
            .filter_map(|g| match g {
                Group::Plain { search, .. } => search.find_at(s, from).map(|m| m.start()),
                Group::Look(_) => None,
            })
            .min();
        // Before the leftmost plain match only look-around alternatives can match.
        let limit = plain_start.unwrap_or(s.len());
        let looks: Vec<&Lookaround> = self
            .groups
            .iter()
            .filter_map(|g| match g {
                Group::Look(l) => Some(l),
                Group::Plain { .. } => None,
            })
            .collect();
        // Each look-around alternative is tested only where its body matches: the leftmost such place
        // over all of them first, the alternatives in pattern order there.
        let mut next: Vec<Option<usize>> = looks.iter().map(|l| l.candidate(s, from)).collect();
        while let Some(p) = next.iter().flatten().copied().min().filter(|&p| p < limit) {
            for (l, n) in looks.iter().zip(&next) {
                if *n == Some(p) {
                    if let Some(len) = l.match_at(s, p) {
                        return Some((p, p + len));
                    }
                }
            }
            let step = p + s[p..].chars().next().map_or(1, char::len_utf8);
            for (l, n) in looks.iter().zip(next.iter_mut()) {
                if *n == Some(p) {
                    *n = if step <= s.len() { l.candidate(s, step) } else { None };
                }
            }
        }
        let p = plain_start?;
        self.match_at(s, p).map(|len| (p, p + len))
    }
}

impl Rules {
    fn load() -> Rules {
        #[derive(serde::Deserialize)]
        struct Data {
            prefix: String,
            suffix: String,
            infix: String,
            url: String,
            rules: std::collections::BTreeMap<String, Vec<String>>,
            sentence_punct_chars: Vec<String>,
        }
        let data: Data = serde_json::from_str(include_str!("../../data/spacy_en.json"))
            .expect("the bundled spacy_en.json parses");
        let mut rules = Rules {
            prefix: Alternation::new(&data.prefix),
            suffix: Alternation::new(&data.suffix),
            infix: Alternation::new(&data.infix),
            url: fancy_regex::Regex::new(&data.url).expect("the bundled URL pattern compiles"),
            specials: data
                .rules
                .iter()
                .map(|(k, pieces)| (k.clone(), pieces.iter().map(String::len).collect()))
                .collect(),
            matcher: HashMap::default(),
            sentence_punct: data.sentence_punct_chars.iter().filter_map(|s| s.chars().next()).collect(),
            plain_special_lens: 0,
            plain_special_first: 0,
        };
        for key in data.rules.keys().filter(|k| is_plain(k)) {
            // A plain special case too long or not starting with ASCII would be missed: keep all.
            if key.len() >= 64 || !key.as_bytes()[0].is_ascii() {
                rules.plain_special_lens = u64::MAX;
                rules.plain_special_first = u128::MAX;
            } else {
                rules.plain_special_lens |= 1 << key.len();
                rules.plain_special_first |= 1 << key.as_bytes()[0];
            }
        }
        // spaCy (faster_heuristics) matches a special case after affix splitting when the affix rules
        // would cut it.
        let mut matcher: HashMap<String, Vec<Vec<String>>> = HashMap::default();
        for key in data.rules.keys() {
            if rules.find_prefix(key) == 0
                && rules.find_suffix(key) == 0
                && rules.find_infix(key).is_empty()
                && !key.contains(' ')
            {
                continue;
            }
            let mut toks = Vec::new();
            rules.tokenize(key, false, &mut toks);
            let pattern: Vec<String> = toks.iter().map(|t| key[t.start..t.end].to_string()).collect();
            matcher.entry(pattern[0].clone()).or_default().push(pattern);
        }
        rules.matcher = matcher;
        rules
    }

    fn find_prefix(&self, s: &str) -> usize {
        if s.is_empty() {
            return 0;
        }
        self.prefix.match_at(s, 0).unwrap_or(0)
    }

    fn find_suffix(&self, s: &str) -> usize {
        self.suffix.search(s, 0).map_or(0, |(start, end)| end - start)
    }

    /// Python's `finditer`: non-overlapping leftmost matches.
    fn find_infix(&self, s: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < s.len() {
            let Some((start, end)) = self.infix.search(s, at) else { break };
            out.push((start, end));
            at = if end > start { end } else { end + s[end..].chars().next().map_or(1, char::len_utf8) };
        }
        out
    }

    fn is_special(&self, s: &str, with_special_cases: bool) -> bool {
        with_special_cases && self.specials.contains_key(s)
    }

    fn push_special(&self, base: usize, s: &str, out: &mut Vec<Token>) {
        let mut at = base;
        for len in &self.specials[s] {
            out.push(Token { start: at, end: at + len });
            at += len;
        }
    }

    /// spaCy's `_tokenize_affixes` followed (when `with_special_cases`) by `_apply_special_cases`.
    fn tokenize(&self, text: &str, with_special_cases: bool, out: &mut Vec<Token>) {
        out.clear();
        for_each_span(text, |start, end, whitespace| {
            self.tokenize_span(text, start, end, whitespace, with_special_cases, out)
        });
    }

    fn tokenize_span(
        &self,
        text: &str,
        start: usize,
        end: usize,
        whitespace: bool,
        with_special_cases: bool,
        out: &mut Vec<Token>,
    ) {
        let span = &text[start..end];
        if whitespace {
            out.push(Token { start, end });
            return;
        }
        if self.is_special(span, with_special_cases) {
            self.push_special(start, span, out);
            return;
        }
        let first = out.len();
        self.split_and_attach(text, start, end, with_special_cases, out);
        if with_special_cases && out.len() - first > 1 {
            self.apply_special_cases(text, first, out);
        }
    }

    /// `_split_affixes` + `_attach_tokens` on `text[start..end]`.
    fn split_and_attach(
        &self,
        text: &str,
        mut start: usize,
        mut end: usize,
        with_special_cases: bool,
        out: &mut Vec<Token>,
    ) {
        let mut suffixes: Vec<Token> = Vec::new();
        let mut last_size = usize::MAX;
        while start < end && end - start != last_size {
            let string = &text[start..end];
            if self.is_special(string, with_special_cases) {
                break;
            }
            last_size = end - start;
            let pre_len = self.find_prefix(string);
            if pre_len != 0 {
                let minus_pre = &string[pre_len..];
                if !minus_pre.is_empty() && self.is_special(minus_pre, with_special_cases) {
                    out.push(Token { start, end: start + pre_len });
                    start += pre_len;
                    break;
                }
            }
            let suf_len = self.find_suffix(&string[pre_len..]);
            if suf_len != 0 {
                let minus_suf = &string[..string.len() - suf_len];
                if !minus_suf.is_empty() && self.is_special(minus_suf, with_special_cases) {
                    suffixes.push(Token { start: end - suf_len, end });
                    end -= suf_len;
                    break;
                }
            }
            if pre_len != 0 && suf_len != 0 && pre_len + suf_len <= string.len() {
                out.push(Token { start, end: start + pre_len });
                suffixes.push(Token { start: end - suf_len, end });
                start += pre_len;
                end -= suf_len;
            } else if pre_len != 0 {
                out.push(Token { start, end: start + pre_len });
                start += pre_len;
            } else if suf_len != 0 {
                suffixes.push(Token { start: end - suf_len, end });
                end -= suf_len;
            }
        }
        if start < end {
            let string = &text[start..end];
            if self.is_special(string, with_special_cases) {
                self.push_special(start, string, out);
            } else if string.contains('.') && self.url.is_match(string).unwrap_or(false) {
                // (spaCy's URL pattern needs a dot: in the host name or the IP address)
                out.push(Token { start, end });
            } else {
                let mut at = 0;
                for (infix_start, infix_end) in self.find_infix(string) {
                    if infix_start == 0 {
                        continue;
                    }
                    if infix_start != at {
                        out.push(Token { start: start + at, end: start + infix_start });
                    }
                    if infix_start != infix_end {
                        out.push(Token { start: start + infix_start, end: start + infix_end });
                    }
                    at = infix_end;
                }
                if at < string.len() {
                    out.push(Token { start: start + at, end });
                }
            }
        }
        out.extend(suffixes.into_iter().rev());
    }

    /// spaCy's `_apply_special_cases` within one whitespace-delimited span (tokens `out[first..]`):
    /// token sequences equal to a special case's affix split are replaced by the special case's pieces,
    /// longest matches first.
    fn apply_special_cases(&self, text: &str, first: usize, out: &mut Vec<Token>) {
        let toks = &out[first..];
        let mut matches: Vec<(usize, usize)> = Vec::new();
        for i in 0..toks.len() {
            let Some(patterns) = self.matcher.get(&text[toks[i].start..toks[i].end]) else { continue };
            for pattern in patterns {
                let n = pattern.len();
                if i + n <= toks.len()
                    && pattern.iter().zip(&toks[i..i + n]).all(|(p, t)| *p == text[t.start..t.end])
                {
                    matches.push((i, i + n));
                }
            }
        }
        if matches.is_empty() {
            return;
        }
        // `_filter_special_spans`: sorted by length, then by start descending, and taken from the end
        // (longest first, leftmost first among equals), no overlaps.
        matches.sort_by_key(|&(s, e)| (e - s, std::cmp::Reverse(s)));
        matches.dedup();
        let mut seen = vec![false; toks.len()];
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for &(s, e) in matches.iter().rev() {
            if !seen[s] && !seen[e - 1] {
                kept.push((s, e));
            }
            seen[s..e].iter_mut().for_each(|x| *x = true);
        }
        kept.sort_unstable();
        let mut rebuilt = Vec::with_capacity(toks.len());
        let mut i = 0;
        for (s, e) in kept {
            rebuilt.extend_from_slice(&toks[i..s]);
            let (a, b) = (toks[s].start, toks[e - 1].end);
            let span = &text[a..b];
            if self.specials.contains_key(span) {
                self.push_special(a, span, &mut rebuilt);
            } else {
                rebuilt.extend_from_slice(&toks[s..e]);
            }
            i = e;
        }
        rebuilt.extend_from_slice(&toks[i..]);
        out.truncate(first);
        out.extend(rebuilt);
    }
}

/// The spans spaCy's `_tokenize_affixes` hands on: runs of non-whitespace and of whitespace, where a
/// single space right after a non-whitespace run is not a span of its own (it is that token's
/// trailing space).
fn for_each_span(text: &str, mut f: impl FnMut(usize, usize, bool)) {
    let Some(first) = text.chars().next() else { return };
    let mut in_ws = py_isspace(first);
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (c, len) = if b < 0x80 {
            (b as char, 1)
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c, c.len_utf8())
        };
        if py_isspace(c) != in_ws {
            if start < i {
                f(start, i, in_ws);
            }
            start = if c == ' ' { i + 1 } else { i };
            in_ws = !in_ws;
        }
        i += len;
    }
    if start < text.len() {
        f(start, text.len(), in_ws);
    }
}

/// Letters only, or ASCII digits only: no affix rule applies to such a word (every prefix, suffix and
/// infix needs a symbol or punctuation, or letters after a digit).
fn is_plain(span: &str) -> bool {
    !span.is_empty() && (span.chars().all(char::is_alphabetic) || span.bytes().all(|b| b.is_ascii_digit()))
}

/// spaCy's blank English tokenizer. Cheap to create (the rules are shared); each instance keeps its
/// own cache of recent spans, so keep one per task.
pub struct EnglishTokenizer {
    rules: Arc<Rules>,
    cache: HashMap<Box<str>, Box<[(u32, u32)]>>,
    /// A small direct-mapped cache in front of `cache` for short spans, key and pieces inline: a hit
    /// reads one slot instead of a map's control bytes, bucket, key and value. Allocated on first use.
    recent: Vec<ShortSpan>,
    scratch: Vec<Token>,
}

const CACHE_LIMIT: usize = 100_000;

/// Slots of the direct-mapped front cache (a power of two).
const RECENT_SLOTS: usize = 1 << 14;
/// Longest span (bytes) and most pieces a front-cache slot holds.
const SHORT_BYTES: usize = 22;
const SHORT_PIECES: usize = 3;

/// One front-cache slot: the span's bytes and its pieces' (start, end) offsets.
#[derive(Clone, Copy, Default)]
struct ShortSpan {
    len: u8,
    pieces: u8,
    key: [u8; SHORT_BYTES],
    offsets: [(u8, u8); SHORT_PIECES],
}

impl ShortSpan {
    fn slot(span: &str) -> usize {
        use std::hash::{BuildHasher, Hasher};
        let mut h = crate::hash::FxBuildHasher::default().build_hasher();
        h.write(span.as_bytes());
        (h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT_SLOTS.trailing_zeros())) as usize
    }

    fn holds(&self, span: &str) -> bool {
        self.len as usize == span.len() && self.len > 0 && &self.key[..span.len()] == span.as_bytes()
    }

    /// A slot for `span` split at `offsets`, if both fit.
    fn new(span: &str, offsets: &[(u32, u32)]) -> Option<ShortSpan> {
        if span.is_empty() || span.len() > SHORT_BYTES || offsets.len() > SHORT_PIECES {
            return None;
        }
        let mut slot = ShortSpan { len: span.len() as u8, pieces: offsets.len() as u8, ..Default::default() };
        slot.key[..span.len()].copy_from_slice(span.as_bytes());
        for (o, &(a, b)) in slot.offsets.iter_mut().zip(offsets) {
            *o = (a as u8, b as u8);
        }
        Some(slot)
    }
}

impl Default for EnglishTokenizer {
    fn default() -> Self {
        EnglishTokenizer::new()
    }
}

impl EnglishTokenizer {
    /// A tokenizer (the bundled rules are compiled on first use in the process).
    pub fn new() -> EnglishTokenizer {
        EnglishTokenizer {
            rules: rules(),
            cache: HashMap::default(),
            recent: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Tokenizes `text` into `out` (cleared first), whitespace tokens included.
    pub fn tokenize_into(&mut self, text: &str, out: &mut Vec<Token>) {
        out.clear();
        for_each_span(text, |start, end, whitespace| self.span(text, start, end, whitespace, out));
    }

    /// The tokens of `text`.
    pub fn tokenize(&mut self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.tokenize_into(text, &mut out);
        out
    }

    fn span(&mut self, text: &str, start: usize, end: usize, whitespace: bool, out: &mut Vec<Token>) {
        if whitespace {
            out.push(Token { start, end });
            return;
        }
        let span = &text[start..end];
        // Words of letters only, and numbers of digits only, meet no affix rule (every prefix, suffix
        // and infix needs a symbol or punctuation, or letters after a digit): only a special case can
        // split them.
        if is_plain(span)
            && (!self.rules.may_be_plain_special(span) || !self.rules.specials.contains_key(span))
        {
            out.push(Token { start, end });
            return;
        }
        if self.recent.is_empty() {
            // Allocated on first use: creating a tokenizer stays cheap.
            self.recent = vec![ShortSpan::default(); RECENT_SLOTS];
        }
        let slot = (span.len() <= SHORT_BYTES).then(|| ShortSpan::slot(span));
        if let Some(slot) = slot {
            let short = &self.recent[slot];
            if short.holds(span) {
                out.extend(
                    short.offsets[..short.pieces as usize]
                        .iter()
                        .map(|&(s, e)| Token { start: start + s as usize, end: start + e as usize }),
                );
                return;
            }
        }
        if let Some(cached) = self.cache.get(span) {
            out.extend(
                cached.iter().map(|&(s, e)| Token { start: start + s as usize, end: start + e as usize }),
            );
            if let (Some(slot), Some(short)) = (slot, ShortSpan::new(span, cached)) {
                self.recent[slot] = short;
            }
            return;
        }
        self.scratch.clear();
        self.rules.tokenize_span(text, start, end, false, true, &mut self.scratch);
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        let relative: Box<[(u32, u32)]> =
            self.scratch.iter().map(|t| ((t.start - start) as u32, (t.end - start) as u32)).collect();
        if let (Some(slot), Some(short)) = (slot, ShortSpan::new(span, &relative)) {
            self.recent[slot] = short;
        }
        self.cache.insert(span.into(), relative);
        out.extend_from_slice(&self.scratch);
    }
}

/// Whether spaCy's sentencizer surely finds a single sentence in `text`, told without tokenizing: a
/// sentence starts after a single-character sentence-punctuation token only when a token follows that
/// is not punctuation, so text without such a character, or with nothing but punctuation after the
/// first one, is one sentence whatever its tokens.
pub fn surely_one_sentence(text: &str) -> bool {
    let rules = rules();
    match text.char_indices().find(|(_, c)| rules.sentence_punct.contains(c)) {
        None => true,
        Some((i, c)) => is_unicode_punct(&text[i + c.len_utf8()..]),
    }
}

/// spaCy's `sentencizer` over tokens: a sentence ends after a run of sentence punctuation, when a token
/// follows that is neither punctuation nor sentence punctuation. Returns (start, end) byte offsets of
/// each sentence (spaCy's `sent.start_char`, `sent.end_char`).
pub fn sentence_spans(text: &str, tokens: &[Token]) -> Vec<(usize, usize)> {
    let rules = rules();
    let mut starts = Vec::new();
    if tokens.is_empty() {
        return Vec::new();
    }
    starts.push(0);
    let mut seen_period = false;
    for (i, t) in tokens.iter().enumerate() {
        let s = &text[t.start..t.end];
        let mut chars = s.chars();
        let in_punct_chars = match (chars.next(), chars.next()) {
            (Some(c), None) => rules.sentence_punct.contains(&c),
            _ => false,
        };
        if seen_period && !in_punct_chars && !is_unicode_punct(s) {
            starts.push(i);
            seen_period = false;
        } else if in_punct_chars {
            seen_period = true;
        }
    }
    starts.dedup();
    let mut spans = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(tokens.len());
        spans.push((tokens[s].start, tokens[e - 1].end));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let toks = EnglishTokenizer::new().tokenize(text);
        toks.iter().map(|t| &text[t.start..t.end]).collect()
    }

    /// Expected splits produced by spaCy 3.8.18's `spacy.blank("en")` (see `cargo xtask spacy-data`).
    #[test]
    fn splits_like_spacy() {
        let cases: &[(&str, &[&str])] = &[
            ("gonna", &["gon", "na"]),
            ("I cannot", &["I", "can", "not"]),
            ("don't", &["do", "n't"]),
            ("Mr. Smith", &["Mr.", "Smith"]),
            ("10km", &["10", "km"]),
            ("$3.50", &["$", "3.50"]),
            ("(hello)", &["(", "hello", ")"]),
            ("well-known", &["well", "-", "known"]),
            ("hello...", &["hello", "..."]),
            ("U.S.", &["U.S."]),
            ("end.", &["end", "."]),
            ("a  b", &["a", " ", "b"]),
            ("https://example.com/a?b=c", &["https://example.com/a?b=c"]),
            ("😀😀", &["😀", "😀"]),
            ("it's", &["it", "'s"]),
        ];
        for (text, want) in cases {
            assert_eq!(words(text), *want, "{text:?}");
        }
    }
}
