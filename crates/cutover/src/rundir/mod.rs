//! The run directory: what a replay, a shadow experiment or a merge of shards leaves, and
//! what `report`, `gate` and `merge` read. `results.jsonl` holds one [`RequestResult`] per
//! line in cassette order; `report.json` the [`Report`] folded from them. [`RunDir`] is the
//! one owner of both names and of how they are written and read:
//!
//! * [`RunDir::create`] makes the directory and removes an earlier run's two files, so what
//!   stands there is this run's or nothing;
//! * results stream to `results.jsonl.partial` ([`ResultsWriter`], a [`Sink`]) and become
//!   `results.jsonl` by a rename when the run ends ([`ResultsWriter::commit`]), or by an
//!   atomic copy while it goes on ([`ResultsWriter::snapshot`], the shadow's);
//! * the report is written atomically ([`RunDir::write_report`]): a reader sees the whole
//!   file or none;
//! * [`RunDir::results`] reads the results back one at a time, an error naming the file and
//!   line;
//! * [`merge`] folds the run directories of a sharded replay into one.

pub mod merge;

use crate::replay::{JsonlSink, RequestResult, Sink};
use crate::report::Report;
use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

/// The results file's name.
pub const RESULTS: &str = "results.jsonl";
/// The report file's name.
pub const REPORT: &str = "report.json";

/// Where a verify resumes from (`crate::verify::Checkpoint`), while it has not finished.
pub const CHECKPOINT: &str = "verify.checkpoint.json";

/// Why a run directory cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// A file cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `report.json` or a line of `results.jsonl` does not parse.
    #[error("{} line {line}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong there.
        what: String,
    },
}

impl RunDirError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError + '_ {
        move |source| RunDirError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A run's output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    dir: PathBuf,
    report: PathBuf,
}

impl RunDir {
    /// The run directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> RunDir {
        let dir = dir.into();
        RunDir {
            report: dir.join(REPORT),
            dir,
        }
    }

    /// The run a path names: a directory, or a report file (`results.jsonl` beside it).
    pub fn locate(path: &Path) -> RunDir {
        if path.is_dir() {
            return RunDir::new(path);
        }
        RunDir {
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            report: path.to_path_buf(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// `results.jsonl`.
    pub fn results_path(&self) -> PathBuf {
        self.dir.join(RESULTS)
    }

    /// `report.json`.
    pub fn report_path(&self) -> &Path {
        &self.report
    }

    /// Makes the directory and removes an earlier run's report, results and checkpoint.
    pub fn create(&self) -> Result<(), RunDirError> {
        std::fs::create_dir_all(&self.dir).map_err(RunDirError::io(&self.dir))?;
        for stale in [
            self.report.clone(),
            self.results_path(),
            self.checkpoint_path(),
        ] {
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(RunDirError::io(&stale)(e))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A writer of the results, streaming to `results.jsonl.partial`.
    pub fn results_writer(&self) -> Result<ResultsWriter, RunDirError> {
        let partial = self.partial_path();
        let sink = JsonlSink::create(&partial).map_err(RunDirError::io(&partial))?;
        Ok(ResultsWriter {
            sink,
            target: self.results_path(),
        })
    }

    /// `verify.checkpoint.json`.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join(CHECKPOINT)
    }

    /// Writes a verify's checkpoint atomically.
    pub fn write_checkpoint(&self, at: &crate::verify::Checkpoint) -> Result<(), RunDirError> {
        let path = self.checkpoint_path();
        // Replaced whole by a rename, not synced: a process killed at any point leaves the
        // old checkpoint or the new one (results are flushed before it, not synced either).
        let json = serde_json::to_vec(at).map_err(std::io::Error::other);
        json.and_then(|bytes| {
            let temporary = temporary_beside(&path);
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, &path)
        })
        .map_err(RunDirError::io(&path))
    }

    /// A stopped verify's checkpoint and its results so far (`.partial`, cut at the
    /// checkpoint), with a writer going on after them; the report is removed.
    pub fn resume_verify(
        &self,
    ) -> Result<(crate::verify::Checkpoint, Vec<RequestResult>, ResultsWriter), RunDirError> {
        let path = self.checkpoint_path();
        let text = std::fs::read_to_string(&path).map_err(|e| RunDirError::Invalid {
            path: path.clone(),
            line: 0,
            what: format!("nothing to resume: no checkpoint of a stopped verify ({e})"),
        })?;
        let at: crate::verify::Checkpoint =
            serde_json::from_str(&text).map_err(|e| RunDirError::Invalid {
                path: path.clone(),
                line: e.line(),
                what: format!("not a verify checkpoint: {e}"),
            })?;
        let partial = self.partial_path();
        let sink =
            JsonlSink::resume(&partial, at.results_bytes).map_err(RunDirError::io(&partial))?;
        let kept = Results {
            lines: BufReader::new(File::open(&partial).map_err(RunDirError::io(&partial))?).lines(),
            line: 0,
            path: partial.clone(),
        }
        .collect::<Result<Vec<_>, _>>()?;
        match std::fs::remove_file(&self.report) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(RunDirError::io(&self.report)(e))
            }
            _ => {}
        }
        let writer = ResultsWriter {
            sink,
            target: self.results_path(),
        };
        Ok((at, kept, writer))
    }

    /// Removes the checkpoint of a verify that finished.
    pub fn remove_checkpoint(&self) -> Result<(), RunDirError> {
        let path = self.checkpoint_path();
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RunDirError::io(&path)(e)),
            _ => Ok(()),
        }
    }

    fn partial_path(&self) -> PathBuf {
        self.dir.join(format!("{RESULTS}.partial"))
    }

    /// Writes `report` atomically.
    pub fn write_report(&self, report: &Report) -> Result<(), RunDirError> {
        let json = serde_json::to_vec_pretty(report).map_err(std::io::Error::other);
        json.and_then(|bytes| write_atomically(&self.report, &bytes))
            .map_err(RunDirError::io(&self.report))
    }

    /// Reads the report.
    pub fn read_report(&self) -> Result<Report, RunDirError> {
        let path = &self.report;
        let text = std::fs::read_to_string(path).map_err(RunDirError::io(path))?;
        serde_json::from_str(&text).map_err(|e| RunDirError::Invalid {
            path: path.clone(),
            line: e.line(),
            what: format!("not a cutover report: {e}"),
        })
    }

    /// The results, read one at a time in file order.
    pub fn results(&self) -> Result<Results, RunDirError> {
        let path = self.results_path();
        let file = File::open(&path).map_err(RunDirError::io(&path))?;
        Ok(Results {
            lines: BufReader::new(file).lines(),
            line: 0,
            path,
        })
    }
}

