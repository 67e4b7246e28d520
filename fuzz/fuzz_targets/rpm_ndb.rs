//! libFuzzer entry point; the body is `guestwright_fuzz::guest::rpm_ndb`, which the stable harness runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| guestwright_fuzz::guest::rpm_ndb(data));
