//! Declared operations on MongoDB: each operation names a collection and one action on it
//! (`find`, `find_one`, `aggregate`, `insert_one`, `update_one`, `delete_one`, `count`),
//! written as TOML tables that become BSON, with `{ "$param" = "name" }` where a request's
//! argument goes (`docs/src/declared.md`, "MongoDB").
//!
//! ```toml
//! domain = "kv"
//! name = "kv-mongodb"                    # in reports; the file's stem by default
//!
//! [errors]                               # server error code -> error kind
//! "11000" = "conflict"
//!
//! [reset]                                # every document of each is deleted
//! collections = ["kv"]
//!
//! [state]                                # the stored state of a key, after each write
//! collection = "kv"
//! find_one = { filter = { _id = { "$param" = "key" } }, projection = { _id = 0, value = 1 } }
//! result = "scalar"                      # doc | docs | scalar
//!
//! [op.put]
//! kind = "write"
//! collection = "kv"
//! update_one = { filter = { _id = { "$param" = "key" } }, update = { "$set" = { value = { "$param" = "value" } } }, upsert = true }
//! result = "upserted"                    # docs | doc | scalar | affected | upserted | nothing
//! ```
//!
//! Arguments are inserted as BSON values, never as text, and wrapped where the server
//! would read a document as an operator ([`template`]). Answers pass through the
//! cross-store value model ([`crate::value::bson`]); `_id` is part of a document
//! unless the projection leaves it out. A server error whose code is declared in
//! `[errors]` is the answer; any other is an infrastructure failure.
//!
//! `[keys]` ([`keys`]) adds what `cutover verify` asks: the keys in order, by their BSON
//! type, and the states of a batch of keys in one `find`.

pub mod file;
pub mod keys;
pub mod template;

use crate::value::bson::to_canonical;
use crate::DeclaredError;
use async_trait::async_trait;
use cutover::cassette::{ErrorKind, Kind, Outcome, Request};
use cutover::targets::{Dumped, InfraError, KeyOrder, Target};
use cutover_servers::guard::ResetGuard;
use cutover_servers::spec;
use file::{Action, Answer, Compiled};
use futures::TryStreamExt;
use keys::{Batch, KeyType, Keys};
use mongodb::bson::{doc, Bson, Document, RawDocumentBuf};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use template::Template;

/// A declared target on MongoDB.
pub struct MongoTarget {
    name: String,
    compiled: Compiled,
    database: Database,
    /// Whether `reset` may empty the database.
    guard: ResetGuard,
    /// The database's identity.
    identity: String,
    /// The fresh database made for this target, dropped with it.
    _holds: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// What an action gave.
enum Ran {
    /// The documents found (a `find_one` gives at most one).
    Docs(Vec<Document>),
    /// A count.
    Count(u64),
    /// A write: the documents it matched, inserted or deleted, and whether it upserted.
    Wrote { affected: u64, upserted: bool },
    /// A server error: its code and message.
    Refused { code: i32, message: String },
    /// An argument the action cannot take.
    Invalid(String),
}

impl MongoTarget {
    /// Connects to `uri` (`mongodb://HOST:PORT/DATABASE`, the database in its path) and
    /// reads the declaration at `ops`.
    pub async fn open(uri: &str, ops: &Path) -> Result<MongoTarget, DeclaredError> {
        let database = spec::Database::resolve(uri, spec::Safety::default()).await?;
        MongoTarget::open_in(database, ops).await
    }

    /// [`MongoTarget::open`] on a spec's resolved `database`, keeping its guard and fresh
    /// database.
    pub async fn open_in(
        resolved: spec::Database,
        ops: &Path,
    ) -> Result<MongoTarget, DeclaredError> {
        let uri = resolved.url.as_str();
        let compiled = Compiled::load(ops).map_err(|e| e.to_string())?;
        let options = ClientOptions::parse(uri)
            .await
            .map_err(|e| format!("`{uri}`: {e}"))?;
        let database = options.default_database.clone().ok_or_else(|| {
            format!("`{uri}` names no database: expected mongodb://HOST:PORT/DATABASE")
        })?;
        let client = Client::with_options(options).map_err(|e| format!("`{uri}`: {e}"))?;
        let database = client.database(&database);
        database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| format!("connecting to {uri}: {e}"))?;
        Ok(MongoTarget {
            name: compiled
                .declaration
                .name
                .clone()
                .unwrap_or_else(|| "declared".into()),
            compiled,
            database,
            guard: resolved.guard,
            identity: resolved.identity,
            _holds: resolved.holds,
        })
    }

