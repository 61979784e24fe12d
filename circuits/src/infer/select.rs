//! Selections in circuit: the maximum of two activations (max pooling) and
//! the index of the largest of several (an argmax head).

use halo2_proofs::circuit::{AssignedCell, Layouter};
use halo2_proofs::plonk::Error;

use super::model::argmax;
use crate::chips::core::CoreConfig;
use crate::chips::dot::{DotChip, DotInstructions, Operand};
use crate::chips::lookup::{LookupInstructions, Piece};
use crate::chips::range::{register_range, RangeInstructions};
use crate::chips::rescale::{RescaleChip, RescaleInstructions};
use crate::chips::table::{Lookup, TableSet};
use crate::field::{fp_from_i64, fp_to_i128};
use crate::fixed::{Activation, FixedError, QFormat};
use crate::Fp;

/// The format of a difference of two activations: one bit wider.
pub fn difference_format(activation: QFormat) -> Result<QFormat, FixedError> {
    activation.with_bits(activation.bits() + 1)
}

/// One dot product `sum x_i y_i` of operand pairs, as a cell.
fn dot(
    chip: &DotChip,
    layouter: &mut impl Layouter<Fp>,
    x: &[Operand],
    y: Vec<Operand>,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    chip.dot_products(layouter, x, &[y])?
        .sums
        .first()
        .cloned()
        .ok_or(Error::Synthesis)
}

/// `max(a, b) = b + relu(a - b)`: the difference by one multiply-add row, its
/// ReLU by the rescale chip (shift 0, a format one bit wider than the
/// activations, so every difference of two range-checked activations is in
/// its domain), and the sum by another row.
pub fn max_of(
    chip: &DotChip,
    rescale: &RescaleChip,
    layouter: &mut impl Layouter<Fp>,
    a: &AssignedCell<Fp, Fp>,
    b: &AssignedCell<Fp, Fp>,
    activation: QFormat,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let one = Operand::Constant(Fp::from(1));
    let minus_one = Operand::Constant(-Fp::from(1));
    let d = dot(
        chip,
        layouter,
        &[Operand::Cell(a.clone()), Operand::Cell(b.clone())],
        vec![one.clone(), minus_one],
    )?;
    let relu = rescale.rescale(
        layouter,
        &d,
        0,
        difference_format(activation).map_err(|_| Error::Synthesis)?,
        Some(Activation::Relu),
    )?;
    dot(
        chip,
        layouter,
        &[Operand::Cell(b.clone()), Operand::Cell(relu.y)],
        vec![one.clone(), one],
    )
}

/// Registers the table entries [`argmax_of`] uses over `classes` inputs.
pub fn register_argmax(set: &mut TableSet, classes: usize, activation: QFormat, limb_bits: u32) {
    for class in 0..classes {
        set.add(Lookup::OneHot {
            class: class as u32,
            classes: classes as u32,
        });
    }
    register_range(set, activation.bits() + 1, false, limb_bits);
}

/// The first maximum of several activations: its index, the index's one-hot
/// encoding, and the maximum.
#[derive(Clone, Debug)]
pub struct FirstMax {
    /// The index of the first largest value.
    pub index: AssignedCell<Fp, Fp>,
    /// `e_i = [index = i]`, looked up.
    pub onehot: Vec<AssignedCell<Fp, Fp>>,
    /// The maximum, `sum e_i z_i`.
    pub max: AssignedCell<Fp, Fp>,
}

/// How [`argmax_claiming`] lays out the gaps `m - z_i - 1 + p_i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gaps {
    /// Each prefix sum and each gap its own multiply-add row (the layout
    /// of inference heads, whose keys are pinned).
    Chained,
    /// Every gap in one call to the MAC gadget: the shared operand is
    /// `[m, z_0.., e_0.., 1]` and lane `i` holds the constant coefficients
    /// `[1, -[j = i].., [j <= i].., -1]`, the prefix sums folded into them.
    Combined,
}

