//! What a dataset's public root commits to.
//!
//! The Merkle root `T` commits to the salted leaves only. Statements name the
//! public root instead,
//!
//! `R = sponge([DOMAIN, T, n_rows, depth, features, feature_bits,
//! feature_frac_bits, label_bits, classes, schema_digest])`,
//!
//! the flat Poseidon sponge of [`sponge_native`], where `schema_digest` is
//! Blake2b-512 (personal `zkpot.schema.v1`) of the schema's canonical JSON
//! (feature names, label column, classes, format, normalization), reduced
//! into the field. A prover who published `R` before the beacon cannot
//! afterwards claim another row count (another batch schedule), another
//! depth, or another meaning of the rows: the verifier recomputes `R` from
//! the values every statement carries and refuses any difference.

use ff::FromUniformBytes;
use serde::{Deserialize, Serialize};
use zkpot_circuits::chips::hash::sponge_native;
use zkpot_circuits::circuits::membership::RowLayout;
use zkpot_circuits::envelope::dataset_size;
use zkpot_circuits::fixed::QFormat;
use zkpot_circuits::Fp;

use super::error::DataError;
use super::schema::Schema;
use crate::hex::{fp_from_hex, fp_to_hex};

/// Domain separator of public dataset roots ("zkpot.R2" in ASCII).
const ROOT_DOMAIN: u64 = 0x7a6b_706f_742e_5232;

/// The public facts about a committed dataset that every statement over it
/// carries: enough for a verifier to recompute the public root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetRef {
    /// The public root `R` (hex): what a dataset is published as.
    pub root: String,
    /// The Merkle root `T` (hex) rows are opened against in circuits.
    pub tree_root: String,
    /// Rows in the dataset.
    pub n_rows: u64,
    /// Tree depth, `depth_for(n_rows)`.
    pub depth: u32,
    /// How a row is packed into its leaf.
    pub layout: RowLayout,
    /// The fixed-point format of the features (its value bits are the
    /// layout's feature bits).
    pub format: QFormat,
    /// Number of classes labels index.
    pub classes: u32,
    /// The schema's digest (hex), see the module docs.
    pub schema_digest: String,
}

/// The public root of a dataset (see the module docs).
pub fn public_root(
    tree_root: Fp,
    n_rows: u64,
    depth: u32,
    layout: &RowLayout,
    frac_bits: u32,
    classes: u32,
    schema_digest: Fp,
) -> Fp {
    sponge_native(&[
        Fp::from(ROOT_DOMAIN),
        tree_root,
        Fp::from(n_rows),
        Fp::from(u64::from(depth)),
        Fp::from(layout.features as u64),
        Fp::from(u64::from(layout.feature_bits)),
        Fp::from(u64::from(frac_bits)),
        Fp::from(u64::from(layout.label_bits)),
        Fp::from(u64::from(classes)),
        schema_digest,
    ])
}

impl Schema {
    /// The schema's digest: Blake2b-512 of its canonical JSON, reduced into
    /// the field.
    pub fn digest(&self) -> Result<Fp, DataError> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| DataError::Options(format!("schema serialization: {e}")))?;
        let h = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(b"zkpot.schema.v1\0")
            .hash(&bytes);
        let mut wide = [0u8; 64];
        wide.copy_from_slice(h.as_bytes());
        Ok(Fp::from_uniform_bytes(&wide))
    }
}

fn field(value: &str, what: &'static str) -> Result<Fp, DataError> {
    fp_from_hex(value).ok_or_else(|| DataError::Binding {
        field: what,
        reason: format!("{value:?} is not a field element"),
    })
}

impl DatasetRef {
    /// The reference of a dataset with Merkle root `tree_root`, `n_rows` rows
    /// and `schema`; its public root is computed, not taken.
    pub fn new(tree_root: Fp, n_rows: u64, depth: u32, schema: &Schema) -> Result<Self, DataError> {
        let layout = schema.layout();
        let classes = schema.classes.len() as u32;
        let digest = schema.digest()?;
        let frac = schema.format.frac_bits();
        let root = public_root(tree_root, n_rows, depth, &layout, frac, classes, digest);
        Ok(Self {
            root: fp_to_hex(&root),
            tree_root: fp_to_hex(&tree_root),
            n_rows,
            depth,
            layout,
            format: schema.format,
            classes,
            schema_digest: fp_to_hex(&digest),
        })
    }

