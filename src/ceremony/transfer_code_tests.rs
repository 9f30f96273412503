use super::*;

fn binding<'a>(run: &'a str) -> Binding<'a> {
    Binding {
        ceremony: "c",
        run,
        plan_sha256: "00",
    }
}

#[test]
fn a_generated_code_reads_back_as_typed_by_a_person() {
    let code = TransferCode::generate().unwrap();
    let shown = code.grouped();
    assert_eq!(shown.len(), 6 * 4 + 5, "{}", shown.as_str());
    assert_eq!(TransferCode::parse(&shown).unwrap(), code);
    let sloppy = shown.to_lowercase().replace(' ', "-");
    assert_eq!(TransferCode::parse(&sloppy).unwrap(), code);
    let squashed: String = shown.chars().filter(|c| *c != ' ').collect();
    let with_o = squashed.replace('0', "O").replace('1', "l");
    assert_eq!(TransferCode::parse(&with_o).unwrap(), code);
    assert_ne!(TransferCode::generate().unwrap(), code);
}

#[test]
fn a_mistyped_character_is_caught_by_the_check_group() {
    let code = TransferCode::generate().unwrap();
    let shown: Vec<char> = code.grouped().chars().collect();
    let mut caught = 0;
    for i in (0..shown.len()).filter(|&i| shown[i] != ' ') {
        let mut typed = shown.clone();
        typed[i] = if typed[i] == 'A' { 'B' } else { 'A' };
        let text: String = typed.into_iter().collect();
        if TransferCode::parse(&text).is_err() {
            caught += 1;
        }
    }
    // 20 bits of check: a single changed character is missed with probability ~2^-20.
    assert!(caught >= 23, "caught {caught} of 24");
}

#[test]
fn malformed_codes_are_refused_with_what_is_wrong() {
    for (text, says) in [
        ("", "24 characters"),
        ("ABCD", "24 characters"),
        ("ABCD EFGH JKMN PQRS TVWX YZ0U", "not one of them"),
        ("ABCD EFGH JKMN PQRS TVWX YZ0é", "not one of them"),
    ] {
        let e = TransferCode::parse(text).unwrap_err().to_string();
        assert!(e.contains(says), "{text}: {e}");
    }
}

#[test]
fn the_bundle_key_depends_on_the_code_the_run_and_the_plan() {
    let code = TransferCode::generate().unwrap();
    let other = TransferCode::generate().unwrap();
    let tag = code.bundle_key(&binding("r1")).unwrap().mac(b"m").unwrap();
    assert_eq!(tag.len(), 64);
    let key = code.bundle_key(&binding("r1")).unwrap();
    assert!(key.verify(b"m", &tag).unwrap());
    assert!(!key.verify(b"n", &tag).unwrap());
    assert!(!key.verify(b"m", &tag[..63]).unwrap());
    let again = code.bundle_key(&binding("r2")).unwrap();
    assert!(!again.verify(b"m", &tag).unwrap(), "another run");
    let plan = Binding {
        plan_sha256: "01",
        ..binding("r1")
    };
    assert!(!code.bundle_key(&plan).unwrap().verify(b"m", &tag).unwrap());
    assert!(!other
        .bundle_key(&binding("r1"))
        .unwrap()
        .verify(b"m", &tag)
        .unwrap());
}

#[test]
fn a_code_file_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code");
    let code = TransferCode::generate().unwrap();
    code.write_file(&path, false).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(TransferCode::read_file(&path).unwrap(), code);
    assert!(code.write_file(&path, false).is_err(), "never overwritten");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let e = TransferCode::read_file(&path).unwrap_err();
    assert!(e.to_string().contains("chmod 600"), "{e}");
    assert_eq!(e.exit_code(), ExitCode::BadInput);
    std::fs::write(&path, "not a code\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let e = TransferCode::read_file(&path).unwrap_err().to_string();
    assert!(e.starts_with(&path.display().to_string()), "{e}");
}

#[test]
fn the_code_is_never_in_debug_output() {
    let code = TransferCode::generate().unwrap();
    let text = format!("{code:?}");
    assert!(!text.contains(&code.grouped()[..4]), "{text}");
}
