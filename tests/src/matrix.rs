//! The result matrix: one row per scenario, one column per transport, each cell pass, fail or
//! skip with its reason.

use std::fmt::Write as _;

use zitadel_passkey::Transport;

/// The columns, in order.
pub const COLUMNS: [Transport; 3] = [Transport::Grpc, Transport::GrpcWeb, Transport::Json];

/// The outcome of one scenario over one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// A check failed (the message says which).
    Fail(String),
    /// Not run, for this reason.
    Skip(String),
}

impl Verdict {
    fn label(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "FAIL",
            Verdict::Skip(_) => "skip",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Pass => None,
            Verdict::Fail(reason) | Verdict::Skip(reason) => Some(reason),
        }
    }
}

/// One row of the matrix.
#[derive(Debug, Clone)]
pub struct Row {
    /// `mock/<scenario>` or `live/<scenario>`.
    pub name: String,
    /// One verdict per entry of [`COLUMNS`].
    pub cells: [Verdict; 3],
}

/// All rows, printed as a table with numbered notes for skips and failures.
#[derive(Debug, Default)]
pub struct Matrix {
    rows: Vec<Row>,
}

impl Matrix {
    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// The rows so far.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Counts of (pass, fail, skip).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for cell in self.rows.iter().flat_map(|r| r.cells.iter()) {
            match cell {
                Verdict::Pass => counts.0 += 1,
                Verdict::Fail(_) => counts.1 += 1,
                Verdict::Skip(_) => counts.2 += 1,
            }
        }
        counts
    }

    /// Whether any cell failed.
    pub fn failed(&self) -> bool {
        self.counts().1 > 0
    }

    /// The table and its notes. Skips with the same reason share a note; each failure has its own.
    pub fn render(&self) -> String {
        let mut notes: Vec<(String, bool)> = Vec::new();
        let mut table: Vec<[String; 4]> = Vec::new();
        for row in &self.rows {
            let mut line: [String; 4] = Default::default();
            line[0] = row.name.clone();
            for (i, cell) in row.cells.iter().enumerate() {
                let text = match cell.reason() {
                    None => cell.label().to_owned(),
                    Some(reason) => {
                        let failed = matches!(cell, Verdict::Fail(_));
                        let reason = if failed {
                            format!("{} / {}: {reason}", row.name, COLUMNS[i])
                        } else {
                            reason.to_owned()
                        };
                        let index = match notes.iter().position(|n| n.0 == reason && !failed) {
                            Some(index) => index,
                            None => {
                                notes.push((reason, failed));
                                notes.len() - 1
                            }
                        };
                        format!("{} [{}]", cell.label(), index + 1)
                    }
                };
                line[i + 1] = text;
            }
            table.push(line);
        }
        let header = [
            "scenario".to_owned(),
            COLUMNS[0].to_string(),
            COLUMNS[1].to_string(),
            COLUMNS[2].to_string(),
        ];
        let mut widths = [0usize; 4];
        for line in std::iter::once(&header).chain(table.iter()) {
            for (w, cell) in widths.iter_mut().zip(line.iter()) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let print = |out: &mut String, line: &[String; 4]| {
            let mut text = String::new();
            for (i, (cell, w)) in line.iter().zip(widths.iter()).enumerate() {
                if i > 0 {
                    text.push_str(" | ");
                }
                let _ = write!(text, "{cell:<w$}");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        print(&mut out, &header);
        let rule: [String; 4] = widths.map(|w| "-".repeat(w));
        print(&mut out, &rule);
        for line in &table {
            print(&mut out, line);
        }
        if !notes.is_empty() {
            out.push_str("\nnotes:\n");
            for (i, (reason, failed)) in notes.iter().enumerate() {
                let kind = if *failed { "FAIL" } else { "skip" };
                let _ = writeln!(out, "  [{}] {kind}: {reason}", i + 1);
            }
        }
        let (pass, fail, skip) = self.counts();
        let _ = writeln!(out, "\n{pass} passed, {fail} failed, {skip} skipped");
        out
    }
}
