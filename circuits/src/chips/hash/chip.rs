//! zkpot's own Poseidon permutation chip for `P128Pow5T3`: the same
//! permutation as `halo2_gadgets`' `Pow5Chip` (its round constants and MDS
//! matrix, so every digest keeps its value), with gates of degree 5 instead
//! of 6 and one set of round-constant columns for all lanes.
//!
//! A permutation takes [`ROWS`] rows in a lane's six advice columns: three
//! state words and three auxiliary cells. Row 0 holds the input, row 36 the
//! output. Rows 0-3 and 32-35 each do a full round, rows 4-31 two partial
//! rounds each:
//!
//! - full round (`poseidon full round`): `y = s + c`, `a_i = y_i^2`, and the
//!   next row's state is `M (a_i^2 y_i)`;
//! - two partial rounds (`poseidon partial rounds`): `a_0 = (s_0 + c_0)^2`,
//!   `a_1` the second round's S-box input (linear in the first S-box's
//!   output `p = a_0^2 (s_0 + c_0)` and `s_1, s_2`, plus a constant),
//!   `a_2 = a_1^2`, and the next row's state linear in `a_2^2 a_1`, `p`,
//!   `s_1`, `s_2`, plus constants (the round constants of words 1 and 2 are
//!   folded into those additive constants, so a row needs five).
//!
//! Storing each S-box input's square keeps every polynomial at degree 3 in
//! the advice cells; the row kind comes from one fixed column `k` (0 none,
//! 1 full, 2 partial) through the degree-2 selectors `k (2 - k)` and
//! `k (k - 1) / 2`, so the gates have degree 5 and circuits that hash keep
//! the 4x extended domain their lookups need (`Pow5Chip`'s degree-6 gates
//! forced 8x).
//!
//! A lane's state columns take no copies: a seventh column, the lane's
//! port (equality enabled), holds the input words in the slot's rows 0-2
//! and the output words in rows 34-36, and the gate `poseidon port` ties
//! them to the input and output rows' state words. Consumers copy into and
//! out of the port only, so a lane costs the permutation argument one column
//! instead of three.
//!
//! Lanes are aligned to one round schedule: every lane's columns hold only
//! permutations, each in a slot of [`ROWS`] rows starting at row 0, so slot
//! `i` of every lane sits at rows `37 i ..` and one set of six fixed columns
//! (the kind and five constants; the fourth constant, which full rounds do
//! not read, also marks the input and output rows for the port), assigned
//! once for all slots by
//! [`PoseidonConfig::assign_schedule`], serves every lane. Lanes with fewer
//! permutations than the busiest are padded with permutations (of zero by
//! an honest prover: nothing fixes a padded slot's input or reads its
//! output).

use std::sync::OnceLock;

use ff::Field;
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed};
use halo2_proofs::poly::Rotation;

use super::permutation::spec;
use crate::chips::constraints;
use crate::Fp;

/// Rows one permutation takes in a lane.
pub const ROWS: usize = 37;

/// The port row of a slot's first output word (rows `PORT_OUT ..= ROWS - 1`
/// hold the output; rows `0 ..= 2` the input).
const PORT_OUT: usize = ROWS - 3;

/// Full rounds before the partial ones (and after them).
const HALF_FULL: usize = 4;
/// Partial rounds.
const PARTIAL: usize = 56;
/// The row the second half of the full rounds starts at.
const SECOND_FULL: usize = HALF_FULL + PARTIAL / 2;

type Mat = [[Fp; 3]; 3];

/// A lane's columns: the state words, the auxiliary cells and the port
/// (the only one with equality enabled).
#[derive(Clone, Copy, Debug)]
pub struct PoseidonLane {
    /// The three state words.
    pub state: [Column<Advice>; 3],
    /// The S-box squares and the second partial round's input.
    pub aux: [Column<Advice>; 3],
    /// The input words (a slot's rows 0-2) and output words (rows 34-36)
    /// that other regions copy.
    pub port: Column<Advice>,
}

/// The lanes and the schedule columns they share.
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    /// The lanes, side by side.
    pub lanes: Vec<PoseidonLane>,
    /// The row kind: 0 no round, 1 a full round, 2 two partial rounds.
    kind: Column<Fixed>,
    /// The row's constants; the fourth, which no full round and no row
    /// without a round reads, is 1 in a slot's input and output rows (the
    /// port's selector there).
    constants: [Column<Fixed>; 5],
}

/// What a schedule row holds: its kind and constants.
#[derive(Clone, Copy)]
struct RowConstants {
    kind: u64,
    c: [Fp; 5],
}

