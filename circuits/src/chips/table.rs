//! The one lookup table every chip shares.
//!
//! Each entry is a triple `(tag, input, output)`. A tag names what a lookup checks
//! ([`Lookup`]): an unsigned or signed range of a given width (output 0), or a
//! nonlinearity over a fixed-point domain (output `act(input)`). A circuit loads
//! only the lookups it uses, so small circuits keep small tables and small `k`.
//! Row 0 is `(0, 0, 0)`: rows where no lookup is active have tag 0 and zero inputs.

use ff::{Field, PrimeField};
use std::collections::BTreeSet;

use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::plonk::{ConstraintSystem, Error, TableColumn};

use crate::field::fp_from_i64;
use crate::fixed::{Activation, QFormat};
use crate::Fp;

/// What one lookup into the shared table checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// `0 <= x < 2^bits`; the output is 0.
    Unsigned(u32),
    /// `-2^(bits-1) <= x < 2^(bits-1)`; the output is 0.
    Signed(u32),
    /// `-2^(bits-1) <= x < 2^(bits-1)`; the output is 1 if `x >= 0`, else 0.
    /// The top limb of a signed value carries its sign, so this lookup yields
    /// the sign bit ReLU needs for values wider than one table.
    Sign(u32),
    /// `x` is 0 or 1 and the output equals it.
    Bit,
    /// `x` is a class index below `classes` and the output is 1 exactly when
    /// `x` is `class`: one entry of a one-hot encoding.
    OneHot {
        /// The class this entry tests for.
        class: u32,
        /// The number of classes.
        classes: u32,
    },
    /// `x` in `[0, 2^EXP_BITS)` and the output is the softmax's exponential
    /// ([`softmax_exp`](crate::train::native::softmax_exp)).
    SoftmaxExp,
    /// `x` lies in the format's domain and the output is `act(x)`.
    Activation(Activation, QFormat),
}

impl Lookup {
    /// The widest domain a single table lookup may have: `2^20` entries.
    pub const MAX_BITS: u32 = 20;

    /// The tag identifying this lookup's entries: kind, fractional bits (or
    /// class) and width in separate 32-bit fields of one integer, so distinct
    /// lookups have distinct tags whatever their fields; identical for prover
    /// and verifier.
    pub fn tag(&self) -> u128 {
        let (kind, frac, bits) = match self {
            Lookup::Unsigned(b) => (1, 0, *b),
            Lookup::Signed(b) => (2, 0, *b),
            Lookup::Sign(b) => (3, 0, *b),
            Lookup::Bit => (4, 0, 1),
            Lookup::OneHot { class, classes } => (5, *class, *classes),
            Lookup::SoftmaxExp => (6, 0, crate::train::spec::EXP_BITS),
            Lookup::Activation(act, fmt) => (16 + act.code(), fmt.frac_bits(), fmt.bits()),
        };
        (u128::from(kind) << 64) | (u128::from(frac) << 32) | u128::from(bits)
    }

    /// The tag as a field element, as the table and the gadget assign it.
    pub fn tag_fp(&self) -> Fp {
        Fp::from_u128(self.tag())
    }

    /// Number of bits of the input domain.
    pub fn bits(&self) -> u32 {
        match self {
            Lookup::Unsigned(b) | Lookup::Signed(b) | Lookup::Sign(b) => *b,
            Lookup::Bit => 1,
            Lookup::OneHot { classes, .. } => 32 - classes.saturating_sub(1).leading_zeros(),
            Lookup::SoftmaxExp => crate::train::spec::EXP_BITS,
            Lookup::Activation(_, fmt) => fmt.bits(),
        }
    }

    /// The smallest input in the domain.
    pub fn domain_min(&self) -> i64 {
        match self {
            Lookup::Unsigned(_) | Lookup::Bit | Lookup::OneHot { .. } | Lookup::SoftmaxExp => 0,
            _ => -(1i64 << (self.bits() - 1)),
        }
    }

    /// The largest input in the domain.
    pub fn domain_max(&self) -> i64 {
        match self {
            Lookup::Unsigned(b) => (1i64 << b) - 1,
            Lookup::SoftmaxExp => (1i64 << crate::train::spec::EXP_BITS) - 1,
            Lookup::Bit => 1,
            Lookup::OneHot { classes, .. } => *classes as i64 - 1,
            _ => (1i64 << (self.bits() - 1)) - 1,
        }
    }

    /// Whether `x` lies in the domain.
    pub fn contains(&self, x: i128) -> bool {
        x >= self.domain_min() as i128 && x <= self.domain_max() as i128
    }

    /// The table's output for input `x`: 0 for ranges, `act(x)` for activations.
    pub fn output(&self, x: i64) -> i64 {
        match self {
            Lookup::Activation(act, fmt) => act.apply(x, *fmt),
            Lookup::Sign(_) => i64::from(x >= 0),
            Lookup::Bit => x,
            Lookup::OneHot { class, .. } => i64::from(x == *class as i64),
            Lookup::SoftmaxExp => crate::train::native::softmax_exp(x),
            _ => 0,
        }
    }

