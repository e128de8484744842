//! `language_filter`: DataTrove's `LanguageFilter` with a fastText model (`ft176` = lid.176, or GlotLID).

use crate::fasttext::FastText;
use crate::simple::filter_stage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use trove_core::{
    BuildContext, Document, Error, Filter, Result, Stage, StepConfig, StepSpec, Value, Verdict,
};

/// One language or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Languages {
    /// A single language code.
    One(String),
    /// Several language codes.
    Many(Vec<String>),
}

impl Languages {
    fn to_vec(&self) -> Vec<String> {
        match self {
            Languages::One(l) => vec![l.clone()],
            Languages::Many(v) => v.clone(),
        }
    }
}

fn threshold() -> f64 {
    0.65
}
fn ft176() -> String {
    "ft176".into()
}
fn minus_one() -> f64 {
    -1.0
}

/// `language_filter`: keeps documents in `languages` scored above `language_threshold`, writing
/// `language` and `language_score` into metadata (DataTrove's `LanguageFilter`).
///
/// trove does not download models: `model_path` (trove-only) names a local fastText model — lid.176's
/// `.bin` (DataTrove's `ft176`) or `.ftz`, or a GlotLID `.bin` for `backend = "glotlid"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageFilterConfig {
    /// Languages to keep (ISO 639-1 codes as lid.176 writes them; GlotLID's `eng_Latn` style). None: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Languages>,
    /// Minimum score to keep a document.
    #[serde(default = "threshold")]
    pub language_threshold: f64,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
    /// `"ft176"` or `"glotlid"` (fastText models), or `"whatlang"` (trove: no model file; scores are
    /// whatlang's confidence, not fastText probabilities).
    #[serde(default = "ft176")]
    pub backend: String,
    /// Only label documents, never drop them.
    #[serde(default)]
    pub label_only: bool,
    /// Also write `top_language_{lang}_score` for every language scored above this; -1 disables.
    #[serde(default = "minus_one")]
    pub keep_top_pairs_threshold: f64,
    /// trove: the local model file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<String>,
}

impl LanguageFilterConfig {
    fn model_path(&self) -> Result<PathBuf> {
        self.model_path.as_ref().map(PathBuf::from).ok_or_else(|| {
            Error::config(format!(
                "language_filter needs `model_path`, a local fastText model ({}): trove does not download models",
                if self.backend == "glotlid" { "GlotLID's model_v3.bin" } else { "lid.176.bin or lid.176.ftz" }
            ))
        })
    }
}

/// whatlang's ISO 639-3 codes as the ISO 639-1 labels lid.176 (and so DataTrove) writes.
const WHATLANG_TO_LID: [(&str, &str); 70] = [
    ("epo", "eo"),
    ("eng", "en"),
    ("rus", "ru"),
    ("cmn", "zh"),
    ("spa", "es"),
    ("por", "pt"),
    ("ita", "it"),
    ("ben", "bn"),
    ("fra", "fr"),
    ("deu", "de"),
    ("ukr", "uk"),
    ("kat", "ka"),
    ("ara", "ar"),
    ("hin", "hi"),
    ("jpn", "ja"),
    ("heb", "he"),
    ("yid", "yi"),
    ("pol", "pl"),
    ("amh", "am"),
    ("jav", "jv"),
    ("kor", "ko"),
    ("nob", "no"),
    ("dan", "da"),
    ("swe", "sv"),
    ("fin", "fi"),
    ("tur", "tr"),
    ("nld", "nl"),
    ("hun", "hu"),
    ("ces", "cs"),
    ("ell", "el"),
    ("bul", "bg"),
    ("bel", "be"),
    ("mar", "mr"),
    ("kan", "kn"),
    ("ron", "ro"),
    ("slv", "sl"),
    ("hrv", "hr"),
    ("srp", "sr"),
    ("mkd", "mk"),
    ("lit", "lt"),
    ("lav", "lv"),
    ("est", "et"),
    ("tam", "ta"),
    ("vie", "vi"),
    ("urd", "ur"),
    ("tha", "th"),
    ("guj", "gu"),
    ("uzb", "uz"),
    ("pan", "pa"),
    ("aze", "az"),
    ("ind", "id"),
    ("tel", "te"),
    ("pes", "fa"),
    ("mal", "ml"),
    ("ori", "or"),
    ("mya", "my"),
    ("nep", "ne"),
    ("sin", "si"),
    ("khm", "km"),
    ("tuk", "tk"),
    ("aka", "ak"),
    ("zul", "zu"),
    ("sna", "sn"),
    ("afr", "af"),
    ("lat", "la"),
    ("slk", "sk"),
    ("cat", "ca"),
    ("tgl", "tl"),
    ("hye", "hy"),
    ("cym", "cy"),
];

/// What predicts languages.
enum Backend {
    FastText(Arc<FastText>),
    Whatlang,
}

/// Models are loaded once per process and shared by every task.
pub(crate) fn load_shared(path: &Path) -> Result<Arc<FastText>> {
    static MODELS: OnceLock<Mutex<HashMap<PathBuf, Arc<FastText>>>> = OnceLock::new();
    let models = MODELS.get_or_init(Default::default);
    let mut guard = models.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = guard.get(path) {
        return Ok(m.clone());
    }
    let model = Arc::new(FastText::load(path)?);
    guard.insert(path.to_path_buf(), model.clone());
    Ok(model)
}

