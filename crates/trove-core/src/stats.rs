//! Per-step statistics with DataTrove's `MetricStats` semantics and JSON layout.
//!
//! A task records one [`Stats`] per pipeline step; [`PipelineStats`] is the list of them, written to
//! `stats/{rank:05}.json` and merged (positionally, as DataTrove does) into `stats.json`. The JSON is
//! DataTrove's: a metric that only counted is written as a bare number, others as an object with
//! `total`, `n`, `mean`, `variance`, `std_dev`, `min`, `max`, `unit` where they carry information.

use crate::error::{Error, Result};
use crate::pyjson;
use indexmap::IndexMap;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::time::Duration;

/// A number recorded in a metric. DataTrove keeps Python ints and floats apart in its JSON, so trove does
/// too: a metric updated only with integers writes `total`, `min` and `max` as integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// An integer value.
    Int(i64),
    /// A floating point value.
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

macro_rules! num_from_int {
    ($($t:ty),*) => {$(impl From<$t> for Num { fn from(v: $t) -> Num { Num::Int(v as i64) } })*};
}
num_from_int!(i32, i64, u32, u64, usize);
impl From<f64> for Num {
    fn from(v: f64) -> Num {
        Num::Float(v)
    }
}

/// Running statistics of one metric (DataTrove's `MetricStats`): Welford's online mean and variance,
/// merged with the parallel algorithm.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStats {
    /// Sum of all values.
    pub total: f64,
    /// Number of values.
    pub n: u64,
    /// Mean of the values.
    pub mean: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of squared differences from the mean (Welford's M2).
    pub running_variance: f64,
    /// What one value counts: `doc` (default), `task`, `input_file`, `bytes`, ...
    pub unit: Cow<'static, str>,
    /// True while every value was an integer.
    pub integral: bool,
}

impl Default for MetricStats {
    fn default() -> Self {
        MetricStats {
            total: 0.0,
            n: 0,
            mean: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            running_variance: 0.0,
            unit: Cow::Borrowed("doc"),
            integral: true,
        }
    }
}

impl MetricStats {
    /// Adds one value (DataTrove's `update`).
    pub fn update(&mut self, value: impl Into<Num>) {
        let value = value.into();
        let x = value.as_f64();
        self.integral &= matches!(value, Num::Int(_));
        self.total += x;
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        if self.n > 1 {
            self.running_variance += delta * (x - self.mean);
        }
    }

    /// Adds `count` values that sum to `total` and are known only by their sum (a batch timed as a
    /// whole): merged as `count` equal values of `total / count`.
    pub fn update_many(&mut self, total: f64, count: u64) {
        if count == 0 {
            return;
        }
        let each = total / count as f64;
        let batch = MetricStats {
            total,
            n: count,
            mean: each,
            min: each,
            max: each,
            running_variance: 0.0,
            unit: self.unit.clone(),
            integral: false,
        };
        *self = self.merge(&batch);
    }

    /// Sample variance (`n - 1` in the denominator).
    pub fn variance(&self) -> f64 {
        if self.n > 1 {
            self.running_variance / (self.n - 1) as f64
        } else {
            0.0
        }
    }

