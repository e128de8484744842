//! An XGBoost model evaluator: tree ensembles saved by XGBoost (≥ 1.0) as JSON or UBJSON
//! (`booster.save_model("m.json")` / `"m.ubj"`), evaluated the way XGBoost's CPU predictor does it —
//! `f32` features, `value < threshold` goes left, a missing value (`NaN`) follows the node's default
//! direction, leaf values summed in `f32` from the base margin, then the objective's transform.
//!
//! ```
//! use trove_pdf::xgboost::Booster;
//! // One tree: feature 0 < 0.5 → leaf -1.0, else leaf 1.0; missing goes right.
//! let model = r#"{"learner": {
//!   "learner_model_param": {"base_score": "5E-1", "num_feature": "1", "num_class": "0"},
//!   "objective": {"name": "binary:logistic"},
//!   "gradient_booster": {"name": "gbtree", "model": {"trees": [{
//!     "left_children": [1, -1, -1], "right_children": [2, -1, -1],
//!     "split_indices": [0, 0, 0], "split_conditions": [0.5, -1.0, 1.0],
//!     "default_left": [0, 0, 0], "split_type": [0, 0, 0]}]}}}}"#;
//! let booster = Booster::from_bytes(model.as_bytes()).unwrap();
//! assert!((booster.predict(&[0.0]) - 0.268_941_4).abs() < 1e-6);
//! assert!((booster.predict(&[f32::NAN]) - 0.731_058_6).abs() < 1e-6);
//! ```

use serde_json::{Map, Value};
use std::path::Path;

/// A model file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("XGBoost model: {0}")]
pub struct ModelError(String);

fn err<T>(message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError(message.into()))
}

/// What turns the summed margin into a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    /// `binary:logistic`, `reg:logistic`: the sigmoid.
    Sigmoid,
    /// `reg:squarederror` and the other identity-link regressions.
    Identity,
}

#[derive(Debug)]
struct Tree {
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<u32>,
    threshold: Vec<f32>,
    default_left: Vec<bool>,
    /// DART's per-tree weight (1 for gbtree).
    weight: f32,
}

impl Tree {
    fn leaf_value(&self, features: &[f32]) -> f32 {
        let mut node = 0usize;
        // Bounded by the node count: a malformed tree cannot loop.
        for _ in 0..self.left.len() {
            let left = self.left[node];
            if left < 0 {
                return self.threshold[node];
            }
            let value = features.get(self.feature[node] as usize).copied().unwrap_or(f32::NAN);
            let go_left = if value.is_nan() { self.default_left[node] } else { value < self.threshold[node] };
            node = if go_left { left as usize } else { self.right[node] as usize };
        }
        0.0
    }
}

/// A loaded tree ensemble.
#[derive(Debug)]
pub struct Booster {
    base_margin: f32,
    transform: Transform,
    trees: Vec<Tree>,
    num_feature: usize,
    objective: String,
}

