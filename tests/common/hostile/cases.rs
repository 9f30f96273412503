//! The rows the tables share. A [`Cmd`] is one sdctl command line under attack with its
//! valid files; its methods give the rows for one of its file arguments: the generic
//! hostile inputs for a [`Kind`] of file, and the semantic rows of security domains, keys,
//! passphrase files and exchange keys.

use serde_json::{json, Value};

use super::fixture::{with, Library, BOB_PASSPHRASE, CUSTODIANS};
use super::{words, Case, Files, Input};

/// What a file argument holds, and the phrases an error about its content may use.
#[derive(Clone, Copy)]
pub struct Kind {
    /// JSON is expected: deep nesting applies.
    pub json: bool,
    /// TOML is expected: deep TOML applies.
    pub toml: bool,
    /// Text is expected: bytes that are not UTF-8 apply.
    pub text: bool,
    /// Phrases of an error about an empty file.
    pub empty: &'static [&'static str],
    /// Phrases of an error about unusable content.
    pub garbage: &'static [&'static str],
    /// Exit code for unusable content: 2, or 1 where the file is checked (transcripts).
    pub garbage_code: i32,
}

impl Kind {
    pub const fn binary(garbage: &'static [&'static str]) -> Kind {
        Kind {
            json: false,
            toml: false,
            text: false,
            empty: &["file is empty"],
            garbage,
            garbage_code: 2,
        }
    }
}

/// Keys and certificates (PEM or DER).
pub const KEY: Kind = Kind::binary(&[
    "not a key or certificate",
    "truncated PEM",
    "malformed",
    "invalid",
    "holds no",
]);
/// Security-domain files.
pub const SD: Kind = Kind {
    json: true,
    ..Kind::binary(&["not valid JSON", "truncated JSON", "nested too deeply"])
};
/// Exchange keys: a certificate, a public key or JSON.
pub const EXCHANGE: Kind = Kind {
    json: true,
    ..Kind::binary(&[
        "not a key or certificate",
        "truncated PEM",
        "not valid JSON",
        "holds no certificate",
        "not a JWK",
    ])
};
/// Share exports (compact JWE text).
pub const EXPORT: Kind = Kind {
    text: true,
    ..Kind::binary(&["not a share export", "not text"])
};
/// Key shares (binary, text typed back, QR payload, sealed JWE).
pub const SHARE: Kind = Kind {
    text: true,
    ..Kind::binary(&[
        "neither a binary share nor text",
        "malformed",
        "truncated",
        "line",
        "not a valid",
    ])
};
/// JSON documents of the online commands (restore blob, role definition).
pub const JSON_FILE: Kind = Kind {
    json: true,
    ..Kind::binary(&[
        "not valid JSON",
        "not a restore blob",
        "not a JSON role definition",
        "expected value",
        "EOF",
    ])
};
/// One-line text files of the online commands (tokens, CA certificates).
#[cfg(feature = "online")]
pub const TEXT_FILE: Kind = Kind {
    text: true,
    ..Kind::binary(&["not UTF-8", "no PEM certificate", "not a readable PEM"])
};
/// Ceremony plans (TOML).
pub const PLAN_FILE: Kind = Kind {
    toml: true,
    text: true,
    ..Kind::binary(&[
        "not UTF-8",
        "TOML",
        "expected",
        "invalid",
        "missing",
        "unknown",
    ])
};
/// Passphrase files: `pass.txt`, one line per key.
pub const PASS: Kind = Kind {
    text: true,
    empty: &["has 0 line(s)"],
    ..Kind::binary(&["not UTF-8"])
};

/// A change to one generic row: its [`Input::label`], and `None` to leave it out or the
/// exit code and problem phrases to expect instead.
pub type Change<'a> = (&'a str, Option<(i32, &'a [&'a str])>);

/// One sdctl command line under attack, with the valid files it reads.
#[derive(Clone)]
pub struct Cmd {
    /// How its rows are named.
    pub name: String,
    /// The command line (paths relative to the case directory, no spaces inside).
    pub line: String,
    /// The valid files.
    pub files: Files,
}

