//! # trove-extract
//!
//! Will own main-text extraction from HTML: DataTrove's `trafilatura` and `readability` extractor
//! steps, with a per-document time and size budget. Nothing is implemented yet (see the web-text issue).
#![deny(missing_docs)]