/// [`argmax_of`] with everything it proves: the index of the first largest
/// of `z`, its one-hot encoding and the maximum, with the gaps laid out in
/// one call to the MAC gadget (the same constraints as [`argmax_of`]'s,
/// in three rows for a 2x2 window instead of eight). Training's max pooling
/// routes a window's delta back through the one-hot encoding.
pub fn first_max(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    z: &[AssignedCell<Fp, Fp>],
    activation: QFormat,
    limb_bits: u32,
) -> Result<FirstMax, Error> {
    argmax_claiming(
        cfg,
        layouter,
        z,
        activation,
        limb_bits,
        None,
        Gaps::Combined,
    )
}

/// The index `c` of the first largest of `z` (activations), as a cell.
///
/// `c` is witnessed and its one-hot encoding `e` looked up (`OneHot`
/// entries: `c < n` and `e_i = [c = i]`); `m = sum e_i z_i` is the claimed
/// maximum. With the prefix sums `p_i = e_0 + ... + e_i` (0 before `c`, 1 from
/// it on), every gap `g_i = m - z_i - 1 + p_i` is range-checked to
/// `[0, 2^(bits+1))`: `z_c >= z_i` for every `i`, strictly before `c`, so `c`
/// is the first maximum, as the native [`argmax`].
pub fn argmax_of(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    z: &[AssignedCell<Fp, Fp>],
    activation: QFormat,
    limb_bits: u32,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    Ok(argmax_claiming(cfg, layouter, z, activation, limb_bits, None, Gaps::Chained)?.index)
}

