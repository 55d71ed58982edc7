//! Secrets at rest. One 32-byte master key (from `KAMENG_MASTER_KEY`, or generated into the data
//! directory on first start) is expanded with HKDF into independent keys: AES-256-GCM for
//! stored secrets (API key secrets, webhook secrets, card codes), an HMAC key for the
//! searchable hash of card codes, the HMAC key of admin session tokens, and the HMAC key gift
//! link tokens are derived with.

use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::{Error, Result};

const KEY_FILE: &str = "kameng.key";

pub struct Vault {
    cipher: Aes256Gcm,
    code_hash_key: [u8; 32],
    admin_jwt_key: [u8; 32],
    claim_token_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn derive(master: &[u8; 32], info: &str) -> [u8; 32] {
    let hk = hkdf::Hkdf::<Sha256>::new(Some(b"kameng"), master);
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    hk.expand(info.as_bytes(), &mut out)
        .expect("32-byte HKDF output");
    out
}

impl Vault {
    pub fn from_master(master: &[u8; 32]) -> Vault {
        let enc = derive(master, "kameng/aes-gcm/v1");
        Vault {
            cipher: Aes256Gcm::new(&enc.into()),
            code_hash_key: derive(master, "kameng/code-hash/v1"),
            admin_jwt_key: derive(master, "kameng/admin-jwt/v1"),
            claim_token_key: derive(master, "kameng/claim-token/v1"),
        }
    }

    /// Loads the master key from `hex_key`, else from `<data_dir>/kameng.key`, creating that
    /// file (mode 0600) with a fresh random key when it does not exist.
    pub fn load_or_create(hex_key: Option<&str>, data_dir: &Path) -> Result<Vault> {
        let master = match hex_key {
            Some(h) => parse_master(h.trim())?,
            None => {
                let path = data_dir.join(KEY_FILE);
                match std::fs::read_to_string(&path) {
                    Ok(text) => parse_master(text.trim())?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let mut key = [0u8; 32];
                        rand::rngs::OsRng.fill_bytes(&mut key);
                        std::fs::create_dir_all(data_dir).map_err(Error::internal)?;
                        write_private(&path, &hex::encode(key))?;
                        tracing::info!(path = %path.display(), "generated a new master key");
                        key
                    }
                    Err(e) => return Err(Error::internal(format!("{}: {e}", path.display()))),
                }
            }
        };
        Ok(Vault::from_master(&master))
    }

    /// AES-256-GCM with a random 96-bit nonce; output is base64(nonce || ciphertext).
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and nonce only fails for absurd lengths (> 64 GiB).
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext)
            .expect("aes-gcm encrypt");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        B64.encode(out)
    }

    pub fn encrypt_str(&self, plaintext: &str) -> String {
        self.encrypt(plaintext.as_bytes())
    }

    pub fn decrypt(&self, sealed: &str) -> Result<Vec<u8>> {
        let raw = B64
            .decode(sealed)
            .map_err(|_| Error::internal("sealed value is not base64"))?;
        if raw.len() < 12 {
            return Err(Error::internal("sealed value too short"));
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| Error::internal("sealed value failed authentication (wrong master key?)"))
    }

    pub fn decrypt_string(&self, sealed: &str) -> Result<String> {
        String::from_utf8(self.decrypt(sealed)?)
            .map_err(|_| Error::internal("sealed value is not UTF-8"))
    }

    /// Keyed hash of a card code: finds duplicates without storing or needing the plaintext,
    /// and without letting a database reader test guesses offline.
    pub fn code_hash(&self, code: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.code_hash_key).expect("any key length");
        mac.update(code.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The bearer token of a gift link: HMAC of the claim's id, 192 bits. Derived rather than
    /// stored, so the buyer can list its links again while the database holds only their
    /// SHA-256 (a database reader cannot redeem, and nothing needs decrypting per link).
    pub fn claim_token(&self, claim_id: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.claim_token_key).expect("any key length");
        mac.update(claim_id.as_bytes());
        format!("gl_{}", hex::encode(&mac.finalize().into_bytes()[..24]))
    }

    pub fn admin_jwt_key(&self) -> &[u8] {
        &self.admin_jwt_key
    }
}

fn parse_master(h: &str) -> Result<[u8; 32]> {
    let bytes =
        hex::decode(h).map_err(|_| Error::internal("master key must be 64 hex characters"))?;
    bytes
        .try_into()
        .map_err(|_| Error::internal("master key must be 32 bytes (64 hex characters)"))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    f.write_all(contents.as_bytes()).map_err(Error::internal)
}

/// A random secret with a readable prefix, e.g. `sk_live_…`.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    format!("{prefix}{}", hex::encode(buf))
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(data))
}