/// The MDS matrix, the matrix `B = M[:, 1..] M[1.., :]` of the partial rows'
/// linear part, and the constants of each row of a slot.
struct Schedule {
    mds: Mat,
    b: Mat,
    rows: [RowConstants; ROWS],
}

fn schedule() -> &'static Schedule {
    static SCHEDULE: OnceLock<Schedule> = OnceLock::new();
    SCHEDULE.get_or_init(|| {
        let (rounds, mds) = spec();
        let m = *mds;
        let mut b = [[Fp::ZERO; 3]; 3];
        for (j, row) in b.iter_mut().enumerate() {
            for (k, cell) in row.iter_mut().enumerate() {
                *cell = m[j][1] * m[1][k] + m[j][2] * m[2][k];
            }
        }
        let none = RowConstants {
            kind: 0,
            c: [Fp::ZERO; 5],
        };
        let mut rows = [none; ROWS];
        for (t, row) in rows.iter_mut().enumerate().take(ROWS - 1) {
            if !(HALF_FULL..SECOND_FULL).contains(&t) {
                let r = if t < HALF_FULL { t } else { t + PARTIAL / 2 };
                let c = rounds[r];
                *row = RowConstants {
                    kind: 1,
                    c: [c[0], c[1], c[2], Fp::ZERO, Fp::ZERO],
                };
                continue;
            }
            let r1 = HALF_FULL + 2 * (t - HALF_FULL);
            let (c1, c2) = (rounds[r1], rounds[r1 + 1]);
            let ka = m[0][1] * c1[1] + m[0][2] * c1[2] + c2[0];
            let k: Vec<Fp> = (0..3)
                .map(|j| {
                    (1..3)
                        .map(|i| m[j][i] * (m[i][1] * c1[1] + m[i][2] * c1[2] + c2[i]))
                        .sum()
                })
                .collect();
            *row = RowConstants {
                kind: 2,
                c: [c1[0], ka, k[0], k[1], k[2]],
            };
        }
        // The port's marker: the input row does a full round (constants
        // 0-2 only), the output row none.
        rows[0].c[3] = Fp::ONE;
        rows[ROWS - 1].c[3] = Fp::ONE;
        Schedule { mds: m, b, rows }
    })
}

fn sbox_from_square(square: Fp, x: Fp) -> Fp {
    square.square() * x
}

/// Every row of one permutation of `input`: the state words, then the
/// auxiliary cells (zero in the output row), computed exactly as the gates
/// check them.
pub(super) fn trace(input: [Fp; 3]) -> Vec<[Fp; 6]> {
    let s = schedule();
    let m = &s.mds;
    let mut out = Vec::with_capacity(ROWS);
    let mut st = input;
    for row in &s.rows[..ROWS - 1] {
        let c = row.c;
        let (aux, next) = if row.kind == 1 {
            let y = [st[0] + c[0], st[1] + c[1], st[2] + c[2]];
            let a = y.map(|v| v.square());
            let x = [0, 1, 2].map(|i| sbox_from_square(a[i], y[i]));
            let next = [0, 1, 2].map(|j| m[j][0] * x[0] + m[j][1] * x[1] + m[j][2] * x[2]);
            (a, next)
        } else {
            let y0 = st[0] + c[0];
            let a0 = y0.square();
            let p = sbox_from_square(a0, y0);
            let a1 = m[0][0] * p + m[0][1] * st[1] + m[0][2] * st[2] + c[1];
            let a2 = a1.square();
            let q = sbox_from_square(a2, a1);
            let next = [0, 1, 2].map(|j| {
                m[j][0] * q + s.b[j][0] * p + s.b[j][1] * st[1] + s.b[j][2] * st[2] + c[2 + j]
            });
            ([a0, a1, a2], next)
        };
        out.push([st[0], st[1], st[2], aux[0], aux[1], aux[2]]);
        st = next;
    }
    out.push([st[0], st[1], st[2], Fp::ZERO, Fp::ZERO, Fp::ZERO]);
    out
}

fn constant(v: Fp) -> Expression<Fp> {
    Expression::Constant(v)
}