    /// Sample standard deviation.
    pub fn std_dev(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Parallel merge of two metrics (DataTrove's `__add__`).
    pub fn merge(&self, other: &MetricStats) -> MetricStats {
        let n = self.n + other.n;
        let (mut mean, mut running_variance) = (0.0, 0.0);
        if n > 0 {
            mean = (self.n as f64 * self.mean + other.n as f64 * other.mean) / n as f64;
            let delta = self.mean - other.mean;
            running_variance = self.running_variance
                + other.running_variance
                + (delta * delta * self.n as f64 * other.n as f64) / n as f64;
        }
        MetricStats {
            total: self.total + other.total,
            n,
            mean,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            running_variance,
            unit: if self.unit != "doc" { self.unit.clone() } else { other.unit.clone() },
            integral: self.integral && other.integral,
        }
    }

    fn number(&self, x: f64) -> Value {
        num_value(x, self.integral)
    }

    /// DataTrove's `to_dict`: a bare number when only `total` is informative.
    pub fn to_value(&self) -> Value {
        if self.total == 0.0 {
            return json!(0);
        }
        let mut data = Map::new();
        data.insert("total".into(), self.number(self.total));
        if self.n > 1 && self.n as f64 != self.total {
            data.insert("n".into(), json!(self.n));
        }
        if self.mean != 1.0 {
            data.insert("mean".into(), json!(self.mean));
        }
        if self.mean != self.max || self.mean != self.min {
            data.insert("mean".into(), json!(self.mean));
            data.insert("variance".into(), json!(self.variance()));
            data.insert("std_dev".into(), json!(self.std_dev()));
            data.insert("min".into(), self.number(self.min));
            data.insert("max".into(), self.number(self.max));
        }
        if self.unit != "doc" {
            data.insert("unit".into(), json!(self.unit));
        }
        if data.len() == 1 {
            data.remove("total").unwrap_or(Value::Null)
        } else {
            Value::Object(data)
        }
    }

    /// Every field spelled out, for per-task stats files: DataTrove's `from_dict` reads it back exactly
    /// (it ignores `_running_variance`, which lets trove merge task files bit for bit like in memory),
    /// where the compact [`MetricStats::to_value`] form loses `n` for counts.
    pub fn to_value_full(&self) -> Value {
        let mut data = Map::new();
        data.insert("total".into(), self.number(self.total));
        data.insert("n".into(), json!(self.n));
        data.insert("mean".into(), json!(self.mean));
        data.insert("variance".into(), json!(self.variance()));
        data.insert("std_dev".into(), json!(self.std_dev()));
        if self.n > 0 {
            data.insert("min".into(), self.number(self.min));
            data.insert("max".into(), self.number(self.max));
        }
        data.insert("unit".into(), json!(self.unit));
        data.insert("_running_variance".into(), json!(self.running_variance));
        Value::Object(data)
    }

    /// DataTrove's `from_dict`.
    pub fn from_value(value: &Value) -> Result<MetricStats> {
        let bad = || Error::Format(format!("not a metric: {value}"));
        match value {
            Value::Number(total) => {
                let t = total.as_f64().ok_or_else(bad)?;
                Ok(MetricStats {
                    total: t,
                    n: 1,
                    mean: t,
                    min: t,
                    max: t,
                    running_variance: 0.0,
                    unit: Cow::Borrowed("task"),
                    integral: !total.is_f64(),
                })
            }
            Value::Object(map) => {
                let get = |k: &str| map.get(k).and_then(Value::as_f64);
                let is_int = |k: &str| map.get(k).is_none_or(|v| v.is_i64() || v.is_u64());
                let total = get("total").ok_or_else(bad)?;
                let mean = get("mean").unwrap_or(1.0);
                let n = match map.get("n").and_then(Value::as_u64) {
                    Some(n) => n,
                    None if mean == 1.0 => total as u64,
                    None => 1,
                };
                let variance = get("variance").unwrap_or(0.0);
                let running_variance =
                    get("_running_variance").unwrap_or(variance * n.saturating_sub(1) as f64);
                Ok(MetricStats {
                    total,
                    n,
                    mean,
                    min: get("min").unwrap_or(if n == 0 { f64::INFINITY } else { mean }),
                    max: get("max").unwrap_or(if n == 0 { f64::NEG_INFINITY } else { mean }),
                    running_variance,
                    unit: Cow::Owned(map.get("unit").and_then(Value::as_str).unwrap_or("doc").to_string()),
                    integral: is_int("total") && is_int("min") && is_int("max"),
                })
            }
            _ => Err(bad()),
        }
    }
}

fn num_value(x: f64, integral: bool) -> Value {
    if integral && x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// Time spent in a step (DataTrove's `TimingStats`): a [`MetricStats`] of seconds plus the per-task
/// aggregate (`global_*`) that merging across tasks computes.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingStats {
    /// Seconds per unit (document, batch, ...).
    pub metric: MetricStats,
    /// Mean over tasks of each task's total time.
    pub global_mean: f64,
    /// Number of tasks merged.
    pub n_tasks: u64,
    /// Fastest task.
    pub global_min: f64,
    /// Slowest task.
    pub global_max: f64,
    /// Standard deviation of task times.
    pub global_std_dev: f64,
}

impl Default for TimingStats {
    fn default() -> Self {
        TimingStats {
            metric: MetricStats { integral: false, ..MetricStats::default() },
            global_mean: 0.0,
            n_tasks: 1,
            global_min: 0.0,
            global_max: 0.0,
            global_std_dev: 0.0,
        }
    }
}

impl TimingStats {
    /// Records `elapsed` spent on `count` units.
    pub fn record(&mut self, elapsed: Duration, count: u64) {
        self.metric.update_many(elapsed.as_secs_f64(), count);
        if self.n_tasks == 1 {
            self.global_mean = self.metric.total;
            self.global_min = self.metric.total;
            self.global_max = self.metric.total;
        }
    }

    /// Merges two timings (DataTrove's `TimingStats.__add__`).
    pub fn merge(&self, other: &TimingStats) -> TimingStats {
        let n_tasks = self.n_tasks + other.n_tasks;
        let global_mean = (self.n_tasks as f64 * self.global_mean + other.n_tasks as f64 * other.global_mean)
            / n_tasks as f64;
        let s1 = self.global_std_dev.powi(2) * (self.n_tasks as f64 - 1.0);
        let s2 = other.global_std_dev.powi(2) * (other.n_tasks as f64 - 1.0);
        let s = s1
            + s2
            + (self.global_mean - other.global_mean).powi(2) * self.n_tasks as f64 * other.n_tasks as f64
                / n_tasks as f64;
        TimingStats {
            metric: self.metric.merge(&other.metric),
            global_mean,
            n_tasks,
            global_min: self.global_min.min(other.global_min),
            global_max: self.global_max.max(other.global_max),
            global_std_dev: (s / (n_tasks as f64 - 1.0)).sqrt(),
        }
    }

    /// DataTrove's JSON for timing stats, `*_human` fields included.
    pub fn to_value(&self) -> Value {
        self.value_with(self.metric.to_value())
    }

    /// Like [`TimingStats::to_value`] with every metric field spelled out (per-task files).
    pub fn to_value_full(&self) -> Value {
        self.value_with(self.metric.to_value_full())
    }

    fn value_with(&self, mut data: Value) -> Value {
        let m = &self.metric;
        if let Value::Object(map) = &mut data {
            map.insert("total_human".into(), json!(human_duration(m.total, Unit::Second)));
            map.insert("mean_human".into(), json!(human_duration(m.mean, Unit::Milli)));
            map.insert("std_dev_human".into(), json!(human_duration(m.std_dev(), Unit::Milli)));
            map.insert("min_human".into(), json!(human_duration(m.min, Unit::Milli)));
            map.insert("max_human".into(), json!(human_duration(m.max, Unit::Milli)));
            if self.n_tasks != 1 {
                map.insert("global_mean".into(), json!(self.global_mean));
                map.insert("global_mean_human".into(), json!(human_duration(self.global_mean, Unit::Second)));
                map.insert("global_min".into(), json!(self.global_min));
                map.insert("global_min_human".into(), json!(human_duration(self.global_min, Unit::Second)));
                map.insert("global_max".into(), json!(self.global_max));
                map.insert("global_max_human".into(), json!(human_duration(self.global_max, Unit::Second)));
                map.insert("global_std_dev".into(), json!(self.global_std_dev));
                map.insert(
                    "global_std_dev_human".into(),
                    json!(human_duration(self.global_std_dev, Unit::Second)),
                );
            }
        }
        data
    }

    /// DataTrove's `TimingStats.from_dict`.
    pub fn from_value(value: &Value) -> Result<TimingStats> {
        let metric = MetricStats::from_value(value)?;
        let total = metric.total;
        let get = |k: &str| value.get(k).and_then(Value::as_f64);
        Ok(TimingStats {
            global_mean: get("global_mean").unwrap_or(total),
            global_min: get("global_min").unwrap_or(total),
            global_max: get("global_max").unwrap_or(total),
            global_std_dev: get("global_std_dev").unwrap_or(0.0),
            n_tasks: 1,
            metric,
        })
    }
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Unit {
    Milli,
    Second,
}

/// `humanize.precisedelta(seconds, minimum_unit=...)` as DataTrove calls it for the `*_human` fields:
/// whole days, hours and minutes, then the minimum unit rounded to two decimals ("1 minute and 2.50
/// seconds", "0 milliseconds").
fn human_duration(seconds: f64, min_unit: Unit) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return format!("{seconds} seconds");
    }
    // timedelta keeps whole microseconds.
    let total_us = (seconds * 1e6).round();
    let mut days = (total_us / 86_400e6).floor();
    let mut rest_us = total_us - days * 86_400e6;
    let mut hours = (rest_us / 3_600e6).floor();
    rest_us -= hours * 3_600e6;
    let mut minutes = (rest_us / 60e6).floor();
    rest_us -= minutes * 60e6;
    let round2 = |x: f64| format!("{x:.2}").parse::<f64>().unwrap_or(x);
    let (mut secs, mut msecs) = match min_unit {
        Unit::Second => (round2(rest_us / 1e6), 0.0),
        Unit::Milli => {
            let s = (rest_us / 1e6).floor();
            (s, round2((rest_us - s * 1e6) / 1000.0))
        }
    };
    if msecs >= 1000.0 {
        msecs -= 1000.0;
        secs += 1.0;
    }
    if secs >= 60.0 {
        secs -= 60.0;
        minutes += 1.0;
    }
    if minutes >= 60.0 {
        minutes -= 60.0;
        hours += 1.0;
    }
    if hours >= 24.0 {
        hours -= 24.0;
        days += 1.0;
    }
    let mut units = vec![("day", days, false), ("hour", hours, false), ("minute", minutes, false)];
    units.push(("second", secs, min_unit == Unit::Second));
    if min_unit == Unit::Milli {
        units.push(("millisecond", msecs, true));
    }
    let mut texts: Vec<String> = Vec::new();
    for (name, value, is_min) in units {
        if value > 0.0 || (texts.is_empty() && is_min) {
            let count = if 1.0 < value && value < 2.0 { 2.0 } else { value.trunc() };
            let plural = if count == 1.0 { "" } else { "s" };
            if is_min && value.fract() > 0.0 {
                texts.push(format!("{value:.2} {name}{plural}"));
            } else {
                texts.push(format!("{} {name}{plural}", value.trunc()));
            }
        }
    }
    match texts.len() {
        0 => String::new(),
        1 => texts.remove(0),
        _ => {
            let last = texts.pop().unwrap_or_default();
            format!("{} and {last}", texts.join(", "))
        }
    }
}

/// The stats of one step in one task (DataTrove's `Stats`): a name, time spent and named metrics in
/// the order they were first recorded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// The step's display name, e.g. `🔻 - FILTER: 🕵 Regex`. Merging requires equal names.
    pub name: String,
    /// Time spent inside the step.
    pub time_stats: TimingStats,
    /// Named metrics: `total`, `forwarded`, `dropped`, `dropped_<reason>`, `doc_len`, ...
    pub stats: IndexMap<String, MetricStats>,
}