    /// The settle window declared for `op`.
    pub fn settle_for(&self, op: &str) -> Option<Duration> {
        self.compiled.declaration.op.get(op).and_then(|o| o.settle)
    }

    /// Runs `action` on `collection` with the request's arguments: what it gave, a server
    /// error it refused with, or an infrastructure failure.
    async fn run(
        &self,
        collection: &str,
        action: &Action,
        request: &Request,
    ) -> Result<Ran, InfraError> {
        let collection = self.database.collection::<Document>(collection);
        let arg = |name: &str| argument(request, name);
        let result =
            match action {
                Action::Find(find) if find.one => find_one(&collection, find, &arg).await,
                Action::Find(find) => find_many(&collection, find, &arg).await,
                Action::Aggregate(pipeline) => aggregate(&collection, pipeline, &arg).await,
                Action::InsertOne(document) => insert_one(&collection, document, &arg).await,
                Action::UpdateOne {
                    filter,
                    update,
                    upsert,
                } => update_one(&collection, filter, update, *upsert, &arg).await,
                Action::DeleteOne(filter) => collection
                    .delete_one(filter.render_doc(&arg))
                    .await
                    .map(|r| Ran::Wrote {
                        affected: r.deleted_count,
                        upserted: false,
                    }),
                Action::Count(filter) => collection
                    .count_documents(filter.render_doc(&arg))
                    .await
                    .map(Ran::Count),
            };
        result.or_else(refused)
    }

    /// The answer of an action in its declared shape.
    fn outcome(
        &self,
        answer: Answer,
        none: Option<ErrorKind>,
        ran: Ran,
    ) -> Result<Outcome, InfraError> {
        let value = match ran {
            Ran::Invalid(message) => return Ok(Outcome::error(ErrorKind::Invalid, message)),
            Ran::Refused { code, message } => {
                return match self.compiled.error_kind(code) {
                    Some(kind) => Ok(Outcome::error(kind, message)),
                    None => Err(InfraError::Other(format!(
                        "{}: server error {code} not declared in [errors]: {message}",
                        self.name
                    ))),
                }
            }
            Ran::Count(n) => Some(Value::from(n)),
            Ran::Docs(docs) => {
                let mut docs = docs.into_iter().map(|d| to_canonical(&Bson::Document(d)));
                match answer {
                    Answer::Docs => return Ok(Outcome::Ok(Value::Array(docs.collect()))),
                    Answer::Scalar => docs.next().and_then(|d| match d {
                        Value::Object(map) => map.into_iter().next().map(|(_, v)| v),
                        _ => None,
                    }),
                    _ => docs.next(),
                }
            }
            Ran::Wrote { affected, upserted } => match answer {
                _ if affected == 0 && none.is_some() => None,
                Answer::Upserted => Some(json!({ "created": upserted })),
                Answer::Nothing => Some(Value::Null),
                _ => Some(Value::from(affected)),
            },
        };
        match (value, none) {
            (Some(value), _) => Ok(Outcome::Ok(value)),
            (None, Some(kind)) => Ok(Outcome::error(kind, "no document")),
            (None, None) => Ok(Outcome::Ok(Value::Null)),
        }
    }
}

/// The arguments of a request, by name, as the templates render them.
type Arguments<'a> = dyn Fn(&str) -> Value + Sync + 'a;

/// `find_one`: at most one document.
async fn find_one(
    collection: &Collection<Document>,
    find: &file::Find,
    arg: &Arguments<'_>,
) -> mongodb::error::Result<Ran> {
    let mut action = collection.find_one(find.filter.render_doc(arg));
    if let Some(sort) = find.sort.as_ref().map(|s| s.render_doc(arg)) {
        action = action.sort(sort);
    }
    if let Some(projection) = find.projection.as_ref().map(|p| p.render_doc(arg)) {
        action = action.projection(projection);
    }
    action.await.map(|d| Ran::Docs(d.into_iter().collect()))
}

