//! Committing the bundled datasets: determinism, hiding, sensitivity to every
//! row and to the secret, private file permissions, and clear errors (with line
//! and column) that leave nothing behind.

use std::path::{Path, PathBuf};

use zkpot::data::{commit_csv, CommitOptions, Commitment, DataError, Dataset, DatasetSecret};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn opts(secret: u8) -> CommitOptions {
    CommitOptions {
        secret: Some(DatasetSecret::from_bytes([secret; 32])),
        ..CommitOptions::default()
    }
}

#[test]
fn bundled_datasets_commit_and_reload() {
    for (name, rows, features, classes) in [
        ("iris.csv", 150, 4, 3),
        ("wine_data.csv", 178, 13, 3),
        ("digits.csv.gz", 1797, 64, 10),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let c = commit_csv(&fixture(name), dir.path(), &opts(1)).unwrap();
        assert_eq!(
            (c.n_rows, c.schema.n_features, c.schema.classes.len()),
            (rows, features, classes),
            "{name}"
        );
        let d = Dataset::load(dir.path()).unwrap();
        assert_eq!(d.tree_root(), c.tree_root().unwrap());
        assert_eq!(d.row(0).unwrap().len(), features + 1);
        assert_eq!(
            Commitment::read(&dir.path().join("commitment.json")).unwrap(),
            c
        );
    }
}

#[test]
fn root_is_deterministic_and_hiding() {
    let iris = fixture("iris.csv");
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let ca = commit_csv(&iris, a.path(), &opts(1)).unwrap();
    let cb = commit_csv(&iris, b.path(), &opts(1)).unwrap();
    let cc = commit_csv(&iris, c.path(), &opts(2)).unwrap();
    assert_eq!(
        ca.root, cb.root,
        "nothing changed, the root must not change"
    );
    assert_ne!(ca.root, cc.root, "another secret must change the root");
    // Different secrets share no leaf.
    let (da, dc) = (
        Dataset::load(a.path()).unwrap(),
        Dataset::load(c.path()).unwrap(),
    );
    for i in 0..150 {
        assert_ne!(da.leaf(i), dc.leaf(i));
        for j in 0..150 {
            assert_ne!(da.leaf(i), dc.leaf(j));
        }
    }
}

#[test]
fn commitment_file_holds_no_row_data() {
    let iris = fixture("iris.csv");
    let dir = tempfile::tempdir().unwrap();
    commit_csv(&iris, dir.path(), &opts(3)).unwrap();
    let text = std::fs::read_to_string(dir.path().join("commitment.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "depth",
            "format",
            "n_rows",
            "root",
            "schema",
            "tree_root",
            "version"
        ]
    );
    assert_eq!(
        keys(&v["schema"]),
        [
            "classes",
            "feature_names",
            "format",
            "label_column",
            "n_features",
            "normalization"
        ]
    );
    // No raw row appears in it.
    for line in std::fs::read_to_string(&iris).unwrap().lines().skip(1) {
        assert!(!text.contains(line), "row {line:?} leaked");
    }
}