/// A [`Cmd`].
pub fn cmd(name: &str, line: &str, files: &Files) -> Cmd {
    Cmd {
        name: name.to_owned(),
        line: line.to_owned(),
        files: files.clone(),
    }
}

impl Cmd {
    /// The same command with `extra` files added or replaced.
    pub fn with_files(&self, extra: &[(&str, Vec<u8>)]) -> Cmd {
        Cmd {
            files: with(&self.files, extra),
            ..self.clone()
        }
    }

    /// The command as it is must succeed (a boundary that is allowed).
    pub fn succeed(&self, what: &str) -> Case {
        Case::succeed(
            format!("{} {what}", self.name),
            words(&self.line),
            &self.files,
        )
    }

    /// The command as it is must fail with `code`, naming `names` and one of `problem`
    /// (a bad flag value, standard input: no file is at fault).
    pub fn refuse(&self, what: &str, code: i32, names: &[&str], problem: &[&str]) -> Case {
        Case::fail(
            format!("{} {what}", self.name),
            words(&self.line),
            &self.files,
            "",
            Input::AsIs,
            code,
            problem,
        )
        .naming(names)
    }

    /// `bytes` at `target` must fail with `code`, naming `target` and one of `problem`.
    pub fn content(
        &self,
        target: &str,
        what: &str,
        bytes: Vec<u8>,
        code: i32,
        problem: &[&str],
    ) -> Case {
        Case::fail(
            format!("{} <{target}> {what}", self.name),
            words(&self.line),
            &self.files,
            target,
            Input::Content(bytes),
            code,
            problem,
        )
    }

    /// The generic hostile inputs at `target`, with the codes and phrases of `kind`:
    /// empty, truncated, random, 100 MB, directory, links, unreadable; deep nesting for
    /// JSON and TOML, bytes that are not UTF-8 for text.
    pub fn generic(&self, target: &str, kind: Kind) -> Vec<Case> {
        let nested: &[&str] = &["nested too deeply", "recursion limit"];
        let mut rows: Vec<(Input, i32, Vec<&str>)> = vec![
            (Input::Empty, 2, kind.empty.to_vec()),
            (Input::Truncated, kind.garbage_code, kind.garbage.to_vec()),
            (Input::Random, kind.garbage_code, kind.garbage.to_vec()),
            (Input::Huge, 2, vec!["is larger than"]),
            (Input::Directory, 2, vec!["is a directory"]),
            (Input::LinkToDirectory, 2, vec!["is a directory"]),
            (Input::DanglingLink, 2, vec!["No such file"]),
            (Input::Unreadable, 2, vec!["Permission denied"]),
        ];
        if kind.json || kind.toml {
            let problem = [nested, kind.garbage].concat();
            rows.push((Input::DeepJson, kind.garbage_code, problem));
        }
        if kind.toml {
            rows.push((Input::DeepToml, 2, [nested, kind.garbage].concat()));
        }
        if kind.text {
            let problem = [&["UTF-8"], kind.garbage].concat();
            rows.push((Input::NonUtf8, kind.garbage_code, problem));
        }
        rows.into_iter()
            .map(|(input, code, problem)| {
                let name = format!("{} <{target}>", self.name);
                Case::fail(
                    name,
                    words(&self.line),
                    &self.files,
                    target,
                    input,
                    code,
                    &problem,
                )
            })
            .collect()
    }

