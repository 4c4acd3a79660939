//! Both repositories on fresh databases of real servers: what the demo and the tests use.

use super::events::{Defect, Publisher};
use super::mongo::Mongo;
use super::postgres::{Postgres, Queries};
use super::{DomainTarget, Failure, Repository};
use cutover::Pair;
use cutover_servers::mongo::{FreshMongo, MongoServer};
use cutover_servers::postgres::{FreshPostgres, PostgresServer};
use cutover_servers::ServiceError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The running servers; the databases made on them are dropped before they stop.
pub struct Servers {
    /// The MongoDB server the legacy repositories' databases are made on.
    pub mongo: MongoServer,
    /// The PostgreSQL server the new repositories' databases are made on.
    pub postgres: PostgresServer,
}

impl Servers {
    /// Starts (or finds) both servers.
    pub async fn start() -> Result<Servers, ServiceError> {
        let (mongo, postgres) = tokio::join!(MongoServer::start(), PostgresServer::start());
        Ok(Servers {
            mongo: mongo?,
            postgres: postgres?,
        })
    }

    /// The legacy repository on a fresh MongoDB database.
    pub async fn legacy(&self) -> Result<(Mongo, FreshMongo), ServiceError> {
        let db = self.mongo.fresh_database().await?;
        let repo = Mongo::connect(&db.uri, &db.name)
            .await
            .map_err(setup_error("MongoDB"))?;
        repo.reset().await.map_err(setup_error("MongoDB"))?;
        Ok((repo, db))
    }

    /// The new repository on a fresh PostgreSQL database, with the given queries.
    pub async fn candidate(
        &self,
        queries: Queries,
    ) -> Result<(Postgres, FreshPostgres), ServiceError> {
        let db = self.postgres.fresh_database().await?;
        let repo = Postgres::connect(&db.url())
            .await
            .map_err(setup_error("PostgreSQL"))?;
        Ok((repo.with_queries(queries), db))
    }

    /// Both repositories as targets, each on a fresh database.
    pub async fn pair(&self) -> Result<Fresh, ServiceError> {
        let ((legacy, mongo_db), (candidate, postgres_db)) = (
            self.legacy().await?,
            self.candidate(Queries::default()).await?,
        );
        Ok(Fresh {
            pair: Pair {
                legacy: Arc::new(DomainTarget(legacy)),
                candidate: Arc::new(DomainTarget(candidate)),
            },
            events: None,
            _databases: (mongo_db, postgres_db),
        })
    }

    /// [`Servers::pair`] with both repositories publishing their domain events to the NATS
    /// server at `nats` (`nats://HOST:PORT`), each under a subject prefix of its own, made
    /// for this pair ([`Fresh::events`]); the candidate with `defect` planted.
    pub async fn pair_publishing(
        &self,
        nats: &str,
        defect: Option<Defect>,
    ) -> Result<Fresh, ServiceError> {
        let ((legacy, mongo_db), (candidate, postgres_db)) = (
            self.legacy().await?,
            self.candidate(Queries::default()).await?,
        );
        let prefix = unique_prefix();
        let urls = [
            format!("{nats}/{prefix}.legacy"),
            format!("{nats}/{prefix}.candidate"),
        ];
        let publisher = |url: String| async move {
            Publisher::connect(&url)
                .await
                .map_err(|e| ServiceError::new(format!("publishing events: {e}")))
        };
        let legacy = legacy.with_events(publisher(urls[0].clone()).await?);
        let candidate = candidate.with_events(publisher(urls[1].clone()).await?, defect);
        let [legacy_url, candidate_url] = urls;
        Ok(Fresh {
            pair: Pair {
                legacy: Arc::new(DomainTarget(legacy)),
                candidate: Arc::new(DomainTarget(candidate)),
            },
            events: Some(Published {
                legacy: legacy_url,
                candidate: candidate_url,
            }),
            _databases: (mongo_db, postgres_db),
        })
    }
}

/// A subject prefix no other pair uses: `cutover.demo.PID.N`.
fn unique_prefix() -> String {
    static PAIRS: AtomicU64 = AtomicU64::new(0);
    let n = PAIRS.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("cutover.demo.{}-{nanos}.{n}", std::process::id())
}

/// Where each repository of a [`Fresh`] pair publishes its events: `nats://HOST:PORT/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The legacy's (MongoDB) address.
    pub legacy: String,
    /// The candidate's (PostgreSQL) address.
    pub candidate: String,
}

/// The legacy repository (MongoDB) and the new one (PostgreSQL, default queries) as a
/// replay's [`Pair`], and the fresh databases they live in (dropped with this value).
pub struct Fresh {
    /// Both repositories as targets.
    pub pair: Pair,
    /// Where they publish their events, when they do ([`Servers::pair_publishing`]).
    pub events: Option<Published>,
    _databases: (FreshMongo, FreshPostgres),
}

impl std::ops::Deref for Fresh {
    type Target = Pair;

    fn deref(&self) -> &Pair {
        &self.pair
    }
}

fn setup_error(store: &'static str) -> impl Fn(Failure) -> ServiceError {
    move |f| ServiceError::new(format!("setting up the {store} repository: {f}"))
}