    /// Number of table rows this lookup adds.
    pub fn rows(&self) -> usize {
        (self.domain_max() - self.domain_min() + 1) as usize
    }
}

impl Ord for Lookup {
    /// Lookups are ordered by tag, which is also the table's order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.tag().cmp(&other.tag())
    }
}

impl PartialOrd for Lookup {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The set of lookups a circuit uses; it decides the table's contents and size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSet(BTreeSet<Lookup>);

impl TableSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a lookup (once, however often it is added).
    pub fn add(&mut self, lookup: Lookup) {
        self.0.insert(lookup);
    }

    /// Whether the set holds `lookup`.
    pub fn contains(&self, lookup: &Lookup) -> bool {
        self.0.contains(lookup)
    }

    /// Number of table rows, including the all-zero row.
    pub fn rows(&self) -> usize {
        1 + self.0.iter().map(Lookup::rows).sum::<usize>()
    }

    /// The registered lookups in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Lookup> {
        self.0.iter()
    }
}

/// The three table columns of the shared lookup table.
#[derive(Clone, Copy, Debug)]
pub struct TableConfig {
    /// Tag of each entry.
    pub tag: TableColumn,
    /// Input of each entry.
    pub input: TableColumn,
    /// Output of each entry.
    pub output: TableColumn,
}

impl TableConfig {
    /// Allocates the table's three columns. The lookup arguments that use them are
    /// added by the chips (see `LaneConfig::configure`).
    pub fn configure(meta: &mut ConstraintSystem<Fp>) -> Self {
        Self {
            tag: meta.lookup_table_column(),
            input: meta.lookup_table_column(),
            output: meta.lookup_table_column(),
        }
    }

    /// Fills the table with the all-zero row followed by every entry of `set`.
    pub fn load(&self, layouter: &mut impl Layouter<Fp>, set: &TableSet) -> Result<(), Error> {
        layouter.assign_table(
            || "lookup table",
            |mut table| {
                let mut row = 0;
                let mut put = |row: usize, tag: Fp, x: Fp, y: Fp| -> Result<(), Error> {
                    table.assign_cell(|| "tag", self.tag, row, || Value::known(tag))?;
                    table.assign_cell(|| "input", self.input, row, || Value::known(x))?;
                    table.assign_cell(|| "output", self.output, row, || Value::known(y))
                };
                put(row, Fp::ZERO, Fp::ZERO, Fp::ZERO)?;
                row += 1;
                for lookup in set.iter() {
                    let tag = lookup.tag_fp();
                    for x in lookup.domain_min()..=lookup.domain_max() {
                        put(row, tag, fp_from_i64(x), fp_from_i64(lookup.output(x)))?;
                        row += 1;
                    }
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_distinct() {
        let fmt = QFormat::new(4, 8).unwrap();
        let mut tags = BTreeSet::new();
        let mut all = vec![];
        for b in 1..=Lookup::MAX_BITS {
            all.push(Lookup::Unsigned(b));
            all.push(Lookup::Signed(b));
            all.push(Lookup::Sign(b));
        }
        all.push(Lookup::Bit);
        all.push(Lookup::SoftmaxExp);
        for classes in [2u32, 10, 255] {
            for class in 0..classes {
                all.push(Lookup::OneHot { class, classes });
            }
        }
        for act in Activation::ALL {
            all.push(Lookup::Activation(act, fmt));
            all.push(Lookup::Activation(act, QFormat::new(5, 8).unwrap()));
        }
        for l in &all {
            assert!(l.tag() != 0);
            assert!(tags.insert(l.tag()), "duplicate tag for {l:?}");
        }
    }

    #[test]
    fn tags_are_injective_whatever_the_fields() {
        // A class index of 1024 must not spill into the kind's bits, where
        // it would give the entries of class 0 (as 256 or more fractional
        // bits would give a sigmoid table the exp table's tag).
        let one_hot = |class| Lookup::OneHot { class, classes: 9 };
        assert_ne!(one_hot(1024).tag(), one_hot(0).tag());
    }

    #[test]
    fn one_hot_and_bit_entries() {
        let l = Lookup::OneHot {
            class: 3,
            classes: 10,
        };
        assert_eq!((l.domain_min(), l.domain_max(), l.rows()), (0, 9, 10));
        assert_eq!(
            (0..10).map(|x| l.output(x)).collect::<Vec<_>>(),
            [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            (
                Lookup::Bit.output(0),
                Lookup::Bit.output(1),
                Lookup::Bit.rows()
            ),
            (0, 1, 2)
        );
    }

    #[test]
    fn domains() {
        assert_eq!(
            (
                Lookup::Unsigned(3).domain_min(),
                Lookup::Unsigned(3).domain_max()
            ),
            (0, 7)
        );
        assert_eq!(
            (
                Lookup::Signed(3).domain_min(),
                Lookup::Signed(3).domain_max()
            ),
            (-4, 3)
        );
        let mut set = TableSet::new();
        set.add(Lookup::Unsigned(3));
        set.add(Lookup::Unsigned(3));
        set.add(Lookup::Signed(4));
        assert_eq!(set.rows(), 1 + 8 + 16);
    }
}
