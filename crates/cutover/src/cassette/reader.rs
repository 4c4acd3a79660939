//! Streaming cassette reader: one line at a time, every error located by file, line and column.

use super::{CassetteError, Header, Request, VERSION};
use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A last line cut short (a recorder that crashed mid-write). It is skipped, and reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Truncation {
    /// 1-based line number of the cut line.
    pub line: u64,
    /// How many bytes the cut line held.
    pub bytes: usize,
}

/// Reads a cassette request by request. Iterating yields each request or the first error,
/// then stops.
pub struct Reader {
    path: PathBuf,
    lines: Lines,
    header: Header,
    last_seq: Option<u64>,
    requests: u64,
    truncation: Option<Truncation>,
    done: bool,
}

/// The part of a header that says which version follows, read before the rest.
#[derive(Deserialize)]
struct VersionProbe {
    cutover: Option<serde_json::Value>,
}

/// One line of input, borrowed from the line buffer.
struct Line<'a> {
    text: &'a str,
    number: u64,
    /// Whether the line ended with a newline (a last line without one may be cut short).
    complete: bool,
}

impl Reader {
    /// Opens a cassette file; gzip input is recognised by its magic bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader, CassetteError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| CassetteError::Io {
            path: path.clone(),
            source,
        };
        let mut file = BufReader::with_capacity(1 << 16, File::open(&path).map_err(io)?);
        let gzip = file.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let input: Box<dyn Input> = if gzip {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(file)))
        } else {
            Box::new(file)
        };
        Reader::new(path, input)
    }

    /// Reads a cassette from any byte stream; `path` names it in errors.
    pub fn from_read(
        path: impl Into<PathBuf>,
        input: impl Read + Send + 'static,
    ) -> Result<Reader, CassetteError> {
        Reader::new(path.into(), Box::new(BufReader::new(input)))
    }

    fn new(path: PathBuf, input: Box<dyn Input>) -> Result<Reader, CassetteError> {
        let mut reader = Reader {
            path,
            lines: Lines {
                input,
                buf: Vec::with_capacity(4096),
                number: 0,
                cut: false,
            },
            header: Header::new(""),
            last_seq: None,
            requests: 0,
            truncation: None,
            done: false,
        };
        reader.header = reader.read_header()?;
        Ok(reader)
    }

    /// The cassette's header line.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The path errors are reported against.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many requests have been read so far.
    pub fn requests_read(&self) -> u64 {
        self.requests
    }

    /// The truncated last line, once the reader has reached it.
    pub fn truncation(&self) -> Option<&Truncation> {
        self.truncation.as_ref()
    }

    /// Whether the next line is already in memory, so that reading it cannot wait for
    /// input (a cassette read from a pipe as it is written); `false` when unsure.
    pub fn next_line_buffered(&self) -> bool {
        self.done || self.lines.input.buffered().contains(&b'\n')
    }

    /// The next request, `Ok(None)` at the end.
    pub fn next_request(&mut self) -> Result<Option<Request>, CassetteError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_request();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_header(&mut self) -> Result<Header, CassetteError> {
        let path = &self.path;
        let Some(line) = self.lines.next(path)? else {
            return Err(invalid(
                path,
                1,
                None,
                "empty cassette: expected a header line",
            ));
        };
        let at = |e: &serde_json::Error| Some(e.column() as u64);
        let probe: VersionProbe = serde_json::from_str(line.text).map_err(|e| {
            let what = if line.complete {
                format!("expected a header object: {}", message(&e))
            } else {
                format!("truncated header: {}", message(&e))
            };
            invalid(path, line.number, at(&e), what)
        })?;
        match probe.cutover {
            None => Err(invalid(
                path,
                line.number,
                None,
                "expected a header with a `cutover` version field",
            )),
            Some(v) if v.as_u64() == Some(VERSION) => {
                serde_json::from_str(line.text).map_err(|e| {
                    invalid(
                        path,
                        line.number,
                        at(&e),
                        format!("bad header: {}", message(&e)),
                    )
                })
            }
            Some(v) => Err(invalid(
                path,
                line.number,
                None,
                format!("unknown cassette version {v}; this build reads version {VERSION}"),
            )),
        }
    }

    fn read_request(&mut self) -> Result<Option<Request>, CassetteError> {
        let path = &self.path;
        let Some(line) = self.lines.next(path)? else {
            if self.requests == 0 {
                return Err(invalid(
                    path,
                    self.lines.number,
                    None,
                    "no requests after the header",
                ));
            }
            return Ok(None);
        };
        if line.text.trim().is_empty() {
            return Err(invalid(
                path,
                line.number,
                None,
                "blank line: expected a request",
            ));
        }
        let request: Request = match serde_json::from_str(line.text) {
            Ok(request) => request,
            Err(e) if !line.complete && e.is_eof() => {
                let (number, bytes) = (line.number, line.text.len());
                if self.requests == 0 {
                    return Err(invalid(
                        path,
                        number,
                        None,
                        "no complete request after the header",
                    ));
                }
                self.truncation = Some(Truncation {
                    line: number,
                    bytes,
                });
                return Ok(None);
            }
            Err(e) => {
                return Err(invalid(
                    path,
                    line.number,
                    Some(e.column() as u64),
                    message(&e),
                ));
            }
        };
        if let Some(last) = self.last_seq {
            if request.seq <= last {
                return Err(invalid(
                    path,
                    line.number,
                    None,
                    format!(
                        "seq {} does not follow seq {last}: seq must increase",
                        request.seq
                    ),
                ));
            }
        }
        if request.key.as_deref() == Some("") {
            return Err(invalid(
                path,
                line.number,
                None,
                "`key` is empty: use null for a request without a key",
            ));
        }
        self.last_seq = Some(request.seq);
        self.requests += 1;
        Ok(Some(request))
    }
}

