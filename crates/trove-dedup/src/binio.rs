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
