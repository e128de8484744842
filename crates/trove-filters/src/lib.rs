//! # trove-filters
//!
//! Document filters and formatters with DataTrove's names, parameters, defaults and stats:
//! `regex_filter`, `sampler_filter`, `lambda_filter` (Rust closures, in-process only), `language_filter`
//! (fastText or whatlang), the quality filters (`gopher_repetition_filter`, `gopher_quality_filter`,
//! `c4_quality_filter`, `c4_paragraph_filter`, `c4_bad_words_filter`, `fineweb_quality_filter`),
//! `url_filter`, the formatters `pii_formatter` and `symbol_lines_formatter`, and two steps DataTrove
//! users write as lambdas: `length_filter` and `keyword_filter`. Every filter takes an optional
//! `exclusion_writer`.
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
mod formatters;
mod language;
mod quality;
mod simple;
mod stats;
mod url;

pub use fasttext::FastText;
pub use formatters::*;
pub use language::{LanguageFilter, LanguageFilterConfig, Languages};
pub use quality::*;
pub use simple::*;
pub use stats::*;
pub use trove_core::numpy_rng::Pcg64;
pub use url::*;

/// The folder of an asset (`c4_badwords`, `url_filter`) under `$TROVE_ASSETS`, for steps whose
/// config names no folder.
pub(crate) fn assets_folder(name: &str) -> trove_core::Result<std::path::PathBuf> {
    match std::env::var_os("TROVE_ASSETS") {
        Some(root) => Ok(std::path::PathBuf::from(root).join(name)),
        None => Err(quality::missing_assets(name)),
    }
}

/// Registers this crate's steps.
pub fn register(registry: &mut trove_core::Registry) {
    registry
        .register::<RegexFilterConfig>()
        .register::<SamplerFilterConfig>()
        .register::<LambdaFilterConfig>()
        .register::<LengthFilterConfig>()
        .register::<KeywordFilterConfig>()
        .register::<LanguageFilterConfig>()
        .register::<GopherRepetitionFilterConfig>()
        .register::<GopherQualityFilterConfig>()
        .register::<C4QualityFilterConfig>()
        .register::<C4ParagraphFilterConfig>()
        .register::<C4BadWordsFilterConfig>()
        .register::<FineWebQualityFilterConfig>()
        .register::<UrlFilterConfig>()
        .register::<PiiFormatterConfig>()
        .register::<SymbolLinesFormatterConfig>()
        .register::<DocStatsConfig>()
        .register::<WordStatsConfig>()
        .register::<LineStatsConfig>()
        .register::<ParagraphStatsConfig>()
        .register::<SentenceStatsConfig>()
        .register::<LangStatsConfig>()
        .register::<StatsMergerConfig>();
}
