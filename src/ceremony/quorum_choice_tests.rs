use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn names_are_split_at_commas_and_trimmed() {
    assert_eq!(parse(" alice ,carol,, "), names(&["alice", "carol"]));
    assert!(parse(" , ").is_empty());
}

#[test]
fn a_quorum_of_known_distinct_custodians_passes() {
    let all = names(&["alice", "bob", "carol"]);
    assert_eq!(check(&names(&["carol", "alice"]), &all, 2), Ok(()));
    assert_eq!(check(&all, &all, 2), Ok(()));
}

#[test]
fn an_unknown_name_a_repeated_one_or_too_few_are_refused() {
    let all = names(&["alice", "bob", "carol"]);
    let unknown = check(&names(&["alice", "dave"]), &all, 2).unwrap_err();
    assert!(unknown.contains("'dave' is not a custodian"), "{unknown}");
    let twice = check(&names(&["alice", "alice"]), &all, 2).unwrap_err();
    assert!(twice.contains("'alice' is named twice"), "{twice}");
    let few = check(&names(&["bob"]), &all, 2).unwrap_err();
    assert!(few.contains("the quorum is 2"), "{few}");
    // Case matters: names are the plan's, exactly.
    assert!(check(&names(&["Alice", "bob"]), &all, 2).is_err());
}

#[test]
fn a_choice_records_whether_it_differs_from_the_plan() {
    let default = names(&["alice", "bob"]);
    let same = Choice::new(names(&["bob", "alice"]), &default, "answered at the step");
    assert!(!same.substitutes);
    let other = Choice::new(names(&["alice", "carol"]), &default, "--quorum-custodians");
    assert!(other.substitutes);
    let done = other.record(Done::new("x"));
    assert_eq!(done.facts["quorum_chosen"], json!(["alice", "carol"]));
    assert_eq!(done.facts["substitutes"], json!(true));
    assert_eq!(done.facts["quorum_chosen_by"], json!("--quorum-custodians"));
}
