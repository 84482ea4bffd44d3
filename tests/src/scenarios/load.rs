//! 100 concurrent calls: 100 distinct codes, 100 journal entries.

use std::collections::HashSet;

use anyhow::{Result, ensure};
use futures::future::join_all;
use zitadel_passkey::Code;

use crate::ctx::Ctx;
use crate::ensure_eq;
use crate::wire;

/// 100 calls at once on one client (one HTTP/2 connection, or a pool of HTTP/1.1 connections).
pub async fn concurrent(ctx: Ctx) -> Result<()> {
    let client = ctx.client()?;
    let calls = (0..100).map(|_| {
        let client = client.clone();
        async move { client.add_passkey_link().await }
    });
    let results = join_all(calls).await;
    let mut codes = HashSet::new();
    let mut code_ids = HashSet::new();
    let mut sequences = HashSet::new();
    for result in results {
        let link = result?;
        codes.insert(wire::query(link.url())?["code"].clone());
        code_ids.insert(link.code_id().to_owned());
        sequences.insert(link.details().sequence);
    }
    ensure_eq!(codes.len(), 100, "distinct codes");
    ensure_eq!(code_ids.len(), 100, "distinct code IDs");
    ensure_eq!(sequences.len(), 100, "distinct sequences of the one user");
    let journal = ctx.journal("AddMyPasswordlessLink")?;
    ensure_eq!(journal.len(), 100, "journal entries");
    ensure!(
        journal.iter().all(|e| e.code == Some(Code::Ok)),
        "a call failed on the mock"
    );
    ensure_eq!(ctx.mock()?.live_codes().len(), 100, "live codes");
    Ok(())
}
