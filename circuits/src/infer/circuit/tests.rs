//! Tests of the inference circuit: native outputs proven, batches, wrong
//! claims rejected.

use halo2_proofs::dev::MockProver;

use super::*;
use crate::fixed::{Activation, QFormat};
use crate::infer::model::QLayer;

pub(crate) fn model() -> QModel {
    QModel {
        input: QFormat::new(6, 8).unwrap(),
        activation: QFormat::new(6, 16).unwrap(),
        weight: QFormat::new(6, 8).unwrap(),
        layers: vec![
            QLayer::Conv2d {
                in_channels: 1,
                out_channels: 2,
                height: 4,
                width: 4,
                kernel: [3, 3],
                stride: 1,
                padding: 1,
                activation: Some(Activation::Relu),
            },
            QLayer::AvgPool2d {
                channels: 2,
                height: 4,
                width: 4,
                kernel: 2,
                stride: 2,
            },
            QLayer::Dense {
                inputs: 8,
                outputs: 3,
                activation: None,
            },
        ],
    }
}

pub(crate) fn witness(seed: i64) -> InferenceWitness {
    let m = model();
    let weights = m
        .weight_shapes()
        .iter()
        .map(|(r, c)| {
            (0..(r * c) as i64)
                .map(|i| (i * 37 + seed) % 41 - 20)
                .collect()
        })
        .collect();
    InferenceWitness::single(
        weights,
        Fp::from(5),
        (0..16).map(|i| (i * 13 + seed) % 64).collect(),
        Fp::from(6),
        Fp::from(7),
    )
}

fn run<S: InferShape>(
    c: &InferenceCircuit<S>,
    public: Vec<Fp>,
) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    MockProver::run(c.measure().unwrap().k, c, vec![public])
        .unwrap()
        .verify()
}

/// A trained-format MLP (16-bit weights) just above the compact layout's
/// multiply-adds: it takes the lookup-lane layout, at a smaller `k` than
/// the compact one, and proves its native output only.
#[test]
fn large_models_with_wide_weights_take_the_lookup_lanes() {
    let format = |f| QFormat::new(f, 16).unwrap();
    let m = QModel {
        input: format(8),
        activation: format(8),
        weight: format(12),
        layers: vec![
            QLayer::Dense {
                inputs: 64,
                outputs: 257,
                activation: Some(Activation::Relu),
            },
            QLayer::Dense {
                inputs: 257,
                outputs: 2,
                activation: None,
            },
        ],
    };
    assert_eq!(layout_of(&m), Layout::WideLookups);
    let mut byte_weights = m.clone();
    byte_weights.weight = QFormat::new(6, 8).unwrap();
    assert_eq!(layout_of(&byte_weights), Layout::Wide);
    assert_eq!(layout_of(&model()), Layout::Compact);
    let weights = m
        .weight_shapes()
        .iter()
        .map(|(r, c)| {
            (0..(r * c) as i64)
                .map(|i| (i * 7919) % 4001 - 2000)
                .collect()
        })
        .collect();
    let w = InferenceWitness::single(
        weights,
        Fp::from(5),
        (0..64).map(|i| (i * 29) % 512 - 256).collect(),
        Fp::from(6),
        Fp::from(7),
    );
    let c = InferenceCircuit::<WideLookups>::new(
        m.clone(),
        Visibility::Private,
        Visibility::Public,
        Some(w.clone()),
    )
    .unwrap();
    let compact =
        InferenceCircuit::<Compact>::new(m.clone(), Visibility::Private, Visibility::Public, None)
            .unwrap();
    assert!(c.measure().unwrap().k < compact.measure().unwrap().k);
    let (public, y) = c.public_inputs().unwrap();
    assert_eq!(
        y[0],
        m.forward(&w.weights, &w.items[0].input)
            .unwrap()
            .pop()
            .unwrap()
    );
    assert_eq!(run(&c, public.clone()), Ok(()));
    let mut bad = public;
    let last = bad.len() - 1;
    bad[last] += Fp::from(1);
    assert!(run(&c, bad).is_err());
}

#[test]
fn outputs_match_native_for_every_visibility() {
    for (input, output) in [
        (Visibility::Public, Visibility::Public),
        (Visibility::Private, Visibility::Public),
        (Visibility::Committed, Visibility::Committed),
    ] {
        let c = InferenceCircuit::<Wide>::new(model(), input, output, Some(witness(3))).unwrap();
        let (public, _) = c.public_inputs().unwrap();
        assert_eq!(run(&c, public.clone()), Ok(()), "{input:?} {output:?}");
        let c = InferenceCircuit::<Compact>::new(model(), input, output, Some(witness(3))).unwrap();
        assert_eq!(run(&c, public), Ok(()), "compact {input:?} {output:?}");
    }
}

