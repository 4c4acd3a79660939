//! The speed and memory of `cutover verify` on the real servers, and reladiff's time on the
//! same tables. One run prints one table of figures:
//!
//! 1. The dump path, PostgreSQL to PostgreSQL: two tables of kv-sized aggregates (a text key,
//!    a number, a name and a small `jsonb`), each in a fresh database, declared with
//!    `[keys]` and `[dump]`, verified through `cutover::verify::verify` with the hashing
//!    path off: aggregates per second.
//! 2. The dump path, conversations MongoDB-wire (SecantusDB) to PostgreSQL: a generated
//!    cassette replayed onto both repositories; then the legacy read alone (every key
//!    paged, every batch dumped, nothing else), the candidate alone, and the verify of both
//!    with the domain's rules: aggregates per second each, and the verify's rate as a share
//!    of the slower side's.
//! 3. The hashing path: two tables of 1,000,000 equal rows (`generate_series`), declared
//!    with `[checksum]` of one form: the time to verify them; then 10 rows changed on the
//!    candidate, spread over the key range: the time to find them, and whether exactly those
//!    10 keys are the results.
//! 4. Memory: the maximum resident set size of the release `cutover verify --no-hashing`
//!    on the 1,000,000-key tables (`/usr/bin/time -v`), and its rate.
//! 5. reladiff (PyPI, installed by `benches/reladiff.sh` into a virtualenv under the build
//!    directory) on the same two 1,000,000-row tables, equal and with the 10 differences.
//!
//! Run (release build; PostgreSQL at `DATABASE_URL` or 127.0.0.1:5432, SecantusDB started
//! on a free port; every database is fresh and dropped at the end):
//!
//! ```sh
//! cargo bench --bench verify
//! ```
//!
//! Sizes: `VERIFY_BENCH_KV` (figure 1, default 200,000), `VERIFY_BENCH_CONVERSATIONS`
//! (figure 2, default 600), `VERIFY_BENCH_ROWS` (figures 3 to 5, default 1,000,000);
//! `VERIFY_BENCH_SKIP` lists figures to leave out (e.g. `2,5`).

use cutover::cassette::{Header, Kind, Reader, Writer};
use cutover::replay::{self, Pair, ReplayOptions, RequestResult};
use cutover::targets::Target;
use cutover::verify::{self, Checkpoint, Output, VerifyOptions};
use cutover::Rules;
use cutover_conversations::generate;
use cutover_conversations::setup::Servers;
use cutover_declared::sql::SqlTarget;
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `cutover` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One line of the table.
struct Figure {
    number: &'static str,
    what: String,
    value: String,
    target: String,
    met: Option<bool>,
}

/// The figures so far.
#[derive(Default)]
struct Table(Vec<Figure>);

impl Table {
    fn add(
        &mut self,
        number: &'static str,
        what: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) {
        let figure = Figure {
            number,
            what: what.into(),
            value: value.into(),
            target: target.into(),
            met,
        };
        println!(
            "[{}] {}: {} {}",
            figure.number, figure.what, figure.value, figure.target
        );
        self.0.push(figure);
    }

    fn print(&self) {
        let what = self.0.iter().map(|f| f.what.chars().count()).max();
        let what = what.unwrap_or(0).max(8);
        let value = self.0.iter().map(|f| f.value.chars().count()).max();
        let value = value.unwrap_or(0).max(5);
        let target = self.0.iter().map(|f| f.target.chars().count()).max();
        let target = target.unwrap_or(0).max(6);
        println!();
        println!(
            "cutover verify, measured {} on {} cores (release build)",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "{:<3} {:<what$}  {:>value$}  {:<target$}  met",
            "#", "measured", "value", "target"
        );
        println!("{}", "-".repeat(3 + what + value + target + 12));
        for f in &self.0 {
            let met = match f.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            println!(
                "{:<3} {:<what$}  {:>value$}  {:<target$}  {met}",
                f.number, f.what, f.value, f.target
            );
        }
    }
}

/// A verify's output kept in memory: the results that are not equal, the equal count.
#[derive(Default)]
struct Kept {
    results: Vec<RequestResult>,
    equal: u64,
}

impl Output for Kept {
    fn result(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.results.push(result.clone());
        Ok(())
    }