impl PoseidonConfig {
    /// Configures `lanes` Poseidon lanes (at least one).
    ///
    /// Side effects: seven advice columns a lane (the port with equality
    /// enabled), six fixed columns for all lanes, and a lane's gates
    /// `poseidon full round` and `poseidon partial rounds` (degree 5) and
    /// `poseidon port` (degree 4).
    pub fn configure(meta: &mut ConstraintSystem<Fp>, lanes: usize) -> Self {
        let kind = meta.fixed_column();
        let constants = [(); 5].map(|_| meta.fixed_column());
        let lanes: Vec<PoseidonLane> = (0..lanes.max(1))
            .map(|_| {
                let state = [(); 3].map(|_| meta.advice_column());
                let aux = [(); 3].map(|_| meta.advice_column());
                let port = meta.advice_column();
                meta.enable_equality(port);
                PoseidonLane { state, aux, port }
            })
            .collect();
        let s = schedule();
        let (m, b) = (s.mds, s.b);
        let half = Fp::from(2).invert().unwrap_or(Fp::ZERO);
        for lane in &lanes {
            let lane = *lane;
            constraints::gate(meta, "poseidon port", |v| {
                // The marker (the fourth constant) under the full-round
                // selector is the input row, under the no-round selector
                // the output row.
                let k = v.query_fixed(kind);
                let marker = v.query_fixed(constants[3]);
                let q_in = k.clone() * (constant(Fp::from(2)) - k.clone()) * marker.clone();
                let q_out = (k.clone() - constant(Fp::ONE))
                    * (k - constant(Fp::from(2)))
                    * constant(half)
                    * marker;
                let back = (ROWS - 1 - PORT_OUT) as i32;
                let mut polys = Vec::with_capacity(6);
                for (i, col) in lane.state.iter().enumerate() {
                    let word = v.query_advice(*col, Rotation::cur());
                    let port = v.query_advice(lane.port, Rotation(i as i32));
                    polys.push(q_in.clone() * (port - word));
                }
                for (i, col) in lane.state.iter().enumerate() {
                    let word = v.query_advice(*col, Rotation::cur());
                    let port = v.query_advice(lane.port, Rotation(i as i32 - back));
                    polys.push(q_out.clone() * (port - word));
                }
                polys
            });
            constraints::gate(meta, "poseidon full round", |v| {
                let k = v.query_fixed(kind);
                let q = k.clone() * (constant(Fp::from(2)) - k);
                let y: Vec<Expression<Fp>> = (0..3)
                    .map(|i| {
                        v.query_advice(lane.state[i], Rotation::cur()) + v.query_fixed(constants[i])
                    })
                    .collect();
                let a: Vec<Expression<Fp>> = lane
                    .aux
                    .iter()
                    .map(|c| v.query_advice(*c, Rotation::cur()))
                    .collect();
                let x: Vec<Expression<Fp>> = (0..3)
                    .map(|i| a[i].clone() * a[i].clone() * y[i].clone())
                    .collect();
                let mut polys: Vec<Expression<Fp>> = (0..3)
                    .map(|i| q.clone() * (a[i].clone() - y[i].clone() * y[i].clone()))
                    .collect();
                for (j, col) in lane.state.iter().enumerate() {
                    let next = v.query_advice(*col, Rotation::next());
                    let mixed = x[0].clone() * constant(m[j][0])
                        + x[1].clone() * constant(m[j][1])
                        + x[2].clone() * constant(m[j][2]);
                    polys.push(q.clone() * (next - mixed));
                }
                polys
            });
            constraints::gate(meta, "poseidon partial rounds", |v| {
                let k = v.query_fixed(kind);
                let q = k.clone() * (k - constant(Fp::ONE)) * constant(half);
                let c: Vec<Expression<Fp>> =
                    constants.iter().map(|col| v.query_fixed(*col)).collect();
                let s: Vec<Expression<Fp>> = lane
                    .state
                    .iter()
                    .map(|col| v.query_advice(*col, Rotation::cur()))
                    .collect();
                let a: Vec<Expression<Fp>> = lane
                    .aux
                    .iter()
                    .map(|col| v.query_advice(*col, Rotation::cur()))
                    .collect();
                let y0 = s[0].clone() + c[0].clone();
                let p = a[0].clone() * a[0].clone() * y0.clone();
                let second = p.clone() * constant(m[0][0])
                    + s[1].clone() * constant(m[0][1])
                    + s[2].clone() * constant(m[0][2])
                    + c[1].clone();
                let sq = a[2].clone() * a[2].clone() * a[1].clone();
                let mut polys = vec![
                    q.clone() * (a[0].clone() - y0.clone() * y0),
                    q.clone() * (a[1].clone() - second),
                    q.clone() * (a[2].clone() - a[1].clone() * a[1].clone()),
                ];
                for (j, col) in lane.state.iter().enumerate() {
                    let next = v.query_advice(*col, Rotation::next());
                    let linear = sq.clone() * constant(m[j][0])
                        + p.clone() * constant(b[j][0])
                        + s[1].clone() * constant(b[j][1])
                        + s[2].clone() * constant(b[j][2])
                        + c[2 + j].clone();
                    polys.push(q.clone() * (next - linear));
                }
                polys
            });
        }
        Self {
            lanes,
            kind,
            constants,
        }
    }

