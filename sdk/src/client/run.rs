//! One call from start to end: the token, the deadline, each attempt, the retries and the
//! refresh-once after `UNAUTHENTICATED`, in tracing spans.

use std::any::Any;

use tokio::time::Instant;
use tracing::Instrument;

use super::{CallOptions, Client};
use crate::error::{Code, Error, ErrorKind};
use crate::stub::{BoxFuture, CallMetadata, Stub};

/// One attempt of a call on a stub.
type Attempt<Req, Resp> =
    for<'a> fn(&'a dyn Stub, Req, CallMetadata) -> BoxFuture<'a, Result<Resp, Error>>;

/// A response with its type erased, so that the loop below is compiled once for every method
/// rather than once per request and response type (about 5 KB each in the shipped library).
type Answer = Box<dyn Any + Send>;

/// One attempt with the request and response types erased.
type ErasedAttempt<'r> =
    dyn for<'a> Fn(&'a dyn Stub, CallMetadata) -> BoxFuture<'a, Result<Answer, Error>> + Sync + 'r;

impl Client {
    /// Runs a call: token, deadline, attempts, retries.
    pub(super) async fn call<Req, Resp>(
        &self,
        method: &'static str,
        options: CallOptions,
        request: Req,
        attempt: Attempt<Req, Resp>,
    ) -> Result<Resp, Error>
    where
        Req: Clone + Send + Sync,
        Resp: Send + 'static,
    {
        let erased = erased(move |stub, metadata| {
            let future = attempt(stub, request.clone(), metadata);
            Box::pin(async move { Ok(Box::new(future.await?) as Answer) })
        });
        let answer = self.call_erased(method, options, &erased).await?;
        match answer.downcast::<Resp>() {
            Ok(response) => Ok(*response),
            // Cannot happen: `erased` boxes a `Resp` and nothing else. Were it to, the server
            // has answered, so the outcome is what the caller must treat as unknown.
            Err(_) => Err(Error::with_kind(
                ErrorKind::OutcomeUnknown,
                Code::Internal,
                "internal error: the answer had an unexpected type",
            )
            .with_transport(self.transport())),
        }
    }

    /// [`call`](Self::call) with the types erased, in its tracing span.
    async fn call_erased(
        &self,
        method: &'static str,
        options: CallOptions,
        attempt: &ErasedAttempt<'_>,
    ) -> Result<Answer, Error> {
        let transport = self.transport();
        let span = tracing::info_span!("zitadel_passkey.call", method, %transport, outcome = tracing::field::Empty);
        let result = self
            .run(method, options, attempt)
            .instrument(span.clone())
            .await
            .map_err(|e| e.with_transport(transport));
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code().as_str(),
        };
        span.record("outcome", outcome);
        result
    }

    async fn run(
        &self,
        method: &'static str,
        options: CallOptions,
        attempt: &ErasedAttempt<'_>,
    ) -> Result<Answer, Error> {
        let inner = &*self.inner;
        let timeout = options.timeout.or(inner.timeout);
        // A deadline past what the clock can represent (say `Duration::MAX`) is no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let retry = options.retry.as_ref().unwrap_or(&inner.retry);
        let org_id = options.org_id.or_else(|| inner.org_id.clone());
        let accept_language = options
            .accept_language
            .or_else(|| inner.accept_language.clone());

        let mut token = within(deadline, inner.credentials.token()).await??;
        let mut refreshed = false;
        let mut number = 1u32;
        loop {
            let remaining = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(deadline_error(false));
                    }
                    Some(left)
                }
                None => None,
            };
            let metadata = CallMetadata {
                token: token.clone(),
                org_id: org_id.clone(),
                accept_language: accept_language.clone(),
                timeout: remaining,
            };
            let span = tracing::debug_span!("attempt", number, outcome = tracing::field::Empty);
            let result = match within(deadline, attempt(&*inner.stub, metadata))
                .instrument(span.clone())
                .await
            {
                Ok(result) => result,
                Err(_) => Err(deadline_error(true)),
            };
            let error = match result {
                Ok(response) => {
                    span.record("outcome", "ok");
                    return Ok(response);
                }
                Err(error) => match &token {
                    Some(token) => error.redact(token.expose()),
                    None => error,
                },
            };
            span.record("outcome", error.code().as_str());
            tracing::debug!(parent: &span, method, error = %error, not_sent = error.is_not_sent(), "attempt failed");

            if error.code() == Code::Unauthenticated
                && error.kind() == ErrorKind::Rejected
                && !refreshed
                && inner.credentials.can_refresh()
            {
                // The server rejected the token before doing anything: safe to try once more.
                refreshed = true;
                token = within(deadline, inner.credentials.refresh(token.as_ref())).await??;
                continue;
            }
            if error.kind() != ErrorKind::NotSent || number >= retry.max_attempts() {
                return Err(error);
            }
            let backoff = retry.backoff(number);
            if let Some(deadline) = deadline
                && Instant::now()
                    .checked_add(backoff)
                    .is_none_or(|resume| resume >= deadline)
            {
                return Err(error);
            }
            tracing::debug!(
                method,
                ?backoff,
                "retrying: the request never reached the server"
            );
            retry.sleep(backoff).await;
            number += 1;
        }
    }
}

/// Gives a closure the higher-ranked type of [`ErasedAttempt`] (closures do not infer it).
fn erased<F>(attempt: F) -> F
where
    F: for<'a> Fn(&'a dyn Stub, CallMetadata) -> BoxFuture<'a, Result<Answer, Error>>,
{
    attempt
}

/// Runs `future` until the deadline, if there is one.
async fn within<T>(
    deadline: Option<Instant>,
    future: impl std::future::Future<Output = T>,
) -> Result<T, Error> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .map_err(|_| deadline_error(false)),
        None => Ok(future.await),
    }
}

fn deadline_error(maybe_sent: bool) -> Error {
    let message = if maybe_sent {
        "the deadline passed before the response arrived"
    } else {
        "the deadline passed before the request was sent"
    };
    let error = Error::with_kind(ErrorKind::Timeout, Code::DeadlineExceeded, message);
    if maybe_sent {
        error
    } else {
        error.deadline_before_sending()
    }
}
