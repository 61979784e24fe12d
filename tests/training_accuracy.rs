//! The fixed-point trainer against the float trainer on digits (80/20 split,
//! batch 16, 8 epochs, the same initialization, learning rate and batches):
//! the MLP 64-32-10 with softmax cross-entropy and with MSE, and a CNN (one
//! 3x3 convolution to 4 channels, ReLU, 2x2 average pooling, a dense layer):
//! test accuracies must agree within 2 percentage points, and the CNN must
//! end at least as accurate as the MLP after the same epochs. Each epoch's
//! test accuracies are printed (the curves in README and DESIGN).

use std::path::Path;

use zkpot::circuits::train::{init_params, Arch, Loss, TrainFormats, TrainSpec};
use zkpot::data::{commit_csv, CommitOptions, Dataset, DatasetSecret};
use zkpot::train::sampling::{Sampler, Sampling};
use zkpot::train::trainer::{accuracy_fixed, accuracy_float, train_native};

#[test]
fn fixed_point_tracks_float_on_digits() {
    // Split digits: every fifth row is held out.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits.csv.gz");
    let dir = tempfile::tempdir().unwrap();
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&src).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let train: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(_, l)| *l)
        .collect();
    let test: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 == 0)
        .map(|(_, l)| *l)
        .collect();
    let write = |name: &str, rows: &[&str]| {
        let p = dir.path().join(name);
        std::fs::write(&p, rows.join("\n")).unwrap();
        p
    };
    // Pixel values 0..16 are min-max normalized into [0, 1] at 6 fractional bits.
    let opts = CommitOptions {
        secret: Some(DatasetSecret::from_bytes([3; 32])),
        ..CommitOptions::default()
    };
    commit_csv(
        &write("train.csv", &train),
        &dir.path().join("train"),
        &opts,
    )
    .unwrap();
    commit_csv(&write("test.csv", &test), &dir.path().join("test"), &opts).unwrap();
    let train = Dataset::load(&dir.path().join("train")).unwrap();
    let test = Dataset::load(&dir.path().join("test")).unwrap();
    let test_rows: Vec<Vec<i64>> = (0..test.n_rows()).map(|i| test.row(i).unwrap()).collect();

    let mut finals = Vec::new();
    for (model, loss, lr_num) in [
        ("mlp:64-32-10", Loss::CrossEntropy, 128),
        ("mlp:64-32-10", Loss::Mse, 32),
        ("cnn:1x8x8-c4k3p1-relu-avg2-d10", Loss::CrossEntropy, 128),
    ] {
        let arch = Arch::parse(model).unwrap();
        let spec = TrainSpec {
            widths: arch.widths,
            conv: arch.conv,
            loss,
            lr_num,
            lr_shift: 8,
            batch: 16,
            formats: TrainFormats::for_input(train.commitment().schema.format),
        };
        spec.validate().unwrap();
        let sampler = Sampler::new(
            [1; 32],
            [2; 32],
            train.n_rows(),
            0,
            spec.batch,
            Sampling::Shuffle,
        )
        .unwrap();
        let epoch = sampler.steps_per_epoch();
        let run = train_native(&spec, init_params(&spec, 42), &sampler, 8 * epoch, |i| {
            train.row(i).unwrap()
        })
        .unwrap();
        // The fixed-point curve, epoch by epoch.
        let curve: Vec<String> = (1..=8)
            .map(|e| {
                let p = &run.params[(e * epoch) as usize];
                format!("{:.3}", accuracy_fixed(&spec, p, &test_rows).unwrap())
            })
            .collect();
        let fixed = accuracy_fixed(&spec, run.params.last().unwrap(), &test_rows).unwrap();
        let float = accuracy_float(&spec, &run.float, &test_rows);
        let last = run.metrics.last().unwrap();
        println!(
            "{model} {loss:?} lr {lr_num}/256, {} steps: fixed {fixed:.4} float {float:.4} \
             loss {:.4} / {:.4}; fixed test accuracy by epoch {}",
            8 * epoch,
            last.fixed_loss,
            last.float_loss,
            curve.join(" ")
        );
        assert!(
            float > 0.85,
            "the float model should learn digits ({float})"
        );
        assert!(
            (fixed - float).abs() <= 0.02,
            "{model} {loss:?}: fixed {fixed} vs float {float}"
        );
        finals.push(fixed);
    }
    assert!(
        finals[2] >= finals[0],
        "the CNN ({}) is at least as accurate as the MLP ({}) after 8 epochs",
        finals[2],
        finals[0]
    );
}
