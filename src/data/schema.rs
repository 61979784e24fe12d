//! What a dataset row means: features, label, normalization and fixed-point
//! format. The schema is part of the public commitment, so a verifier knows how
//! a committed row relates to the original data.

use serde::{Deserialize, Serialize};
use zkpot_circuits::circuits::membership::RowLayout;
use zkpot_circuits::fixed::{FixedError, QFormat};

/// How features are normalized before quantizing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormKind {
    /// Features are quantized as they are.
    None,
    /// Each feature is mapped to `[0, 1]` by its minimum and maximum.
    MinMax,
    /// Each feature is mapped to zero mean and unit variance.
    Standard,
}

impl std::str::FromStr for NormKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(NormKind::None),
            "minmax" => Ok(NormKind::MinMax),
            "standard" => Ok(NormKind::Standard),
            other => Err(format!(
                "unknown normalization {other:?} (none, minmax, standard)"
            )),
        }
    }
}

/// Per-feature affine normalization `x' = (x - offset) * scale`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalization {
    /// The method the parameters came from.
    pub kind: NormKind,
    /// Subtracted from each feature.
    pub offset: Vec<f64>,
    /// Then multiplied into each feature.
    pub scale: Vec<f64>,
}

impl Normalization {
    /// Feature `j`'s raw value `x`, normalized: `(x - offset) * scale`.
    pub fn apply(&self, j: usize, x: f64) -> f64 {
        (x - self.offset[j]) * self.scale[j]
    }
}

/// The most fractional bits, at most `format`'s, with which every value in
/// `extremes` quantizes inside `format`'s bit bound; `None` if not even an
/// integer format holds them.
pub fn fitting_frac_bits(format: QFormat, extremes: &[Option<(f64, f64)>]) -> Option<u32> {
    (0..=format.frac_bits()).rev().find(|f| {
        QFormat::new(*f, format.bits()).is_ok_and(|q| {
            extremes.iter().flatten().all(|(lo, hi)| {
                q.quantize(*lo, 0, "feature").is_ok() && q.quantize(*hi, 0, "feature").is_ok()
            })
        })
    })
}

/// Running per-feature statistics for computing a normalization in one pass.
#[derive(Clone, Debug)]
pub struct FeatureStats {
    min: Vec<f64>,
    max: Vec<f64>,
    /// Running means and sums of squared deviations from them (Welford's
    /// update, Chan's merge): `E[x^2] - E[x]^2` loses every digit of a
    /// feature whose spread is small beside its values (timestamps, ids).
    mean: Vec<f64>,
    m2: Vec<f64>,
    count: u64,
}

impl FeatureStats {
    /// Empty statistics over `n` features.
    pub fn new(n: usize) -> Self {
        Self {
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
            mean: vec![0.0; n],
            m2: vec![0.0; n],
            count: 0,
        }
    }

    /// Adds one row of features.
    pub fn add(&mut self, row: &[f64]) {
        self.count += 1;
        let n = self.count as f64;
        for (j, x) in row.iter().enumerate() {
            self.min[j] = self.min[j].min(*x);
            self.max[j] = self.max[j].max(*x);
            let delta = x - self.mean[j];
            self.mean[j] += delta / n;
            self.m2[j] += delta * (x - self.mean[j]);
        }
    }

    /// Merges statistics of another part of the data.
    pub fn merge(&mut self, other: &FeatureStats) {
        let total = self.count + other.count;
        if total == 0 {
            return;
        }
        let (na, nb, n) = (self.count as f64, other.count as f64, total as f64);
        for j in 0..self.min.len() {
            self.min[j] = self.min[j].min(other.min[j]);
            self.max[j] = self.max[j].max(other.max[j]);
            let delta = other.mean[j] - self.mean[j];
            self.mean[j] += delta * nb / n;
            self.m2[j] += other.m2[j] + delta * delta * na * nb / n;
        }
        self.count = total;
    }

    /// The first feature the normalization of `kind` cannot represent in
    /// floating point (a range or variance that overflows, or a spread so
    /// small its inverse does), with its smallest and largest values.
    pub fn unrepresentable(&self, kind: NormKind) -> Option<(usize, f64, f64)> {
        let n = self.normalization(kind);
        (0..self.min.len())
            .find(|&j| {
                let spread = self.max[j] - self.min[j];
                !n.offset[j].is_finite()
                    || !n.scale[j].is_finite()
                    || (kind != NormKind::None && !spread.is_finite())
                    || (n.scale[j] == 0.0 && spread > 0.0)
            })
            .map(|j| (j, self.min[j], self.max[j]))
    }

    /// Each feature's smallest and largest value after `normalization`
    /// (computed as [`Normalization::apply`] computes every value, which is
    /// monotonic since scales are never negative); `None` for a feature with
    /// no values.
    pub fn normalized_extremes(&self, normalization: &Normalization) -> Vec<Option<(f64, f64)>> {
        (0..self.min.len())
            .map(|j| {
                (self.min[j] <= self.max[j]).then(|| {
                    (
                        normalization.apply(j, self.min[j]),
                        normalization.apply(j, self.max[j]),
                    )
                })
            })
            .collect()
    }

