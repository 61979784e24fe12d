//! The staged inference API: load a model, generate keys once, prove many
//! inputs. Types keep the stages in order; the CLI calls exactly these.

use std::path::Path;
use std::sync::Arc;

use ff::FromUniformBytes;
use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::ProvingKey;
use halo2_proofs::poly::commitment::Params;
use zkpot_circuits::infer::{
    AnyInference, InferenceItem, InferenceWitness, QModel, QWeights, Visibility,
};

use zkpot_circuits::Fp;

use super::statement::{InferenceStatement, ShownItem};
use crate::hex::fp_to_hex;
use crate::model::ir::Preprocess;
use crate::model::{
    load_model, quantize, quantize_batch_input, Model, ModelError, QuantOptions, QuantReport,
};
use crate::params::ParamsCache;
use crate::proof::Envelope;
use crate::Error;

/// A model ready to prove with: its quantized description and weights, and the
/// salt of its weight commitment.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    /// The quantized model.
    pub model: QModel,
    /// Its weights.
    pub weights: QWeights,
    /// The salt of `C_W`.
    pub weight_salt: Fp,
    /// The quantization report (for imported float models).
    pub report: Option<QuantReport>,
    /// The preprocessing of raw inputs (an imported model's leading
    /// normalization), applied natively before quantization.
    pub preprocess: Option<Preprocess>,
    /// The label of each class index, when the model's file names them.
    pub labels: Option<Vec<String>>,
    /// What the import rewrote or left out.
    pub notes: Vec<String>,
}

/// Refuses an input whose length is not the model's.
fn check_len(expected: usize, x: &[f64]) -> Result<(), Error> {
    if x.len() != expected {
        return Err(ModelError::Shape(format!(
            "the input has {} values, the model takes {expected}",
            x.len()
        ))
        .into());
    }
    Ok(())
}

/// A salt derived from a secret and a label, for `C_W` and other commitments.
pub fn salt_from_secret(secret: &[u8; 32], label: &[u8]) -> Fp {
    let h = blake2b_simd::Params::new()
        .hash_length(64)
        .key(secret)
        .personal(b"zkpot.msalt.v1\0\0")
        .hash(label);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(h.as_bytes());
    Fp::from_uniform_bytes(&wide)
}

impl LoadedModel {
    /// Loads an ONNX or JSON model and quantizes it with formats calibrated on
    /// `calibration`. The weight salt comes from `secret`.
    pub fn load(path: &Path, calibration: &[Vec<f64>], secret: &[u8; 32]) -> Result<Self, Error> {
        Self::load_with(path, calibration, secret, QuantOptions::default())
    }

    /// [`LoadedModel::load`] with quantization options (for instance a
    /// fixed input format).
    pub fn load_with(
        path: &Path,
        calibration: &[Vec<f64>],
        secret: &[u8; 32],
        opts: QuantOptions,
    ) -> Result<Self, Error> {
        let float = load_model(path)?;
        Self::from_float(&float, calibration, secret, opts)
    }

    /// Quantizes a float model (its preprocessing applied to the
    /// calibration inputs first).
    pub fn from_float(
        float: &Model,
        calibration: &[Vec<f64>],
        secret: &[u8; 32],
        opts: QuantOptions,
    ) -> Result<Self, Error> {
        let prepared: Vec<Vec<f64>> = calibration
            .iter()
            .map(|x| check_len(float.input_len, x).map(|_| float.prepare(x)))
            .collect::<Result<_, _>>()?;
        let q = quantize(float, &prepared, opts)?;
        Ok(Self {
            model: q.model,
            weights: q.weights,
            weight_salt: salt_from_secret(secret, b"weights"),
            report: Some(q.report),
            preprocess: float.preprocess.clone(),
            labels: float.labels.clone(),
            notes: float.notes.clone(),
        })
    }

    /// A model given directly (a trained model, with its run's salt).
    pub fn from_parts(model: QModel, weights: QWeights, weight_salt: Fp) -> Self {
        Self {
            model,
            weights,
            weight_salt,
            report: None,
            preprocess: None,
            labels: None,
            notes: Vec::new(),
        }
    }

    /// A raw input as the circuit takes it, before quantization: the
    /// preprocessing applied when the model has one.
    pub fn prepare(&self, x: &[f64]) -> Result<Vec<f64>, Error> {
        check_len(self.model.input_len(), x)?;
        Ok(match &self.preprocess {
            Some(p) => p.apply(x),
            None => x.to_vec(),
        })
    }

    /// The label of class `class`, when the model names its classes.
    pub fn label(&self, class: usize) -> Option<&str> {
        self.labels.as_ref()?.get(class).map(String::as_str)
    }

    /// Generates the proving key for the given visibilities (checking the model
    /// fits a supported circuit size before any proving).
    pub fn keygen(
        self,
        cache: &ParamsCache,
        input: Visibility,
        output: Visibility,
    ) -> Result<InferenceProver, Error> {
        self.keygen_with_progress(cache, input, output, false)
    }

