//! Streaming CSV input, plain or gzip-compressed, read by the `csv` crate
//! (RFC 4180 quoting and escaped quotes, CRLF, a leading UTF-8 byte-order
//! mark, a chosen delimiter).
//!
//! Three header forms are recognized from the first record:
//! - the bundled form `n_rows,n_features,class names...` (two integers, then
//!   either class names or, for numeric class names, a field count that differs
//!   from the data rows');
//! - a plain header of column names (some field is not a number);
//! - no header (the first record is data).
//!
//! Blank lines are skipped. Files are read as a stream, never held in memory.
//! A Parquet file (recognized by its magic bytes) is read through the same
//! stream ([`super::parquet`]): its column names are the header.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ::csv::ByteRecord;
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

/// True for the column names pandas writes for a `DataFrame` built from an
/// array (`0,1,2,...`, at least three): read as a header, not a data row.
pub fn is_default_names<S: AsRef<str>>(fields: &[S]) -> bool {
    fields.len() >= 3
        && fields
            .iter()
            .enumerate()
            .all(|(i, x)| x.as_ref() == i.to_string())
}

/// What a field that is not UTF-8 text is told.
pub const NOT_UTF8: &str = "not UTF-8 text (a binary file?)";

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

/// Data records with their 1-based line numbers. Fields are raw bytes,
/// untrimmed: the consumer decodes and trims them (in parallel), which
/// keeps the reading thread to splitting records.
pub type Records = Vec<(usize, ByteRecord)>;

/// A field as trimmed UTF-8 text, `None` if it is not UTF-8.
pub fn field_text(record: &ByteRecord, j: usize) -> Option<&str> {
    std::str::from_utf8(record.get(j)?).ok().map(str::trim)
}

/// Where records come from.
enum Source {
    Csv(::csv::Reader<Box<dyn Read + Send>>),
    Parquet(super::parquet::ParquetRows),
}

/// A CSV (or Parquet) data stream: the header and the data records after it.
pub struct CsvStream {
    path: PathBuf,
    source: Source,
    /// The header found.
    pub header: Header,
    queued: VecDeque<(usize, ByteRecord)>,
    bytes: Arc<AtomicU64>,
}

