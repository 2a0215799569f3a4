//! S3 credentials from where AWS tools look for them: the environment, then the shared
//! credentials file. Never from argv, never logged. The instance metadata service is not
//! asked: a backup tool that silently calls 169.254.169.254 surprises people and hangs off
//! EC2; roles still work through web identity or container credentials (object_store reads
//! those from the environment).
use std::path::PathBuf;

use crate::StoreError;

pub(crate) enum Creds {
    Static {
        key_id: String,
        secret: String,
        token: Option<String>,
    },
    /// AWS_WEB_IDENTITY_TOKEN_FILE or AWS_CONTAINER_CREDENTIALS_*: object_store fetches them.
    FromEnvironment,
}

pub(crate) fn find(env: &dyn Fn(&str) -> Option<String>) -> Result<Creds, StoreError> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    if let (Some(key_id), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Creds::Static {
            key_id,
            secret,
            token: get("AWS_SESSION_TOKEN"),
        });
    }
    let profile = get("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let file = get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")));
    if let Some(file) = file {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                if let Some(c) = from_file(&text, &profile) {
                    return Ok(c);
                }
                if get("AWS_PROFILE").is_some() {
                    return Err(StoreError::Url(format!(
                        "S3 credentials: profile `{profile}` has no aws_access_key_id and aws_secret_access_key in {}",
                        file.display()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Url(format!(
                    "S3 credentials file {}: {e}",
                    file.display()
                )));
            }
        }
    }
    if get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
        || get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        return Ok(Creds::FromEnvironment);
    }
    Err(StoreError::Url(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put them in ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE)".into(),
    ))
}

/// The `[profile]` section of an AWS credentials file (INI: `key = value`, `#`/`;` comments).
fn from_file(text: &str, profile: &str) -> Option<Creds> {
    let mut section = String::new();
    let (mut key_id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if section != profile {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => key_id = Some(v),
            "aws_secret_access_key" => secret = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    Some(Creds::Static {
        key_id: key_id.filter(|v| !v.is_empty())?,
        secret: secret.filter(|v| !v.is_empty())?,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_wins_over_the_file() {
        let c = find(&env(&[
            ("AWS_ACCESS_KEY_ID", "AKIA1"),
            ("AWS_SECRET_ACCESS_KEY", "s1"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ]))
        .unwrap();
        assert!(matches!(c, Creds::Static { key_id, .. } if key_id == "AKIA1"));
    }

    #[test]
    fn file_profiles_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("credentials");
        std::fs::write(
            &f,
            "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n# other\n[backup]\naws_access_key_id=B\naws_secret_access_key=BS\naws_session_token = T\n",
        )
        .unwrap();
        let path: &'static str = Box::leak(f.display().to_string().into_boxed_str());
        let pairs: &'static [(&str, &str)] = Box::leak(Box::new([
            ("AWS_SHARED_CREDENTIALS_FILE", path),
            ("AWS_PROFILE", "backup"),
        ]));
        match find(&env(pairs)).unwrap() {
            Creds::Static {
                key_id,
                secret,
                token,
            } => assert_eq!(
                (key_id.as_str(), secret.as_str(), token.as_deref()),
                ("B", "BS", Some("T"))
            ),
            Creds::FromEnvironment => panic!("expected static credentials"),
        }
        let pairs: &'static [(&str, &str)] = Box::leak(Box::new([
            ("AWS_SHARED_CREDENTIALS_FILE", path),
            ("AWS_PROFILE", "missing"),
        ]));
        let e = find(&env(pairs)).err().unwrap().to_string();
        assert!(e.contains("profile `missing`"), "{e}");
    }

    #[test]
    fn nothing_configured_is_a_clear_error() {
        let e = find(&env(&[("HOME", "/nonexistent")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("no S3 credentials"), "{e}");
    }
}
