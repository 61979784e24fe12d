//! Benchmark reports: rows, `k`, columns, key generation, proving and
//! verification time, proof size and peak memory of a circuit, as a table row
//! or JSON. The criterion benches in `benches/` measure the same cases.

use std::path::Path;
use std::time::Instant;

use halo2_proofs::plonk::Circuit;
use serde::Serialize;
use zkpot_circuits::chips::core::CoreConfig;
use zkpot_circuits::chips::merkle::MerklePath;
use zkpot_circuits::circuits::dense::{DenseBenchCircuit, DenseWitness};
use zkpot_circuits::circuits::measure;
use zkpot_circuits::circuits::membership::{MembershipCircuit, RowLayout, RowOpening};
use zkpot_circuits::fixed::{Activation, DenseSpec, QFormat, QTensor};
use zkpot_circuits::proving::{prove, proving_key, verify, verifying_key};
use zkpot_circuits::Fp;

use crate::data::{commit_csv, CommitOptions};
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
    /// Fixed columns, selectors included (each one a commitment in every
    /// key generation and cold verification).
    pub fixed_columns: usize,
    /// Equality-enabled columns (each one a permutation commitment in every
    /// key generation and cold verification).
    pub equality_columns: usize,
    /// Lookup arguments (three committed polynomials each).
    pub lookups: usize,
    /// The extended domain's size over the rows (4 or 8): the quotient's
    /// cost factor, set by the largest constraint degree.
    pub extended_factor: u32,
    /// Polynomials the prover commits: advice, three per lookup, the
    /// permutation's grand products and the quotient's pieces.
    pub committed_polys: usize,
    /// Multiply-adds proven (circuits that compute).
    pub macs: Option<usize>,
    /// Key generation time in seconds.
    pub keygen_s: f64,
    /// Proving time in seconds.
    pub prove_s: f64,
    /// Verification time in milliseconds, with the verifying key at hand.
    pub verify_ms: f64,
    /// Verification from the proof bytes alone, in milliseconds: the
    /// verifying key rebuilt from the circuit description, then the check.
    pub verify_cold_ms: f64,
    /// Proof size in bytes.
    pub proof_bytes: usize,
    /// Multiply-adds proven per second of proving.
    pub macs_per_s: Option<f64>,
    /// Peak resident memory of the process so far, in MiB (Linux only).
    pub peak_mem_mib: Option<f64>,
}

impl BenchReport {
    /// A header for [`BenchReport::row`].
    pub fn header() -> String {
        format!(
            "{:<28} {:>3} {:>7} {:>6} {:>5} {:>5} {:>3} {:>5} {:>8} {:>8} {:>8} {:>9} {:>9} {:>7} {:>10} {:>8}",
            "circuit",
            "k",
            "rows",
            "advice",
            "fixed",
            "equal",
            "ext",
            "polys",
            "MACs",
            "keygen s",
            "prove s",
            "verify ms",
            "cold ms",
            "bytes",
            "MACs/s",
            "peak MiB"
        )
    }

    /// The report as one aligned table row.
    pub fn row(&self) -> String {
        format!(
            "{:<28} {:>3} {:>7} {:>6} {:>5} {:>5} {:>3} {:>5} {:>8} {:>8.2} {:>8.3} {:>9.1} {:>9.0} {:>7} {:>10} {:>8}",
            self.name,
            self.k,
            self.rows,
            self.advice_columns,
            self.fixed_columns,
            self.equality_columns,
            self.extended_factor,
            self.committed_polys,
            self.macs.map_or("-".into(), |m| m.to_string()),
            self.keygen_s,
            self.prove_s,
            self.verify_ms,
            self.verify_cold_ms,
            self.proof_bytes,
            self.macs_per_s.map_or("-".into(), |m| format!("{m:.0}")),
            self.peak_mem_mib.map_or("-".into(), |m| format!("{m:.0}")),
        )
    }
}

/// Column and polynomial counts of a verifying key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyShape {
    /// Advice columns.
    pub advice: usize,
    /// Fixed columns after selector compression.
    pub fixed: usize,
    /// Equality-enabled columns.
    pub equality: usize,
    /// Lookup arguments.
    pub lookups: usize,
    /// Extended domain size over the rows.
    pub extended_factor: u32,
    /// The constraint system's degree.
    pub degree: usize,
}

