//! Softmax in circuit, equal to [`softmax`](super::native::softmax) bit for bit.
//!
//! - the maximum: `m - z_o` is range-checked non-negative for every `o`, and
//!   `prod_o (m - z_o) = 0`, so `m` is one of the logits and the largest;
//! - exponents: `r_o = relu(rescale(z_o - m + K 2^s, s))` (the rescale gadget
//!   with ReLU), looked up in the 512-entry exp table, which only holds
//!   `r in [0, K]`;
//! - the sum `S` is split as `S = b + 2 h` (`b` a bit) to get `floor(S / 2)`;
//! - the division: `p_o S + rem_o = e_o 2^8 + h` with `rem_o` and
//!   `S - 1 - rem_o` range-checked non-negative, so `p_o` is the rounded
//!   quotient.

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

use super::native::{softmax_exp, softmax_trace, SoftmaxTrace};
use super::spec::{TrainSpec, EXP_BITS, PROB_FRAC};
use crate::chips::core::CoreConfig;
use crate::chips::dot::{DotInstructions, Operand};
use crate::chips::lookup::{LookupInstructions, Piece};
use crate::chips::range::{limb_pieces, range_lookups, register_range, RangeInstructions};
use crate::chips::rescale::{register_rescale, RescaleInstructions};
use crate::chips::table::{Lookup, TableSet};
use crate::field::{fp_from_i64, fp_to_i128};
use crate::fixed::Activation;
use crate::Fp;

/// Bits of the sum of exponentials (at most 255 classes of at most `2^8`).
const SUM_BITS: u32 = 16;

/// Registers the table entries a softmax needs.
pub fn register_softmax(set: &mut TableSet, spec: &TrainSpec, limb_bits: u32) {
    let act = spec.formats.activation;
    register_range(set, act.bits() + 1, false, limb_bits);
    register_rescale(
        set,
        spec.exp_shift(),
        act,
        Some(Activation::Relu),
        limb_bits,
    );
    set.add(Lookup::SoftmaxExp);
    set.add(Lookup::Unsigned(1));
    register_range(set, SUM_BITS - 1, false, limb_bits);
    register_range(set, PROB_FRAC + 1, false, limb_bits);
    register_range(set, SUM_BITS, false, limb_bits);
}

/// The softmax of logit cells; returns the probability cells.
pub fn softmax_circuit(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    spec: &TrainSpec,
    limb_bits: u32,
    z: &[AssignedCell<Fp, Fp>],
) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    let values: Value<Vec<i64>> = z
        .iter()
        .map(|c| c.value().map(|v| fp_to_i128(v).unwrap_or(0) as i64))
        .collect();
    let n = z.len();
    let trace = values.map(|z| softmax_trace(spec, &z).unwrap_or_else(|_| empty(n)));
    softmax_with(cfg, layouter, spec, limb_bits, z, trace)
}

fn empty(n: usize) -> SoftmaxTrace {
    SoftmaxTrace {
        max: 0,
        r: vec![0; n],
        e: vec![0; n],
        sum: 0,
        p: vec![0; n],
        rem: vec![0; n],
    }
}

