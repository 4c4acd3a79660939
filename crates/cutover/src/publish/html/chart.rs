//! Latency charts as inline SVG: for each operation, the share of requests slower than each
//! latency, both sides on one logarithmic plot (latency across, share down to the slowest
//! single request), so the candidate's tail shows where its curve stays above the
//! legacy's. Where a curve crosses the 1% line is that side's p99.

use super::esc;
use super::workspace::{bound, Buckets, PER_DECADE};
use crate::report::render::units::latency;
use crate::report::Report;
use std::fmt::Write;

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 190.0;
const LEFT: f64 = 74.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;

/// The colours of the legacy and the candidate.
const COLOURS: [&str; 2] = ["#1f6fb4", "#e8590c"];
const NAMES: [&str; 2] = ["legacy", "candidate"];

/// The section: one chart per operation of `latency` (legacy, candidate buckets).
pub(super) fn section(
    out: &mut String,
    report: &Report,
    latency_by_op: &std::collections::BTreeMap<String, [Buckets; 2]>,
) {
    out.push_str("<section id=\"latency\"><h2>Latency</h2><p class=\"hint\">Share of requests slower than each latency (both axes logarithmic): a curve further right or higher is slower; where it crosses the 1% line is its p99.</p><div class=\"charts\">\n");
    for (op, sides) in latency_by_op {
        let caption = match report.operations.get(op) {
            Some(o) => {
                let p = |n: usize, side: &crate::report::Percentiles| match sides[n].known() {
                    0 => format!("{} latency unknown", NAMES[n]),
                    _ => format!(
                        "{} p50 {} · p99 {} · max {}",
                        NAMES[n],
                        latency(side.p50),
                        latency(side.p99),
                        latency(side.max)
                    ),
                };
                format!(
                    "<span class=\"l\">{}</span><br><span class=\"c\">{}</span>",
                    p(0, &o.latency_us.legacy),
                    p(1, &o.latency_us.candidate)
                )
            }
            None => String::new(),
        };
        let _ = write!(
            out,
            "<figure class=\"chart\"><figcaption><code>{}</code><br>{caption}</figcaption>",
            esc(op)
        );
        chart(out, op, sides);
        out.push_str("</figure>\n");
    }
    out.push_str("</div></section>\n");
}

/// A decade's label: `1µs`, `10ms`, `1s`.
fn tick(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{}ms", us / 1_000),
        _ => format!("{}s", us / 1_000_000),
    }
}

