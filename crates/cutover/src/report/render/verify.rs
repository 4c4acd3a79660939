//! The head of a verify's report: its keys by what was found and the path they took.

use super::style::{Role, Style};
use crate::report::Report;
use crate::verify::{Path, VerifyInfo};
use std::fmt::Write;

/// How many ranges the summary lists (every one with `--verbose`, up to the report's own
/// limit).
const RANGES_SHOWN: usize = 8;

/// The header lines of a verify's report.
pub(super) fn head(report: &Report, info: &VerifyInfo, verbose: bool, style: Style) -> String {
    let mut out = String::new();
    let k = &info.keys;
    let _ = writeln!(
        out,
        "verify (domain {}): legacy {} vs candidate {}",
        report.cassette.domain, report.legacy, report.candidate
    );
    let seconds = report.elapsed_ms as f64 / 1000.0;
    let rate = match seconds > 0.0 {
        true => k.total() as f64 / seconds,
        false => 0.0,
    };
    let _ = writeln!(
        out,
        "{} keys in {seconds:.2} s ({rate:.0} keys/s): legacy {}, candidate {}",
        k.total(),
        k.legacy,
        k.candidate
    );
    let _ = writeln!(
        out,
        "{} equal, {}, {}, {}, {}",
        k.equal,
        style.count(
            Role::Bad,
            k.divergent,
            &format!("{} divergent", k.divergent)
        ),
        style.count(
            Role::Bad,
            k.missing,
            &format!("{} missing (legacy only)", k.missing)
        ),
        style.count(
            Role::Bad,
            k.extra,
            &format!("{} extra (candidate only)", k.extra)
        ),
        style.count(
            Role::Warn,
            k.inconclusive,
            &format!("{} inconclusive (unreadable)", k.inconclusive)
        ),
    );
    let _ = writeln!(out, "{}", paths(info));
    ranges(&mut out, info, verbose);
    if let Some(resumed) = &info.resumed_after {
        let _ = writeln!(out, "resumed after key {resumed}");
    }
    out
}

/// Which path the keys took, and why hashing was off.
fn paths(info: &VerifyInfo) -> String {
    let hashing = match (&info.checksum_form, &info.hashing_off) {
        (Some(form), None) => format!(
            "{} keys by checksum (form `{form}`, {} checksums per side)",
            info.hashed_keys, info.checksums
        ),
        (Some(form), Some(why)) => format!(
            "{} keys by checksum (form `{form}`) until the hashing path was left: {why}",
            info.hashed_keys
        ),
        (None, Some(why)) => format!("hashing path not taken: {why}"),
        (None, None) => "hashing path not taken".into(),
    };
    format!(
        "paths: {hashing}; {} keys dumped and diffed (batches of {}, keys in `{}` order)",
        info.dumped_keys, info.batch, info.key_order
    )
}

/// The ranges and the path each took, the first few unless `verbose`.
fn ranges(out: &mut String, info: &VerifyInfo, verbose: bool) {
    if info.ranges.len() < 2 && info.ranges_omitted == 0 {
        return;
    }
    let shown = if verbose {
        info.ranges.len()
    } else {
        RANGES_SHOWN
    };
    for r in info.ranges.iter().take(shown) {
        let path = match r.path {
            Path::Hash => "checksum",
            Path::Dump => "dump",
        };
        let _ = writeln!(
            out,
            "  {:<40} {path:<8} {} keys",
            r.range.describe(),
            r.keys
        );
    }
    let left = info.ranges.len().saturating_sub(shown) as u64 + info.ranges_omitted;
    if left > 0 {
        let _ = writeln!(out, "  ... {left} more ranges (--verbose lists them)");
    }
}
