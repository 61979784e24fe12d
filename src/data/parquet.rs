//! Parquet input: the file's flat columns as records of text fields, read
//! column by column in batches of a few thousand rows of each row group on
//! a producer thread, so a Parquet file enters the same two streaming passes
//! as a CSV file with bounded memory.
//!
//! Integer and float columns become numbers (a 32-bit float is widened to
//! 64 bits exactly), string, dictionary-encoded (categorical), boolean and
//! integer columns can be the label. Nulls, nested columns (lists, maps,
//! structs), binary, decimal and temporal columns are errors naming the
//! column (and, for a null, the row).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use ::csv::ByteRecord;
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use super::error::{io, DataError};

/// The first bytes of a Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// True when `path` starts with the Parquet magic bytes.
pub fn is_parquet(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|_| &magic == MAGIC)
}

fn malformed(path: &Path, reason: String) -> DataError {
    // The codecs this build reads are snappy, zstd, lz4 and gzip; say so
    // instead of the reader's "disabled feature".
    let reason = match reason.split("Disabled feature at compile time: ").nth(1) {
        Some(codec) => format!(
            "compressed with {}, which zkpot does not read; write the file with snappy, \
             zstd, lz4 or gzip compression (pyarrow: compression=\"zstd\")",
            codec.trim()
        ),
        None => reason,
    };
    DataError::Malformed {
        path: path.to_path_buf(),
        reason,
    }
}

fn open(path: &Path) -> Result<SerializedFileReader<File>, DataError> {
    let file = File::open(path).map_err(io(path))?;
    SerializedFileReader::new(file)
        .map_err(|e| malformed(path, format!("not a readable Parquet file ({e})")))
}

/// The column names of a Parquet file, refusing nested columns.
pub fn column_names(path: &Path) -> Result<Vec<String>, DataError> {
    let reader = open(path)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let mut names = Vec::new();
    for field in schema.root_schema().get_fields() {
        if field.is_group() {
            return Err(malformed(
                path,
                format!(
                    "column {:?} is nested (a list, map or struct); only flat columns are read",
                    field.name()
                ),
            ));
        }
        names.push(field.name().to_string());
    }
    if names.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(names)
}

/// How a column's values become text.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    Signed,
    Unsigned,
    Real,
    Text,
}

/// The kind of a flat column, or why it cannot be read.
fn classify(col: &ColumnDescriptor) -> Result<Kind, &'static str> {
    use parquet::basic::{ConvertedType as C, LogicalType as L, Type as P};
    let logical = col.logical_type_ref();
    let converted = col.converted_type();
    let temporal = "a date or time (cast the column to a number)";
    let decimal = "a decimal (cast the column to float)";
    match (col.physical_type(), logical) {
        (_, Some(L::Decimal { .. })) => Err(decimal),
        (_, Some(L::Date | L::Time { .. } | L::Timestamp { .. })) => Err(temporal),
        (P::BOOLEAN, _) => Ok(Kind::Bool),
        (P::INT32 | P::INT64, Some(L::Integer { is_signed, .. })) => Ok(if *is_signed {
            Kind::Signed
        } else {
            Kind::Unsigned
        }),
        (P::INT32 | P::INT64, _) => match converted {
            C::UINT_8 | C::UINT_16 | C::UINT_32 | C::UINT_64 => Ok(Kind::Unsigned),
            C::DECIMAL => Err(decimal),
            C::DATE
            | C::TIME_MILLIS
            | C::TIME_MICROS
            | C::TIMESTAMP_MILLIS
            | C::TIMESTAMP_MICROS => Err(temporal),
            _ => Ok(Kind::Signed),
        },
        (P::INT96, _) => Err(temporal),
        (P::FLOAT | P::DOUBLE, _) => Ok(Kind::Real),
        (P::BYTE_ARRAY, Some(L::String | L::Enum)) => Ok(Kind::Text),
        (P::BYTE_ARRAY, _) if matches!(converted, C::UTF8 | C::ENUM) => Ok(Kind::Text),
        (P::BYTE_ARRAY, _) if converted == C::DECIMAL => Err(decimal),
        _ => Err("binary data"),
    }
}

/// Rows decoded per column at a time: bounds memory whatever the row
/// groups' size.
const BATCH: usize = 4096;