/// One operation's chart.
fn chart(out: &mut String, op: &str, sides: &[Buckets; 2]) {
    let _ = write!(
        out,
        "<svg class=\"latency\" data-op=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\"><title>{} latency: share of requests slower than each latency, legacy and candidate</title>",
        esc(op),
        esc(op)
    );
    let used = sides
        .iter()
        .flat_map(|s| s.counts.iter().enumerate().filter(|(_, n)| **n > 0))
        .map(|(i, _)| i);
    let (Some(lo), Some(hi)) = (used.clone().min(), used.max()) else {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no latency known</text></svg>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return;
    };
    // Whole decades, so that every tick is labelled.
    let lo = lo / PER_DECADE * PER_DECADE;
    let last = sides[0].counts.len() - 1;
    let hi = ((hi / PER_DECADE + 1) * PER_DECADE).min(last);
    let most = sides.iter().map(Buckets::known).max().unwrap_or(1).max(1);
    // Below the share of one request of the larger side (10 requests: 10% is one, so down
    // to 1%), at least to 1%.
    let decades = (most.ilog10() + 1).max(2) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| LEFT + (i - lo) as f64 / (hi - lo).max(1) as f64 * plot_w;
    let y = |share: f64| {
        if share <= 0.0 {
            TOP + plot_h
        } else {
            TOP + (-share.log10() / decades).min(1.0) * plot_h
        }
    };

    // Axes, the decade ticks and the share lines.
    let _ = write!(
        out,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#999\"/>"
    );
    for i in (lo..=hi).step_by(PER_DECADE) {
        let _ = write!(
            out,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{1:.1}\" stroke=\"#e4e4e4\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\" font-size=\"10\">{3}</text>",
            x(i),
            TOP + plot_h,
            HEIGHT - 10.0,
            tick(bound(i))
        );
    }
    for d in 0..=decades as u32 {
        let share = 10f64.powi(-(d as i32));
        let label = match d {
            0 => "100%".to_string(),
            1 => "10%".to_string(),
            2 => "1% · p99".to_string(),
            3 => "0.1% · p99.9".to_string(),
            _ => format!("0.{}1%", "0".repeat(d as usize - 3)),
        };
        let stroke = if d == 2 {
            "stroke=\"#888\" stroke-dasharray=\"4 3\""
        } else {
            "stroke=\"#e4e4e4\""
        };
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" {stroke}/><text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\" font-size=\"9\">{label}</text>",
            LEFT + plot_w,
            y(share),
            LEFT - 3.0,
            y(share) + 3.0
        );
    }

    // Each side: the share slower than the end of each bucket, as steps.
    for (n, side) in sides.iter().enumerate() {
        let total = side.known();
        if total == 0 {
            continue;
        }
        let mut path = format!("M{:.1} {:.1}", x(lo), y(1.0));
        let mut slower = total;
        for i in lo..hi {
            slower -= side.counts[i];
            let _ = write!(
                path,
                "H{:.1}V{:.1}",
                x(i + 1),
                y(slower as f64 / total as f64)
            );
            if slower == 0 {
                break;
            }
        }
        let _ = write!(
            out,
            "<path class=\"{}\" d=\"{path}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            NAMES[n], COLOURS[n]
        );
    }
    // The legend, with what each side could not tell.
    for (n, side) in sides.iter().enumerate() {
        let unknown = match side.unknown {
            0 => String::new(),
            u => format!(" ({u} unknown)"),
        };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"{}\">{} {}{unknown}</text>",
            LEFT + plot_w - 4.0,
            TOP + 12.0 + 12.0 * n as f64,
            COLOURS[n],
            NAMES[n],
            side.known()
        );
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(latencies: &[u64]) -> Buckets {
        let mut b = Buckets::default();
        for us in latencies {
            b.add(Some(*us));
        }
        b
    }

    #[test]
    fn each_side_is_a_falling_step_path_that_ends_at_the_bottom() {
        let fast = buckets(&[100, 120, 150, 200]);
        let slow = buckets(&[100, 120, 150, 90_000]);
        let mut out = String::new();
        chart(&mut out, "get", &[fast, slow]);
        assert!(
            out.starts_with("<svg class=\"latency\" data-op=\"get\""),
            "{out}"
        );
        assert_eq!(out.matches("<path ").count(), 2, "{out}");
        // The candidate's slowest request keeps its curve above the bottom until 90 ms.
        let candidate = &out[out.find("class=\"candidate\"").unwrap()..];
        let d = &candidate[candidate.find("d=\"").unwrap() + 3..];
        let d = &d[..d.find('"').unwrap()];
        let bottom = format!("V{:.1}", HEIGHT - BOTTOM);
        assert!(d.ends_with(&bottom), "{d}");
        let legacy = &out[out.find("class=\"legacy\"").unwrap()..];
        let l = &legacy[legacy.find("d=\"").unwrap() + 3..];
        let l = &l[..l.find('"').unwrap()];
        assert!(l.len() < d.len(), "the legacy ends sooner: {l} vs {d}");
        for label in [">100µs<", ">1ms<", ">10ms<", ">100ms<"] {
            assert!(out.contains(label), "{label} in {out}");
        }
    }

    #[test]
    fn the_slowest_request_stays_above_the_bottom_and_labels_stay_short() {
        // 100 latencies: one in a hundred is 1%, so the plot goes down to 0.1%.
        let mut many: Vec<u64> = vec![100; 99];
        many.push(50_000);
        let mut out = String::new();
        chart(&mut out, "get", &[buckets(&many), buckets(&many)]);
        assert!(out.contains(">0.1% · p99.9<"), "{out}");
        let mut huge = Buckets::default();
        huge.counts[10] = 2_000_000;
        let mut out = String::new();
        chart(&mut out, "get", &[huge.clone(), huge]);
        assert!(out.contains(">0.00001%<"), "{out}");
        assert!(!out.contains("9999"), "{out}");
    }

    #[test]
    fn a_side_without_latencies_says_so_and_draws_nothing() {
        let mut unknown = Buckets::default();
        unknown.add(None);
        let mut out = String::new();
        chart(&mut out, "get", &[unknown.clone(), buckets(&[5])]);
        assert_eq!(out.matches("<path ").count(), 1, "{out}");
        assert!(out.contains("legacy 0 (1 unknown)"), "{out}");
        let mut out = String::new();
        chart(&mut out, "get", &[unknown.clone(), unknown]);
        assert!(out.contains("no latency known"), "{out}");
    }
}
