//! `extract_inference_text`: the runner's first result becomes the document's text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trove_core::step::{Filter, Verdict};
use trove_core::{BuildContext, Document, Result, Stage, StepConfig, StepSpec};

fn d_key() -> String {
    "rollout_results".into()
}

/// `extract_inference_text`: sets `text` to the `text` of the first result in
/// `metadata[metadata_key]` (what `inference_runner` wrote) and, by default, removes the results from
/// metadata. A document without a result text is dropped (`no_inference_text`); one whose result
/// stopped on the length limit keeps its text and is counted (`truncated_generation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractInferenceTextConfig {
    /// Where the runner put the results.
    #[serde(default = "d_key")]
    pub metadata_key: String,
    /// Remove the results from metadata once the text is taken.
    #[serde(default = "yes")]
    pub remove_results: bool,
    /// Written to `metadata.processing_method` when set (the seed wrote `rolmocr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_method: Option<String>,
    /// Where dropped documents go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_writer: Option<StepSpec>,
}

fn yes() -> bool {
    true
}

impl Default for ExtractInferenceTextConfig {
    fn default() -> Self {
        ExtractInferenceTextConfig {
            metadata_key: d_key(),
            remove_results: true,
            processing_method: None,
            exclusion_writer: None,
        }
    }
}

impl StepConfig for ExtractInferenceTextConfig {
    const TYPE: &'static str = "extract_inference_text";

    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        cx.filter_stage("extract inference text", Extract(self.clone()), self.exclusion_writer.as_ref())
    }

    fn nested(&self) -> Vec<&StepSpec> {
        self.exclusion_writer.iter().collect()
    }
}

struct Extract(ExtractInferenceTextConfig);

impl Filter for Extract {
    fn filter(&mut self, _doc: &Document) -> Verdict {
        Verdict::Drop(Some("no_inference_text"))
    }

    fn filter_counted(&mut self, doc: &mut Document, stats: &mut trove_core::Stats) -> Verdict {
        let first = doc.metadata.get(&self.0.metadata_key).and_then(Value::as_array).and_then(|a| a.first());
        let Some(result) = first else { return Verdict::Drop(Some("no_inference_text")) };
        let Some(text) = result.get("text").and_then(Value::as_str) else {
            return Verdict::Drop(Some("no_inference_text"));
        };
        if result.get("finish_reason").and_then(Value::as_str) == Some("length") {
            stats.incr("truncated_generation");
        }
        doc.text = text.to_string();
        if self.0.remove_results {
            doc.metadata.shift_remove(&self.0.metadata_key);
        }
        if let Some(method) = &self.0.processing_method {
            doc.metadata.insert("processing_method".into(), method.clone().into());
        }
        if doc.text.trim().is_empty() {
            return Verdict::Drop(Some("no_inference_text"));
        }
        Verdict::Keep
    }
}