    fn equal(&mut self, n: u64) -> std::io::Result<()> {
        self.equal += n;
        Ok(())
    }

    fn reached(&mut self, _: &Checkpoint) -> std::io::Result<()> {
        Ok(())
    }
}

/// A verify of `pair` through the library: what it kept, its figures and its wall time.
async fn verify_pair(pair: &Pair, options: &VerifyOptions) -> (Kept, verify::VerifyRun) {
    let mut kept = Kept::default();
    let run = verify::verify(pair, options, &mut kept)
        .await
        .expect("the verify runs");
    assert!(run.stopped.is_none(), "a side stopped: {:?}", run.stopped);
    (kept, run)
}

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

fn skipped(figure: &str) -> bool {
    std::env::var("VERIFY_BENCH_SKIP")
        .unwrap_or_default()
        .split(',')
        .any(|s| s.trim() == figure)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A fresh database holding what `schema` makes.
async fn database(server: &PostgresServer, schema: &str) -> FreshPostgres {
    let db = server.fresh_database().await.expect("a fresh database");
    let mut conn = sqlx::PgConnection::connect_with(&db.options)
        .await
        .expect("connecting");
    sqlx::raw_sql(schema)
        .execute(&mut conn)
        .await
        .expect("the schema and rows");
    db
}

async fn execute(db: &FreshPostgres, sql: &str) {
    let mut conn = sqlx::PgConnection::connect_with(&db.options)
        .await
        .expect("connecting");
    sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
}

/// The declared file `text`, written into `dir` as `name`.
fn declared(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing the declared file");
    path
}

async fn sql_target(url: &str, file: &Path) -> Arc<dyn Target> {
    Arc::new(
        SqlTarget::open(url, file)
            .await
            .expect("the declared target"),
    )
}

/// Figure 1: kv-sized aggregates, PostgreSQL to PostgreSQL, on the dump path.
const KV_SCHEMA: &str = r#"
CREATE TABLE kv (key text COLLATE "C" PRIMARY KEY, n int8 NOT NULL, name text, attrs jsonb);
INSERT INTO kv SELECT 'user' || lpad(i::text, 8, '0'), i, md5(i::text),
  jsonb_build_object('plan', CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END, 'tags', jsonb_build_array('a', i % 7), 'active', i % 2 = 0)
FROM generate_series(1, {rows}) i;
ANALYZE kv;
"#;

const KV_DECLARED: &str = r#"
domain = "kv"
[op.get]
kind = "read"
sql = "SELECT n, name, attrs FROM kv WHERE key = :key"
result = "row"
[state]
sql = "SELECT n, name, attrs FROM kv WHERE key = :key"
result = "row"
[keys]
sql = "SELECT key FROM kv WHERE (:after::text IS NULL OR key > :after) ORDER BY key LIMIT :limit"
[dump]
sql = "SELECT key, n, name, attrs FROM kv WHERE key = ANY(:keys)"
result = "row"
"#;

async fn kv_dump(server: &PostgresServer, dir: &Path, table: &mut Table) {
    let rows = env_size("VERIFY_BENCH_KV", 200_000);
    let schema = KV_SCHEMA.replace("{rows}", &rows.to_string());
    let (legacy_db, candidate_db) =
        tokio::join!(database(server, &schema), database(server, &schema));
    let file = declared(dir, "kv.toml", KV_DECLARED);
    let pair = Pair {
        legacy: sql_target(&legacy_db.url(), &file).await,
        candidate: sql_target(&candidate_db.url(), &file).await,
    };
    let options = VerifyOptions {
        hashing: false,
        ..VerifyOptions::default()
    };
    let (kept, run) = verify_pair(&pair, &options).await;
    assert_eq!(
        kept.equal, rows as u64,
        "every key equal: {:?}",
        run.info.keys
    );
    let rate = per_sec(run.info.keys.total(), run.elapsed);
    table.add(
        "1",
        format!(
            "dump path, PostgreSQL to PostgreSQL, {} kv-sized aggregates ({})",
            thousands(rows as f64),
            secs(run.elapsed)
        ),
        format!("{} /s", thousands(rate)),
        ">= 20,000 /s",
        Some(rate >= 20_000.0),
    );
}

/// Figures 3 to 5: 1,000,000 rows on both sides.
const BIG_SCHEMA: &str = r#"
CREATE TABLE kv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
INSERT INTO kv SELECT 'key' || lpad(i::text, 7, '0'), md5(i::text) FROM generate_series(1, {rows}) i;
ANALYZE kv;
"#;

const BIG_DECLARED: &str = r#"
domain = "kv"
[op.get]
kind = "read"
sql = "SELECT value FROM kv WHERE key = :key"
result = "scalar"
[state]
sql = "SELECT value FROM kv WHERE key = :key"
result = "scalar"
[keys]
sql = "SELECT key FROM kv WHERE (:after::text IS NULL OR key > :after) ORDER BY key LIMIT :limit"
[dump]
sql = "SELECT key, value FROM kv WHERE key = ANY(:keys)"
result = "scalar"
[checksum]
form = "kv-v1"
sql = "SELECT key, value AS text FROM kv"
"#;

/// The 10 keys changed on the candidate, spread over the key range.
fn changed_keys(rows: usize) -> Vec<String> {
    let step = (rows / 10).max(1);
    (0..10)
        .map(|i| format!("key{:07}", (i * step + step / 3 + 1).min(rows)))
        .collect()
}

struct Big {
    legacy: FreshPostgres,
    candidate: FreshPostgres,
    file: PathBuf,
    rows: usize,
}

async fn hashing(server: &PostgresServer, dir: &Path, table: &mut Table, reladiff: bool) -> Big {
    let rows = env_size("VERIFY_BENCH_ROWS", 1_000_000);
    let schema = BIG_SCHEMA.replace("{rows}", &rows.to_string());
    let started = Instant::now();
    let (legacy, candidate) = tokio::join!(database(server, &schema), database(server, &schema));
    println!(
        "two tables of {rows} rows made in {}",
        secs(started.elapsed())
    );
    let file = declared(dir, "big.toml", BIG_DECLARED);
    let pair = Pair {
        legacy: sql_target(&legacy.url(), &file).await,
        candidate: sql_target(&candidate.url(), &file).await,
    };
    let options = VerifyOptions::default();
    let (kept, run) = verify_pair(&pair, &options).await;
    assert_eq!(
        kept.equal, rows as u64,
        "every key equal: {:?}",
        run.info.keys
    );
    assert!(run.info.hashing_off.is_none(), "{:?}", run.info.hashing_off);
    table.add(
        "3a",
        format!(
            "hashing path, {} equal rows: time to verify ({} checksums)",
            thousands(rows as f64),
            run.info.checksums
        ),
        secs(run.elapsed),
        "< 10 s",
        Some(run.elapsed < Duration::from_secs(10)),
    );
    let big = Big {
        legacy,
        candidate,
        file,
        rows,
    };
    if reladiff {
        reladiff_run(&big, table, "5a", "equal").await;
    }
    let keys = changed_keys(rows);
    let list: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    execute(
        &big.candidate,
        &format!(
            "UPDATE kv SET value = value || '!' WHERE key IN ({})",
            list.join(", ")
        ),
    )
    .await;
    let (kept, run) = verify_pair(&pair, &options).await;
    let mut found: Vec<String> = kept.results.iter().filter_map(|r| r.key.clone()).collect();
    found.sort();
    let exact = found == keys && run.info.keys.divergent == 10;
    let dumped: u64 = run
        .info
        .ranges
        .iter()
        .filter(|r| r.path == verify::Path::Dump)
        .map(|r| r.keys)
        .sum();
    table.add(
        "3b",
        format!(
            "hashing path, 10 rows changed: time to find them ({} checksums, {} keys dumped)",
            run.info.checksums, dumped
        ),
        secs(run.elapsed),
        "< 20 s",
        Some(run.elapsed < Duration::from_secs(20)),
    );
    table.add(
        "3c",
        "hashing path, 10 rows changed: the keys in the results",
        format!("{} of 10 ({} results)", found.len(), kept.results.len()),
        "exactly the 10",
        Some(exact),
    );
    if reladiff {
        reladiff_run(&big, table, "5b", "10 rows changed").await;
    }
    big
}

/// The `cutover` binary built with this bench.
fn cutover_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cutover"))
}

