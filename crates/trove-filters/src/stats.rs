//! The summary-statistics steps of DataTrove's `pipeline/stats` over trove-core's
//! [`SummaryStats`] machinery: `doc_stats`, `word_stats`, `line_stats`, `paragraph_stats`,
//! `sentence_stats`, `lang_stats`; and `stats_merger`.

use crate::fasttext::FastText;
use crate::language::load_shared;
use crate::quality::{find_duplicates, STOP_WORDS};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use trove_core::hash::FxHashSet;
use trove_core::stats::{MetricStats, Num};
use trove_core::summary::{ExtractStats, StatsOutput, SummaryStats, TopKConfig};
use trove_core::text::{
    in_punctuation_string, py_isalpha, py_isdigit, py_isspace, py_istitle, py_isupper, py_len, py_strip,
    splitlines, WordSplitter,
};
use trove_core::{
    open_storage, BuildContext, Document, Error, Result, Source, SourceContext, Stage, StepConfig, Storage,
};

fn three() -> i32 {
    3
}

/// A stats step's configuration: its own parameters, then the ones every stats step shares
/// (DataTrove's `BaseStats`: `output_folder`, `groups_to_compute`, `histogram_round_digits`,
/// `top_k_config`).
macro_rules! stats_config {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $fty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Where the per-task stats go: `{output_folder}/{group}/{stat}/{rank:05}.json`.
            pub output_folder: String,
            $($(#[$fmeta])* pub $field: $fty,)*
            /// Groups (`summary`, `histogram`, `fqdn`, `suffix`); all four by default.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub groups_to_compute: Option<Vec<String>>,
            /// Digits histogram keys are rounded to.
            #[serde(default = "three")]
            pub histogram_round_digits: i32,
            /// Truncation of the `fqdn` and `suffix` groups.
            #[serde(default)]
            pub top_k_config: TopKConfig,
        }

        impl $name {
            fn output(&self) -> StatsOutput {
                StatsOutput {
                    output_folder: self.output_folder.clone(),
                    groups_to_compute: self.groups_to_compute.clone(),
                    histogram_round_digits: self.histogram_round_digits,
                    top_k_config: self.top_k_config.clone(),
                }
            }
        }
    };
}

/// Python's `a or default` for an optional list: `None` and `[]` both give the default.
fn or_default(list: &Option<Vec<usize>>, default: &[usize]) -> Vec<usize> {
    match list {
        Some(l) if !l.is_empty() => l.clone(),
        _ => default.to_vec(),
    }
}

fn english() -> String {
    "en".into()
}

/// `count / total` as a float, 0.0 for an empty total (DataTrove's `_safe_divide`).
fn safe_divide(count: usize, total: usize) -> Num {
    Num::Float(if total == 0 { 0.0 } else { count as f64 / total as f64 })
}

/// `{prefix}{threshold}` for each threshold.
fn named(prefix: &str, thresholds: &[usize]) -> Vec<String> {
    thresholds.iter().map(|t| format!("{prefix}{t}")).collect()
}

/// The fraction of `lengths` that are `<= t` (short) and `>= t` (long), per threshold.
fn length_ratios(lengths: &[usize], short: &[usize], long: &[usize], out: &mut Vec<Num>) {
    for &t in short {
        out.push(safe_divide(lengths.iter().filter(|&&l| l <= t).count(), lengths.len()));
    }
    for &t in long {
        out.push(safe_divide(lengths.iter().filter(|&&l| l >= t).count(), lengths.len()));
    }
}

/// `doc_stats`: DataTrove's `DocStats`: `length`, `white_space_ratio`, `non_alpha_digit_ratio`,
/// `digit_ratio`, `uppercase_ratio`, `elipsis_ratio`, `punctuation_ratio` (the [`StatsOutput`]
/// parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocStatsConfig(pub StatsOutput);

impl StepConfig for DocStatsConfig {
    const TYPE: &'static str = "doc_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        Ok(Stage::step("📊 - STATS: 📜 Doc stats", SummaryStats::new(DocStats, &self.0)?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.0.check(problems);
    }
}

