//! The configuration every zkpot circuit starts from: the shared table, the
//! generic lookup gadget, the MAC gadget, a constants column and one instance
//! column for public inputs.

use std::sync::{Arc, Mutex};

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{Column, ConstraintSystem, Error, Instance};

use super::dense::DenseChip;
use super::dot::chip::ConstantCells;
use super::dot::{DotChip, DotConfig};
use super::hash::{HashChip, HashConfig, SharedHashUsage};
use super::lookup::chip::LaneUsage;
use super::lookup::{LookupChip, LookupConfig};
use super::merkle::{MerkleChip, MerkleConfig};
use super::pack_lane::{ByteTable, PackLaneChip, PackLaneConfig};
use super::range::RangeChip;
use super::rescale::RescaleChip;
use super::table::{TableConfig, TableSet};
use crate::Fp;

/// The static shape of the core: how wide the MAC gadget is. It decides the
/// columns, so it is fixed per circuit type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreShape {
    /// Products per row per lane.
    pub width: usize,
    /// Dot products computed side by side with a shared operand.
    pub lanes: usize,
    /// Whether lane vectors can be copied in (needed for batches above one).
    pub lane_equality: bool,
    /// Copies of the lookup gadget laid out side by side (at least one).
    pub lookup_lanes: usize,
    /// Copies of Poseidon laid out side by side; 0 for circuits that do not hash.
    pub hash_lanes: usize,
    /// Lean lanes packing 8-bit weights for commitments
    /// ([`pack_lane`](super::pack_lane)); 0 for none.
    pub pack_lanes: usize,
}

impl CoreShape {
    /// Advice columns the core configures with this shape: the lookup gadget's
    /// three and the MAC gadget's `width + lanes * width + lanes`.
    pub fn advice_columns(&self) -> usize {
        3 * self.lookup_lanes.max(1)
            + self.width
            + self.lanes * self.width
            + self.lanes
            + 7 * self.hash_lanes
            + 2 * self.pack_lanes
    }

    /// The default shape, chosen by measurement (see docs/DESIGN.md): 8 products
    /// a row in each of 4 lanes, 32 multiply-adds a row.
    pub const DEFAULT: CoreShape = CoreShape {
        width: 8,
        lanes: 4,
        lane_equality: false,
        lookup_lanes: 1,
        hash_lanes: 0,
        pack_lanes: 0,
    };
}

/// The columns, gates and lookup of the core.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// The shared lookup table.
    pub table: TableConfig,
    /// The generic lookup gadget, one configuration per lane.
    pub lookups: Vec<LookupConfig>,
    /// Rows used per lookup lane during one synthesis.
    pub lookup_usage: LaneUsage,
    /// The MAC gadget.
    pub dot: DotConfig,
    /// Public inputs.
    pub instance: Column<Instance>,
    /// Poseidon's lanes and sponge gate (none if the shape does not hash).
    pub hash: Option<HashConfig>,
    /// Permutations per Poseidon lane during one synthesis.
    pub hash_usage: SharedHashUsage,
    /// Constant cells assigned so far in one synthesis.
    pub constant_cells: ConstantCells,
    /// The Merkle swap gate, when the shape asks for hashing (on MAC columns).
    pub merkle: Option<MerkleConfig>,
    /// The signed-byte table, when the shape has pack lanes.
    pub bytes: Option<ByteTable>,
    /// The pack lanes.
    pub packs: Vec<PackLaneConfig>,
    /// Rows used per pack lane during one synthesis.
    pub pack_usage: LaneUsage,
}

