//! Ceremonies run through the CLI against an in-process emulator with two HSMs: plan files
//! for one or two machines, passphrase files, and the runs.

use std::fs;
use std::path::{Path, PathBuf};

use super::online::Online;
use super::Run;

/// The custodians of the default plans.
pub const CUSTODIANS: [&str; 3] = ["alice", "bob", "carol"];

/// A test bed: an emulator (hsm-a, hsm-b) and a fixture directory.
pub struct Bed {
    pub online: Online,
}

/// What a plan says, beyond the defaults.
pub struct PlanSpec<'a> {
    /// `one` or `two`.
    pub machines: &'a str,
    /// Custodian names.
    pub custodians: &'a [&'a str],
    /// The quorum.
    pub quorum: usize,
    /// `together` or `distributed`.
    pub mode: &'a str,
    /// Extra TOML appended to `[recovery]` (backup keys).
    pub recovery_extra: &'a str,
    /// The token file (a fixture name) the plan's `[hsm]` is reached with; the recovery
    /// HSM always gets the administrator's.
    pub hsm_token: &'a str,
}

impl Default for PlanSpec<'_> {
    fn default() -> Self {
        PlanSpec {
            machines: "one",
            custodians: &CUSTODIANS,
            quorum: 2,
            mode: "together",
            recovery_extra: "",
            hsm_token: "admin.token",
        }
    }
}

impl Bed {
    /// A new bed.
    pub fn start() -> Self {
        Bed {
            online: Online::start(&["hsm-a", "hsm-b"]),
        }
    }

    /// A path in the fixture.
    pub fn path(&self, name: &str) -> PathBuf {
        self.online.fx.path(name)
    }

    /// The plan text for `spec` (absolute paths to the emulator's CA and token).
    pub fn plan_text(&self, spec: &PlanSpec<'_>) -> String {
        let ca = self.online.ca();
        let hsm = |name: &str, token: &str| {
            format!(
                "url = \"{}\", ca_cert = \"{ca}\", access_token_file = \"{}\"",
                self.online.emu.hsm(name),
                self.path(token).display()
            )
        };
        let mut text = format!(
            "[ceremony]\nname = \"test-ceremony\"\noutput_dir = \"ceremony\"\nmachines = \"{}\"\noperator = \"Olivia Operator\"\n\n[hsm]\n{}\n\n[keys]\nbits = 2048\ndays = 30\nsubject = \"/O=Test\"\n\n[security_domain]\nquorum = {}\nquorum_mode = \"{}\"\n\n",
            spec.machines,
            hsm("hsm-a", spec.hsm_token).replace(", ", "\n"),
            spec.quorum,
            spec.mode
        );
        for c in spec.custodians {
            text.push_str(&format!(
                "[[custodian]]\nname = \"{c}\"\ncontact = \"{c}@example.com\"\n\n"
            ));
        }
        text.push_str("[[witness]]\nname = \"Walter Witness\"\nrole = \"Internal audit\"\n\n");
        text.push_str(&format!(
            "[recovery]\nhsm = {{ {} }}\n{}",
            hsm("hsm-b", "admin.token"),
            spec.recovery_extra
        ));
        text
    }

    /// Writes the plan for `spec` as `DIR/plan.toml` (DIR created) and returns its path.
    pub fn plan(&self, dir: &str, spec: &PlanSpec<'_>) -> PathBuf {
        let dir = self.path(dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plan.toml");
        fs::write(&path, self.plan_text(spec)).unwrap();
        path
    }

    /// A passphrase file (0600) with one line per name, in order.
    pub fn passphrases(&self, file: &str, names: &[&str]) -> PathBuf {
        let lines: Vec<String> = names.iter().map(|n| passphrase(n)).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.online.fx.pass_file(file, &refs)
    }

    /// A new transfer-code file (0600) made by `sdctl ceremony transfer-code`, for
    /// unattended two-machine runs.
    pub fn transfer_code(&self, file: &str) -> PathBuf {
        let path = self.path(file);
        let run = self.ceremony(&["transfer-code", "--out", &path.display().to_string()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        path
    }

    /// Runs `sdctl ceremony WORDS...` in the fixture.
    pub fn ceremony(&self, words: &[&str]) -> Run {
        let mut args = vec!["ceremony"];
        args.extend_from_slice(words);
        self.online.fx.sdctl(&args)
    }

    /// Runs `sdctl ceremony KIND --plan PLAN --yes --passphrase-file PASS EXTRA...`.
    pub fn unattended(&self, kind: &str, plan: &Path, pass: &Path, extra: &[&str]) -> Run {
        let (plan, pass) = (plan.display().to_string(), pass.display().to_string());
        let mut words = vec![kind, "--plan", &plan, "--yes", "--passphrase-file", &pass];
        words.extend_from_slice(extra);
        self.ceremony(&words)
    }
}

/// The passphrase test custodian `name` uses (strong enough for the default rule).
pub fn passphrase(name: &str) -> String {
    format!("correct horse {name} battery staple")
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file (by SHA-256 of its bytes, and its mode) and every directory under `dir`: two
/// equal snapshots mean a workspace left byte for byte as it was.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let meta = fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(p.clone(), format!("dir {mode:o}"));
                stack.push(p);
            } else {
                let digest = Sha256::digest(fs::read(&p).unwrap());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                out.insert(p, format!("{hex} {mode:o}"));
            }
        }
    }
    out
}

