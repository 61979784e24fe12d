//! Proving a run's groups elsewhere: a run trained with `prove_later` is
//! proved group by group through self-contained tasks, and the proofs that
//! come back are verified before they are installed.

mod common;

use common::{commit_iris, options};
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;
use zkpot::train::run::{
    group_task, install_proofs, pending_groups, train, verify_run, GroupTask, RunFile, TaskProver,
    TrainOptions,
};

#[test]
fn groups_are_proved_as_tasks_and_checked_before_install() {
    let cache = ParamsCache::locate(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = commit_iris(dir.path());
    let run_dir = dir.path().join("run");
    let t = TrainOptions {
        prove_later: true,
        ..options(&data)
    };
    let report = train(&cache, &run_dir, &t).unwrap();
    assert_eq!(report.proved, 0, "prove_later trains without proving");
    assert_eq!(pending_groups(&run_dir).unwrap(), vec![0, 1, 2]);
    assert!(
        verify_run(&cache, &run_dir).is_err(),
        "an unproved run fails"
    );

    // A task survives its byte form, and other formats are refused.
    let task = group_task(&run_dir, 1).unwrap();
    let bytes = task.to_bytes().unwrap();
    assert_eq!(GroupTask::from_bytes(&bytes).unwrap(), task);
    let err = GroupTask::from_bytes(b"{\"format\":\"other\"}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("zkpot-group-task"), "{err}");
    let newer = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("\"version\":1", "\"version\":99");
    let err = GroupTask::from_bytes(newer.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 99"), "{err}");
    assert!(group_task(&run_dir, 3).is_err(), "group out of range");

    let prover = TaskProver::new(ParamsCache::locate(None).unwrap());
    // A task whose weights, rows or salts were changed is refused before proving.
    let mut weights = task.clone();
    weights.params.layers[0][0] += 1;
    let err = prover.prove(&weights).unwrap_err().to_string();
    assert!(err.contains("do not give the statement"), "{err}");
    let mut row = task.clone();
    row.openings[0].values[0] += 1;
    assert!(prover.prove(&row).is_err(), "a changed row is refused");
    let mut later = task.clone();
    later.openings[1].salt = task.openings[0].salt.clone();
    let err = prover.prove(&later).unwrap_err().to_string();
    assert!(err.contains("do not give the statement"), "{err}");
    let mut huge = task.clone();
    huge.params.layers[0][0] = i64::MIN;
    let err = prover.prove(&huge).unwrap_err().to_string();
    assert!(err.contains("outside 16 bits"), "{err}");
    let mut label = task.clone();
    *label.openings[0].values.last_mut().unwrap() = 7;
    let err = prover.prove(&label).unwrap_err().to_string();
    assert!(err.contains("label 7"), "{err}");
    let mut salt = task.clone();
    salt.salt_out = task.salt_in.clone();
    assert!(prover.prove(&salt).is_err(), "a changed salt is refused");

    let mut short = task.clone();
    short.openings[1].siblings.pop();
    let err = prover.prove(&short).unwrap_err().to_string();
    assert!(err.contains("opening 1 has"), "{err}");
    let mut layers = task.clone();
    let w = layers.params.layers[1].pop().unwrap();
    layers.params.layers[0].push(w);
    let err = prover.prove(&layers).unwrap_err().to_string();
    assert!(err.contains("layer sizes"), "{err}");

    let proof1 = prover.prove(&task).unwrap();
    // A proof offered for the wrong group, or a tampered one, is not installed.
    let err = install_proofs(&cache, &run_dir, &[(0, proof1.clone())])
        .unwrap_err()
        .to_string();
    assert!(err.contains("another statement"), "{err}");
    let mut e = Envelope::from_bytes(&proof1).unwrap();
    let n = e.proof.len();
    e.proof[n / 2] ^= 1;
    assert!(install_proofs(&cache, &run_dir, &[(1, e.to_bytes())]).is_err());
    assert_eq!(pending_groups(&run_dir).unwrap(), vec![0, 1, 2]);

    install_proofs(&cache, &run_dir, &[(1, proof1.clone())]).unwrap();
    install_proofs(&cache, &run_dir, &[(1, proof1)]).unwrap();
    assert_eq!(pending_groups(&run_dir).unwrap(), vec![0, 2]);

    let rest: Vec<(u64, Vec<u8>)> = pending_groups(&run_dir)
        .unwrap()
        .into_iter()
        .map(|g| {
            let task = GroupTask::from_bytes(&group_task(&run_dir, g).unwrap().to_bytes().unwrap())
                .unwrap();
            (g, prover.prove(&task).unwrap())
        })
        .collect();
    install_proofs(&cache, &run_dir, &rest).unwrap();
    assert!(pending_groups(&run_dir).unwrap().is_empty());
    verify_run(&cache, &run_dir).unwrap();

    // Training again in the same directory finds every proof in place.
    let again = train(&cache, &run_dir, &options(&data)).unwrap();
    assert_eq!(again.proved, 0);
    let run = RunFile::read(&run_dir.join("run.json")).unwrap();
    assert_eq!(run.groups(), 3);
}