    /// [`Self::keygen`]; with `progress`, a spinner on standard error while
    /// the keys are generated (after the parameters are at hand, which show
    /// their own spinner if they must be generated).
    pub fn keygen_with_progress(
        self,
        cache: &ParamsCache,
        input: Visibility,
        output: Visibility,
        progress: bool,
    ) -> Result<InferenceProver, Error> {
        self.keygen_batched(cache, input, output, 1, progress)
    }

    /// Generates the proving key of a proof of `batch` inputs at once (1 to
    /// [`MAX_BATCH`](zkpot_circuits::infer::MAX_BATCH)): the weights are
    /// committed once for all of them.
    pub fn keygen_batched(
        self,
        cache: &ParamsCache,
        input: Visibility,
        output: Visibility,
        batch: usize,
        progress: bool,
    ) -> Result<InferenceProver, Error> {
        let describe = AnyInference::batched(self.model.clone(), input, output, batch, None)?;
        let k = describe.measure()?.k;
        if k > INFER_MAX_K {
            return Err(Error::Options(format!(
                "proving {batch} input(s) of this model needs a circuit of k = {k}; a prover \
                 stops at k = {INFER_MAX_K} (memory doubles with each k; k = 18 already takes over \
                 13 GiB for a large model): prove fewer inputs per proof"
            )));
        }
        let params = cache.get(k)?;
        let bar =
            crate::progress::spinner(progress, format!("generating the circuit's keys (k = {k})"));
        let pk = describe.proving_key(&params);
        bar.finish_and_clear();
        let pk = pk?;
        Ok(InferenceProver {
            loaded: self,
            input,
            output,
            batch,
            params,
            pk,
            k,
        })
    }
}

/// A model with its keys: proves inputs.
pub struct InferenceProver {
    loaded: LoadedModel,
    input: Visibility,
    output: Visibility,
    batch: usize,
    params: Arc<Params<EqAffine>>,
    pk: ProvingKey<EqAffine>,
    k: u32,
}

/// One proven inference: its output and the salts of its commitments.
#[derive(Clone, Debug)]
pub struct ProvenInference {
    /// The quantized output (logits, or the class of a final argmax).
    pub output: Vec<i64>,
    /// The proven class: a final argmax's output, else the index of the
    /// largest logit.
    pub class: usize,
    /// Salt of the input commitment (keep it to open the commitment later).
    pub input_salt: Fp,
    /// Salt of the output commitment.
    pub output_salt: Fp,
}

/// The largest circuit an inference prover builds: memory grows as `2^k`
/// times the columns (16 inputs of the 784-128-10 MLP in the one-lane
/// layout took `k = 18` and 13.4 GiB peak; the batched layout proves them at
/// `k = 15`), so a larger batch is refused before any key instead of
/// exhausting memory.
pub const INFER_MAX_K: u32 = 18;

/// What a proof produced: the envelope, and each input's output and private
/// openings, in the order of the inputs.
#[derive(Clone, Debug)]
pub struct InferenceProof {
    /// The proof bytes to publish.
    pub envelope: Envelope,
    /// One entry per input.
    pub items: Vec<ProvenInference>,
}

impl InferenceProof {
    /// The first input's result (the only one of a single inference).
    pub fn first(&self) -> Result<&ProvenInference, Error> {
        self.items
            .first()
            .ok_or(Error::Internal("a proof without inputs"))
    }
}

impl InferenceProver {
    /// The circuit size.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// The number of inputs each proof takes.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The loaded model.
    pub fn model(&self) -> &LoadedModel {
        &self.loaded
    }

    /// Proves one real-valued input (quantized to the model's input format).
    pub fn prove(&self, input: &[f64]) -> Result<InferenceProof, Error> {
        self.prove_batch(&[input.to_vec()])
    }