/// Figure 4: the release CLI on the dump path over the big tables, under `/usr/bin/time -v`.
fn memory(big: &Big, dir: &Path, table: &mut Table) {
    let spec = |db: &FreshPostgres| format!("sql:ops={},url={}", big.file.display(), db.url());
    let out = dir.join("verify-out");
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(cutover_bin())
        .arg("verify")
        .args(["--legacy", &spec(&big.legacy)])
        .args(["--candidate", &spec(&big.candidate)])
        .arg("--out")
        .arg(&out)
        .arg("--no-hashing")
        .output()
        .expect("/usr/bin/time runs (apt-get install time)");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    // 1: divergences found (the 10 changed rows); anything else is a failure.
    assert_eq!(
        code,
        Some(1),
        "cutover verify --no-hashing: {}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    let kb: u64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("/usr/bin/time -v reports the maximum resident set size");
    let mb = kb as f64 / 1024.0;
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap_or_default();
    table.add(
        "4a",
        format!(
            "release CLI `verify --no-hashing`, {} keys: maximum resident set size",
            thousands(big.rows as f64)
        ),
        format!("{mb:.1} MB"),
        "< 200 MB",
        Some(mb < 200.0),
    );
    table.add(
        "4b",
        format!(
            "release CLI `verify --no-hashing`, {} keys: wall time, rate ({} results)",
            thousands(big.rows as f64),
            results.lines().count()
        ),
        format!(
            "{}, {} /s",
            secs(elapsed),
            thousands(per_sec(big.rows as u64, elapsed))
        ),
        "",
        None,
    );
}

/// The reladiff program, installed by `benches/reladiff.sh` when missing.
fn reladiff_bin() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reladiff.sh");
    let output = Command::new("sh").arg(&script).arg("--install").output();
    match output {
        Ok(o) if o.status.success() => {
            let path = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Some(PathBuf::from(path))
        }
        Ok(o) => {
            eprintln!(
                "reladiff could not be installed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("reladiff could not be installed: {e}");
            None
        }
    }
}

/// Figure 5: reladiff on the same two tables.
async fn reladiff_run(big: &Big, table: &mut Table, number: &'static str, state: &str) {
    let Some(bin) = reladiff_bin() else {
        table.add(
            number,
            format!("reladiff, {state}"),
            "not installed",
            "",
            None,
        );
        return;
    };
    let url = |db: &FreshPostgres| {
        format!(
            "postgresql://{}@{}:{}/{}",
            db.options.get_username(),
            db.options.get_host(),
            db.options.get_port(),
            db.name
        )
    };
    let started = Instant::now();
    let output = Command::new(&bin)
        .arg(url(&big.legacy))
        .arg("kv")
        .arg(url(&big.candidate))
        .arg("kv")
        .args(["-k", "key", "-c", "value"])
        .output()
        .expect("reladiff runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!(
            "reladiff failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        table.add(number, format!("reladiff, {state}"), "failed", "", None);
        return;
    }
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('-') || l.starts_with('+'))
        .count();
    table.add(
        number,
        format!(
            "reladiff (PyPI), {} rows, {state}: time ({lines} diff lines)",
            thousands(big.rows as f64)
        ),
        secs(elapsed),
        "",
        None,
    );
}

