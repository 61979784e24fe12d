//! Committing a CSV dataset: two streaming passes (statistics, then quantize and
//! hash), a Poseidon Merkle tree, and three files written only on success:
//!
//! - `commitment.json` (public): the public root, the Merkle root, row count,
//!   depth, schema and format version; the public root commits to all of them
//!   ([`binding`](super::binding));
//! - `dataset.secret` (private, 0600): the 32-byte salt secret;
//! - `rows.bin` (private, 0600): the quantized rows, for later openings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zkpot_circuits::circuits::membership::{leaves_native, RowLayout};
use zkpot_circuits::fixed::QFormat;
use zkpot_circuits::Fp;

use super::binding::DatasetRef;
use super::columns::{choose, Column, ColumnChecks, ColumnChoice, Columns};
use super::csv::{field_text, CsvStream, Header, NOT_UTF8};
use super::error::{io, DataError};
use super::rows::RowsWriter;
use super::schema::{fitting_frac_bits, FeatureStats, NormKind, Schema};
use super::secret::DatasetSecret;
use super::tree::MerkleTree;
use crate::files::{read_versioned, temp_path, write_atomic};
use crate::hex::fp_to_hex;
use crate::numbers::{real, real_beside};

/// The format name written into commitment files.
pub const COMMITMENT_FORMAT: &str = "zkpot-dataset-commitment";
/// The commitment file version this build writes and reads.
pub const COMMITMENT_VERSION: u32 = 2;

/// Lines parsed per parallel chunk.
const CHUNK: usize = 1 << 14;

/// The public commitment to a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// Always [`COMMITMENT_FORMAT`].
    pub format: String,
    /// Always [`COMMITMENT_VERSION`] for files this build reads.
    pub version: u32,
    /// The public root (see [`binding`](super::binding)), as `0x` and 64 hex
    /// digits of the field element's little-endian encoding: the value
    /// statements name and a dataset is published as.
    pub root: String,
    /// The Merkle root of the salted leaves, in the same encoding.
    pub tree_root: String,
    /// Number of rows.
    pub n_rows: u64,
    /// Tree depth; leaves are padded with zeros to `2^depth`.
    pub depth: u32,
    /// What a row means.
    pub schema: Schema,
}

impl Commitment {
    /// The public root as a field element.
    pub fn root(&self) -> Result<Fp, DataError> {
        self.dataset_ref()?.public_root()
    }

    /// The Merkle root as a field element.
    pub fn tree_root(&self) -> Result<Fp, DataError> {
        self.dataset_ref()?.tree_root()
    }

    /// What statements over this dataset carry: the stated roots, size and
    /// layout, and the digest of the schema (computed from it).
    pub fn dataset_ref(&self) -> Result<DatasetRef, DataError> {
        Ok(DatasetRef {
            root: self.root.clone(),
            tree_root: self.tree_root.clone(),
            n_rows: self.n_rows,
            depth: self.depth,
            layout: self.schema.layout(),
            format: self.schema.format,
            classes: self.schema.classes.len() as u32,
            schema_digest: fp_to_hex(&self.schema.digest()?),
        })
    }

    /// Checks everything a prover could have written inconsistently: the
    /// format and version (copies inside run and evaluation files are not
    /// read through [`read`](Self::read)), the schema's normalization has one entry a feature, the layout and sizes
    /// are inside the envelope, the depth is the row count's and the public
    /// root is the one the tree root, row count, depth and schema give.
    pub fn check(&self) -> Result<(), DataError> {
        if self.format != COMMITMENT_FORMAT || self.version != COMMITMENT_VERSION {
            return Err(DataError::Binding {
                field: "format",
                reason: format!(
                    "{:?} version {}; this zkpot reads {COMMITMENT_FORMAT:?} version \
                     {COMMITMENT_VERSION}",
                    self.format, self.version
                ),
            });
        }
        let n = self.schema.n_features;
        if self.schema.normalization.offset.len() != n || self.schema.normalization.scale.len() != n
        {
            return Err(DataError::Binding {
                field: "schema",
                reason: "the normalization does not have one entry a feature".into(),
            });
        }
        if self.schema.feature_names.len() > n {
            return Err(DataError::Binding {
                field: "schema",
                reason: "more feature names than features".into(),
            });
        }
        let names = self.schema.classes.iter().chain(&self.schema.feature_names);
        if let Some(name) = names.into_iter().find(|s| s.chars().any(char::is_control)) {
            return Err(DataError::Binding {
                field: "schema",
                reason: format!("the name {name:?} holds control characters"),
            });
        }
        self.dataset_ref()?.check(1)
    }

