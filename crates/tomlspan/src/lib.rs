//! The one TOML loader: [`parse`] deserializes a document and, when it does not fit,
//! says where (line and key path) and why; [`locate`] does the same for a check that
//! failed after parsing. Underneath, maps between byte offsets and key paths. The config,
//! the simulator's scenarios and the load test's scenarios all load through here.
use serde::de::DeserializeOwned;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(&'static str),
    Index(usize),
}

/// `phase[1].rate`
pub fn display_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Where a TOML document went wrong, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// 1-based line of the offending key or value, when known.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `phase[1].rate`, when known.
    pub key: Option<String>,
    /// One line: the parser's message with its line breaks folded.
    pub message: String,
}

/// Deserializes `text` as a `T`, or locates the first thing that does not fit.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Located> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|r| r.start);
        Located {
            line: offset.map(|o| line_of(text, o)),
            key: offset.and_then(|o| key_at(text, o)),
            message: e.message().trim().replace('\n', " "),
        }
    })
}

/// A check on the parsed document that failed at `path`, located in `text`.
pub fn locate(text: &str, path: &[Seg], message: String) -> Located {
    Located {
        line: line_of_path(text, path),
        key: Some(display_path(path)),
        message,
    }
}

/// 1-based line of a byte offset.
pub fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Line of the value at `path`, falling back to the deepest ancestor found.
pub fn line_of_path(src: &str, path: &[Seg]) -> Option<usize> {
    let root = DeTable::parse(src).ok()?;
    let mut span = root.span();
    let mut table = root.get_ref();
    let mut value: Option<&Spanned<DeValue>> = None;
    for seg in path {
        let next = match (seg, value.map(|v| v.get_ref())) {
            (Seg::Key(k), None) => table.get(*k),
            (Seg::Key(k), Some(DeValue::Table(t))) => {
                table = t;
                t.get(*k)
            }
            (Seg::Index(i), Some(DeValue::Array(a))) => a.get(*i),
            _ => None,
        };
        match next {
            Some(v) => {
                span = v.span();
                value = Some(v);
            }
            None => break,
        }
    }
    Some(line_of(src, span.start))
}

/// The dotted key path whose key or value covers `offset`, if any.
pub fn key_at(src: &str, offset: usize) -> Option<String> {
    let root = DeTable::parse(src).ok()?;
    let mut out = String::new();
    walk_table(root.get_ref(), offset, &mut out);
    (!out.is_empty()).then_some(out)
}

fn walk_table(table: &DeTable<'_>, offset: usize, out: &mut String) {
    for (k, v) in table.iter() {
        let in_key = k.span().contains(&offset);
        if in_key || covers(v, offset) {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(k.get_ref());
            if !in_key {
                walk_value(v.get_ref(), offset, out);
            }
            return;
        }
    }
}

fn walk_value(value: &DeValue<'_>, offset: usize, out: &mut String) {
    match value {
        DeValue::Table(t) => walk_table(t, offset, out),
        DeValue::Array(a) => {
            if let Some(i) = a.iter().position(|item| covers(item, offset)) {
                out.push_str(&format!("[{i}]"));
                walk_value(a[i].get_ref(), offset, out);
            }
        }
        _ => {}
    }
}

/// Spans of arrays of tables and of `[section]` tables need not enclose their
/// contents, so look inside as well.
fn covers(v: &Spanned<DeValue<'_>>, offset: usize) -> bool {
    if v.span().contains(&offset) {
        return true;
    }
    match v.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .any(|(k, v)| k.span().contains(&offset) || covers(v, offset)),
        DeValue::Array(a) => a.iter().any(|item| covers(item, offset)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "seed = 7\n[[phase]]\nuntil = 10\n[[phase]]\nuntil = \"tip\"\nrate = 5\n";

    #[test]
    fn paths_and_lines() {
        assert_eq!(
            display_path(&[Seg::Key("phase"), Seg::Index(1), Seg::Key("rate")]),
            "phase[1].rate"
        );
        assert_eq!(line_of(DOC, 0), 1);
        assert_eq!(line_of(DOC, DOC.find("rate").unwrap()), 6);
        assert_eq!(
            line_of(DOC, usize::MAX),
            7,
            "offsets past the end are clamped"
        );
        assert_eq!(
            line_of_path(DOC, &[Seg::Key("phase"), Seg::Index(1), Seg::Key("rate")]),
            Some(6)
        );
        assert_eq!(
            line_of_path(DOC, &[Seg::Key("phase"), Seg::Index(0), Seg::Key("until")]),
            Some(3)
        );
        // A missing key points at its deepest existing ancestor (the document: line 1).
        assert_eq!(line_of_path(DOC, &[Seg::Key("nope")]), Some(1));
        assert_eq!(line_of_path("not = [toml", &[Seg::Key("not")]), None);
        assert_eq!(
            key_at(DOC, DOC.find("rate").unwrap()).as_deref(),
            Some("phase[1].rate")
        );
    }
}