/// `find`: the documents, at most `limit` when it renders to a count (`invalid` when it
/// renders to anything but a count or null).
async fn find_many(
    collection: &Collection<Document>,
    find: &file::Find,
    arg: &Arguments<'_>,
) -> mongodb::error::Result<Ran> {
    let filter = find.filter.render_doc(arg);
    let sort = find.sort.as_ref().map(|s| s.render_doc(arg));
    let projection = find.projection.as_ref().map(|p| p.render_doc(arg));
    let limit = match find.limit.as_ref().map(|l| l.render(arg)) {
        None | Some(Bson::Null) => None,
        Some(Bson::Int32(n)) if n >= 0 => Some(i64::from(n)),
        Some(Bson::Int64(n)) if n >= 0 => Some(n),
        Some(other) => {
            return Ok(Ran::Invalid(format!(
                "`limit`: expected a count, found {}",
                to_canonical(&other)
            )))
        }
    };
    let mut action = collection.find(filter);
    if let Some(sort) = sort {
        action = action.sort(sort);
    }
    if let Some(projection) = projection {
        action = action.projection(projection);
    }
    if let Some(limit) = limit {
        action = action.limit(limit);
    }
    match action.await {
        Ok(cursor) => cursor.try_collect().await.map(Ran::Docs),
        Err(e) => Err(e),
    }
}

/// `aggregate`: the documents the pipeline gives; stages that are not documents are
/// left out.
async fn aggregate(
    collection: &Collection<Document>,
    pipeline: &Template,
    arg: &Arguments<'_>,
) -> mongodb::error::Result<Ran> {
    let stages: Vec<Document> = match pipeline.render(arg) {
        Bson::Array(stages) => stages
            .into_iter()
            .filter_map(|s| s.as_document().cloned())
            .collect(),
        _ => Vec::new(),
    };
    match collection.aggregate(stages).await {
        Ok(cursor) => cursor.try_collect().await.map(Ran::Docs),
        Err(e) => Err(e),
    }
}

/// `insert_one`: `invalid` when the document renders to anything but a document.
async fn insert_one(
    collection: &Collection<Document>,
    document: &Template,
    arg: &Arguments<'_>,
) -> mongodb::error::Result<Ran> {
    match document.render(arg) {
        Bson::Document(d) => collection.insert_one(d).await.map(|_| Ran::Wrote {
            affected: 1,
            upserted: false,
        }),
        other => Ok(Ran::Invalid(format!(
            "expected a document to insert, found {}",
            to_canonical(&other)
        ))),
    }
}

/// `update_one` with an update document or pipeline: what it matched or upserted.
async fn update_one(
    collection: &Collection<Document>,
    filter: &Template,
    update: &Template,
    upsert: bool,
    arg: &Arguments<'_>,
) -> mongodb::error::Result<Ran> {
    let filter = filter.render_doc(arg);
    let update = update.render(arg);
    let done = match update {
        Bson::Array(stages) => {
            let stages: Vec<Document> = stages
                .into_iter()
                .filter_map(|s| s.as_document().cloned())
                .collect();
            collection.update_one(filter, stages).upsert(upsert).await
        }
        Bson::Document(d) => collection.update_one(filter, d).upsert(upsert).await,
        _ => return Ok(Ran::Invalid("expected an update document".into())),
    };
    done.map(|r| Ran::Wrote {
        affected: r.matched_count + u64::from(r.upserted_id.is_some()),
        upserted: r.upserted_id.is_some(),
    })
}

/// A server's refusal as [`Ran::Refused`]; any other error is an infrastructure failure.
fn refused(e: mongodb::error::Error) -> Result<Ran, InfraError> {
    use mongodb::error::{ErrorKind as Kind, WriteFailure};
    match e.kind.as_ref() {
        Kind::Write(WriteFailure::WriteError(w)) => Ok(Ran::Refused {
            code: w.code,
            message: w.message.clone(),
        }),
        Kind::Write(WriteFailure::WriteConcernError(w)) => Ok(Ran::Refused {
            code: w.code,
            message: w.message.clone(),
        }),
        Kind::Command(c) => Ok(Ran::Refused {
            code: c.code,
            message: c.message.clone(),
        }),
        Kind::Io(_) => Err(InfraError::Disconnected(e.to_string())),
        Kind::ServerSelection { .. } | Kind::ConnectionPoolCleared { .. } => {
            Err(InfraError::Refused(e.to_string()))
        }
        _ => Err(InfraError::Other(e.to_string())),
    }
}

use super::argument;

/// `[keys]`: the keys and batch reads of `cutover verify`.
impl MongoTarget {
    /// `[keys]` and `[state]`'s collection, where it reads; none without `[keys]`.
    fn keyed(&self) -> Option<(&Keys, Collection<RawDocumentBuf>)> {
        let keys = self.compiled.keys.as_ref()?;
        let state = self.compiled.declaration.state.as_ref()?;
        Some((keys, self.database.collection(&state.collection)))
    }

