//! Makes the Debian-like test image in a directory, for trying commands by hand:
//! `cargo run -p guestwright-tests --example make_debian -- DIR`.

fn main() {
    let dir = std::env::args().nth(1).expect("usage: make_debian DIR");
    let img = guestwright_tests::debian_like(std::path::Path::new(&dir), "debian.img", &[]);
    println!("{}", img.display());
}