impl KeyShape {
    /// Reads the counts from a verifying key's pinned description (the only
    /// place `halo2_proofs` 0.4 exposes them).
    pub fn of(vk: &halo2_proofs::plonk::VerifyingKey<halo2_proofs::pasta::EqAffine>) -> Self {
        let text = format!("{:?}", vk.pinned());
        let number = |key: &str| -> usize {
            text.find(key)
                .map(|at| &text[at + key.len()..])
                .and_then(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .unwrap_or(0)
        };
        let equality = text
            .find("permutation: Argument { columns: [")
            .map(|at| {
                let rest = &text[at..];
                let end = rest.find(']').unwrap_or(rest.len());
                rest[..end].matches("Column {").count()
            })
            .unwrap_or(0);
        let k = number("k: ");
        let extended_k = number("extended_k: ");
        Self {
            advice: number("num_advice_columns: "),
            fixed: number("num_fixed_columns: "),
            equality,
            lookups: text.matches("input_expressions").count(),
            extended_factor: 1u32 << extended_k.saturating_sub(k).min(16),
            degree: number("minimum_degree: Some("),
        }
    }

    /// Polynomials the prover commits: advice, three per lookup, the
    /// permutation's grand products (`degree - 2` columns each) and the
    /// quotient's `degree - 1` pieces.
    pub fn committed_polys(&self) -> usize {
        let chunk = self.degree.saturating_sub(2).max(1);
        self.advice
            + 3 * self.lookups
            + self.equality.div_ceil(chunk)
            + self.degree.saturating_sub(1)
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
pub const BENCH_FORMAT: QFormat = QFormat::constant(7, 16);

/// A deterministic dense layer `inputs -> outputs` with ReLU and bias, batch 1,
/// whose outputs fit [`BENCH_FORMAT`]. Inputs are non-negative like the
/// output of a previous ReLU.
pub fn dense_case(inputs: usize, outputs: usize) -> Result<DenseBenchCircuit, Error> {
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
            spec.bias_format()?,
            "bench bias",
        )?),
    };
    Ok(DenseBenchCircuit::new(spec, 1, true, 8, Some(witness))?)
}

/// Times key generation, one proof and one verification of `circuit`.
fn measure_proof<C: Circuit<Fp, Config = CoreConfig> + Clone>(
    cache: &ParamsCache,
    name: String,
    circuit: C,
    describe: &C,
    public: &[Fp],
    macs: Option<usize>,
) -> Result<BenchReport, Error> {
    let m = measure(describe, public.len())?;
    let params = cache.get(m.k)?;

    let t = Instant::now();
    let pk = proving_key(&params, describe)?;
    let keygen_s = t.elapsed().as_secs_f64();

    let key = KeyShape::of(pk.get_vk());
    let t = Instant::now();
    let proof = prove(&params, &pk, circuit, public)?;
    let prove_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    verify(&params, pk.get_vk(), public, &proof)?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;

    let t = Instant::now();
    let vk = verifying_key(&params, describe)?;
    verify(&params, &vk, public, &proof)?;
    let verify_cold_ms = t.elapsed().as_secs_f64() * 1e3;

    Ok(BenchReport {
        name,
        k: m.k,
        rows: m.rows,
        advice_columns: key.advice,
        fixed_columns: key.fixed,
        equality_columns: key.equality,
        lookups: key.lookups,
        extended_factor: key.extended_factor,
        committed_polys: key.committed_polys(),
        macs,
        keygen_s,
        prove_s,
        verify_ms,
        verify_cold_ms,
        proof_bytes: proof.len(),
        macs_per_s: macs.map(|m| m as f64 / prove_s),
        peak_mem_mib: peak_memory_mib(),
    })
}

/// Measures key generation, one proof and one verification of a dense layer.
pub fn bench_dense(
    cache: &ParamsCache,
    inputs: usize,
    outputs: usize,
) -> Result<BenchReport, Error> {
    let circuit = dense_case(inputs, outputs)?;
    let public = circuit
        .public_inputs()
        .ok_or(Error::Internal("dense benchmark has no witness"))?;
    let describe = circuit.describe();
    measure_proof(
        cache,
        format!("dense {inputs}->{outputs} relu"),
        circuit,
        &describe,
        &public,
        Some(inputs * outputs),
    )
}

/// A membership circuit opening a row of `features` 8-bit features at depth
/// `depth`, with a synthetic path (its root is whatever the path leads to).
pub fn membership_case(features: usize, depth: usize) -> Result<MembershipCircuit, Error> {
    let layout = RowLayout {
        features,
        feature_bits: 8,
        label_bits: 4,
    };
    let opening = RowOpening {
        values: (0..=features as i64).map(|i| (i * 37) % 16).collect(),
        salt: Fp::from(0x5eed),
        path: MerklePath {
            index: (1u64 << depth) - 3,
            siblings: (0..depth as u64).map(|i| Fp::from(i * 7919 + 1)).collect(),
        },
    };
    Ok(MembershipCircuit::new(layout, depth, Some(opening))?)
}

