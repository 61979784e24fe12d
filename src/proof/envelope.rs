//! The versioned proof envelope: the bytes a prover publishes and a verifier
//! checks, documented byte by byte in `docs/PROOF_FORMAT.md`.
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `ZKPOTPRF` |
//! | 2 | format version, `u16` LE (4) |
//! | 1 | statement kind (1 inference, 2 training step, 3 row membership, 4 evaluation) |
//! | 4 | statement length `S`, `u32` LE |
//! | S | statement: UTF-8 JSON, the canonical public statement |
//! | 4 | public input count `N`, `u32` LE |
//! | 32 N | public inputs, each a canonical field element, 32 bytes LE |
//! | 4 | proof length `P`, `u32` LE |
//! | P | the halo2 proof (Blake2b transcript over Vesta IPA) |
//!
//! Nothing may follow. Parsing checks every length against the bytes left and
//! against fixed limits before allocating, so any input is refused with an
//! error, never a panic.

use ff::PrimeField;
use zkpot_circuits::Fp;

use super::ProofError;

/// The magic bytes every envelope starts with.
pub const MAGIC: [u8; 8] = *b"ZKPOTPRF";
/// The envelope format version this build writes and reads.
pub const ENVELOPE_VERSION: u16 = 6;

const MAX_STATEMENT: u64 = 16 << 20;
const MAX_PUBLIC: u64 = 1 << 20;
const MAX_PROOF: u64 = 64 << 20;
/// The largest proof file any envelope can be: every part at its bound.
pub const MAX_ENVELOPE_FILE: u64 = 64 + MAX_STATEMENT + 32 * MAX_PUBLIC + MAX_PROOF;

/// What an envelope proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// An output of a committed model on an input.
    Inference = 1,
    /// Consecutive SGD steps of a training run.
    TrainingStep = 2,
    /// A row's membership in a committed dataset.
    Membership = 3,
    /// A committed model's confusion counts on committed rows.
    Evaluation = 4,
}

impl StatementKind {
    fn from_byte(b: u8) -> Result<Self, ProofError> {
        match b {
            1 => Ok(StatementKind::Inference),
            2 => Ok(StatementKind::TrainingStep),
            3 => Ok(StatementKind::Membership),
            4 => Ok(StatementKind::Evaluation),
            other => Err(ProofError::UnknownKind(other)),
        }
    }
}

/// A proof with its statement and public inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// What is proven.
    pub kind: StatementKind,
    /// The canonical statement (JSON).
    pub statement: Vec<u8>,
    /// The public inputs the proof was made for.
    pub public_inputs: Vec<Fp>,
    /// The halo2 proof.
    pub proof: Vec<u8>,
}

