//! The private file of quantized rows (`rows.bin`), so openings need neither the
//! original CSV nor a second quantization.
//!
//! Layout (little-endian): magic `ZKPOTROW` (8), version `1` (4), rows (8),
//! values per row (4), then `rows * values` `i32`s, then Blake2b-256 of all the
//! bytes before it (32). A truncated or altered file is refused.

use std::io::{BufWriter, Write};
use std::path::Path;

use super::error::{io, DataError};
use crate::files::create_private;

const MAGIC: &[u8; 8] = b"ZKPOTROW";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 4;

/// Streams rows into a private file.
pub struct RowsWriter {
    out: BufWriter<std::fs::File>,
    hash: blake2b_simd::State,
    n_values: u32,
    rows: u64,
}

impl RowsWriter {
    /// Creates the file (mode 0600) for rows of `n_values` values; the row count
    /// is written by [`finish`](Self::finish).
    pub fn create(path: &Path, n_values: usize) -> Result<Self, DataError> {
        let f = create_private(path).map_err(io(path))?;
        let mut w = Self {
            out: BufWriter::with_capacity(1 << 20, f),
            hash: blake2b_simd::Params::new().hash_length(32).to_state(),
            n_values: n_values as u32,
            rows: 0,
        };
        // Placeholder header; rewritten with the row count at the end.
        w.put(&[0u8; HEADER]).map_err(io(path))?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)
    }

    /// Appends one row.
    pub fn push(&mut self, row: &[i64]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(row.len() * 4);
        for v in row {
            // Rows hold quantized values of at most 16 bits and a class index.
            buf.extend_from_slice(&(*v as i32).to_le_bytes());
        }
        self.hash.update(&buf);
        self.rows += 1;
        self.put(&buf)
    }

    /// Writes the header and checksum and closes the file.
    pub fn finish(mut self, path: &Path) -> Result<(), DataError> {
        use std::io::{Seek, SeekFrom};
        let header = header(self.rows, self.n_values);
        let mut total = blake2b_simd::Params::new().hash_length(32).to_state();
        total.update(&header);
        total.update(self.hash.finalize().as_bytes());
        let sum = total.finalize();
        self.put(sum.as_bytes()).map_err(io(path))?;
        let mut f = self.out.into_inner().map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })?;
        f.seek(SeekFrom::Start(0)).map_err(io(path))?;
        f.write_all(&header).map_err(io(path))?;
        f.sync_all().map_err(io(path))
    }
}

fn header(rows: u64, n_values: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&rows.to_le_bytes());
    h.extend_from_slice(&n_values.to_le_bytes());
    h
}

/// Reads a rows file: `(rows, values per row, flat values)`.
pub fn read_rows(path: &Path) -> Result<(u64, usize, Vec<i32>), DataError> {
    let bad = |reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(io(path))?;
    if bytes.len() < HEADER + 32 || &bytes[..8] != MAGIC {
        return Err(bad("not a zkpot rows file".into()));
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = u32_at(8);
    if version != VERSION {
        return Err(DataError::Version {
            path: path.to_path_buf(),
            found: version,
            expected: VERSION,
        });
    }
    let mut r = [0u8; 8];
    r.copy_from_slice(&bytes[12..20]);
    let rows = u64::from_le_bytes(r);
    let n_values = u32_at(20) as usize;
    let body = (rows as u128) * (n_values as u128) * 4;
    if (bytes.len() - HEADER - 32) as u128 != body {
        return Err(bad(format!(
            "truncated: expected {rows} rows of {n_values} values"
        )));
    }
    let end = bytes.len() - 32;
    let inner = blake2b_simd::Params::new()
        .hash_length(32)
        .hash(&bytes[HEADER..end]);
    let mut total = blake2b_simd::Params::new().hash_length(32).to_state();
    total.update(&bytes[..HEADER]);
    total.update(inner.as_bytes());
    if total.finalize().as_bytes() != &bytes[end..] {
        return Err(bad("checksum mismatch".into()));
    }
    let values = bytes[HEADER..end]
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((rows, n_values, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_tamper_detection() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rows.bin");
        let mut w = RowsWriter::create(&p, 3).unwrap();
        w.push(&[1, -2, 3]).unwrap();
        w.push(&[4, 5, -6]).unwrap();
        w.finish(&p).unwrap();
        assert_eq!(read_rows(&p).unwrap(), (2, 3, vec![1, -2, 3, 4, 5, -6]));
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
        assert!(matches!(read_rows(&p), Err(DataError::Malformed { .. })));
        let mut flipped = bytes.clone();
        flipped[HEADER + 1] ^= 1;
        std::fs::write(&p, &flipped).unwrap();
        assert!(matches!(read_rows(&p), Err(DataError::Malformed { .. })));
    }
}
