//! Fuzz target: `cutover::fuzzing::run_dir` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::run_dir(data));