    /// Reads a commitment file, refusing other formats, other versions,
    /// truncated or invalid JSON, and files whose public root does not commit
    /// to their contents.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let c: Commitment = read_versioned(path, COMMITMENT_FORMAT, COMMITMENT_VERSION)?;
        c.check().map_err(|e| DataError::Malformed {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(c)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String, DataError> {
        serde_json::to_string_pretty(self)
            .map_err(|e| DataError::Options(format!("commitment serialization: {e}")))
    }
}

/// Which CSV column holds the label (a [`Column`]).
pub type LabelColumn = Column;

/// Options of [`commit_csv`].
#[derive(Clone, Debug)]
pub struct CommitOptions {
    /// Fixed-point format of normalized features.
    pub format: QFormat,
    /// When the normalized features do not fit `format` (standardized
    /// values beyond two deviations, raw values with no normalization),
    /// lower its fractional bits to the most that fit, with a note; when
    /// false such data is refused, naming the feature and the fractional
    /// bits that would fit. The CLI and Python set it unless fractional bits
    /// are given explicitly.
    pub fit_format: bool,
    /// Feature normalization.
    pub normalize: NormKind,
    /// The label column (default: the last).
    pub label_column: Option<LabelColumn>,
    /// The feature columns, in the committed order (default: every column
    /// but the label, less `drop` and a pandas index).
    pub features: Option<Vec<Column>>,
    /// Columns to leave out of the features.
    pub drop: Vec<Column>,
    /// The field delimiter (`,` by default; `;` and tab are common).
    pub delimiter: u8,
    /// Show progress bars on stderr.
    pub progress: bool,
    /// The salt secret (default: fresh randomness).
    pub secret: Option<DatasetSecret>,
}

/// The fractional bits committed features get by default (at most the
/// signed bit bound minus 2).
pub const DEFAULT_FRAC_BITS: u32 = 6;

impl CommitOptions {
    /// Sets the features' format from `bits` signed bits (default: the
    /// current format's) and `frac_bits` fractional bits. Without
    /// `frac_bits` the format gets [`DEFAULT_FRAC_BITS`] (at most
    /// `bits - 2`) and is fitted to the data ([`fit_format`](Self::fit_format));
    /// with them, data they cannot hold is refused.
    pub fn set_feature_format(
        &mut self,
        bits: Option<u32>,
        frac_bits: Option<u32>,
    ) -> Result<(), zkpot_circuits::fixed::FixedError> {
        let bits = bits.unwrap_or(self.format.bits());
        let frac = frac_bits.unwrap_or(DEFAULT_FRAC_BITS.min(bits.saturating_sub(2)));
        self.format = QFormat::new(frac, bits)?;
        self.fit_format = frac_bits.is_none();
        Ok(())
    }
}

impl Default for CommitOptions {
    fn default() -> Self {
        Self {
            format: QFormat::constant(DEFAULT_FRAC_BITS, 8),
            fit_format: true,
            normalize: NormKind::MinMax,
            label_column: None,
            features: None,
            drop: vec![],
            delimiter: b',',
            progress: false,
            secret: None,
        }
    }
}

/// The file names inside a dataset directory.
pub struct DatasetFiles {
    /// `commitment.json`.
    pub commitment: PathBuf,
    /// `dataset.secret`.
    pub secret: PathBuf,
    /// `rows.bin`.
    pub rows: PathBuf,
}

impl DatasetFiles {
    /// The files of dataset directory `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            commitment: dir.join("commitment.json"),
            secret: dir.join("dataset.secret"),
            rows: dir.join("rows.bin"),
        }
    }
}

/// One parsed CSV line: features and the label as written.
struct Parsed {
    line: usize,
    features: Vec<f64>,
    label: String,
}