/// [`softmax_circuit`] with the witness given (tests pass tampered ones).
pub(crate) fn softmax_with(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    spec: &TrainSpec,
    limb_bits: u32,
    z: &[AssignedCell<Fp, Fp>],
    trace: Value<SoftmaxTrace>,
) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    let dot = cfg.dot_chip();
    let lookup = cfg.lookup_chip();
    let range = cfg.range_chip(limb_bits);
    let rescale = cfg.rescale_chip(limb_bits);
    let lanes = cfg.dot.lanes();
    let act = spec.formats.activation;
    let c = |v: i64| Operand::Constant(fp_from_i64(v));
    let at = |i: usize, f: fn(&SoftmaxTrace, usize) -> i64| {
        trace.as_ref().map(move |t| fp_from_i64(f(t, i)))
    };

    // The maximum.
    let m = cfg
        .witness(layouter, &[trace.as_ref().map(|t| fp_from_i64(t.max))])?
        .remove(0);
    let k = (1i64 << EXP_BITS) - 1;
    let shift = spec.exp_shift();
    let mut gaps = Vec::with_capacity(z.len());
    let mut accs = Vec::with_capacity(z.len());
    for group in z.chunks(lanes) {
        let pairs: Vec<Vec<Operand>> = group
            .iter()
            .map(|zo| vec![Operand::Cell(m.clone()), Operand::Cell(zo.clone())])
            .collect();
        gaps.extend(dot.dot_products(layouter, &[c(1), c(-1)], &pairs)?.sums);
        let triples: Vec<Vec<Operand>> = group
            .iter()
            .map(|zo| vec![Operand::Cell(zo.clone()), Operand::Cell(m.clone()), c(1)])
            .collect();
        accs.extend(
            dot.dot_products(layouter, &[c(1), c(-1), c(k << shift)], &triples)?
                .sums,
        );
    }
    for g in &gaps {
        range.range_check(layouter, g, act.bits() + 1, false)?;
    }
    let mut prod = gaps[0].clone();
    for g in &gaps[1..] {
        prod = dot
            .dot_products(
                layouter,
                &[Operand::Cell(prod)],
                &[vec![Operand::Cell(g.clone())]],
            )?
            .sums
            .remove(0);
    }
    layouter.assign_region(
        || "max is a logit",
        |mut region| region.constrain_constant(prod.cell(), Fp::from(0)),
    )?;

    // Exponentials and their sum.
    let mut e = Vec::with_capacity(z.len());
    for (i, acc) in accs.iter().enumerate() {
        let r = rescale
            .rescale(layouter, acc, shift, act, Some(Activation::Relu))?
            .y;
        let piece = Piece {
            lookup: Lookup::SoftmaxExp,
            input: at(i, |t, i| t.r[i]),
            output: at(i, |t, i| softmax_exp(t.r[i])),
        };
        e.push(
            lookup
                .decompose(layouter, &r, 0, &[piece])?
                .outputs
                .remove(0),
        );
    }
    let ones = vec![c(1); e.len()];
    let e_ops: Vec<Operand> = e.iter().cloned().map(Operand::Cell).collect();
    let sum = dot.dot_products(layouter, &e_ops, &[ones])?.sums.remove(0);
    let mut halves = vec![Lookup::Unsigned(1)];
    halves.extend(range_lookups(SUM_BITS - 1, false, limb_bits));
    let half_pieces = limb_pieces(sum.value().copied(), &halves);
    let half = lookup
        .decompose(layouter, &sum, 0, &half_pieces)?
        .rests
        .remove(1);

    // The division.
    let mut p = Vec::with_capacity(z.len());
    let mut rem = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let pv = at(i, |t, i| t.p[i]);
        let p_lookups = range_lookups(PROB_FRAC + 1, false, limb_bits);
        p.push(
            lookup
                .compose(layouter, pv, &limb_pieces(pv, &p_lookups))?
                .rests
                .remove(0),
        );
        let rv = at(i, |t, i| t.rem[i]);
        let r_lookups = range_lookups(SUM_BITS, false, limb_bits);
        rem.push(
            lookup
                .compose(layouter, rv, &limb_pieces(rv, &r_lookups))?
                .rests
                .remove(0),
        );
    }
    let division = [
        Operand::Cell(sum.clone()),
        c(1),
        c(-(1i64 << PROB_FRAC)),
        c(-1),
    ];
    let slack = [Operand::Cell(sum.clone()), c(-1), c(-1)];
    for start in (0..z.len()).step_by(lanes) {
        let idx: Vec<usize> = (start..(start + lanes).min(z.len())).collect();
        let quads: Vec<Vec<Operand>> = idx
            .iter()
            .map(|i| {
                [&p[*i], &rem[*i], &e[*i], &half]
                    .into_iter()
                    .map(|x| Operand::Cell(x.clone()))
                    .collect()
            })
            .collect();
        for zero in dot.dot_products(layouter, &division, &quads)?.sums {
            layouter.assign_region(
                || "division",
                |mut region| region.constrain_constant(zero.cell(), Fp::from(0)),
            )?;
        }
        let triples: Vec<Vec<Operand>> = idx
            .iter()
            .map(|i| vec![c(1), Operand::Cell(rem[*i].clone()), c(1)])
            .collect();
        for s in dot.dot_products(layouter, &slack, &triples)?.sums {
            range.range_check(layouter, &s, SUM_BITS, false)?;
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;

    use super::*;
    use crate::chips::test_utils::{assert_copy_fails, assert_lookup_fails, mock, Synth};
    use crate::fixed::QFormat;
    use crate::train::spec::{Loss, TrainFormats};

    fn spec() -> TrainSpec {
        TrainSpec {
            conv: None,
            widths: vec![2, 4],
            loss: Loss::CrossEntropy,
            lr_num: 64,
            lr_shift: 8,
            batch: 2,
            formats: TrainFormats::for_input(QFormat::new(6, 8).unwrap()),
        }
    }

    /// Softmax of `z`, probabilities exposed; `tamper` edits the witness.
    #[derive(Clone)]
    struct Softmax {
        z: Vec<i64>,
        tamper: fn(&mut SoftmaxTrace),
    }

    impl Synth for Softmax {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            register_softmax(&mut set, &spec(), 8);
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let vals: Vec<Value<Fp>> = self
                .z
                .iter()
                .map(|v| Value::known(fp_from_i64(*v)))
                .collect();
            let z = cfg.witness(layouter, &vals)?;
            let mut t = softmax_trace(&spec(), &self.z).map_err(|_| Error::Synthesis)?;
            (self.tamper)(&mut t);
            let p = softmax_with(cfg, layouter, &spec(), 8, &z, Value::known(t))?;
            for (i, c) in p.iter().enumerate() {
                cfg.expose(layouter, c, i)?;
            }
            Ok(())
        }
    }

    fn expected(z: &[i64]) -> Vec<Fp> {
        softmax_trace(&spec(), z)
            .unwrap()
            .p
            .iter()
            .map(|v| fp_from_i64(*v))
            .collect()
    }

    const Z: [i64; 4] = [700, -300, 650, -9000];

    #[test]
    fn probabilities_match_native() {
        for z in [Z.to_vec(), vec![0, 0, 0, 0], vec![-32768, 32767, 5, 5]] {
            let s = Softmax {
                z: z.clone(),
                tamper: |_| {},
            };
            assert_eq!(mock(11, s, expected(&z)), Ok(()), "{z:?}");
        }
    }

    #[test]
    fn a_maximum_that_is_no_logit_is_rejected() {
        // One above the true maximum: every gap is positive, the product is not 0.
        let s = Softmax {
            z: Z.to_vec(),
            tamper: |t| t.max += 1,
        };
        assert_copy_fails(mock(11, s, expected(&Z)));
    }

    #[test]
    fn a_maximum_below_a_logit_is_rejected() {
        // The second largest logit as "maximum": the gap to the largest is negative.
        let s = Softmax {
            z: Z.to_vec(),
            tamper: |t| t.max = 650,
        };
        assert_lookup_fails(mock(11, s, expected(&Z)));
    }

    #[test]
    fn a_wrong_probability_is_rejected() {
        // p + 1 with the remainder lowered by S keeps the equation but not the range.
        let s = Softmax {
            z: Z.to_vec(),
            tamper: |t| {
                t.p[0] += 1;
                t.rem[0] -= t.sum;
            },
        };
        assert_lookup_fails(mock(11, s, expected(&Z)));
        // p + 1 alone breaks the division.
        let s = Softmax {
            z: Z.to_vec(),
            tamper: |t| t.p[1] += 1,
        };
        assert_copy_fails(mock(11, s, expected(&Z)));
    }

    #[test]
    fn a_remainder_of_the_sum_or_more_is_rejected() {
        let s = Softmax {
            z: Z.to_vec(),
            tamper: |t| {
                t.p[0] -= 1;
                t.rem[0] += t.sum;
            },
        };
        assert_lookup_fails(mock(11, s, expected(&Z)));
    }

    #[test]
    fn a_wrong_exponential_input_is_rejected() {
        let s = Softmax {
            z: Z.to_vec(),
            tamper: |t| t.r[2] += 1,
        };
        assert!(mock(11, s, expected(&Z)).is_err());
    }
}