impl StepConfig for LanguageFilterConfig {
    const TYPE: &'static str = "language_filter";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let model = match self.backend.as_str() {
            "whatlang" => Backend::Whatlang,
            _ => Backend::FastText(load_shared(&self.model_path()?)?),
        };
        let filter = LanguageFilter {
            model,
            languages: self.languages.as_ref().map(Languages::to_vec),
            threshold: self.language_threshold,
            glotlid: self.backend == "glotlid",
            label_only: self.label_only,
            keep_top_pairs_threshold: self.keep_top_pairs_threshold,
        };
        filter_stage("🌍 Language ID", filter, self.exclusion_writer.as_ref(), cx)
    }

    fn check(&self, problems: &mut Vec<String>) {
        if !["ft176", "glotlid", "whatlang"].contains(&self.backend.as_str()) {
            problems.push(format!(
                "backend must be \"ft176\", \"glotlid\" or \"whatlang\", not {:?}",
                self.backend
            ));
        }
        if self.backend == "whatlang" {
            return;
        }
        match self.model_path() {
            Ok(p) if !p.is_file() => problems.push(format!("model_path `{}` is not a file", p.display())),
            Ok(_) => {}
            Err(e) => problems.push(e.to_string()),
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime language filter. It writes metadata, so it works on the document it is handed: the
/// `Filter` trait gives `&Document`, hence the interior step below.
pub struct LanguageFilter {
    model: Backend,
    languages: Option<Vec<String>>,
    threshold: f64,
    glotlid: bool,
    label_only: bool,
    keep_top_pairs_threshold: f64,
}

/// A language label and its score.
type LangScore = (String, f64);

impl LanguageFilter {
    /// DataTrove's `FastTextLID.predict`: the best (label, score) and the scores considered.
    fn scores(&self, text: &str) -> (Option<LangScore>, Vec<LangScore>) {
        let preds = match &self.model {
            Backend::FastText(ft) => ft.predict(&text.replace('\n', " "), None, 0.0),
            Backend::Whatlang => whatlang::detect(text)
                .map(|info| {
                    let code = info.lang().code();
                    let label = WHATLANG_TO_LID.iter().find(|(a, _)| *a == code).map_or(code, |(_, b)| *b);
                    vec![(label.to_string(), info.confidence() as f32)]
                })
                .unwrap_or_default(),
        };
        let best = preds
            .iter()
            .fold(None::<&(String, f32)>, |best, p| match best {
                Some(b) if b.1 >= p.1 => Some(b),
                _ => Some(p),
            })
            .map(|(l, s)| (l.clone(), f64::from(*s)));
        let pairs = match &self.languages {
            Some(langs) => langs
                .iter()
                .map(|l| {
                    let s = preds.iter().find(|p| &p.0 == l).map_or(0.0, |p| f64::from(p.1));
                    (l.clone(), s)
                })
                .collect(),
            None => preds.into_iter().map(|(l, s)| (l, f64::from(s))).collect(),
        };
        (best, pairs)
    }

    /// Labels `doc` and decides (DataTrove's `LanguageFilter.filter`).
    pub fn label(&self, doc: &mut Document) -> Verdict {
        let (best, pairs) = self.scores(&doc.text);
        let Some((mut lang, score)) = best else {
            // No token at all: fastText predicts nothing; DataTrove would fail on max() of nothing.
            return if self.label_only { Verdict::Keep } else { Verdict::Drop(Some("no_prediction")) };
        };
        if self.glotlid {
            if let Some((l, script)) = lang.split_once('_') {
                doc.metadata.insert("language_script".into(), Value::from(script));
                lang = l.to_string();
            }
        }
        doc.metadata.insert("language".into(), Value::from(lang));
        doc.metadata.insert("language_score".into(), Value::from(score));
        if self.keep_top_pairs_threshold != -1.0 {
            for (key, value) in &pairs {
                if *value > self.keep_top_pairs_threshold {
                    doc.metadata.insert(format!("top_language_{key}_score"), Value::from(*value));
                }
            }
        }
        let keep = self.label_only
            || match &self.languages {
                Some(_) => pairs.iter().any(|(_, s)| *s > self.threshold),
                None => score > self.threshold,
            };
        if keep {
            Verdict::Keep
        } else {
            Verdict::Drop(None)
        }
    }
}

impl Filter for LanguageFilter {
    fn filter(&mut self, doc: &Document) -> Verdict {
        // Only reached through `Filter` users that cannot pass `&mut`; the step uses `label`.
        let mut copy = doc.clone();
        self.label(&mut copy)
    }

    fn filter_mut(&mut self, doc: &mut Document) -> Verdict {
        self.label(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatlang_backend_labels_like_lid176() {
        let f = LanguageFilter {
            model: Backend::Whatlang,
            languages: Some(vec!["fr".into()]),
            threshold: 0.5,
            glotlid: false,
            label_only: false,
            keep_top_pairs_threshold: -1.0,
        };
        let mut fr =
            Document::new("Tous les êtres humains naissent libres et égaux en dignité et en droits.", "1");
        assert_eq!(f.label(&mut fr), Verdict::Keep);
        assert_eq!(fr.metadata["language"], "fr");
        let mut zh = Document::new("人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心。", "2");
        assert_eq!(f.label(&mut zh), Verdict::Drop(None));
        assert_eq!(zh.metadata["language"], "zh");
    }
}
