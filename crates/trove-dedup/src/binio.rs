//! Fixed-size little-endian records, as DataTrove's dedup stages write them (`struct.pack("<...")`).

use std::io::{BufReader, Read};
use trove_core::{Error, Result, Storage};

/// Reads a file of fixed-size records; a short last record is an error naming the file.
pub(crate) struct Records {
    reader: BufReader<Box<dyn Read + Send>>,
    /// The file's full location, for messages.
    pub(crate) path: String,
    buf: Vec<u8>,
}

impl Records {
    pub(crate) fn open(storage: &dyn Storage, path: &str, size: usize) -> Result<Records> {
        Ok(Records {
            reader: BufReader::with_capacity(1 << 16, storage.open(path)?),
            path: storage.resolve(path),
            buf: vec![0; size],
        })
    }

    /// The next record, or `None` at the end of the file.
    pub(crate) fn next(&mut self) -> Result<Option<&[u8]>> {
        let mut filled = 0;
        while filled < self.buf.len() {
            let n = self.reader.read(&mut self.buf[filled..]).map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                if filled == 0 {
                    return Ok(None);
                }
                return Err(Error::Format(format!(
                    "{}: truncated record ({filled} of {} bytes): re-run the stage that wrote it",
                    self.path,
                    self.buf.len()
                )));
            }
            filled += n;
        }
        Ok(Some(&self.buf))
    }
}

/// A little-endian unsigned integer of 4 or 8 bytes.
pub(crate) fn le_uint(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
    u64::from_le_bytes(b)
}

/// A whole file of `u32` values; `None` when it does not exist.
pub(crate) fn read_u32s(storage: &dyn Storage, path: &str) -> Result<Option<Vec<u32>>> {
    if !storage.exists(path)? {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    storage.open(path)?.read_to_end(&mut bytes).map_err(|e| Error::io(storage.resolve(path), e))?;
    if bytes.len() % 4 != 0 {
        return Err(Error::Format(format!(
            "{}: {} bytes, not whole u32 values",
            storage.resolve(path),
            bytes.len()
        )));
    }
    Ok(Some(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
}

/// DataTrove's `save_hashes` for exact and sentence dedup: sorted signatures split by hash range among
/// the finder workers, `{worker:04}/{rank:05}.c4_sig`, staged for the task to publish. Worker `i` takes
/// hashes up to `(i + 1) · (max / workers)`, the last one up to `last`; as DataTrove, no file is written
/// for the workers after the one holding the last signature.
#[allow(clippy::too_many_arguments)] // DataTrove's split has this many inputs
pub(crate) fn write_finder_files<T>(
    storage: &dyn Storage,
    cx: &mut trove_core::Context<'_>,
    sigs: &[T],
    hash: impl Fn(&T) -> u64,
    encode: impl Fn(&T, &mut Vec<u8>),
    workers: usize,
    max: u64,
    last: u64,
) -> Result<()> {
    use std::io::Write;
    let per_worker = max / workers as u64;
    let mut at = 0;
    for worker in 0..workers {
        let right = if worker + 1 == workers { last } else { (worker as u64 + 1) * per_worker };
        let end = at + sigs[at..].partition_point(|s| hash(s) <= right);
        let mut bytes = Vec::new();
        for s in &sigs[at..end] {
            encode(s, &mut bytes);
        }
        let path = format!("{worker:04}/{:05}.c4_sig", cx.task.rank);
        let mut file = storage.create(&path)?;
        file.write_all(&bytes).map_err(|e| Error::io(storage.resolve(&path), e))?;
        cx.outputs.stage(file);
        at = end;
        if at >= sigs.len() {
            break;
        }
    }
    Ok(())
}

/// The signature files a finder task merges: `{rank:04}/*.c4_sig`, sorted. With one task, every file
/// must be in `0000/` (else the signature stage had more finder workers than there are tasks).
pub(crate) fn finder_inputs(storage: &dyn Storage, rank: usize, world_size: usize) -> Result<Vec<String>> {
    let all = storage.list("", true)?;
    if world_size == 1 && all.iter().any(|f| f.ends_with(".c4_sig") && !f.starts_with("0000/")) {
        return Err(Error::config(format!(
            "{}: signatures for several finder workers, but 1 task: set tasks = finder_workers",
            storage.resolve("")
        )));
    }
    let prefix = format!("{rank:04}/");
    let mut files: Vec<String> =
        all.into_iter().filter(|f| f.starts_with(&prefix) && f.ends_with(".c4_sig")).collect();
    files.sort();
    Ok(files)
}
