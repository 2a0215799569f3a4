//! Keys and sealing. With encryption every object but `config` is
//! `nonce (24) ‖ XChaCha20-Poly1305(ciphertext ‖ tag)`, and chunk ids are BLAKE3 keyed with
//! a repository secret so that ids do not reveal which known files a repository holds.
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};
use crate::format::{hex, unhex};

pub type Id = [u8; 32];

/// Where the key-encryption key comes from.
#[derive(Debug, Clone)]
pub enum Secret {
    Passphrase(String),
    /// The contents of a key file (any length ≥ 32 bytes of randomness).
    KeyFile(Vec<u8>),
}

impl Secret {
    /// The repository secret from where an operator keeps it: a key file, a password file,
    /// or `NODEWARDEN_PASSWORD` — never the command line. `None`: an unencrypted repository.
    pub fn from_sources(
        key_file: Option<&std::path::Path>,
        password_file: Option<&std::path::Path>,
    ) -> std::result::Result<Option<Secret>, String> {
        if let Some(k) = key_file {
            let bytes = std::fs::read(k).map_err(|e| format!("key file {}: {e}", k.display()))?;
            return Ok(Some(Secret::KeyFile(bytes)));
        }
        if let Some(f) = password_file {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("password file {}: {e}", f.display()))?;
            let pass = text.trim_end_matches(['\n', '\r']).to_string();
            if pass.is_empty() {
                return Err(format!("password file {} is empty", f.display()));
            }
            return Ok(Some(Secret::Passphrase(pass)));
        }
        Ok(std::env::var("NODEWARDEN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
            .map(Secret::Passphrase))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncryptionParams {
    pub cipher: String,
    pub kdf: Kdf,
    /// The master keys (data key ‖ id key), sealed with the key-encryption key; hex.
    pub wrapped_keys: String,
    /// `"blake3"`: chunk ids are plain BLAKE3 (the id key is unused). Set on an encrypted
    /// copy of an unencrypted repository so both name chunks alike; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_ids: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Kdf {
    Argon2id {
        m_kib: u32,
        t: u32,
        p: u32,
        salt: String,
    },
    /// KEK = BLAKE3 derive_key over the key file's bytes.
    Keyfile,
}

/// The keys of an open repository; `None` for an unencrypted one.
#[derive(Clone)]
pub struct Keys {
    cipher: Option<XChaCha20Poly1305>,
    id_key: Option<Id>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.cipher.is_some() {
            "Keys(encrypted)"
        } else {
            "Keys(plain)"
        })
    }
}

pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    b
}

impl Keys {
    pub fn plain() -> Keys {
        Keys {
            cipher: None,
            id_key: None,
        }
    }

    pub fn encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// Whether both name a chunk by the same id (what `copy` needs to move blobs as they are).
    pub fn same_ids(&self, other: &Keys) -> bool {
        self.id_key == other.id_key
    }

    /// Fresh master keys, wrapped under the secret. With `ids_from`, chunk ids are computed
    /// as that repository computes them (its id key, or plain BLAKE3), the data key is new.
    pub fn create(secret: &Secret, ids_from: Option<&Keys>) -> Result<(Keys, EncryptionParams)> {
        let mut master: [u8; 64] = random();
        if let Some(Some(id)) = ids_from.map(|k| k.id_key) {
            master[32..].copy_from_slice(&id);
        }
        let plain_ids = ids_from.is_some_and(|k| k.id_key.is_none());
        let kdf = match secret {
            Secret::Passphrase(_) => Kdf::Argon2id {
                m_kib: 64 * 1024,
                t: 3,
                p: 1,
                salt: hex(&random::<16>()),
            },
            Secret::KeyFile(_) => Kdf::Keyfile,
        };
        let kek = derive_kek(secret, &kdf)?;
        let wrapped = seal_with(&XChaCha20Poly1305::new(&kek.into()), &master);
        let params = EncryptionParams {
            cipher: "xchacha20poly1305".into(),
            kdf,
            wrapped_keys: hex(&wrapped),
            chunk_ids: plain_ids.then(|| "blake3".to_string()),
        };
        let mut keys = Keys::from_master(&master);
        if plain_ids {
            keys.id_key = None;
        }
        Ok((keys, params))
    }

    pub fn unlock(secret: &Secret, params: &EncryptionParams) -> Result<Keys> {
        if params.cipher != "xchacha20poly1305" {
            return Err(BackupError::Integrity(format!(
                "unknown cipher `{}`",
                params.cipher
            )));
        }
        let kek = derive_kek(secret, &params.kdf)?;
        let wrapped = unhex(&params.wrapped_keys)
            .ok_or_else(|| BackupError::Integrity("config: wrapped_keys is not hex".into()))?;
        let master = open_with(&XChaCha20Poly1305::new(&kek.into()), &wrapped).map_err(|_| {
            BackupError::Input(
                "wrong passphrase or key file: the repository key does not open".into(),
            )
        })?;
        if master.len() != 64 {
            return Err(BackupError::Integrity(
                "config: master key has the wrong size".into(),
            ));
        }
        let mut keys = Keys::from_master(&master);
        match params.chunk_ids.as_deref() {
            None => {}
            Some("blake3") => keys.id_key = None,
            Some(other) => {
                return Err(BackupError::Integrity(format!(
                    "config: unknown chunk id scheme `{other}`"
                )));
            }
        }
        Ok(keys)
    }

