//! A verify's keys in the documents: what each side holds, what was found, and the path
//! the ranges took (`docs/src/verify.md`).

use crate::verify::{Path, VerifyInfo};
use std::fmt::Write;

/// The rows of the keys table: (what, how many, whether it counts against the verdict).
fn rows(info: &VerifyInfo) -> [(&'static str, u64, bool); 7] {
    let k = &info.keys;
    [
        ("keys on the legacy", k.legacy, false),
        ("keys on the candidate", k.candidate, false),
        ("equal", k.equal, false),
        ("divergent", k.divergent, k.divergent > 0),
        ("missing (legacy only)", k.missing, k.missing > 0),
        ("extra (candidate only)", k.extra, k.extra > 0),
        (
            "inconclusive (unreadable)",
            k.inconclusive,
            k.inconclusive > 0,
        ),
    ]
}

/// The paths the keys took, in one line.
fn paths(info: &VerifyInfo) -> String {
    let hashing = match (&info.checksum_form, &info.hashing_off) {
        (Some(form), None) => format!("{} keys by checksum (form `{form}`)", info.hashed_keys),
        (Some(form), Some(why)) => format!(
            "{} keys by checksum (form `{form}`), then the dump path: {why}",
            info.hashed_keys
        ),
        (None, Some(why)) => format!("no checksums: {why}"),
        (None, None) => "no checksums".into(),
    };
    let ranges = info.ranges.iter().filter(|r| r.path == Path::Hash).count();
    format!(
        "{hashing}; {} keys dumped and diffed; {} checksummed ranges of {} listed",
        info.dumped_keys,
        ranges,
        info.ranges.len() as u64 + info.ranges_omitted
    )
}

/// The Markdown section.
pub fn markdown(out: &mut String, info: &VerifyInfo) {
    let _ = writeln!(out, "\n### Keys (verify)\n\n| | keys |\n|---|---:|");
    for (what, n, bad) in rows(info) {
        let mark = if bad { " ❌" } else { "" };
        let _ = writeln!(out, "| {what}{mark} | {n} |");
    }
    let _ = writeln!(out, "\n{}", paths(info));
    if let Some(after) = &info.stopped_after {
        let _ = writeln!(
            out,
            "\n**Stopped** after key `{after}`: resume with `--resume`."
        );
    }
}

/// The HTML section.
pub fn html(out: &mut String, info: &VerifyInfo, esc: fn(&str) -> String) {
    out.push_str("<section id=\"verify\"><h2>Keys (verify)</h2><table id=\"verify-keys\">");
    for (what, n, bad) in rows(info) {
        let class = if bad { " class=\"bad\"" } else { "" };
        let _ = write!(
            out,
            "<tr{class}><td>{what}</td><td class=\"num\">{n}</td></tr>"
        );
    }
    let _ = write!(out, "</table><p>{}</p>", esc(&paths(info)));
    if let Some(after) = &info.stopped_after {
        let _ = write!(
            out,
            "<p class=\"warn\">Stopped after key <code>{}</code>: resume with <code>--resume</code>.</p>",
            esc(after)
        );
    }
    out.push_str("</section>\n");
}