/// Measures a membership proof (one Merkle opening) at a given depth.
pub fn bench_membership(
    cache: &ParamsCache,
    features: usize,
    depth: usize,
) -> Result<BenchReport, Error> {
    let circuit = membership_case(features, depth)?;
    let public = circuit
        .public_inputs()
        .ok_or(Error::Internal("membership benchmark has no opening"))?;
    let describe = circuit.describe();
    measure_proof(
        cache,
        format!("open row ({features} feat, depth {depth})"),
        circuit,
        &describe,
        &public,
        None,
    )
}

/// Writes a deterministic CSV of `rows` rows with `features` features in
/// `[0, 16]` and a label in `0..10` (digits-like).
pub fn synthetic_csv(path: &Path, rows: usize, features: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut line = String::with_capacity(features * 3 + 4);
    for _ in 0..rows {
        line.clear();
        for _ in 0..features {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            line.push_str(&(state % 17).to_string());
            line.push(',');
        }
        line.push_str(&(state % 10).to_string());
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// The values [`synthetic_csv`] writes, as a Parquet file (snappy, row
/// groups of 65,536 rows, 32-bit integer columns `f0`.. and `label`).
pub fn synthetic_parquet(path: &Path, rows: usize, features: usize) -> Result<(), Error> {
    use parquet::basic::Compression;
    use parquet::data_type::Int32Type;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;

    const GROUP: usize = 65_536;
    let fail = |_| Error::Internal("could not write the benchmark's temporary Parquet file");
    let mut message = String::from("message data {");
    for j in 0..features {
        message.push_str(&format!(" required int32 f{j};"));
    }
    message.push_str(" required int32 label; }");
    let schema = Arc::new(parse_message_type(&message).map_err(fail)?);
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(GROUP)
            .build(),
    );
    let file = std::fs::File::create(path)
        .map_err(|_| Error::Internal("could not create the benchmark's Parquet file"))?;
    let mut writer = SerializedFileWriter::new(file, schema, props).map_err(fail)?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut left = rows;
    while left > 0 {
        let n = left.min(GROUP);
        let mut columns = vec![Vec::with_capacity(n); features + 1];
        for _ in 0..n {
            for column in columns.iter_mut().take(features) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                column.push((state % 17) as i32);
            }
            columns[features].push((state % 10) as i32);
        }
        let mut group = writer.next_row_group().map_err(fail)?;
        for values in &columns {
            let mut column = group
                .next_column()
                .map_err(fail)?
                .ok_or(Error::Internal("the Parquet schema has fewer columns"))?;
            column
                .typed::<Int32Type>()
                .write_batch(values, None, None)
                .map_err(fail)?;
            column.close().map_err(fail)?;
        }
        group.close().map_err(fail)?;
        left -= n;
    }
    writer.close().map_err(fail)?;
    Ok(())
}

/// The file format a commitment benchmark reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitFormat {
    /// A CSV file.
    Csv,
    /// A Parquet file.
    Parquet,
}

/// Native commitment throughput.
#[derive(Clone, Debug, Serialize)]
pub struct CommitBench {
    /// The input format.
    pub format: CommitFormat,
    /// Rows committed.
    pub rows: u64,
    /// Features per row.
    pub features: usize,
    /// Seconds for both passes, the tree and the files.
    pub seconds: f64,
    /// Rows per second.
    pub rows_per_s: f64,
    /// Peak resident memory of the process so far, in MiB.
    pub peak_mem_mib: Option<f64>,
}

/// Commits a synthetic file of `rows` rows and `features` features in
/// `format` and times it (writing the file is not timed).
pub fn bench_commit(
    rows: usize,
    features: usize,
    format: CommitFormat,
) -> Result<CommitBench, Error> {
    let dir = std::env::temp_dir().join(format!("zkpot-bench-commit-{}", std::process::id()));
    let tmp_err = |_| Error::Internal("could not write the benchmark's temporary CSV");
    std::fs::create_dir_all(&dir).map_err(tmp_err)?;
    let input = match format {
        CommitFormat::Csv => {
            let csv = dir.join("data.csv");
            synthetic_csv(&csv, rows, features).map_err(tmp_err)?;
            csv
        }
        CommitFormat::Parquet => {
            let pq = dir.join("data.parquet");
            synthetic_parquet(&pq, rows, features)?;
            pq
        }
    };
    let t = Instant::now();
    let c = commit_csv(&input, &dir.join("out"), &CommitOptions::default());
    let seconds = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let c = c?;
    Ok(CommitBench {
        format,
        rows: c.n_rows,
        features,
        seconds,
        rows_per_s: c.n_rows as f64 / seconds,
        peak_mem_mib: peak_memory_mib(),
    })
}

