//! Field extraction that turns a shape mismatch into an error naming the method and field.
use serde_json::Value;

use crate::error::ErrorKind;

pub(crate) struct Fields<'a> {
    pub method: &'a str,
    pub value: &'a Value,
}

impl<'a> Fields<'a> {
    pub fn new(method: &'a str, value: &'a Value) -> Fields<'a> {
        Fields { method, value }
    }

    pub fn err(&self, detail: impl Into<String>) -> ErrorKind {
        ErrorKind::Malformed {
            method: self.method.to_string(),
            detail: detail.into(),
        }
    }

    fn get(&self, field: &str) -> Result<&'a Value, ErrorKind> {
        if !self.value.is_object() {
            return Err(self.err(format!("expected an object, got {}", type_name(self.value))));
        }
        self.value
            .get(field)
            .filter(|v| !v.is_null())
            .ok_or_else(|| self.err(format!("field `{field}` is missing")))
    }

    /// A plain JSON number.
    pub fn num(&self, field: &str) -> Result<u64, ErrorKind> {
        let v = self.get(field)?;
        v.as_u64().ok_or_else(|| {
            self.err(format!(
                "field `{field}` should be a non-negative integer, got {v}"
            ))
        })
    }

    /// A plain number that may be absent (`null` or missing).
    pub fn opt_num(&self, field: &str) -> Result<Option<u64>, ErrorKind> {
        match self.value.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.num(field).map(Some),
        }
    }

    /// An ethereum-style quantity: a 0x-prefixed hex string.
    pub fn hex(&self, field: &str) -> Result<u64, ErrorKind> {
        let v = self.get(field)?;
        hex_quantity(v)
            .ok_or_else(|| self.err(format!("field `{field}` should be a hex quantity, got {v}")))
    }

    pub fn str(&self, field: &str) -> Result<&'a str, ErrorKind> {
        let v = self.get(field)?;
        v.as_str()
            .ok_or_else(|| self.err(format!("field `{field}` should be a string, got {v}")))
    }

    pub fn bool(&self, field: &str) -> Result<bool, ErrorKind> {
        let v = self.get(field)?;
        v.as_bool()
            .ok_or_else(|| self.err(format!("field `{field}` should be true or false, got {v}")))
    }
}

/// `"0x1a"` → 26. Tolerates a bare JSON number, which some proxies produce.
pub(crate) fn hex_quantity(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let s = v.as_str()?;
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