/// [`first_max`], with the class witnessed as `claim` when given (tests
/// tamper with it) and the gaps laid out as `gaps` says.
fn argmax_claiming(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    z: &[AssignedCell<Fp, Fp>],
    activation: QFormat,
    limb_bits: u32,
    claim: Option<i64>,
    gaps: Gaps,
) -> Result<FirstMax, Error> {
    let n = z.len();
    let values = z
        .iter()
        .map(|c| c.value().map(|v| fp_to_i128(v).unwrap_or(0) as i64))
        .fold(
            halo2_proofs::circuit::Value::known(Vec::with_capacity(n)),
            |acc, v| {
                acc.zip(v).map(|(mut a, v)| {
                    a.push(v);
                    a
                })
            },
        );
    let best = values.map(|v| claim.unwrap_or_else(|| argmax(&v)));
    let c = cfg
        .witness(layouter, &[best.map(fp_from_i64)])?
        .pop()
        .ok_or(Error::Synthesis)?;
    let lookup = cfg.lookup_chip();
    let mut onehot = Vec::with_capacity(n);
    for class in 0..n {
        let piece = Piece {
            lookup: Lookup::OneHot {
                class: class as u32,
                classes: n as u32,
            },
            input: c.value().copied(),
            output: best.map(|b| Fp::from(u64::from(b == class as i64))),
        };
        let d = lookup.decompose(layouter, &c, 0, &[piece])?;
        onehot.push(d.outputs.first().cloned().ok_or(Error::Synthesis)?);
    }
    let chip = cfg.dot_chip();
    let cells =
        |v: &[AssignedCell<Fp, Fp>]| v.iter().cloned().map(Operand::Cell).collect::<Vec<_>>();
    let m = dot(&chip, layouter, &cells(&onehot), cells(z))?;
    let range = cfg.range_chip(limb_bits);
    let (one, minus_one) = (
        Operand::Constant(Fp::from(1)),
        Operand::Constant(-Fp::from(1)),
    );
    if gaps == Gaps::Combined {
        let constant = |v: i64| Operand::Constant(fp_from_i64(v));
        let mut shared = vec![Operand::Cell(m.clone())];
        shared.extend(cells(z));
        shared.extend(cells(&onehot));
        shared.push(one.clone());
        let indices: Vec<usize> = (0..n).collect();
        for group in indices.chunks(cfg.dot.lanes()) {
            let lanes: Vec<Vec<Operand>> = group
                .iter()
                .map(|i| {
                    let mut c = vec![one.clone()];
                    c.extend((0..n).map(|j| constant(-i64::from(j == *i))));
                    c.extend((0..n).map(|j| constant(i64::from(j <= *i))));
                    c.push(minus_one.clone());
                    c
                })
                .collect();
            let dc = chip.dot_products(layouter, &shared, &lanes)?;
            for gap in &dc.sums {
                range.range_check(layouter, gap, activation.bits() + 1, false)?;
            }
        }
        return Ok(FirstMax {
            index: c,
            onehot,
            max: m,
        });
    }
    let mut prefix: Option<AssignedCell<Fp, Fp>> = None;
    for (zi, ei) in z.iter().zip(&onehot) {
        let p = match prefix {
            None => ei.clone(),
            Some(prev) => dot(
                &chip,
                layouter,
                &[Operand::Cell(prev), Operand::Cell(ei.clone())],
                vec![one.clone(), one.clone()],
            )?,
        };
        let gap = dot(
            &chip,
            layouter,
            &[
                Operand::Cell(m.clone()),
                Operand::Cell(zi.clone()),
                Operand::Cell(p.clone()),
                one.clone(),
            ],
            vec![
                one.clone(),
                minus_one.clone(),
                one.clone(),
                minus_one.clone(),
            ],
        )?;
        range.range_check(layouter, &gap, activation.bits() + 1, false)?;
        prefix = Some(p);
    }
    Ok(FirstMax {
        index: c,
        onehot,
        max: m,
    })
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::Value;

    use proptest::prelude::*;

    use super::*;
    use crate::chips::test_utils::{assert_gate_fails, assert_lookup_fails, mock, Synth};

    #[derive(Clone)]
    struct Argmax {
        z: Vec<i64>,
        claim: Option<i64>,
        gaps: Gaps,
    }

    const FORMAT: QFormat = QFormat::constant(4, 12);

    impl Synth for Argmax {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            register_argmax(&mut set, self.z.len(), FORMAT, 8);
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let values: Vec<_> = self
                .z
                .iter()
                .map(|v| Value::known(fp_from_i64(*v)))
                .collect();
            let z = cfg.witness(layouter, &values)?;
            let c = argmax_claiming(cfg, layouter, &z, FORMAT, 8, self.claim, self.gaps)?.index;
            cfg.expose(layouter, &c, 0)
        }
    }

    fn check_with(
        gaps: Gaps,
        z: &[i64],
        claim: Option<i64>,
        public: i64,
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        let t = Argmax {
            z: z.to_vec(),
            claim,
            gaps,
        };
        mock(9, t, vec![fp_from_i64(public)])
    }

    #[test]
    fn the_first_maximum_is_the_only_accepted_class() {
        for gaps in [Gaps::Chained, Gaps::Combined] {
            first_maximum_only(gaps);
        }
    }

    fn first_maximum_only(gaps: Gaps) {
        let check = |z: &[i64], claim, public| check_with(gaps, z, claim, public);
        let z = [5, -30, 41, 41, 7];
        assert_eq!(check(&z, None, 2), Ok(()));
        // The tied later maximum: the gap before it is -1, out of its range.
        assert_lookup_fails(check(&z, Some(3), 3));
        // A smaller value: some gap is negative.
        assert_lookup_fails(check(&z, Some(4), 4));
        assert_lookup_fails(check(&z, Some(0), 0));
        // No such class: the one-hot lookups have no entry.
        assert_lookup_fails(check(&z, Some(5), 5));
        assert_lookup_fails(check(&z, Some(-1), -1));
        // Extremes of the format.
        assert_eq!(check(&[-2048, 2047], None, 1), Ok(()));
        assert_eq!(check(&[2047, -2048], None, 0), Ok(()));
        assert_lookup_fails(check(&[-2048, 2047], Some(0), 0));
    }

    /// The maximum of two activations, exposed.
    #[derive(Clone)]
    struct Max(i64, i64);

    impl Synth for Max {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            crate::chips::rescale::register_rescale(
                &mut set,
                0,
                difference_format(FORMAT).unwrap(),
                Some(Activation::Relu),
                8,
            );
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = cfg.witness(
                layouter,
                &[
                    Value::known(fp_from_i64(self.0)),
                    Value::known(fp_from_i64(self.1)),
                ],
            )?;
            let m = max_of(
                &cfg.dot_chip(),
                &cfg.rescale_chip(8),
                layouter,
                &cells[0],
                &cells[1],
                FORMAT,
            )?;
            cfg.expose(layouter, &m, 0)
        }
    }

    /// `max(a, b)` laid out as [`max_of`] lays it out, but with the ReLU's
    /// pieces witnessed for the difference `claimed` instead of `a - b`.
    #[derive(Clone)]
    struct MaxWitnessing {
        a: i64,
        b: i64,
        claimed: i64,
    }

    impl Synth for MaxWitnessing {
        fn table(&self) -> TableSet {
            Max(self.a, self.b).table()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = cfg.witness(
                layouter,
                &[
                    Value::known(fp_from_i64(self.a)),
                    Value::known(fp_from_i64(self.b)),
                ],
            )?;
            let chip = cfg.dot_chip();
            let one = Operand::Constant(Fp::from(1));
            let d = dot(
                &chip,
                layouter,
                &[
                    Operand::Cell(cells[0].clone()),
                    Operand::Cell(cells[1].clone()),
                ],
                vec![one.clone(), Operand::Constant(-Fp::from(1))],
            )?;
            let format = difference_format(FORMAT).unwrap();
            let relu = Some(Activation::Relu);
            let plan = crate::chips::rescale::rescale_lookups(0, format, relu, 8);
            assert!(plan.relu_by_sign, "the test covers the sign-select ReLU");
            let pieces = crate::chips::rescale::chip::rescale_pieces(
                Value::known(fp_from_i64(self.claimed)),
                0,
                format,
                relu,
                8,
            );
            let y = cfg
                .lookup_chip()
                .decompose_select(layouter, &d, 0, &pieces, plan.remainder_pieces)?
                .selected
                .ok_or(Error::Synthesis)?;
            let m = dot(
                &chip,
                layouter,
                &[Operand::Cell(cells[1].clone()), Operand::Cell(y)],
                vec![one.clone(), one],
            )?;
            cfg.expose(layouter, &m, 0)
        }
    }

    #[test]
    fn a_relu_witnessed_for_another_difference_fails_its_decomposition() {
        let run = |a, b, claimed, public| {
            mock(
                9,
                MaxWitnessing { a, b, claimed },
                vec![fp_from_i64(public)],
            )
        };
        // Honest pieces verify: the harness is `max_of`'s layout.
        assert_eq!(run(300, -20, 320, 300), Ok(()));
        assert_eq!(run(-5, 7, -12, 7), Ok(()));
        // Claiming a non-positive difference (the maximum would be the
        // minimum) or a larger one breaks the decomposition of `a - b`.
        assert_gate_fails(run(300, -20, -320, -20), "decompose");
        assert_gate_fails(run(300, -20, 0, -20), "decompose");
        assert_gate_fails(run(-5, 7, 12, 19), "decompose");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// The circuit's maximum is the native one, over the whole format.
        #[test]
        fn max_matches_native(a in -2048i64..2048, b in -2048i64..2048) {
            prop_assert_eq!(mock(9, Max(a, b), vec![fp_from_i64(a.max(b))]), Ok(()));
            prop_assert!(mock(9, Max(a, b), vec![fp_from_i64(a.max(b) + 1)]).is_err());
        }

        /// The circuit accepts the native argmax and no other class (small
        /// values make ties frequent).
        #[test]
        fn argmax_matches_native(
            z in prop::collection::vec(prop_oneof![-2048i64..2048, -2i64..2], 1..7),
            other in 0usize..7,
        ) {
            let best = argmax(&z);
            for gaps in [Gaps::Chained, Gaps::Combined] {
                prop_assert_eq!(check_with(gaps, &z, None, best), Ok(()));
                let other = (other % z.len()) as i64;
                if other != best {
                    prop_assert!(check_with(gaps, &z, Some(other), other).is_err());
                }
            }
        }
    }
}
