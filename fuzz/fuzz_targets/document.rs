//! Fuzz target: `cutover::fuzzing::document` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::document(data));
