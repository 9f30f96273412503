//! Every command's help: an `Examples:` section whose command lines parse, fit an
//! 80-column terminal, and run the command they document; `--output` listed last.

use super::definition;

/// The built command tree (globals propagated, as `sdctl ... --help` shows it).
fn built() -> clap::Command {
    let mut root = definition();
    root.build();
    root
}

/// Every leaf command (no subcommands of its own), with its path below `sdctl`.
fn leaves(command: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
    let subs: Vec<&clap::Command> = command
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if subs.is_empty() {
        out.push((path, command.clone()));
        return;
    }
    for sub in subs {
        let mut p = path.clone();
        p.push(sub.get_name().to_owned());
        leaves(sub, p, out);
    }
}

fn all_leaves() -> Vec<(Vec<String>, clap::Command)> {
    let mut out = Vec::new();
    leaves(&built(), Vec::new(), &mut out);
    out
}

/// The text after the help's options: `after_long_help`, else `after_help`.
fn after_help(command: &clap::Command) -> String {
    command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// The physical lines of the `Examples:` section (up to the first empty line).
fn example_lines(text: &str) -> Option<Vec<String>> {
    let mut lines = text.lines();
    lines.find(|l| l.trim_end() == "Examples:")?;
    Some(
        lines
            .take_while(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Joins lines continued with a trailing backslash into whole commands.
fn commands(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = false;
    for line in lines {
        let trimmed = line.trim();
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (trimmed, false),
        };
        match out.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(body);
            }
            _ => out.push(body.to_owned()),
        }
        open = continues;
    }
    out
}

/// Splits a command line as a POSIX shell would for these examples: words, '...' and
/// "..." quotes; stops at a pipe or a redirection (what follows is not sdctl's).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '|' | '>' | '<') if !in_word => return out,
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

#[test]
fn the_walk_finds_every_command_group() {
    let paths: Vec<String> = all_leaves().iter().map(|(p, _)| p.join(" ")).collect();
    for expected in [
        "keys generate",
        "sd session new",
        "shares combine",
        "ceremony log verify",
        "ceremony transfer-code",
        "completions",
        "man",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} not found in {paths:?}"
        );
    }
    #[cfg(feature = "online")]
    for expected in [
        "hsm role definition create",
        "hsm key list",
        "emulator serve",
        "ceremony rehearse",
    ] {
        assert!(paths.iter().any(|p| p == expected), "{expected} not found");
    }
}

#[test]
fn every_command_has_examples_that_parse_and_fit_80_columns() {
    let mut problems = Vec::new();
    for (path, command) in all_leaves() {
        let name = path.join(" ");
        let Some(lines) = example_lines(&after_help(&command)) else {
            problems.push(format!("sdctl {name}: no 'Examples:' section in --help"));
            continue;
        };
        let examples = commands(&lines);
        if examples.is_empty() {
            problems.push(format!("sdctl {name}: an empty 'Examples:' section"));
        }
        for line in &lines {
            if line.chars().count() > 79 {
                problems.push(format!(
                    "sdctl {name}: example line over 79 columns: {line}"
                ));
            }
        }
        for example in examples {
            let argv = words(&example);
            let prefix: Vec<String> = std::iter::once("sdctl".to_owned())
                .chain(path.iter().cloned())
                .collect();
            if !argv.starts_with(&prefix) {
                problems.push(format!(
                    "sdctl {name}: example runs another command: {example}"
                ));
                continue;
            }
            if let Err(e) = definition().try_get_matches_from(&argv) {
                problems.push(format!(
                    "sdctl {name}: example does not parse: {example}: {}",
                    e.render().to_string().lines().next().unwrap_or_default()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn output_is_listed_after_each_commands_own_options() {
    for (path, mut command) in all_leaves() {
        let help = command.render_long_help().to_string();
        // The options end where the text after them (the examples) begins.
        let lines: Vec<&str> = help
            .lines()
            .take_while(|l| l.trim_end() != "Examples:")
            .collect();
        let option_line = |l: &str| {
            let t = l.trim_start();
            (t.starts_with("--") || t.starts_with("-h,")) && l.starts_with("  ")
        };
        let output_at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("--output"))
            .unwrap_or_else(|| panic!("sdctl {}: no --output in help", path.join(" ")));
        assert_eq!(
            lines[..output_at]
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty()),
            Some(&"Output:"),
            "sdctl {}: --output is not under its own 'Output:' heading",
            path.join(" ")
        );
        let own_after: Vec<&&str> = lines[output_at + 1..]
            .iter()
            .filter(|l| option_line(l))
            .collect();
        assert!(
            own_after.is_empty(),
            "sdctl {}: options listed after --output: {own_after:?}",
            path.join(" ")
        );
        let text_lines = lines[output_at + 1..]
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .count();
        assert!(
            text_lines <= 2,
            "sdctl {}: --output's help takes {text_lines} lines",
            path.join(" ")
        );
    }
}

#[test]
fn output_json_still_parses_before_and_after_the_subcommand() {
    for argv in [
        ["sdctl", "--output", "json", "keys", "inspect", "a.cer"],
        ["sdctl", "keys", "--output", "json", "inspect", "a.cer"],
        ["sdctl", "keys", "inspect", "a.cer", "--output", "json"],
    ] {
        let matches = definition().try_get_matches_from(argv);
        let cli = matches.and_then(|m| <super::Cli as clap::FromArgMatches>::from_arg_matches(&m));
        assert_eq!(
            cli.map(|c| c.output).ok(),
            Some(super::OutputFormat::Json),
            "{argv:?}"
        );
    }
}

#[test]
fn the_example_checker_rejects_what_it_should() {
    // The checks above must be able to fail: a wrong flag, another command's line, and a
    // section without commands are caught by the helpers they use.
    let bad = words("sdctl keys inspect --no-such-flag a.cer");
    assert!(definition().try_get_matches_from(&bad).is_err());
    assert_eq!(
        words("sdctl man --out-dir 'my pages' | man -l -"),
        ["sdctl", "man", "--out-dir", "my pages"]
    );
    assert_eq!(
        commands(&[
            "  sdctl a \\".into(),
            "      --b c".into(),
            "  sdctl d".into()
        ]),
        ["sdctl a --b c", "sdctl d"]
    );
    assert_eq!(example_lines("Usage: x\n\nNotes:\n  sdctl x"), None);
}