#[test]
fn any_changed_row_changes_the_root() {
    let text = std::fs::read_to_string(fixture("iris.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = commit_csv(&fixture("iris.csv"), dir.path(), &opts(4)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (row, new) in [
        (1usize, "5.0,3.5,1.4,0.2,0"),
        (75, "6.0,2.9,4.5,1.5,2"),
        (150, "5.9,3.0,5.1,1.8,1"),
    ] {
        let mut changed = lines.clone();
        changed[row] = new;
        let src = dir.path().join("changed.csv");
        std::fs::write(&src, changed.join("\n")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let c = commit_csv(&src, out.path(), &opts(4)).unwrap();
        assert_ne!(c.root, base.root, "row {row} changed");
    }
}

#[cfg(unix)]
#[test]
fn private_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    commit_csv(&fixture("iris.csv"), dir.path(), &opts(5)).unwrap();
    for f in ["dataset.secret", "rows.bin"] {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

fn commit_text(text: &str) -> (Result<Commitment, DataError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.csv");
    std::fs::write(&src, text).unwrap();
    let out = dir.path().join("out");
    let r = commit_csv(&src, &out, &opts(6));
    (r, dir)
}

fn assert_nothing_written(dir: &tempfile::TempDir) {
    assert!(
        !dir.path().join("out").exists(),
        "the output directory was left behind"
    );
}

#[test]
fn malformed_csv_names_line_and_column_and_writes_nothing() {
    let cases: &[(&str, usize, usize)] = &[
        ("a,b,label\n1,2,0\n3,4\n", 3, 3),     // ragged row
        ("a,b,label\n1,2,0\n3,x,1\n", 3, 2),   // non-numeric value
        ("a,b,label\n1,2,0\n3,nan,1\n", 3, 2), // not finite
        ("2,2,a,b\n1,2,0\n3,4,5\n", 3, 3),     // label outside the classes
    ];
    for (text, line, column) in cases {
        let (r, dir) = commit_text(text);
        let e = r.expect_err("must fail");
        let msg = e.to_string();
        let (l, c) = match &e {
            DataError::Csv { line, column, .. } => (*line, *column),
            DataError::LabelOutsideClasses { line, column, .. } => (*line, *column),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!((l, c), (*line, *column), "{text:?}: {msg}");
        assert_nothing_written(&dir);
    }
    let (r, dir) = commit_text("");
    assert!(matches!(r, Err(DataError::Empty { .. })));
    assert_nothing_written(&dir);
}

#[test]
fn features_the_format_cannot_hold_are_fitted_or_named_before_anything_is_written() {
    use zkpot::data::{commit_csv_noting, NormKind};
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in.csv");
    let out = dir.path().join("out");
    let none = CommitOptions {
        normalize: NormKind::None,
        ..opts(7)
    };

    // No normalization, 1000 at 8 bits: no scale holds it.
    std::fs::write(&src, "a,label\n1,0\n1000,1\n").unwrap();
    let e = commit_csv(&src, &out, &none).expect_err("1000 needs more than 8 bits");
    let m = e.to_string();
    assert!(
        m.contains("feature \"a\" (column 0) spans 1 to 1000 with no normalization")
            && m.contains("no 8-bit format")
            && m.contains("give more bits (up to 16)"),
        "{m}"
    );
    assert!(!out.exists());

    // Raw values up to 3: committed at 5 fractional bits, with a note, and
    // the committed rows are the values at that scale.
    std::fs::write(&src, "a,label\n1,0\n3,1\n").unwrap();
    let (c, notes) = commit_csv_noting(&src, &out, &none).unwrap();
    assert_eq!(c.schema.format.frac_bits(), 5);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Q5/8b") && n.contains("instead of Q6/8b")),
        "{notes:?}"
    );
    let d = Dataset::load(&out).unwrap();
    assert_eq!(d.row(1).unwrap(), vec![96, 1]);
    std::fs::remove_dir_all(&out).unwrap();

    // Standardized values reach 3 deviations (nine zeros and a 10: mean 1,
    // deviation 3). With the fractional bits given, refused with the ones
    // that fit; otherwise fitted.
    let mut text = String::from("a,label\n");
    for i in 0..9 {
        text.push_str(&format!("0,{}\n", i % 2));
    }
    text.push_str("10,1\n");
    std::fs::write(&src, text).unwrap();
    let standard = CommitOptions {
        normalize: NormKind::Standard,
        fit_format: false,
        ..opts(7)
    };
    let e = commit_csv(&src, &out, &standard).expect_err("3 does not fit Q6/8b");
    let m = e.to_string();
    assert!(
        m.contains("spans -0.333333 to 3 after standard normalization")
            && m.contains("--frac-bits 5"),
        "{m}"
    );
    assert!(!out.exists());
    let fitted = CommitOptions {
        fit_format: true,
        ..standard
    };
    let (c, _) = commit_csv_noting(&src, &out, &fitted).unwrap();
    assert_eq!(c.schema.format.frac_bits(), 5);
    let d = Dataset::load(&out).unwrap();
    assert_eq!(d.row(9).unwrap(), vec![96, 1]);
}

#[test]
fn commitment_files_of_other_versions_or_truncated_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    commit_csv(&fixture("iris.csv"), dir.path(), &opts(8)).unwrap();
    let path = dir.path().join("commitment.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // Version 1 files had a root that did not bind the metadata.
    std::fs::write(&path, text.replace("\"version\": 2", "\"version\": 1")).unwrap();
    assert!(matches!(
        Commitment::read(&path),
        Err(DataError::Version { found: 1, .. })
    ));
    // The public root binds the row count, depth and schema: a file that
    // changes any of them under the same root is refused.
    let c: serde_json::Value = serde_json::from_str(&text).unwrap();
    let edits: [(&str, serde_json::Value); 4] = [
        ("n_rows", 140.into()),
        ("depth", 9.into()),
        ("tree_root", c["root"].clone()),
        ("schema", {
            let mut s = c["schema"].clone();
            s["classes"][0] = "other".into();
            s
        }),
    ];
    for (field, value) in edits {
        let mut v = c.clone();
        v[field] = value;
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let err = Commitment::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("does not commit") || err.contains("depth"),
            "{field}: {err}"
        );
    }
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert!(matches!(
        Commitment::read(&path),
        Err(DataError::Malformed { .. })
    ));
}

#[test]
fn a_secret_that_does_not_match_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    commit_csv(&fixture("iris.csv"), dir.path(), &opts(9)).unwrap();
    DatasetSecret::from_bytes([10; 32])
        .write(&dir.path().join("dataset.secret"))
        .unwrap();
    assert!(matches!(
        Dataset::load(dir.path()),
        Err(DataError::SecretMismatch { .. })
    ));
}

/// A commitment copied into a run or an evaluation file is checked like a
/// commitment file: another format or version, or a name with control
/// characters (which a terminal would obey when it is printed), is refused.
#[test]
fn copies_of_a_commitment_are_checked_like_the_file() {
    let (c, _dir) = commit_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n");
    let c = c.unwrap();
    assert!(c.check().is_ok());
    let mut other = c.clone();
    other.format = "anything-at-all".into();
    assert!(other.check().is_err());
    let mut other = c.clone();
    other.version = 999;
    assert!(other.check().is_err());
    let mut other = c;
    other.schema.classes[0] = "x\u{1b}[6A".into();
    let e = other.check().unwrap_err().to_string();
    assert!(e.contains("control characters"), "{e}");
}
