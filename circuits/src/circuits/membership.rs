//! Opening a committed dataset row inside a circuit.
//!
//! A row is `features` signed values of `feature_bits` bits and a label of
//! `label_bits` unsigned bits ([`RowLayout`]). Its leaf is
//! `hash([salt, pack(row)...])` (see [`pack`](crate::chips::pack) and
//! [`hash`](crate::chips::hash)); leaves form a Poseidon Merkle tree.
//! [`open_row`] proves a row is the leaf at an index cell under a root and
//! returns the row's cells, range-checked, for the rest of a circuit to compute
//! on. [`MembershipCircuit`] is the standalone statement "the row at public index
//! `i` belongs to the dataset with public root `r`", revealing nothing else.

use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};
use serde::{Deserialize, Serialize};

use super::{measure, CircuitError, Measured};
use crate::chips::core::{CoreConfig, CoreShape};
use crate::chips::hash::{hash_native, hash_native_many};
use crate::chips::merkle::{index_bits, MerkleInstructions, MerklePath};
use crate::chips::pack::{chunks, pack, pack_native};
use crate::chips::table::{Lookup, TableSet};
use crate::Fp;

/// How a dataset row is laid out for packing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowLayout {
    /// Number of features.
    pub features: usize,
    /// Signed bit bound of each quantized feature.
    pub feature_bits: u32,
    /// Unsigned bits of the label (class index).
    pub label_bits: u32,
}

impl RowLayout {
    /// The widest feature a row may have (one table lookup per feature).
    pub const MAX_FEATURE_BITS: u32 = 16;

    /// The lookup of every value: features, then the label.
    pub fn lookups(&self) -> Vec<Lookup> {
        let mut l = vec![Lookup::Signed(self.feature_bits); self.features];
        l.push(Lookup::Unsigned(self.label_bits));
        l
    }

    /// Number of packed field elements per row.
    pub fn packed_len(&self) -> usize {
        chunks(&self.lookups()).len()
    }

    /// Registers the table entries opening a row needs.
    pub fn register(&self, set: &mut TableSet) {
        for l in self.lookups() {
            set.add(l);
        }
        set.add(Lookup::Unsigned(1));
    }

    /// Checks the layout is usable.
    pub fn validate(&self) -> Result<(), CircuitError> {
        if self.features == 0 || self.features > 1 << 16 {
            return Err(CircuitError::Shape {
                what: "features per row",
                expected: vec![1, 1 << 16],
                found: vec![self.features],
            });
        }
        for bits in [self.feature_bits, self.label_bits] {
            if bits == 0 || bits > Self::MAX_FEATURE_BITS {
                return Err(CircuitError::LookupTooWide {
                    bits,
                    max: Self::MAX_FEATURE_BITS,
                });
            }
        }
        Ok(())
    }
}

/// The leaf of a row: `hash([salt, pack(features ++ [label])...])`.
pub fn leaf_native(layout: &RowLayout, salt: Fp, values: &[i64]) -> Fp {
    let mut input = vec![salt];
    input.extend(pack_native(values, &layout.lookups()));
    hash_native(&input)
}

/// The leaves of many rows, each `(salt, values)`: equal to [`leaf_native`]
/// on each, hashed in lockstep.
pub fn leaves_native(layout: &RowLayout, rows: &[(Fp, &[i64])]) -> Vec<Fp> {
    let lookups = layout.lookups();
    let inputs: Vec<Vec<Fp>> = rows
        .iter()
        .map(|(salt, values)| {
            let mut input = vec![*salt];
            input.extend(pack_native(values, &lookups));
            input
        })
        .collect();
    let refs: Vec<&[Fp]> = inputs.iter().map(Vec::as_slice).collect();
    hash_native_many(&refs)
}

/// The cells of an opened row.
#[derive(Clone, Debug)]
pub struct OpenedRow {
    /// The row's values (features then label), each range-checked.
    pub values: Vec<AssignedCell<Fp, Fp>>,
    /// The root the row opens to.
    pub root: AssignedCell<Fp, Fp>,
}

/// Opens a row at `index` (a cell, typically bound to a public input) and
/// returns its values and the root they hash to. The caller constrains the root
/// (to a public input or a shared cell).
#[allow(clippy::too_many_arguments)]
pub fn open_row(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    layout: &RowLayout,
    values: &[Value<i64>],
    salt: Value<Fp>,
    index: &AssignedCell<Fp, Fp>,
    index_value: Value<u64>,
    siblings: &[Value<Fp>],
) -> Result<OpenedRow, Error> {
    let lookup = cfg.lookup_chip();
    let packed = pack(
        &lookup,
        &mut layouter.namespace(|| "row"),
        values,
        &layout.lookups(),
    )?;
    let salt = cfg.witness(&mut layouter.namespace(|| "salt"), &[salt])?;
    let mut input = salt;
    input.extend(packed.packed);
    let leaf = cfg
        .hash_chip()?
        .hash(&mut layouter.namespace(|| "leaf"), &input)?;
    let bits = index_bits(
        &lookup,
        &mut layouter.namespace(|| "index bits"),
        index,
        index_value,
        siblings.len(),
    )?;
    let root =
        cfg.merkle_chip()?
            .root(&mut layouter.namespace(|| "path"), &leaf, &bits, siblings)?;
    Ok(OpenedRow {
        values: packed.values,
        root,
    })
}

