//! # trove-pdf
//!
//! PDFs in trove pipelines (FinePDFs): `pdf_reader` (a folder of PDFs), `pdf_truncation_filter`,
//! `pdf_router` (the OCR router: [`features`] computed with lopdf, scored by the [`xgboost`]
//! evaluator). PDFs from a crawl come from trove-io's
//! `pdf_warc_reader`; both put the bytes in `media[0]`.
#![deny(missing_docs)]

pub mod external;
pub mod features;
pub mod reader;
pub mod render;
pub mod router;
pub mod text;
pub mod truncation;
pub mod xgboost;

pub use reader::PdfReaderConfig;
pub use render::PdfPageRendererConfig;
pub use router::PdfRouterConfig;
pub use text::PdfTextExtractorConfig;
pub use truncation::PdfTruncationFilterConfig;

/// Registers this crate's steps.
pub fn register(registry: &mut trove_core::Registry) {
    registry
        .register::<PdfReaderConfig>()
        .register::<PdfTruncationFilterConfig>()
        .register::<PdfRouterConfig>()
        .register::<PdfPageRendererConfig>()
        .register::<PdfTextExtractorConfig>();
}