impl CoreConfig {
    /// Configures the core with the given MAC shape.
    ///
    /// Side effects: see [`LookupConfig::configure`], [`DotConfig::configure`]
    /// and [`PackLaneConfig::configure`];
    /// plus one fixed column with constants enabled and one instance column with
    /// equality enabled; the minimum degree is raised to the largest that keeps
    /// the quotient's domain.
    pub fn configure(meta: &mut ConstraintSystem<Fp>, shape: CoreShape) -> Self {
        let table = TableConfig::configure(meta);
        let lookups: Vec<LookupConfig> = (0..shape.lookup_lanes.max(1))
            .map(|_| LookupConfig::configure(meta, table))
            .collect();
        let constants = meta.fixed_column();
        let dot = DotConfig::configure(
            meta,
            shape.width,
            shape.lanes,
            shape.lane_equality,
            constants,
        );
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        // The swap gate and the sponge's additions share the MAC gadget's
        // equality-enabled columns.
        let shared: Vec<_> = dot.a.iter().chain(dot.acc.iter()).copied().collect();
        let (merkle, hash) = match (shape.hash_lanes, shared.as_slice()) {
            (1.., [a, b, c, d, e, ..]) => (
                Some(MerkleConfig::configure(meta, [*a, *b, *c, *d, *e])),
                Some(HashConfig::configure(meta, shape.hash_lanes, [*a, *b, *c])),
            ),
            _ => (None, None),
        };
        // The largest constraint degree d fixes the quotient's domain at
        // next_pow2(d - 1) times the rows. Raising the degree to the largest with
        // the same domain costs nothing there and lets the permutation argument
        // pack more columns into each grand product: fewer commitments, a
        // smaller and faster proof (docs/DESIGN.md, "Constraint degree").
        let bytes = (shape.pack_lanes > 0).then(|| ByteTable::configure(meta));
        let packs: Vec<PackLaneConfig> = bytes
            .map(|t| {
                (0..shape.pack_lanes)
                    .map(|_| PackLaneConfig::configure(meta, t))
                    .collect()
            })
            .unwrap_or_default();
        let degree = meta.degree();
        meta.set_minimum_degree((degree.max(2) - 1).next_power_of_two() + 1);
        let lanes = lookups.len();
        Self {
            table,
            lookups,
            lookup_usage: Arc::new(Mutex::new(vec![0; lanes])),
            dot,
            instance,
            hash,
            hash_usage: Arc::new(Mutex::new(Default::default())),
            constant_cells: Arc::new(Mutex::new(Default::default())),
            merkle,
            bytes,
            pack_usage: Arc::new(Mutex::new(vec![0; packs.len()])),
            packs,
        }
    }

    /// Assigns private values in one region of the MAC gadget's first column
    /// (equality enabled), for chips that take cells.
    pub fn witness(
        &self,
        layouter: &mut impl Layouter<Fp>,
        values: &[Value<Fp>],
    ) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
        layouter.assign_region(
            || "witness",
            |mut region| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| region.assign_advice(|| "witness", self.dot.a[0], i, || *v))
                    .collect()
            },
        )
    }

    /// The Poseidon chip; an error if the shape has no hashing.
    pub fn hash_chip(&self) -> Result<HashChip, Error> {
        let config = self.hash.clone().ok_or(Error::Synthesis)?;
        Ok(HashChip::new(config, self.hash_usage.clone()))
    }

    /// Completes a synthesis: pads the Poseidon lanes and assigns their shared
    /// round schedule ([`HashChip::finish`]). Every circuit calls it once,
    /// last; without it no permutation is constrained.
    pub fn finish(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        match self.hash_chip() {
            Ok(chip) => chip.finish(layouter),
            Err(_) => Ok(()),
        }
    }

    /// The Merkle chip; an error if the shape has no hashing.
    pub fn merkle_chip(&self) -> Result<MerkleChip, Error> {
        let merkle = self.merkle.clone().ok_or(Error::Synthesis)?;
        Ok(MerkleChip::construct(merkle, self.hash_chip()?))
    }

    /// Loads the table with the lookups in `set`.
    pub fn load_table(
        &self,
        layouter: &mut impl Layouter<Fp>,
        set: &TableSet,
    ) -> Result<(), Error> {
        if let Some(bytes) = &self.bytes {
            bytes.load(layouter)?;
        }
        self.table.load(layouter, set)
    }

    /// The pack-lane chip, if the shape has pack lanes.
    pub fn pack_lane_chip(&self) -> Option<PackLaneChip> {
        (!self.packs.is_empty())
            .then(|| PackLaneChip::with_lanes(self.packs.clone(), self.pack_usage.clone()))
    }

    /// Constrains `cell` to equal public input `row`.
    pub fn expose(
        &self,
        layouter: &mut impl Layouter<Fp>,
        cell: &AssignedCell<Fp, Fp>,
        row: usize,
    ) -> Result<(), Error> {
        layouter.constrain_instance(cell.cell(), self.instance, row)
    }

    /// The generic lookup chip.
    pub fn lookup_chip(&self) -> LookupChip {
        LookupChip::with_lanes(self.lookups.clone(), self.lookup_usage.clone())
    }

    /// A range-check chip with the given limb width.
    pub fn range_chip(&self, limb_bits: u32) -> RangeChip {
        RangeChip::construct(self.lookup_chip(), limb_bits)
    }

    /// A rescale chip with the given limb width.
    pub fn rescale_chip(&self, limb_bits: u32) -> RescaleChip {
        RescaleChip::construct(self.lookup_chip(), limb_bits)
    }

    /// The MAC chip (sharing this synthesis's constant cells).
    pub fn dot_chip(&self) -> DotChip {
        DotChip::with_constants(self.dot.clone(), self.constant_cells.clone())
    }

    /// A dense-layer chip with the given limb width.
    pub fn dense_chip(&self, limb_bits: u32) -> DenseChip {
        DenseChip::construct(self.dot.clone(), self.lookup_chip(), limb_bits)
    }
}