impl Booster {
    /// Loads a `.json` or `.ubj` model file (UBJSON is recognised by its first byte, `{` followed by a
    /// length marker, whatever the extension).
    pub fn load(path: &Path) -> Result<Booster, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError(format!("{}: {e}", path.display())))?;
        Booster::from_bytes(&bytes).map_err(|e| ModelError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses a model from JSON or UBJSON bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Booster, ModelError> {
        let first = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let ubjson = first
            .is_some_and(|i| bytes[i] == b'{' && bytes.get(i + 1).is_some_and(|b| b"iUIlL}#$".contains(b)));
        let value = if ubjson {
            let mut reader = Ubjson { bytes, pos: 0 };
            reader.value()?
        } else {
            serde_json::from_slice(bytes).map_err(|e| ModelError(format!("not JSON or UBJSON: {e}")))?
        };
        Booster::from_value(&value)
    }

    fn from_value(model: &Value) -> Result<Booster, ModelError> {
        let learner = field(model, "learner")?;
        let param = field(learner, "learner_model_param")?;
        let num_class = param.get("num_class").map(number).transpose()?.unwrap_or(0.0);
        if num_class > 1.0 {
            return err(format!("{num_class} classes: only single-output models are supported"));
        }
        if param.get("num_target").map(number).transpose()?.unwrap_or(1.0) > 1.0 {
            return err("several targets: only single-output models are supported");
        }
        let objective = str_field(field(learner, "objective")?, "name")?.to_string();
        let transform = match objective.as_str() {
            "binary:logistic" | "reg:logistic" => Transform::Sigmoid,
            "reg:squarederror" | "reg:linear" | "reg:pseudohubererror" | "reg:absoluteerror" => {
                Transform::Identity
            }
            other => return err(format!("objective `{other}` is not supported")),
        };
        // XGBoost 3.1+ writes the intercept as a vector string, `[5E-1]`.
        let base_score = number(field(param, "base_score")?)? as f32;
        let base_margin = match transform {
            Transform::Sigmoid => {
                if !(base_score > 0.0 && base_score < 1.0) {
                    return err(format!("base_score {base_score} outside (0, 1) for {objective}"));
                }
                -(1.0f32 / base_score - 1.0f32).ln()
            }
            Transform::Identity => base_score,
        };
        let num_feature = number(field(param, "num_feature")?)? as usize;
        let booster = field(learner, "gradient_booster")?;
        let (gbtree, weights) = match str_field(booster, "name")? {
            "gbtree" => (booster, None),
            "dart" => (field(booster, "gbtree")?, Some(floats(field(booster, "weight_drop")?)?)),
            other => return err(format!("booster `{other}` is not supported (gbtree and dart are)")),
        };
        let trees_value = field(field(gbtree, "model")?, "trees")?
            .as_array()
            .ok_or_else(|| ModelError("`trees` is not an array".into()))?;
        let mut trees = Vec::with_capacity(trees_value.len());
        for (i, t) in trees_value.iter().enumerate() {
            let weight = match &weights {
                Some(w) => *w.get(i).ok_or_else(|| ModelError(format!("no weight_drop for tree {i}")))?,
                None => 1.0,
            };
            trees.push(tree(t, weight).map_err(|e| ModelError(format!("tree {i}: {}", e.0)))?);
        }
        Ok(Booster { base_margin, transform, trees, num_feature, objective })
    }

    /// The number of features the model was trained on.
    pub fn num_feature(&self) -> usize {
        self.num_feature
    }

    /// The number of trees.
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

    /// The objective's name (`binary:logistic`).
    pub fn objective(&self) -> &str {
        &self.objective
    }

    /// The summed margin of one row (`NaN` = missing; a row shorter than the model's features is
    /// missing the rest).
    pub fn predict_margin(&self, features: &[f32]) -> f32 {
        let mut sum = self.base_margin;
        for t in &self.trees {
            sum += t.weight * t.leaf_value(features);
        }
        sum
    }

    /// The prediction of one row: for `binary:logistic` the positive class's probability, as
    /// scikit-learn's `predict_proba(rows)[:, 1]`.
    pub fn predict(&self, features: &[f32]) -> f32 {
        let margin = self.predict_margin(features);
        match self.transform {
            Transform::Sigmoid => 1.0f32 / (1.0f32 + (-margin).exp()),
            Transform::Identity => margin,
        }
    }
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value, ModelError> {
    v.get(key).ok_or_else(|| ModelError(format!("missing `{key}`")))
}

fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, ModelError> {
    field(v, key)?.as_str().ok_or_else(|| ModelError(format!("`{key}` is not a string")))
}

/// A number, or a number written as a string (`"5E-1"`, `"[5E-1]"`, `"124"`).
fn number(v: &Value) -> Result<f64, ModelError> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| ModelError(format!("bad number {n}"))),
        Value::String(s) => {
            let t = s.trim().trim_start_matches('[').trim_end_matches(']');
            let first = t.split(',').next().unwrap_or("").trim();
            first.parse::<f64>().map_err(|_| ModelError(format!("bad number `{s}`")))
        }
        other => err(format!("expected a number, found {other}")),
    }
}

fn floats(v: &Value) -> Result<Vec<f32>, ModelError> {
    let a = v.as_array().ok_or_else(|| ModelError("expected an array of numbers".into()))?;
    a.iter().map(|x| number(x).map(|f| f as f32)).collect()
}

fn ints(v: &Value) -> Result<Vec<i64>, ModelError> {
    let a = v.as_array().ok_or_else(|| ModelError("expected an array of integers".into()))?;
    a.iter()
        .map(|x| match x {
            Value::Number(n) => n.as_i64().ok_or_else(|| ModelError(format!("bad integer {n}"))),
            Value::Bool(b) => Ok(i64::from(*b)),
            other => err(format!("expected an integer, found {other}")),
        })
        .collect()
}

fn tree(t: &Value, weight: f32) -> Result<Tree, ModelError> {
    let left = ints(field(t, "left_children")?)?;
    let right = ints(field(t, "right_children")?)?;
    let feature = ints(field(t, "split_indices")?)?;
    let threshold = floats(field(t, "split_conditions")?)?;
    let default_left = ints(field(t, "default_left")?)?;
    let n = left.len();
    if n == 0 {
        return err("no nodes");
    }
    if [right.len(), feature.len(), threshold.len(), default_left.len()].iter().any(|&l| l != n) {
        return err("node arrays of different lengths");
    }
    if let Some(types) = t.get("split_type") {
        if ints(types)?.iter().any(|&s| s != 0) {
            return err("categorical splits are not supported");
        }
    }
    for i in 0..n {
        let (l, r) = (left[i], right[i]);
        if l >= 0 && (l as usize >= n || r < 0 || r as usize >= n) {
            return err(format!("node {i} has children {l}, {r} outside 0..{n}"));
        }
        if l >= 0 && !(0..=i64::from(u32::MAX)).contains(&feature[i]) {
            return err(format!("node {i} splits on feature {}", feature[i]));
        }
    }
    Ok(Tree {
        left: left.iter().map(|&x| x.max(-1) as i32).collect(),
        right: right.iter().map(|&x| x.max(-1) as i32).collect(),
        feature: feature.iter().map(|&x| x.max(0) as u32).collect(),
        threshold,
        default_left: default_left.iter().map(|&x| x != 0).collect(),
        weight,
    })
}

