//! Fuzz target: `cutover::fuzzing::cassette` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::cassette(data));
