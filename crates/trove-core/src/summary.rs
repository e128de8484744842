//! The summary-statistics machinery of DataTrove's `pipeline/stats` (`BaseStats`): per-document
//! metrics aggregated by group (`summary`, `histogram`, `fqdn`, `suffix`) and written to
//! `{output_folder}/{group}/{stat}/{rank:05}.json` in DataTrove's layout, so its `StatsMerger` and tools
//! read them. Plugin crates implement [`ExtractStats`] (doc, word, line, ... stats in `trove-filters`,
//! token stats in `trove-tokenize`) and wrap it in a [`SummaryStats`] step.

use crate::domain::{lenient_netloc, SuffixTrie};
use crate::hash::FxBuildHasher;
use crate::stats::{MetricStats, Num};
use crate::text::py_len;
use crate::{open_storage, Context, Document, Error, Result, Step, Storage};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;

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

impl StatsOutput {
    /// Problems `trove validate` reports: unknown group names.
    pub fn check(&self, problems: &mut Vec<String>) {
        for g in self.groups_to_compute.iter().flatten() {
            if let Err(e) = Group::parse(g) {
                problems.push(e.to_string());
            }
        }
    }
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

/// Computes a document's metrics, in a fixed order: what a stats step adds to [`SummaryStats`].
pub trait ExtractStats: Send + 'static {
    /// The metric names, in the order [`ExtractStats::extract`] appends their values.
    fn names(&self) -> Vec<String>;

    /// Appends `doc`'s metric values to `out`, one per name.
    fn extract(&mut self, doc: &Document, out: &mut Vec<Num>) -> Result<()>;

    /// Appends the values of every document of a batch, in order (`names().len()` per document).
    /// Override when a batch is cheaper than its documents.
    fn extract_batch(&mut self, docs: &[Document], out: &mut Vec<Num>) -> Result<()> {
        for doc in docs {
            self.extract(doc, out)?;
        }
        Ok(())
    }
}

/// Python's `str(round(value, digits))`.
fn round_key(value: Num, digits: i32) -> String {
    match value {
        Num::Int(i) if digits >= 0 => i.to_string(),
        Num::Int(i) => {
            // int.__round__ with negative digits: to a multiple of 10^-digits, ties to even.
            let Some(unit) = 10i64.checked_pow(digits.unsigned_abs()) else { return "0".into() };
            let (mut q, r) = (i.div_euclid(unit), i.rem_euclid(unit));
            if 2 * r > unit || (2 * r == unit && q % 2 != 0) {
                q += 1;
            }
            (q * unit).to_string()
        }
        Num::Float(x) => {
            let rounded: f64 = if digits >= 0 {
                format!("{x:.prec$}", prec = digits as usize).parse().unwrap_or(x)
            } else {
                let scale = 10f64.powi(-digits);
                (x / scale).round_ties_even() * scale
            };
            let mut s = String::new();
            crate::pyjson::py_float(&mut s, rounded);
            s
        }
    }
}

/// One group's counters: `stat name -> key -> MetricStats`, in DataTrove's insertion order.
type Counters = IndexMap<String, Keyed, FxBuildHasher>;

/// One stat's values by key (Fx-hashed: looked up for every document and stat).
type Keyed = IndexMap<String, MetricStats, FxBuildHasher>;