/// A convolution without activation (negative values reach the pool)
/// followed by 2x2 max pooling: the outputs are the windows' maxima.
pub(crate) fn max_pool_model() -> QModel {
    let mut m = model();
    m.layers[0] = QLayer::Conv2d {
        in_channels: 1,
        out_channels: 2,
        height: 4,
        width: 4,
        kernel: [3, 3],
        stride: 1,
        padding: 1,
        activation: None,
    };
    m.layers[1] = QLayer::MaxPool2d {
        channels: 2,
        height: 4,
        width: 4,
        kernel: 2,
        stride: 2,
    };
    m.layers.truncate(2);
    m
}

#[test]
fn max_pooling_proves_the_windows_maxima_only() {
    let m = max_pool_model();
    let mut w = witness(3);
    w.weights.truncate(1);
    let c = InferenceCircuit::<Compact>::new(
        m.clone(),
        Visibility::Public,
        Visibility::Public,
        Some(w.clone()),
    )
    .unwrap();
    let (public, y) = c.public_inputs().unwrap();
    let y = &y[0];
    assert_eq!(run(&c, public.clone()), Ok(()));
    let conv = &m.forward(&w.weights, &w.items[0].input).unwrap()[0];
    assert!(conv.iter().any(|v| *v < 0) && conv.iter().any(|v| *v > 0));
    // Each output claimed one lower, or one higher, is rejected.
    let first_out = public.len() - y.len();
    for (k, delta) in [(0, 1), (3, -1), (7, 1)] {
        let mut bad = public.clone();
        bad[first_out + k] += fp_from_i64(delta);
        assert!(run(&c, bad).is_err(), "output {k} moved by {delta}");
    }
    // Another element of the first window (not its maximum) is rejected.
    let window = [0, 1, 4, 5].map(|i| conv[i]);
    let other = window.iter().copied().find(|v| *v != y[0]).unwrap();
    let mut bad = public.clone();
    bad[first_out] = fp_from_i64(other);
    assert!(run(&c, bad).is_err());
    let c =
        InferenceCircuit::<Wide>::new(m, Visibility::Private, Visibility::Public, Some(w)).unwrap();
    let (public, _) = c.public_inputs().unwrap();
    assert_eq!(run(&c, public), Ok(()));
}

/// Dense 2 -> 3 and an argmax; weights `[1,0|0], [1,0|0], [0,1|0]` give
/// logits `[x0, x0, x1]`, a tie between classes 0 and 1 when `x0 > x1`.
pub(crate) fn argmax_model() -> (QModel, InferenceWitness) {
    let mut m = model();
    m.layers = vec![
        QLayer::Dense {
            inputs: 2,
            outputs: 3,
            activation: None,
        },
        QLayer::Argmax { inputs: 3 },
    ];
    let w = InferenceWitness::single(
        vec![vec![64, 0, 0, 64, 0, 0, 0, 64, 0]],
        Fp::from(5),
        vec![40, 30],
        Fp::from(6),
        Fp::from(7),
    );
    (m, w)
}

#[test]
fn argmax_proves_the_first_largest_class_only() {
    let (m, mut w) = argmax_model();
    for (input, class) in [([40, 30], 0), ([20, 30], 2), ([-5, -60], 0)] {
        w.items[0].input = input.to_vec();
        let c = InferenceCircuit::<Compact>::new(
            m.clone(),
            Visibility::Public,
            Visibility::Public,
            Some(w.clone()),
        )
        .unwrap();
        let (public, y) = c.public_inputs().unwrap();
        assert_eq!(y, vec![vec![class]]);
        assert_eq!(run(&c, public.clone()), Ok(()));
        let last = public.len() - 1;
        // Every other class is rejected, the tied second maximum included.
        for other in 0..3 {
            if other != class {
                let mut bad = public.clone();
                bad[last] = fp_from_i64(other);
                assert!(run(&c, bad).is_err(), "{input:?}: class {other}");
            }
        }
        let mut bad = public;
        bad[last] = fp_from_i64(3);
        assert!(run(&c, bad).is_err(), "out of range class");
    }
    // Committed output and the wide layout.
    let c = InferenceCircuit::<Wide>::new(m, Visibility::Private, Visibility::Committed, Some(w))
        .unwrap();
    let (public, _) = c.public_inputs().unwrap();
    assert_eq!(run(&c, public), Ok(()));
}

