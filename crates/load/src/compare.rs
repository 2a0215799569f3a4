//! Equality mode: the `result`s of two endpoints for the same call, compared structurally.
use serde_json::Value;

/// Per call, what the endpoint answered: its `result`, or `{"error": {...}}`, or `None`
/// when the answer was not JSON-RPC at all.
pub fn answers(status: u16, body: &[u8], calls: usize, batch: bool) -> Vec<Option<Value>> {
    let mut out = vec![None; calls];
    if status != 200 {
        return out;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return out;
    };
    let pick = |mut o: Value| -> Option<Value> {
        match (o.get_mut("result").map(Value::take), o.get_mut("error")) {
            (Some(r), _) => Some(r),
            // Messages vary between implementations; the code is what matters.
            (None, Some(e)) => Some(serde_json::json!({"error": {"code": e.get("code").cloned()}})),
            _ => None,
        }
    };
    match (batch, v) {
        (false, v) => out[0] = pick(v),
        (true, Value::Array(items)) => {
            for item in items {
                if let Some(i) = item["id"]
                    .as_u64()
                    .filter(|i| (1..=calls as u64).contains(i))
                {
                    out[i as usize - 1] = pick(item);
                }
            }
        }
        (true, _) => {}
    }
    out
}

/// `None` when equal; else up to three differing paths with both sides, shortened.
pub fn diff(a: &Option<Value>, b: &Option<Value>) -> Option<String> {
    let mut found = Vec::new();
    match (a, b) {
        (Some(a), Some(b)) => walk("$", a, b, &mut found),
        (None, None) => {}
        (a, b) => found.push(format!(
            "$: {} vs {}",
            short(a.as_ref().unwrap_or(&Value::String("<no answer>".into()))),
            short(b.as_ref().unwrap_or(&Value::String("<no answer>".into())))
        )),
    }
    (!found.is_empty()).then(|| found.join("; "))
}

const MAX_PATHS: usize = 3;

fn walk(path: &str, a: &Value, b: &Value, found: &mut Vec<String>) {
    if found.len() >= MAX_PATHS || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => walk(&format!("{path}.{k}"), va, vb, found),
                    None => push(found, format!("{path}.{k}: {} vs <absent>", short(va))),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    push(found, format!("{path}.{k}: <absent> vs {}", short(vb)));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{i}]"), va, vb, found);
            }
        }
        _ => push(found, format!("{path}: {} vs {}", short(a), short(b))),
    }
}

fn push(found: &mut Vec<String>, s: String) {
    if found.len() < MAX_PATHS {
        found.push(s);
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_differing_path() {
        let a = Some(json!({"number": "0x1", "hash": "0xaa", "txs": [1, 2]}));
        let b = Some(json!({"number": "0x1", "hash": "0xbb", "txs": [1, 3], "extra": true}));
        let d = diff(&a, &b).unwrap();
        assert!(d.contains(r#"$.hash: "0xaa" vs "0xbb""#), "{d}");
        assert!(d.contains("$.txs[1]: 2 vs 3"), "{d}");
        assert!(d.contains("$.extra: <absent> vs true"), "{d}");
        assert_eq!(diff(&a, &a.clone()), None);
    }

    #[test]
    fn errors_compare_by_code() {
        let a = answers(
            200,
            br#"{"id":1,"error":{"code":-32601,"message":"geth words"}}"#,
            1,
            false,
        );
        let b = answers(
            200,
            br#"{"id":1,"error":{"code":-32601,"message":"besu words"}}"#,
            1,
            false,
        );
        assert_eq!(diff(&a[0], &b[0]), None);
        let c = answers(200, br#"{"id":1,"result":"0x1"}"#, 1, false);
        assert!(diff(&a[0], &c[0]).is_some());
    }
}
