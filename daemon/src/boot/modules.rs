//! Kernel modules: the appliance carries them under `/modules`, with an index of their
//! dependencies written by the appliance builder. Boot loads the few the channel and the
//! disks need; filesystems and device-mapper are loaded on first use, which keeps boot short.

use crate::sys;
use guestwright_sync::Mutex;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::path::Path;

const MODULE_DIR: &str = "/modules";

/// The module index and what has been loaded so far.
#[derive(Debug)]
pub struct Modules {
    deps: HashMap<String, Vec<String>>,
    params: HashMap<String, String>,
    loaded: Mutex<HashSet<String>>,
}

impl Modules {
    /// Reads `/modules/modules.index` and collects `module.param=value` options from the
    /// kernel command line (modprobe does the same: built-in parsing only covers built-in
    /// code, and microvm describes its virtio-mmio devices that way).
    pub fn load_index(cmdline: &str) -> Modules {
        let index = std::fs::read_to_string(Path::new(MODULE_DIR).join("modules.index"))
            .unwrap_or_default();
        Modules {
            deps: parse_index(&index),
            params: module_params(cmdline),
            loaded: Mutex::new(HashSet::new()),
        }
    }

    /// Loads a module and, first, its dependencies. A module the appliance does not carry is
    /// assumed built into the kernel (or absent, in which case using it fails later with a
    /// clear error from the operation that needed it).
    pub fn load(&self, name: &str) -> io::Result<()> {
        let name = name.replace('-', "_");
        let mut order = Vec::new();
        self.resolve(&name, &mut order, &mut HashSet::new());
        // Loading is serialised: a module and its dependencies go in one after the other,
        // never half-way while another thread loads the same ones. The extras disk's lock
        // may be taken under this one (to copy a module out), never the other way round.
        self.load_in_order(&mut self.loaded.lock(), order)
    }

    fn load_in_order(&self, loaded: &mut HashSet<String>, order: Vec<String>) -> io::Result<()> {
        for module in order {
            if loaded.contains(&module) {
                continue;
            }
            let path = Path::new(MODULE_DIR).join(format!("{module}.ko"));
            if !path.exists() && self.deps.contains_key(&module) {
                // Not a boot module: it waits on the extras disk.
                crate::boot::extras::fetch(&format!("modules/{module}.ko"))?;
            }
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    loaded.insert(module);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let params = self.params.get(&module).map(String::as_str).unwrap_or("");
            let started = std::time::Instant::now();
            match finit_module(&file, params) {
                Ok(()) => debug!("loaded {module} in {:?}", started.elapsed()),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => {
                    info!("cannot load module {module}: {e}");
                    return Err(e);
                }
            }
            loaded.insert(module);
        }
        Ok(())
    }

    /// Whether the appliance carries a module (or it was loaded).
    pub fn has(&self, name: &str) -> bool {
        self.deps.contains_key(&name.replace('-', "_"))
    }

    fn resolve(&self, name: &str, order: &mut Vec<String>, seen: &mut HashSet<String>) {
        if !seen.insert(name.to_string()) {
            return;
        }
        for dep in self.deps.get(name).into_iter().flatten() {
            self.resolve(dep, order, seen);
        }
        order.push(name.to_string());
    }
}

fn parse_index(index: &str) -> HashMap<String, Vec<String>> {
    index
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?.replace('-', "_");
            Some((name, words.map(|w| w.replace('-', "_")).collect()))
        })
        .collect()
}

/// `virtio_mmio.device=512@0xfeb00e00:12 foo.bar=1` → {"virtio_mmio": "device=512@0xfeb00e00:12", "foo": "bar=1"}.
/// Repeated parameters are kept in order: the kernel applies each.
fn module_params(cmdline: &str) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = HashMap::new();
    for word in cmdline.split_whitespace() {
        let Some((key, _)) = word.split_once('=') else {
            continue;
        };
        let Some((module, _)) = key.split_once('.') else {
            continue;
        };
        if module.is_empty() || module.contains('/') {
            continue;
        }
        let module = module.replace('-', "_");
        let param = &word[module.len() + 1..];
        let entry = params.entry(module).or_default();
        if !entry.is_empty() {
            entry.push(' ');
        }
        entry.push_str(param);
    }
    params
}

/// `finit_module`, again while the file is "busy": the module was just copied out of the
/// extras, and a child another thread forks at that moment holds the writable descriptor
/// until its exec closes it, so the kernel refuses the load (ETXTBSY) for that instant.
fn finit_module(file: &File, params: &str) -> io::Result<()> {
    let mut tries = 0;
    loop {
        match sys::finit_module(file, params) {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_parameters_go_to_their_module() {
        let p = module_params(
            "console=ttyS0 virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11 \
             dm-mod.dm_mq_nr_hw_queues=1 guestwright.drives=2 quiet",
        );
        assert_eq!(
            p["virtio_mmio"],
            "device=512@0xfeb00e00:12 device=512@0xfeb00c00:11"
        );
        assert_eq!(p["dm_mod"], "dm_mq_nr_hw_queues=1");
        assert!(!p.contains_key("console"));
    }

    #[test]
    fn dependencies_load_first_and_once() {
        let m = Modules {
            deps: parse_index("virtio\nvirtio_ring\nvirtio_blk virtio virtio_ring\nvirtio_mmio virtio virtio_ring\n"),
            params: HashMap::new(),
            loaded: Mutex::new(HashSet::new()),
        };
        let mut order = Vec::new();
        m.resolve("virtio_blk", &mut order, &mut HashSet::new());
        assert_eq!(order, ["virtio", "virtio_ring", "virtio_blk"]);
        assert!(m.has("virtio-mmio"));
    }
}
