//! # trove-pdf
//!
//! Will own PDFs: PDF WARC and folder readers, the truncation filter, the XGBoost OCR router and the
//! text route. Nothing is implemented yet (see the PDF issue).
#![deny(missing_docs)]
