//! Resuming a Python task without the GIL: the Python package's own driver of async calls
//! (`bindings/python/zitadel_passkey/_wake.py`) uses these functions instead of uniffi's.
//!
//! Why: uniffi's Python code resumes a task through a ctypes callback that runs on the thread
//! that woke the Rust future (a tokio thread). That thread must take the GIL, make itself a
//! Python thread state, and call `loop.call_soon_threadsafe`, whose write to the loop's
//! self-pipe releases the GIL again; the loop's thread and the tokio thread then hand the GIL
//! back and forth. On a 2-core machine that cost about 80–100 µs per wake-up and made every
//! call from Python 2–3 wake-ups dearer than from Rust (BENCHMARKS.md).
//!
//! Here the callback is plain Rust: it writes a 9-byte record (the callback data, then the poll
//! code) to a pipe, and the event loop, which watches the pipe's read end with `add_reader`,
//! resumes the task on its own thread. One pipe per event loop; the callback data carries the
//! pipe's index in its high 32 bits. Python-only: `uniffi.toml` leaves these functions out of
//! the Kotlin and Swift bindings.

use std::io::{PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::sync::{RwLock, RwLockReadGuard};

use zitadel_passkey::Code;

use crate::PasskeyError;

/// One event loop's pipe.
#[derive(Debug)]
struct Channel {
    reader: PipeReader,
    writer: PipeWriter,
}

/// The open channels by index; a closed one leaves `None` for the next to reuse.
static CHANNELS: RwLock<Vec<Option<Channel>>> = RwLock::new(Vec::new());

fn read_channels() -> RwLockReadGuard<'static, Vec<Option<Channel>>> {
    // Nothing panics while holding the lock, but a poisoned lock must not stop wake-ups.
    CHANNELS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// uniffi's continuation callback (`RustFutureContinuationCallback`: the callback data and a
/// one-byte poll code). Called on whatever thread woke the future; never panics, never takes
/// the GIL. A pipe write of at most `PIPE_BUF` bytes is atomic, so records from several threads
/// never interleave; it blocks only if the loop has left more than 7,000 wake-ups unread.
extern "C" fn continuation(data: u64, poll_code: i8) {
    let mut record = [0u8; 9];
    record[..8].copy_from_slice(&data.to_le_bytes());
    record[8] = poll_code.to_le_bytes()[0];
    let index = usize::try_from(data >> 32).unwrap_or(usize::MAX);
    if let Some(Some(channel)) = read_channels().get(index) {
        // A failed write (the pipe closed with its loop) has nobody left to wake.
        let _ = (&channel.writer).write_all(&record);
    }
}

/// The address of the continuation callback, for ctypes to pass to `rust_future_poll`.
#[uniffi::export]
pub fn python_wake_continuation() -> u64 {
    continuation as extern "C" fn(u64, i8) as usize as u64
}

/// Opens a channel for one event loop; returns its index.
#[uniffi::export]
pub fn python_wake_channel_open() -> Result<u32, PasskeyError> {
    let (reader, writer) = std::io::pipe().map_err(|e| PasskeyError::Other {
        grpc_code: Code::Internal.as_i32(),
        error_id: None,
        description: format!("could not open a pipe to wake the event loop: {e}"),
    })?;
    let mut channels = CHANNELS.write().unwrap_or_else(|p| p.into_inner());
    let channel = Some(Channel { reader, writer });
    let index = match channels.iter().position(Option::is_none) {
        Some(free) => {
            channels[free] = channel;
            free
        }
        None => {
            channels.push(channel);
            channels.len() - 1
        }
    };
    Ok(u32::try_from(index).unwrap_or(u32::MAX))
}

/// The file descriptor the loop reads channel `index`'s records from (-1 if it is not open).
/// It stays owned here: Python reads it but never closes it.
#[uniffi::export]
pub fn python_wake_channel_fd(index: u32) -> i32 {
    match read_channels().get(index as usize) {
        Some(Some(channel)) => channel.reader.as_raw_fd(),
        _ => -1,
    }
}

/// Closes channel `index` (its loop is gone); later wake-ups for it are dropped.
#[uniffi::export]
pub fn python_wake_channel_close(index: u32) {
    let mut channels = CHANNELS.write().unwrap_or_else(|p| p.into_inner());
    if let Some(slot) = channels.get_mut(index as usize) {
        *slot = None;
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_wake_up_is_one_record_on_its_channel() {
        let index = python_wake_channel_open().expect("a pipe");
        assert!(python_wake_channel_fd(index) >= 0);
        let data = (u64::from(index) << 32) | 7;
        continuation(data, 1);
        continuation(data + 1, 0);
        let mut records = [0u8; 18];
        let channels = read_channels();
        let channel = channels[index as usize].as_ref().expect("open");
        (&channel.reader)
            .read_exact(&mut records)
            .expect("two records");
        drop(channels);
        assert_eq!(records[..8], data.to_le_bytes());
        assert_eq!(records[8], 1);
        assert_eq!(records[9..17], (data + 1).to_le_bytes());
        assert_eq!(records[17], 0);

        python_wake_channel_close(index);
        assert_eq!(python_wake_channel_fd(index), -1);
        // A late wake-up for a closed (or never opened) channel is dropped, not a panic.
        continuation(data, 0);
        continuation(u64::MAX, 0);
    }
}