    /// Checks the reference against the envelope (row count, depth from the
    /// row count, layout, classes fitting the label bits; at least
    /// `min_rows` rows) and that its public root is the one its values give.
    pub fn check(&self, min_rows: u64) -> Result<(), DataError> {
        dataset_size(self.n_rows, self.depth, min_rows)?;
        self.layout.validate()?;
        if self.format.bits() != self.layout.feature_bits {
            return Err(DataError::Binding {
                field: "format",
                reason: format!(
                    "features of format {} are not {}-bit values",
                    self.format, self.layout.feature_bits
                ),
            });
        }
        if self.classes == 0 || u64::from(self.classes) > 1u64 << self.layout.label_bits {
            return Err(DataError::Binding {
                field: "classes",
                reason: format!(
                    "{} classes do not fit {}-bit labels",
                    self.classes, self.layout.label_bits
                ),
            });
        }
        let computed = public_root(
            self.tree_root()?,
            self.n_rows,
            self.depth,
            &self.layout,
            self.format.frac_bits(),
            self.classes,
            field(&self.schema_digest, "schema digest")?,
        );
        if self.public_root()? != computed {
            return Err(DataError::RootMismatch {
                stated: self.root.clone(),
                computed: fp_to_hex(&computed),
            });
        }
        Ok(())
    }

    /// The public root `R`.
    pub fn public_root(&self) -> Result<Fp, DataError> {
        field(&self.root, "dataset root")
    }

    /// The Merkle root `T`.
    pub fn tree_root(&self) -> Result<Fp, DataError> {
        field(&self.tree_root, "tree root")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{FeatureStats, NormKind};
    use zkpot_circuits::fixed::QFormat;

    fn schema() -> Schema {
        Schema {
            n_features: 2,
            feature_names: vec!["a".into(), "b".into()],
            feature_columns: vec![],
            label_column: 2,
            classes: vec!["x".into(), "y".into(), "z".into()],
            format: QFormat::constant(6, 8),
            normalization: FeatureStats::new(2).normalization(NormKind::None),
        }
    }

    #[test]
    fn the_root_binds_every_field() {
        let t = Fp::from(99);
        let base = DatasetRef::new(t, 150, 8, &schema()).unwrap();
        base.check(4).unwrap();
        let mut other = schema();
        other.feature_names[1] = "c".into();
        let mut scaled = schema();
        scaled.normalization.scale[0] = 2.0;
        let variants = [
            DatasetRef::new(t + Fp::from(1), 150, 8, &schema()).unwrap(),
            DatasetRef::new(t, 140, 8, &schema()).unwrap(),
            DatasetRef::new(t, 150, 9, &schema()).unwrap(),
            DatasetRef::new(t, 150, 8, &other).unwrap(),
            DatasetRef::new(t, 150, 8, &scaled).unwrap(),
        ];
        for v in &variants {
            assert_ne!(v.root, base.root, "{v:?}");
        }
        // A stated field changed under the same root is refused.
        let mut fewer = base.clone();
        fewer.n_rows = 140;
        assert!(matches!(
            fewer.check(4),
            Err(DataError::RootMismatch { .. })
        ));
        let mut classes = base.clone();
        classes.classes = 2;
        assert!(classes.check(4).is_err());
        let mut digest = base.clone();
        digest.schema_digest = variants[3].schema_digest.clone();
        assert!(digest.check(4).is_err());
        // Another scale of the same integers.
        let mut scale = base.clone();
        scale.format = QFormat::constant(0, 8);
        assert!(matches!(
            scale.check(4),
            Err(DataError::RootMismatch { .. })
        ));
        scale.format = QFormat::constant(6, 9);
        assert!(scale.check(4).is_err());
        // The depth must be the row count's.
        let deep = DatasetRef::new(t, 150, 9, &schema()).unwrap();
        assert!(matches!(deep.check(4), Err(DataError::Envelope(_))));
        // Fewer rows than a batch.
        assert!(base.check(151).is_err());
    }
}
