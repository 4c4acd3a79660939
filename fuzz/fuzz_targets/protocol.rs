//! Fuzz target: `cutover::fuzzing::protocol_answers` on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cutover::fuzzing::protocol_answers(data));
