//! Makes the inspection parity guests in a directory, one line per guest on stdout:
//! `NAME OPTION... IMAGE...` (`--no-applications`, `--key=...`: `parity_options`).
//! `scripts/record-inspector` runs virt-inspector on them:
//! `cargo run -p guestwright-tests --example make_parity_guests -- DIR [NAME...]`.
//! The names are `PARITY_GUESTS` (tests/tests/inspect_parity.rs) and `windows` and `coreos`
//! (tests/tests/inspect_windows.rs); all answers are in tests/inspect/expected.

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: make_parity_guests DIR [NAME...]");
    let names: Vec<String> = args.collect();
    let all = guestwright_tests::PARITY_GUESTS
        .iter()
        .chain(guestwright_tests::INSPECTOR_GUESTS);
    for name in all {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let sub = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let imgs = match *name {
            "windows" => vec![guestwright_tests::windows_guest(&sub, "windows.img")],
            "coreos" => vec![guestwright_tests::coreos_guest(&sub, "coreos.img")],
            _ => guestwright_tests::parity_guest(&sub, name),
        };
        let mut list = guestwright_tests::parity_options(name);
        list.extend(imgs.iter().map(|p| p.display().to_string()));
        println!("{name} {}", list.join(" "));
    }
    for n in &names {
        assert!(
            guestwright_tests::PARITY_GUESTS.contains(&n.as_str())
                || guestwright_tests::INSPECTOR_GUESTS.contains(&n.as_str()),
            "no parity guest called {n}"
        );
    }
}