/// A stats step: DataTrove's `BaseStats.run`.
pub struct SummaryStats<E> {
    extractor: E,
    names: Vec<String>,
    /// `{stat}__chars`, `{stat}__tokens` per stat.
    suffixed: Vec<[String; 2]>,
    groups: Vec<Group>,
    digits: i32,
    top_k: TopKConfig,
    storage: Arc<dyn Storage>,
    counters: Vec<Counters>,
    /// Per group, the counters' index of each (stat, suffix) once inserted.
    slots: Vec<Vec<[Option<usize>; 3]>>,
    suffixes: &'static SuffixTrie,
    values: Vec<Num>,
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
        let names = extractor.names();
        Ok(SummaryStats {
            suffixed: names.iter().map(|n| [format!("{n}__chars"), format!("{n}__tokens")]).collect(),
            slots: vec![vec![[None; 3]; names.len()]; groups.len()],
            names,
            extractor,
            counters: vec![Counters::default(); groups.len()],
            groups,
            digits: output.histogram_round_digits,
            top_k: output.top_k_config.clone(),
            storage: open_storage(&output.output_folder)?,
            suffixes: SuffixTrie::icann(),
            values: Vec::new(),
        })
    }

    /// `counters[group][stat (+ suffix)][key] += value`, DataTrove's `MetricStatsDict.__iadd__`: a
    /// number becomes a one-value `MetricStats` (unit "task") merged in.
    fn add(&mut self, g: usize, stat: usize, suffix: usize, key: &str, value: Num) {
        let counters = &mut self.counters[g];
        let slot = match self.slots[g][stat][suffix] {
            Some(i) => i,
            None => {
                let name = if suffix == 0 { &self.names[stat] } else { &self.suffixed[stat][suffix - 1] };
                let (i, _) = counters.insert_full(name.clone(), Keyed::default());
                self.slots[g][stat][suffix] = Some(i);
                i
            }
        };
        let Some((_, keyed)) = counters.get_index_mut(slot) else { return };
        let mut single = MetricStats { unit: "task".into(), ..MetricStats::default() };
        single.update(value);
        match keyed.get_mut(key) {
            Some(entry) => *entry = entry.merge(&single),
            None => {
                keyed.insert(key.to_string(), MetricStats::default().merge(&single));
            }
        }
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

    /// Adds one document whose metric values are `values[at..at + names.len()]`.
    fn aggregate(&mut self, mut doc: Document, at: usize, cx: &mut Context<'_>) {
        let n = self.names.len();
        let chars = py_len(&doc.text) as i64;
        let tokens = doc.metadata.get("token_count").and_then(|v| v.as_i64());
        for g in 0..self.groups.len() {
            let group = self.groups[g];
            let host = match group {
                Group::Fqdn | Group::Suffix => match self.url_part(&mut doc, group) {
                    Some(host) => Some(host),
                    None => {
                        cx.stats.incr("missing_url");
                        continue;
                    }
                },
                _ => None,
            };
            for stat in 0..n {
                let value = self.values[at + stat];
                match group {
                    Group::Summary => self.add(g, stat, 0, "summary", value),
                    Group::Histogram => {
                        let key = round_key(value, self.digits);
                        self.add(g, stat, 0, &key, Num::Int(1));
                        self.add(g, stat, 1, &key, Num::Int(chars));
                        if let Some(t) = tokens {
                            self.add(g, stat, 2, &key, Num::Int(t));
                        }
                    }
                    Group::Fqdn | Group::Suffix => {
                        self.add(g, stat, 0, host.as_deref().unwrap_or_default(), value)
                    }
                }
            }
        }
        for (name, value) in self.names.iter().zip(&self.values[at..at + n]) {
            let v: serde_json::Value = match *value {
                Num::Int(i) => i.into(),
                Num::Float(x) => x.into(),
            };
            doc.metadata.insert(name.clone(), v);
        }
        cx.emit(doc);
    }
}

impl<E: ExtractStats> Step for SummaryStats<E> {
    fn process(&mut self, doc: Document, cx: &mut Context<'_>) -> Result<()> {
        self.values.clear();
        self.extractor.extract(&doc, &mut self.values)?;
        self.aggregate(doc, 0, cx);
        Ok(())
    }

    fn process_batch(&mut self, batch: &mut Vec<Document>, cx: &mut Context<'_>) -> Result<()> {
        self.values.clear();
        self.extractor.extract_batch(batch, &mut self.values)?;
        let n = self.names.len();
        for (i, doc) in batch.drain(..).enumerate() {
            self.aggregate(doc, i * n, cx);
        }
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
                let text = crate::pyjson::to_python_json_compact(&serde_json::Value::Object(out));
                file.write_all(text.as_bytes()).map_err(|e| Error::io(&path, e))?;
                cx.outputs.stage(file);
            }
        }
        Ok(())
    }
}
