//! The public statement of an inference proof and its verification.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use zkpot_circuits::envelope::bound;
use zkpot_circuits::field::fp_from_i64;
use zkpot_circuits::infer::{AnyInference, QLayer, QModel, Visibility, MAX_BATCH};
use zkpot_circuits::Fp;

use crate::hex::fp_from_hex;
use crate::model::ir::Preprocess;
use crate::params::ParamsCache;
use crate::proof::{verify_group, Envelope, ProofError, StatementKind};
use crate::Error;

/// What an inference proof states: the model (architecture and formats, never
/// weights), the weights' commitment, and the input and output as their
/// visibility allows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceStatement {
    /// The quantized model's description.
    pub model: QModel,
    /// How the input is shown.
    pub input: Visibility,
    /// How the output is shown.
    pub output: Visibility,
    /// `C_W` (hex).
    pub weights_commitment: String,
    /// The quantized input, if public.
    pub input_values: Option<Vec<i64>>,
    /// The input's commitment, if committed.
    pub input_commitment: Option<String>,
    /// The quantized output (logits), if public.
    pub output_values: Option<Vec<i64>>,
    /// The output's commitment, if committed.
    pub output_commitment: Option<String>,
    /// A proof of several inputs at once lists them here, each with what
    /// its visibilities show, in the order of the public inputs; the four
    /// single-input fields above are then all empty. A single inference
    /// leaves this out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Vec<ShownItem>>,
    /// The preprocessing applied to the raw input before quantization (an
    /// imported model's leading normalization), when there is one. It is
    /// named here, not proven: the proof is of the quantized input, which
    /// anyone holding the raw input can recompute through this map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocess: Option<Preprocess>,
    /// The label of each class index, when the model ends in an argmax
    /// whose classes the exported file names (named, not proven: the proof
    /// is of the index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

/// What a statement shows of one input of a batch and its output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShownItem {
    /// The quantized input, if public.
    pub input_values: Option<Vec<i64>>,
    /// The input's commitment, if committed.
    pub input_commitment: Option<String>,
    /// The quantized output (logits), if public.
    pub output_values: Option<Vec<i64>>,
    /// The output's commitment, if committed.
    pub output_commitment: Option<String>,
}

fn bad(reason: impl Into<String>) -> Error {
    ProofError::Statement(reason.into()).into()
}

fn shown(what: &str, vis: Visibility, values: bool, commitment: bool) -> Result<(), Error> {
    let expected = (vis == Visibility::Public, vis == Visibility::Committed);
    if (values, commitment) != expected {
        return Err(bad(format!(
            "the {what} is {vis:?} but the statement gives {}{}",
            if values { "values" } else { "no values" },
            if commitment {
                " and a commitment"
            } else {
                " and no commitment"
            }
        )));
    }
    Ok(())
}

fn hex_fp(s: &Option<String>, what: &str) -> Result<Fp, Error> {
    s.as_deref()
        .and_then(fp_from_hex)
        .ok_or_else(|| bad(format!("{what} is missing or not a field element")))
}

