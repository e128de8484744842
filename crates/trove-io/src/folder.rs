//! Data folders: a [`Storage`] plus DataTrove's listing rules (sorted, glob, recursive) and sharding,
//! and files opened with compression inferred from their extension.

use crate::compression::{CompressedWriter, Compression, DecodedReader};
use globset::{GlobBuilder, GlobMatcher};
use std::sync::Arc;
use trove_core::{open_storage, task, Error, Result, Storage};

/// A folder of data files: local now, object stores later, behind [`Storage`].
#[derive(Debug, Clone)]
pub struct DataFolder {
    storage: Arc<dyn Storage>,
    path: String,
}

impl DataFolder {
    /// Opens the folder at `path` (a local path or a URL).
    pub fn open(path: &str) -> Result<DataFolder> {
        Ok(DataFolder { storage: open_storage(path)?, path: path.to_string() })
    }

    /// The folder's path as configured.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The underlying storage.
    pub fn storage(&self) -> &dyn Storage {
        &*self.storage
    }

    /// The full location of a file in the folder (for messages and `file_path` metadata).
    pub fn resolve(&self, file: &str) -> String {
        self.storage.resolve(file)
    }

    /// Files in the folder, sorted, relative to it. A `glob_pattern` matches the relative path
    /// (`*` does not cross `/`, `**` does); a pattern without wildcards matches as a suffix
    /// (`".jsonl"` means `"*.jsonl"`), as in DataTrove.
    pub fn list_files(&self, recursive: bool, glob_pattern: Option<&str>) -> Result<Vec<String>> {
        let matcher = glob_pattern.map(compile_glob).transpose()?;
        let files = self.storage.list("", recursive || matcher.as_ref().is_some_and(|(_, deep)| *deep))?;
        Ok(files
            .into_iter()
            .filter(|f| matcher.as_ref().is_none_or(|(m, _)| m.is_match(f)))
            .filter(|f| recursive || !f.contains('/') || glob_pattern.is_some())
            .collect())
    }

    /// This task's files: `files[rank::world_size]` of the sorted list.
    pub fn shard(
        &self,
        rank: usize,
        world_size: usize,
        recursive: bool,
        glob: Option<&str>,
    ) -> Result<Vec<String>> {
        let files = self.list_files(recursive, glob)?;
        Ok(task::shard(&files, rank, world_size))
    }

    /// Opens a file for reading, decompressing as `compression` says (`"infer"`: from the extension).
    pub fn open_read(&self, file: &str, compression: Option<&str>) -> Result<DecodedReader> {
        let compression = Compression::resolve(compression, file)?;
        DecodedReader::new(self.storage.open(file)?, compression)
    }

    /// Starts writing a file atomically with `compression`.
    pub fn create(
        &self,
        file: &str,
        compression: Compression,
        level: Option<i32>,
    ) -> Result<CompressedWriter> {
        CompressedWriter::new(self.storage.create(file)?, compression, level)
    }
}

fn compile_glob(pattern: &str) -> Result<(GlobMatcher, bool)> {
    let has_magic = pattern.contains(['*', '?', '[']);
    let pattern = if has_magic { pattern.to_string() } else { format!("*{pattern}") };
    let glob = GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| Error::config(format!("glob_pattern `{pattern}`: {e}")))?;
    Ok((glob.compile_matcher(), pattern.contains("**")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trove_core::storage::write_all;

    #[test]
    fn glob_rules_follow_datatrove() {
        let dir = tempfile::tempdir().unwrap();
        let folder = DataFolder::open(dir.path().to_str().unwrap()).unwrap();
        for f in ["b.jsonl", "a.jsonl.gz", "sub/c.jsonl", "sub/deep/d.jsonl", "e.txt"] {
            write_all(folder.storage(), f, b"{}").unwrap();
        }
        let list = |rec, glob| folder.list_files(rec, glob).unwrap();
        assert_eq!(list(true, None), ["a.jsonl.gz", "b.jsonl", "e.txt", "sub/c.jsonl", "sub/deep/d.jsonl"]);
        assert_eq!(list(false, None), ["a.jsonl.gz", "b.jsonl", "e.txt"]);
        assert_eq!(list(true, Some("*.jsonl")), ["b.jsonl"]);
        assert_eq!(list(true, Some(".jsonl")), ["b.jsonl"]);
        // As fsspec: `**/` also matches no folder at all.
        assert_eq!(list(true, Some("**/*.jsonl")), ["b.jsonl", "sub/c.jsonl", "sub/deep/d.jsonl"]);
        assert_eq!(list(true, Some("sub/*.jsonl")), ["sub/c.jsonl"]);
        assert_eq!(folder.shard(1, 2, true, Some("*.jsonl*")).unwrap(), ["b.jsonl"]);
    }
}
