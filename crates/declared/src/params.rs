//! Named parameters in a declared statement: `:name` is an argument of the request
//! (`:key` is its key), rewritten to the driver's positional placeholders (`$1` for
//! PostgreSQL, `?` for MySQL) outside string literals, quoted identifiers, comments and
//! PostgreSQL's `::` casts. Values are bound, never spliced into the text.

use crate::DeclaredError;

/// Which placeholders the driver takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `$1`, `$2`, ... (PostgreSQL); a name used twice is one parameter.
    Numbered,
    /// `?` per occurrence (MySQL).
    Question,
}

/// A statement with its placeholders, and the argument each one binds, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The text sent to the server.
    pub sql: String,
    /// The names bound, in placeholder order (`key` is the request's key).
    pub names: Vec<String>,
}

/// Rewrites the named parameters of `sql`.
pub fn rewrite(sql: &str, style: Style) -> Result<Statement, DeclaredError> {
    rewrite_text(sql, style).map_err(DeclaredError)
}

fn rewrite_text(sql: &str, style: Style) -> Result<Statement, String> {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                let end = closing(&chars, i, c, style == Style::Question)
                    .ok_or_else(|| format!("an unterminated {c}...{c} in `{sql}`"))?;
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p);
                out.extend(&chars[i..end]);
                i = end;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                    .ok_or_else(|| format!("an unterminated comment in `{sql}`"))?;
                out.extend(&chars[i..end + 2]);
                i = end + 2;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') =>
            {
                let start = i + 1;
                let mut end = start;
                while end < chars.len()
                    && (chars[end].is_ascii_alphanumeric()
                        || chars[end] == '_'
                        || chars[end] == '.')
                {
                    end += 1;
                }
                // A trailing dot ends a sentence, not a name.
                while chars[end - 1] == '.' {
                    end -= 1;
                }
                let name: String = chars[start..end].iter().collect();
                match style {
                    Style::Numbered => {
                        let n = match names.iter().position(|known| *known == name) {
                            Some(p) => p + 1,
                            None => {
                                names.push(name);
                                names.len()
                            }
                        };
                        out.push_str(&format!("${n}"));
                    }
                    Style::Question => {
                        names.push(name);
                        out.push('?');
                    }
                }
                i = end;
            }
            '?' if style == Style::Question => {
                return Err(format!("`{sql}` has a `?`: name its parameters (`:name`)"));
            }
            '$' if style == Style::Numbered
                && chars.get(i + 1).is_some_and(char::is_ascii_digit) =>
            {
                return Err(format!(
                    "`{sql}` has a positional `$n`: name its parameters (`:name`)"
                ));
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(Statement { sql: out, names })
}

/// The index of the quote closing the one at `open` (a doubled quote is escaped).
fn closing(chars: &[char], open: usize, quote: char, backslash: bool) -> Option<usize> {
    let mut j = open + 1;
    while j < chars.len() {
        if backslash && chars[j] == '\\' && quote == '\'' {
            j += 2;
            continue;
        }
        if chars[j] == quote {
            if chars.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return Some(j);
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_placeholders_outside_literals_comments_and_casts() {
        let sql = "SELECT ':no', \"a:b\" FROM t -- :comment\nWHERE id = :key AND d > :since::date /* :x */ AND k = :key AND s = 'it''s :not'";
        let pg = rewrite(sql, Style::Numbered).unwrap();
        assert_eq!(
            pg.sql,
            "SELECT ':no', \"a:b\" FROM t -- :comment\nWHERE id = $1 AND d > $2::date /* :x */ AND k = $1 AND s = 'it''s :not'"
        );
        assert_eq!(pg.names, ["key", "since"]);
        let my = rewrite(
            "UPDATE t SET a = :a, b = `:b` WHERE id = :key AND a <> :a",
            Style::Question,
        )
        .unwrap();
        assert_eq!(
            my.sql,
            "UPDATE t SET a = ?, b = `:b` WHERE id = ? AND a <> ?"
        );
        assert_eq!(my.names, ["a", "key", "a"]);
        assert_eq!(
            rewrite("x = :user.id.", Style::Question).unwrap().names,
            ["user.id"]
        );
        assert!(rewrite("SELECT 'open", Style::Numbered).is_err());
        assert!(rewrite("SELECT * FROM t WHERE a = ?", Style::Question).is_err());
        assert!(rewrite("SELECT * FROM t WHERE a = $1", Style::Numbered).is_err());
        assert_eq!(
            rewrite("SELECT 'a\\'b :x'", Style::Question).unwrap().names,
            Vec::<String>::new()
        );
    }
}
