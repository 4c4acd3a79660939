//! How rendered text is marked up: plain, or ANSI colours for a terminal. Which one is the
//! CLI's decision (a terminal, `NO_COLOR`, `CLICOLOR_FORCE`); the library renders plain
//! text unless told otherwise, and only ever paints whole words or lines, so that the plain
//! text is the coloured one with its escapes removed.

use crate::report::Verdict;
use anstyle::{AnsiColor, Style as Ansi};

/// How a report is marked up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Style {
    /// Plain text: files, pipes, tests, test failure messages, `NO_COLOR`.
    #[default]
    Plain,
    /// ANSI colours, for a terminal.
    Colour,
}

/// What a piece of text means to the reader, and so its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Something that went wrong: divergent counts (red).
    Bad,
    /// Something to look at: warnings, inconclusive counts, unused rules (yellow).
    Warn,
    /// The legacy side of a value diff, `-` (red).
    Legacy,
    /// The candidate side of a value diff, `+` (green).
    Candidate,
}

impl Role {
    fn ansi(self) -> Ansi {
        let colour = match self {
            Role::Bad | Role::Legacy => AnsiColor::Red,
            Role::Warn => AnsiColor::Yellow,
            Role::Candidate => AnsiColor::Green,
        };
        Ansi::new().fg_color(Some(colour.into()))
    }
}

impl Style {
    /// `text` in the colour of `role`; `text` itself when plain.
    pub(crate) fn paint(self, role: Role, text: &str) -> String {
        self.with(role.ansi(), text)
    }

    /// `text` painted only when `count` is not zero: a count that is worth a look.
    pub(crate) fn count(self, role: Role, count: u64, text: &str) -> String {
        match count {
            0 => text.to_string(),
            _ => self.paint(role, text),
        }
    }

    /// The verdict's word in bold green, red or yellow.
    pub(crate) fn verdict(self, verdict: Verdict, word: &str) -> String {
        let colour = match verdict {
            Verdict::Equivalent => AnsiColor::Green,
            Verdict::Divergent => AnsiColor::Red,
            Verdict::Inconclusive => AnsiColor::Yellow,
        };
        self.with(Ansi::new().fg_color(Some(colour.into())).bold(), word)
    }

    fn with(self, ansi: Ansi, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Colour => format!("{ansi}{text}{ansi:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_the_text_and_colour_wraps_it_in_escapes_that_reset() {
        assert_eq!(Style::Plain.paint(Role::Bad, "4 divergent"), "4 divergent");
        assert_eq!(
            Style::Colour.paint(Role::Bad, "4 divergent"),
            "\x1b[31m4 divergent\x1b[0m"
        );
        assert_eq!(
            Style::Colour.verdict(Verdict::Equivalent, "EQUIVALENT"),
            "\x1b[1m\x1b[32mEQUIVALENT\x1b[0m"
        );
        assert_eq!(
            Style::Colour.count(Role::Bad, 0, "0 divergent"),
            "0 divergent"
        );
    }
}
