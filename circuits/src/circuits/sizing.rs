//! Circuit size limits.

/// The largest `k` zkpot proves at.
pub const MAX_K: u32 = 22;