/// The document metrics.
pub struct DocStats;

use safe_divide as ratio;

impl ExtractStats for DocStats {
    fn names(&self) -> Vec<String> {
        [
            "length",
            "white_space_ratio",
            "non_alpha_digit_ratio",
            "digit_ratio",
            "uppercase_ratio",
            "elipsis_ratio",
            "punctuation_ratio",
        ]
        .map(String::from)
        .to_vec()
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        let text = doc.text.as_str();
        let (mut len, mut space, mut other, mut digit, mut upper, mut punct) = (0, 0, 0, 0, 0, 0);
        for c in text.chars() {
            len += 1;
            space += usize::from(py_isspace(c));
            let d = py_isdigit(c);
            digit += usize::from(d);
            other += usize::from(!py_isalpha(c) && !d);
            upper += usize::from(c.is_uppercase());
            punct += usize::from(in_punctuation_string(c));
        }
        // findall of "..." or "…", non-overlapping, left to right: characters matched.
        let (mut ellipsis, mut rest) = (0, text);
        while let Some(i) = rest.find(['.', '…']) {
            if rest[i..].starts_with("...") {
                ellipsis += 3;
                rest = &rest[i + 3..];
            } else if rest[i..].starts_with('…') {
                ellipsis += 1;
                rest = &rest[i + '…'.len_utf8()..];
            } else {
                rest = &rest[i + 1..];
            }
        }
        out.extend([
            Num::Int(len as i64),
            ratio(space, len),
            ratio(other, len),
            ratio(digit, len),
            ratio(upper, len),
            ratio(ellipsis, len),
            ratio(punct, len),
        ]);
        Ok(())
    }
}

stats_config! {
    /// `word_stats`: DataTrove's `WordStats`: `n_words`, `avg_word_length`, `avg_words_per_line`,
    /// `short_word_ratio_{n}`, `long_word_ratio_{n}`, `type_token_ratio`, `uppercase_word_ratio`,
    /// `capitalized_word_ratio`, `stop_word_ratio`, over the language's word splitter.
    WordStatsConfig {
        /// Words counted by `stop_word_ratio` (Gopher's by default).
        #[serde(default = "default_stop_words")]
        pub stop_words: Vec<String>,
        /// Thresholds of `short_word_ratio_{n}` (words of at most n characters); `[3]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub short_word_max_chars_threshold: Option<Vec<usize>>,
        /// Thresholds of `long_word_ratio_{n}` (words of at least n characters); `[7]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub long_word_max_chars_threshold: Option<Vec<usize>>,
        /// The language whose word splitter is used.
        #[serde(default = "english")]
        pub language: String,
    }
}

fn default_stop_words() -> Vec<String> {
    STOP_WORDS.iter().map(|w| w.to_string()).collect()
}

impl StepConfig for WordStatsConfig {
    const TYPE: &'static str = "word_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let stats = WordStats {
            splitter: WordSplitter::new(&self.language),
            stop_words: self.stop_words.iter().cloned().collect(),
            short: or_default(&self.short_word_max_chars_threshold, &[3]),
            long: or_default(&self.long_word_max_chars_threshold, &[7]),
        };
        Ok(Stage::step("📊 - STATS: 🈂️ Word stats", SummaryStats::new(stats, &self.output())?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.output().check(problems);
    }
}

/// The word metrics.
pub struct WordStats {
    splitter: WordSplitter,
    stop_words: FxHashSet<String>,
    short: Vec<usize>,
    long: Vec<usize>,
}

