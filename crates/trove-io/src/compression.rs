//! Compression inferred from file extensions: none, gzip (`.gz`), zstd (`.zst`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use trove_core::{AtomicFile, Error, Result};

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard.
    Zstd,
}

/// Default gzip level of trove's writers (see docs/decisions.md: level 1 of zlib-rs costs about a
/// quarter of level 6's CPU for files ≈ 12% larger).
pub const DEFAULT_GZIP_LEVEL: u32 = 1;
/// Default zstd level.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// From a file name's extension.
    pub fn from_extension(path: &str) -> Compression {
        if path.ends_with(".gz") {
            Compression::Gzip
        } else if path.ends_with(".zst") || path.ends_with(".zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// From a config value (`"infer"`, `"gzip"`, `"zstd"`, or none), inferring from `path` for
    /// `"infer"`. Unknown names are an error naming the value.
    pub fn resolve(name: Option<&str>, path: &str) -> Result<Compression> {
        match name {
            None | Some("none") => Ok(Compression::None),
            Some("infer") => {
                for ext in [".bz2", ".xz", ".lz4", ".zip"] {
                    if path.ends_with(ext) {
                        return Err(Error::data(
                            path,
                            "file name",
                            format!("`{ext}` compression is not supported"),
                        ));
                    }
                }
                Ok(Compression::from_extension(path))
            }
            Some("gzip") => Ok(Compression::Gzip),
            Some("zstd") => Ok(Compression::Zstd),
            Some(other) => Err(Error::config(format!(
                "unknown compression `{other}` (use \"infer\", \"gzip\", \"zstd\" or \"none\")"
            ))),
        }
    }

    /// The file extension a writer appends (`.gz`, `.zst`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

/// Counts bytes read through it, so decoding errors can name a byte offset in the compressed file.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A decompressing reader that knows how far into the raw file it has read.
pub struct DecodedReader {
    reader: Box<dyn BufRead + Send>,
    raw_offset: Arc<AtomicU64>,
    compression: Compression,
}

impl DecodedReader {
    /// Wraps a raw file reader.
    pub fn new(raw: Box<dyn Read + Send>, compression: Compression) -> Result<DecodedReader> {
        let raw_offset = Arc::new(AtomicU64::new(0));
        let counted =
            BufReader::with_capacity(1 << 17, CountingReader { inner: raw, count: raw_offset.clone() });
        let reader: Box<dyn BufRead + Send> = match compression {
            Compression::None => Box::new(counted),
            Compression::Gzip => {
                Box::new(BufReader::with_capacity(1 << 18, flate2::bufread::MultiGzDecoder::new(counted)))
            }
            Compression::Zstd => Box::new(BufReader::with_capacity(
                1 << 18,
                zstd::stream::read::Decoder::with_buffer(counted).map_err(Error::external)?,
            )),
        };
        Ok(DecodedReader { reader, raw_offset, compression })
    }

    /// Bytes of the raw (compressed) file consumed so far; for uncompressed files, at most one read
    /// buffer ahead of the position in the decoded stream.
    pub fn raw_offset(&self) -> u64 {
        self.raw_offset.load(Ordering::Relaxed)
    }

    /// The compression being decoded.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The decoded stream.
    pub fn reader(&mut self) -> &mut (dyn BufRead + Send) {
        &mut *self.reader
    }
}

/// A compressing writer over an atomic file. [`CompressedWriter::finish`] ends the stream and returns the
/// file, ready to be committed.
pub struct CompressedWriter {
    inner: Encoder,
    written: u64,
}

// Compressors get their input in large blocks (an outer buffer): one deflate call per 128 KiB rather
// than one per document.
enum Encoder {
    Plain(io::BufWriter<Box<dyn AtomicFile>>),
    Gzip(io::BufWriter<flate2::write::GzEncoder<io::BufWriter<Box<dyn AtomicFile>>>>),
    Zstd(io::BufWriter<zstd::stream::write::Encoder<'static, io::BufWriter<Box<dyn AtomicFile>>>>),
}

const BLOCK: usize = 1 << 17;

impl CompressedWriter {
    /// Starts writing `file` with `compression` at `level` (the format's default when `None`).
    pub fn new(
        file: Box<dyn AtomicFile>,
        compression: Compression,
        level: Option<i32>,
    ) -> Result<CompressedWriter> {
        let buffered = io::BufWriter::with_capacity(1 << 17, file);
        let inner = match compression {
            Compression::None => Encoder::Plain(buffered),
            Compression::Gzip => {
                let level = level.map(|l| l.clamp(0, 9) as u32).unwrap_or(DEFAULT_GZIP_LEVEL);
                let gz = flate2::write::GzEncoder::new(buffered, flate2::Compression::new(level));
                Encoder::Gzip(io::BufWriter::with_capacity(BLOCK, gz))
            }
            Compression::Zstd => Encoder::Zstd(io::BufWriter::with_capacity(
                BLOCK,
                zstd::stream::write::Encoder::new(buffered, level.unwrap_or(DEFAULT_ZSTD_LEVEL))
                    .map_err(Error::external)?,
            )),
        };
        Ok(CompressedWriter { inner, written: 0 })
    }

    /// Uncompressed bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Ends the compressed stream and returns the file (not yet committed).
    pub fn finish(self) -> io::Result<Box<dyn AtomicFile>> {
        let buffered = match self.inner {
            Encoder::Plain(w) => w,
            Encoder::Gzip(w) => w.into_inner().map_err(|e| e.into_error())?.finish()?,
            Encoder::Zstd(w) => w.into_inner().map_err(|e| e.into_error())?.finish()?,
        };
        buffered.into_inner().map_err(|e| e.into_error())
    }
}

impl Write for CompressedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            Encoder::Plain(w) => w.write(buf)?,
            Encoder::Gzip(w) => w.write(buf)?,
            Encoder::Zstd(w) => w.write(buf)?,
        };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

/// `true` when `path` names a file trove can decompress or read plainly.
pub fn is_supported(path: &Path) -> bool {
    let name = path.to_string_lossy();
    ![".bz2", ".xz", ".lz4", ".zip"].iter().any(|e| name.ends_with(e))
}
