//! Writing and verifying release folders.

use std::path::Path;

use zkpot::params::ParamsCache;

pub(crate) fn release(
    cache: &ParamsCache,
    run: &Path,
    eval: Option<&Path>,
    out: &Path,
    name: Option<String>,
) -> Result<(), zkpot::Error> {
    let r = zkpot::release::write_release(
        cache,
        run,
        eval,
        out,
        &zkpot::release::ReleaseOptions { name },
    )?;
    say!(
        "release {} written to {} ({} files): run verified ({} proofs){}",
        r.name,
        r.dir.display(),
        r.files,
        r.run.proofs,
        match &r.eval {
            Some(e) => format!(
                ", held-out accuracy {:.2}% ({} of {} rows) verified",
                100.0 * e.accuracy,
                e.correct,
                e.rows
            ),
            None => String::new(),
        }
    );
    say!("verify with `zkpot verify {}`", out.display());
    Ok(())
}

pub(crate) fn print_release(v: &zkpot::release::ReleaseVerdict, published: bool) {
    let r = &v.run;
    say!(
        "VALID release {}: {} files match the attestation, every proof verified",
        v.name,
        v.files
    );
    say!(
        "  dataset root     {} ({} rows){}",
        r.dataset_root,
        r.n_rows,
        if published {
            ", the given commitment"
        } else {
            ": compare it with the published commitment, or pass --dataset"
        }
    );
    say!(
        "  training         {}, {} proven steps, lr {}, batch {}, {} rows held out",
        r.spec.arch(),
        r.steps,
        r.spec.lr(),
        r.spec.batch,
        r.holdout
    );
    say!(
        "  beacon           {}{}",
        r.beacon,
        if r.beacon_derived {
            " (derived from the commitments: grindable)"
        } else {
            ""
        }
    );
    match &v.eval {
        Some(e) => say!(
            "  held-out         {:.2}% ({} of {} rows correct, {} proofs)",
            100.0 * e.accuracy,
            e.correct,
            e.rows,
            e.proofs
        ),
        None => say!("  held-out         no evaluation in this release"),
    }
    say!(
        "  model            {}{}",
        r.final_commitment,
        if v.weights_released {
            " (weights released: run/model.json opens it)"
        } else {
            " (weights private)"
        }
    );
    say!("  documents        README.md, plots and attestation say exactly what is verified");
    if v.signatures > 0 {
        say!(
            "  signatures/      {} file(s), not checked by zkpot (verify them with their tool)",
            v.signatures
        );
    }
}
