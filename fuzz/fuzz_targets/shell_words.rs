//! libFuzzer entry point; the body is `guestwright_fuzz::shell_words`, which the stable harness runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| guestwright_fuzz::shell_words(data));
