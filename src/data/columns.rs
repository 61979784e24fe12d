//! Choosing a CSV file's label and feature columns, and noticing feature
//! columns that are usually a mistake to train on (a pandas index, a
//! constant, an identifier).

use std::collections::HashSet;
use std::path::Path;

use super::csv::Header;
use super::error::DataError;

/// A column, by 0-based index or by header name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// 0-based column index.
    Index(usize),
    /// Column name (plain headers only).
    Name(String),
}

impl Column {
    /// Reads a column as given on a command line: a 0-based index, or a name.
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        s.parse::<usize>()
            .map(Column::Index)
            .unwrap_or_else(|_| Column::Name(s.to_string()))
    }

    /// Reads a comma-separated list of columns.
    pub fn parse_list(s: &str) -> Vec<Self> {
        s.split(',')
            .filter(|c| !c.trim().is_empty())
            .map(Column::parse)
            .collect()
    }
}

/// The columns a commitment reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    /// Fields a record has.
    pub total: usize,
    /// The label's column.
    pub label: usize,
    /// The features' columns, in the committed order.
    pub features: Vec<usize>,
}

impl Columns {
    /// True when the features are every column but the label, in file
    /// order (the choice a schema need not record).
    pub fn is_default(&self) -> bool {
        self.features
            .iter()
            .copied()
            .eq((0..self.total).filter(|j| *j != self.label))
    }
}

/// What to read: the label, and either the features or the columns to
/// leave out.
#[derive(Clone, Copy, Debug, Default)]
pub struct ColumnChoice<'a> {
    /// The label column (default: the last).
    pub label: Option<&'a Column>,
    /// The feature columns, in order (default: all others).
    pub features: Option<&'a [Column]>,
    /// Columns to leave out of the features.
    pub drop: &'a [Column],
}

/// True for the header pandas writes over a `DataFrame`'s index in a CSV
/// file's first column.
fn is_pandas_index(name: &str) -> bool {
    name.is_empty() || name == "Unnamed: 0"
}

