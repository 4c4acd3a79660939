//! Recording: runs a cassette's requests on one target (the legacy) and writes them again
//! with the outcome, the events it published where the target tells them, and, after each
//! write, the stored state of its key. The result replays
//! against the `recorded` target, so a candidate can be checked without the legacy store.

use super::ReplayError;
use crate::cassette::{CassetteError, Kind, Reader, Request, Writer};
use crate::targets::Target;

/// Records every request of `cassette` on `target` into `out`, in cassette order, one at a
/// time. An infrastructure failure stops the recording: a recording with holes would be
/// compared against as if it were the truth.
pub async fn record(
    cassette: Reader,
    target: &dyn Target,
    out: &mut Writer,
) -> Result<u64, ReplayError> {
    record_each(cassette, target, |request| {
        out.write(&request)
            .map_err(|e: CassetteError| ReplayError::Cassette(e))
    })
    .await
}

/// [`record`], handing each recorded request to `each` instead of a writer.
pub async fn record_each(
    mut cassette: Reader,
    target: &dyn Target,
    mut each: impl FnMut(Request) -> Result<(), ReplayError>,
) -> Result<u64, ReplayError> {
    target.reset().await.map_err(|source| ReplayError::Reset {
        side: "recorded",
        source,
    })?;
    let mut n = 0;
    while let Some(mut request) = cassette.next_request()? {
        record_one(target, &mut request).await?;
        each(request)?;
        n += 1;
    }
    Ok(n)
}

/// Runs one request on `target` (reset by the caller) and sets its outcome, its events
/// (where the target tells them, else those already recorded stay) and, after a write, its
/// key's state; an infrastructure failure is an error naming the request.
pub async fn record_one(target: &dyn Target, request: &mut Request) -> Result<(), ReplayError> {
    let failed =
        |e: crate::targets::InfraError| ReplayError::Recording(format!("seq {}: {e}", request.seq));
    let executed = target.execute_events(request).await.map_err(failed)?;
    let state = match (&request.key, request.kind) {
        (Some(key), Kind::Write) => target.dump(key).await.map_err(failed)?,
        _ => None,
    };
    request.outcome = Some(executed.outcome);
    if executed.events.is_some() {
        request.events = executed.events;
    }
    request.state = state;
    Ok(())
}
