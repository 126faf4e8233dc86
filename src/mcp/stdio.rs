//! stdin and stdout as the MCP transport: one JSON-RPC message per line.
//!
//! - What is not a message gets an answer, so a client never waits for ever: a line that is not
//!   JSON gets `-32700` (parse error), well-formed JSON that is not a message `-32600`, and a
//!   line longer than [`MAX_LINE_BYTES`] `-32600` naming the limit (its bytes are skipped as
//!   they arrive, never buffered). rmcp's own stdio transport ignores the first and drops the
//!   last silently.
//! - One writer task owns stdout, so every line leaves whole, whether it is a response or one
//!   of those error answers.
//! - Pipes are read and written on tokio's reactor. tokio's `stdin()` and `stdout()` hand every
//!   read and write to a blocking thread (they cannot assume the descriptors are pollable), so
//!   each message costs extra thread wake-ups; pipes can be polled (measured with
//!   `firebreak-bench` at 100k incidents: `declare_incident` over stdio p50 2.50 → 1.84 ms,
//!   `get_incident` 1.10 → 1.02 ms, noisy single runs). Anything else (a file, a terminal)
//!   falls back to tokio's standard streams.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;

use rmcp::RoleServer;
use rmcp::model::{ErrorCode, ErrorData};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};

/// Longest message accepted on stdin (the same cap rmcp uses).
pub(super) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Non-blocking handles on stdin and stdout, if both are pipes.
pub(super) fn pipes() -> Option<(pipe::Receiver, pipe::Sender)> {
    let stdin = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    // Both are checked before either is converted: the conversion sets O_NONBLOCK on the
    // pipe, which the blocking fallback could not read from.
    let (stdin, stdout) = (fifo(stdin)?, fifo(stdout)?);
    let receiver = pipe::Receiver::from_owned_fd(stdin).ok()?;
    let sender = pipe::Sender::from_owned_fd(stdout).ok()?;
    Some((receiver, sender))
}

/// The descriptor back if it is a pipe.
fn fifo(fd: OwnedFd) -> Option<OwnedFd> {
    let file = File::from(fd);
    let is_fifo = file.metadata().ok()?.file_type().is_fifo();
    is_fifo.then(|| file.into())
}

/// A line for the writer, with who to tell once it is written.
type Outgoing = (Vec<u8>, Option<oneshot::Sender<std::io::Result<()>>>);

/// Newline-delimited JSON-RPC over a reader and a writer.
pub(super) struct LineTransport<R> {
    read: BufReader<R>,
    line: Vec<u8>,
    /// Skipping the rest of a line that was too long.
    discarding: bool,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl<R: AsyncRead + Unpin + Send> LineTransport<R> {
    /// A transport reading `read` and writing `write` (through a task that owns it).
    pub(super) fn new<W: AsyncWrite + Unpin + Send + 'static>(read: R, write: W) -> Self {
        let (outgoing, lines) = mpsc::unbounded_channel();
        LineTransport {
            read: BufReader::new(read),
            line: Vec::new(),
            discarding: false,
            outgoing,
            writer: Some(tokio::spawn(write_lines(write, lines))),
        }
    }

    /// Queues an error answer (not waiting for it: `receive` must stay cancellation-safe).
    fn answer_error(&self, code: ErrorCode, message: String, id: Option<serde_json::Value>) {
        let answer = serde_json::json!({
            "jsonrpc": "2.0",
            "id": id.unwrap_or(serde_json::Value::Null),
            "error": ErrorData::new(code, message, None),
        });
        let mut line = answer.to_string().into_bytes();
        line.push(b'\n');
        let _ = self.outgoing.send((line, None));
    }

