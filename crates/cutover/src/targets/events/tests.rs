//! The watched target over an in-memory broker: events sorted by key, fences, orphans,
//! visibility, a lost broker.

use super::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::{watch, Barrier};

/// A broker in memory: a fence is delivered after everything pushed before it.
struct Broker {
    inbox: Inbox,
    window: Duration,
}

#[async_trait]
impl Subscription for Broker {
    fn describe(&self) -> String {
        "memory://test/events".into()
    }

    fn window(&self) -> Duration {
        self.window
    }

    async fn fence(&self, n: u64) -> Result<(), String> {
        self.inbox
            .send(Delivery::Fence(n))
            .map_err(|_| "closed".into())
    }
}

/// A store that publishes to the broker after its commit, before it (then waits until its
/// aggregate was read), or between two steps, as each request's `publish` says.
struct Store {
    inbox: Inbox,
    states: Mutex<HashMap<String, Value>>,
    dumps: watch::Sender<u64>,
    barrier: Barrier,
    failing: std::sync::atomic::AtomicBool,
}

impl Store {
    fn publish(&self, key: &str, name: &str) {
        let event = Event::new(name, json!({ "key": key }));
        let key = Some(key.to_string());
        let _ = self.inbox.send(Delivery::Event { key, event });
    }

    fn set(&self, key: &str, value: Value) {
        self.states.lock().unwrap().insert(key.into(), value);
    }

    /// Publishes, then waits until the aggregate was read (a second at most: nothing may
    /// read it).
    async fn publish_seen(&self, key: &str, name: &str) {
        let mut dumps = self.dumps.subscribe();
        let seen = *dumps.borrow_and_update();
        self.publish(key, name);
        let read = dumps.wait_for(|n| *n > seen);
        let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    }
}

#[async_trait]
impl Target for Store {
    fn name(&self) -> &str {
        "store"
    }

    async fn reset(&self) -> Result<(), InfraError> {
        self.states.lock().unwrap().clear();
        Ok(())
    }

    async fn execute(&self, request: &Request) -> Result<Outcome, InfraError> {
        let key = request.args["target"]
            .as_str()
            .or(request.key.as_deref())
            .unwrap_or("all");
        let value = request.args["value"].clone();
        match request.args["publish"].as_str().unwrap_or("none") {
            "after" => {
                self.set(key, value);
                self.publish(key, "put");
            }
            "before" => {
                self.publish_seen(key, "put").await;
                self.set(key, value);
            }
            "between" => {
                self.set(key, json!({ "step": 1 }));
                self.publish_seen(key, "put").await;
                self.set(key, value);
            }
            "later" => {
                self.set(key, value);
                let (inbox, key) = (self.inbox.clone(), key.to_string());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let event = Event::new("later", json!({ "key": key }));
                    let key = Some(key);
                    let _ = inbox.send(Delivery::Event { key, event });
                });
            }
            "crossed" => {
                self.barrier.wait().await;
                let other = request.args["other"].as_str().unwrap();
                self.publish(other, "crossed");
                self.publish(key, "own");
                self.barrier.wait().await;
            }
            _ => {}
        }
        Ok(Outcome::Ok(Value::Null))
    }

    async fn dump(&self, key: &str) -> Result<Option<Value>, InfraError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(InfraError::Disconnected("store gone".into()));
        }
        let state = self.states.lock().unwrap().get(key).cloned();
        self.dumps.send_modify(|n| *n += 1);
        Ok(Some(state.unwrap_or(Value::Null)))
    }
}

fn watched() -> (Watched, Arc<Store>, Inbox) {
    watched_with(Duration::ZERO)
}

fn watched_with(window: Duration) -> (Watched, Arc<Store>, Inbox) {
    let (inbox, deliveries) = inbox();
    let store = Arc::new(Store {
        inbox: inbox.clone(),
        states: Mutex::default(),
        dumps: watch::Sender::new(0),
        barrier: Barrier::new(2),
        failing: Default::default(),
    });
    let broker = Arc::new(Broker {
        inbox: inbox.clone(),
        window,
    });
    let watched = Watched::new(store.clone(), broker, deliveries);
    (watched, store, inbox)
}

fn put(seq: u64, key: &str, value: Value, publish: &str) -> Request {
    let args = json!({ "value": value, "publish": publish });
    Request::new(seq, Some(key), "put", Kind::Write, args, "")
}

async fn events(watched: &Watched, request: &Request) -> Vec<Event> {
    watched
        .execute_events(request)
        .await
        .unwrap()
        .events
        .unwrap()
}

fn flags(events: &[Event]) -> Vec<(String, bool)> {
    events
        .iter()
        .map(|e| (e.name.clone(), e.before_commit))
        .collect()
}