impl Stats {
    /// Empty stats for a step.
    pub fn new(name: impl Into<String>) -> Stats {
        Stats { name: name.into(), ..Stats::default() }
    }

    /// The metric `key`, created on first use.
    pub fn metric(&mut self, key: &str) -> &mut MetricStats {
        let index = match self.stats.get_index_of(key) {
            Some(index) => index,
            None => self.stats.insert_full(key.to_string(), MetricStats::default()).0,
        };
        &mut self.stats[index]
    }

    /// Adds 1 to the count `key` (DataTrove's `stat_update(key)`).
    pub fn incr(&mut self, key: &str) {
        self.metric(key).update(1);
    }

    /// Records `value` for `key` (DataTrove's `stat_update(key, value=...)`), unit `doc`.
    pub fn update(&mut self, key: &str, value: impl Into<Num>) {
        self.metric(key).update(value);
    }

    /// Records `value` for `key` with an explicit unit.
    pub fn update_unit(&mut self, key: &str, value: impl Into<Num>, unit: &'static str) {
        let m = self.metric(key);
        m.unit = Cow::Borrowed(unit);
        m.update(value);
    }

    /// DataTrove's `update_doc_stats`: `doc_len` in characters, `doc_len_tokens` when the document has a
    /// `token_count`.
    pub fn doc_stats(&mut self, doc: &crate::Document) {
        self.update("doc_len", doc.text.chars().count());
        if let Some(tokens) = doc.metadata.get("token_count").and_then(Value::as_i64) {
            if tokens != 0 {
                self.update("doc_len_tokens", tokens);
            }
        }
    }