impl InferenceStatement {
    /// Canonical bytes (compact JSON).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(|e| bad(format!("statement serialization: {e}")))
    }

    /// Parses statement bytes and checks the model against the supported
    /// envelope (formats, dimensions, sizes and shifts: see
    /// [`QModel::validate`]); public values are checked by
    /// [`public_inputs`](Self::public_inputs).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let s: InferenceStatement =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        s.model.validate()?;
        s.check_shown()?;
        s.model.validate_batch(s.batch_len())?;
        s.check_named()?;
        Ok(s)
    }

    /// Checks the preprocessing and labels against the model: one scale
    /// and shift per input, finite; one label per class of a final argmax,
    /// each at most 256 bytes.
    fn check_named(&self) -> Result<(), Error> {
        if let Some(p) = &self.preprocess {
            p.validate(self.model.input_len())
                .map_err(|e| bad(format!("preprocess: {e}")))?;
        }
        if let Some(labels) = &self.labels {
            let classes = match self.model.layers.last() {
                Some(QLayer::Argmax { inputs }) => *inputs,
                _ => {
                    return Err(bad(
                        "labels are given but the model does not end in an argmax",
                    ))
                }
            };
            if labels.len() != classes {
                return Err(bad(format!(
                    "{} labels for {classes} classes",
                    labels.len()
                )));
            }
            if let Some(l) = labels.iter().find(|l| l.len() > 256) {
                return Err(bad(format!("a label of {} bytes (at most 256)", l.len())));
            }
        }
        Ok(())
    }

    /// The inputs the statement speaks of, each with what it shows: the
    /// batch's list, or the single-input fields as one item. A batch must
    /// hold 2 to [`MAX_BATCH`] items and leave the single-input fields
    /// empty, so every statement has exactly one form.
    pub fn items(&self) -> Result<Vec<ShownItem>, Error> {
        let single = ShownItem {
            input_values: self.input_values.clone(),
            input_commitment: self.input_commitment.clone(),
            output_values: self.output_values.clone(),
            output_commitment: self.output_commitment.clone(),
        };
        match &self.batch {
            None => Ok(vec![single]),
            Some(items) => {
                if single != ShownItem::default() {
                    return Err(bad(
                        "a batch statement shows its inputs in the batch list only",
                    ));
                }
                if items.len() < 2 || items.len() > MAX_BATCH {
                    return Err(bad(format!(
                        "a batch of {} inputs (2 to {MAX_BATCH}; a single input is stated \
                         without a batch list)",
                        items.len()
                    )));
                }
                Ok(items.clone())
            }
        }
    }

    /// The number of inputs proven.
    pub fn batch_len(&self) -> usize {
        self.batch.as_ref().map_or(1, Vec::len)
    }

    /// Checks that the statement shows exactly what its visibilities say,
    /// for every input: values only for a public tensor, a commitment only
    /// for a committed one. Anything else would be shown as if proven while
    /// no public input binds it.
    fn check_shown(&self) -> Result<(), Error> {
        let items = self.items()?;
        let batched = items.len() > 1;
        for (i, item) in items.iter().enumerate() {
            let name = |what: &str| {
                if batched {
                    format!("{what} of batch item {i}")
                } else {
                    what.to_string()
                }
            };
            shown(
                &name("input"),
                self.input,
                item.input_values.is_some(),
                item.input_commitment.is_some(),
            )?;
            shown(
                &name("output"),
                self.output,
                item.output_values.is_some(),
                item.output_commitment.is_some(),
            )?;
        }
        Ok(())
    }

    /// The range a public output value must lie in: a class index for a
    /// model ending in an argmax, else the activation format's bound.
    fn output_range(&self) -> (i64, i64) {
        match self.model.layers.last() {
            Some(QLayer::Argmax { inputs }) => (0, *inputs as i64 - 1),
            _ => (self.model.activation.min(), self.model.activation.max()),
        }
    }

    /// The public inputs this statement implies. Public input values must lie
    /// inside the model's input format and public outputs inside the output's
    /// range: the circuit takes public values as they are, and a value outside
    /// its format would make the packing of what is computed from it (a
    /// committed output) ambiguous.
    pub fn public_inputs(&self) -> Result<Vec<Fp>, Error> {
        self.check_shown()?;
        let mut p = vec![fp_from_hex(&self.weights_commitment)
            .ok_or_else(|| bad("C_W is not a field element"))?];
        let items = self.items()?;
        let batched = items.len() > 1;
        for (n, item) in items.iter().enumerate() {
            let at = |what: String| {
                if batched {
                    format!("batch item {n}: {what}")
                } else {
                    what
                }
            };
            match self.input {
                Visibility::Public => {
                    let v = item
                        .input_values
                        .as_ref()
                        .ok_or_else(|| bad(at("public input values missing".into())))?;
                    if v.len() != self.model.input_len() {
                        return Err(bad(at("the input has the wrong length".into())));
                    }
                    let f = self.model.input;
                    for (i, x) in v.iter().enumerate() {
                        bound(
                            || at(format!("public input {i} (format {f})")),
                            *x,
                            f.min(),
                            f.max(),
                        )?;
                    }
                    p.extend(v.iter().map(|x| fp_from_i64(*x)));
                }
                Visibility::Committed => p.push(hex_fp(
                    &item.input_commitment,
                    &at("input commitment".into()),
                )?),
                Visibility::Private => {}
            }
            match self.output {
                Visibility::Public => {
                    let v = item
                        .output_values
                        .as_ref()
                        .ok_or_else(|| bad(at("public output values missing".into())))?;
                    if v.len() != self.model.output_len() {
                        return Err(bad(at("the output has the wrong length".into())));
                    }
                    let (min, max) = self.output_range();
                    for (i, y) in v.iter().enumerate() {
                        bound(|| at(format!("public output {i}")), *y, min, max)?;
                    }
                    p.extend(v.iter().map(|x| fp_from_i64(*x)));
                }
                Visibility::Committed => p.push(hex_fp(
                    &item.output_commitment,
                    &at("output commitment".into()),
                )?),
                Visibility::Private => return Err(bad("the output cannot be private")),
            }
        }
        Ok(p)
    }

    /// The circuit (without witness) the statement is proven with.
    pub fn circuit(&self) -> Result<AnyInference, Error> {
        Ok(AnyInference::batched(
            self.model.clone(),
            self.input,
            self.output,
            self.batch_len(),
            None,
        )?)
    }

    /// Wraps a proof into an envelope.
    pub fn envelope(&self, public_inputs: Vec<Fp>, proof: Vec<u8>) -> Result<Envelope, Error> {
        Ok(Envelope {
            kind: StatementKind::Inference,
            statement: self.to_bytes()?,
            public_inputs,
            proof,
        })
    }
}