#[tokio::test]
async fn events_published_before_answering_are_collected_by_the_fence() {
    let (watched, _, _) = watched();
    let got = events(&watched, &put(1, "a", json!(1), "after")).await;
    assert_eq!(flags(&got), [("put".to_string(), false)]);
    assert_eq!(got[0].payload, json!({ "key": "a" }));
    let read = Request::new(2, Some("a"), "get", Kind::Read, json!({}), "");
    assert!(events(&watched, &read).await.is_empty());
}

#[tokio::test]
async fn concurrent_requests_get_the_events_of_their_own_key() {
    let (watched, _, _) = watched();
    let a = Request::new(
        1,
        Some("a"),
        "x",
        Kind::Read,
        json!({"publish": "crossed", "other": "b"}),
        "",
    );
    let b = Request::new(
        2,
        Some("b"),
        "x",
        Kind::Read,
        json!({"publish": "crossed", "other": "a"}),
        "",
    );
    let (ea, eb) = tokio::join!(events(&watched, &a), events(&watched, &b));
    let names = |events: &[Event]| {
        let mut keys: Vec<_> = events.iter().map(|e| e.payload["key"].clone()).collect();
        keys.sort_by_key(|k| k.to_string());
        keys
    };
    assert_eq!(names(&ea), [json!("a"), json!("a")]);
    assert_eq!(names(&eb), [json!("b"), json!("b")]);
}

#[tokio::test]
async fn an_event_with_no_request_in_flight_goes_to_the_next_of_its_key() {
    let (watched, _, inbox) = watched();
    assert_eq!(events(&watched, &put(1, "a", json!(1), "none")).await, []);
    let late = Event::new("late", json!({ "key": "a" }));
    inbox
        .send(Delivery::Event {
            key: Some("a".into()),
            event: late,
        })
        .unwrap();
    // Another key's request does not take it.
    assert_eq!(events(&watched, &put(2, "b", json!(1), "none")).await, []);
    let got = events(&watched, &put(3, "a", json!(2), "after")).await;
    assert_eq!(
        flags(&got),
        [("late".to_string(), false), ("put".to_string(), false)]
    );
}

#[tokio::test]
async fn an_event_published_before_the_commit_is_flagged() {
    let (watched, _, _) = watched();
    let got = events(&watched, &put(1, "a", json!(1), "before")).await;
    assert_eq!(flags(&got), [("put".to_string(), true)]);
    // With the state before known from a read back, too.
    watched.dump("a").await.unwrap();
    let got = events(&watched, &put(2, "a", json!(2), "before")).await;
    assert_eq!(flags(&got), [("put".to_string(), true)]);
}

#[tokio::test]
async fn after_the_commit_a_no_op_or_between_steps_is_never_flagged() {
    let (watched, _, _) = watched();
    for (seq, publish) in [(1, "after"), (2, "between")] {
        let got = events(&watched, &put(seq, "a", json!(seq), publish)).await;
        assert_eq!(flags(&got), [("put".to_string(), false)], "{publish}");
        watched.dump("a").await.unwrap();
    }
    // The value stored is the value there: nothing changes.
    let got = events(&watched, &put(3, "a", json!(2), "before")).await;
    assert_eq!(flags(&got), [("put".to_string(), false)]);
}

#[tokio::test]
async fn a_lost_broker_fails_every_later_call() {
    let (watched, _, inbox) = watched();
    inbox
        .send(Delivery::Lost("connection closed".into()))
        .unwrap();
    let error = loop {
        match watched
            .execute_events(&put(1, "a", json!(1), "after"))
            .await
        {
            Err(e) => break e,
            Ok(_) => tokio::task::yield_now().await,
        }
    };
    assert_eq!(
        error,
        InfraError::Disconnected("events broker memory://test/events: connection closed".into())
    );
    assert!(watched.dump("a").await.is_err());
}

#[tokio::test]
async fn a_fence_that_never_comes_back_is_a_timeout() {
    struct Silent;
    #[async_trait]
    impl Subscription for Silent {
        fn describe(&self) -> String {
            "memory://silent".into()
        }
        async fn fence(&self, _: u64) -> Result<(), String> {
            Ok(())
        }
    }
    let (inbox, deliveries) = inbox();
    let store = Arc::new(Store {
        inbox,
        states: Mutex::default(),
        dumps: watch::Sender::new(0),
        barrier: Barrier::new(2),
        failing: Default::default(),
    });
    let watched = Watched::new(store, Arc::new(Silent), deliveries)
        .with_fence_timeout(Duration::from_millis(50));
    let error = watched
        .execute_events(&put(1, "a", json!(1), "after"))
        .await
        .unwrap_err();
    assert_eq!(error, InfraError::Timeout(Duration::from_millis(50)));
}

#[tokio::test]
async fn the_window_waits_for_events_published_after_the_answer() {
    let (windowed, _, _) = watched_with(Duration::from_secs(1));
    let got = events(&windowed, &put(1, "a", json!(1), "later")).await;
    assert_eq!(flags(&got), [("later".to_string(), false)]);
    // Without a window the late event is the next request's, extra there.
    let (bare, _, _) = watched();
    assert_eq!(events(&bare, &put(1, "a", json!(1), "later")).await, []);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = events(&bare, &put(2, "a", json!(1), "none")).await;
    assert_eq!(flags(&got), [("later".to_string(), false)]);
}