fn parse_line(
    path: &Path,
    line_no: usize,
    f: &::csv::ByteRecord,
    cols: &Columns,
) -> Result<Parsed, DataError> {
    let text = |j: usize| {
        field_text(f, j).ok_or_else(|| DataError::Csv {
            path: path.to_path_buf(),
            line: line_no,
            column: j + 1,
            reason: NOT_UTF8.into(),
        })
    };
    if f.len() != cols.total {
        return Err(DataError::Csv {
            path: path.to_path_buf(),
            line: line_no,
            column: f.len().min(cols.total) + 1,
            reason: format!("expected {} fields, found {}", cols.total, f.len()),
        });
    }
    let mut features = Vec::with_capacity(cols.features.len());
    for &j in &cols.features {
        let s = text(j)?;
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => features.push(x),
            _ => {
                return Err(DataError::Csv {
                    path: path.to_path_buf(),
                    line: line_no,
                    column: j + 1,
                    reason: format!("{s:?} is not a finite number"),
                })
            }
        }
    }
    let label = text(cols.label)?;
    if label.trim().is_empty() || label.chars().any(char::is_control) {
        return Err(DataError::Csv {
            path: path.to_path_buf(),
            line: line_no,
            column: cols.label + 1,
            reason: format!("label {label:?} is empty or holds control characters"),
        });
    }
    Ok(Parsed {
        line: line_no,
        features,
        label: label.to_string(),
    })
}

/// Quantized rows and their leaves.
type Hashed = (Vec<Vec<i64>>, Vec<Fp>);

/// The second pass: quantize each row, hash its salted leaf, hand the row to
/// the writer.
struct Pass2<'a> {
    csv: &'a Path,
    cols: &'a Columns,
    schema: &'a Schema,
    secret: &'a DatasetSecret,
    bar: &'a indicatif::ProgressBar,
}

impl Pass2<'_> {
    /// Returns the leaves in row order; stops at the first bad row, or when
    /// the writer has stopped (its error is then reported by the caller).
    fn run(
        &self,
        stream: CsvStream,
        n_rows: u64,
        rows: std::sync::mpsc::SyncSender<Vec<Vec<i64>>>,
    ) -> Result<Vec<Fp>, DataError> {
        let layout = self.schema.layout();
        let bytes = stream.bytes_read();
        let mut leaves: Vec<Fp> = Vec::with_capacity(n_rows as usize);
        for chunk in stream.into_chunks(CHUNK) {
            let chunk = chunk?;
            let base = leaves.len() as u64;
            // Rows are quantized and their leaves hashed four at a time.
            let done: Vec<Result<Hashed, DataError>> = chunk
                .par_chunks(4)
                .enumerate()
                .map(|(g, group)| {
                    let values = group
                        .iter()
                        .map(|(n, l)| quantize_line(self.csv, *n, l, self.cols, self.schema))
                        .collect::<Result<Vec<_>, _>>()?;
                    let first = base + 4 * g as u64;
                    let salted: Vec<(Fp, &[i64])> = values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (self.secret.salt(first + i as u64), v.as_slice()))
                        .collect();
                    let hashed = leaves_native(&layout, &salted);
                    Ok((values, hashed))
                })
                .collect();
            let mut batch = Vec::with_capacity(chunk.len());
            for group in done {
                let (values, hashed) = group?;
                batch.extend(values);
                leaves.extend(hashed);
            }
            if rows.send(batch).is_err() {
                return Err(DataError::Options("the rows writer stopped".into()));
            }
            self.bar.set_position(bytes.load(Ordering::Relaxed));
        }
        Ok(leaves)
    }
}

/// Parses one line, maps its label to a class and quantizes it: the row's
/// values (features, then the class index).
fn quantize_line(
    path: &Path,
    line_no: usize,
    line: &::csv::ByteRecord,
    cols: &Columns,
    schema: &Schema,
) -> Result<Vec<i64>, DataError> {
    let p = parse_line(path, line_no, line, cols)?;
    let class =
        class_index(&p.label, &schema.classes).ok_or_else(|| DataError::LabelOutsideClasses {
            path: path.to_path_buf(),
            line: p.line,
            column: cols.label + 1,
            label: p.label.clone(),
            classes: schema.classes.clone(),
        })?;
    schema
        .quantize(&p.features, class)
        .map_err(|(j, e)| DataError::Quantize {
            path: path.to_path_buf(),
            line: p.line,
            column: cols.features.get(j).map_or(0, |c| c + 1),
            source: e,
        })
}

