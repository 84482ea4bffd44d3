//! Servers and tools as child processes: started, waited for, read from, and always killed.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The environment that makes the mock binary's RSS its memory footprint's high-water mark, to
/// the 4 KiB page: its allocator, mimalloc, then never returns a page it has committed, and
/// asks for no transparent huge pages. With pages returned after a delay (the default), RSS
/// wanders by several per cent between rounds of calls and can step up once by 10-20% and stay
/// there, depending on which pages were returned when. With huge pages (mimalloc asks for them
/// where the kernel leaves it the choice) the heap is mapped 2 MiB at a time: its growth shows
/// only when it first touches another such page, a 2 MiB step after one round in some runs and
/// in no round of others.
pub const FOOTPRINT_ENV: [(&str, &str); 2] =
    [("MIMALLOC_PURGE_DELAY", "-1"), ("MIMALLOC_ALLOW_THP", "0")];

/// A server process that printed `listening on http://ADDR`; killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    address: String,
    url: String,
}

impl Server {
    pub async fn start(program: &Path, args: &[&str]) -> Result<Server> {
        Server::start_with_env(program, args, &[]).await
    }

    /// [`Server::start`] with these environment variables set for the server.
    pub async fn start_with_env(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server> {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .with_context(|| format!("{} did not say where it listens", program.display()))??
            .with_context(|| format!("{} exited before listening", program.display()))?;
        let Some(url) = line.strip_prefix("listening on ") else {
            bail!("{} said {line:?}", program.display());
        };
        let url = url.trim().to_owned();
        let address = url.trim_start_matches("http://").to_owned();
        // Keep reading so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            child,
            address,
            url,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `HOST:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The resident set size, KiB (Linux).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

/// Runs a command to its end: its stdout, or an error with its stderr.
pub async fn output(program: &str, args: &[String]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} exited with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether `program` is on the PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