/// Where verification spent its time: rebuilding verifying keys from the
/// statements' circuit descriptions, and checking the proofs against them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VerifyTiming {
    /// Seconds spent rebuilding verifying keys (one per distinct circuit).
    pub keys: f64,
    /// Seconds spent checking proofs.
    pub check: f64,
}

/// Verifies inference envelopes: statements parsed, public inputs recomputed
/// and compared, proofs of one circuit batch-verified. Returns the statements.
pub fn verify_inferences(
    cache: &ParamsCache,
    envelopes: &[Envelope],
) -> Result<Vec<InferenceStatement>, Error> {
    verify_inferences_timed(cache, envelopes, false).map(|(s, _)| s)
}

/// [`verify_inferences`], also reporting where the time went; with
/// `progress`, a spinner on standard error names each key being rebuilt.
pub fn verify_inferences_timed(
    cache: &ParamsCache,
    envelopes: &[Envelope],
    progress: bool,
) -> Result<(Vec<InferenceStatement>, VerifyTiming), Error> {
    let mut statements = Vec::with_capacity(envelopes.len());
    let mut groups: std::collections::BTreeMap<Vec<u8>, Vec<usize>> = Default::default();
    let mut publics = Vec::with_capacity(envelopes.len());
    for (i, e) in envelopes.iter().enumerate() {
        if e.kind != StatementKind::Inference {
            return Err(bad(format!("proof {i} is not an inference proof")));
        }
        let s = InferenceStatement::from_bytes(&e.statement)?;
        let p = s.public_inputs()?;
        if p != e.public_inputs {
            return Err(ProofError::Mismatch(format!(
                "proof {i}: the public inputs are not those its statement implies"
            ))
            .into());
        }
        let key = serde_json::to_vec(&(&s.model, s.input, s.output, s.batch_len()))
            .map_err(|e| bad(e.to_string()))?;
        groups.entry(key).or_default().push(i);
        publics.push(p);
        statements.push(s);
    }
    let mut timing = VerifyTiming::default();
    for members in groups.values() {
        let circuit = statements[members[0]].circuit()?;
        let k = circuit.measure()?.k;
        crate::proof::check_size(k, super::prover::INFER_MAX_K)?;
        let params = cache.get(k)?;
        let start = Instant::now();
        let bar = crate::progress::spinner(
            progress,
            format!("rebuilding the verifying key of the circuit (k = {k})"),
        );
        let vk = circuit.verifying_key(&params);
        bar.finish_and_clear();
        let vk = vk?;
        timing.keys += start.elapsed().as_secs_f64();
        let start = Instant::now();
        verify_group(&params, &vk, members, &publics, envelopes)?;
        timing.check += start.elapsed().as_secs_f64();
    }
    Ok((statements, timing))
}