impl ExtractStats for WordStats {
    fn names(&self) -> Vec<String> {
        let mut names = vec!["n_words".to_string(), "avg_word_length".into(), "avg_words_per_line".into()];
        names.extend(named("short_word_ratio_", &self.short));
        names.extend(named("long_word_ratio_", &self.long));
        for n in ["type_token_ratio", "uppercase_word_ratio", "capitalized_word_ratio", "stop_word_ratio"] {
            names.push(n.into());
        }
        names
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        let words = self.splitter.words(&doc.text);
        let n = words.len();
        let lengths: Vec<usize> = words.iter().map(|w| py_len(w)).collect();
        let lines = splitlines(&doc.text).count();
        out.push(Num::Int(n as i64));
        out.push(Num::Float(if n == 0 { 0.0 } else { lengths.iter().sum::<usize>() as f64 / n as f64 }));
        out.push(safe_divide(n, lines));
        length_ratios(&lengths, &self.short, &self.long, out);
        let distinct: FxHashSet<&str> = words.iter().copied().collect();
        out.push(safe_divide(distinct.len(), n));
        out.push(safe_divide(words.iter().filter(|w| py_isupper(w)).count(), n));
        out.push(safe_divide(words.iter().filter(|w| py_istitle(w)).count(), n));
        out.push(safe_divide(words.iter().filter(|w| self.stop_words.contains(**w)).count(), n));
        Ok(())
    }
}

stats_config! {
    /// `line_stats`: DataTrove's `LineStats`: `n_lines`, `avg_line_length`,
    /// `short_line_ratio_chars_{n}`, `long_line_ratio_chars_{n}`, `lines_ending_with_terminal_mark_ratio`,
    /// `bullet_point_lines_ratio`, `line_duplicates`, `line_char_duplicates`. Lines come from the
    /// `lines` metadata when a step left it there, else from splitting the text on `\n`.
    LineStatsConfig {
        /// Thresholds of `short_line_ratio_chars_{n}` (lines of at most n characters); `[10, 30]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_k_chars_per_line_tresholds: Option<Vec<usize>>,
        /// Thresholds of `long_line_ratio_chars_{n}` (lines of at least n characters); `[2000, 10000]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub min_k_chars_per_line_thresholds: Option<Vec<usize>>,
        /// Leave blank lines out of every metric but `n_lines`.
        #[serde(default)]
        pub ignore_empty_lines: bool,
    }
}

impl StepConfig for LineStatsConfig {
    const TYPE: &'static str = "line_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let stats = LineStats {
            short: self.max_k_chars_per_line_tresholds.clone().unwrap_or_else(|| vec![10, 30]),
            long: self.min_k_chars_per_line_thresholds.clone().unwrap_or_else(|| vec![2000, 10000]),
            ignore_empty_lines: self.ignore_empty_lines,
        };
        Ok(Stage::step("📊 - STATS: 🎼 Line stats", SummaryStats::new(stats, &self.output())?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.output().check(problems);
    }
}

/// The line metrics.
pub struct LineStats {
    short: Vec<usize>,
    long: Vec<usize>,
    ignore_empty_lines: bool,
}

impl ExtractStats for LineStats {
    fn names(&self) -> Vec<String> {
        let mut names = vec!["n_lines".to_string(), "avg_line_length".into()];
        names.extend(named("short_line_ratio_chars_", &self.short));
        names.extend(named("long_line_ratio_chars_", &self.long));
        for n in ["lines_ending_with_terminal_mark_ratio", "bullet_point_lines_ratio", "line_duplicates"] {
            names.push(n.into());
        }
        names.push("line_char_duplicates".into());
        names
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        // `doc.metadata.get("lines") or doc.text.split("\n")`
        let from_meta: Option<Vec<&str>> = doc
            .metadata
            .get("lines")
            .and_then(|v| v.as_array())
            .filter(|a| !a.is_empty())
            .map(|a| a.iter().map(|v| v.as_str().unwrap_or_default()).collect());
        let mut lines = from_meta.unwrap_or_else(|| doc.text.split('\n').collect());
        let n_lines = lines.len();
        if self.ignore_empty_lines {
            lines.retain(|l| !py_strip(l).is_empty());
        }
        let lengths: Vec<usize> = lines.iter().map(|l| py_len(l)).collect();
        let total_chars: usize = lengths.iter().sum();
        let (dups, dup_chars) = find_duplicates(lines.iter().copied());
        let n = lines.len();
        out.push(Num::Int(n_lines as i64));
        out.push(safe_divide(total_chars, n));
        length_ratios(&lengths, &self.short, &self.long, out);
        let terminal = lines.iter().filter(|l| l.ends_with(['.', '?', '!', '"', '\''])).count();
        out.push(safe_divide(terminal, n));
        let bullets =
            lines.iter().filter(|l| py_strip(l).chars().next().is_some_and(|c| "-*•".contains(c))).count();
        out.push(safe_divide(bullets, n));
        out.push(safe_divide(dups, n));
        out.push(safe_divide(dup_chars, total_chars));
        Ok(())
    }
}

