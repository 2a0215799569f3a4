//! The one paragraph an operator can post: who got where how fast, where the winner was
//! slower, and the stalls of each.
use nodewarden_analyze::Comparison;
use nodewarden_report::{age, count};

pub fn paragraph(c: &Comparison) -> String {
    let (a, b) = (&c.a.label, &c.b.label);
    let (Some(to), Some(ta), Some(tb), Some(s)) =
        (c.common_to_height, c.a_seconds, c.b_seconds, c.speedup)
    else {
        return format!(
            "A ({a}) and B ({b}) have no height range in common yet: no comparison. {}",
            stalls(c)
        );
    };
    let mut p = format!(
        "B ({b}) reached {} in {}, A ({a}) in {}: ",
        count(to),
        age(tb),
        age(ta)
    );
    // speedup = A's time / B's time.
    let (winner, factor, b_wins) = if s >= 1.0 {
        ("B", s, true)
    } else {
        ("A", 1.0 / s, false)
    };
    if (factor - 1.0).abs() < 0.05 {
        p.push_str(&format!("about the same ({factor:.2}×)"));
    } else {
        p.push_str(&format!("{winner} {factor:.2}× faster overall"));
        // Height ranges where the overall winner was the slower one.
        let slower: Vec<(u64, u64)> = ranges(c.buckets.iter().filter_map(|bk| {
            let sp = bk.speedup?;
            let loses = if b_wins { sp < 0.95 } else { sp > 1.05 };
            loses.then_some((bk.from, bk.to))
        }));
        if let Some(text) = (!slower.is_empty()).then(|| {
            slower
                .iter()
                .take(3)
                .map(|(f, t)| format!("{} and {}", count(*f), count(*t)))
                .collect::<Vec<_>>()
                .join(", ")
        }) {
            let loser = if b_wins { "A" } else { "B" };
            p.push_str(&format!("; slower than {loser} between {text}"));
        }
    }
    p.push_str("; ");
    p.push_str(&stalls(c));
    p
}

fn stalls(c: &Comparison) -> String {
    let n = |k: u64| {
        if k == 1 {
            "1 stall".to_string()
        } else {
            format!("{k} stalls")
        }
    };
    format!(
        "{} in A, {} in B.",
        n(c.a.stalls_total),
        n(c.b.stalls_total)
    )
}

/// Adjacent buckets merged into ranges.
fn ranges(it: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (f, t) in it {
        match out.last_mut() {
            Some(last) if f <= last.1 + 1 => last.1 = t,
            _ => out.push((f, t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn adjacent_buckets_merge() {
        assert_eq!(
            ranges([(0, 99), (100, 199), (300, 399)].into_iter()),
            vec![(0, 199), (300, 399)]
        );
    }
}
