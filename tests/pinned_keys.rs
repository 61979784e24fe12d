//! Pinned verifying keys: the step circuit, the membership circuit and each
//! inference layout. A verifier rebuilds these keys from statements, so a
//! circuit that changes without a format version bump would silently
//! reject old proofs or accept new meanings; these digests make any change
//! a failing test (`ZKPOT_UPDATE_FIXTURES=1` rewrites them after an
//! intended one).

mod common;

use common::assert_pinned;
use zkpot::circuits::circuits::membership::{MembershipCircuit, RowLayout};
use zkpot::circuits::fixed::QFormat;
use zkpot::circuits::infer::{layout_for, AnyInference, Layout, QLayer, QModel, Visibility};
use zkpot::circuits::proving::verifying_key;
use zkpot::circuits::train::{Loss, TrainFormats, TrainSpec, TrainStepCircuit};
use zkpot::params::ParamsCache;

/// Iris rows: 4 features of `Q6/8b`, 2-bit labels.
const IRIS: RowLayout = RowLayout {
    features: 4,
    feature_bits: 8,
    label_bits: 2,
};

#[test]
fn the_step_and_membership_keys_are_pinned() {
    let cache = ParamsCache::locate(None).unwrap();
    let spec = TrainSpec {
        widths: vec![4, 8, 3],
        conv: None,
        loss: Loss::CrossEntropy,
        lr_num: 64,
        lr_shift: 8,
        batch: 4,
        formats: TrainFormats::for_input(QFormat::new(6, 8).unwrap()),
    };
    let step = TrainStepCircuit::new(spec, IRIS, 8, 1, None).unwrap();
    let params = cache.get(step.measure().unwrap().k).unwrap();
    assert_pinned(
        "step-iris-4-8-3-ce",
        &verifying_key(&params, &step).unwrap(),
    );

    let membership = MembershipCircuit::new(IRIS, 8, None).unwrap();
    let params = cache.get(membership.k().unwrap()).unwrap();
    assert_pinned(
        "membership-iris",
        &verifying_key(&params, &membership).unwrap(),
    );
}

/// An MLP `widths` with `weight_bits`-bit weights.
fn mlp(widths: &[usize], weight_bits: u32) -> QModel {
    let layers = widths
        .windows(2)
        .enumerate()
        .map(|(i, w)| QLayer::Dense {
            inputs: w[0],
            outputs: w[1],
            activation: (i + 2 < widths.len()).then_some(zkpot::circuits::fixed::Activation::Relu),
        })
        .collect();
    QModel {
        input: QFormat::new(6, 8).unwrap(),
        activation: QFormat::new(6, 16).unwrap(),
        weight: QFormat::new(6, weight_bits).unwrap(),
        layers,
    }
}

#[test]
fn each_inference_layouts_key_is_pinned() {
    let cache = ParamsCache::locate(None).unwrap();
    for (name, model, batch, layout) in [
        (
            "infer-compact-4-16-3",
            mlp(&[4, 16, 3], 8),
            1,
            Layout::Compact,
        ),
        (
            "infer-wide-128-128-10",
            mlp(&[128, 128, 10], 8),
            1,
            Layout::Wide,
        ),
        (
            "infer-wide-lookups-128-128-10",
            mlp(&[128, 128, 10], 16),
            1,
            Layout::WideLookups,
        ),
        (
            "infer-batched-4x128-128-10",
            mlp(&[128, 128, 10], 8),
            4,
            Layout::Batched,
        ),
    ] {
        assert_eq!(layout_for(&model, batch), layout, "{name}");
        let c = AnyInference::batched(model, Visibility::Private, Visibility::Public, batch, None)
            .unwrap();
        let params = cache.get(c.measure().unwrap().k).unwrap();
        assert_pinned(name, &c.verifying_key(&params).unwrap());
    }
}
