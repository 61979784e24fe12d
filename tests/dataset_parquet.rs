//! Parquet input (`scripts/make_parquet_fixtures.py` writes the fixtures
//! from iris with pyarrow): the same rows as the CSV file commit the same
//! root; integer, float32 and categorical columns are read; a null and a
//! nested column are refused, naming the column, before anything is
//! written.

use std::path::PathBuf;

use zkpot::data::{commit_csv_noting, CommitOptions};

mod common;

fn fixture(dir: &str, name: &str) -> PathBuf {
    common::shaped(dir, name)
}

fn opts() -> CommitOptions {
    common::species_opts()
}

#[test]
fn parquet_and_csv_of_the_same_rows_commit_the_same_root() {
    let d = tempfile::tempdir().unwrap();
    let (csv, _) = commit_csv_noting(
        &fixture("csv", "iris_plain.csv"),
        &d.path().join("a"),
        &opts(),
    )
    .unwrap();
    let (pq, notes) = commit_csv_noting(
        &fixture("parquet", "iris.parquet"),
        &d.path().join("b"),
        &opts(),
    )
    .unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(pq.n_rows, 150);
    assert_eq!(pq.schema.feature_names, csv.schema.feature_names);
    assert_eq!(pq.root, csv.root);

    let (typed, _) = commit_csv_noting(
        &fixture("parquet", "iris_types.parquet"),
        &d.path().join("c"),
        &opts(),
    )
    .unwrap();
    assert_eq!(typed.n_rows, 150);
    assert_eq!(typed.schema.n_features, 4);
    assert_eq!(typed.schema.classes, ["setosa", "versicolor", "virginica"]);
}

#[test]
fn nulls_and_nested_columns_are_refused_naming_the_column() {
    for (name, want) in [
        ("iris_null.parquet", ["row 5", "petal_length", "null"]),
        ("iris_nested.parquet", ["tags", "nested", "flat"]),
    ] {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("d");
        let err = commit_csv_noting(&fixture("parquet", name), &out, &opts())
            .unwrap_err()
            .to_string();
        for w in want {
            assert!(err.contains(w), "{name}: {err}");
        }
        assert!(!out.exists(), "{name}: nothing written");
    }
}

#[test]
fn zstd_lz4_and_gzip_files_read_and_other_codecs_are_named() {
    let d = tempfile::tempdir().unwrap();
    let (snappy, _) = commit_csv_noting(
        &fixture("parquet", "iris.parquet"),
        &d.path().join("snappy"),
        &opts(),
    )
    .unwrap();
    for codec in ["zstd", "lz4", "gzip"] {
        let (c, _) = commit_csv_noting(
            &fixture("parquet", &format!("iris_{codec}.parquet")),
            &d.path().join(codec),
            &opts(),
        )
        .unwrap();
        assert_eq!(c.root, snappy.root, "{codec}");
    }
    let out = d.path().join("brotli");
    let err = commit_csv_noting(&fixture("parquet", "iris_brotli.parquet"), &out, &opts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("compressed with brotli"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_pandas_index_is_left_out_with_a_note() {
    let d = tempfile::tempdir().unwrap();
    let (c, notes) = commit_csv_noting(
        &fixture("parquet", "iris_pandas_index.parquet"),
        &d.path().join("i"),
        &CommitOptions::default(),
    )
    .unwrap();
    assert_eq!(c.schema.n_features, 4);
    assert_eq!(c.schema.classes, ["setosa", "versicolor", "virginica"]);
    assert!(
        notes.iter().any(|n| n.contains("__index_level_0__")),
        "{notes:?}"
    );
}
