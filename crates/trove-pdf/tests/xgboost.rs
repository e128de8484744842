//! The XGBoost evaluator against the `xgboost` wheel: models trained by
//! `xtask/python/golden_xgboost.py` (`cargo xtask golden-pdf`), saved as JSON and UBJSON, and the
//! seed's OCR-routing model; every prediction equals the wheel's within 1e-6.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};
use trove_pdf::xgboost::Booster;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn predictions_equal_the_xgboost_wheel() {
    let dir = root().join("fixtures/golden/xgboost");
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let mut checked = 0;
    let mut worst = 0f32;
    for case in cases["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        let path = match name {
            "seed" => root().join("fixtures/pdf/seed/pdf_classifier_real_data.xgb"),
            other => dir.join(other),
        };
        let booster = Booster::load(&path).unwrap();
        if name == "seed" {
            assert_eq!((booster.num_feature(), booster.num_trees()), (124, 100));
        }
        for (row, want) in case["rows"].as_array().unwrap().iter().zip(case["proba"].as_array().unwrap()) {
            let row: Vec<f32> =
                row.as_array().unwrap().iter().map(|v| v.as_f64().map_or(f32::NAN, |f| f as f32)).collect();
            let got = booster.predict(&row);
            let want = want.as_f64().unwrap() as f32;
            worst = worst.max((got - want).abs());
            assert!((got - want).abs() <= 1e-6, "{name}: {got} vs the wheel's {want} on {row:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 150 + 2 * 150 + 100 + 60);
    println!("{checked} predictions, largest difference {worst:e}");
}
