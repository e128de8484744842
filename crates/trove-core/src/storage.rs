//! Where files live: a small trait over a base folder, with a local implementation.
//!
//! Everything that touches files (readers, writers, the executor's logging folder) goes through
//! [`Storage`], so an object-store backend (S3-compatible) can be added behind the same trait without
//! changing steps. Writes are atomic: [`Storage::create`] returns an [`AtomicFile`] that is only visible
//! under its final name after [`AtomicFile::commit`]; dropped uncommitted, it leaves nothing behind.

use crate::error::{Error, IoResultExt, Result};
use std::fmt::Debug;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A file being written that becomes visible under its final name only when committed.
pub trait AtomicFile: Write + Send {
    /// Flushes and publishes the file under its final name, replacing any file there.
    fn commit(self: Box<Self>) -> Result<()>;
    /// The final path, for messages.
    fn path(&self) -> &str;
}

/// A folder of files: local or remote. Paths are relative to the folder, `/`-separated.
pub trait Storage: Send + Sync + Debug {
    /// Every file below `subdir` (recursively or not), relative to the folder, sorted by byte order.
    fn list(&self, subdir: &str, recursive: bool) -> Result<Vec<String>>;
    /// Opens a file for reading.
    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>>;
    /// Starts writing a file atomically (parent folders are created as needed).
    fn create(&self, path: &str) -> Result<Box<dyn AtomicFile>>;
    /// Whether a file exists.
    fn exists(&self, path: &str) -> Result<bool>;
    /// Removes a file; a missing file is not an error.
    fn remove(&self, path: &str) -> Result<()>;
    /// The full location of `path`, for messages and metadata (`data/x.jsonl`, `s3://b/x.jsonl`).
    fn resolve(&self, path: &str) -> String;
    /// The local filesystem path of `path`, when the folder is local.
    fn local_path(&self, path: &str) -> Option<PathBuf>;
}

/// Opens a folder of a URL scheme (`s3://bucket/prefix`): registered by the crate that implements it.
pub type SchemeOpener = fn(&str) -> Result<Arc<dyn Storage>>;

fn schemes() -> &'static std::sync::RwLock<std::collections::HashMap<String, SchemeOpener>> {
    static SCHEMES: std::sync::OnceLock<std::sync::RwLock<std::collections::HashMap<String, SchemeOpener>>> =
        std::sync::OnceLock::new();
    SCHEMES.get_or_init(Default::default)
}

/// Makes `open_storage` open `{scheme}://...` URLs with `opener` (trove-io registers `s3`).
pub fn register_scheme(scheme: &str, opener: SchemeOpener) {
    schemes().write().unwrap_or_else(|e| e.into_inner()).insert(scheme.to_string(), opener);
}

/// Opens a folder from a path or URL: local paths and `file://` URLs here, other schemes through
/// [`register_scheme`]; an unknown scheme is an error naming the URL.
pub fn open_storage(url: &str) -> Result<Arc<dyn Storage>> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Arc::new(LocalStorage::new(path)));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        let opener = schemes().read().unwrap_or_else(|e| e.into_inner()).get(scheme).copied();
        if let Some(open) = opener {
            return open(url);
        }
        return Err(Error::config(format!(
            "`{url}`: no storage backend for `{scheme}://` in this build (local paths; s3:// with trove-io's `s3` feature)"
        )));
    }
    Ok(Arc::new(LocalStorage::new(url)))
}

/// Writes a whole small file atomically.
pub fn write_all(storage: &dyn Storage, path: &str, bytes: &[u8]) -> Result<()> {
    let mut file = storage.create(path)?;
    file.write_all(bytes).with_path(storage.resolve(path))?;
    file.commit()
}

/// Reads a whole small file.
pub fn read_to_string(storage: &dyn Storage, path: &str) -> Result<String> {
    let mut text = String::new();
    storage.open(path)?.read_to_string(&mut text).with_path(storage.resolve(path))?;
    Ok(text)
}

/// A folder on the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// A folder rooted at `root` (need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> LocalStorage {
        LocalStorage { root: root.into() }
    }

    fn full(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }

    fn walk(&self, dir: &Path, rel: &str, recursive: bool, out: &mut Vec<String>) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for entry in entries {
            let entry = entry.with_path(dir)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let file_type = entry.file_type().with_path(entry.path())?;
            // Follow symlinks to decide what the entry is.
            let is_dir = file_type.is_dir()
                || (file_type.is_symlink()
                    && fs::metadata(entry.path()).map(|m| m.is_dir()).unwrap_or(false));
            if is_dir {
                if recursive {
                    self.walk(&entry.path(), &rel_path, recursive, out)?;
                }
            } else if !is_temp_name(&rel_path) {
                out.push(rel_path);
            }
        }
        Ok(())
    }
}

const TEMP_MARK: &str = ".trove-tmp.";

fn is_temp_name(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|name| name.starts_with('.') && name.contains(TEMP_MARK))
}

impl Storage for LocalStorage {
    fn list(&self, subdir: &str, recursive: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.walk(&self.full(subdir), subdir.trim_matches('/'), recursive, &mut out)?;
        out.sort();
        Ok(out)
    }

    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>> {
        let full = self.full(path);
        Ok(Box::new(File::open(&full).with_path(full)?))
    }

    fn create(&self, path: &str) -> Result<Box<dyn AtomicFile>> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let final_path = self.full(path);
        let dir = final_path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(&dir).with_path(&dir)?;
        }
        let name = final_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = dir.join(format!(
            ".{name}{TEMP_MARK}{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::create(&temp).with_path(&temp)?;
        Ok(Box::new(LocalAtomicFile {
            file: Some(file),
            temp,
            display: final_path.to_string_lossy().into_owned(),
            final_path,
        }))
    }

    fn exists(&self, path: &str) -> Result<bool> {
        Ok(self.full(path).is_file())
    }

    fn remove(&self, path: &str) -> Result<()> {
        let full = self.full(path);
        match fs::remove_file(&full) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(full, e)),
            _ => Ok(()),
        }
    }

    fn resolve(&self, path: &str) -> String {
        self.full(path).to_string_lossy().into_owned()
    }

    fn local_path(&self, path: &str) -> Option<PathBuf> {
        Some(self.full(path))
    }
}

struct LocalAtomicFile {
    file: Option<File>,
    temp: PathBuf,
    final_path: PathBuf,
    display: String,
}

impl Write for LocalAtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl AtomicFile for LocalAtomicFile {
    fn commit(mut self: Box<Self>) -> Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush().with_path(&self.temp)?;
        }
        fs::rename(&self.temp, &self.final_path).with_path(&self.final_path)
    }

    fn path(&self) -> &str {
        &self.display
    }
}

impl Drop for LocalAtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_files_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        let mut f = storage.create("a/b.txt").unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert!(storage.list("", true).unwrap().is_empty());
        let mut f = storage.create("a/b.txt").unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(storage.list("", true).unwrap(), vec!["a/b.txt"]);
        assert_eq!(read_to_string(&storage, "a/b.txt").unwrap(), "whole");
    }

    #[test]
    fn listing_is_sorted_and_respects_recursion() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        for p in ["b.txt", "a/z.txt", "a.txt", "c/d/e.txt"] {
            write_all(&storage, p, b"x").unwrap();
        }
        assert_eq!(storage.list("", true).unwrap(), vec!["a.txt", "a/z.txt", "b.txt", "c/d/e.txt"]);
        assert_eq!(storage.list("", false).unwrap(), vec!["a.txt", "b.txt"]);
        assert_eq!(storage.list("c", true).unwrap(), vec!["c/d/e.txt"]);
    }
}