/// Opens the row of `opening` (unknown values when `None`, for key
/// generation): witnesses its index, exposes it as public input
/// `index_row`, and returns the row's cells and root (not exposed).
pub fn open_row_at(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    layout: &RowLayout,
    depth: usize,
    opening: Option<&RowOpening>,
    index_row: usize,
) -> Result<OpenedRow, Error> {
    let values: Vec<Value<i64>> = match opening {
        Some(o) => o.values.iter().map(|v| Value::known(*v)).collect(),
        None => vec![Value::unknown(); layout.features + 1],
    };
    let index_value = opening.map_or(Value::unknown(), |o| Value::known(o.path.index));
    let index = cfg.witness(layouter, &[index_value.map(Fp::from)])?;
    cfg.expose(layouter, &index[0], index_row)?;
    let siblings: Vec<Value<Fp>> = match opening {
        Some(o) => o.path.siblings.iter().map(|s| Value::known(*s)).collect(),
        None => vec![Value::unknown(); depth],
    };
    open_row(
        cfg,
        layouter,
        layout,
        &values,
        opening.map_or(Value::unknown(), |o| Value::known(o.salt)),
        &index[0],
        index_value,
        &siblings,
    )
}

/// The private opening a membership proof needs.
#[derive(Clone, Debug)]
pub struct RowOpening {
    /// The row's quantized values (features then label).
    pub values: Vec<i64>,
    /// The row's salt.
    pub salt: Fp,
    /// The Merkle path.
    pub path: MerklePath,
}

/// "The row at public index `i` is in the dataset with root `r`." Public
/// inputs: `[root, index]`.
#[derive(Clone, Debug)]
pub struct MembershipCircuit {
    layout: RowLayout,
    depth: usize,
    opening: Option<RowOpening>,
}

/// The core shape membership proofs use.
pub const MEMBERSHIP_SHAPE: CoreShape = CoreShape {
    width: 4,
    lanes: 1,
    lane_equality: false,
    lookup_lanes: 1,
    hash_lanes: 1,
    pack_lanes: 0,
};

impl MembershipCircuit {
    /// Plans a membership circuit for trees of the given depth.
    pub fn new(
        layout: RowLayout,
        depth: usize,
        opening: Option<RowOpening>,
    ) -> Result<Self, CircuitError> {
        layout.validate()?;
        if depth == 0 || depth > 40 {
            return Err(CircuitError::Shape {
                what: "tree depth",
                expected: vec![1, 40],
                found: vec![depth],
            });
        }
        if let Some(o) = &opening {
            if o.values.len() != layout.features + 1 || o.path.siblings.len() != depth {
                return Err(CircuitError::Shape {
                    what: "row opening",
                    expected: vec![layout.features + 1, depth],
                    found: vec![o.values.len(), o.path.siblings.len()],
                });
            }
        }
        Ok(Self {
            layout,
            depth,
            opening,
        })
    }

    /// The public inputs `[root, index]`, from the opening.
    pub fn public_inputs(&self) -> Option<Vec<Fp>> {
        let o = self.opening.as_ref()?;
        let leaf = leaf_native(&self.layout, o.salt, &o.values);
        Some(vec![o.path.root(leaf), Fp::from(o.path.index)])
    }

    /// The same circuit without its witness.
    pub fn describe(&self) -> Self {
        Self {
            opening: None,
            ..self.clone()
        }
    }

    /// Rows used and the smallest `k`, measured by laying the circuit out.
    pub fn measure(&self) -> Result<Measured, CircuitError> {
        measure(&self.describe(), 2)
    }

    /// The smallest `k` this circuit fits.
    pub fn k(&self) -> Result<u32, CircuitError> {
        Ok(self.measure()?.k)
    }
}

impl Circuit<Fp> for MembershipCircuit {
    type Config = CoreConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.describe()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> CoreConfig {
        CoreConfig::configure(meta, MEMBERSHIP_SHAPE)
    }

    fn synthesize(&self, cfg: CoreConfig, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        let mut set = TableSet::new();
        self.layout.register(&mut set);
        cfg.load_table(&mut layouter, &set)?;
        let opened = open_row_at(
            &cfg,
            &mut layouter,
            &self.layout,
            self.depth,
            self.opening.as_ref(),
            1,
        )?;
        cfg.expose(&mut layouter, &opened.root, 0)?;
        cfg.finish(&mut layouter)
    }
}