/// The entries of a transcript, parsed.
pub fn transcript(path: &Path) -> Vec<serde_json::Value> {
    transcript_lines(&fs::read_to_string(path).unwrap())
}

/// The entries of a transcript's text, parsed.
pub fn transcript_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The run's transcript in a workspace.
pub fn transcript_path(workspace: &Path, run: &str) -> PathBuf {
    workspace.join("runs").join(run).join("transcript.jsonl")
}

/// An unattended run that must succeed (`--output json`, printed output kept for the
/// secret scans in `logs/`); its JSON result.
pub fn json_run(
    bed: &Bed,
    kind: &str,
    plan: &Path,
    pass: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let mut words = vec!["--output", "json"];
    words.extend_from_slice(extra);
    let run = bed.unattended(kind, plan, pass, &words);
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    // Everything printed is kept for the secret scan.
    let logs = bed.path("logs");
    fs::create_dir_all(&logs).unwrap();
    let n = fs::read_dir(&logs).unwrap().count();
    fs::write(logs.join(format!("{n}-{kind}.out")), &run.stdout).unwrap();
    fs::write(logs.join(format!("{n}-{kind}.err")), &run.stderr).unwrap();
    let envelope: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    envelope["result"].clone()
}

/// Copies a file, making the destination's directory.
pub fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap();
}

/// Two workspaces stand for the air-gapped and the online machine: only bundles cross.
pub struct TwoMachines {
    pub bed: Bed,
    pub offline: PathBuf,
    pub online: PathBuf,
    pub pass: PathBuf,
    /// The transfer-code file both machines are given (`--transfer-code-file`).
    pub code: String,
}

impl TwoMachines {
    /// Both workspaces for a plan with quorum mode `mode`, one passphrase file and one
    /// transfer-code file.
    pub fn new(mode: &str) -> Self {
        let bed = Bed::start();
        let spec = PlanSpec {
            machines: "two",
            mode,
            ..PlanSpec::default()
        };
        let offline = bed.plan("offline", &spec);
        let online = bed.plan("online", &spec);
        let pass = bed.passphrases("pass", &["alice", "bob", "carol"]);
        let code = bed.transfer_code("transfer.code").display().to_string();
        TwoMachines {
            bed,
            offline,
            online,
            pass,
            code,
        }
    }
    /// The output directory of `machine`.
    pub fn out(&self, machine: &str) -> PathBuf {
        self.bed.path(&format!("{machine}/ceremony"))
    }
    /// The plan of `machine`.
    pub fn plan(&self, machine: &str) -> &Path {
        if machine == "offline" {
            &self.offline
        } else {
            &self.online
        }
    }
    /// `--machine MACHINE --transfer-code-file CODE` (and `--allow-network` on the
    /// air-gapped one), then `extra`.
    pub fn words<'a>(&'a self, machine: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut words = vec!["--machine", machine, "--transfer-code-file", &self.code];
        if machine == "offline" {
            words.push("--allow-network");
        }
        words.extend_from_slice(extra);
        words
    }
    /// A successful unattended run; its JSON result.
    pub fn run(&self, kind: &str, machine: &str, extra: &[&str]) -> serde_json::Value {
        let words = self.words(machine, extra);
        let result = json_run(&self.bed, kind, self.plan(machine), &self.pass, &words);
        self.log(kind, machine, &result);
        result
    }
    /// An unattended run that may fail.
    pub fn attempt(&self, kind: &str, machine: &str, extra: &[&str]) -> Run {
        let words = self.words(machine, extra);
        self.bed
            .unattended(kind, self.plan(machine), &self.pass, &words)
    }
    /// Keeps a run's JSON result for the secret scans.
    pub fn log(&self, kind: &str, machine: &str, result: &serde_json::Value) {
        let dir = self.bed.path("logs");
        fs::create_dir_all(&dir).unwrap();
        let n = fs::read_dir(&dir).unwrap().count();
        fs::write(
            dir.join(format!("{n}-{kind}-{machine}.json")),
            result.to_string(),
        )
        .unwrap();
    }
    /// Carries bundle `name` from one machine's transfer/ folder to the other's.
    pub fn carry(&self, name: &str, from: &str, to: &str) {
        copy(
            &self.out(from).join("transfer").join(name),
            &self.out(to).join("transfer").join(name),
        );
    }
}

/// A bundle's members in the order sdctl writes them.
#[derive(serde::Serialize, serde::Deserialize)]
struct BundleMembers {
    sdctl_bundle: u32,
    kind: String,
    ceremony: String,
    run: String,
    plan_sha256: String,
    payload: serde_json::Value,
    transcript: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
}

/// Writes `bundle` to `path` in the one encoding sdctl writes (its members in order, pretty
/// JSON, a new line), so that what a test changes is the content, not the encoding.
pub fn write_bundle(path: &Path, bundle: &serde_json::Value) {
    let members: BundleMembers = serde_json::from_value(bundle.clone()).unwrap();
    let mut text = serde_json::to_string_pretty(&members).unwrap();
    text.push('\n');
    fs::write(path, text).unwrap();
}
