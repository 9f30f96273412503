use super::*;

#[test]
fn run_ids_count_per_kind_and_activation_has_one() {
    let mut state = State::new("c");
    assert_eq!(state.next_run_id(Kind::Drill), "drill-1");
    state.runs.push(Run {
        id: "drill-1".into(),
        kind: Kind::Drill,
        plan_sha256: "x".into(),
        started: "t".into(),
        steps_done: vec![],
        closed: true,
    });
    assert_eq!(state.next_run_id(Kind::Drill), "drill-2");
    assert_eq!(state.next_run_id(Kind::Activate), "activate");
    assert_eq!(
        state.latest(Kind::Drill).map(|r| r.id.as_str()),
        Some("drill-1")
    );
}

#[test]
fn the_state_round_trips_and_belongs_to_one_ceremony() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = State::new("prod");
    state.current_sd = Some(SdRecord {
        path: "sd/security-domain.json".into(),
        sha256: "ab".into(),
        custodians: vec!["alice".into()],
        quorum: 2,
        retired: None,
    });
    state.save(dir.path()).unwrap();
    let back = State::load(dir.path(), "prod").unwrap();
    assert_eq!(back.current_sd, state.current_sd);
    let other = State::load(dir.path(), "test").unwrap_err().to_string();
    assert!(other.contains("belongs to ceremony 'prod'"), "{other}");
    std::fs::write(dir.path().join(STATE_FILE), "{").unwrap();
    let broken = State::load(dir.path(), "prod").unwrap_err().to_string();
    assert!(broken.contains("not a ceremony state file"), "{broken}");
}