/// The results of a run being written: a [`Sink`] to a `.partial` file.
pub struct ResultsWriter {
    sink: JsonlSink,
    target: PathBuf,
}

impl ResultsWriter {
    /// Publishes the results so far as `results.jsonl` (an atomic copy); writing goes on.
    pub fn snapshot(&mut self) -> Result<(), RunDirError> {
        let partial = self.sink.path().to_path_buf();
        self.sink.flush().map_err(RunDirError::io(&partial))?;
        copy_atomically(&partial, &self.target).map_err(RunDirError::io(&self.target))
    }

    /// Flushes and answers how many bytes are written.
    pub fn written(&mut self) -> Result<u64, RunDirError> {
        let partial = self.sink.path().to_path_buf();
        self.sink.written().map_err(RunDirError::io(&partial))
    }

    /// Ends the results: the `.partial` file becomes `results.jsonl`.
    pub fn commit(self) -> Result<(), RunDirError> {
        let partial = self.sink.path().to_path_buf();
        self.sink.finish().map_err(RunDirError::io(&partial))?;
        std::fs::rename(&partial, &self.target).map_err(RunDirError::io(&self.target))
    }
}

impl Sink for ResultsWriter {
    fn accept(&mut self, result: &RequestResult) -> std::io::Result<()> {
        self.sink.accept(result)
    }
}

/// The results of a run, read back in file order; blank lines are skipped.
pub struct Results {
    lines: Lines<BufReader<File>>,
    line: usize,
    path: PathBuf,
}

impl Results {
    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Iterator for Results {
    type Item = Result<RequestResult, RunDirError>;

    fn next(&mut self) -> Option<Self::Item> {
        for text in self.lines.by_ref() {
            self.line += 1;
            let text = match text {
                Ok(text) => text,
                Err(e) => return Some(Err(RunDirError::io(&self.path)(e))),
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&text).map_err(|e| RunDirError::Invalid {
                    path: self.path.clone(),
                    line: self.line,
                    what: format!("not a result: {e}"),
                }),
            );
        }
        None
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it into place:
/// a reader sees the whole file or none.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = temporary_beside(path);
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

/// Copies `from` to `to` through a temporary file beside `to`.
fn copy_atomically(from: &Path, to: &Path) -> std::io::Result<()> {
    let temporary = temporary_beside(to);
    std::fs::copy(from, &temporary)?;
    std::fs::rename(&temporary, to)
}

/// `.NAME.PID.partial` beside `path`: hidden, and one per writing process.
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{Kind, Request};
    use crate::replay::Status;
    use serde_json::json;

    fn result(index: u64) -> RequestResult {
        let request = Request::new(index + 1, Some("k"), "get", Kind::Read, json!({}), "t");
        RequestResult::of(index, &request, Status::Equal)
    }

    #[test]
    fn results_stand_only_when_committed_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("out"));
        run.create().unwrap();
        let mut writer = run.results_writer().unwrap();
        writer.accept(&result(0)).unwrap();
        assert!(
            !run.results_path().exists(),
            "nothing stands before the end"
        );
        writer.snapshot().unwrap();
        assert_eq!(run.results().unwrap().count(), 1);
        writer.accept(&result(1)).unwrap();
        writer.commit().unwrap();
        let read: Vec<u64> = run.results().unwrap().map(|r| r.unwrap().index).collect();
        assert_eq!(read, [0, 1]);
        // A new run removes what the last one left.
        run.create().unwrap();
        assert!(!run.results_path().exists());
    }

    #[test]
    fn a_bad_line_is_named_with_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let line = serde_json::to_string(&result(0)).unwrap();
        std::fs::write(run.results_path(), format!("{line}\n\n{{\"index\": 1}}\n")).unwrap();
        let all: Vec<_> = run.results().unwrap().collect();
        assert!(all[0].is_ok());
        let error = all[1].as_ref().unwrap_err().to_string();
        assert!(
            error.contains("results.jsonl line 3: not a result"),
            "{error}"
        );
        let report = run.read_report().unwrap_err().to_string();
        assert!(report.contains("report.json"), "{report}");
    }

    #[test]
    fn a_report_path_locates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shard-1.json");
        std::fs::write(&file, "{}").unwrap();
        let run = RunDir::locate(&file);
        assert_eq!(run.path(), dir.path());
        assert_eq!(run.report_path(), file);
        assert_eq!(
            RunDir::locate(dir.path()).report_path(),
            dir.path().join(REPORT)
        );
    }
}