    /// Merges the stats of the same step from two tasks.
    pub fn merge(&self, other: &Stats) -> Result<Stats> {
        if self.name != other.name {
            return Err(Error::Format(format!(
                "cannot merge stats of different steps: {:?} and {:?}",
                self.name, other.name
            )));
        }
        let mut stats = IndexMap::new();
        for (k, v) in self.stats.iter().chain(other.stats.iter()) {
            let merged = match stats.get(k) {
                Some(existing) => MetricStats::merge(existing, v),
                None => MetricStats::default().merge(v),
            };
            stats.insert(k.clone(), merged);
        }
        Ok(Stats { name: self.name.clone(), time_stats: self.time_stats.merge(&other.time_stats), stats })
    }

    /// DataTrove's JSON layout for one step.
    pub fn to_value(&self) -> Value {
        let stats: Map<String, Value> = self.stats.iter().map(|(k, v)| (k.clone(), v.to_value())).collect();
        json!({"name": self.name, "time_stats": self.time_stats.to_value(), "stats": stats})
    }

    /// DataTrove's layout with every metric field spelled out (see [`MetricStats::to_value_full`]).
    pub fn to_value_full(&self) -> Value {
        let stats: Map<String, Value> =
            self.stats.iter().map(|(k, v)| (k.clone(), v.to_value_full())).collect();
        json!({"name": self.name, "time_stats": self.time_stats.to_value_full(), "stats": stats})
    }