    fn from_master(master: &[u8]) -> Keys {
        let data: [u8; 32] = master[..32].try_into().expect("64-byte master");
        let id: [u8; 32] = master[32..].try_into().expect("64-byte master");
        Keys {
            cipher: Some(XChaCha20Poly1305::new(&data.into())),
            id_key: Some(id),
        }
    }

    pub fn chunk_id(&self, data: &[u8]) -> Id {
        match &self.id_key {
            Some(k) => *blake3::keyed_hash(k, data).as_bytes(),
            None => *blake3::hash(data).as_bytes(),
        }
    }

    pub fn seal(&self, plain: Vec<u8>) -> Vec<u8> {
        match &self.cipher {
            Some(c) => seal_with(c, &plain),
            None => plain,
        }
    }

    /// Bytes the caller leaves free at the front of a buffer for [`Keys::seal_reserved`].
    pub fn prefix_len(&self) -> usize {
        if self.cipher.is_some() { 24 } else { 0 }
    }

    /// Seals `buf[prefix_len()..]` in place (no copy of the data): the nonce goes into the
    /// reserved front, the tag is appended.
    pub fn seal_reserved(&self, mut buf: Vec<u8>) -> Vec<u8> {
        let Some(c) = &self.cipher else { return buf };
        let nonce: [u8; 24] = random();
        let tag = c
            .encrypt_in_place_detached(XNonce::from_slice(&nonce), b"", &mut buf[24..])
            .expect("XChaCha20-Poly1305 encrypts any length we produce");
        buf[..24].copy_from_slice(&nonce);
        buf.extend_from_slice(&tag);
        buf
    }

    /// [`Keys::open`] into a caller's buffer, decrypting in place: no allocation once the
    /// buffer has grown, which matters when restore opens gigabytes chunk by chunk.
    pub fn open_into(&self, sealed: &[u8], what: &str, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        let Some(c) = &self.cipher else {
            out.extend_from_slice(sealed);
            return Ok(());
        };
        let failed =
            || BackupError::Integrity(format!("{what}: authentication failed (damaged or forged)"));
        if sealed.len() < 24 + 16 {
            return Err(failed());
        }
        out.extend_from_slice(&sealed[24..]);
        c.decrypt_in_place(XNonce::from_slice(&sealed[..24]), b"", out)
            .map_err(|_| failed())
    }

    pub fn open(&self, sealed: &[u8], what: &str) -> Result<Vec<u8>> {
        match &self.cipher {
            Some(c) => open_with(c, sealed).map_err(|_| {
                BackupError::Integrity(format!("{what}: authentication failed (damaged or forged)"))
            }),
            None => Ok(sealed.to_vec()),
        }
    }
}

fn derive_kek(secret: &Secret, kdf: &Kdf) -> Result<[u8; 32]> {
    match (secret, kdf) {
        (
            Secret::Passphrase(p),
            Kdf::Argon2id {
                m_kib,
                t,
                p: lanes,
                salt,
            },
        ) => {
            let salt = unhex(salt)
                .ok_or_else(|| BackupError::Integrity("config: salt is not hex".into()))?;
            let params = Params::new(*m_kib, *t, *lanes, Some(32))
                .map_err(|e| BackupError::Integrity(format!("config: argon2 parameters: {e}")))?;
            let mut out = [0u8; 32];
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(p.as_bytes(), &salt, &mut out)
                .map_err(|e| BackupError::Other(format!("argon2id: {e}")))?;
            Ok(out)
        }
        (Secret::KeyFile(bytes), Kdf::Keyfile) => {
            if bytes.len() < 32 {
                return Err(BackupError::Input(
                    "key file is too short: it needs at least 32 bytes".into(),
                ));
            }
            Ok(blake3::derive_key(
                "nodewarden repository key file v1",
                bytes,
            ))
        }
        (Secret::Passphrase(_), Kdf::Keyfile) => Err(BackupError::Input(
            "this repository is opened with a key file (--key-file), not a passphrase".into(),
        )),
        (Secret::KeyFile(_), Kdf::Argon2id { .. }) => Err(BackupError::Input(
            "this repository is opened with a passphrase, not a key file".into(),
        )),
    }
}

fn seal_with(c: &XChaCha20Poly1305, plain: &[u8]) -> Vec<u8> {
    let nonce: [u8; 24] = random();
    let ct = c
        .encrypt(XNonce::from_slice(&nonce), plain)
        .expect("XChaCha20-Poly1305 encrypts any length we produce");
    let mut out = Vec::with_capacity(24 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

fn open_with(c: &XChaCha20Poly1305, sealed: &[u8]) -> std::result::Result<Vec<u8>, ()> {
    if sealed.len() < 24 + 16 {
        return Err(());
    }
    c.decrypt(XNonce::from_slice(&sealed[..24]), &sealed[24..])
        .map_err(|_| ())
}
