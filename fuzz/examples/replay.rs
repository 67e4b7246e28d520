//! Runs one target's body on input files, as the fuzzer would, and says which of them fail:
//! `cargo run --example replay -- TARGET FILE...` (a crash from `artifacts/`, or an input the
//! stable harness saved in `target/fuzz-failures/`).

use std::panic::catch_unwind;

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay TARGET FILE...");
    let body = guestwright_fuzz::body(&target)
        .unwrap_or_else(|| panic!("no target {target:?}: see fuzz/README.md"));
    let mut failed = 0;
    for file in args {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        println!(
            "{file}: {} bytes: {:?}",
            data.len(),
            String::from_utf8_lossy(&data)
        );
        if catch_unwind(|| body(&data)).is_err() {
            failed += 1;
            println!("{file}: FAILED");
        } else {
            println!("{file}: ok");
        }
    }
    std::process::exit(i32::from(failed > 0));
}
