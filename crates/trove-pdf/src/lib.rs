//! # trove-pdf
//!
//! PDFs in trove pipelines (FinePDFs): `pdf_reader` (a folder of PDFs), `pdf_truncation_filter`, and
//! the XGBoost evaluator behind the OCR router ([`xgboost`]). PDFs from a crawl come from trove-io's
//! `pdf_warc_reader`; both put the bytes in `media[0]`.
#![deny(missing_docs)]

pub mod reader;
pub mod truncation;
pub mod xgboost;

pub use reader::PdfReaderConfig;
pub use truncation::PdfTruncationFilterConfig;

/// Registers this crate's steps.
pub fn register(registry: &mut trove_core::Registry) {
    registry.register::<PdfReaderConfig>().register::<PdfTruncationFilterConfig>();
}
