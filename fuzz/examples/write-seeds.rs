//! Writes the seeds made in code (`guestwright_fuzz::seeds`) into a corpus directory, next
//! to the disk images `make-corpus.sh` makes: `cargo run --example write-seeds -- corpus`.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .unwrap_or_else(|| "corpus".into()),
    );
    let write = |target: &str, name: &str, data: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), data)
    };
    for (i, frame) in guestwright_fuzz::seeds::frames().iter().enumerate() {
        write("frame_decode", &format!("seed-{i}"), frame)?;
    }
    for (i, line) in guestwright_fuzz::seeds::shell_lines().iter().enumerate() {
        write("shell_words", &format!("seed-{i}"), line)?;
    }
    for (name, device) in guestwright_fuzz::seeds::devices() {
        write("probe", name, &device)?;
    }
    Ok(())
}