/// The format the features are committed in: `opts.format`, or with fewer
/// fractional bits when the normalized features need the range and
/// `opts.fit_format` allows it (a note says so). Refuses, naming the
/// feature that does not fit (by name and CSV column), when they do not fit
/// and fitting is not allowed, or when no format of `opts.format`'s bits
/// holds them.
fn fit_format(
    opts: &CommitOptions,
    extremes: &[Option<(f64, f64)>],
    names: &[String],
    columns: &[usize],
    notes: &mut Vec<String>,
) -> Result<QFormat, DataError> {
    let format = opts.format;
    let bits = format.bits();
    let with_frac = |f: u32| QFormat::new(f, bits).unwrap_or(format);
    // The first feature with a value `q` cannot hold, and its extremes.
    let misfit = |q: QFormat| {
        extremes.iter().enumerate().find_map(|(j, e)| {
            let (lo, hi) = (*e)?;
            let fits = q.quantize(lo, j, "feature").is_ok() && q.quantize(hi, j, "feature").is_ok();
            (!fits).then_some((j, lo, hi))
        })
    };
    if misfit(format).is_none() {
        return Ok(format);
    }
    let after = match opts.normalize {
        NormKind::None => "with no normalization".to_string(),
        kind => format!("after {} normalization", format!("{kind:?}").to_lowercase()),
    };
    let near = [
        format.dequantize(format.min()),
        format.dequantize(format.max()),
    ];
    let spans = |(j, lo, hi): (usize, f64, f64)| {
        let column = columns.get(j).copied().unwrap_or(j);
        let name = match names.get(j) {
            Some(n) if !n.is_empty() => format!("feature {n:?} (column {column})"),
            _ => format!("feature column {column}"),
        };
        format!(
            "{name} spans {} to {} {after}",
            real_beside(lo, &near),
            real_beside(hi, &near)
        )
    };
    let range = |q: QFormat| {
        format!(
            "{q} ({} to {})",
            real(q.dequantize(q.min())),
            real(q.dequantize(q.max()))
        )
    };
    let more_bits = if bits < RowLayout::MAX_FEATURE_BITS {
        format!(
            ", or give more bits (up to {})",
            RowLayout::MAX_FEATURE_BITS
        )
    } else {
        String::new()
    };
    let Some(f) = fitting_frac_bits(format, extremes) else {
        let worst = misfit(with_frac(0)).map_or_else(String::new, spans);
        let normalize = match opts.normalize {
            NormKind::None => "normalize it (minmax or standard), ",
            _ => "",
        };
        return Err(DataError::Options(format!(
            "{worst}: no {bits}-bit format holds it (integers from {} to {} at most); \
             {normalize}rescale or drop the column{more_bits}",
            format.min(),
            format.max()
        )));
    };
    let fitted = with_frac(f);
    // The feature that needs the range: the first one the next finer scale
    // cannot hold.
    let limiting = misfit(with_frac(f + 1)).map_or_else(String::new, spans);
    if !opts.fit_format {
        let fewer = match f {
            0 => "0 fractional bits".to_string(),
            _ => format!("{f} fractional bits or fewer"),
        };
        return Err(DataError::Options(format!(
            "{limiting}, outside {}; use {fewer} (--frac-bits {f} gives {}){more_bits}",
            range(format),
            range(fitted)
        )));
    }
    notes.push(format!(
        "features are committed as {} instead of {format}, since {limiting}",
        range(fitted)
    ));
    Ok(fitted)
}

/// Maps a label as written to a class index: a class name, or an integer index.
fn class_index(label: &str, classes: &[String]) -> Option<usize> {
    if let Some(i) = classes.iter().position(|c| c == label) {
        return Some(i);
    }
    let v: f64 = label.parse().ok()?;
    (v.fract() == 0.0 && v >= 0.0 && (v as usize) < classes.len()).then_some(v as usize)
}