/// A UBJSON reader (Draft 12, as XGBoost writes it: big-endian numbers, optimized `$type#count`
/// containers), into `serde_json` values.
struct Ubjson<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Ubjson<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return err(format!("UBJSON: truncated at byte {}", self.pos));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn int(&mut self, marker: u8) -> Result<i64, ModelError> {
        Ok(match marker {
            b'i' => i64::from(self.byte()? as i8),
            b'U' => i64::from(self.byte()?),
            b'I' => i64::from(i16::from_be_bytes(self.array()?)),
            b'l' => i64::from(i32::from_be_bytes(self.array()?)),
            b'L' => i64::from_be_bytes(self.array()?),
            other => {
                return err(format!(
                    "UBJSON: expected an integer marker at byte {}, found {other:#04x}",
                    self.pos
                ))
            }
        })
    }

    fn length(&mut self) -> Result<usize, ModelError> {
        let marker = self.byte()?;
        let n = self.int(marker)?;
        let n = usize::try_from(n).map_err(|_| ModelError(format!("UBJSON: negative length {n}")))?;
        // Each element takes at least one byte: a larger count is a corrupt file, not an allocation.
        if n > self.bytes.len() - self.pos {
            return err(format!("UBJSON: length {n} at byte {} runs past the end", self.pos));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, ModelError> {
        let n = self.length()?;
        let at = self.pos;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| ModelError(format!("UBJSON: invalid UTF-8 at byte {at}")))
    }

    fn value(&mut self) -> Result<Value, ModelError> {
        let marker = self.byte()?;
        self.typed(marker)
    }

    fn typed(&mut self, marker: u8) -> Result<Value, ModelError> {
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::from(self.int(marker)?),
            b'd' => float(f64::from(f32::from_be_bytes(self.array()?))),
            b'D' => float(f64::from_be_bytes(self.array()?)),
            b'C' => Value::String(char::from(self.byte()?).to_string()),
            b'S' | b'H' => Value::String(self.string()?),
            b'[' => {
                let (kind, count) = self.container_header()?;
                let mut items = Vec::with_capacity(count.unwrap_or(0));
                match count {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(match kind {
                                Some(k) => self.typed(k)?,
                                None => self.value()?,
                            });
                        }
                    }
                    None => loop {
                        let m = self.byte()?;
                        if m == b']' {
                            break;
                        }
                        if m != b'N' {
                            items.push(self.typed(m)?);
                        }
                    },
                }
                Value::Array(items)
            }
            b'{' => {
                let (kind, count) = self.container_header()?;
                let mut map = Map::new();
                let mut left = count;
                loop {
                    if let Some(n) = left {
                        if n == 0 {
                            break;
                        }
                        left = Some(n - 1);
                    } else if self.bytes.get(self.pos) == Some(&b'}') {
                        self.pos += 1;
                        break;
                    }
                    let key = self.string()?;
                    let v = match kind {
                        Some(k) => self.typed(k)?,
                        None => self.value()?,
                    };
                    map.insert(key, v);
                }
                Value::Object(map)
            }
            b'N' => self.value()?,
            other => return err(format!("UBJSON: unknown marker {other:#04x} at byte {}", self.pos - 1)),
        })
    }

    /// `$type` and `#count` after `[` or `{`.
    fn container_header(&mut self) -> Result<(Option<u8>, Option<usize>), ModelError> {
        let mut kind = None;
        if self.bytes.get(self.pos) == Some(&b'$') {
            self.pos += 1;
            kind = Some(self.byte()?);
        }
        let mut count = None;
        if self.bytes.get(self.pos) == Some(&b'#') {
            self.pos += 1;
            count = Some(self.length()?);
        } else if kind.is_some() {
            return err(format!("UBJSON: `$` without `#` at byte {}", self.pos));
        }
        Ok((kind, count))
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_models_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner",
            b"{#L\x7f\xff\xff\xff\xff\xff\xff\xff",
            b"[$d#L\x00\x00\x00\x00\x00\x00\x10\x00",
            b"{\"learner\": {}}",
            b"not a model",
        ] {
            assert!(Booster::from_bytes(bad).is_err(), "{bad:?}");
        }
        let cyclic = r#"{"learner": {"learner_model_param": {"base_score": "5E-1", "num_feature": "1"},
            "objective": {"name": "binary:logistic"}, "gradient_booster": {"name": "gbtree", "model":
            {"trees": [{"left_children": [0], "right_children": [0], "split_indices": [0],
            "split_conditions": [0.5], "default_left": [0]}]}}}}"#;
        // A node that points at itself ends after as many steps as there are nodes.
        let b = Booster::from_bytes(cyclic.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!((b.predict(&[1.0]) - 0.5).abs() < 1e-6);
        let categorical =
            cyclic.replace("\"default_left\": [0]", "\"default_left\": [0], \"split_type\": [1]");
        assert!(Booster::from_bytes(categorical.as_bytes()).is_err());
    }
}