    /// [`Cmd::generic`] with some rows changed: `(label, None)` leaves the row out,
    /// `(label, Some((code, problem)))` expects that instead (labels of [`Input::label`]).
    pub fn generic_but(&self, target: &str, kind: Kind, changes: &[Change<'_>]) -> Vec<Case> {
        self.generic(target, kind)
            .into_iter()
            .filter_map(
                |case| match changes.iter().find(|(l, _)| *l == case.input.label()) {
                    None => Some(case),
                    Some((_, None)) => None,
                    Some((_, Some((code, problem)))) => Some(case.expecting(*code, problem)),
                },
            )
            .collect()
    }

    /// The passphrase file `pass.txt` (bob.key's passphrase on its line): generic inputs,
    /// a truncated file being a wrong passphrase for bob.key (exit `wrong_code`).
    pub fn passphrases(&self, wrong_code: i32) -> Vec<Case> {
        self.generic("pass.txt", PASS)
            .into_iter()
            .map(|c| match c.input {
                Input::Truncated => c
                    .expecting(wrong_code, &["wrong passphrase"])
                    .naming(&["bob.key"]),
                _ => c,
            })
            .collect()
    }

    /// `sd.json`: generic inputs, and wrong JSON types where sdctl reads values.
    pub fn sd_file(&self) -> Vec<Case> {
        let mut cases = self.generic("sd.json", SD);
        let problem = [
            "malformed",
            "not a number",
            "not a JSON object",
            "not a string",
            "not JSON",
            "invalid type",
        ];
        for (what, bytes) in sd_wrong_types() {
            cases.push(self.content("sd.json", what, bytes, 2, &problem));
        }
        cases
    }

    /// Quorums in the SD file: 1, 11, 126 and 127 are refused (2 is the valid SD; 10 is
    /// [`sd_ten_of_ten`]).
    pub fn sd_quorums(&self) -> Vec<Case> {
        [1, 11, 126, 127]
            .into_iter()
            .map(|q| {
                let sd = sd_with(|v| v["SharedKeys"]["required"] = json!(q));
                let problem = format!("SharedKeys.required is {q}");
                self.content("sd.json", &format!("required {q}"), sd, 2, &[&problem])
            })
            .collect()
    }

    /// Shares that do not belong: a duplicated entry; bob's share from another HSM's SD
    /// (the master key it rebuilds with alice's opens no datum: exit 3); a datum whose tag
    /// is not the one its key was derived with (`damaged_datum`: 1 for `sd verify`, whose
    /// drill finds it, 3 for the commands that cannot go on).
    pub fn sd_shares(&self, damaged_datum: i32) -> Vec<Case> {
        let other = Library::get().json("other-sd.json");
        let duplicated = sd_with(|v| {
            v["SharedKeys"]["enc_shares"][1] = v["SharedKeys"]["enc_shares"][0].clone()
        });
        let foreign = sd_with(|v| {
            v["SharedKeys"]["enc_shares"][1] = other["SharedKeys"]["enc_shares"][1].clone()
        });
        let tag =
            sd_with(|v| v["EncData"]["data"][0]["tag"] = v["EncData"]["data"][1]["tag"].clone());
        vec![
            self.content(
                "sd.json",
                "duplicated share",
                duplicated,
                2,
                &["duplicated share"],
            ),
            self.content(
                "sd.json",
                "bob's share foreign",
                foreign,
                3,
                // Combined with a foreign share, the values fall outside a byte or make a
                // wrong master key (about one time in eight): either is named.
                &["does not verify", "from another security domain"],
            ),
            self.content(
                "sd.json",
                "mismatched tag",
                tag,
                damaged_datum,
                &["does not verify"],
            ),
        ]
    }

    /// The private key bob.key (and bob.cer beside it): generic inputs, a file with two
    /// private keys, alice's key again (with her certificate), dave's key (not a
    /// custodian of the SD: exit 3).
    pub fn keys(&self) -> Vec<Case> {
        let lib = Library::get();
        let mut cases = self.generic("bob.key", KEY);
        let two = lib.bytes("two-keys.key");
        cases.push(self.content(
            "bob.key",
            "two private keys",
            two,
            2,
            &["holds 2 private keys"],
        ));
        let alice = self.with_files(&[("bob.cer", lib.bytes("alice.cer"))]);
        let again = alice.content(
            "bob.key",
            "alice's key again",
            lib.bytes("alice.key"),
            2,
            &["hold the same wrapping key"],
        );
        cases.push(again);
        let dave = self.with_files(&[("bob.cer", lib.bytes("dave.cer"))]);
        cases.push(dave.content(
            "bob.key",
            "dave's key",
            lib.bytes("dave.key"),
            3,
            &["its certificate"],
        ));
        cases
    }

    /// `exchange.cer`: generic inputs, JSON of the wrong shape, and a private key where the
    /// public one goes.
    pub fn exchange(&self) -> Vec<Case> {
        let mut cases = self.generic("exchange.cer", EXCHANGE);
        let wrong = [
            ("JWK n a number", json!({"kty": "RSA", "n": 5, "e": "AQAB"})),
            (
                "JWK x5c an object",
                json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "x5c": {"a": 1}}),
            ),
            (
                "transfer_key a number",
                json!({"key_format": "jwk", "transfer_key": 5}),
            ),
            (
                "transfer_key garbage",
                json!({"key_format": "jwk", "transfer_key": "[[["}),
            ),
            ("key bundle with no key", json!({"key": {"kty": 7}})),
        ];
        let problem = [
            "is not a string",
            "is not an array",
            "transfer_key",
            "no 'kty'",
            "not a JWK",
        ];
        for (what, value) in wrong {
            cases.push(self.content(
                "exchange.cer",
                what,
                value.to_string().into_bytes(),
                2,
                &problem,
            ));
        }
        let key = Library::get().bytes("dave.key");
        let problem = ["holds no certificate or public key"];
        cases.push(self.content("exchange.cer", "a private key", key, 2, &problem));
        cases
    }
}

