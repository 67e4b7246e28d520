//! Builds one of the test guests at a path, for recording what virt-inspector says about it
//! (`scripts/record-inspector`): `make-guest windows|coreos OUT.img`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out] = args.as_slice() else {
        eprintln!("usage: make-guest windows|coreos OUT.img");
        return ExitCode::from(2);
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let img = match kind.as_str() {
        "windows" => guestwright_tests::windows_guest(dir.path(), "guest.img"),
        "coreos" => guestwright_tests::coreos_guest(dir.path(), "guest.img"),
        other => {
            eprintln!("make-guest: no guest called {other:?}: windows or coreos");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::copy(&img, out) {
        eprintln!("make-guest: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
