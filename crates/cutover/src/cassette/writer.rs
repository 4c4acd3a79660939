//! Streaming cassette writer: the header, then one whole line per request.

use super::{CassetteError, Header, Request};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends requests to a new cassette. A path ending in `.gz` is written gzip-compressed.
pub struct Writer {
    path: PathBuf,
    out: Out,
    line: Vec<u8>,
}

enum Out {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Out {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Out::Plain(w) => w,
            Out::Gzip(w) => w,
        }
    }
}

impl Writer {
    /// Creates (or truncates) the cassette at `path` and writes its header line.
    pub fn create(path: impl AsRef<Path>, header: &Header) -> Result<Writer, CassetteError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|source| CassetteError::Io {
            path: path.clone(),
            source,
        })?;
        let buffered = BufWriter::with_capacity(1 << 16, file);
        let out = if path.extension().is_some_and(|e| e == "gz") {
            Out::Gzip(GzEncoder::new(buffered, Compression::fast()))
        } else {
            Out::Plain(buffered)
        };
        let mut writer = Writer {
            path,
            out,
            line: Vec::with_capacity(1024),
        };
        writer.write_line(header)?;
        Ok(writer)
    }

    /// Appends one request as one line.
    pub fn write(&mut self, request: &Request) -> Result<(), CassetteError> {
        self.write_line(request)
    }

    /// Flushes everything (and ends the gzip stream); call it before dropping.
    pub fn finish(self) -> Result<(), CassetteError> {
        let io = |source| CassetteError::Io {
            path: self.path.clone(),
            source,
        };
        let mut inner = match self.out {
            Out::Plain(w) => w,
            Out::Gzip(w) => w.finish().map_err(io)?,
        };
        inner.flush().map_err(io)
    }

    fn write_line<T: serde::Serialize>(&mut self, item: &T) -> Result<(), CassetteError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, item).map_err(|e| self.io(e.into()))?;
        self.line.push(b'\n');
        self.out
            .writer()
            .write_all(&self.line)
            .map_err(|source| self.io(source))
    }

    fn io(&self, source: std::io::Error) -> CassetteError {
        CassetteError::Io {
            path: self.path.clone(),
            source,
        }
    }
}
