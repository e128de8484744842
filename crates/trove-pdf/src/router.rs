//! `pdf_router`: the FinePDFs OCR router — PDF features, the XGBoost classifier, and a route.

use crate::features::{self, Budget, FeatureError};
use crate::xgboost::Booster;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use trove_core::step::{Filter, Verdict};
use trove_core::{BuildContext, Document, Error, Result, Stage, Stats, StepConfig, StepSpec};

fn half() -> f64 {
    0.5
}
fn thirty() -> f64 {
    30.0
}

/// `pdf_router`: scores each document's PDF (`media[0]`) with the seed's XGBoost classifier over the
/// 124 [`crate::features`] and writes `ocr_probability`, `processing_route`
/// (`ocr_extraction` when the probability is at least `threshold`, else `text_extraction`), `is_form`,
/// `garbled_text_ratio`, `is_encrypted`, `needs_password` and `num_pages` to metadata. Documents
/// without media (`no_media`), whose bytes lopdf cannot read (`unreadable`), that need a password
/// (`needs_password`), that run out of time (`timeout`) or whose prediction fails (`prediction_failed`)
/// are dropped with that reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfRouterConfig {
    /// The XGBoost model (JSON or UBJSON), e.g. the seed's `pdf_classifier_real_data.xgb`.
    pub model_path: String,
    /// OCR route when `ocr_probability >= threshold`.
    #[serde(default = "half")]
    pub threshold: f64,
    /// Seed of the page sampling (documents with more than 8 pages) and of the padding slots.
    #[serde(default)]
    pub seed: u64,
    /// Seconds one document may take.
    #[serde(default = "thirty")]
    pub timeout: f64,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

impl StepConfig for PdfRouterConfig {
    const TYPE: &'static str = "pdf_router";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        let booster = Booster::load(std::path::Path::new(&self.model_path))
            .map_err(|e| Error::config(format!("model_path: {e}")))?;
        if booster.num_feature() != 124 {
            return Err(Error::config(format!(
                "model_path: {} expects {} features, the router computes 124",
                self.model_path,
                booster.num_feature()
            )));
        }
        let budget = Budget { time: Duration::from_secs_f64(self.timeout.max(0.001)), ..Budget::default() };
        let router =
            PdfRouter { booster: Arc::new(booster), threshold: self.threshold, seed: self.seed, budget };
        cx.filter_stage("🧭 PDF router", router, self.exclusion_writer.as_ref())
    }

    fn check(&self, problems: &mut Vec<String>) {
        if !(0.0..=1.0).contains(&self.threshold) {
            problems.push(format!("threshold must be between 0 and 1, not {}", self.threshold));
        }
        if self.timeout.is_nan() || self.timeout <= 0.0 {
            problems.push(format!("timeout must be positive, not {}", self.timeout));
        }
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

/// The runtime router.
pub struct PdfRouter {
    booster: Arc<Booster>,
    threshold: f64,
    seed: u64,
    budget: Budget,
}

/// A route decision for one PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The classifier's probability that the PDF needs OCR.
    pub ocr_probability: f32,
    /// The features behind it.
    pub features: features::PdfFeatures,
}

impl PdfRouter {
    /// Scores one PDF (a panic inside the PDF parser is caught and reported as unreadable).
    pub fn route(&self, bytes: &[u8]) -> std::result::Result<Route, &'static str> {
        let extracted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            features::extract(bytes, self.seed, self.budget)
        }));
        let features = match extracted {
            Ok(Ok(f)) => f,
            Ok(Err(FeatureError::NeedsPassword)) => return Err("needs_password"),
            Ok(Err(FeatureError::Timeout(_))) => return Err("timeout"),
            Ok(Err(FeatureError::Unreadable(_) | FeatureError::NoPages)) | Err(_) => {
                return Err("unreadable")
            }
        };
        let p = self.booster.predict(&features.vector(self.seed));
        if !p.is_finite() {
            return Err("prediction_failed");
        }
        Ok(Route { ocr_probability: p, features })
    }
}

impl Filter for PdfRouter {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Keep
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut Stats) -> Verdict {
        let Some(bytes) = doc.media.first().and_then(|m| m.media_bytes.as_deref()) else {
            return Verdict::Drop(Some("no_media"));
        };
        let route = match self.route(bytes) {
            Ok(r) => r,
            Err(reason) => {
                tracing::debug!("{}: {reason}", doc.id);
                return Verdict::Drop(Some(reason));
            }
        };
        let ocr = f64::from(route.ocr_probability) >= self.threshold;
        let m = &mut doc.metadata;
        m.insert("ocr_probability".into(), f64::from(route.ocr_probability).into());
        m.insert("processing_route".into(), if ocr { "ocr_extraction" } else { "text_extraction" }.into());
        m.insert("is_form".into(), route.features.is_form.into());
        m.insert("garbled_text_ratio".into(), route.features.garbled_text_ratio.into());
        m.insert("is_encrypted".into(), route.features.is_encrypted.into());
        m.insert("needs_password".into(), route.features.needs_password.into());
        m.insert("num_pages".into(), (route.features.num_pages as u64).into());
        stats.incr(if ocr { "ocr_extraction" } else { "text_extraction" });
        Verdict::Keep
    }
}
