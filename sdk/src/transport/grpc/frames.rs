//! [`Frames`] follows the length-prefixed frames of a unary gRPC or gRPC-web response as bytes
//! arrive, so a hostile framing fails before anything large is buffered, and says where in the
//! body the message and the trailer frame are.

use std::ops::Range;

use crate::error::Error;
use crate::transport::{MAX_RESPONSE_BYTES, status};

/// The most bytes of gRPC-web trailers accepted.
pub(crate) const MAX_TRAILER_BYTES: u32 = 64 * 1024;

/// Which framing is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Grpc,
    GrpcWeb,
}

#[derive(Debug)]
pub(crate) struct Frames {
    mode: Mode,
    header: [u8; 5],
    /// Bytes of the current frame header seen so far.
    have: usize,
    /// Bytes of the current frame's payload still to come.
    remaining: u64,
    /// Bytes of the body seen so far.
    offset: usize,
    /// Where the message's payload is in the body.
    message: Option<Range<usize>>,
    /// Where the gRPC-web trailer frame's payload is in the body.
    trailers: Option<Range<usize>>,
}

impl Frames {
    pub(crate) fn new(mode: Mode) -> Frames {
        Frames {
            mode,
            header: [0; 5],
            have: 0,
            remaining: 0,
            offset: 0,
            message: None,
            trailers: None,
        }
    }

    /// Where the message's payload is in the body, once its frame has started.
    pub(crate) fn message(&self) -> Option<Range<usize>> {
        self.message.clone()
    }

    /// Where the trailer frame's payload is in the body, once it has started (gRPC-web).
    pub(crate) fn trailers(&self) -> Option<Range<usize>> {
        self.trailers.clone()
    }

    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), Error> {
        self.offset += data.len();
        let end = self.offset;
        while !data.is_empty() {
            if self.remaining > 0 {
                let take = data
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                self.remaining -= take as u64;
                data = &data[take..];
                continue;
            }
            let take = data.len().min(5 - self.have);
            self.header[self.have..self.have + take].copy_from_slice(&data[..take]);
            self.have += take;
            data = &data[take..];
            if self.have == 5 {
                self.have = 0;
                // The payload starts right after the header's last byte.
                self.start_frame(end - data.len())?;
            }
        }
        Ok(())
    }

    fn start_frame(&mut self, start: usize) -> Result<(), Error> {
        let flags = self.header[0];
        let length = u32::from_be_bytes([
            self.header[1],
            self.header[2],
            self.header[3],
            self.header[4],
        ]);
        if flags & 0x80 != 0 {
            if self.mode != Mode::GrpcWeb {
                return Err(status::protocol(
                    "a gRPC-web trailer frame in a gRPC response",
                ));
            }
            if self.trailers.is_some() {
                return Err(status::protocol("more than one trailer frame"));
            }
            if length > MAX_TRAILER_BYTES {
                return Err(status::too_big());
            }
            self.trailers = Some(start..start + length as usize);
        } else {
            if self.trailers.is_some() {
                return Err(status::protocol("a message after the trailers"));
            }
            if self.message.is_some() {
                return Err(status::protocol(
                    "more than one message in a unary response",
                ));
            }
            if length as usize > MAX_RESPONSE_BYTES {
                return Err(status::too_big());
            }
            if flags & 0x01 != 0 {
                return Err(status::protocol(
                    "a compressed message, but no compression was negotiated",
                ));
            }
            if flags & 0x7e != 0 {
                return Err(status::protocol(format!(
                    "unknown frame flags {flags:#04x}"
                )));
            }
            self.message = Some(start..start + length as usize);
        }
        self.remaining = u64::from(length);
        Ok(())
    }

    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.have > 0 || self.remaining > 0 {
            return Err(status::truncated("the response ended inside a frame"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![flags];
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn one_message_then_trailers_in_any_chunking() {
        let mut bytes = frame(0, b"hello");
        bytes.extend(frame(0x80, b"grpc-status: 0\r\n"));
        for split in 0..bytes.len() {
            let mut frames = Frames::new(Mode::GrpcWeb);
            frames.feed(&bytes[..split]).unwrap();
            frames.feed(&bytes[split..]).unwrap();
            frames.finish().unwrap();
            assert_eq!(&bytes[frames.message().unwrap()], b"hello");
            assert_eq!(&bytes[frames.trailers().unwrap()], b"grpc-status: 0\r\n");
        }
    }

    #[test]
    fn hostile_framing_is_an_error() {
        let mut two = frame(0, b"a");
        two.extend(frame(0, b"b"));
        assert!(Frames::new(Mode::Grpc).feed(&two).is_err());
        let huge = [0u8, 0xff, 0xff, 0xff, 0xff];
        assert!(Frames::new(Mode::Grpc).feed(&huge).is_err());
        let mut frames = Frames::new(Mode::Grpc);
        frames.feed(&frame(0, b"abc")[..6]).unwrap();
        assert!(frames.finish().is_err());
        assert!(Frames::new(Mode::Grpc).feed(&frame(0x80, b"")).is_err());
        assert!(Frames::new(Mode::Grpc).feed(&frame(0x01, b"x")).is_err());
    }
}