fn progress_bar(show: bool, total: u64, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {bytes}/{total_bytes} ({eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// Commits the dataset in `csv` (plain or gzip) into `out_dir`. Nothing is
/// written unless every row parses, fits the format and has a known label.
pub fn commit_csv(
    csv: &Path,
    out_dir: &Path,
    opts: &CommitOptions,
) -> Result<Commitment, DataError> {
    commit_csv_noting(csv, out_dir, opts).map(|(c, _)| c)
}

/// [`commit_csv`], and notes for the user: columns left out without being
/// asked (a pandas index) and feature columns that are usually a mistake
/// (constant, or an identifier).
pub fn commit_csv_noting(
    csv: &Path,
    out_dir: &Path,
    opts: &CommitOptions,
) -> Result<(Commitment, Vec<String>), DataError> {
    let file_len = std::fs::metadata(csv).map_err(io(csv))?.len();
    let d = opts.delimiter;
    if d == b'"' || !(d.is_ascii_graphic() || d == b' ' || d == b'\t') {
        return Err(DataError::Options(format!(
            "delimiter {:?}: give one printable ASCII character other than a quote, or a tab",
            char::from(d)
        )));
    }
    // A commitment already published from this directory stays: its
    // secret and rows are what its runs prove against.
    if DatasetFiles::in_dir(out_dir).commitment.exists() {
        return Err(DataError::Options(format!(
            "{} already holds a dataset commitment; commit to a new directory (or remove \
             that one first)",
            out_dir.display()
        )));
    }

    // Pass 1: columns, classes and feature statistics.
    let mut stream = CsvStream::open(csv, opts.delimiter)?;
    let header = stream.header.clone();
    let first = stream.next_record()?.ok_or_else(|| DataError::Empty {
        path: csv.to_path_buf(),
    })?;
    // A header fixes the field count every record must have, the first too.
    let total = match &header {
        Header::Names(names) => names.len(),
        Header::Bundled { n_features, .. } => n_features + 1,
        Header::None => first.1.len(),
    };
    if total < 2 {
        let text = match &header {
            Header::Names(n) => n.join(""),
            _ => String::from_utf8_lossy(first.1.as_slice()).into_owned(),
        };
        let hint = [(';', "';'"), ('\t', "tab"), ('|', "'|'")]
            .iter()
            .find(|(c, _)| text.contains(*c))
            .map(|(_, name)| format!(" (fields look separated by {name}: give that delimiter)"))
            .unwrap_or_default();
        return Err(DataError::Csv {
            path: csv.to_path_buf(),
            line: first.0,
            column: 1,
            reason: format!("a row needs at least one feature and a label{hint}"),
        });
    }
    let mut notes = Vec::new();
    let choice = ColumnChoice {
        label: opts.label_column.as_ref(),
        features: opts.features.as_deref(),
        drop: &opts.drop,
    };
    let cols = choose(csv, &header, total, choice, &mut notes)?;
    let label = cols.label;
    let mut stats = FeatureStats::new(cols.features.len());
    let mut checks = ColumnChecks::new(cols.features.len());
    let mut labels: BTreeSet<String> = BTreeSet::new();
    let mut n_rows: u64 = 0;
    let bytes = stream.bytes_read();
    let bar = progress_bar(opts.progress, file_len, "scan");
    let mut pending = vec![first];
    let mut chunks = stream.into_chunks(CHUNK);
    loop {
        if let Some(chunk) = chunks.next() {
            pending.extend(chunk?);
        }
        if pending.is_empty() {
            break;
        }
        let parsed: Vec<Result<Parsed, DataError>> = pending
            .par_iter()
            .map(|(n, l)| parse_line(csv, *n, l, &cols))
            .collect();
        for p in parsed {
            let p = p?;
            stats.add(&p.features);
            checks.add(&p.features);
            if labels.len() <= 4096 {
                labels.insert(p.label);
            }
            n_rows += 1;
        }
        pending.clear();
        bar.set_position(bytes.load(Ordering::Relaxed));
    }
    bar.finish_and_clear();

    let (classes, feature_names) = match &header {
        Header::Bundled {
            n_rows: declared,
            classes,
            ..
        } => {
            if *declared as u64 != n_rows {
                return Err(DataError::Csv {
                    path: csv.to_path_buf(),
                    line: 1,
                    column: 1,
                    reason: format!("the header declares {declared} rows, the file has {n_rows}"),
                });
            }
            (classes.clone(), vec![])
        }
        Header::Names(names) => (
            super::labels::infer_classes(&labels)?,
            cols.features.iter().map(|j| names[*j].clone()).collect(),
        ),
        Header::None => (super::labels::infer_classes(&labels)?, vec![]),
    };
    if classes.is_empty() || classes.len() > super::labels::MAX_CLASSES {
        return Err(DataError::Options(format!(
            "{} classes found; between 1 and {} are supported",
            classes.len(),
            super::labels::MAX_CLASSES
        )));
    }
    if !matches!(header, Header::Bundled { .. }) {
        notes.extend(super::labels::label_notes(&labels, classes.len(), n_rows));
    }
    if let Header::Names(names) = &header {
        if super::csv::is_default_names(names) {
            notes.push(format!(
                "the first line ({}) is read as the column names pandas gives unnamed \
                 columns, not as a row",
                names.join(",")
            ));
        }
    }
    notes.extend(checks.warnings(&feature_names, &cols));
    if let Some((j, min, max)) = stats.unrepresentable(opts.normalize) {
        let name = feature_names.get(j).map_or_else(
            || format!("feature {j}"),
            |n| format!("feature {j} ({n:?})"),
        );
        return Err(DataError::Options(format!(
            "{name}: its values span {min:e} to {max:e}, too wide or too narrow for {} \
             normalization in floating point; rescale the column or drop it",
            format!("{:?}", opts.normalize).to_lowercase()
        )));
    }
    // The bit bound is checked before the fit, so a refused width is named
    // first and a fitting message never suggests an unsupported one.
    RowLayout {
        features: cols.features.len(),
        feature_bits: opts.format.bits(),
        label_bits: 1,
    }
    .validate()?;
    let normalization = stats.normalization(opts.normalize);
    let format = fit_format(
        opts,
        &stats.normalized_extremes(&normalization),
        &feature_names,
        &cols.features,
        &mut notes,
    )?;
    let schema = Schema {
        n_features: cols.features.len(),
        feature_names,
        feature_columns: if cols.is_default() {
            vec![]
        } else {
            cols.features.clone()
        },
        label_column: label,
        classes,
        format,
        normalization,
    };
    let layout = schema.layout();
    layout.validate()?;

    // Pass 2: quantize, write private rows, hash salted leaves.
    let secret = opts.secret.clone().unwrap_or_else(DatasetSecret::random);
    let created = (!out_dir.exists()).then(|| out_dir.to_path_buf());
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let files = DatasetFiles::in_dir(out_dir);
    let rows_tmp = temp_path(&files.rows);
    let mut cleanup = TempGuard {
        files: vec![rows_tmp.clone()],
        dir: created,
    };
    let rows = RowsWriter::create(&rows_tmp, schema.n_features + 1)?;
    let stream = CsvStream::open(csv, opts.delimiter)?;
    let bar = progress_bar(opts.progress, file_len, "commit");
    let pass = Pass2 {
        csv,
        cols: &cols,
        schema: &schema,
        secret: &secret,
        bar: &bar,
    };
    // Rows are written to `rows.bin` on their own thread while the next chunk
    // is hashed.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<i64>>>(2);
    let (leaves, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> Result<(), DataError> {
            let mut rows = rows;
            for batch in rx {
                for values in &batch {
                    rows.push(values).map_err(io(&rows_tmp))?;
                }
            }
            rows.finish(&rows_tmp)
        });
        let leaves = pass.run(stream, n_rows, tx);
        let written = writer.join().unwrap_or_else(|_| {
            Err(DataError::Options(
                "the rows writer stopped unexpectedly".into(),
            ))
        });
        (leaves, written)
    });
    bar.finish_and_clear();
    // A writer error explains a producer that stopped early; report it first.
    written?;
    let leaves = leaves?;

    let tree = MerkleTree::build(leaves);
    let binding = DatasetRef::new(tree.root(), n_rows, tree.depth(), &schema)?;
    binding.check(1)?;
    let commitment = Commitment {
        format: COMMITMENT_FORMAT.into(),
        version: COMMITMENT_VERSION,
        root: binding.root,
        tree_root: binding.tree_root,
        n_rows,
        depth: tree.depth(),
        schema,
    };
    let json = commitment.to_json()?;
    secret.write(&files.secret)?;
    std::fs::rename(&rows_tmp, &files.rows).map_err(io(&files.rows))?;
    write_atomic(&files.commitment, json.as_bytes()).map_err(io(&files.commitment))?;
    cleanup.dir = None;
    drop(cleanup);
    Ok((commitment, notes))
}

/// Removes temporary files, and the output directory if the commit created it,
/// when the commit does not complete.
struct TempGuard {
    files: Vec<PathBuf>,
    dir: Option<PathBuf>,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        for p in &self.files {
            let _ = std::fs::remove_file(p);
        }
        if let Some(d) = &self.dir {
            // Only succeeds if empty.
            let _ = std::fs::remove_dir(d);
        }
    }
}
