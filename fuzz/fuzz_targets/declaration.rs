//! Fuzz target: `cutover::fuzzing::declaration` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::declaration(data));
