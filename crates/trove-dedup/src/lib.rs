//! # trove-dedup
//!
//! Will own deduplication: exact, Bloom-filter, URL, four-stage MinHash with DataTrove-compatible
//! signature files, and sentence dedup. Nothing is implemented yet (see the deduplication issue).
#![deny(missing_docs)]
