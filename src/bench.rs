//! Benchmark reports: rows, `k`, columns, key generation, proving and
//! verification time, proof size and peak memory of a circuit, as a table row
//! or JSON. The criterion benches in `benches/` measure the same cases.

use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::circuits::dense::{DenseLayerCircuit, DenseWitness};
use zkpot_circuits::fixed::{Activation, DenseSpec, QFormat, QTensor};
use zkpot_circuits::proving::{prove, proving_key, verify};

use crate::params::ParamsCache;
use crate::Error;

/// One measured circuit.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// What was proven.
    pub name: String,
    /// Circuit size: `2^k` rows.
    pub k: u32,
    /// Rows the tallest column uses.
    pub rows: usize,
    /// Advice columns.
    pub advice_columns: usize,
    /// Multiply-adds proven.
    pub macs: usize,
    /// Key generation time in seconds.
    pub keygen_s: f64,
    /// Proving time in seconds.
    pub prove_s: f64,
    /// Verification time in milliseconds.
    pub verify_ms: f64,
    /// Proof size in bytes.
    pub proof_bytes: usize,
    /// Multiply-adds proven per second of proving.
    pub macs_per_s: f64,
    /// Peak resident memory of the process so far, in MiB (Linux only).
    pub peak_mem_mib: Option<f64>,
}

impl BenchReport {
    /// A header for [`BenchReport::row`].
    pub fn header() -> String {
        format!(
            "{:<28} {:>3} {:>7} {:>6} {:>8} {:>8} {:>8} {:>9} {:>7} {:>10} {:>8}",
            "circuit",
            "k",
            "rows",
            "advice",
            "MACs",
            "keygen s",
            "prove s",
            "verify ms",
            "bytes",
            "MACs/s",
            "peak MiB"
        )
    }

    /// The report as one aligned table row.
    pub fn row(&self) -> String {
        format!(
            "{:<28} {:>3} {:>7} {:>6} {:>8} {:>8.2} {:>8.3} {:>9.1} {:>7} {:>10.0} {:>8}",
            self.name,
            self.k,
            self.rows,
            self.advice_columns,
            self.macs,
            self.keygen_s,
            self.prove_s,
            self.verify_ms,
            self.proof_bytes,
            self.macs_per_s,
            self.peak_mem_mib.map_or("-".into(), |m| format!("{m:.0}")),
        )
    }
}

/// The process's peak resident set size in MiB, where the OS reports it.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The fixed-point format the dense benchmarks use: 7 fractional bits, 16-bit
/// values. ReLU of 16-bit values is computed from the sign of the top 8-bit limb,
/// so the table stays small and `k` follows the layer's size.
pub const BENCH_FORMAT: QFormat = QFormat {
    frac_bits: 7,
    bits: 16,
};

/// A deterministic dense layer `inputs -> outputs` with ReLU and bias, batch 1,
/// whose outputs fit [`BENCH_FORMAT`]. Inputs are non-negative like the
/// output of a previous ReLU.
pub fn dense_case(inputs: usize, outputs: usize) -> Result<DenseLayerCircuit, Error> {
    let f = BENCH_FORMAT;
    let spec = DenseSpec {
        inputs,
        outputs,
        input_format: f,
        weight_format: f,
        output_format: f,
        activation: Some(Activation::Relu),
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |m: i64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as i64) % (2 * m + 1) - m
    };
    let x: Vec<i64> = (0..inputs).map(|_| next(64).abs()).collect();
    let w: Vec<i64> = (0..inputs * outputs).map(|_| next(8)).collect();
    let b: Vec<i64> = (0..outputs).map(|_| next(1 << 10)).collect();
    let witness = DenseWitness {
        x: QTensor::from_vec(&[1, inputs], x, f, "bench input")?,
        w: QTensor::from_vec(&[outputs, inputs], w, f, "bench weights")?,
        bias: Some(QTensor::from_vec(
            &[outputs],
            b,
            spec.bias_format(),
            "bench bias",
        )?),
    };
    Ok(DenseLayerCircuit::new(spec, 1, true, 8, Some(witness))?)
}

/// Measures key generation, one proof and one verification of a dense layer.
pub fn bench_dense(
    cache: &ParamsCache,
    inputs: usize,
    outputs: usize,
) -> Result<BenchReport, Error> {
    let circuit = dense_case(inputs, outputs)?;
    let k = circuit.k()?;
    let params = cache.get(k)?;
    let public = circuit
        .public_inputs()
        .ok_or(Error::Internal("dense benchmark has no witness"))?;

    let t = Instant::now();
    let pk = proving_key(&params, &circuit.describe())?;
    let keygen_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let proof = prove(&params, &pk, circuit.clone(), &public)?;
    let prove_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    verify(&params, pk.get_vk(), &public, &proof)?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;

    let macs = inputs * outputs;
    Ok(BenchReport {
        name: format!("dense {inputs}->{outputs} relu"),
        k,
        rows: circuit.sizing().rows(),
        advice_columns: DenseLayerCircuit::<8, 4>::SHAPE.advice_columns(),
        macs,
        keygen_s,
        prove_s,
        verify_ms,
        proof_bytes: proof.len(),
        macs_per_s: macs as f64 / prove_s,
        peak_mem_mib: peak_memory_mib(),
    })
}