impl Envelope {
    /// Serializes the envelope.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            19 + self.statement.len() + 32 * self.public_inputs.len() + self.proof.len(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&ENVELOPE_VERSION.to_le_bytes());
        out.push(self.kind as u8);
        out.extend_from_slice(&(self.statement.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.statement);
        out.extend_from_slice(&(self.public_inputs.len() as u32).to_le_bytes());
        for p in &self.public_inputs {
            out.extend_from_slice(p.to_repr().as_ref());
        }
        out.extend_from_slice(&(self.proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.proof);
        out
    }

    /// Parses an envelope, refusing anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        let mut r = Reader { bytes, at: 0 };
        // Another file is not a proof, whatever its length; a cut-off proof
        // is truncated.
        if !bytes.starts_with(&MAGIC) && (bytes.is_empty() || !MAGIC.starts_with(bytes)) {
            return Err(ProofError::BadMagic);
        }
        if r.take(8, "magic")? != MAGIC {
            return Err(ProofError::BadMagic);
        }
        let version = u16::from_le_bytes([r.byte("version")?, r.byte("version")?]);
        if version != ENVELOPE_VERSION {
            return Err(ProofError::Version {
                found: version,
                expected: ENVELOPE_VERSION,
            });
        }
        let kind = StatementKind::from_byte(r.byte("statement kind")?)?;
        let s_len = r.len("statement", MAX_STATEMENT, 1)?;
        let statement = r.take(s_len, "statement")?.to_vec();
        let n = r.len("public inputs", MAX_PUBLIC, 32)?;
        let mut public_inputs = Vec::with_capacity(n);
        for index in 0..n {
            let mut repr = [0u8; 32];
            repr.copy_from_slice(r.take(32, "public input")?);
            let f: Option<Fp> = Fp::from_repr(repr).into();
            public_inputs.push(f.ok_or(ProofError::NonCanonical { index })?);
        }
        let p_len = r.len("proof", MAX_PROOF, 1)?;
        let proof = r.take(p_len, "proof")?.to_vec();
        if r.at != bytes.len() {
            return Err(ProofError::TrailingBytes(bytes.len() - r.at));
        }
        Ok(Self {
            kind,
            statement,
            public_inputs,
            proof,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ProofError> {
        let available = self.bytes.len() - self.at;
        if n > available {
            return Err(ProofError::Truncated {
                what,
                needed: n,
                at: self.at,
                available,
            });
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, ProofError> {
        Ok(self.take(1, what)?[0])
    }

    /// A `u32` length (of items of `unit` bytes) checked against `limit` and
    /// against the bytes left.
    fn len(&mut self, what: &'static str, limit: u64, unit: usize) -> Result<usize, ProofError> {
        let b = self.take(4, what)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        if n > limit {
            return Err(ProofError::TooLarge {
                what,
                len: n,
                limit,
            });
        }
        let bytes = n as usize * unit;
        let available = self.bytes.len() - self.at;
        if bytes > available {
            return Err(ProofError::Truncated {
                what,
                needed: bytes,
                at: self.at,
                available,
            });
        }
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Envelope {
        Envelope {
            kind: StatementKind::TrainingStep,
            statement: br#"{"a":1}"#.to_vec(),
            public_inputs: vec![Fp::from(1), -Fp::from(2)],
            proof: vec![7; 100],
        }
    }

    #[test]
    fn roundtrip() {
        let e = sample();
        assert_eq!(Envelope::from_bytes(&e.to_bytes()), Ok(e));
    }

    #[test]
    fn refusals() {
        let b = sample().to_bytes();
        assert_eq!(
            Envelope::from_bytes(&b[..3])
                .err()
                .map(|e| matches!(e, ProofError::Truncated { .. })),
            Some(true)
        );
        // Earlier versions (1, and 2 before statements bound their dataset
        // metadata) are refused by version, never misread.
        for old in [1u8, 2] {
            let mut v = b.clone();
            v[8] = old;
            assert_eq!(
                Envelope::from_bytes(&v),
                Err(ProofError::Version {
                    found: old.into(),
                    expected: ENVELOPE_VERSION
                })
            );
        }
        let mut v = b.clone();
        v[8] = 1;
        assert_eq!(
            Envelope::from_bytes(&v),
            Err(ProofError::Version {
                found: 1,
                expected: ENVELOPE_VERSION
            })
        );
        let mut k = b.clone();
        k[10] = 9;
        assert_eq!(Envelope::from_bytes(&k), Err(ProofError::UnknownKind(9)));
        let mut m = b.clone();
        m[0] = b'X';
        assert_eq!(Envelope::from_bytes(&m), Err(ProofError::BadMagic));
        let mut t = b.clone();
        t.push(0);
        assert_eq!(Envelope::from_bytes(&t), Err(ProofError::TrailingBytes(1)));
        assert!(Envelope::from_bytes(&b[..b.len() - 1]).is_err());
        // A public input equal to the modulus is not canonical.
        let mut nc = b.clone();
        let at = 8 + 2 + 1 + 4 + 7 + 4;
        nc[at..at + 32].copy_from_slice(&[0xff; 32]);
        assert_eq!(
            Envelope::from_bytes(&nc),
            Err(ProofError::NonCanonical { index: 0 })
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = Envelope::from_bytes(&bytes);
        }

        #[test]
        fn mutated_envelopes_never_panic(pos in 0usize..200, val in any::<u8>(), cut in 0usize..200) {
            let mut b = sample().to_bytes();
            let n = b.len();
            b[pos % n] = val;
            b.truncate(n - cut % n);
            let _ = Envelope::from_bytes(&b);
        }
    }
}
