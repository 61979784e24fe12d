//! Classes from the labels a dataset file holds, and notes on labels that
//! look like a mistake.

use std::collections::BTreeSet;

use super::error::DataError;

/// The most classes a dataset may have.
pub const MAX_CLASSES: usize = 4096;

/// Classes when the file does not name them: `0..=max` for integer labels,
/// else the sorted distinct labels.
pub fn infer_classes(labels: &BTreeSet<String>) -> Result<Vec<String>, DataError> {
    let ints: Option<Vec<u64>> = labels.iter().map(|l| l.parse::<u64>().ok()).collect();
    match ints {
        Some(v) if !v.is_empty() => {
            let max = v.iter().copied().max().unwrap_or(0);
            if max >= MAX_CLASSES as u64 {
                return Err(DataError::Options(format!(
                    "integer labels run up to {max} ({} distinct values): as class indices \
                     from 0 they would make {} classes, and at most {MAX_CLASSES} are \
                     supported; is the label column the right one (--label-column)?",
                    v.len(),
                    u128::from(max) + 1
                )));
            }
            Ok((0..=max).map(|i| i.to_string()).collect())
        }
        _ => Ok(labels.iter().cloned().collect()),
    }
}

/// Notes on labels that look wrong: integer labels with no 0 (1-based labels
/// leave class 0 empty), and more distinct labels than half the rows (a
/// feature taken for the label).
pub fn label_notes(labels: &BTreeSet<String>, n_classes: usize, n_rows: u64) -> Vec<String> {
    let mut notes = Vec::new();
    let ints: Option<Vec<u64>> = labels.iter().map(|l| l.parse::<u64>().ok()).collect();
    if let Some(min) = ints.and_then(|v| v.into_iter().min()) {
        if min == 1 {
            notes.push(
                "no row has label 0: integer labels are class indices from 0, so class 0 \
                 stays empty; subtract 1 from 1-based labels"
                    .into(),
            );
        } else if min > 1 {
            notes.push(format!(
                "no row has a label below {min}: integer labels are class indices from 0, \
                 so classes 0 to {} stay empty",
                min - 1
            ));
        }
    }
    if n_rows >= 20 && labels.len() as u64 > n_rows / 2 {
        notes.push(format!(
            "{} distinct labels in {n_rows} rows ({n_classes} classes): is the label column \
             the right one (--label-column)?",
            labels.len()
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(labels: &[&str]) -> BTreeSet<String> {
        labels.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn integer_labels_are_indices_and_a_huge_one_is_refused_before_allocating() {
        assert_eq!(infer_classes(&set(&["2", "0"])).unwrap(), ["0", "1", "2"]);
        assert_eq!(infer_classes(&set(&["b", "a"])).unwrap(), ["a", "b"]);
        let e = infer_classes(&set(&["0", "1", "4000000000"])).unwrap_err();
        assert!(e.to_string().contains("4000000000"), "{e}");
        assert!(infer_classes(&set(&["4095"])).is_ok());
    }

    #[test]
    fn one_based_labels_and_label_like_features_are_noted() {
        let notes = label_notes(&set(&["1", "2", "3"]), 4, 150);
        assert!(notes[0].contains("class 0 stays empty"), "{notes:?}");
        assert!(label_notes(&set(&["0", "1", "2"]), 3, 150).is_empty());
        let many: BTreeSet<String> = (0..100).map(|i| i.to_string()).collect();
        let notes = label_notes(&many, 100, 120);
        assert!(notes[0].contains("100 distinct labels"), "{notes:?}");
    }
}