/// True for the column name pandas gives a stored index in a Parquet file
/// (`__index_level_0__`, one a level, after the data columns).
fn is_pandas_index_level(name: &str) -> bool {
    name.strip_prefix("__index_level_")
        .and_then(|r| r.strip_suffix("__"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Resolves a choice of columns against a file's header and field count;
/// `notes` receives what was decided without being asked (a pandas index
/// left out).
pub fn choose(
    path: &Path,
    header: &Header,
    total: usize,
    choice: ColumnChoice,
    notes: &mut Vec<String>,
) -> Result<Columns, DataError> {
    let options = |msg: String| DataError::Options(format!("{}: {msg}", path.display()));
    let names = match header {
        Header::Names(n) => Some(n.as_slice()),
        _ => None,
    };
    let resolve = |c: &Column| -> Result<usize, DataError> {
        match (c, names) {
            (Column::Index(i), _) if *i < total => Ok(*i),
            (Column::Index(i), _) => Err(options(format!(
                "column {i} does not exist ({total} columns, numbered from 0)"
            ))),
            (Column::Name(n), Some(names)) => {
                let mut at = names.iter().enumerate().filter(|(_, x)| *x == n);
                match (at.next(), at.next()) {
                    (Some((i, _)), None) => Ok(i),
                    (Some((i, _)), Some((j, _))) => Err(options(format!(
                        "the header names {n:?} more than once (columns {i} and {j}); \
                         give the column's 0-based index"
                    ))),
                    (None, _) => Err(options(format!(
                        "no column named {n:?} (columns: {})",
                        names.join(", ")
                    ))),
                }
            }
            (Column::Name(n), None) => Err(options(format!(
                "no header of names to find {n:?} in; give the column's 0-based index"
            ))),
        }
    };
    if total < 2 {
        return Err(options(
            "a row needs at least one feature and a label".into(),
        ));
    }
    // Columns pandas wrote for a `DataFrame`'s index: never the default
    // label, and left out of the default features.
    let index_levels: Vec<usize> = names
        .map(|n| {
            (0..total.min(n.len()))
                .filter(|j| is_pandas_index_level(&n[*j]))
                .collect()
        })
        .unwrap_or_default();
    let label = match choice.label {
        Some(c) => resolve(c)?,
        None => (0..total)
            .rev()
            .find(|j| !index_levels.contains(j))
            .ok_or_else(|| options("every column is a pandas index".into()))?,
    };
    let features = match choice.features {
        Some(list) => {
            if !choice.drop.is_empty() {
                return Err(options(
                    "give the features or the columns to drop, not both".into(),
                ));
            }
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(list.len());
            for c in list {
                let j = resolve(c)?;
                if j == label {
                    return Err(options(format!(
                        "column {c:?} is the label; it cannot also be a feature"
                    )));
                }
                if !seen.insert(j) {
                    return Err(options(format!("column {c:?} is listed twice")));
                }
                out.push(j);
            }
            out
        }
        None => {
            let mut dropped = HashSet::new();
            for c in choice.drop {
                let j = resolve(c)?;
                if j == label {
                    return Err(options(format!(
                        "column {c:?} is the label; it cannot be dropped"
                    )));
                }
                if !dropped.insert(j) {
                    return Err(options(format!("column {c:?} is listed twice")));
                }
            }
            for &j in &index_levels {
                if j != label && dropped.insert(j) {
                    notes.push(format!(
                        "column {j} ({:?}) is a pandas index and is left out \
                         (name it in --features to keep it)",
                        names.and_then(|n| n.get(j)).map_or("", String::as_str)
                    ));
                }
            }
            if let Some(names) = names {
                if names.first().is_some_and(|n| is_pandas_index(n))
                    && label != 0
                    && dropped.insert(0)
                {
                    notes.push(format!(
                        "column 0 ({:?}) looks like a pandas index and is left out \
                         (name it in --features to keep it)",
                        names[0]
                    ));
                }
            }
            (0..total)
                .filter(|j| *j != label && !dropped.contains(j))
                .collect()
        }
    };
    if features.is_empty() {
        return Err(options("no feature columns are left".into()));
    }
    Ok(Columns {
        total,
        label,
        features,
    })
}

/// The most distinct values tracked for one column while looking for
/// identifiers.
const MAX_TRACKED: usize = 1 << 20;

/// Watches feature values for columns that are constant, or integers unique
/// to each row (an identifier).
pub struct ColumnChecks {
    first: Vec<Option<f64>>,
    constant: Vec<bool>,
    distinct: Vec<Option<HashSet<i64>>>,
    rows: u64,
}

impl ColumnChecks {
    /// Checks for `n` features.
    pub fn new(n: usize) -> Self {
        Self {
            first: vec![None; n],
            constant: vec![true; n],
            distinct: vec![Some(HashSet::new()); n],
            rows: 0,
        }
    }

    /// Adds one row's features.
    pub fn add(&mut self, features: &[f64]) {
        self.rows += 1;
        for (j, x) in features.iter().enumerate() {
            match self.first[j] {
                None => self.first[j] = Some(*x),
                Some(f) if f != *x => self.constant[j] = false,
                _ => {}
            }
            let keep = match &mut self.distinct[j] {
                Some(set) => {
                    x.fract() == 0.0
                        && x.abs() < 9e15
                        && set.len() < MAX_TRACKED
                        && set.insert(*x as i64)
                }
                None => true,
            };
            if !keep {
                self.distinct[j] = None;
            }
        }
    }

    /// Warnings naming the suspicious features (`names[j]` when known, else
    /// the file column).
    pub fn warnings(&self, names: &[String], cols: &Columns) -> Vec<String> {
        let name = |j: usize| match names.get(j) {
            Some(n) if !n.is_empty() => format!("{n:?} (column {})", cols.features[j]),
            _ => format!("column {}", cols.features[j]),
        };
        let mut out = Vec::new();
        for j in 0..self.first.len() {
            if self.rows > 1 && self.constant[j] {
                out.push(format!(
                    "feature {} is the same in every row; it carries no information",
                    name(j)
                ));
            } else if self.rows >= 20
                && self.distinct[j]
                    .as_ref()
                    .is_some_and(|s| s.len() as u64 == self.rows)
            {
                out.push(format!(
                    "feature {} is an integer unique to every row, like an identifier; leave it \
                     out with --drop unless it means something",
                    name(j)
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Header {
        Header::Names(n.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn choices_resolve_by_name_or_index_and_bad_ones_are_refused() {
        let p = Path::new("x.csv");
        let h = names(&["", "id", "a", "b", "diagnosis"]);
        let diag = Column::Name("diagnosis".into());
        let mut notes = vec![];
        let choice = ColumnChoice {
            label: Some(&diag),
            drop: &[Column::Name("id".into())],
            ..Default::default()
        };
        let c = choose(p, &h, 5, choice, &mut notes).unwrap();
        assert_eq!((c.label, c.features.clone()), (4, vec![2, 3]));
        assert!(notes[0].contains("pandas index"), "{notes:?}");
        assert!(!c.is_default());

        let feats = [Column::Name("b".into()), Column::Index(2)];
        let choice = ColumnChoice {
            label: Some(&diag),
            features: Some(&feats),
            ..Default::default()
        };
        let c = choose(p, &h, 5, choice, &mut vec![]).unwrap();
        assert_eq!(c.features, vec![3, 2]);

        let bad = |choice: ColumnChoice| {
            choose(p, &h, 5, choice, &mut vec![])
                .unwrap_err()
                .to_string()
        };
        let unknown = [Column::Name("nope".into())];
        assert!(bad(ColumnChoice {
            features: Some(&unknown),
            ..Default::default()
        })
        .contains("no column named"));
        assert!(bad(ColumnChoice {
            drop: &unknown,
            ..Default::default()
        })
        .contains("no column named"));
        let label_too = [Column::Name("diagnosis".into())];
        assert!(bad(ColumnChoice {
            label: Some(&diag),
            features: Some(&label_too),
            ..Default::default()
        })
        .contains("is the label"));
        assert!(bad(ColumnChoice {
            label: Some(&diag),
            drop: &label_too,
            ..Default::default()
        })
        .contains("is the label"));
        let twice = [Column::Index(2), Column::Name("a".into())];
        assert!(bad(ColumnChoice {
            features: Some(&twice),
            ..Default::default()
        })
        .contains("twice"));
        let far = [Column::Index(9)];
        assert!(bad(ColumnChoice {
            features: Some(&far),
            ..Default::default()
        })
        .contains("does not exist"));
        assert!(choose(
            p,
            &Header::None,
            3,
            ColumnChoice {
                features: Some(&unknown),
                ..Default::default()
            },
            &mut vec![]
        )
        .is_err());

        // Without a header, every column but the last is a feature.
        let c = choose(p, &Header::None, 3, ColumnChoice::default(), &mut vec![]).unwrap();
        assert!(c.is_default());
    }

    #[test]
    fn a_parquet_index_from_pandas_is_neither_label_nor_feature() {
        let p = Path::new("x.parquet");
        let h = names(&["a", "b", "target", "__index_level_0__"]);
        let mut notes = vec![];
        let c = choose(p, &h, 4, ColumnChoice::default(), &mut notes).unwrap();
        assert_eq!((c.label, c.features.clone()), (2, vec![0, 1]));
        assert!(notes[0].contains("__index_level_0__"), "{notes:?}");
        assert!(!is_pandas_index_level("__index_level__"));
        assert!(!is_pandas_index_level("__index_level_x__"));
        let only = names(&["__index_level_0__", "__index_level_1__"]);
        assert!(choose(p, &only, 2, ColumnChoice::default(), &mut vec![]).is_err());
    }

    #[test]
    fn constants_and_identifiers_are_noticed() {
        let mut checks = ColumnChecks::new(3);
        for i in 0..30 {
            checks.add(&[1.0, 100.0 + i as f64 * 7.0, (i % 3) as f64 / 2.0]);
        }
        let cols = Columns {
            total: 4,
            label: 3,
            features: vec![0, 1, 2],
        };
        let w = checks.warnings(&["c".into(), "id".into(), "x".into()], &cols);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("\"c\"") && w[0].contains("same in every row"));
        assert!(w[1].contains("\"id\"") && w[1].contains("identifier"));
    }
}