/// The bundled digits dataset, committed with a fixed secret in a temporary
/// directory (removed once loaded).
fn digits() -> Result<crate::data::Dataset, Error> {
    let dir = std::env::temp_dir().join(format!("zkpot-bench-digits-{}", std::process::id()));
    let digits = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits.csv.gz");
    let opts = CommitOptions {
        secret: Some(crate::data::DatasetSecret::from_bytes([7; 32])),
        ..CommitOptions::default()
    };
    commit_csv(&digits, &dir, &opts)?;
    let data = crate::data::Dataset::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(data?)
}

/// The models `zkpot bench training` measures on digits: the 64-32-10 MLP
/// and a CNN with one 3x3 convolution to 4 channels, 2x2 average (or max)
/// pooling and a dense layer.
pub const TRAINING_MODELS: [&str; 3] = [
    "mlp:64-32-10",
    "cnn:1x8x8-c4k3p1-relu-avg2-d10",
    "cnn:1x8x8-c4k3p1-relu-max2-d10",
];

/// One training step of `model` (a shorthand, see
/// [`parse_model`](crate::train::run::parse_model)) on the bundled digits
/// dataset (batch `batch`, `steps` steps per proof): the step circuit, its
/// public inputs and the native weights after the step.
pub fn training_case(
    model: &str,
    batch: usize,
    steps: usize,
) -> Result<zkpot_circuits::train::TrainStepCircuit, Error> {
    use zkpot_circuits::train::{
        init_params, Loss, StepWitness, TrainFormats, TrainSpec, TrainStepCircuit,
    };
    let arch = crate::train::run::parse_model(model)?;
    let data = digits()?;
    let c = data.commitment();
    let spec = TrainSpec {
        widths: arch.widths,
        conv: arch.conv,
        loss: Loss::CrossEntropy,
        lr_num: 128,
        lr_shift: 8,
        batch,
        formats: TrainFormats::for_input(c.schema.format),
    };
    let openings = (0..(batch * steps) as u64)
        .map(|i| data.opening((i * 113) % data.n_rows()))
        .collect::<Result<Vec<_>, _>>()?;
    let witness = StepWitness {
        params: init_params(&spec, 1),
        salt_in: Fp::from(11),
        salt_out: Fp::from(12),
        openings,
        context: Fp::from(13),
    };
    Ok(TrainStepCircuit::new(
        spec,
        c.schema.layout(),
        c.depth as usize,
        steps,
        Some(witness),
    )?)
}

/// Measures one proof of a training step of `model` on digits.
pub fn bench_training(
    cache: &ParamsCache,
    model: &str,
    batch: usize,
    steps: usize,
) -> Result<BenchReport, Error> {
    let circuit = training_case(model, batch, steps)?;
    let (public, _) = circuit.public_inputs()?;
    let describe = circuit.describe();
    // Forward, backward and update: about three passes' multiply-adds.
    let macs = steps * batch * 3 * circuit.spec().model().macs();
    let name = format!(
        "train {} b{batch} x{steps}",
        model.trim_start_matches("mlp:").trim_start_matches("cnn:")
    );
    measure_proof(cache, name, circuit, &describe, &public, Some(macs))
}

/// An evaluation proof of `rows` digits rows with an MLP of `widths` in
/// training formats (16-bit weights), as a run's trained model is scored.
pub fn eval_case(
    widths: &[usize],
    rows: usize,
) -> Result<zkpot_circuits::infer::eval::EvalCircuit, Error> {
    use zkpot_circuits::infer::eval::{EvalCircuit, EvalWitness};
    use zkpot_circuits::train::{init_params, Loss, TrainFormats, TrainSpec};
    let data = digits()?;
    let c = data.commitment();
    let spec = TrainSpec {
        widths: widths.to_vec(),
        conv: None,
        loss: Loss::CrossEntropy,
        lr_num: 128,
        lr_shift: 8,
        batch: 16,
        formats: TrainFormats::for_input(c.schema.format),
    };
    let (model, weights) = crate::model::from_trained(&spec, &init_params(&spec, 1));
    let openings = (0..rows as u64)
        .map(|i| data.opening((i * 113) % data.n_rows()))
        .collect::<Result<Vec<_>, _>>()?;
    let witness = EvalWitness {
        weights,
        weight_salt: Fp::from(11),
        openings,
        counted: rows,
        context: Fp::from(13),
    };
    Ok(EvalCircuit::new(
        model,
        c.schema.layout(),
        c.depth as usize,
        rows,
        Some(witness),
    )?)
}

