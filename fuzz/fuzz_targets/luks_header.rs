//! libFuzzer entry point; the body is `guestwright_fuzz::luks_header`, which the stable harness runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| guestwright_fuzz::luks_header(data));
