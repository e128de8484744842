//! # trove-pdf
//!
//! PDFs in trove pipelines: the XGBoost evaluator behind the OCR router ([`xgboost`]).
#![deny(missing_docs)]

pub mod xgboost;
