//! DataTrove's `HashConfig` and `create_hash_func`: xxHash (its default) or SHA-1, 64 or 32 bits.

use serde::{Deserialize, Serialize};
use trove_core::{Error, Result};

fn sixty_four() -> u32 {
    64
}

fn xxhash() -> String {
    "xxhash".into()
}

/// DataTrove's `HashConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashConfig {
    /// 64 or 32 bits.
    #[serde(default = "sixty_four")]
    pub precision: u32,
    /// `xxhash` or `sha1`.
    #[serde(default = "xxhash")]
    pub hash_fc: String,
}

impl Default for HashConfig {
    fn default() -> Self {
        HashConfig { precision: 64, hash_fc: xxhash() }
    }
}

impl HashConfig {
    /// Problems with the values.
    pub fn check(&self) -> Result<()> {
        if self.precision != 32 && self.precision != 64 {
            return Err(Error::config(format!(
                "hash_config.precision must be 32 or 64, not {}",
                self.precision
            )));
        }
        if self.hash_fc != "xxhash" && self.hash_fc != "sha1" {
            return Err(Error::config(format!(
                "hash_config.hash_fc must be \"xxhash\" or \"sha1\", not {:?}",
                self.hash_fc
            )));
        }
        Ok(())
    }

    /// Bytes per hash in the binary files (`Q` or `I`).
    pub fn width(&self) -> usize {
        if self.precision == 32 {
            4
        } else {
            8
        }
    }

    /// The largest hash value (`np.iinfo(dtype).max`).
    pub fn max(&self) -> u64 {
        if self.precision == 32 {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        }
    }

    /// The hash of a string's UTF-8 bytes, as `create_hash_func(config)` computes it.
    pub fn hash(&self, data: &[u8]) -> u64 {
        match (self.hash_fc.as_str(), self.precision) {
            ("sha1", 32) => {
                let d = sha1_smol::Sha1::from(data).digest().bytes();
                u64::from(u32::from_le_bytes([d[0], d[1], d[2], d[3]]))
            }
            ("sha1", _) => {
                let d = sha1_smol::Sha1::from(data).digest().bytes();
                u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
            }
            (_, 32) => u64::from(twox_hash::XxHash32::oneshot(0, data)),
            _ => twox_hash::XxHash64::oneshot(0, data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_datatrove() {
        // xxhash.xxh64_intdigest / xxh32_intdigest and DataTrove's sha1_hash64 / sha1_hash32 of "hello world".
        let h = |precision, f: &str| HashConfig { precision, hash_fc: f.into() }.hash(b"hello world");
        assert_eq!(h(64, "xxhash"), 5020219685658847592);
        assert_eq!(h(32, "xxhash"), 3468387874);
        assert_eq!(h(64, "sha1"), 13028719972609469994);
        assert_eq!(h(32, "sha1"), 896314922);
    }
}
