//! Summary statistics steps (DataTrove's `pipeline/stats`): per-document metrics aggregated by group
//! (`summary`, `histogram`, `fqdn`, `suffix`) and written to `{output_folder}/{group}/{stat}/{rank:05}.json`
//! in DataTrove's layout, so its `StatsMerger` and tools read them. So far: `doc_stats`.

use crate::url::{lenient_netloc, SuffixTrie};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;
use trove_core::stats::{MetricStats, Num};
use trove_core::text::{in_punctuation_string, py_isalpha, py_isdigit, py_isspace, py_len};
use trove_core::{
    open_storage, BuildContext, Context, Document, Error, Result, Stage, Step, StepConfig, Storage,
};

/// DataTrove's `TopKConfig`: groups truncated to their `top_k` most frequent keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopKConfig {
    /// Groups to truncate (`fqdn`, `suffix`).
    pub top_k_groups: Vec<String>,
    /// Keys kept per group.
    pub top_k: usize,
}

impl Default for TopKConfig {
    fn default() -> Self {
        TopKConfig { top_k_groups: vec!["fqdn".into(), "suffix".into()], top_k: 100_000 }
    }
}

fn three() -> i32 {
    3
}

/// The parameters every stats step shares (DataTrove's `BaseStats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsOutput {
    /// Where the per-task stats go.
    pub output_folder: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Summary,
    Histogram,
    Fqdn,
    Suffix,
}

impl Group {
    fn name(self) -> &'static str {
        match self {
            Group::Summary => "summary",
            Group::Histogram => "histogram",
            Group::Fqdn => "fqdn",
            Group::Suffix => "suffix",
        }
    }

    fn parse(name: &str) -> Result<Group> {
        Ok(match name {
            "summary" => Group::Summary,
            "histogram" => Group::Histogram,
            "fqdn" => Group::Fqdn,
            "suffix" => Group::Suffix,
            other => return Err(Error::config(format!("unknown stats group `{other}`"))),
        })
    }
}

/// Computes one document's metrics, in a fixed order.
pub trait ExtractStats: Send + 'static {
    /// The metrics of `doc` (name, value).
    fn extract(&mut self, doc: &Document) -> Vec<(&'static str, Num)>;
}

/// Python's `str(round(value, digits))`.
fn round_key(value: Num, digits: i32) -> String {
    match value {
        Num::Int(i) => i.to_string(),
        Num::Float(x) => {
            let rounded: f64 = if digits >= 0 {
                format!("{x:.prec$}", prec = digits as usize).parse().unwrap_or(x)
            } else {
                let scale = 10f64.powi(-digits);
                (x / scale).round_ties_even() * scale
            };
            let mut s = String::new();
            trove_core::pyjson::py_float(&mut s, rounded);
            s
        }
    }
}

/// A stats step: DataTrove's `BaseStats.run`.
pub struct SummaryStats<E> {
    extractor: E,
    groups: Vec<Group>,
    digits: i32,
    top_k: TopKConfig,
    storage: Arc<dyn Storage>,
    counters: Vec<IndexMap<String, IndexMap<String, MetricStats>>>,
    suffixes: &'static SuffixTrie,
}

impl<E: ExtractStats> SummaryStats<E> {
    /// A step writing to `output.output_folder`.
    pub fn new(extractor: E, output: &StatsOutput) -> Result<SummaryStats<E>> {
        let groups: Vec<Group> = match &output.groups_to_compute {
            Some(names) if !names.is_empty() => {
                names.iter().map(|n| Group::parse(n)).collect::<Result<_>>()?
            }
            _ => vec![Group::Summary, Group::Histogram, Group::Fqdn, Group::Suffix],
        };
        Ok(SummaryStats {
            extractor,
            counters: vec![IndexMap::new(); groups.len()],
            groups,
            digits: output.histogram_round_digits,
            top_k: output.top_k_config.clone(),
            storage: open_storage(&output.output_folder)?,
            suffixes: SuffixTrie::icann(),
        })
    }

    fn add(&mut self, group: usize, stat: String, key: String, value: Num) {
        // DataTrove adds a number to a MetricStats through `from_dict(number)`, whose unit is "task".
        let mut single = MetricStats { unit: "task".into(), ..MetricStats::default() };
        single.update(value);
        let entry = self.counters[group].entry(stat).or_default().entry(key).or_default();
        *entry = entry.merge(&single);
    }

