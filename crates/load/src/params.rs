//! Request parameters that vary: a TOML value where a table with `range` or `one_of`
//! draws a fresh value for each pre-rendered request.
use serde_json::Value;

use nodewarden_tomlspan::Seg;

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Lit(Value),
    /// An integer drawn uniformly from `lo..=hi`, as a number or a `0x` hex string.
    Range {
        lo: i64,
        hi: i64,
        hex: bool,
    },
    OneOf(Vec<Value>),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

/// A small, seedable generator (SplitMix64): the request plan must be identical across
/// runs and releases so that baselines compare like with like.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Template {
    pub fn is_constant(&self) -> bool {
        match self {
            Template::Lit(_) => true,
            Template::Range { lo, hi, .. } => lo == hi,
            Template::OneOf(v) => v.len() <= 1,
            Template::Array(items) => items.iter().all(Template::is_constant),
            Template::Object(items) => items.iter().all(|(_, t)| t.is_constant()),
        }
    }

    pub fn draw(&self, rng: &mut Rng) -> Value {
        match self {
            Template::Lit(v) => v.clone(),
            Template::Range { lo, hi, hex } => {
                let span = (*hi as i128 - *lo as i128 + 1) as u64;
                let n = (*lo as i128 + rng.below(span) as i128) as i64;
                if *hex {
                    Value::String(format!("0x{n:x}"))
                } else {
                    Value::from(n)
                }
            }
            Template::OneOf(v) => v[rng.below(v.len() as u64) as usize].clone(),
            Template::Array(items) => Value::Array(items.iter().map(|t| t.draw(rng)).collect()),
            Template::Object(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, t)| (k.clone(), t.draw(rng)))
                    .collect(),
            ),
        }
    }
}

/// An error at a key path below the params value.
pub struct Bad {
    pub path: Vec<Seg>,
    pub message: String,
}

/// Converts a TOML params value; `path` is where it sits in the scenario.
pub fn from_toml(v: &toml::Value, path: &[Seg]) -> Result<Template, Bad> {
    let bad = |p: Vec<Seg>, m: String| Bad {
        path: p,
        message: m,
    };
    let at = |seg: Seg| {
        let mut p = path.to_vec();
        p.push(seg);
        p
    };
    match v {
        toml::Value::Array(items) => Ok(Template::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| from_toml(item, &at(Seg::Index(i))))
                .collect::<Result<_, _>>()?,
        )),
        toml::Value::Table(t) if t.contains_key("range") => {
            if let Some(k) = t.keys().find(|k| *k != "range" && *k != "hex") {
                return Err(bad(
                    path.to_vec(),
                    format!("a range takes only `range` and `hex`, not `{k}`"),
                ));
            }
            let ints: Option<Vec<i64>> = t["range"]
                .as_array()
                .map(|a| a.iter().filter_map(toml::Value::as_integer).collect());
            let (lo, hi) = match ints.as_deref() {
                Some(&[lo, hi]) if lo <= hi => (lo, hi),
                _ => {
                    return Err(bad(
                        at(Seg::Key("range")),
                        "must be [LOW, HIGH], two integers with LOW <= HIGH".into(),
                    ));
                }
            };
            let hex = match t.get("hex") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => return Err(bad(at(Seg::Key("hex")), "must be true or false".into())),
            };
            if hex && lo < 0 {
                return Err(bad(
                    at(Seg::Key("range")),
                    "a hex range cannot go below 0".into(),
                ));
            }
            Ok(Template::Range { lo, hi, hex })
        }
        toml::Value::Table(t) if t.contains_key("one_of") => {
            if t.len() != 1 {
                return Err(bad(path.to_vec(), "`one_of` takes no other keys".into()));
            }
            match &t["one_of"] {
                toml::Value::Array(a) if !a.is_empty() => Ok(Template::OneOf(
                    a.iter()
                        .enumerate()
                        .map(|(i, x)| json(x, &at(Seg::Index(i))))
                        .collect::<Result<_, _>>()?,
                )),
                _ => Err(bad(
                    at(Seg::Key("one_of")),
                    "must be a non-empty list of values".into(),
                )),
            }
        }
        toml::Value::Table(t) if t.contains_key("literal") && t.len() == 1 => Ok(Template::Lit(
            json(&t["literal"], &at(Seg::Key("literal")))?,
        )),
        toml::Value::Table(t) => Ok(Template::Object(
            t.iter()
                // Object keys are the user's, not static: errors below point at the object.
                .map(|(k, v)| Ok((k.clone(), from_toml(v, path)?)))
                .collect::<Result<_, Bad>>()?,
        )),
        other => Ok(Template::Lit(json(other, path)?)),
    }
}

fn json(v: &toml::Value, path: &[Seg]) -> Result<Value, Bad> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .ok_or_else(|| Bad {
                path: path.to_vec(),
                message: "NaN and infinity have no JSON form".into(),
            })?,
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(_) => {
            return Err(Bad {
                path: path.to_vec(),
                message: "a TOML date has no JSON form; quote it".into(),
            });
        }
        toml::Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| {
                    let mut p = path.to_vec();
                    p.push(Seg::Index(i));
                    json(x, &p)
                })
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| Ok((k.clone(), json(x, path)?)))
                .collect::<Result<_, Bad>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(s: &str) -> Template {
        let v: toml::Table = toml::from_str(&format!("p = {s}")).unwrap();
        from_toml(&v["p"], &[]).unwrap_or_else(|b| panic!("{}", b.message))
    }

    #[test]
    fn draws_within_ranges_and_lists() {
        let t = tpl(r#"[{ range = [10, 12], hex = true }, false, { one_of = ["a", "b"] }]"#);
        assert!(!t.is_constant());
        let mut rng = Rng::new(1);
        for _ in 0..100 {
            let v = t.draw(&mut rng);
            assert!(
                ["0xa", "0xb", "0xc"].contains(&v[0].as_str().unwrap()),
                "{v}"
            );
            assert_eq!(v[1], Value::Bool(false));
            assert!(["a", "b"].contains(&v[2].as_str().unwrap()));
        }
    }

    #[test]
    fn plain_values_are_constant() {
        let t = tpl(r#"["latest", { to = "0x00", data = "0x" }]"#);
        assert!(t.is_constant());
        let v = t.draw(&mut Rng::new(1));
        assert_eq!(
            v,
            serde_json::json!(["latest", {"to": "0x00", "data": "0x"}])
        );
    }

    #[test]
    fn bad_ranges_are_refused() {
        let v: toml::Table = toml::from_str("p = [{ range = [5, 1] }]").unwrap();
        let e = from_toml(&v["p"], &[]).err().unwrap();
        assert!(e.message.contains("LOW <= HIGH"));
        assert_eq!(e.path, vec![Seg::Index(0), Seg::Key("range")]);
    }
}
