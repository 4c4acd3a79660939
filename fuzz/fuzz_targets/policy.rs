//! Fuzz target: `cutover::fuzzing::policy` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::policy(data));
