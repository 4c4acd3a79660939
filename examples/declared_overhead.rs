//! The harness's overhead over the raw driver: a `kv` cassette replayed (recorded legacy,
//! declared PostgreSQL candidate, `examples/declared/kv-postgres.toml`) at a concurrency,
//! beside the same statements issued with sqlx directly by as many workers (each write
//! followed by the same state query the replay reads back). Both on a fresh database.
//!
//! ```bash
//! cargo run --release --example kv_cassette -- /tmp/kv-20k.jsonl 20000 2000 42
//! cargo run --release --example declared_overhead -- /tmp/kv-20k.jsonl 16
//! ```
//!
//! A third argument runs that many rounds, alternating the two, and keeps the best of each;
//! a fourth, `harness` or `raw`, runs only that one (to profile it).

use cutover::cassette::{Kind, Reader, Request};
use cutover::replay::{JsonlSink, Pair, ReplayOptions};
use cutover::replay_report;
use cutover::targets::recorded::Recorded;
use cutover_declared::sql::SqlTarget;
use cutover_servers::postgres::PostgresServer;
use serde_json::Value;
use sqlx::types::Json;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (cassette, concurrency, rounds, only) = match args.as_slice() {
        [_, cassette, c, rest @ ..] if rest.len() <= 2 => (
            cassette.to_string(),
            c.parse::<usize>()?,
            rest.first().map_or(Ok(1), |n| n.parse::<usize>())?,
            rest.get(1).copied(),
        ),
        _ => {
            return Err(
                "usage: declared_overhead CASSETTE CONCURRENCY [ROUNDS [harness|raw]]".into(),
            )
        }
    };
    let server = PostgresServer::start().await?;
    let db = server.fresh_database().await?;
    let pool = sqlx::PgPool::connect(&db.url()).await?;
    sqlx::raw_sql(&std::fs::read_to_string("examples/declared/kv.sql")?)
        .execute(&pool)
        .await?;

    let target =
        SqlTarget::open(&db.url(), Path::new("examples/declared/kv-postgres.toml")).await?;
    let pair = Pair {
        legacy: Arc::new(Recorded::new()),
        candidate: Arc::new(target),
    };
    // Rounds alternate the two, each on an emptied table; the best of each is kept.
    let (mut harness, mut raw) = (None::<Duration>, None::<Duration>);
    for _ in 0..rounds {
        if only != Some("raw") {
            // On a worker thread, as `cutover replay` runs it.
            let (cassette, pair) = (cassette.clone(), pair.clone());
            let took = tokio::spawn(async move {
                harness_run(&cassette, &pair, concurrency)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await??;
            harness = Some(harness.map_or(took, |best| best.min(took)));
        }
        pair.candidate.reset().await?;
        if only != Some("harness") {
            let took = raw_driver(&cassette, &pool, concurrency).await?;
            raw = Some(raw.map_or(took, |best| best.min(took)));
            pair.candidate.reset().await?;
        }
    }
    let (total, rate) = {
        let total = requests(&cassette)?.len() as f64;
        (total, move |d: Duration| total / d.as_secs_f64())
    };
    print!("{total} requests, concurrency {concurrency}, best of {rounds}:");
    if let Some(h) = harness {
        print!(
            " harness {:.0} requests/s ({:.2} s)",
            rate(h),
            h.as_secs_f64()
        );
    }
    if let Some(r) = raw {
        print!(
            " raw sqlx {:.0} requests/s ({:.2} s)",
            rate(r),
            r.as_secs_f64()
        );
    }
    if let (Some(h), Some(r)) = (harness, raw) {
        print!(", overhead {:.1}%", (rate(r) - rate(h)) / rate(r) * 100.0);
    }
    println!();
    Ok(())
}

/// The replay of `cassette` on `pair` at `concurrency`, timed (all requests must be equal).
async fn harness_run(
    cassette: &str,
    pair: &Pair,
    concurrency: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let options = ReplayOptions {
        concurrency,
        ..ReplayOptions::default()
    };
    let out = tempfile::tempdir()?;
    let mut sink = JsonlSink::create(out.path().join("results.jsonl"))?;
    let start = Instant::now();
    let report = replay_report(Reader::open(cassette)?, pair, &options, &mut [&mut sink])
        .await?
        .report;
    let elapsed = start.elapsed();
    assert_eq!(
        report.totals.equal, report.totals.total,
        "the declared target replays equal"
    );
    Ok(elapsed)
}

/// The same statements through sqlx by `concurrency` workers, timed.
async fn raw_driver(
    cassette: &str,
    pool: &sqlx::PgPool,
    concurrency: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let queue = Arc::new(Mutex::new(requests(cassette)?.into_iter()));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (queue, pool) = (Arc::clone(&queue), pool.clone());
            tokio::spawn(async move {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(request) = next else { break };
                    raw(&pool, &request).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    Ok(start.elapsed())
}

/// Every request of `cassette`.
fn requests(cassette: &str) -> Result<Vec<Request>, Box<dyn std::error::Error>> {
    let mut requests = Vec::new();
    let mut reader = Reader::open(cassette)?;
    while let Some(request) = reader.next_request()? {
        requests.push(request);
    }
    Ok(requests)
}

/// One request as the declared statements run it, errors ignored (a conflict is an answer).
async fn raw(pool: &sqlx::PgPool, request: &Request) {
    let key = request.key.clone().unwrap_or_default();
    let value = Json(request.args.get("value").cloned().unwrap_or(Value::Null));
    let _ = match request.op.as_str() {
        "get" => sqlx::query("SELECT value FROM kv WHERE key = $1").bind(&key).fetch_all(pool).await,
        "put" => sqlx::query("INSERT INTO kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value RETURNING (xmax = 0) AS created")
            .bind(&key).bind(&value).fetch_all(pool).await,
        "insert" => sqlx::query("INSERT INTO kv (key, value) VALUES ($1, $2) RETURNING NULL::int").bind(&key).bind(&value).fetch_all(pool).await,
        "delete" => sqlx::query("DELETE FROM kv WHERE key = $1 RETURNING NULL::int").bind(&key).fetch_all(pool).await,
        _ => sqlx::query("SELECT key, value FROM kv WHERE starts_with(key, COALESCE($1, '')) ORDER BY key COLLATE \"C\" LIMIT $2")
            .bind(request.args.get("prefix").and_then(Value::as_str))
            .bind(request.args.get("limit").and_then(Value::as_i64))
            .fetch_all(pool).await,
    };
    if request.kind == Kind::Write {
        let _ = sqlx::query("SELECT value FROM kv WHERE key = $1")
            .bind(&key)
            .fetch_all(pool)
            .await;
    }
}
