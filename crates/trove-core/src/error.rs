//! The error type of trove's libraries.

use std::path::PathBuf;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in trove. Every variant that comes from data names where: the file, and the line
/// or byte offset when known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a file.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a `source`).
        error: std::io::Error,
    },
    /// Input data that cannot be read, at a known place.
    #[error("{}: {location}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// Where in the file: `line 12`, `byte 1234`, ...
        location: String,
        /// What is wrong.
        message: String,
    },
    /// One or more problems in a pipeline configuration, each naming the step and the field.
    #[error("{}", .0.join("\n"))]
    Config(Vec<String>),
    /// A step failed; wraps the cause with the step's position and type.
    #[error("step {index} ({step}): {source}")]
    Step {
        /// 0-based position of the step in the pipeline.
        index: usize,
        /// The step's `type`.
        step: String,
        /// The cause.
        source: Box<Error>,
    },
    /// Malformed trove or DataTrove bookkeeping files (stats, markers).
    #[error("{0}")]
    Format(String),
    /// Some tasks of a run failed; each entry is a rank and its error.
    #[error("{} of {total} tasks failed: {}", failed.len(), failed.iter().map(|(r, e)| format!("rank {r}: {e}")).collect::<Vec<_>>().join("; "))]
    Tasks {
        /// Failed ranks and their errors.
        failed: Vec<(usize, String)>,
        /// Tasks attempted in the run.
        total: usize,
    },
    /// An error from a plugin crate.
    #[error(transparent)]
    External(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io { path: path.into(), error }
    }

    /// Bad data in `path` at `location`.
    pub fn data(path: impl Into<PathBuf>, location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Data { path: path.into(), location: location.into(), message: message.into() }
    }

    /// A single configuration problem.
    pub fn config(message: impl Into<String>) -> Error {
        Error::Config(vec![message.into()])
    }

    /// Wraps a plugin crate's error.
    pub fn external(err: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::External(Box::new(err))
    }
}

/// Adds a path to I/O errors: `file.read(..).with_path(&path)?`.
pub trait IoResultExt<T> {
    /// Converts an `io::Result` into a [`Result`] naming `path`.
    fn with_path(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoResultExt<T> for std::io::Result<T> {
    fn with_path(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