    /// Reads one step's stats from DataTrove's JSON layout.
    pub fn from_value(value: &Value) -> Result<Stats> {
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Format("step stats without a name".into()))?;
        let time_stats = match value.get("time_stats") {
            Some(v) => TimingStats::from_value(v)?,
            None => TimingStats::default(),
        };
        let mut stats = IndexMap::new();
        if let Some(Value::Object(map)) = value.get("stats") {
            for (k, v) in map {
                stats.insert(k.clone(), MetricStats::from_value(v)?);
            }
        }
        if let Some(v) = value.get("doc_len_stats") {
            stats.insert("doc_len".to_string(), MetricStats::from_value(v)?);
        }
        Ok(Stats { name: name.to_string(), time_stats, stats })
    }
}

/// The stats of every step of a pipeline: what `stats/{rank:05}.json` and `stats.json` hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelineStats {
    /// One entry per step, in pipeline order.
    pub steps: Vec<Stats>,
}

impl PipelineStats {
    /// Merges two pipelines' stats step by step (DataTrove's `PipelineStats.__add__`). An empty side
    /// is the identity.
    pub fn merge(&self, other: &PipelineStats) -> Result<PipelineStats> {
        if self.steps.is_empty() {
            return Ok(other.clone());
        }
        if other.steps.is_empty() {
            return Ok(self.clone());
        }
        if self.steps.len() != other.steps.len() {
            return Err(Error::Format(format!(
                "cannot merge stats of pipelines with {} and {} steps",
                self.steps.len(),
                other.steps.len()
            )));
        }
        let steps = self.steps.iter().zip(&other.steps).map(|(a, b)| a.merge(b)).collect::<Result<_>>()?;
        Ok(PipelineStats { steps })
    }

    /// The JSON text DataTrove writes (`json.dumps(..., indent=4)`).
    pub fn to_json(&self) -> String {
        pyjson::to_python_json_pretty(&Value::Array(self.steps.iter().map(Stats::to_value).collect()))
    }