stats_config! {
    /// `paragraph_stats`: DataTrove's `ParagraphStats` over the non-blank parts between `\n\n`:
    /// `n_paragraphs`, `avg_paragraph_length`, `short_paragraph_ratio_{n}`, `long_paragraph_ratio_{n}`,
    /// `paragraph_duplicates`, `paragraph_char_duplicates`.
    ParagraphStatsConfig {
        /// Thresholds of `short_paragraph_ratio_{n}` (at most n characters); `[100]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub short_paragraph_max_chars_threshold: Option<Vec<usize>>,
        /// Thresholds of `long_paragraph_ratio_{n}` (at least n characters); `[1000]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub long_paragraph_max_chars_threshold: Option<Vec<usize>>,
        /// Accepted for DataTrove's signature; blank paragraphs are always left out, as in DataTrove.
        #[serde(default)]
        pub ignore_empty_paragraphs: bool,
    }
}

impl StepConfig for ParagraphStatsConfig {
    const TYPE: &'static str = "paragraph_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let stats = ParagraphStats {
            short: or_default(&self.short_paragraph_max_chars_threshold, &[100]),
            long: or_default(&self.long_paragraph_max_chars_threshold, &[1000]),
        };
        Ok(Stage::step("📊 - STATS: 📄 Paragraph stats", SummaryStats::new(stats, &self.output())?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.output().check(problems);
    }
}

/// The paragraph metrics.
pub struct ParagraphStats {
    short: Vec<usize>,
    long: Vec<usize>,
}

impl ExtractStats for ParagraphStats {
    fn names(&self) -> Vec<String> {
        let mut names = vec!["n_paragraphs".to_string(), "avg_paragraph_length".into()];
        names.extend(named("short_paragraph_ratio_", &self.short));
        names.extend(named("long_paragraph_ratio_", &self.long));
        names.push("paragraph_duplicates".into());
        names.push("paragraph_char_duplicates".into());
        names
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        let paragraphs: Vec<&str> = doc.text.split("\n\n").filter(|p| !py_strip(p).is_empty()).collect();
        let n = paragraphs.len();
        let lengths: Vec<usize> = paragraphs.iter().map(|p| py_len(p)).collect();
        let total_chars: usize = lengths.iter().sum();
        let (dups, dup_chars) = find_duplicates(paragraphs.iter().copied());
        out.push(Num::Int(n as i64));
        out.push(safe_divide(total_chars, n));
        length_ratios(&lengths, &self.short, &self.long, out);
        out.push(safe_divide(dups, n));
        out.push(safe_divide(dup_chars, total_chars));
        Ok(())
    }
}

stats_config! {
    /// `sentence_stats`: DataTrove's `SentenceStats` over the language's sentence splitter (blank
    /// sentences left out): `n_sentences`, `avg_sentence_length`, `short_sentence_ratio_{n}`,
    /// `long_sentence_ratio_{n}`.
    SentenceStatsConfig {
        /// Thresholds of `short_sentence_ratio_{n}` (at most n characters); `[20]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub short_sentence_max_chars_threshold: Option<Vec<usize>>,
        /// Thresholds of `long_sentence_ratio_{n}` (at least n characters); `[75]` by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub long_sentence_max_chars_threshold: Option<Vec<usize>>,
        /// The language whose sentence splitter is used.
        #[serde(default = "english")]
        pub language: String,
    }
}

impl StepConfig for SentenceStatsConfig {
    const TYPE: &'static str = "sentence_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let stats = SentenceStats {
            splitter: WordSplitter::new(&self.language),
            short: or_default(&self.short_sentence_max_chars_threshold, &[20]),
            long: or_default(&self.long_sentence_max_chars_threshold, &[75]),
        };
        Ok(Stage::step("📊 - STATS: 🈂️ Sentence stats", SummaryStats::new(stats, &self.output())?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.output().check(problems);
    }
}