/// A buffered byte stream whose buffer can be looked at.
trait Input: BufRead + Send {
    /// The bytes read from the source and not yet consumed.
    fn buffered(&self) -> &[u8];
}

impl<R: Read + Send> Input for BufReader<R> {
    fn buffered(&self) -> &[u8] {
        self.buffer()
    }
}

/// The input split into lines, reusing one buffer.
struct Lines {
    input: Box<dyn Input>,
    buf: Vec<u8>,
    number: u64,
    /// The input ended early (a gzip stream cut short); nothing follows.
    cut: bool,
}

impl Lines {
    /// The next line without its terminator; `None` at the end of input.
    fn next(&mut self, path: &Path) -> Result<Option<Line<'_>>, CassetteError> {
        self.buf.clear();
        if self.cut {
            return Ok(None);
        }
        match self.input.read_until(b'\n', &mut self.buf) {
            Ok(_) => {}
            // A compressed stream cut short (a recorder killed mid-write): what was read
            // so far is the last, incomplete line.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => self.cut = true,
            Err(source) => {
                return Err(CassetteError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        self.number += 1;
        let complete = self.buf.last() == Some(&b'\n');
        let mut end = self.buf.len() - usize::from(complete);
        if complete && end > 0 && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        match std::str::from_utf8(&self.buf[..end]) {
            Ok(text) => Ok(Some(Line {
                text,
                number: self.number,
                complete,
            })),
            // A last line cut inside a multi-byte character: incomplete, not invalid.
            Err(e) if !complete && e.error_len().is_none() => Ok(Some(Line {
                text: std::str::from_utf8(&self.buf[..e.valid_up_to()]).expect("valid up to here"),
                number: self.number,
                complete,
            })),
            Err(e) => Err(invalid(
                path,
                self.number,
                Some(e.valid_up_to() as u64 + 1),
                "invalid UTF-8",
            )),
        }
    }
}

fn invalid(path: &Path, line: u64, column: Option<u64>, what: impl Into<String>) -> CassetteError {
    CassetteError::Invalid {
        path: path.to_path_buf(),
        line: line.max(1),
        column,
        what: what.into(),
    }
}

impl Iterator for Reader {
    type Item = Result<Request, CassetteError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_request().transpose()
    }
}

/// A serde_json error's message without its " at line L column C" suffix, which the
/// caller reports in cassette coordinates instead.
pub(crate) fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
