//! `cargo xtask golden-pdf`: the PDF issue's reference outputs, from the Python packages the seed used.

use crate::bench::datatrove_python;
use crate::proc::run;
use crate::root;
use anyhow::Result;
use std::process::Command;

/// The XGBoost version that saved the seed's classifier.
const XGBOOST: &str = "xgboost-cpu==3.0.5";
/// PyMuPDF, which the seed's feature extractor used.
const PYMUPDF: &str = "pymupdf==2.0";

/// Trains small XGBoost models with the wheel and records its predictions (and the seed model's) under
/// `fixtures/golden/xgboost/`; measures every page of the seed's samples with PyMuPDF (the seed's
/// feature definitions) into `fixtures/golden/pdf/pymupdf-features.json`.
pub fn golden_pdf() -> Result<()> {
    let python = datatrove_python()?;
    let has = Command::new(&python)
        .args([
            "-c",
            "import pymupdf, xgboost; assert xgboost.__version__ == '3.0.5' and pymupdf.__version__ == '2.0'",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has {
        run(Command::new(&python).args(["-m", "pip", "install", "-q", XGBOOST, PYMUPDF]))?;
    }
    run(Command::new(&python)
        .args([
            "xtask/python/golden_xgboost.py",
            "fixtures/golden/xgboost",
            "fixtures/pdf/seed/pdf_classifier_real_data.xgb",
        ])
        .current_dir(root()))?;
    run(Command::new(&python)
        .args([
            "xtask/python/golden_pdf_features.py",
            "fixtures/pdf/seed/samples",
            "fixtures/golden/pdf/pymupdf-features.json",
        ])
        .current_dir(root()))?;
    eprintln!("golden-pdf: wrote fixtures/golden/xgboost/ and fixtures/golden/pdf/");
    Ok(())
}
