//! The `sdctl` command: a thin front end over the `sdctl` library.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
