//! Parquet input: the file's flat columns as records of text fields, read
//! row group by row group on a producer thread, so a Parquet file enters
//! the same two streaming passes as a CSV file.
//!
//! Integer and float columns become numbers (a 32-bit float is widened to
//! 64 bits exactly), string, dictionary-encoded (categorical), boolean and
//! integer columns can be the label. Nulls, nested columns (lists, maps,
//! structs), binary, decimal and temporal columns are errors naming the
//! column (and, for a null, the row).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};

use ::csv::ByteRecord;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

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

/// A value as text: numbers as the shortest decimal that reads back to the
/// same value, labels as written.
fn text(field: &Field) -> Result<String, &'static str> {
    Ok(match field {
        Field::Null => return Err("a null value"),
        Field::Bool(b) => b.to_string(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Float(v) => f64::from(*v).to_string(),
        Field::Double(v) => v.to_string(),
        Field::Str(s) => s.clone(),
        Field::Decimal(_) => return Err("a decimal (cast the column to float)"),
        Field::Bytes(_) => return Err("binary data"),
        _ => return Err("a value that is neither a number nor a label"),
    })
}

/// Rows of a Parquet file, from a producer thread; line numbers are row
/// numbers counted from 2, as if the column names were a header line.
pub struct ParquetRows {
    rx: Receiver<Result<(usize, ByteRecord), DataError>>,
}

impl ParquetRows {
    /// Starts reading `path`.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let reader = open(path)?;
        let path: PathBuf = path.to_path_buf();
        let (tx, rx) = sync_channel(4096);
        std::thread::spawn(move || {
            let names: Vec<String> = reader
                .metadata()
                .file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            for (r, row) in reader.into_iter().enumerate() {
                let item = row
                    .map_err(|e| malformed(&path, format!("row {r}: {e}")))
                    .and_then(|row| {
                        let mut record = ByteRecord::new();
                        for (j, (_, field)) in row.get_column_iter().enumerate() {
                            let t = text(field).map_err(|what| DataError::Csv {
                                path: path.clone(),
                                line: r + 2,
                                column: j + 1,
                                reason: format!(
                                    "row {r}, column {:?}: {what}",
                                    names.get(j).map_or("", String::as_str)
                                ),
                            })?;
                            record.push_field(t.as_bytes());
                        }
                        Ok((r + 2, record))
                    });
                let stop = item.is_err();
                if tx.send(item).is_err() || stop {
                    break;
                }
            }
        });
        Ok(Self { rx })
    }

    /// The next row, `None` after the last.
    pub fn next(&mut self) -> Result<Option<(usize, ByteRecord)>, DataError> {
        self.rx.recv().ok().transpose()
    }
}
