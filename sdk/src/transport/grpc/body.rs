//! [`GuardBody`]: a response body under guard. It caps the bytes, follows the frames, reads the
//! status out of the trailers and checks, when the body ends, that the answer was complete.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::frames::{Frames, MAX_TRAILER_BYTES, Mode};
use super::slot::Slot;
use super::trailers::read_status;
use crate::error::{BoxError, Error};
use crate::transport::MAX_RESPONSE_BYTES;
use crate::transport::status::{self, Reached};

/// What an error of the wrapped body means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InnerErrors {
    /// hyper's body: the connection failed mid-response.
    Connection,
    /// tonic-web's decoded body: the gRPC-web framing was broken.
    Protocol,
}

#[derive(Debug)]
pub(crate) struct GuardBody<B> {
    inner: B,
    /// The framing to follow; `None` where a guard below already follows it.
    frames: Option<Frames>,
    /// Whether trailers must carry the status (unless the head did).
    check_trailers: bool,
    header_status: bool,
    saw_trailers: bool,
    seen: usize,
    inner_errors: InnerErrors,
    slot: Slot,
    finished: bool,
}

impl<B> GuardBody<B> {
    /// The raw body of a gRPC or gRPC-web answer, right above hyper.
    pub(crate) fn framed(inner: B, mode: Mode, header_status: bool, slot: Slot) -> GuardBody<B> {
        GuardBody {
            inner,
            frames: Some(Frames::new(mode)),
            // gRPC-web trailers are inside the body: tonic-web decodes them for the guard above.
            check_trailers: mode == Mode::Grpc,
            header_status,
            saw_trailers: false,
            seen: 0,
            inner_errors: InnerErrors::Connection,
            slot,
            finished: false,
        }
    }

    /// A body whose framing is followed below; only its trailers are checked.
    pub(crate) fn trailers_only(
        inner: B,
        header_status: bool,
        inner_errors: InnerErrors,
        slot: Slot,
    ) -> GuardBody<B> {
        GuardBody {
            inner,
            frames: None,
            check_trailers: true,
            header_status,
            saw_trailers: false,
            seen: 0,
            inner_errors,
            slot,
            finished: false,
        }
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.finished = true;
        Poll::Ready(Some(Err(self.slot.fail(error).into())))
    }

    fn on_data(&mut self, data: &Bytes) -> Result<(), Error> {
        self.seen = self.seen.saturating_add(data.len());
        if self.seen > MAX_RESPONSE_BYTES + 5 + MAX_TRAILER_BYTES as usize {
            return Err(status::too_big());
        }
        if let Some(frames) = &mut self.frames {
            let had_message = frames.saw_message();
            frames.feed(data)?;
            if !had_message && frames.saw_message() {
                self.slot.set_saw_message();
            }
        }
        Ok(())
    }

    fn on_trailers(&mut self, trailers: &mut http::HeaderMap) -> Result<(), Error> {
        if !self.check_trailers {
            return Ok(());
        }
        self.saw_trailers = true;
        match read_status(&self.slot, trailers)? {
            Some(_) => Ok(()),
            None if self.header_status => Ok(()),
            None => Err(status::truncated("the trailers have no grpc-status")),
        }
    }

    fn on_end(&mut self) -> Result<(), Error> {
        if let Some(frames) = &self.frames {
            frames.finish()?;
        }
        if self.check_trailers && !self.saw_trailers && !self.header_status {
            return Err(status::truncated(
                "the response ended without a grpc-status",
            ));
        }
        Ok(())
    }
}

impl<B> Body for GuardBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                let frame = match frame.into_data() {
                    Ok(data) => match this.on_data(&data) {
                        Ok(()) => Frame::data(data),
                        Err(error) => return this.fail(error),
                    },
                    Err(frame) => frame,
                };
                let frame = match frame.into_trailers() {
                    Ok(mut trailers) => match this.on_trailers(&mut trailers) {
                        Ok(()) => Frame::trailers(trailers),
                        Err(error) => return this.fail(error),
                    },
                    Err(frame) => frame,
                };
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => {
                let error: BoxError = error.into();
                let failure = match this.inner_errors {
                    InnerErrors::Connection => status::connection(Reached::MaybeServer, error),
                    InnerErrors::Protocol => {
                        status::protocol(status::chain(&*error)).with_source(error)
                    }
                };
                this.fail(failure)
            }
            None => match this.on_end() {
                Ok(()) => {
                    this.finished = true;
                    Poll::Ready(None)
                }
                Err(error) => this.fail(error),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        // Never claim the end early: the end-of-stream checks run when `None` is polled.
        self.finished
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