/// Measures one evaluation proof of `rows` digits rows (see [`eval_case`]).
pub fn bench_eval(
    cache: &ParamsCache,
    widths: &[usize],
    rows: usize,
) -> Result<BenchReport, Error> {
    let circuit = eval_case(widths, rows)?;
    let (public, _) = circuit.public_inputs()?;
    let describe = circuit.describe();
    let macs = rows * widths.windows(2).map(|w| (w[0] + 1) * w[1]).sum::<usize>();
    let name = format!(
        "eval {} x{rows} rows",
        widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("-")
    );
    measure_proof(cache, name, circuit, &describe, &public, Some(macs))
}

/// The fixture models `zkpot bench inference` and `benches/inference.rs`
/// measure, smallest first.
pub const INFERENCE_FIXTURES: [&str; 5] = [
    "mlp_4_16_3",
    "mlp_4_16_3_argmax",
    "cnn_8x8",
    "cnn_max_8x8",
    "mlp_784_128_10",
];

/// The inference circuit of a fixture model (`mlp_4_16_3`, `mlp_784_128_10`,
/// `cnn_8x8`, `cnn_max_8x8`), calibrated on its calibration inputs, proving its sample input
/// with weights committed, input private and output public.
pub fn inference_case(name: &str) -> Result<zkpot_circuits::infer::AnyInference, Error> {
    inference_batch_case(name, 1)
}

/// [`inference_case`] proving `batch` inputs in one proof: the sample input,
/// then the calibration inputs in turn.
pub fn inference_batch_case(
    name: &str,
    batch: usize,
) -> Result<zkpot_circuits::infer::AnyInference, Error> {
    use zkpot_circuits::infer::{AnyInference, InferenceItem, InferenceWitness, Visibility};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models");
    let read = |kind: &str| -> Result<Vec<Vec<f64>>, Error> {
        let p = dir.join(format!("{name}.{kind}.json"));
        let text =
            std::fs::read_to_string(&p).map_err(|_| Error::Internal("missing fixture input"))?;
        Ok(crate::model::read_inputs(&text)?)
    };
    let calibration = read("calibration")?;
    let loaded =
        crate::infer::LoadedModel::load(&dir.join(format!("{name}.onnx")), &calibration, &[9; 32])?;
    let pool: Vec<Vec<f64>> = read("input")?.into_iter().chain(calibration).collect();
    if pool.is_empty() {
        return Err(Error::Internal("empty fixture input"));
    }
    let items = (0..batch)
        .map(|i| {
            Ok(InferenceItem {
                input: crate::model::quantize_input(&loaded.model, &pool[i % pool.len()])?,
                input_salt: Fp::from(1 + 2 * i as u64),
                output_salt: Fp::from(2 + 2 * i as u64),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let witness = InferenceWitness {
        weights: loaded.weights,
        weight_salt: loaded.weight_salt,
        items,
    };
    Ok(AnyInference::batched(
        loaded.model,
        Visibility::Private,
        Visibility::Public,
        batch,
        Some(witness),
    )?)
}

/// Measures one inference proof of a fixture model.
pub fn bench_inference(cache: &ParamsCache, name: &str) -> Result<BenchReport, Error> {
    bench_inference_batch(cache, name, 1)
}

/// Measures one proof of `batch` inferences of a fixture model (named
/// `infer NAME xBATCH`; its multiply-adds are the whole batch's, so the
/// amortized proving time per inference is `prove_s / batch`).
pub fn bench_inference_batch(
    cache: &ParamsCache,
    name: &str,
    batch: usize,
) -> Result<BenchReport, Error> {
    use zkpot_circuits::infer::AnyInference;
    let circuit = inference_batch_case(name, batch)?;
    let (public, _) = circuit.public_inputs()?;
    let macs = circuit.model().macs() * batch;
    let name = if batch == 1 {
        format!("infer {name} (C_W)")
    } else {
        format!("infer {name} x{batch} (C_W)")
    };
    match circuit {
        AnyInference::Compact(c) => {
            let d = c.describe();
            measure_proof(cache, name, c, &d, &public, Some(macs))
        }
        AnyInference::Wide(c) => {
            let d = c.describe();
            measure_proof(cache, name, c, &d, &public, Some(macs))
        }
        AnyInference::WideLookups(c) => {
            let d = c.describe();
            measure_proof(cache, name, c, &d, &public, Some(macs))
        }
        AnyInference::Batched(c) => {
            let d = c.describe();
            measure_proof(cache, name, c, &d, &public, Some(macs))
        }
    }
}