#[tokio::test]
async fn a_keyless_write_gets_every_event_and_is_judged_against_the_states_read_before() {
    let (watched, _, _) = watched();
    let keyless = |seq, publish| {
        let args = json!({ "value": seq, "publish": publish, "target": "a" });
        Request::new(seq, None, "clear", Kind::Write, args, "")
    };
    watched.dump("a").await.unwrap();
    let got = events(&watched, &keyless(1, "before")).await;
    assert_eq!(flags(&got), [("put".to_string(), true)]);
    watched.dump("a").await.unwrap();
    let got = events(&watched, &keyless(2, "after")).await;
    assert_eq!(flags(&got), [("put".to_string(), false)]);
    // Nothing read since: not judged.
    let got = events(&watched, &keyless(3, "before")).await;
    assert_eq!(flags(&got), [("put".to_string(), false)]);
}

#[tokio::test]
async fn a_broker_lost_while_a_fence_is_being_published_fails_the_call_at_once() {
    struct Stuck;
    #[async_trait]
    impl Subscription for Stuck {
        fn describe(&self) -> String {
            "memory://stuck".into()
        }
        async fn fence(&self, _: u64) -> Result<(), String> {
            std::future::pending().await
        }
    }
    let (inbox, deliveries) = inbox();
    let store = Arc::new(Store {
        inbox: inbox.clone(),
        states: Mutex::default(),
        dumps: watch::Sender::new(0),
        barrier: Barrier::new(2),
        failing: Default::default(),
    });
    let watched = Watched::new(store, Arc::new(Stuck), deliveries);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        inbox.send(Delivery::Lost("disconnected".into())).unwrap();
    });
    let error = watched
        .execute_events(&put(1, "a", json!(1), "after"))
        .await
        .unwrap_err();
    let expected = "events broker memory://stuck: disconnected";
    assert_eq!(error, InfraError::Disconnected(expected.into()));
}

fn dumps(store: &Store) -> u64 {
    *store.dumps.borrow()
}

#[tokio::test]
async fn the_read_back_after_a_write_is_the_state_read_as_it_answered() {
    let (watched, store, _) = watched();
    events(&watched, &put(1, "a", json!(1), "after")).await;
    let read = dumps(&store);
    assert_eq!(watched.dump("a").await.unwrap(), Some(json!(1)));
    assert_eq!(
        dumps(&store),
        read,
        "the read-back takes the prefetched state"
    );
    store.set("a", json!("changed behind"));
    assert_eq!(
        watched.dump("a").await.unwrap(),
        Some(json!("changed behind")),
        "taken once: the next read asks the store"
    );
}

#[tokio::test]
async fn a_prefetched_state_is_never_served_once_its_key_may_have_changed() {
    let (watched, store, _) = watched();
    // Another write of the key.
    events(&watched, &put(1, "a", json!(1), "after")).await;
    events(&watched, &put(2, "a", json!(2), "after")).await;
    assert_eq!(watched.dump("a").await.unwrap(), Some(json!(2)));
    // A race trial's paused request, which opens no lane.
    events(&watched, &put(3, "a", json!(3), "after")).await;
    let paused = put(4, "a", json!(4), "after");
    watched
        .execute_paused(&paused, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(watched.dump("a").await.unwrap(), Some(json!(4)));
    // A keyless write, which may change every key.
    events(&watched, &put(5, "a", json!(5), "after")).await;
    let args = json!({ "value": 6, "publish": "after", "target": "a" });
    let keyless = Request::new(6, None, "clear", Kind::Write, args, "");
    events(&watched, &keyless).await;
    assert_eq!(watched.dump("a").await.unwrap(), Some(json!(6)));
    // A reset.
    events(&watched, &put(7, "a", json!(7), "after")).await;
    watched.reset().await.unwrap();
    assert_eq!(watched.dump("a").await.unwrap(), Some(Value::Null));
    // A read prefetches nothing.
    store.set("a", json!(8));
    let get = Request::new(8, Some("a"), "get", Kind::Read, json!({}), "");
    events(&watched, &get).await;
    let before = dumps(&store);
    assert_eq!(watched.dump("a").await.unwrap(), Some(json!(8)));
    assert_eq!(dumps(&store), before + 1);
}

#[tokio::test]
async fn an_event_whose_aggregate_cannot_be_read_fails_its_request_never_passes_unjudged() {
    let (watched, store, _) = watched();
    events(&watched, &put(1, "a", json!(1), "after")).await;
    watched.dump("a").await.unwrap();
    store
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let error = watched
        .execute_events(&put(2, "a", json!(2), "after"))
        .await
        .unwrap_err();
    let expected = "reading a to judge its events' visibility: store gone";
    assert_eq!(error, InfraError::Disconnected(expected.into()));
}
