//! Fits the `bert_classifier` test head: logistic regression on all-MiniLM-L6-v2 sentence embeddings,
//! "is this programming documentation?": Python documentation sections (label 1, `fixtures/python-docs`)
//! against LibreOffice's user help (Debian `libreoffice-help-en-us`, as JSONL from xtask) and CCNet web text
//! (label 0). Every fifth document of each set is held out. Writes the head (`weight [1, 384]`,
//! `bias [1]`) as safetensors, the held-out documents beside it (`*-heldout.jsonl`, for the test), and
//! prints the accuracies and the encoder's speed.
//!
//! `cargo xtask fit-bert-head` runs it:
//! `cargo run --release -p trove-infer --features candle --example fit_bert_head -- MODEL_DIR FIXTURES HELP_DIR OUT`
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a command-line tool

use candle_core::{Device, Tensor};
use std::io::Read;
use std::path::Path;
use trove_infer::bert::{Encoder, Pooling};

fn texts(folder: &Path, limit: usize) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).unwrap()).read_to_string(&mut s).unwrap();
        for line in s.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = v["text"].as_str().unwrap_or_default();
            if t.split_whitespace().count() >= 20 && out.len() < limit {
                out.push(t.to_string());
            }
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, fixtures, help, out] = [&args[0], &args[1], &args[2], &args[3]].map(Path::new);
    let encoder = Encoder::load(model, 256).unwrap();
    let pos = texts(&fixtures.join("python-docs"), 300);
    let mut neg = texts(&fixtures.join("ccnet"), 300);
    neg.extend(texts(help, 300 - neg.len()));
    let mut data: Vec<(&str, f32, bool)> = Vec::new(); // text, label, held out
    for (set, label) in [(&pos, 1.0), (&neg, 0.0)] {
        for (i, t) in set.iter().enumerate() {
            data.push((t, label, i % 5 == 0));
        }
    }
    let started = std::time::Instant::now();
    let mut emb: Vec<Vec<f32>> = Vec::new();
    for chunk in data.chunks(32) {
        let t: Vec<&str> = chunk.iter().map(|d| d.0).collect();
        emb.extend(encoder.embed(&t, Pooling::Mean, true).unwrap().to_vec2::<f32>().unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "embedded {} documents in {secs:.2} s: {:.1} docs/s (max 256 tokens, batch 32)",
        data.len(),
        data.len() as f64 / secs
    );

    // Full-batch gradient descent on the logistic loss with a little L2.
    let dim = emb[0].len();
    let (mut w, mut b) = (vec![0f64; dim], 0f64);
    let train: Vec<usize> = (0..data.len()).filter(|&i| !data[i].2).collect();
    let predict = |w: &[f64], b: f64, x: &[f32]| {
        let z: f64 = w.iter().zip(x).map(|(w, x)| w * f64::from(*x)).sum::<f64>() + b;
        1.0 / (1.0 + (-z).exp())
    };
    for _ in 0..2000 {
        let (mut gw, mut gb) = (vec![0f64; dim], 0f64);
        for &i in &train {
            let err = predict(&w, b, &emb[i]) - f64::from(data[i].1);
            for (g, x) in gw.iter_mut().zip(&emb[i]) {
                *g += err * f64::from(*x);
            }
            gb += err;
        }
        let n = train.len() as f64;
        for (wi, g) in w.iter_mut().zip(&gw) {
            *wi -= 2.0 * (g / n + 1e-3 * *wi);
        }
        b -= 2.0 * gb / n;
    }
    for (name, held) in [("train", false), ("held-out", true)] {
        let idx: Vec<usize> = (0..data.len()).filter(|&i| data[i].2 == held).collect();
        let right = idx.iter().filter(|&&i| (predict(&w, b, &emb[i]) >= 0.5) == (data[i].1 == 1.0)).count();
        println!("{name}: {right}/{} right ({:.3})", idx.len(), right as f64 / idx.len() as f64);
    }
    let weight =
        Tensor::from_vec(w.iter().map(|x| *x as f32).collect::<Vec<_>>(), (1, dim), &Device::Cpu).unwrap();
    let bias = Tensor::from_vec(vec![b as f32], 1, &Device::Cpu).unwrap();
    let tensors =
        std::collections::HashMap::from([("weight".to_string(), weight), ("bias".to_string(), bias)]);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    candle_core::safetensors::save(&tensors, out).unwrap();
    let mut held = String::new();
    for (t, label, h) in &data {
        if *h {
            let cut: String = t.chars().take(1200).collect();
            held.push_str(&serde_json::json!({"text": cut, "label": *label as i64}).to_string());
            held.push('\n');
        }
    }
    let held_path = out
        .with_file_name(out.file_name().unwrap().to_string_lossy().replace(".safetensors", "-heldout.jsonl"));
    std::fs::write(&held_path, held).unwrap();
    println!("wrote {} and {}", out.display(), held_path.display());
}