    /// The per-task file: DataTrove's layout with every metric field spelled out, so merging task
    /// files (in either tool) gives what merging in memory gives.
    pub fn to_json_full(&self) -> String {
        pyjson::to_python_json_pretty(&Value::Array(self.steps.iter().map(Stats::to_value_full).collect()))
    }

    /// Parses stats JSON written by trove or DataTrove.
    pub fn from_json(text: &str) -> Result<PipelineStats> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::Format(format!("stats JSON: {e}")))?;
        let items = value.as_array().ok_or_else(|| Error::Format("stats JSON is not a list".into()))?;
        Ok(PipelineStats { steps: items.iter().map(Stats::from_value).collect::<Result<_>>()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welford_matches_direct_computation() {
        let xs = [3.0, 7.0, 7.0, 19.0, 24.5];
        let mut m = MetricStats::default();
        xs.iter().for_each(|&x| m.update(x));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0;
        assert!((m.mean - mean).abs() < 1e-12);
        assert!((m.variance() - var).abs() < 1e-9);
        assert_eq!((m.min, m.max, m.n), (3.0, 24.5, 5));
    }

    #[test]
    fn merge_equals_sequential() {
        let (mut a, mut b, mut all) =
            (MetricStats::default(), MetricStats::default(), MetricStats::default());
        for i in 0..10 {
            let x = (i * i) as i64;
            if i % 3 == 0 { &mut a } else { &mut b }.update(x);
            all.update(x);
        }
        let merged = a.merge(&b);
        assert_eq!(merged.n, all.n);
        assert!((merged.variance() - all.variance()).abs() < 1e-9);
        assert_eq!(merged.to_value()["total"], all.to_value()["total"]);
    }

    #[test]
    fn to_value_layout() {
        let mut counts = MetricStats::default();
        (0..5).for_each(|_| counts.update(1));
        assert_eq!(counts.to_value(), json!(5));
        assert_eq!(MetricStats::default().to_value(), json!(0));
        let mut lens = MetricStats::default();
        lens.update(10);
        lens.update(20);
        assert_eq!(
            lens.to_value(),
            json!({"total": 30, "n": 2, "mean": 15.0, "variance": 50.0,
                   "std_dev": 50f64.sqrt(), "min": 10, "max": 20})
        );
        let mut files = MetricStats { unit: Cow::Borrowed("input_file"), ..Default::default() };
        files.update(7);
        assert_eq!(files.to_value(), json!({"total": 7, "mean": 7.0, "unit": "input_file"}));
    }

    #[test]
    fn round_trip_through_value() {
        let mut m = MetricStats::default();
        [4, 8, 15, 16, 23, 42].iter().for_each(|&x| m.update(x));
        let back = MetricStats::from_value(&m.to_value()).unwrap();
        assert_eq!(back.to_value(), m.to_value());
    }

    #[test]
    fn full_form_round_trips_exactly() {
        let mut counts = MetricStats::default();
        (0..7).for_each(|_| counts.update(1));
        let mut lens = MetricStats::default();
        [3, 1, 4, 1, 5, 9, 2, 6].iter().for_each(|&x| lens.update(x));
        for m in [counts, lens, MetricStats::default()] {
            assert_eq!(MetricStats::from_value(&m.to_value_full()).unwrap(), m);
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(1.234, Unit::Second), "1.23 seconds");
        assert_eq!(human_duration(75.5, Unit::Second), "1 minute and 15.50 seconds");
        assert_eq!(human_duration(0.0123, Unit::Milli), "12.30 milliseconds");
        // Values checked against humanize 4 as DataTrove 0.10.1 installs it.
        assert_eq!(human_duration(0.0038706, Unit::Second), "0 seconds");
        assert_eq!(human_duration(2.254e-6, Unit::Milli), "0 milliseconds");
        assert_eq!(human_duration(5.3294e-6, Unit::Milli), "0.01 milliseconds");
        assert_eq!(human_duration(3633.5, Unit::Second), "1 hour and 33.50 seconds");
    }
}
