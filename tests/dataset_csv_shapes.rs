//! CSV files as people export them (`scripts/make_csv_fixtures.py` writes
//! them from iris): pandas' default `to_csv` with an index and an `id`,
//! every field quoted, semicolons with CRLF and a byte-order mark. Each
//! commits the intended columns: the same rows give the same tree, the same
//! layout the same public root, and defects are refused with their line.

use std::path::PathBuf;

use zkpot::data::{commit_csv_noting, Column, CommitOptions, Commitment, Dataset};

mod common;

fn fixture(name: &str) -> PathBuf {
    common::shaped("csv", name)
}

fn opts() -> CommitOptions {
    common::species_opts()
}

fn commit(name: &str, opts: &CommitOptions) -> (Commitment, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (c, notes) = commit_csv_noting(&fixture(name), &dir.path().join("d"), opts).unwrap();
    (c, notes, dir)
}

#[test]
fn quoted_semicolon_crlf_and_bom_files_commit_the_same_dataset() {
    let (plain, notes, _d) = commit("iris_plain.csv", &opts());
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(plain.schema.n_features, 4);
    assert_eq!(plain.schema.classes, ["setosa", "versicolor", "virginica"]);
    let (quoted, _, _d) = commit("iris_quote_all.csv", &opts());
    assert_eq!(quoted.root, plain.root);
    let semicolon = CommitOptions {
        delimiter: b';',
        ..opts()
    };
    let (semi, _, _d) = commit("iris_semicolon.csv", &semicolon);
    assert_eq!(semi.root, plain.root);
    assert_eq!(
        semi.schema.feature_names[0], "sepal_length",
        "the BOM is not a name"
    );
}

#[test]
fn a_pandas_export_leaves_its_index_out_and_names_the_identifier() {
    let (plain, _, d0) = commit("iris_plain.csv", &opts());

    // Default options: the index is left out with a note, the id is warned of.
    let (c, notes, _d) = commit("iris_pandas.csv", &opts());
    assert_eq!(
        c.schema.n_features, 5,
        "id is still a feature unless dropped"
    );
    assert!(
        notes.iter().any(|n| n.contains("pandas index")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("\"id\"") && n.contains("identifier")),
        "{notes:?}"
    );

    // Dropping the id commits exactly the plain file's rows (the same tree),
    // with the chosen columns recorded in the schema (so another root).
    let drop = CommitOptions {
        drop: vec![Column::Name("id".into())],
        ..opts()
    };
    let (c, notes, d1) = commit("iris_pandas.csv", &drop);
    assert!(!notes.iter().any(|n| n.contains("identifier")), "{notes:?}");
    assert_eq!(c.schema.feature_names, plain.schema.feature_names);
    assert_eq!(c.schema.feature_columns, vec![2, 3, 4, 5]);
    assert_eq!(c.tree_root, plain.tree_root);
    assert_ne!(c.root, plain.root);
    let a = Dataset::load(&d0.path().join("d")).unwrap();
    let b = Dataset::load(&d1.path().join("d")).unwrap();
    for i in [0, 77, 149] {
        assert_eq!(a.row(i).unwrap(), b.row(i).unwrap());
    }

    // The same columns chosen by --features, in another order, are another
    // dataset.
    let names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    let features = CommitOptions {
        features: Some(names.iter().map(|n| Column::Name(n.to_string())).collect()),
        ..opts()
    };
    let (c, _, _d) = commit("iris_pandas.csv", &features);
    assert_eq!(c.root, commit("iris_pandas.csv", &drop).0.root);
    let swapped = CommitOptions {
        features: Some(vec![
            Column::Index(3),
            Column::Index(2),
            Column::Index(4),
            Column::Index(5),
        ]),
        ..opts()
    };
    let (c, _, _d) = commit("iris_pandas.csv", &swapped);
    assert_ne!(c.tree_root, plain.tree_root);
}

#[test]
fn defects_and_bad_choices_are_refused_before_anything_is_written() {
    let bad = |name: &str, opts: CommitOptions| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("d");
        let err = commit_csv_noting(&fixture(name), &out, &opts)
            .unwrap_err()
            .to_string();
        assert!(!out.exists(), "{name}: nothing written");
        err
    };
    // A one-row file whose row is shorter than its header.
    let err = bad("ragged_one_row.csv", CommitOptions::default());
    assert!(
        err.contains("ragged_one_row.csv:2:") && err.contains("expected 5 fields, found 3"),
        "{err}"
    );
    let unknown = CommitOptions {
        drop: vec![Column::Name("nope".into())],
        ..opts()
    };
    assert!(bad("iris_pandas.csv", unknown).contains("no column named \"nope\""));
    let label_too = CommitOptions {
        features: Some(vec![Column::Name("species".into()), Column::Index(2)]),
        ..opts()
    };
    assert!(bad("iris_pandas.csv", label_too).contains("is the label"));
    // Semicolons read with the default delimiter: one field a row.
    let err = bad("iris_semicolon.csv", opts());
    assert!(err.contains("separated by ';'"), "{err}");
    let twice = CommitOptions {
        drop: vec![Column::Name("id".into()), Column::Index(1)],
        ..opts()
    };
    assert!(bad("iris_pandas.csv", twice).contains("listed twice"));
    let newline = CommitOptions {
        delimiter: b'\n',
        ..opts()
    };
    assert!(bad("iris_plain.csv", newline).contains("delimiter"));
}

/// Files written by hand: a header naming a column twice, an empty label.
#[test]
fn ambiguous_names_and_empty_labels_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let refused = |csv: &std::path::Path, opts: CommitOptions| {
        let out = dir.path().join("out");
        let err = commit_csv_noting(csv, &out, &opts).unwrap_err().to_string();
        assert!(!out.exists(), "nothing written");
        err
    };
    let dup = write("dup.csv", "a,a,label\n1,2,x\n3,4,y\n");
    let by_name = CommitOptions {
        features: Some(vec![Column::Name("a".into())]),
        ..CommitOptions::default()
    };
    let err = refused(&dup, by_name);
    assert!(err.contains("more than once (columns 0 and 1)"), "{err}");
    let empty = write("empty_label.csv", "a,b,label\n1,2,x\n3,4,\n");
    let err = refused(&empty, CommitOptions::default());
    assert!(
        err.contains("empty_label.csv:3:3") && err.contains("empty"),
        "{err}"
    );
}

/// A directory that already holds a commitment keeps it: a second commit
/// into it is refused and changes no file.
#[test]
fn an_existing_commitment_is_never_overwritten() {
    let (_, _, d) = commit("iris_plain.csv", &opts());
    let out = d.path().join("d");
    let before: Vec<Vec<u8>> = ["commitment.json", "dataset.secret", "rows.bin"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    let err = commit_csv_noting(&fixture("iris_quote_all.csv"), &out, &opts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("already holds a dataset commitment"), "{err}");
    let after: Vec<Vec<u8>> = ["commitment.json", "dataset.secret", "rows.bin"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert_eq!(before, after);
}
