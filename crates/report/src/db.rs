//! `nodewarden db inspect`'s text: warnings first, then each database's levels.
use std::fmt::Write as _;

use nodewarden_db::{Inspection, LevelStats, human_bytes};

pub fn db_text(i: &Inspection) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} database{} ({}), {} files, {}; obsolete {} in {} files; WAL {}",
        i.path,
        i.databases.len(),
        if i.databases.len() == 1 { "" } else { "s" },
        i.engine,
        i.files,
        human_bytes(i.bytes),
        human_bytes(i.obsolete_bytes),
        i.obsolete_files,
        human_bytes(i.wal_bytes),
    );
    if i.warnings.is_empty() {
        let _ = writeln!(
            s,
            "no warnings (highest compaction score {:.2})",
            i.max_compaction_score
        );
    }
    for w in &i.warnings {
        let _ = writeln!(s, "WARNING: {w}");
    }
    for d in &i.databases {
        let _ = writeln!(
            s,
            "\n{} — {}, {}, last sequence {}",
            d.path,
            d.engine,
            d.manifest,
            d.last_sequence.map_or("unknown".into(), |n| n.to_string())
        );
        for cf in &d.column_families {
            if d.column_families.len() > 1 {
                let _ = writeln!(
                    s,
                    "  column family {} ({} files, {})",
                    cf.name,
                    cf.files,
                    human_bytes(cf.bytes)
                );
            }
            levels(&mut s, &cf.levels);
        }
    }
    s
}

fn levels(s: &mut String, levels: &[LevelStats]) {
    let _ = writeln!(
        s,
        "    {:<5} {:>7} {:>10} {:>10} {:>6}  keys",
        "level", "files", "bytes", "target", "score"
    );
    for l in levels {
        let keys = match (&l.smallest_key, &l.largest_key) {
            (Some(a), Some(b)) => format!("{a} … {b}"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "    L{:<4} {:>7} {:>10} {:>10} {:>6.2}  {keys}",
            l.level,
            l.files,
            human_bytes(l.bytes),
            l.target_bytes.map_or("-".into(), human_bytes),
            l.score,
        );
    }
}
