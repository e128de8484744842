//! # trove-dedup
//!
//! Deduplication with DataTrove's steps and file formats. So far: MinHash in four stages
//! ([`minhash`]: `minhash_dedup_signature`, `minhash_dedup_buckets`, `minhash_dedup_cluster`,
//! `minhash_dedup_filter`), with signature files byte-identical to DataTrove's; exact dedup in three
//! ([`exact`]: `exact_dedup_signature`, `exact_find_dedups`, `exact_dedup_filter`) on the text, the
//! normalized text or a metadata field (URL dedup); a one-pass Bloom filter on word n-grams
//! ([`bloom`]: `single_bloom_filter`); sentence dedup in three stages ([`sentence`]:
//! `sentence_dedup_signature`, `sentence_find_dedups`, `sentence_dedup_filter`); DataTrove's text normalization
//! ([`text::simplify_text`]) and hash functions ([`hashing::HashConfig`]).
//!
//! ```
//! use trove_dedup::minhash::{MinHasher, MinhashConfig};
//!
//! let config = MinhashConfig::default(); // 5-grams, 14 buckets of 8 hashes, seed 1, xxHash64
//! let mut hasher = MinHasher::new(&config, "en");
//! let a = hasher.signature("The quick brown fox jumps over the lazy dog near the river bank").unwrap();
//! let b = hasher.signature("The quick brown fox jumps over the lazy dog near the river bank!").unwrap();
//! assert_eq!(a.len(), 14 * 8);
//! assert_eq!(a, b); // punctuation is normalized away
//! assert!(hasher.signature("too short").is_none()); // fewer words than n_grams: no signature
//! ```
#![deny(missing_docs)]

mod binio;
pub mod bloom;
pub mod exact;
pub mod hashing;
pub mod minhash;
pub mod sentence;
pub mod text;

use trove_core::Registry;

/// Registers the dedup steps.
pub fn register(registry: &mut Registry) {
    registry
        .register::<minhash::MinhashDedupSignatureConfig>()
        .register::<minhash::MinhashDedupBucketsConfig>()
        .register::<minhash::MinhashDedupClusterConfig>()
        .register::<minhash::MinhashDedupFilterConfig>()
        .register::<exact::ExactDedupSignatureConfig>()
        .register::<exact::ExactFindDedupsConfig>()
        .register::<exact::ExactDedupFilterConfig>()
        .register::<bloom::SingleBloomFilterConfig>()
        .register::<sentence::SentenceDedupSignatureConfig>()
        .register::<sentence::SentenceFindDedupsConfig>()
        .register::<sentence::SentenceDedupFilterConfig>();
}
