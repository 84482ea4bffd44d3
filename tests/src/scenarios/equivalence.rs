//! Cross-transport equivalence: with the same seed and a fixed clock, the same sequence of calls
//! gives equal answers and equal errors over gRPC, gRPC-web and REST.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use zitadel_passkey::{CallOptions, Client, Code, Error, PasskeyLink, Transport};
use zitadel_passkey_mock::Fault;

use crate::ctx::{self, Ctx, ORG_UNKNOWN, TOKEN_B, TOKEN_NO_USER, TOKEN_UNKNOWN, USER_A};
use crate::matrix::COLUMNS;

/// What a link carries, the code included. `PasskeyLink`'s own `==` also compares
/// `expires_at`, the local arrival time, which differs between any two calls.
#[derive(PartialEq)]
struct LinkFacts {
    raw: zitadel_passkey::proto::zitadel::auth::v1::AddMyPasswordlessLinkResponse,
    user_id: String,
    org_id: String,
    code_id: String,
    expires_in: std::time::Duration,
}

/// Shows a fingerprint of the one-time code, never the code.
impl std::fmt::Debug for LinkFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::hash::{Hash, Hasher};
        let code = crate::wire::query(&self.raw.link)
            .ok()
            .and_then(|q| q.get("code").cloned())
            .unwrap_or_default();
        let mut hasher = std::hash::DefaultHasher::new();
        code.hash(&mut hasher);
        let mut raw = self.raw.clone();
        raw.link = raw.link.replace(&code, "***");
        f.debug_struct("LinkFacts")
            .field("raw", &raw)
            .field(
                "code_fingerprint",
                &format_args!("{:016x}", hasher.finish()),
            )
            .field("user_id", &self.user_id)
            .field("org_id", &self.org_id)
            .field("code_id", &self.code_id)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl From<&PasskeyLink> for LinkFacts {
    fn from(link: &PasskeyLink) -> Self {
        LinkFacts {
            raw: link.raw().clone(),
            user_id: link.user_id().to_owned(),
            org_id: link.org_id().to_owned(),
            code_id: link.code_id().to_owned(),
            expires_in: link.expires_in(),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Step {
    Link(LinkFacts),
    Details(zitadel_passkey::ObjectDetails),
    Passkeys(Vec<zitadel_passkey::Passkey>),
    Failed(Error),
}

fn step<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> Step) -> Step {
    match result {
        Ok(value) => ok(value),
        Err(error) => Step::Failed(error),
    }
}

/// The same calls on a fresh mock with the given seed, fixed clock and public origin.
async fn transcript(transport: Transport, seed: u64) -> Result<Vec<Step>> {
    let mock = ctx::standard_builder(seed)
        .fixed_clock(ctx::fixed_clock())
        .public_origin("https://contract.example")
        .start()
        .await?;
    let endpoint = mock.uri();
    let a = ctx::builder(&endpoint, transport)
        .token(ctx::TOKEN_A)
        .build()?;
    let b = ctx::builder(&endpoint, transport).token(TOKEN_B).build()?;
    let link = |c: &Client| {
        let c = c.clone();
        async move {
            step(c.add_passkey_link().await, |l| {
                Step::Link(LinkFacts::from(&l))
            })
        }
    };
    let mut steps = vec![link(&a).await, link(&a).await, link(&b).await];
    steps.push(step(a.send_passkey_link().await, Step::Details));
    let passkey = mock.add_passkey(USER_A, "contract key");
    steps.push(step(a.list_passkeys().await, Step::Passkeys));
    steps.push(step(a.remove_passkey(&passkey).await, Step::Details));
    steps.push(step(a.remove_passkey(&passkey).await, Step::Details));
    steps.push(link(&ctx::builder(&endpoint, transport).build()?).await);
    steps.push(
        link(
            &ctx::builder(&endpoint, transport)
                .token(TOKEN_UNKNOWN)
                .build()?,
        )
        .await,
    );
    steps.push(
        link(
            &ctx::builder(&endpoint, transport)
                .token(TOKEN_NO_USER)
                .build()?,
        )
        .await,
    );
    steps.push(step(
        a.add_passkey_link_with(CallOptions::new().org_id(ORG_UNKNOWN))
            .await,
        |l| Step::Link(LinkFacts::from(&l)),
    ));
    mock.push_fault(Fault::error(Code::Aborted, "MOCK-abort", "Errors.Aborted"));
    steps.push(link(&a).await);
    steps.push(link(&a).await);
    mock.shutdown().await;
    Ok(steps)
}

/// This transport's transcript equals the other two's (so all three agree), with links checked
/// to be real links (not all errors).
pub async fn same_seed(ctx: Ctx) -> Result<()> {
    let mine = transcript(ctx.transport, ctx.seed).await?;
    let links = mine.iter().filter(|s| matches!(s, Step::Link(_))).count();
    if links < 4 {
        bail!("only {links} links in the transcript: {mine:?}");
    }
    let mut differences = String::new();
    for other in COLUMNS.into_iter().filter(|t| *t != ctx.transport) {
        let theirs = transcript(other, ctx.seed).await?;
        if theirs.len() != mine.len() {
            let _ = write!(
                differences,
                "{other}: {} steps vs {}; ",
                theirs.len(),
                mine.len()
            );
            continue;
        }
        for (i, (a, b)) in mine.iter().zip(theirs.iter()).enumerate() {
            if a != b {
                let _ = write!(
                    differences,
                    "step {i}: {} {a:?} != {other} {b:?}; ",
                    ctx.transport
                );
            }
        }
    }
    if !differences.is_empty() {
        bail!("transcripts differ: {differences}");
    }
    Ok(())
}