/// The openings of every row of a small tree (a power of two of rows) with
/// the given salts: for tests of circuits that open rows.
#[cfg(test)]
pub(crate) fn test_openings(
    layout: &RowLayout,
    rows: &[Vec<i64>],
    salts: &[Fp],
) -> Vec<RowOpening> {
    use crate::chips::merkle::node_native;
    let leaves: Vec<Fp> = rows
        .iter()
        .zip(salts)
        .map(|(v, s)| leaf_native(layout, *s, v))
        .collect();
    let mut levels = vec![leaves];
    while levels.last().map_or(0, |l| l.len()) > 1 {
        let prev = levels.last().cloned().unwrap_or_default();
        levels.push(prev.chunks(2).map(|p| node_native(p[0], p[1])).collect());
    }
    let depth = levels.len() - 1;
    (0..rows.len() as u64)
        .map(|i| RowOpening {
            values: rows[i as usize].clone(),
            salt: salts[i as usize],
            path: MerklePath {
                index: i,
                siblings: (0..depth)
                    .map(|l| levels[l][((i >> l) ^ 1) as usize])
                    .collect(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::chips::merkle::node_native;

    const LAYOUT: RowLayout = RowLayout {
        features: 5,
        feature_bits: 8,
        label_bits: 2,
    };

    /// A tree of 8 rows with salts; returns the opening of row `i` and the root.
    fn dataset(i: u64) -> (RowOpening, Fp) {
        let rows: Vec<Vec<i64>> = (0..8i64)
            .map(|r| vec![r, -r, 3 * r, 100 - r, -128 + r, r % 4])
            .collect();
        let salts: Vec<Fp> = (0..8u64).map(|r| Fp::from(1000 + r)).collect();
        let mut level: Vec<Fp> = rows
            .iter()
            .zip(&salts)
            .map(|(v, s)| leaf_native(&LAYOUT, *s, v))
            .collect();
        let mut siblings = vec![];
        let mut idx = i as usize;
        while level.len() > 1 {
            siblings.push(level[idx ^ 1]);
            level = level.chunks(2).map(|p| node_native(p[0], p[1])).collect();
            idx /= 2;
        }
        let opening = RowOpening {
            values: rows[i as usize].clone(),
            salt: salts[i as usize],
            path: MerklePath { index: i, siblings },
        };
        (opening, level[0])
    }

    fn run(o: RowOpening, public: Vec<Fp>) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        let c = MembershipCircuit::new(LAYOUT, 3, Some(o)).expect("valid");
        let k = c.k().expect("fits");
        MockProver::run(k, &c, vec![public]).expect("runs").verify()
    }

    #[test]
    fn every_row_opens() {
        for i in 0..8 {
            let (o, root) = dataset(i);
            let c = MembershipCircuit::new(LAYOUT, 3, Some(o.clone())).unwrap();
            assert_eq!(c.public_inputs(), Some(vec![root, Fp::from(i)]));
            assert_eq!(run(o, vec![root, Fp::from(i)]), Ok(()));
        }
    }

    #[test]
    fn tampered_rows_are_rejected() {
        let (o, root) = dataset(5);
        let public = vec![root, Fp::from(5)];
        let mut feature = o.clone();
        feature.values[2] += 1;
        assert!(run(feature, public.clone()).is_err(), "changed feature");
        let mut label = o.clone();
        label.values[5] = (label.values[5] + 1) % 4;
        assert!(run(label, public.clone()).is_err(), "changed label");
        let mut salt = o.clone();
        salt.salt += Fp::from(1);
        assert!(run(salt, public.clone()).is_err(), "wrong salt");
        let mut sibling = o.clone();
        sibling.path.siblings[0] += Fp::from(1);
        assert!(run(sibling, public.clone()).is_err(), "wrong sibling");
        // The honest opening of row 5 does not prove row 4.
        assert!(
            run(o.clone(), vec![root, Fp::from(4)]).is_err(),
            "another index"
        );
        let mut wide = o;
        wide.values[0] = 128;
        assert!(run(wide, public).is_err(), "feature outside its bits");
    }

    /// The circuit assigns the Poseidon schedule: a cell of the leaf's
    /// sponge and of a path node's permutation fail their round gates.
    #[test]
    fn its_permutations_are_constrained() {
        use crate::chips::test_utils::assert_gate_fails;
        let (o, root) = dataset(3);
        let c = MembershipCircuit::new(LAYOUT, 3, Some(o)).unwrap();
        let k = c.k().unwrap();
        let w = crate::tamper::Witness::record(k, c, vec![vec![root, Fp::from(3)]]);
        assert_gate_fails(w.shift(&w.nth("leaf", "aux", 3), 1), "poseidon full round");
        assert_gate_fails(
            w.shift(&w.nth("path", "aux", 30), 1),
            "poseidon partial rounds",
        );
    }
}