/// Every key of `target` paged and every batch dumped, as a verify reads one side: the
/// aggregates read and the time.
async fn read_alone(target: &Arc<dyn Target>, batch: usize) -> (u64, Duration) {
    let started = Instant::now();
    let (mut after, mut read) = (None::<String>, 0u64);
    loop {
        let page = target
            .keys(after.as_deref(), batch * 2)
            .await
            .expect("keys")
            .expect("the target enumerates its keys");
        for chunk in page.chunks(batch) {
            let dumped = target.dump_batch(chunk).await.expect("a batch dump");
            assert_eq!(dumped.len(), chunk.len());
            read += dumped.len() as u64;
        }
        if page.len() < batch * 2 {
            break;
        }
        after = page.last().cloned();
    }
    (read, started.elapsed())
}

/// Figure 2: conversations, MongoDB-wire to PostgreSQL.
async fn conversations(dir: &Path, table: &mut Table) {
    let count = env_size("VERIFY_BENCH_CONVERSATIONS", 600);
    let servers = Servers::start().await.expect("both servers start");
    let pair = servers.pair().await.expect("both repositories");
    let cassette = dir.join("conversations.jsonl");
    // The writes alone build the stores; without keyless reads nothing waits on a barrier.
    let requests = generate::cassette(count, 7);
    let mut writer = Writer::create(&cassette, &Header::new("conversations")).unwrap();
    for r in requests
        .iter()
        .filter(|r| r.kind == Kind::Write && r.key.is_some())
    {
        writer.write(r).unwrap();
    }
    writer.finish().unwrap();
    let started = Instant::now();
    let loaded = replay::replay(
        Reader::open(&cassette).unwrap(),
        &pair,
        &ReplayOptions {
            concurrency: 32,
            check_state: false,
            ..ReplayOptions::default()
        },
        &mut [],
    )
    .await
    .expect("the cassette replays");
    println!(
        "{} requests of {count} conversations loaded into both repositories in {}",
        loaded.requests,
        secs(started.elapsed())
    );
    let options = VerifyOptions::default();
    let (legacy_n, legacy_t) = read_alone(&pair.legacy, options.batch).await;
    let (candidate_n, candidate_t) = read_alone(&pair.candidate, options.batch).await;
    let started = Instant::now();
    let ((both_l, _), (both_c, _)) = tokio::join!(
        read_alone(&pair.legacy, options.batch),
        read_alone(&pair.candidate, options.batch)
    );
    let both_t = started.elapsed();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conversations.rules.toml");
    let options = VerifyOptions {
        rules: Some(Arc::new(Rules::load(rules).expect("the domain's rules"))),
        ..options
    };
    let (kept, run) = verify_pair(&pair.pair, &options).await;
    let keys = run.info.keys;
    let (l_rate, c_rate) = (
        per_sec(legacy_n, legacy_t),
        per_sec(candidate_n, candidate_t),
    );
    let v_rate = per_sec(keys.total(), run.elapsed);
    table.add(
        "2a",
        format!(
            "conversations, legacy (SecantusDB) read alone: {} aggregates in {}",
            legacy_n,
            secs(legacy_t)
        ),
        format!("{} /s", thousands(l_rate)),
        "",
        None,
    );
    table.add(
        "2b",
        format!(
            "conversations, candidate (PostgreSQL) read alone: {} aggregates in {}",
            candidate_n,
            secs(candidate_t)
        ),
        format!("{} /s", thousands(c_rate)),
        "",
        None,
    );
    table.add(
        "2c",
        format!(
            "conversations, verify of both: {} keys in {} ({} equal, {} not)",
            keys.total(),
            secs(run.elapsed),
            kept.equal,
            kept.results.len()
        ),
        format!("{} /s", thousands(v_rate)),
        "",
        None,
    );
    table.add(
        "2e",
        format!(
            "conversations, both sides read at once, nothing judged: {} aggregates in {}",
            both_l + both_c,
            secs(both_t)
        ),
        format!("{} keys/s", thousands(per_sec(both_l.max(both_c), both_t))),
        "",
        None,
    );
    let ratio = v_rate / l_rate.min(c_rate);
    table.add(
        "2d",
        "conversations, verify rate / the slower side's rate alone",
        format!("{:.0} %", ratio * 100.0),
        ">= 80 %",
        Some(ratio >= 0.8),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not used.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut table = Table::default();
    let started = Instant::now();
    runtime.block_on(async {
        let server = PostgresServer::start().await.expect("a PostgreSQL server");
        println!("PostgreSQL: {}", server.source());
        if !skipped("1") {
            kv_dump(&server, dir.path(), &mut table).await;
        }
        if !(skipped("3") && skipped("4") && skipped("5")) {
            let big = hashing(&server, dir.path(), &mut table, !skipped("5")).await;
            if !skipped("4") {
                memory(&big, dir.path(), &mut table);
            }
        }
        if !skipped("2") {
            conversations(dir.path(), &mut table).await;
        }
    });
    table.print();
    println!("whole run: {}", secs(started.elapsed()));
}
