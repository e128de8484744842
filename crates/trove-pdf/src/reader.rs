//! `pdf_reader`: a folder of PDF files, one document per file.

use serde::{Deserialize, Serialize};
use std::io::Read;
use trove_core::document::media_type;
use trove_core::{
    open_storage, BuildContext, Document, Media, Result, Source, SourceContext, Stage, StepConfig,
};

fn minus_one() -> i64 {
    -1
}
fn yes() -> bool {
    true
}
fn pdf_glob() -> Option<String> {
    Some("*.pdf".into())
}

/// `pdf_reader`: one document per PDF file of `data_folder` (local or `s3://`), for PDFs that do not
/// come from a crawl. The id is the file's path relative to the folder without `.pdf`; the bytes go to
/// `media[0]` (type document); metadata has `file_path` and `content_length`. Files are shared out
/// between tasks as the other readers do (file `i` of the sorted listing to task `i % world_size`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfReaderConfig {
    /// The folder to read.
    pub data_folder: String,
    /// Only files whose name matches (`*` and `?`; case-insensitive); default `*.pdf`.
    #[serde(default = "pdf_glob")]
    pub glob_pattern: Option<String>,
    /// Read subfolders too.
    #[serde(default = "yes")]
    pub recursive: bool,
    /// Documents per task at most; `-1` for all.
    #[serde(default = "minus_one")]
    pub limit: i64,
    /// Files larger than this are skipped (counted as `too_large`); `-1` for no limit.
    #[serde(default = "minus_one")]
    pub max_size_bytes: i64,
}

impl PdfReaderConfig {
    /// A reader of `data_folder` with the defaults.
    pub fn new(data_folder: impl Into<String>) -> PdfReaderConfig {
        PdfReaderConfig {
            data_folder: data_folder.into(),
            glob_pattern: pdf_glob(),
            recursive: true,
            limit: -1,
            max_size_bytes: -1,
        }
    }
}

impl StepConfig for PdfReaderConfig {
    const TYPE: &'static str = "pdf_reader";

    fn build(&self, _cx: &BuildContext<'_>) -> Result<Stage> {
        Ok(Stage::source("📖 - READER: 📄 PDF", PdfReader { config: self.clone() }))
    }

    fn check(&self, problems: &mut Vec<String>) {
        if self.data_folder.is_empty() {
            problems.push("data_folder is empty".into());
        }
    }
}

/// Whether `name` matches a `*`/`?` pattern (ASCII case-insensitive).
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p.eq_ignore_ascii_case(n) => glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// The runtime reader.
pub struct PdfReader {
    config: PdfReaderConfig,
}

impl Source for PdfReader {
    fn read(&mut self, cx: &mut SourceContext<'_>) -> Result<()> {
        let storage = open_storage(&self.config.data_folder)?;
        let pattern = self.config.glob_pattern.as_deref().unwrap_or("*");
        let files: Vec<String> = storage
            .list("", self.config.recursive)?
            .into_iter()
            .filter(|f| glob_match(pattern.as_bytes(), f.rsplit('/').next().unwrap_or(f).as_bytes()))
            .enumerate()
            .filter(|(i, _)| i % cx.task.world_size == cx.task.rank)
            .map(|(_, f)| f)
            .collect();
        let mut emitted: i64 = 0;
        for file in files {
            if self.config.limit >= 0 && emitted >= self.config.limit {
                break;
            }
            let full = storage.resolve(&file);
            let mut bytes = Vec::new();
            let cap = u64::try_from(self.config.max_size_bytes).ok();
            let reader = storage.open(&file)?;
            let read = match cap {
                Some(cap) => reader.take(cap.saturating_add(1)).read_to_end(&mut bytes),
                None => {
                    let mut r = reader;
                    r.read_to_end(&mut bytes)
                }
            };
            if let Err(e) = read {
                cx.stats.incr("unreadable");
                tracing::warn!("{full}: {e}; skipped");
                continue;
            }
            if cap.is_some_and(|cap| bytes.len() as u64 > cap) {
                cx.stats.incr("too_large");
                tracing::warn!(
                    "{full}: larger than max_size_bytes ({}); skipped",
                    self.config.max_size_bytes
                );
                continue;
            }
            let id =
                file.strip_suffix(".pdf").or_else(|| file.strip_suffix(".PDF")).unwrap_or(&file).to_string();
            let mut doc = Document::new("", id.clone());
            doc.metadata.insert("file_path".into(), full.clone().into());
            doc.metadata.insert("content_length".into(), (bytes.len() as u64).into());
            doc.media.push(Media {
                id,
                media_type: media_type::DOCUMENT,
                url: full,
                length: Some(bytes.len() as i64),
                media_bytes: Some(bytes),
                ..Media::default()
            });
            cx.stats.incr("documents");
            cx.emit(doc)?;
            emitted += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"*.pdf", b"a.PDF"));
        assert!(glob_match(b"*.pdf", b".pdf"));
        assert!(!glob_match(b"*.pdf", b"a.pdf.gz"));
        assert!(glob_match(b"doc?_*.pdf", b"doc1_x.pdf"));
    }
}
