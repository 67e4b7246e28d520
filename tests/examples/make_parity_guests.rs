//! Makes the inspection parity guests in a directory, one line per guest on stdout:
//! `NAME OPTION... IMAGE...` (`--no-applications` for the guests inspected without). `scripts/record-inspect` runs virt-inspector on them:
//! `cargo run -p guestwright-tests --example make_parity_guests -- DIR [NAME...]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: make_parity_guests DIR [NAME...]");
    let names: Vec<String> = args.collect();
    for name in guestwright_tests::PARITY_GUESTS {
        if !names.is_empty() && !names.iter().any(|n| n == name) {
            continue;
        }
        let sub = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let imgs = guestwright_tests::parity_guest(&sub, name);
        let mut list: Vec<String> = imgs.iter().map(|p| p.display().to_string()).collect();
        if guestwright_tests::PARITY_NO_APPLICATIONS.contains(name) {
            list.insert(0, "--no-applications".into());
        }
        println!("{name} {}", list.join(" "));
    }
}
