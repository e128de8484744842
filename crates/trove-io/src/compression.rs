//! Compression inferred from file extensions: none, gzip (`.gz`), zstd (`.zst`).

use std::io::{self, BufReader, Read, Write};
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
    reader: Box<dyn Read + Send>,
    raw_offset: Arc<AtomicU64>,
    compression: Compression,
}

impl DecodedReader {
    /// Wraps a raw file reader.
    pub fn new(raw: Box<dyn Read + Send>, compression: Compression) -> Result<DecodedReader> {
        let raw_offset = Arc::new(AtomicU64::new(0));
        let counted =
            BufReader::with_capacity(1 << 17, CountingReader { inner: raw, count: raw_offset.clone() });
        let reader: Box<dyn Read + Send> = match compression {
            Compression::None => Box::new(counted),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(counted)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::with_buffer(counted).map_err(Error::external)?)
            }
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

    /// The decoded stream. Read it in large blocks (or through [`LineReader`]): it is not buffered.
    pub fn reader(&mut self) -> &mut (dyn Read + Send) {
        &mut *self.reader
    }
}

/// Splits a stream into lines inside one reusable buffer, handing out each line as a mutable slice
/// (what simd-json parses in place): no copy per line.
pub struct LineReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
}

impl Default for LineReader {
    fn default() -> Self {
        LineReader { buf: vec![0; 1 << 18], start: 0, end: 0, eof: false }
    }
}

impl LineReader {
    /// Starts over for a new stream (keeps the buffer).
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.eof = false;
    }

    /// The next line (with its `\n`, if any), or `None` at the end of the stream.
    pub fn next_line(&mut self, r: &mut dyn Read) -> io::Result<Option<&mut [u8]>> {
        loop {
            if let Some(p) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let (s, e) = (self.start, self.start + p + 1);
                self.start = e;
                return Ok(Some(&mut self.buf[s..e]));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                let (s, e) = (self.start, self.end);
                self.start = e;
                return Ok(Some(&mut self.buf[s..e]));
            }
            // Move the partial line to the front, grow if it fills the buffer, read more.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let n = r.read(&mut self.buf[self.end..])?;
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reader_splits_across_reads_and_grows() {
        let long = "x".repeat(600_000);
        let text = format!("a\n\nbb\n{long}\nlast");
        // A reader that returns at most 7 bytes per call.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = Trickle(text.as_bytes());
        let mut lines = LineReader::default();
        let mut got = Vec::new();
        while let Some(line) = lines.next_line(&mut r).unwrap() {
            got.push(String::from_utf8(line.to_vec()).unwrap());
        }
        assert_eq!(got, ["a\n", "\n", "bb\n", &format!("{long}\n"), "last"]);
    }
}
