//! AddMyPasswordlessLink succeeds: the link's shape, its details, sequences, codes, and the
//! login page it opens.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use zitadel_passkey::{Code, PasskeyLink};
use zitadel_passkey_mock::token_fingerprint;
use zitadel_passkey_test_support::get;

use crate::ctx::{self, Ctx, ORG_A, TOKEN_B, USER_A, USER_B};
use crate::ensure_eq;
use crate::wire;

const ADD: &str = "AddMyPasswordlessLink";

/// Checks what every link must look like (docs/wire-contract.md §1), on any instance.
pub fn check_link(ctx: &Ctx, link: &PasskeyLink) -> Result<()> {
    let url = url::Url::parse(link.url()).context("the link is not a URL")?;
    ensure_eq!(url.path(), "/ui/login/login/passwordless/init");
    let endpoint = url::Url::parse(&ctx.endpoint())?;
    ensure_eq!(url.scheme(), endpoint.scheme(), "the link's scheme");
    ensure_eq!(url.host_str(), endpoint.host_str(), "the link's host");
    if !ctx.is_live() {
        ensure_eq!(
            url.port_or_known_default(),
            endpoint.port_or_known_default()
        );
    }
    let query = wire::query(link.url())?;
    let keys: Vec<&str> = query.keys().map(String::as_str).collect();
    ensure_eq!(
        keys,
        ["code", "codeID", "orgID", "userID"],
        "the link's parameters"
    );
    ensure_eq!(query["userID"], link.user_id());
    ensure_eq!(query["orgID"], link.org_id());
    ensure_eq!(query["codeID"], link.code_id());
    for (name, id) in [
        ("userID", link.user_id()),
        ("orgID", link.org_id()),
        ("codeID", link.code_id()),
    ] {
        ensure!(wire::is_decimal_id(id), "{name} {id:?} is not a decimal ID");
    }
    ensure!(
        wire::is_code(&query["code"]),
        "the code is not 12 of a-z A-Z 0-9"
    );
    // The code never shows in Debug or Display.
    let shown = format!("{link} {link:?} {}", link.redacted_url());
    ensure!(
        !shown.contains(&query["code"]),
        "the code leaks into Debug/Display"
    );

    let details = link.details();
    ensure_eq!(
        details.resource_owner,
        link.org_id(),
        "resourceOwner = orgID"
    );
    ensure!(details.sequence > 0, "sequence is 0");
    ensure!(
        details.change_date.is_none(),
        "changeDate is set: {:?}",
        details.change_date
    );
    let created = details.creation_date.context("creationDate is missing")?;
    let created = SystemTime::try_from(created)?;
    let now = SystemTime::now();
    let skew = Duration::from_secs(300);
    ensure!(
        created <= now + skew && created + skew >= now,
        "creationDate {created:?} is not near now {now:?}"
    );
    ensure!(link.expires_in() > Duration::ZERO, "no expiration");
    let expires_at = link.expires_at().context("expires_at is missing")?;
    ensure!(
        expires_at <= now + link.expires_in() + skew
            && expires_at >= now + link.expires_in() - skew,
        "expires_at is not now + expiration"
    );
    Ok(())
}

/// One link: its shape, the mock's user and org, the default expiration, and what the mock saw.
pub async fn shape(ctx: Ctx) -> Result<()> {
    let link = ctx.client()?.add_passkey_link().await?;
    check_link(&ctx, &link)?;
    if ctx.is_live() {
        return Ok(());
    }
    ensure_eq!(link.user_id(), USER_A);
    ensure_eq!(link.org_id(), ORG_A);
    ensure_eq!(
        link.expires_in(),
        Duration::from_secs(3600),
        "default expiration"
    );
    ensure_eq!(link.raw().expiration.map(|d| d.seconds), Some(3600));
    let journal = ctx.journal(ADD)?;
    ensure_eq!(journal.len(), 1, "journal entries");
    let entry = &journal[0];
    ensure_eq!(
        entry.transport.as_str(),
        ctx::journal_transport(ctx.transport)
    );
    ensure_eq!(entry.http_version, ctx::sdk_http_version(ctx.transport));
    ensure_eq!(entry.code, Some(Code::Ok));
    ensure_eq!(entry.org_id, None);
    ensure_eq!(entry.fault, None);
    ensure_eq!(
        entry.token_fingerprint,
        Some(token_fingerprint(ctx::TOKEN_A))
    );
    let codes = ctx.mock()?.live_codes();
    ensure_eq!(codes.len(), 1, "live codes");
    ensure_eq!(codes[0].code_id, link.code_id());
    ensure_eq!(codes[0].link, link.url());
    ensure_eq!(codes[0].user_id, USER_A);
    Ok(())
}