#[test]
fn an_out_of_range_weight_fails_its_packing_lookup() {
    use halo2_proofs::dev::{FailureLocation, VerifyFailure};
    let mut w = witness(3);
    // 200 is outside the signed 8-bit weight domain; the native commitment
    // packs it by the field formula, so only the range check can object.
    w.weights[0][0] = 200;
    let c = InferenceCircuit::<Wide>::new(model(), Visibility::Public, Visibility::Public, Some(w))
        .unwrap();
    let (public, _) = c.public_inputs().unwrap();
    let failures = run(&c, public).unwrap_err();
    assert!(
        failures.iter().all(|f| matches!(
            f,
            VerifyFailure::Lookup {
                location: FailureLocation::InRegion { .. },
                ..
            }
        )),
        "{failures:?}"
    );
}

/// Three inputs in one proof: each item's outputs are its own native
/// forward pass, listed after its input in the public inputs; another
/// item's output in its place, or two items' outputs swapped, fail; a
/// witness of another size than the batch is refused.
#[test]
fn a_batch_proves_each_items_native_output() {
    let mut w = witness(3);
    w.items = (0..3).map(|seed| witness(seed).items[0].clone()).collect();
    let m = model();
    for (input, output) in [
        (Visibility::Public, Visibility::Public),
        (Visibility::Private, Visibility::Public),
        (Visibility::Committed, Visibility::Committed),
    ] {
        let c = InferenceCircuit::<Compact>::batched(m.clone(), input, output, 3, Some(w.clone()))
            .unwrap();
        assert_eq!(c.instance_len(), 1 + 3 * c.item_instance_len());
        let (public, ys) = c.public_inputs().unwrap();
        assert_eq!(public.len(), c.instance_len());
        for (item, y) in w.items.iter().zip(&ys) {
            assert_eq!(
                y,
                &m.forward(&w.weights, &item.input).unwrap().pop().unwrap()
            );
        }
        assert_eq!(run(&c, public.clone()), Ok(()), "{input:?} {output:?}");
        let per = c.item_instance_len();
        let first_out =
            |i: usize| 1 + i * per + per - if output == Visibility::Public { 3 } else { 1 };
        let mut bad = public.clone();
        bad.swap(first_out(0), first_out(1));
        assert_ne!(bad, public);
        assert!(run(&c, bad).is_err(), "{input:?} {output:?}: swapped");
        let mut bad = public.clone();
        bad[first_out(2)] += Fp::from(1);
        assert!(run(&c, bad).is_err(), "{input:?} {output:?}: last item");
    }
    let two = InferenceCircuit::<Compact>::batched(
        m.clone(),
        Visibility::Private,
        Visibility::Public,
        2,
        Some(w.clone()),
    );
    assert!(
        matches!(two, Err(CircuitError::Synthesis(e)) if e.contains("3 inputs for a batch of 2"))
    );
    for batch in [0, MAX_BATCH + 1] {
        assert!(InferenceCircuit::<Compact>::batched(
            m.clone(),
            Visibility::Private,
            Visibility::Public,
            batch,
            None
        )
        .is_err());
    }
}

#[test]
fn wrong_output_or_commitment_is_rejected() {
    let c = InferenceCircuit::<Compact>::new(
        model(),
        Visibility::Private,
        Visibility::Public,
        Some(witness(3)),
    )
    .unwrap();
    let (public, _) = c.public_inputs().unwrap();
    let mut out = public.clone();
    let last = out.len() - 1;
    out[last] += Fp::from(1);
    assert!(run(&c, out).is_err());
    let mut cw = public;
    cw[0] += Fp::from(1);
    assert!(run(&c, cw).is_err());
}

/// One dense layer's model with the weight and activation formats shifted
/// together by `shift`: the same rescale, gates and public inputs.
fn one_layer(shift: u32) -> QModel {
    QModel {
        input: QFormat::new(6, 8).unwrap(),
        activation: QFormat::new(6 + shift, 16).unwrap(),
        weight: QFormat::new(4 + shift, 8).unwrap(),
        layers: vec![QLayer::Dense {
            inputs: 4,
            outputs: 3,
            activation: None,
        }],
    }
}

/// Statements that differ in their number formats only get different
/// verifying keys, so a proof of one does not verify for the other (which
/// would restate its outputs scaled by a power of two).
#[test]
fn the_number_formats_are_bound_into_the_verifying_key() {
    let vis = (Visibility::Public, Visibility::Public);
    let key = |shift: u32| {
        let c = InferenceCircuit::<Wide>::new(one_layer(shift), vis.0, vis.1, None).unwrap();
        let params = halo2_proofs::poly::commitment::Params::new(c.measure().unwrap().k);
        let vk = crate::proving::verifying_key(&params, &c).unwrap();
        format!("{:?}", vk.pinned())
    };
    let base = key(0);
    assert_eq!(base, key(0));
    assert_ne!(base, key(2));
    assert_ne!(formats_tag(&one_layer(0)), formats_tag(&one_layer(2)));
}
