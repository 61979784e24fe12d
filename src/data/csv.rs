//! Streaming CSV input, plain or gzip-compressed.
//!
//! Three header forms are recognized from the first line:
//! - the bundled form `n_rows,n_features,class names...` (two integers, then
//!   either class names or, for numeric class names, a field count that differs
//!   from the data rows');
//! - a plain header of column names (some field is not a number);
//! - no header (the first line is data).
//!
//! Blank lines are skipped. Files are read as a stream, never held in memory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use super::error::{io, DataError};

/// The header a CSV file starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Header {
    /// `n_rows,n_features,class names...`.
    Bundled {
        /// Declared number of rows.
        n_rows: usize,
        /// Declared number of features.
        n_features: usize,
        /// Class names, in label order.
        classes: Vec<String>,
    },
    /// Column names.
    Names(Vec<String>),
    /// No header.
    None,
}

/// Counts the bytes read from the file (before decompression), for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}

/// Splits a line into trimmed fields.
pub fn fields(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// Data lines with their 1-based line numbers.
pub type Lines = Vec<(usize, String)>;

/// A CSV data stream: the header and the data lines after it.
pub struct CsvStream {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    /// The header found.
    pub header: Header,
    queued: VecDeque<(usize, String)>,
    line_no: usize,
    bytes: Arc<AtomicU64>,
}

impl CsvStream {
    /// Opens `path`, decompressing it if it starts with the gzip magic bytes,
    /// and detects its header form.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let mut magic = [0u8; 2];
        let n = File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(io(path))?;
        let bytes = Arc::new(AtomicU64::new(0));
        let raw = Counting {
            inner: File::open(path).map_err(io(path))?,
            count: bytes.clone(),
        };
        let reader: Box<dyn BufRead + Send> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(raw)))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, raw))
        };
        let mut s = Self {
            path: path.to_path_buf(),
            reader,
            header: Header::None,
            queued: VecDeque::new(),
            line_no: 0,
            bytes,
        };
        let first = s.read_line()?.ok_or_else(|| DataError::Empty {
            path: path.to_path_buf(),
        })?;
        let f = fields(&first.1);
        let int = |i: usize| f.get(i).and_then(|s| s.parse::<usize>().ok());
        let bundled = |f: &[&str]| Header::Bundled {
            n_rows: int(0).unwrap_or(0),
            n_features: int(1).unwrap_or(0),
            classes: f[2..].iter().map(|s| s.to_string()).collect(),
        };
        if f.iter().any(|x| !is_number(x)) {
            s.header = match (int(0), int(1)) {
                (Some(_), Some(_)) if f.len() > 2 => bundled(&f),
                _ => Header::Names(f.iter().map(|s| s.to_string()).collect()),
            };
        } else {
            let second = s.read_line()?;
            let looks_bundled = match (&second, int(0), int(1)) {
                (Some((_, line)), Some(_), Some(n_features)) => {
                    let n = fields(line).len();
                    f.len() > 2 && n != f.len() && n == n_features + 1
                }
                _ => false,
            };
            if looks_bundled {
                s.header = bundled(&f);
            } else {
                s.queued.push_back(first.clone());
            }
            if let Some(second) = second {
                s.queued.push_back(second);
            }
        }
        Ok(s)
    }

    fn read_line(&mut self) -> Result<Option<(usize, String)>, DataError> {
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).map_err(io(&self.path))?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            while line.ends_with(['\n', '\r']) {
                line.pop();
            }
            let t = line.trim();
            if t.len() == line.len() && !t.is_empty() {
                return Ok(Some((self.line_no, line)));
            }
            if !t.is_empty() {
                return Ok(Some((self.line_no, t.to_string())));
            }
        }
    }

    /// The next non-blank data line and its 1-based number.
    pub fn next_line(&mut self) -> Result<Option<(usize, String)>, DataError> {
        if let Some(l) = self.queued.pop_front() {
            return Ok(Some(l));
        }
        self.read_line()
    }

    /// Up to `n` more data lines.
    pub fn next_chunk(&mut self, n: usize) -> Result<Lines, DataError> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next_line()? {
                Some(l) => out.push(l),
                None => break,
            }
        }
        Ok(out)
    }

    /// Reads the rest of the stream in chunks of up to `n` lines on a
    /// background thread, a chunk or two ahead of the consumer, so reading
    /// overlaps the work done on each chunk. The iterator ends after the last
    /// chunk or the first error; dropping it stops the thread.
    pub fn into_chunks(mut self, n: usize) -> impl Iterator<Item = Result<Lines, DataError>> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        std::thread::spawn(move || loop {
            let chunk = self.next_chunk(n);
            let last = !matches!(&chunk, Ok(c) if !c.is_empty());
            if tx.send(chunk).is_err() || last {
                break;
            }
        });
        rx.into_iter()
            .take_while(|c| !matches!(c, Ok(lines) if lines.is_empty()))
    }

    /// A shared counter of the file bytes read so far.
    pub fn bytes_read(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn header_forms() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.csv", "3,2,a,b\n1,2,0\n3,4,1\n\n5,6,1\n");
        let mut s = CsvStream::open(&p).unwrap();
        assert_eq!(
            s.header,
            Header::Bundled {
                n_rows: 3,
                n_features: 2,
                classes: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(s.next_chunk(10).unwrap().len(), 3);

        let p = write(d.path(), "b.csv", "x,y,label\n1,2,0\n");
        assert_eq!(
            CsvStream::open(&p).unwrap().header,
            Header::Names(vec!["x".into(), "y".into(), "label".into()])
        );

        let p = write(d.path(), "c.csv", "1,2,0\n3,4,1\n");
        let mut s = CsvStream::open(&p).unwrap();
        assert_eq!(s.header, Header::None);
        assert_eq!(s.next_line().unwrap(), Some((1, "1,2,0".into())));
        assert_eq!(s.next_line().unwrap(), Some((2, "3,4,1".into())));
        assert_eq!(s.next_line().unwrap(), None);

        // Numeric class names: the header's field count differs from the rows'.
        let p = write(d.path(), "d.csv", "2,2,0,1,2\n1,2,0\n3,4,1\n");
        assert!(matches!(
            CsvStream::open(&p).unwrap().header,
            Header::Bundled { n_features: 2, .. }
        ));

        let p = write(d.path(), "e.csv", "\n\n");
        assert!(matches!(CsvStream::open(&p), Err(DataError::Empty { .. })));
    }
}