/// The valid SD changed by `change`, as bytes.
pub fn sd_with(change: impl Fn(&mut Value)) -> Vec<u8> {
    let mut sd = Library::get().json("sd.json");
    change(&mut sd);
    serde_json::to_vec(&sd).unwrap()
}

/// SD variants with the wrong JSON types where sdctl reads the values.
fn sd_wrong_types() -> Vec<(&'static str, Vec<u8>)> {
    let shared = |name: &str, value: Value| {
        let name = name.to_owned();
        sd_with(move |v| v["SharedKeys"][&name] = value.clone())
    };
    vec![
        ("version a string", sd_with(|v| v["version"] = json!("2"))),
        ("required a string", shared("required", json!("2"))),
        ("required negative", shared("required", json!(-1))),
        ("required fractional", shared("required", json!(2.5))),
        ("enc_shares an object", shared("enc_shares", json!({}))),
        (
            "compact_jwe a number",
            sd_with(|v| v["EncData"]["data"][0]["compact_jwe"] = json!(5)),
        ),
        (
            "tag null",
            sd_with(|v| v["EncData"]["data"][0]["tag"] = Value::Null),
        ),
        (
            "x5t_256 an array",
            sd_with(|v| v["SharedKeys"]["enc_shares"][0]["x5t_256"] = json!([1])),
        ),
        ("top level an array", b"[{\"version\": 2}]".to_vec()),
        ("value a number", br#"{"value": 5}"#.to_vec()),
        ("value not JSON", br#"{"value": "[1, 2"}"#.to_vec()),
        // A parser quotes what it refuses: the line must stay readable.
        (
            "a 100 KB string as required",
            shared("required", json!("x".repeat(100_000))),
        ),
    ]
}

/// `LINE_HEAD --sd-file sd10.json` with all ten keys: quorum 10 of 10 is allowed.
pub fn sd_ten_of_ten(name: &str, line_head: &str) -> Case {
    let lib = Library::get();
    let keys: Vec<String> = CUSTODIANS.iter().map(|c| format!("{c}.key")).collect();
    let certs: Vec<String> = CUSTODIANS.iter().map(|c| format!("{c}.cer")).collect();
    let mut names: Vec<&str> = vec!["sd10.json", "exchange.cer"];
    names.extend(keys.iter().chain(&certs).map(String::as_str));
    let mut lines = [""; 10];
    lines[1] = BOB_PASSPHRASE;
    let pass = format!("{}\n", lines.join("\n")).into_bytes();
    let files = with(&lib.pick(&names), &[("pass10.txt", pass)]);
    let line = format!(
        "{line_head} --sd-file sd10.json --sd-wrapping-keys {} --passphrase-file pass10.txt",
        keys.join(" ")
    );
    Case::succeed(format!("{name} required 10 of 10"), words(&line), &files)
}