    /// Assigns one permutation in `lane`'s next slot: the input words in the
    /// port, copied from `input` (zero when `None`, for padding), every
    /// round, and the output words in the port, whose cells it returns.
    pub(super) fn assign(
        &self,
        layouter: &mut impl Layouter<Fp>,
        lane: usize,
        input: Option<[&AssignedCell<Fp, Fp>; 3]>,
    ) -> Result<[AssignedCell<Fp, Fp>; 3], Error> {
        let cols = *self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let start: Value<[Fp; 3]> = match input {
            Some([a, b, c]) => a
                .value()
                .zip(b.value())
                .zip(c.value())
                .map(|((a, b), c)| [*a, *b, *c]),
            None => Value::known([Fp::ZERO; 3]),
        };
        let rows: Value<Vec<[Fp; 6]>> = start.map(trace);
        layouter.assign_region(
            || "poseidon",
            |mut region| {
                for t in 0..ROWS {
                    for (i, col) in cols.state.iter().enumerate() {
                        let v = rows.as_ref().map(|r| r[t][i]);
                        region.assign_advice(|| "state", *col, t, || v)?;
                    }
                    for (i, col) in cols.aux.iter().enumerate() {
                        let v = rows.as_ref().map(|r| r[t][3 + i]);
                        region.assign_advice(|| "aux", *col, t, || v)?;
                    }
                }
                for i in 0..3 {
                    match input {
                        Some(cells) => {
                            cells[i].copy_advice(|| "port", &mut region, cols.port, i)?;
                        }
                        None => {
                            region.assign_advice(
                                || "port",
                                cols.port,
                                i,
                                || Value::known(Fp::ZERO),
                            )?;
                        }
                    }
                }
                let mut out = Vec::with_capacity(3);
                for i in 0..3 {
                    let v = rows.as_ref().map(|r| r[ROWS - 1][i]);
                    out.push(region.assign_advice(|| "port", cols.port, PORT_OUT + i, || v)?);
                }
                out.try_into().map_err(|_| Error::Synthesis)
            },
        )
    }

    /// Assigns the shared schedule for `slots` permutations a lane: the row
    /// kinds and constants of rows `0 .. slots * ROWS`.
    pub(super) fn assign_schedule(
        &self,
        layouter: &mut impl Layouter<Fp>,
        slots: usize,
    ) -> Result<(), Error> {
        if slots == 0 {
            return Ok(());
        }
        let s = schedule();
        layouter.assign_region(
            || "poseidon schedule",
            |mut region| {
                for slot in 0..slots {
                    for (t, row) in s.rows.iter().enumerate() {
                        let at = slot * ROWS + t;
                        region.assign_fixed(
                            || "kind",
                            self.kind,
                            at,
                            || Value::known(Fp::from(row.kind)),
                        )?;
                        for (col, c) in self.constants.iter().zip(row.c) {
                            region.assign_fixed(|| "constant", *col, at, || Value::known(c))?;
                        }
                    }
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::permutation::permute;
    use super::*;

    #[test]
    fn the_port_marker_sits_on_the_input_and_output_rows_only() {
        // The port's selectors are the full-round and no-round selectors
        // times the fourth constant: it must be 1 on row 0 (a full round)
        // and row 36 (no round) and 0 on every other row of those kinds;
        // partial rows use it as a constant and neither selector reads it.
        let rows = &schedule().rows;
        assert_eq!((rows[0].kind, rows[0].c[3]), (1, Fp::ONE));
        assert_eq!((rows[ROWS - 1].kind, rows[ROWS - 1].c[3]), (0, Fp::ONE));
        for (t, row) in rows.iter().enumerate().take(ROWS - 1).skip(1) {
            if row.kind != 2 {
                assert_eq!(row.c[3], Fp::ZERO, "row {t}");
            }
        }
    }

    #[test]
    fn the_trace_ends_in_the_reference_permutation() {
        let mut x = Fp::from(3);
        for _ in 0..20 {
            let input = [x, x.square(), x + Fp::from(9)];
            let mut want = input;
            permute(&mut want);
            let rows = trace(input);
            assert_eq!(rows.len(), ROWS);
            assert_eq!(rows[0][..3], input);
            assert_eq!(rows[ROWS - 1][..3], want);
            x = x.square() + Fp::ONE;
        }
    }
}