    /// Proves real-valued inputs, as many as the keys were made for, in one
    /// proof.
    pub fn prove_batch(&self, inputs: &[Vec<f64>]) -> Result<InferenceProof, Error> {
        let q = inputs
            .iter()
            .enumerate()
            .map(|(k, x)| {
                let batch = (inputs.len() > 1).then_some(k);
                quantize_batch_input(&self.loaded.model, &self.loaded.prepare(x)?, batch)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.prove_quantized_batch(q)
    }

    /// Proves one already quantized input.
    pub fn prove_quantized(&self, input: Vec<i64>) -> Result<InferenceProof, Error> {
        self.prove_quantized_batch(vec![input])
    }

    /// Proves already quantized inputs, as many as the keys were made for,
    /// in one proof.
    pub fn prove_quantized_batch(&self, inputs: Vec<Vec<i64>>) -> Result<InferenceProof, Error> {
        if inputs.len() != self.batch {
            return Err(Error::Options(format!(
                "{} inputs for keys made for {}",
                inputs.len(),
                self.batch
            )));
        }
        let salt = |label: &[u8]| salt_from_secret(&crate::data::random_bytes32(), label);
        let items: Vec<InferenceItem> = inputs
            .into_iter()
            .map(|input| InferenceItem {
                input,
                input_salt: salt(b"input"),
                output_salt: salt(b"output"),
            })
            .collect();
        let witness = InferenceWitness {
            weights: self.loaded.weights.clone(),
            weight_salt: self.loaded.weight_salt,
            items: items.clone(),
        };
        let circuit = AnyInference::batched(
            self.loaded.model.clone(),
            self.input,
            self.output,
            self.batch,
            Some(witness),
        )?;
        let (public, outputs) = circuit.public_inputs()?;
        let shown = shown_items(self.input, self.output, &items, &outputs, &public);
        let (first, batch) = if shown.len() == 1 {
            (shown.into_iter().next().unwrap_or_default(), None)
        } else {
            (ShownItem::default(), Some(shown))
        };
        let statement = InferenceStatement {
            model: self.loaded.model.clone(),
            input: self.input,
            output: self.output,
            weights_commitment: fp_to_hex(&public[0]),
            input_values: first.input_values,
            input_commitment: first.input_commitment,
            output_values: first.output_values,
            output_commitment: first.output_commitment,
            batch,
            preprocess: self.loaded.preprocess.clone(),
            labels: self
                .loaded
                .labels
                .clone()
                .filter(|_| self.loaded.model.ends_in_argmax()),
        };
        if statement.public_inputs()? != public {
            return Err(Error::Internal(
                "statement and circuit disagree on the public inputs",
            ));
        }
        let proof = circuit.prove(&self.params, &self.pk, &public)?;
        let argmax = self.loaded.model.ends_in_argmax();
        let items = items
            .iter()
            .zip(outputs)
            .map(|(item, output)| ProvenInference {
                class: if argmax {
                    output.first().map_or(0, |c| *c as usize)
                } else {
                    crate::model::quantize::argmax(
                        &output.iter().map(|v| *v as f64).collect::<Vec<_>>(),
                    )
                },
                output,
                input_salt: item.input_salt,
                output_salt: item.output_salt,
            })
            .collect();
        Ok(InferenceProof {
            envelope: statement.envelope(public, proof)?,
            items,
        })
    }
}

/// What the statement shows of each item, read off the public inputs the
/// circuit computed (`C_W` first, then each item's input and output).
fn shown_items(
    input: Visibility,
    output: Visibility,
    items: &[InferenceItem],
    outputs: &[Vec<i64>],
    public: &[Fp],
) -> Vec<ShownItem> {
    let mut at = 1;
    items
        .iter()
        .zip(outputs)
        .map(|(item, y)| {
            let mut shown = ShownItem::default();
            match input {
                Visibility::Public => {
                    shown.input_values = Some(item.input.clone());
                    at += item.input.len();
                }
                Visibility::Committed => {
                    shown.input_commitment = public.get(at).map(fp_to_hex);
                    at += 1;
                }
                Visibility::Private => {}
            }
            match output {
                Visibility::Public => {
                    shown.output_values = Some(y.clone());
                    at += y.len();
                }
                _ => {
                    shown.output_commitment = public.get(at).map(fp_to_hex);
                    at += 1;
                }
            }
            shown
        })
        .collect()
}

/// Reads a 32-byte secret file, or creates one (mode 0600) if it is missing.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32], Error> {
    let (s, fresh) = read_or_draw_secret(path)?;
    if fresh {
        write_secret(path, &s)?;
    }
    Ok(s)
}

/// Reads a 32-byte secret file, or draws a fresh secret when the file does
/// not exist; the flag says it is fresh, to be written with
/// [`write_secret`] once the work it salts has succeeded (so a failed
/// command leaves no new file behind).
pub fn read_or_draw_secret(path: &Path) -> Result<([u8; 32], bool), Error> {
    match std::fs::read(path) {
        Ok(b) => b.as_slice().try_into().map(|s| (s, false)).map_err(|_| {
            Error::Options(format!(
                "{}: a secret file holds exactly 32 bytes",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((crate::data::random_bytes32(), true))
        }
        Err(e) => Err(Error::Options(format!("{}: {e}", path.display()))),
    }
}

/// Writes a secret file (mode 0600), refusing to replace an existing one.
pub fn write_secret(path: &Path, secret: &[u8; 32]) -> Result<(), Error> {
    if path.exists() {
        return Err(Error::Options(format!(
            "{} appeared meanwhile; it was not replaced",
            path.display()
        )));
    }
    crate::files::write_private(path, secret)
        .map_err(|e| Error::Options(format!("{}: {e}", path.display())))
}