/// The sentence metrics.
pub struct SentenceStats {
    splitter: WordSplitter,
    short: Vec<usize>,
    long: Vec<usize>,
}

impl ExtractStats for SentenceStats {
    fn names(&self) -> Vec<String> {
        let mut names = vec!["n_sentences".to_string(), "avg_sentence_length".into()];
        names.extend(named("short_sentence_ratio_", &self.short));
        names.extend(named("long_sentence_ratio_", &self.long));
        names
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        let lengths: Vec<usize> = self.splitter.sent_tokenize(&doc.text).iter().map(|s| py_len(s)).collect();
        out.push(Num::Int(lengths.len() as i64));
        out.push(safe_divide(lengths.iter().sum(), lengths.len()));
        length_ratios(&lengths, &self.short, &self.long, out);
        Ok(())
    }
}

stats_config! {
    /// `lang_stats`: DataTrove's `LangStats`: `fasttext_{language}`, the language's lid.176 score
    /// (taken from the `language_score` metadata when `language` already names it).
    LangStatsConfig {
        /// The language scored.
        pub language: String,
        /// trove: the local lid.176 model (`lid.176.bin` or `.ftz`); DataTrove downloads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub model_path: Option<String>,
    }
}

impl StepConfig for LangStatsConfig {
    const TYPE: &'static str = "lang_stats";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let path = self.model_path.as_deref().ok_or_else(|| {
            Error::config("lang_stats needs `model_path`, a local lid.176.bin or lid.176.ftz: trove does not download models")
        })?;
        let stats = LangStats { model: load_shared(Path::new(path))?, language: self.language.clone() };
        Ok(Stage::step("📊 - STATS: 🎤 Language stats", SummaryStats::new(stats, &self.output())?))
    }

    fn check(&self, problems: &mut Vec<String>) {
        self.output().check(problems);
        match &self.model_path {
            None => problems.push("lang_stats needs `model_path`, a local lid.176.bin or lid.176.ftz".into()),
            Some(p) if !Path::new(p).is_file() => problems.push(format!("model_path `{p}` is not a file")),
            Some(_) => {}
        }
    }
}

/// The language metric.
pub struct LangStats {
    model: Arc<FastText>,
    language: String,
}

impl ExtractStats for LangStats {
    fn names(&self) -> Vec<String> {
        vec![format!("fasttext_{}", self.language)]
    }

    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()> {
        let meta = &doc.metadata;
        let labelled = meta.get("language").and_then(|v| v.as_str()) == Some(self.language.as_str());
        let score = match meta.get("language_score").filter(|_| labelled) {
            Some(v) if v.is_i64() => Num::Int(v.as_i64().unwrap_or_default()),
            Some(v) => Num::Float(v.as_f64().unwrap_or_default()),
            None => {
                let preds = self.model.predict(&doc.text.replace('\n', " "), None, 0.0);
                Num::Float(preds.iter().find(|(l, _)| *l == self.language).map_or(0.0, |p| f64::from(p.1)))
            }
        };
        out.push(score);
        Ok(())
    }
}

/// `stats_merger`: DataTrove's `StatsMerger`: merges the per-task files of every
/// `{group}/{stat}/` folder under `input_folder` into `{output_folder}/{group}/{stat}/metric.json`,
/// keeping the `top_k` keys of the `top_k_groups`. Folders are shared among the tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsMergerConfig {
    /// The stats steps' `output_folder`.
    pub input_folder: String,
    /// Where the merged `metric.json` files go (often the same folder).
    pub output_folder: String,
    /// Delete the per-task files once merged.
    #[serde(default)]
    pub remove_input: bool,
    /// Truncation of the `fqdn` and `suffix` groups.
    #[serde(default)]
    pub top_k_config: TopKConfig,
}

