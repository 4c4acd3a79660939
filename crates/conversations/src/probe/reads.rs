//! The read probes of the conversations domain: range ends on stored values, pages at and
//! past the ends, searches in other case and with LIKE metacharacters, absent ids.

use super::{keyless, Observed};
use crate::model::{format_time, parse_time};
use chrono::DateTime;
use cutover::cassette::Kind;
use cutover::probe::keyed;
use cutover::probe::pick::fresh;
use cutover::probe::pick::lowest;
use cutover::probe::Probe;
use serde_json::json;

/// The largest `limit` a read takes.
const MAX_LIMIT: u64 = 1000;

pub(super) fn derive(o: &Observed, out: &mut Vec<Probe>) {
    date_ranges(o, out);
    pages(o, out);
    searches(o, out);
    id_lists(o, out);
    absent(o, out);
}

fn time(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(format_time)
}

/// Each sampled range again with `from` or `to` on a stored `created_at` (the first and the
/// last inside the range, or the nearest), and one millisecond (the store's precision)
/// either side.
fn date_ranges(o: &Observed, out: &mut Vec<Probe>) {
    let created: std::collections::BTreeSet<i64> =
        o.store.live.values().map(|c| c.created_at).collect();
    for (from, to) in o.ranges.iter().flat_map(|s| s.items()) {
        let (Ok(f), Ok(t)) = (parse_time(from), parse_time(to)) else {
            continue;
        };
        let (f, t) = (f.timestamp_millis(), t.timestamp_millis());
        let inside: Vec<i64> = created.range(f..=t.max(f)).copied().collect();
        let mut stored: Vec<i64> = match (inside.first(), inside.last()) {
            (Some(first), Some(last)) => vec![*first, *last],
            _ => created
                .range(..=t)
                .next_back()
                .or_else(|| created.range(t..).next())
                .map(|c| vec![*c])
                .unwrap_or_default(),
        };
        stored.dedup();
        let mut ranges: Vec<(i64, i64, &'static str)> = Vec::new();
        for c in stored {
            ranges.extend([
                (f.min(c), c, "date range: to equals a stored created_at"),
                (
                    f.min(c - 1),
                    c - 1,
                    "date range: to one tick before a stored created_at",
                ),
                (
                    f.min(c),
                    c + 1,
                    "date range: to one tick after a stored created_at",
                ),
                (c, t.max(c), "date range: from equals a stored created_at"),
                (
                    c - 1,
                    t.max(c),
                    "date range: from one tick before a stored created_at",
                ),
                (
                    c + 1,
                    t.max(c + 1),
                    "date range: from one tick after a stored created_at",
                ),
                (c, c, "date range: from and to equal a stored created_at"),
            ]);
        }
        for (from, to, why) in ranges {
            if let (Some(from), Some(to)) = (time(from), time(to)) {
                let args = json!({ "from": from, "to": to });
                out.push(keyless("find_by_date_range", args, why));
            }
        }
    }
}

/// Pages at the ends of paged conversations: the one with the most messages and the
/// lowest-ranking others.
fn pages(o: &Observed, out: &mut Vec<Probe>) {
    let paged: Vec<(&String, usize)> = o
        .paged
        .iter()
        .filter_map(|k| o.store.live.get(k).map(|c| (k, c.messages.len())))
        .collect();
    let mut keys: Vec<&String> = paged
        .iter()
        .max_by_key(|(k, n)| (*n, std::cmp::Reverse(*k)))
        .map(|(k, _)| *k)
        .into_iter()
        .collect();
    let others = paged.iter().map(|(k, _)| *k).filter(|k| !keys.contains(k));
    keys.extend(lowest(others, super::KEYS - 1));
    for key in keys {
        let n = o.store.live[key].messages.len() as u64;
        let mut page = |offset: u64, limit: u64, why| {
            let args = json!({ "offset": offset, "limit": limit });
            out.push(keyed(key, "messages_page", Kind::Read, args, why));
        };
        page(0, 1, "messages page: limit 1");
        page(
            0,
            (n + 1).min(MAX_LIMIT),
            "messages page: limit past the count",
        );
        page(0, MAX_LIMIT, "messages page: limit at the maximum (1000)");
        if n > 0 {
            page(n - 1, 1, "messages page: the last message alone");
        }
        page(n, 10, "messages page: offset at the end");
        page(n + 1, 10, "messages page: offset past the end");
    }
    if o.archived_read {
        out.push(keyless(
            "find_archived",
            json!({ "limit": 1 }),
            "archived: limit 1",
        ));
        let max = json!({ "limit": MAX_LIMIT });
        out.push(keyless(
            "find_archived",
            max,
            "archived: limit at the maximum (1000)",
        ));
    }
}

/// The sampled searches (and one with a letter outside ASCII) in other case and with a LIKE
/// metacharacter (`_`, `%`) or a backslash, the LIKE escape, inside: a store must take
/// them literally.
fn searches(o: &Observed, out: &mut Vec<Probe>) {
    let sampled = o.searches.iter().flat_map(|s| s.items());
    let unicode = o.unicode_search.iter().flat_map(|s| s.items());
    for (text, limit) in sampled.chain(unicode) {
        let chars: Vec<char> = text.chars().collect();
        let mid = chars.len() / 2;
        let with = |inserted: &str, replace: bool| -> String {
            let rest = if replace { mid + 1 } else { mid };
            let head: String = chars[..mid].iter().collect();
            let tail: String = chars[rest.min(chars.len())..].iter().collect();
            format!("{head}{inserted}{tail}")
        };
        let variants = [
            (
                text.to_uppercase(),
                "search: the recorded text in upper case",
            ),
            (
                text.to_lowercase(),
                "search: the recorded text in lower case",
            ),
            (
                with("_", true),
                "search: a LIKE `_` in place of a character",
            ),
            (with("%", false), "search: a LIKE `%` inside the text"),
            (
                with("\\", false),
                "search: a backslash (the LIKE escape) inside the text",
            ),
        ];
        for (variant, why) in variants {
            if variant != *text && !variant.trim().is_empty() {
                let args = json!({ "text": variant, "limit": limit });
                out.push(keyless("search_messages", args, why));
            }
        }
    }
}

/// Id lists with absent ids and duplicates.
fn id_lists(o: &Observed, out: &mut Vec<Probe>) {
    let (absent, other) = (
        o.absent_key("c-probe-absent"),
        o.absent_key("c-probe-absent-b"),
    );
    let Some(lists) = &o.id_lists else {
        return;
    };
    let args = json!({ "ids": [absent, other, absent] });
    out.push(keyless("find_by_ids", args, "find by ids: only absent ids"));
    for ids in lists.items().filter(|ids| !ids.is_empty()) {
        let mut twice = vec![absent.clone()];
        for id in ids.iter().rev() {
            twice.extend([id.clone(), id.clone()]);
        }
        twice.push(other.clone());
        let args = json!({ "ids": twice });
        let why = "find by ids: every id twice, reversed, between absent ids";
        out.push(keyless("find_by_ids", args, why));
        let args = json!({ "ids": [ids[0], ids[0], ids[0]] });
        out.push(keyless(
            "find_by_ids",
            args,
            "find by ids: one id three times",
        ));
    }
}

/// Reads of what does not exist: a conversation never created, one deleted, a message,
/// participant, relation, project or identity that is not there.
fn absent(o: &Observed, out: &mut Vec<Probe>) {
    let never = o.absent_key("c-probe-absent");
    let deleted = lowest(&o.store.deleted, 1).into_iter().next();
    let mut targets = vec![(&never, "absent conversation: never created")];
    targets.extend(deleted.map(|d| (d, "absent conversation: deleted")));
    for (key, why) in targets {
        for op in [
            "find_by_id",
            "exists",
            "last_message",
            "count_messages",
            "list_participants",
            "unread_counts",
            "stored_files",
        ] {
            out.push(keyed(key, op, Kind::Read, json!({}), why));
        }
        let page = json!({ "offset": 0, "limit": 10 });
        out.push(keyed(key, "messages_page", Kind::Read, page, why));
    }
    for key in o.probe_keys() {
        let conv = &o.store.live[key];
        let message = fresh("m-probe-absent", |m| conv.message(m).is_some());
        let args = json!({ "message_id": message });
        let why = "absent message of an existing conversation";
        out.push(keyed(key, "message_by_id", Kind::Read, args.clone(), why));
        out.push(keyed(key, "read_receipts", Kind::Read, args, why));
        // A message id another conversation holds: found only where the key is ignored.
        let elsewhere = o
            .store
            .live
            .iter()
            .filter(|(k, _)| *k != key)
            .flat_map(|(_, c)| c.messages.iter())
            .find(|m| conv.message(&m.id).is_none());
        if let Some(m) = elsewhere {
            let args = json!({ "message_id": m.id });
            let why = "message of another conversation";
            out.push(keyed(key, "message_by_id", Kind::Read, args, why));
        }
        let stranger = fresh("u-probe-absent", |i| o.identities.contains(i));
        let args = json!({ "identity_id": stranger });
        let why = "has_unread of an identity not taking part";
        out.push(keyed(key, "has_unread", Kind::Read, args, why));
    }
    let project = fresh("p-probe-absent", |p| o.projects.contains(p));
    let known = o
        .projects
        .iter()
        .next()
        .cloned()
        .unwrap_or_else(|| project.clone());
    let args = json!({ "project_a": known, "project_b": project });
    out.push(keyless("find_by_relation", args, "absent relation"));
    let args = json!({ "project": project });
    out.push(keyless("conversations_of_project", args, "absent project"));
    let identity = fresh("u-probe-absent", |i| o.identities.contains(i));
    let args = json!({ "identity_id": identity });
    out.push(keyless(
        "find_by_participant",
        args.clone(),
        "absent identity",
    ));
    out.push(keyless("unread_total", args, "absent identity"));
}
