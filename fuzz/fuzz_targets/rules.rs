//! Fuzz target: `cutover::fuzzing::rules` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::rules(data));