impl CsvStream {
    /// Opens `path` with fields separated by `delimiter`, decompressing it if
    /// it starts with the gzip magic bytes, and detects its header form.
    pub fn open(path: &Path, delimiter: u8) -> Result<Self, DataError> {
        if super::parquet::is_parquet(path) {
            let names = super::parquet::column_names(path)?;
            if let Some(j) = names.iter().position(|x| x.chars().any(char::is_control)) {
                return Err(DataError::Csv {
                    path: path.to_path_buf(),
                    line: 1,
                    column: j + 1,
                    reason: format!("column name {:?} holds control characters", names[j]),
                });
            }
            let len = std::fs::metadata(path).map_err(io(path))?.len();
            return Ok(Self {
                path: path.to_path_buf(),
                source: Source::Parquet(super::parquet::ParquetRows::open(path)?),
                header: Header::Names(names),
                queued: VecDeque::new(),
                bytes: Arc::new(AtomicU64::new(len)),
            });
        }
        let mut magic = [0u8; 2];
        let n = File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .map_err(io(path))?;
        let bytes = Arc::new(AtomicU64::new(0));
        let raw = Counting {
            inner: File::open(path).map_err(io(path))?,
            count: bytes.clone(),
        };
        let input: Box<dyn Read + Send> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            // Records end at `\n` (a `\r` before it is trimmed with the last
            // field), so line numbers stay exact in CRLF files too.
            .terminator(::csv::Terminator::Any(b'\n'))
            .buffer_capacity(1 << 20)
            .from_reader(input);
        let mut s = Self {
            path: path.to_path_buf(),
            source: Source::Csv(reader),
            header: Header::None,
            queued: VecDeque::new(),
            bytes,
        };
        let first = s.read_record()?.ok_or_else(|| DataError::Empty {
            path: path.to_path_buf(),
        })?;
        let f: Vec<&str> = (0..first.1.len())
            .map(|j| {
                field_text(&first.1, j).ok_or_else(|| DataError::Csv {
                    path: path.to_path_buf(),
                    line: first.0,
                    column: j + 1,
                    reason: NOT_UTF8.into(),
                })
            })
            .collect::<Result<_, _>>()?;
        if let Some(j) = f.iter().position(|x| x.chars().any(char::is_control)) {
            return Err(DataError::Csv {
                path: path.to_path_buf(),
                line: first.0,
                column: j + 1,
                reason: format!("{:?} holds control characters", f[j]),
            });
        }
        let int = |i: usize| f.get(i).and_then(|s| s.parse::<usize>().ok());
        let bundled = |f: &[&str]| Header::Bundled {
            n_rows: int(0).unwrap_or(0),
            n_features: int(1).unwrap_or(0),
            classes: f[2..].iter().map(|s| s.to_string()).collect(),
        };
        if f.iter().any(|x| !is_number(x)) {
            s.header = match (int(0), int(1)) {
                // pandas names unnamed columns 0, 1, ...: "0,1,...,label" is
                // names, not a bundled header of 0 rows.
                (Some(rows), Some(_)) if f.len() > 2 && rows > 0 => bundled(&f),
                _ => Header::Names(f.iter().map(|s| s.to_string()).collect()),
            };
        } else if is_default_names(&f) {
            s.header = Header::Names(f.iter().map(|s| s.to_string()).collect());
        } else {
            let second = s.read_record()?;
            let looks_bundled = match (&second, int(0), int(1)) {
                (Some((_, r)), Some(_), Some(n_features)) => {
                    let n = r.len();
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

    fn read_record(&mut self) -> Result<Option<(usize, ByteRecord)>, DataError> {
        let reader = match &mut self.source {
            Source::Csv(r) => r,
            Source::Parquet(rows) => return rows.next(),
        };
        loop {
            let mut record = ByteRecord::with_capacity(256, 16);
            let more = reader.read_byte_record(&mut record).map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                match e.into_kind() {
                    ::csv::ErrorKind::Io(source) => DataError::Io {
                        path: self.path.clone(),
                        source,
                    },

                    other => DataError::Csv {
                        path: self.path.clone(),
                        line,
                        column: 1,
                        reason: format!("{other:?}"),
                    },
                }
            })?;
            if !more {
                return Ok(None);
            }
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            return Ok(Some((line, record)));
        }
    }

    /// The next non-blank data record and its 1-based line number.
    pub fn next_record(&mut self) -> Result<Option<(usize, ByteRecord)>, DataError> {
        if let Some(l) = self.queued.pop_front() {
            return Ok(Some(l));
        }
        self.read_record()
    }

    /// Up to `n` more data records.
    pub fn next_chunk(&mut self, n: usize) -> Result<Records, DataError> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match self.next_record()? {
                Some(l) => out.push(l),
                None => break,
            }
        }
        Ok(out)
    }

    /// Reads the rest of the stream in chunks of up to `n` records on a
    /// background thread, a chunk or two ahead of the consumer, so reading
    /// overlaps the work done on each chunk. The iterator ends after the last
    /// chunk or the first error; dropping it stops the thread.
    pub fn into_chunks(mut self, n: usize) -> impl Iterator<Item = Result<Records, DataError>> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        std::thread::spawn(move || loop {
            let chunk = self.next_chunk(n);
            let last = !matches!(&chunk, Ok(c) if !c.is_empty());
            if tx.send(chunk).is_err() || last {
                break;
            }
        });
        rx.into_iter()
            .take_while(|c| !matches!(c, Ok(records) if records.is_empty()))
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

    fn fields(r: &(usize, ByteRecord)) -> (usize, Vec<String>) {
        (
            r.0,
            (0..r.1.len())
                .map(|j| field_text(&r.1, j).unwrap().to_string())
                .collect(),
        )
    }

