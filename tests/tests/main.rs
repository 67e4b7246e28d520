//! guestwright's integration tests, one test binary: each file beside this one is a module
//! (`cargo test -p guestwright-tests --test suite -- drives::` runs one file's tests), and the
//! helper kits in the folders are shared by them. One binary links once instead of once per
//! file, and `--test-threads` keeps that many tests running across the whole suite, where
//! one binary per file ran the files one after another and left a core idle behind each
//! file's slowest test.

mod customize_images;
mod drivekit;
mod fsimg;
mod fusekit;
mod goldenkit;
mod modelkit;
mod serverkit;

mod appliance;
mod bad_images;
mod batch;
mod batch_examples;
mod batch_reuse;
mod block_cmds;
mod bootloaders;
mod cli;
mod commands;
mod customize_clone;
mod customize_debian;
mod customize_differential;
mod customize_dnf;
mod customize_hostile;
mod customize_options;
mod customize_packages;
mod customize_rhel;
mod customize_sysprep;
mod drives;
mod faults;
mod files;
mod fuse_batch;
mod fuse_conformance;
mod fuse_model;
mod fuse_ro;
mod fuse_rw;
mod fuse_writeback;
mod golden;
mod inspect;
mod inspect_luks;
mod inspect_parity;
mod inspect_windows;
mod ldm_rsync_grub;
mod library_api;
mod library_examples;
mod luks_fast;
mod luks_md_build;
mod lvm;
mod mkfs;
mod packaging;
mod partitions;
mod rescue;
mod rpmdb;
mod shell_interactive;
mod shell_remote;
mod shell_script;
mod shell_uri;
mod snapshot;
mod sysprep_cli;
mod tar;
mod transfers;
