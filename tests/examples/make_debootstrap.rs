//! Builds (or takes from the cache) the debootstrap Debian guest of the package tests and
//! copies it to the directory given (default: the current one).
fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from);
    let img = guestwright_tests::debootstrap_debian(&dir);
    println!("{}", img.display());
}