impl StepConfig for StatsMergerConfig {
    const TYPE: &'static str = "stats_merger";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        let merger = StatsMerger {
            config: self.clone(),
            input: open_storage(&self.input_folder)?,
            output: open_storage(&self.output_folder)?,
        };
        Ok(Stage::source("📊 - STATS: 🔗 Merging stats", merger))
    }
}

/// The runtime stats merger.
pub struct StatsMerger {
    config: StatsMergerConfig,
    input: Arc<dyn Storage>,
    output: Arc<dyn Storage>,
}

/// Whether a file name is DataTrove's per-task `NNNNN.json`.
fn is_rank_file(name: &str) -> bool {
    name.strip_suffix(".json").is_some_and(|n| n.len() == 5 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Merges per-task stats files (`key -> MetricStats` JSON objects), in order, as DataTrove's
/// `MetricStatsDict` does; `top_k` keeps the keys with the largest `n` (first seen wins ties).
pub fn merge_stat_files(
    storage: &dyn Storage,
    files: &[String],
    top_k: Option<usize>,
) -> Result<indexmap::IndexMap<String, MetricStats>> {
    let mut merged: indexmap::IndexMap<String, MetricStats> = indexmap::IndexMap::new();
    for file in files {
        let text = trove_core::storage::read_to_string(storage, file)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Format(format!("{}: not a stats file: {e}", storage.resolve(file))))?;
        let serde_json::Value::Object(map) = value else {
            return Err(Error::Format(format!("{}: not a JSON object", storage.resolve(file))));
        };
        for (key, item) in &map {
            let stat = MetricStats::from_value(item)
                .map_err(|e| Error::Format(format!("{}: key `{key}`: {e}", storage.resolve(file))))?;
            let entry = merged.entry(key.clone()).or_default();
            *entry = entry.merge(&stat);
        }
    }
    if let Some(k) = top_k {
        let mut order: Vec<(usize, u64)> = merged.values().enumerate().map(|(i, m)| (i, m.n)).collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut slots: Vec<Option<(String, MetricStats)>> = merged.into_iter().map(Some).collect();
        merged = order.into_iter().take(k).filter_map(|(i, _)| slots[i].take()).collect();
    }
    Ok(merged)
}

impl Source for StatsMerger {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let files = self.input.list("", true)?;
        let parent = |f: &str| f.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let dirs: std::collections::BTreeSet<String> = files.iter().map(|f| parent(f)).collect();
        // Leaf folders: with files and without sub-folders holding any.
        let leaves: Vec<&String> = dirs
            .iter()
            .filter(|d| {
                !d.is_empty() && !dirs.iter().any(|o| o.len() > d.len() && o.starts_with(&format!("{d}/")))
            })
            .collect();
        let (rank, world) = (cx.task.rank, cx.task.world_size);
        for folder in leaves.into_iter().skip(rank).step_by(world.max(1)) {
            let inputs: Vec<String> = files
                .iter()
                .filter(|f| parent(f) == *folder && is_rank_file(f.rsplit('/').next().unwrap_or_default()))
                .cloned()
                .collect();
            if inputs.is_empty() {
                // Only a merged file left (an earlier run with `remove_input`): keep it.
                continue;
            }
            let group = folder.rsplit_once('/').map_or("", |(g, _)| g);
            let group = group.rsplit('/').next().unwrap_or_default();
            let top_k = self.config.top_k_config.top_k_groups.iter().any(|g| g == group);
            let merged =
                merge_stat_files(&*self.input, &inputs, top_k.then_some(self.config.top_k_config.top_k))?;
            let object: serde_json::Map<String, serde_json::Value> =
                merged.iter().map(|(k, m)| (k.clone(), m.to_value())).collect();
            let path = format!("{folder}/metric.json");
            let text = trove_core::pyjson::to_python_json_compact(&serde_json::Value::Object(object));
            let mut out = self.output.create(&path)?;
            out.write_all(text.as_bytes()).map_err(|e| Error::io(self.output.resolve(&path), e))?;
            out.commit()?;
            cx.stats.update("merged_files", inputs.len() as i64);
            if self.config.remove_input {
                for f in &inputs {
                    self.input.remove(f)?;
                }
            }
        }
        Ok(())
    }
}