    /// Up to `limit` distinct keys after `after`, ascending in the key type's order: pages
    /// of the field's values, the next after the last value, until `limit` are listed or
    /// the values run out (a field that is not unique repeats its values).
    async fn list_keys(
        &self,
        keys: &Keys,
        collection: &Collection<RawDocumentBuf>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, InfraError> {
        let (field, kind) = (&keys.spec.field, keys.spec.kind);
        let mut bound = match after {
            Some(after) => doc! { "$gt": kind.value(after).map_err(|e| self.keys_error(e))? },
            None => doc! { "$gte": kind.lowest() },
        };
        let mut listed: Vec<String> = Vec::new();
        while listed.len() < limit {
            let wanted = limit - listed.len();
            let page = self.key_page(collection, field, bound, wanted).await?;
            let full = page.len() == wanted;
            let Some((_, last)) = page.last().cloned() else {
                break;
            };
            for (text, _) in page {
                if listed.last() != Some(&text) {
                    listed.push(text);
                }
            }
            if !full {
                break;
            }
            bound = doc! { "$gt": last };
        }
        Ok(listed)
    }

    /// One page of the field's values matching `bound`, ascending: each value's text and
    /// value.
    async fn key_page(
        &self,
        collection: &Collection<RawDocumentBuf>,
        field: &str,
        bound: Document,
        limit: usize,
    ) -> Result<Vec<(String, Bson)>, InfraError> {
        let cursor = collection
            .find(doc! { field: bound })
            .sort(doc! { field: 1 })
            .projection(doc! { field: 1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(|e| self.keys_infra(e))?;
        let raws: Vec<RawDocumentBuf> =
            cursor.try_collect().await.map_err(|e| self.keys_infra(e))?;
        raws.iter()
            .map(|raw| keys::key_value(raw, field).map(|v| (keys::key_text(&v), v)))
            .collect::<Result<_, _>>()
            .map_err(|e| self.keys_error(e))
    }

    /// The states of `asked` in one `find` with `$in`, shaped as `[state]` shapes them.
    async fn read_batch(
        &self,
        keys: &Keys,
        batch: &Batch,
        collection: &Collection<RawDocumentBuf>,
        asked: &[String],
    ) -> Result<Vec<Dumped>, InfraError> {
        let (field, kind) = (&keys.spec.field, keys.spec.kind);
        let values: Vec<Bson> = asked.iter().filter_map(|k| kind.value(k).ok()).collect();
        let mut find = collection.find(doc! { field.as_str(): { "$in": values } });
        if let Some(projection) = &batch.projection {
            find = find.projection(projection.clone());
        }
        if let Some(sort) = &batch.sort {
            find = find.sort(sort.clone());
        }
        let cursor = find.await.map_err(|e| self.keys_infra(e))?;
        let raws: Vec<RawDocumentBuf> =
            cursor.try_collect().await.map_err(|e| self.keys_infra(e))?;
        let mut found: HashMap<String, Result<Vec<Document>, String>> = HashMap::new();
        for raw in &raws {
            let (key, document) = keys::decode(raw, field).map_err(|e| self.keys_error(e))?;
            let entry = found.entry(key).or_insert_with(|| Ok(Vec::new()));
            match (entry, document) {
                (Ok(docs), Ok(mut document)) => {
                    if !batch.keeps_field {
                        document.remove(field);
                    }
                    docs.push(document);
                }
                (entry, Err(why)) => *entry = Err(why),
                (Err(_), Ok(_)) => {}
            }
        }
        asked
            .iter()
            .map(|key| self.shaped(key, found.remove(key).unwrap_or(Ok(Vec::new()))))
            .collect()
    }

    /// One key's documents in `[state]`'s `result` shape, or why they cannot be read.
    fn shaped(&self, key: &str, docs: Result<Vec<Document>, String>) -> Result<Dumped, InfraError> {
        let docs = match docs {
            Ok(docs) => docs,
            Err(why) => {
                return Ok(Dumped::Unreadable(format!(
                    "{}: [state] for {key}: {why}",
                    self.name
                )))
            }
        };
        let Some(state) = &self.compiled.declaration.state else {
            return Ok(Dumped::Unreadable(format!("{}: no [state]", self.name)));
        };
        match self.outcome(state.result, None, Ran::Docs(docs))? {
            Outcome::Ok(value) => Ok(Dumped::State(value)),
            Outcome::Error(e) => Ok(Dumped::Unreadable(format!(
                "{}: [state] for {key}: {}",
                self.name, e.message
            ))),
        }
    }

    /// Reads the `[state]` of `keys` one by one.
    async fn dump_each(&self, keys: &[String]) -> Result<Vec<Dumped>, InfraError> {
        let mut dumped = Vec::with_capacity(keys.len());
        for key in keys {
            dumped.push(match self.state_of(key).await {
                Ok(Some(state)) => Dumped::State(state),
                Ok(None) => Dumped::Unreadable(format!("{}: no [state]", self.name)),
                Err(InfraError::Other(why)) => Dumped::Unreadable(why),
                Err(e) => return Err(e),
            });
        }
        Ok(dumped)
    }

    /// The `[state]` query's answer for `key` (`null` when it finds nothing).
    async fn state_of(&self, key: &str) -> Result<Option<Value>, InfraError> {
        let (Some(state), Some(action)) = (&self.compiled.declaration.state, &self.compiled.state)
        else {
            return Ok(None);
        };
        let request =
            cutover::capture::adapter::request("state", Some(key), Kind::Read, Value::Null);
        let ran = self.run(&state.collection, action, &request).await?;
        match self.outcome(state.result, None, ran)? {
            Outcome::Ok(value) => Ok(Some(value)),
            Outcome::Error(e) => Err(InfraError::Other(format!(
                "{}: [state] for {key}: {}",
                self.name, e.message
            ))),
        }
    }

    fn keys_error(&self, what: String) -> InfraError {
        InfraError::Other(format!("{}: [keys]: {what}", self.name))
    }

    fn keys_infra(&self, e: mongodb::error::Error) -> InfraError {
        match refused(e) {
            Ok(Ran::Refused { code, message }) => {
                self.keys_error(format!("server error {code}: {message}"))
            }
            Ok(_) => self.keys_error("unexpected answer".into()),
            Err(e) => e,
        }
    }
}

#[async_trait]
impl Target for MongoTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn domain(&self) -> Option<&str> {
        Some(&self.compiled.declaration.domain)
    }

    fn settle(&self, request: &Request) -> Option<Duration> {
        self.settle_for(&request.op)
    }

    fn databases(&self) -> Vec<String> {
        vec![self.identity.clone()]
    }

    async fn reset(&self) -> Result<(), InfraError> {
        let Some(reset) = &self.compiled.declaration.reset else {
            return Ok(());
        };
        self.guard
            .mongo(&self.database)
            .await
            .map_err(|e| InfraError::Other(format!("{}: {e}", self.name)))?;
        for name in &reset.collections {
            self.database
                .collection::<Document>(name)
                .delete_many(doc! {})
                .await
                .map_err(|e| InfraError::Other(format!("{}: [reset] {name}: {e}", self.name)))?;
        }
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        let (Some(spec), Some(action)) = (
            self.compiled.declaration.op.get(&request.op),
            self.compiled.actions.get(&request.op),
        ) else {
            return Ok(Outcome::error(
                ErrorKind::Unsupported,
                format!("`{}` is not declared", request.op),
            ));
        };
        let ran = self.run(&spec.collection, action, request).await?;
        self.outcome(spec.result, spec.none, ran)
    }

    /// The `[state]` query's answer for `key` (`null` when it finds nothing). With
    /// `[keys]` of another type than strings, the key is read as that type, through the
    /// batch read.
    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        if let Some((keys, collection)) = self.keyed() {
            if let (Some(batch), true) = (&keys.batch, keys.spec.kind != KeyType::String) {
                let asked = [key.to_string()];
                return match self
                    .read_batch(keys, batch, &collection, &asked)
                    .await?
                    .pop()
                {
                    Some(Dumped::State(value)) => Ok(Some(value)),
                    Some(Dumped::Unreadable(why)) => Err(InfraError::Other(why)),
                    None => Ok(Some(Value::Null)),
                };
            }
        }
        self.state_of(key).await
    }

    async fn keys(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, InfraError> {
        match self.keyed() {
            Some((keys, collection)) => self
                .list_keys(keys, &collection, after, limit)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    fn key_order(&self) -> KeyOrder {
        self.compiled
            .keys
            .as_ref()
            .map_or(KeyOrder::Bytes, |k| k.spec.kind.order())
    }

    /// One `find` with `$in` per batch when `[keys]` allows it, else `[state]` key by key.
    async fn dump_batch(&self, asked: &[String]) -> Result<Vec<Dumped>, InfraError> {
        match self.keyed() {
            Some((keys, collection)) => match &keys.batch {
                Some(batch) => self.read_batch(keys, batch, &collection, asked).await,
                None => self.dump_each(asked).await,
            },
            None => self.dump_each(asked).await,
        }
    }
}
