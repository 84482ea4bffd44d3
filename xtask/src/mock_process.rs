//! A mock binary run as its own process for the packaging checks: started on a free port, its
//! URL read from the line it prints once it accepts connections, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

pub struct MockProcess {
    child: Child,
    url: String,
}

impl MockProcess {
    /// Runs `binary --listen 127.0.0.1:0 ARGS...` and waits for its `listening on URL` line.
    pub fn start(binary: &Path, args: &[String]) -> Result<MockProcess> {
        let child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        // Owned from here on, so that the child is killed whatever fails below.
        let mut mock = MockProcess {
            child,
            url: String::new(),
        };
        let stdout = mock.child.stdout.take().context("the mock's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        mock.url = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("{} printed {line:?}", binary.display()))?
            .to_owned();
        Ok(mock)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