    /// The host part DataTrove keys `fqdn`/`suffix` on, cached in the metadata as DataTrove caches it.
    fn url_part(&self, doc: &mut Document, group: Group) -> Option<String> {
        let key = group.name();
        if let Some(v) = doc.metadata.get(key).and_then(|v| v.as_str()) {
            return Some(v.to_string());
        }
        let url = doc.metadata.get("url").and_then(|v| v.as_str())?;
        let parts = self.suffixes.extract(&lenient_netloc(url));
        let value = if group == Group::Fqdn { parts.fqdn() } else { parts.suffix.clone() };
        doc.metadata.insert(key.into(), value.clone().into());
        Some(value)
    }
}

impl<E: ExtractStats> Step for SummaryStats<E> {
    fn process(&mut self, mut doc: Document, cx: &mut Context<'_>) -> Result<()> {
        let stats = self.extractor.extract(&doc);
        let chars = py_len(&doc.text) as i64;
        let tokens = doc.metadata.get("token_count").and_then(|v| v.as_i64());
        for g in 0..self.groups.len() {
            let group = self.groups[g];
            for &(stat, value) in &stats {
                match group {
                    Group::Summary => self.add(g, stat.into(), "summary".into(), value),
                    Group::Histogram => {
                        let key = round_key(value, self.digits);
                        self.add(g, stat.into(), key.clone(), Num::Int(1));
                        self.add(g, format!("{stat}__chars"), key.clone(), Num::Int(chars));
                        if let Some(t) = tokens {
                            self.add(g, format!("{stat}__tokens"), key, Num::Int(t));
                        }
                    }
                    Group::Fqdn | Group::Suffix => match self.url_part(&mut doc, group) {
                        Some(key) => self.add(g, stat.into(), key, value),
                        None => cx.stats.incr("missing_url"),
                    },
                }
            }
        }
        for (stat, value) in stats {
            let v: serde_json::Value = match value {
                Num::Int(i) => i.into(),
                Num::Float(x) => x.into(),
            };
            doc.metadata.insert(stat.into(), v);
        }
        cx.emit(doc);
        Ok(())
    }

    fn finish(&mut self, cx: &mut Context<'_>) -> Result<()> {
        let rank = cx.task.rank;
        for (g, group) in self.groups.iter().enumerate() {
            let top_k = self.top_k.top_k_groups.iter().any(|n| n == group.name());
            let mut keys: Option<Vec<String>> = None;
            for (stat, values) in &self.counters[g] {
                let mut out = serde_json::Map::new();
                if top_k {
                    // heapq.nlargest by n, computed once per group from its first stat.
                    let chosen = keys.get_or_insert_with(|| {
                        let mut v: Vec<(usize, &String, u64)> =
                            values.iter().enumerate().map(|(i, (k, m))| (i, k, m.n)).collect();
                        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
                        v.into_iter().take(self.top_k.top_k).map(|(_, k, _)| k.clone()).collect()
                    });
                    for k in chosen.iter() {
                        let m = values.get(k).cloned().unwrap_or_default();
                        out.insert(k.clone(), m.to_value());
                    }
                } else {
                    for (k, m) in values {
                        out.insert(k.clone(), m.to_value());
                    }
                }
                let path = format!("{}/{stat}/{rank:05}.json", group.name());
                let mut file = self.storage.create(&path)?;
                let text = trove_core::pyjson::to_python_json_compact(&serde_json::Value::Object(out));
                file.write_all(text.as_bytes()).map_err(|e| Error::io(&path, e))?;
                cx.outputs.stage(file);
            }
        }
        Ok(())
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
        for g in self.0.groups_to_compute.iter().flatten() {
            if let Err(e) = Group::parse(g) {
                problems.push(e.to_string());
            }
        }
    }
}

/// The document metrics.
pub struct DocStats;

fn ratio(count: usize, len: usize) -> Num {
    Num::Float(if len == 0 { 0.0 } else { count as f64 / len as f64 })
}

impl ExtractStats for DocStats {
    fn extract(&mut self, doc: &Document) -> Vec<(&'static str, Num)> {
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
        vec![
            ("length", Num::Int(len as i64)),
            ("white_space_ratio", ratio(space, len)),
            ("non_alpha_digit_ratio", ratio(other, len)),
            ("digit_ratio", ratio(digit, len)),
            ("uppercase_ratio", ratio(upper, len)),
            ("elipsis_ratio", ratio(ellipsis, len)),
            ("punctuation_ratio", ratio(punct, len)),
        ]
    }
}