/// Reads up to `want` records of one column as text, `None` for a null.
fn read_column(
    reader: &mut ColumnReader,
    kind: Kind,
    max_def: i16,
    want: usize,
) -> Result<Vec<Option<String>>, String> {
    fn spread<T>(
        values: Vec<T>,
        defs: &[i16],
        max_def: i16,
        records: usize,
        text: impl Fn(T) -> Result<String, String>,
    ) -> Result<Vec<Option<String>>, String> {
        let mut values = values.into_iter();
        let mut out = Vec::with_capacity(records);
        for r in 0..records {
            let present = max_def == 0 || defs.get(r).is_some_and(|d| *d == max_def);
            out.push(match present {
                true => Some(text(values.next().ok_or("fewer values than rows")?)?),
                false => None,
            });
        }
        Ok(out)
    }
    macro_rules! read {
        ($r:expr, $text:expr) => {{
            let mut values = Vec::with_capacity(want);
            let mut defs = Vec::with_capacity(want);
            let (records, _, _) = $r
                .read_records(want, Some(&mut defs), None, &mut values)
                .map_err(|e| e.to_string())?;
            spread(values, &defs, max_def, records, $text)
        }};
    }
    let signed = matches!(kind, Kind::Signed);
    match reader {
        ColumnReader::BoolColumnReader(r) => read!(r, |v: bool| Ok(v.to_string())),
        ColumnReader::Int32ColumnReader(r) => read!(r, |v: i32| Ok(match signed {
            true => v.to_string(),
            false => (v as u32).to_string(),
        })),
        ColumnReader::Int64ColumnReader(r) => read!(r, |v: i64| Ok(match signed {
            true => v.to_string(),
            false => (v as u64).to_string(),
        })),
        // A 32-bit float is widened to 64 bits exactly.
        ColumnReader::FloatColumnReader(r) => read!(r, |v: f32| Ok(f64::from(v).to_string())),
        ColumnReader::DoubleColumnReader(r) => read!(r, |v: f64| Ok(v.to_string())),
        ColumnReader::ByteArrayColumnReader(r) => read!(r, |v: ByteArray| {
            std::str::from_utf8(v.data())
                .map(str::to_string)
                .map_err(|_| "a label that is not UTF-8".to_string())
        }),
        _ => Err("binary data".into()),
    }
}

/// Rows of a Parquet file, from a producer thread; line numbers are row
/// numbers counted from 2, as if the column names were a header line.
pub struct ParquetRows {
    rx: Receiver<Result<(usize, ByteRecord), DataError>>,
}

/// A value error at `row` of column `j`, as the CSV reader reports one.
fn value_error(path: &Path, names: &[String], row: usize, j: usize, what: &str) -> DataError {
    DataError::Csv {
        path: path.to_path_buf(),
        line: row + 2,
        column: j + 1,
        reason: format!(
            "row {row}, column {:?}: {what}",
            names.get(j).map_or("", String::as_str)
        ),
    }
}

/// Every row of the file, a batch of [`BATCH`] rows of each column at a
/// time, sent as records; stops at the first error (sent) or when the
/// receiver is gone.
fn produce(
    reader: SerializedFileReader<File>,
    path: &Path,
    tx: &SyncSender<Result<(usize, ByteRecord), DataError>>,
) -> Result<(), DataError> {
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let columns = schema.columns();
    let names: Vec<String> = columns.iter().map(|c| c.name().to_string()).collect();
    let mut kinds = Vec::with_capacity(columns.len());
    for (j, c) in columns.iter().enumerate() {
        kinds.push(classify(c).map_err(|what| value_error(path, &names, 0, j, what))?);
    }
    let mut row = 0usize;
    for g in 0..reader.num_row_groups() {
        let group = reader
            .get_row_group(g)
            .map_err(|e| malformed(path, format!("row group {g}: {e}")))?;
        let rows = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
        let mut readers = Vec::with_capacity(columns.len());
        for j in 0..columns.len() {
            readers.push(
                group
                    .get_column_reader(j)
                    .map_err(|e| malformed(path, format!("row group {g}: {e}")))?,
            );
        }
        let mut done = 0;
        while done < rows {
            let want = BATCH.min(rows - done);
            let mut texts = Vec::with_capacity(columns.len());
            for (j, r) in readers.iter_mut().enumerate() {
                let t = read_column(r, kinds[j], columns[j].max_def_level(), want)
                    .map_err(|what| value_error(path, &names, row, j, &what))?;
                if t.len() != want {
                    return Err(malformed(
                        path,
                        format!("row group {g}: column {:?} ends before its rows", names[j]),
                    ));
                }
                texts.push(t);
            }
            for r in 0..want {
                let mut record = ByteRecord::with_capacity(16 * texts.len(), texts.len());
                for (j, column) in texts.iter().enumerate() {
                    match &column[r] {
                        Some(t) => record.push_field(t.as_bytes()),
                        None => return Err(value_error(path, &names, row + r, j, "a null value")),
                    }
                }
                if tx.send(Ok((row + r + 2, record))).is_err() {
                    return Ok(());
                }
            }
            done += want;
            row += want;
        }
    }
    Ok(())
}

impl ParquetRows {
    /// Starts reading `path`.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let reader = open(path)?;
        let path: PathBuf = path.to_path_buf();
        let (tx, rx) = sync_channel(2 * BATCH);
        std::thread::spawn(move || {
            if let Err(e) = produce(reader, &path, &tx) {
                // The receiver may be gone; then nobody needs the error.
                let _ = tx.send(Err(e));
            }
        });
        Ok(Self { rx })
    }

    /// The next row, `None` after the last.
    pub fn next(&mut self) -> Result<Option<(usize, ByteRecord)>, DataError> {
        self.rx.recv().ok().transpose()
    }
}
