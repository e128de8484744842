//! # trove-filters
//!
//! Document filters with DataTrove's names, parameters and stats: `regex_filter`, `sampler_filter`,
//! `lambda_filter` (Rust closures, in-process only), and two steps DataTrove users write as lambdas:
//! `length_filter` and `keyword_filter`. Every filter takes an optional `exclusion_writer`.
//!
//! ```
//! use trove_core::{Document, Filter, Verdict};
//! use trove_filters::{KeywordFilter, LengthFilter};
//!
//! let mut keywords = KeywordFilter::new(&["data", "science"]);
//! assert_eq!(keywords.filter(&Document::new("Big DATA at scale", "1")), Verdict::Keep);
//! assert_eq!(keywords.filter(&Document::new("cooking", "2")), Verdict::Drop(Some("no_keyword")));
//!
//! let mut length = LengthFilter { min_length: Some(5), max_length: None };
//! assert_eq!(length.filter(&Document::new("four", "3")), Verdict::Drop(Some("too_short")));
//! ```
#![deny(missing_docs)]

mod fasttext;
mod language;
mod numpy_rng;
mod simple;

pub use fasttext::FastText;
pub use language::{LanguageFilter, LanguageFilterConfig, Languages};
pub use numpy_rng::Pcg64;
pub use simple::*;

/// Registers this crate's steps.
pub fn register(registry: &mut trove_core::Registry) {
    registry
        .register::<RegexFilterConfig>()
        .register::<SamplerFilterConfig>()
        .register::<LambdaFilterConfig>()
        .register::<LengthFilterConfig>()
        .register::<KeywordFilterConfig>()
        .register::<LanguageFilterConfig>();
}