    #[test]
    fn header_forms() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "a.csv", "3,2,a,b\n1,2,0\n3,4,1\n\n5,6,1\n");
        let mut s = CsvStream::open(&p, b',').unwrap();
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
            CsvStream::open(&p, b',').unwrap().header,
            Header::Names(vec!["x".into(), "y".into(), "label".into()])
        );

        let p = write(d.path(), "c.csv", "1,2,0\n3,4,1\n");
        let mut s = CsvStream::open(&p, b',').unwrap();
        assert_eq!(s.header, Header::None);
        let r = s.next_record().unwrap().unwrap();
        assert_eq!(fields(&r), (1, vec!["1".into(), "2".into(), "0".into()]));
        let r = s.next_record().unwrap().unwrap();
        assert_eq!(r.0, 2);
        assert!(s.next_record().unwrap().is_none());

        // Numeric class names: the header's field count differs from the rows'.
        let p = write(d.path(), "d.csv", "2,2,0,1,2\n1,2,0\n3,4,1\n");
        assert!(matches!(
            CsvStream::open(&p, b',').unwrap().header,
            Header::Bundled { n_features: 2, .. }
        ));

        // pandas' names of unnamed columns are a header, all numbers or not.
        let p = write(d.path(), "pd.csv", "0,1,2\n5,6,1\n7,8,0\n");
        let mut s = CsvStream::open(&p, b',').unwrap();
        assert_eq!(
            s.header,
            Header::Names(vec!["0".into(), "1".into(), "2".into()])
        );
        assert_eq!(s.next_chunk(10).unwrap().len(), 2);
        let p = write(d.path(), "pd2.csv", "0,1,label\n5,6,a\n");
        assert!(matches!(
            CsvStream::open(&p, b',').unwrap().header,
            Header::Names(_)
        ));

        // Control characters in a header (class or column names) are refused:
        // the names are printed by every command that reads the commitment.
        let p = write(d.path(), "esc.csv", "2,2,\"a\x1b[2K\",b\n1,2,0\n3,4,1\n");
        assert!(matches!(
            CsvStream::open(&p, b','),
            Err(DataError::Csv { column: 3, .. })
        ));

        let p = write(d.path(), "e.csv", "\n\n");
        assert!(matches!(
            CsvStream::open(&p, b','),
            Err(DataError::Empty { .. })
        ));
    }

    #[test]
    fn quoting_crlf_bom_and_delimiters() {
        let d = tempfile::tempdir().unwrap();
        let text = "\u{feff}\"x\",\"y, with comma\",\"say \"\"hi\"\"\"\r\n\"1.5\",\"2\",\"B\"\r\n";
        let p = write(d.path(), "q.csv", text);
        let mut s = CsvStream::open(&p, b',').unwrap();
        assert_eq!(
            s.header,
            Header::Names(vec![
                "x".into(),
                "y, with comma".into(),
                "say \"hi\"".into()
            ])
        );
        let r = s.next_record().unwrap().unwrap();
        assert_eq!(fields(&r), (2, vec!["1.5".into(), "2".into(), "B".into()]));

        let p = write(d.path(), "s.csv", "a;b;c\n1,5;2;0\n");
        let mut s = CsvStream::open(&p, b';').unwrap();
        assert_eq!(
            s.header,
            Header::Names(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(s.next_record().unwrap().unwrap().1.len(), 3);
        let p = write(d.path(), "t.tsv", "a\tb\n1\t0\n");
        let s = CsvStream::open(&p, b'\t').unwrap();
        assert_eq!(s.header, Header::Names(vec!["a".into(), "b".into()]));

        // A binary file is named as such, with its line.
        let p = d.path().join("bin.parquet");
        std::fs::write(&p, b"PAQ1\xff\xfe\x00\x01,\x80\n").unwrap();
        let err = CsvStream::open(&p, b',').err().unwrap().to_string();
        assert!(!err.contains("Parquet"), "{err}");
        assert!(err.contains("not UTF-8"), "{err}");
    }
}