/// Sequences grow per user; every call makes a new code and code ID.
pub async fn sequence_and_codes(ctx: Ctx) -> Result<()> {
    let a = ctx.client()?;
    let mut links = Vec::new();
    for _ in 0..4 {
        links.push(a.add_passkey_link().await?);
    }
    let sequences: Vec<u64> = links.iter().map(|l| l.details().sequence).collect();
    ensure!(
        sequences.windows(2).all(|w| w[1] > w[0]),
        "user A's sequences do not grow: {sequences:?}"
    );
    if !ctx.is_live() {
        ensure!(
            sequences.windows(2).all(|w| w[1] == w[0] + 1),
            "the mock's sequence of one user grows by one per event: {sequences:?}"
        );
        let b = ctx.client_with_token(TOKEN_B)?;
        let first_b = b.add_passkey_link().await?;
        let second_b = b.add_passkey_link().await?;
        ensure_eq!(first_b.user_id(), USER_B);
        ensure!(
            first_b.details().sequence < sequences[3],
            "user B's sequence continues user A's ({} after {sequences:?}): it must grow per user",
            first_b.details().sequence
        );
        ensure_eq!(second_b.details().sequence, first_b.details().sequence + 1);
        let a_again = a.add_passkey_link().await?;
        ensure_eq!(
            a_again.details().sequence,
            sequences[3] + 1,
            "user A after user B"
        );
        links.extend([first_b, second_b, a_again]);
    }
    let codes: HashSet<String> = links
        .iter()
        .map(|l| wire::query(l.url()).map(|q| q["code"].clone()))
        .collect::<Result<_>>()?;
    let code_ids: HashSet<&str> = links.iter().map(|l| l.code_id()).collect();
    ensure_eq!(codes.len(), links.len(), "distinct codes");
    ensure_eq!(code_ids.len(), links.len(), "distinct code IDs");
    if !ctx.is_live() {
        ensure_eq!(
            ctx.mock()?.live_codes().len(),
            links.len(),
            "all codes live at once"
        );
    }
    Ok(())
}

/// The link opens on the mock's login page while its code is right; three wrong tries remove it;
/// it expires with the clock. Every answer is HTTP 200, as ZITADEL's login renderer sets no
/// status: a refused code shows "Code is invalid" (`COMMAND-Dhz8i`) and no form.
pub async fn login_page(ctx: Ctx) -> Result<()> {
    let client = ctx.client()?;
    let mock = ctx.mock()?;
    let opened = client.add_passkey_link().await?;
    let page = open_page(opened.url()).await?;
    ensure!(
        !page.contains("COMMAND-Dhz8i"),
        "the right code is refused: {page}"
    );
    ensure!(page.contains(USER_A), "the page is not for user A");
    let again = open_page(opened.url()).await?;
    ensure!(!again.contains("COMMAND-Dhz8i"), "opening twice: {again}");

    let wrong = client.add_passkey_link().await?;
    let bad = wrong_code(wrong.url())?;
    for attempt in 1..=3 {
        let reply = open_page(&bad).await?;
        ensure!(
            reply.contains("COMMAND-Dhz8i"),
            "wrong try {attempt}: {reply}"
        );
    }
    let reply = open_page(wrong.url()).await?;
    ensure!(
        reply.contains("Code is invalid"),
        "the right code after three wrong tries: {reply}"
    );
    ensure!(
        !mock
            .live_codes()
            .iter()
            .any(|c| c.code_id == wrong.code_id()),
        "the code is still live after three wrong tries"
    );

    let two_wrong = client.add_passkey_link().await?;
    let bad = wrong_code(two_wrong.url())?;
    for _ in 0..2 {
        ensure!(open_page(&bad).await?.contains("COMMAND-Dhz8i"));
    }
    ensure!(
        !open_page(two_wrong.url()).await?.contains("COMMAND-Dhz8i"),
        "two wrong tries leave the code usable"
    );

    mock.advance_clock(opened.expires_in() + Duration::from_secs(1));
    ensure!(
        open_page(opened.url()).await?.contains("COMMAND-Dhz8i"),
        "the code after its expiration"
    );
    Ok(())
}

/// The login page a link opens: HTTP 200 and HTML, whatever the code; the page's text.
async fn open_page(link: &str) -> Result<String> {
    let reply = get(link).await?;
    ensure_eq!(reply.status.as_u16(), 200, "the login page of {link}");
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// The link with a different code of the same shape.
fn wrong_code(link: &str) -> Result<String> {
    let mut url = url::Url::parse(link)?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let mut changed = false;
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, value) in pairs {
            if key == "code" {
                let flipped: String = value
                    .chars()
                    .map(|c| if c == 'A' { 'B' } else { 'A' })
                    .collect();
                query.append_pair(&key, &flipped);
                changed = true;
            } else {
                query.append_pair(&key, &value);
            }
        }
    }
    if !changed {
        bail!("the link has no code");
    }
    Ok(url.to_string())
}
