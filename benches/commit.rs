//! Dataset commitment: native throughput (rows per second, 64-feature rows,
//! from CSV and from Parquet) and
//! the in-circuit cost of one row opening at the depths of digits (1,797 rows,
//! depth 11) and of 2^20 rows.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use zkpot::bench::{membership_case, synthetic_csv, synthetic_parquet};
use zkpot::circuits::proving::{prove, proving_key};
use zkpot::data::{commit_csv, CommitOptions};
use zkpot::params::ParamsCache;

fn native_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    // 1,000,000 rows by default (about 20 s an iteration); set
    // ZKPOT_BENCH_ROWS for a quicker run.
    let rows: usize = std::env::var("ZKPOT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let csv = dir.path().join("data.csv");
    synthetic_csv(&csv, rows, 64).expect("synthetic csv");
    let parquet = dir.path().join("data.parquet");
    synthetic_parquet(&parquet, rows, 64).expect("synthetic parquet");
    let mut group = c.benchmark_group("commit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    for (name, input) in [("csv", &csv), ("parquet", &parquet)] {
        group.bench_function(format!("native {name} {rows} rows x 64 features"), |b| {
            b.iter(|| {
                commit_csv(input, &dir.path().join("out"), &CommitOptions::default())
                    .expect("commit")
            })
        });
    }
    group.finish();
}

fn opening(c: &mut Criterion) {
    let cache = ParamsCache::locate(None).expect("a cache directory");
    let mut group = c.benchmark_group("opening");
    group.sample_size(10);
    for depth in [11usize, 20] {
        let circuit = membership_case(64, depth).expect("valid case");
        let m = circuit.measure().expect("fits");
        let params = cache.get(m.k).expect("parameters");
        let pk = proving_key(&params, &circuit.describe()).expect("keys");
        let public = circuit.public_inputs().expect("opening");
        println!("opening at depth {depth}: {} rows, k = {}", m.rows, m.k);
        group.bench_function(
            format!("prove depth {depth} ({} rows, k={})", m.rows, m.k),
            |b| b.iter(|| prove(&params, &pk, circuit.clone(), &public).expect("proof")),
        );
    }
    group.finish();
}

criterion_group!(benches, native_commit, opening);
criterion_main!(benches);
