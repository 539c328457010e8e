//! The `storywatch` binary: everything lives in the library; see `storywatch --help`.

fn main() -> std::process::ExitCode {
    storywatch::cli::main()
}
