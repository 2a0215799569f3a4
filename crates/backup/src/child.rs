//! What child processes (service commands, systemctl, pg_dump, pg_restore) inherit: the
//! environment without our secrets (a `start` command that launches the node would keep
//! them for the node's lifetime), and PostgreSQL passwords through a private file rather
//! than argv, which every user sees in `ps`.
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Command;

use crate::error::{BackupError, Result};

pub use nodewarden_config::SECRET_VARS;

pub fn scrub(cmd: &mut Command) -> &mut Command {
    for v in SECRET_VARS {
        cmd.env_remove(v);
    }
    cmd
}

/// A PostgreSQL URL with its password moved into a `PGPASSFILE` (0600, removed on drop).
pub struct PgAuth {
    /// The URL without the password: what goes on the command line.
    pub url: String,
    file: Option<PathBuf>,
}

impl PgAuth {
    pub fn new(url: &str) -> Result<PgAuth> {
        let Some((url, password)) = split_password(url) else {
            return Ok(PgAuth {
                url: url.to_string(),
                file: None,
            });
        };
        let path = std::env::temp_dir().join(format!(
            "nodewarden-pgpass-{}",
            crate::format::hex(&crate::crypto::random::<8>())
        ));
        // `*:*:*:*:` matches whatever the URL connects to; `:` and `\` are escaped.
        let line = format!(
            "*:*:*:*:{}\n",
            password.replace('\\', "\\\\").replace(':', "\\:")
        );
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|e| BackupError::io(&path, e))?;
        Ok(PgAuth {
            url,
            file: Some(path),
        })
    }

    /// Applies the scrubbed environment and, if there was a password, `PGPASSFILE`.
    pub fn apply(&self, cmd: &mut Command) {
        scrub(cmd);
        if let Some(f) = &self.file {
            cmd.env("PGPASSFILE", f);
        }
    }
}

impl Drop for PgAuth {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// `postgres://user:pass@host/db` → (`postgres://user@host/db`, decoded `pass`).
fn split_password(url: &str) -> Option<(String, String)> {
    let scheme_end = url.find("://")? + 3;
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let at = url[scheme_end..authority_end].rfind('@')? + scheme_end;
    let colon = url[scheme_end..at].find(':')? + scheme_end;
    let password = percent_decode(&url[colon + 1..at]);
    Some((format!("{}{}", &url[..colon], &url[at..]), password))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_and_are_decoded() {
        let (u, p) =
            split_password("postgres://bob:s%3Acr%40t@db:5432/app?sslmode=disable").unwrap();
        assert_eq!(u, "postgres://bob@db:5432/app?sslmode=disable");
        assert_eq!(p, "s:cr@t");
        assert!(split_password("postgres://bob@db/app").is_none());
        assert!(split_password("postgres://db/app?x=a:b@c").is_none());
        let auth = PgAuth::new("postgres://u:p\\w@h/d").unwrap();
        let file = auth.file.clone().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "*:*:*:*:p\\\\w\n");
        drop(auth);
        assert!(!file.exists());
    }
}
