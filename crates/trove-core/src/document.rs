//! The unit of data that flows through a pipeline.

use serde::{Deserialize, Serialize};

/// Free-form document metadata. Insertion-ordered, so a JSONL round trip keeps key order.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// A JSON value, as stored in [`Metadata`].
pub type Value = serde_json::Value;

/// A document: DataTrove's `Document` (`text`, `id`, `media`, `metadata`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// The text content.
    pub text: String,
    /// A unique id. Readers default it to `{file}/{index in file}`.
    pub id: String,
    /// Media attached to the document (images, PDFs, ...).
    pub media: Vec<Media>,
    /// Anything else known about the document.
    pub metadata: Metadata,
}

impl Document {
    /// A document with text and id and nothing else.
    pub fn new(text: impl Into<String>, id: impl Into<String>) -> Document {
        Document { text: text.into(), id: id.into(), media: Vec::new(), metadata: Metadata::new() }
    }

    /// Builder-style: set one metadata value.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<Value>) -> Document {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// DataTrove's `MediaType` constants (the `type` field of [`Media`]).
pub mod media_type {
    /// An image.
    pub const IMAGE: i64 = 0;
    /// A video.
    pub const VIDEO: i64 = 1;
    /// Audio.
    pub const AUDIO: i64 = 2;
    /// A document such as a PDF.
    pub const DOCUMENT: i64 = 3;
}

/// Media attached to a document: DataTrove's `Media` dataclass.
///
/// `media_bytes` is not serialized by serde: writers decide whether to store it (base64 in JSONL, when
/// `save_media_bytes` is set), readers decode it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Media id.
    pub id: String,
    /// One of [`media_type`]'s constants.
    #[serde(rename = "type")]
    pub media_type: i64,
    /// Where the media came from.
    pub url: String,
    /// Alternative text.
    #[serde(default)]
    pub alt: Option<String>,
    /// Local or remote path of the stored media.
    #[serde(default)]
    pub path: Option<String>,
    /// Byte offset inside `path`.
    #[serde(default)]
    pub offset: Option<i64>,
    /// Length in bytes inside `path`.
    #[serde(default)]
    pub length: Option<i64>,
    /// The raw bytes, when they travel with the document.
    #[serde(skip)]
    pub media_bytes: Option<Vec<u8>>,
    /// Anything else known about the media.
    #[serde(default)]
    pub metadata: Metadata,
}