    /// The normalization of the given kind these statistics imply. A constant
    /// feature gets scale 0 (it normalizes to 0).
    pub fn normalization(&self, kind: NormKind) -> Normalization {
        let n = self.min.len();
        let (offset, scale) = match kind {
            NormKind::None => (vec![0.0; n], vec![1.0; n]),
            NormKind::MinMax => (
                self.min.clone(),
                (0..n)
                    .map(|j| {
                        let r = self.max[j] - self.min[j];
                        if r > 0.0 {
                            1.0 / r
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            ),
            NormKind::Standard => {
                let c = self.count.max(1) as f64;
                let mean = self.mean.clone();
                let scale = (0..n)
                    .map(|j| {
                        let var = (self.m2[j] / c).max(0.0);
                        if var > 0.0 {
                            1.0 / var.sqrt()
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (mean, scale)
            }
        };
        Normalization {
            kind,
            offset,
            scale,
        }
    }
}

/// The public description of a committed dataset's rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// Number of features per row.
    pub n_features: usize,
    /// Feature names, when the CSV had a header of names.
    pub feature_names: Vec<String>,
    /// The CSV columns (0-based) the features were read from, in order,
    /// when they were chosen (`--features`, `--drop`, a pandas index left
    /// out); empty when every column but the label was read in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_columns: Vec<usize>,
    /// 0-based CSV column of the label.
    pub label_column: usize,
    /// Class names in label order; a label is an index into this list.
    pub classes: Vec<String>,
    /// Fixed-point format of the normalized features.
    pub format: QFormat,
    /// How raw features were normalized before quantizing.
    pub normalization: Normalization,
}

impl Schema {
    /// Bits a label needs: enough for the largest class index (at least one).
    pub fn label_bits(&self) -> u32 {
        let c = self.classes.len().max(2) as u64;
        64 - (c - 1).leading_zeros()
    }

    /// The circuit layout of a row.
    pub fn layout(&self) -> RowLayout {
        RowLayout {
            features: self.n_features,
            feature_bits: self.format.bits(),
            label_bits: self.label_bits(),
        }
    }

    /// Normalizes and quantizes one row's features, appending the label. On
    /// overflow returns the 0-based feature index with the error.
    pub fn quantize(&self, raw: &[f64], label: usize) -> Result<Vec<i64>, (usize, FixedError)> {
        let mut out = Vec::with_capacity(raw.len() + 1);
        for (j, x) in raw.iter().enumerate() {
            let v = self.normalization.apply(j, *x);
            out.push(self.format.quantize(v, j, "feature").map_err(|e| (j, e))?);
        }
        out.push(label as i64);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_floating_point_cannot_normalize_are_named() {
        let stats = |rows: &[[f64; 2]]| {
            let mut s = FeatureStats::new(2);
            for r in rows {
                s.add(r);
            }
            s
        };
        let ok = stats(&[[1.0, 5.0], [3.0, 5.0]]);
        for kind in [NormKind::None, NormKind::MinMax, NormKind::Standard] {
            assert_eq!(ok.unrepresentable(kind), None);
        }
        // A range that overflows, finite as every value is.
        let wide = stats(&[[1.0, 1e308], [3.0, -1.7e308]]);
        assert_eq!(wide.unrepresentable(NormKind::MinMax).map(|u| u.0), Some(1));
        assert_eq!(
            wide.unrepresentable(NormKind::Standard).map(|u| u.0),
            Some(1)
        );
        assert_eq!(wide.unrepresentable(NormKind::None), None);
        // A spread whose inverse overflows.
        let narrow = stats(&[[1e-320, 1.0], [0.0, 2.0]]);
        assert_eq!(
            narrow.unrepresentable(NormKind::MinMax).map(|u| u.0),
            Some(0)
        );
    }

    #[test]
    fn minmax_maps_to_unit_interval_and_constant_features_to_zero() {
        let mut s = FeatureStats::new(2);
        s.add(&[1.0, 5.0]);
        s.add(&[3.0, 5.0]);
        let n = s.normalization(NormKind::MinMax);
        assert_eq!(n.offset, vec![1.0, 5.0]);
        assert_eq!(n.scale, vec![0.5, 0.0]);
    }

    /// Values around 1.7e9 with a spread of 100 (timestamps): the deviation
    /// is the two-pass one, in one pass and across merged parts alike.
    #[test]
    fn standard_scale_keeps_its_digits_for_large_offsets() {
        let xs: Vec<f64> = (0..200)
            .map(|i| 1.7e9 + f64::from((i * 37) % 101) + 0.5)
            .collect();
        let mean = xs.iter().sum::<f64>() / 200.0;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 200.0;
        let want = 1.0 / var.sqrt();
        let mut whole = FeatureStats::new(1);
        let (mut a, mut b) = (FeatureStats::new(1), FeatureStats::new(1));
        for (i, x) in xs.iter().enumerate() {
            whole.add(&[*x]);
            if i % 3 == 0 {
                a.add(&[*x])
            } else {
                b.add(&[*x])
            }
        }
        a.merge(&b);
        for s in [whole, a] {
            let n = s.normalization(NormKind::Standard);
            assert!(
                (n.scale[0] / want - 1.0).abs() < 1e-9,
                "{} vs {want}",
                n.scale[0]
            );
            assert!((n.offset[0] - mean).abs() < 1e-3);
        }
        // A constant feature still gets scale 0.
        let mut c = FeatureStats::new(1);
        for _ in 0..5 {
            c.add(&[1.7e9]);
        }
        assert_eq!(c.normalization(NormKind::Standard).scale, vec![0.0]);
    }

    #[test]
    fn label_bits() {
        let mut schema = Schema {
            n_features: 1,
            feature_names: vec![],
            feature_columns: vec![],
            label_column: 1,
            classes: vec!["a".into(), "b".into(), "c".into()],
            format: QFormat::new(6, 8).unwrap(),
            normalization: FeatureStats::new(1).normalization(NormKind::None),
        };
        assert_eq!(schema.label_bits(), 2);
        schema.classes = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(schema.label_bits(), 4);
        schema.classes = vec!["x".into()];
        assert_eq!(schema.label_bits(), 1);
    }
}
