//! The neighbours of the call (docs/wire-contract.md §2): send, list and remove.

use anyhow::{Context, Result, ensure};
use zitadel_passkey::proto::zitadel::user::v1::AuthFactorState;
use zitadel_passkey::{Code, Error};
use zitadel_passkey_test_support::get;

use crate::ctx::{Ctx, ORG_A, TOKEN_B, USER_A, USER_B};
use crate::ensure_eq;

/// SendMyPasswordlessLink: details only; the link goes to the outbox and opens.
pub async fn send(ctx: Ctx) -> Result<()> {
    let client = ctx.client()?;
    let before = client.add_passkey_link().await?.details().sequence;
    let details = client.send_passkey_link().await?;
    ensure_eq!(details.resource_owner, ORG_A);
    ensure_eq!(details.sequence, before + 1, "send is an event on the user");
    ensure!(details.creation_date.is_some(), "creationDate missing");
    ensure!(details.change_date.is_none(), "changeDate set");
    let mock = ctx.mock()?;
    let outbox = mock.outbox();
    ensure_eq!(outbox.len(), 1, "outbox");
    ensure_eq!(outbox[0].user_id, USER_A);
    ensure_eq!(outbox[0].org_id, ORG_A);
    let reply = get(&outbox[0].link).await?;
    ensure_eq!(reply.status.as_u16(), 200, "the e-mailed link opens");
    ensure_eq!(mock.live_codes().len(), 2, "the sent code is live too");
    let journal = ctx.journal("SendMyPasswordlessLink")?;
    ensure_eq!(journal.len(), 1);
    ensure_eq!(journal[0].code, Some(Code::Ok));
    Ok(())
}

/// ListMyPasswordless answers and lists READY passkeys only.
pub async fn list(ctx: Ctx) -> Result<()> {
    let passkeys = ctx.client()?.list_passkeys().await?;
    for passkey in &passkeys {
        ensure!(!passkey.id().is_empty(), "a passkey without ID");
        ensure_eq!(
            passkey.state(),
            AuthFactorState::Ready,
            "only READY passkeys are listed"
        );
    }
    if !ctx.is_live() {
        ensure!(
            passkeys.is_empty(),
            "a fresh user has passkeys: {passkeys:?}"
        );
    }
    Ok(())
}

/// Passkeys added through the admin API are listed for their user only; removing one sets
/// changeDate (not creationDate), bumps the sequence and leaves the other.
pub async fn list_and_remove(ctx: Ctx) -> Result<()> {
    let mock = ctx.mock()?;
    let phone = mock.add_passkey(USER_A, "phone");
    let laptop = mock.add_passkey(USER_A, "laptop");
    mock.add_passkey(USER_B, "b's key");
    let client = ctx.client()?;
    let mut listed: Vec<(String, String)> = client
        .list_passkeys()
        .await?
        .iter()
        .map(|p| (p.id().to_owned(), p.name().to_owned()))
        .collect();
    listed.sort();
    let mut expected = vec![
        (phone.clone(), "phone".to_owned()),
        (laptop.clone(), "laptop".to_owned()),
    ];
    expected.sort();
    ensure_eq!(listed, expected, "user A's passkeys");
    let b = ctx.client_with_token(TOKEN_B)?.list_passkeys().await?;
    ensure_eq!(b.len(), 1, "user B's passkeys");

    let before = client.add_passkey_link().await?.details().sequence;
    let details = client.remove_passkey(&phone).await?;
    ensure_eq!(details.resource_owner, ORG_A);
    ensure!(details.change_date.is_some(), "remove sets changeDate");
    ensure!(
        details.creation_date.is_none(),
        "remove sets no creationDate"
    );
    ensure_eq!(details.sequence, before + 1);
    let left = client.list_passkeys().await?;
    ensure_eq!(left.len(), 1);
    ensure_eq!(left[0].id(), laptop);

    let again = client
        .remove_passkey(&phone)
        .await
        .err()
        .context("removing a removed passkey succeeded")?;
    ensure_eq!(
        again,
        Error::new(Code::NotFound, "Errors.User.WebAuthN.NotFound").with_error_id("MOCK-tkn02")
    );
    let journal = ctx.journal("RemoveMyPasswordless")?;
    ensure_eq!(
        journal.iter().map(|e| e.code).collect::<Vec<_>>(),
        [Some(Code::Ok), Some(Code::NotFound)]
    );
    Ok(())
}