    /// Reads one line into `self.line` without letting it grow past the cap. Cancellation-safe:
    /// bytes are moved from the reader's buffer into `self.line` with no await in between, so
    /// a dropped read resumes where it stopped.
    async fn read_line(&mut self) -> LineRead {
        loop {
            let (consumed, step) = {
                let available = match self.read.fill_buf().await {
                    Ok(available) => available,
                    Err(err) => return LineRead::Failed(err),
                };
                if available.is_empty() {
                    return LineRead::End;
                }
                let newline = available.iter().position(|b| *b == b'\n');
                let take = newline.map_or(available.len(), |at| at + 1);
                if self.discarding {
                    (take, newline.map_or(Step::More, |_| Step::EndOfSkipped))
                } else if self.line.len() + take > MAX_LINE_BYTES {
                    self.line.clear();
                    (
                        take,
                        newline.map_or(Step::TooLongContinues, |_| Step::TooLong),
                    )
                } else {
                    self.line.extend_from_slice(&available[..take]);
                    (take, newline.map_or(Step::More, |_| Step::Line))
                }
            };
            self.read.consume(consumed);
            match step {
                Step::Line => return LineRead::Line,
                Step::More => {}
                Step::EndOfSkipped => self.discarding = false,
                Step::TooLong => return LineRead::TooLong,
                Step::TooLongContinues => {
                    self.discarding = true;
                    return LineRead::TooLong;
                }
            }
        }
    }
}

enum LineRead {
    Line,
    TooLong,
    End,
    Failed(std::io::Error),
}

enum Step {
    Line,
    More,
    EndOfSkipped,
    TooLong,
    TooLongContinues,
}

/// Writes queued lines in order, each whole, flushing after each.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut write: W,
    mut lines: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some((line, written)) = lines.recv().await {
        let result = async {
            write.write_all(&line).await?;
            write.flush().await
        }
        .await;
        let failed = result.is_err();
        if let Some(written) = written {
            let _ = written.send(result);
        }
        if failed {
            return;
        }
    }
}

impl<R: AsyncRead + Unpin + Send> Transport<RoleServer> for LineTransport<R> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outgoing = self.outgoing.clone();
        async move {
            let mut line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            line.push(b'\n');
            let (written, done) = oneshot::channel();
            outgoing.send((line, Some(written))).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout closed")
            })?;
            done.await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout closed"))?
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            match self.read_line().await {
                LineRead::End => return None,
                LineRead::Failed(err) => {
                    tracing::error!(error = %err, "cannot read stdin");
                    return None;
                }
                LineRead::TooLong => {
                    tracing::warn!(
                        max = MAX_LINE_BYTES,
                        "a message on stdin was too long; skipped"
                    );
                    self.answer_error(
                        ErrorCode::INVALID_REQUEST,
                        format!("Invalid Request: a message may be at most {MAX_LINE_BYTES} bytes on one line; this one was skipped"),
                        None,
                    );
                    continue;
                }
                LineRead::Line => {}
            }
            let parsed = parse(&self.line);
            self.line.clear();
            match parsed {
                Parsed::Message(message) => return Some(*message),
                Parsed::Blank => {}
                Parsed::Refused { code, message, id } => self.answer_error(code, message, id),
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        // Let the writer send what is queued, then stop it.
        let (outgoing, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.outgoing, outgoing));
        if let Some(writer) = self.writer.take() {
            let _ = writer.await;
        }
        Ok(())
    }
}

/// What one line holds.
enum Parsed {
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    Blank,
    Refused {
        code: ErrorCode,
        message: String,
        id: Option<serde_json::Value>,
    },
}

fn parse(line: &[u8]) -> Parsed {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(line) {
        Ok(message) => Parsed::Message(Box::new(message)),
        Err(err) if err.is_syntax() || err.is_eof() => Parsed::Refused {
            code: ErrorCode::PARSE_ERROR,
            message: format!("Parse error: the line is not JSON ({err})"),
            id: None,
        },
        Err(err) => {
            let value: Option<serde_json::Value> = serde_json::from_slice(line).ok();
            // Clients may send notifications this server does not know; those need no answer.
            let is_notification = value
                .as_ref()
                .is_some_and(|v| v.get("method").is_some() && v.get("id").is_none());
            if is_notification {
                return Parsed::Blank;
            }
            Parsed::Refused {
                code: ErrorCode::INVALID_REQUEST,
                message: format!("Invalid Request: the line is not a JSON-RPC message ({err})"),
                id: value.and_then(|v| v.get("id").cloned()),
            }
        }
    }
}
