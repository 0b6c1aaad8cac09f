//! Bearer tokens: HMAC-SHA256 over the user id, realm, role, expiry (and, for customers, the one
//! queue they may enter), with a key generated into the data dir on first start. Format:
//! `v1.<base64url(JSON claims)>.<base64url(MAC)>`, so a token is opaque to clients but easy to
//! inspect when debugging.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use switchboard_protocol::{Business, Label, Role, UserId};

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account.
    pub sub: UserId,
    /// Its realm.
    pub realm: Label,
    /// What it may do.
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// When the person signed in (or the token was minted), Unix seconds; refreshed tokens keep
    /// it, so that refreshing cannot keep a session alive past its maximum age. 0 in tokens
    /// of builds before it existed: those are not refreshed.
    #[serde(default)]
    pub auth: u64,
    /// For customers: the only queue the token allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz: Option<Business>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of ours, or altered.
    #[error("the token is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("the token expired")]
    Expired,
}

/// Signs and checks tokens.
#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
}

const KEY_FILE: &str = "token.key";

impl TokenKey {
    /// A key from bytes (tests, benchmarks).
    pub fn from_bytes(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The data dir's key, generated (32 random bytes, readable only by the owner) on first use.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let key = secret_file(&data_dir.join(KEY_FILE), || {
            rand::random::<[u8; 32]>().to_vec()
        })?;
        Ok(Self { key })
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    /// A signed token.
    pub fn sign(&self, claims: &Claims) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signed = format!("v1.{payload}");
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        format!("{signed}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    /// The claims of a genuine, unexpired token. `now` is Unix seconds.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        let (signed, sig) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let payload = signed.strip_prefix("v1.").ok_or(TokenError::Invalid)?;
        let sig = B64.decode(sig).map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
        let claims: Claims = B64
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Invalid)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// A secret kept in a file of the data dir: read when it is there (at least 32 bytes), else
/// made with `make` and written readable only by the owner. Two processes starting at once
/// end with the same secret (the second reads the first's).
pub(crate) fn secret_file(path: &Path, make: impl Fn() -> Vec<u8>) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(secret) if secret.len() >= 32 => return Ok(secret),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is shorter than 32 bytes", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let secret = make();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(&secret)?;
            f.sync_all()?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => secret_file(path, make),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: UserId::new("alice").unwrap(),
            realm: Label::new("dev").unwrap(),
            role: Role::User,
            exp,
            auth: 1_000,
            biz: None,
        }
    }

    #[test]
    fn signed_tokens_verify_and_forgeries_do_not() {
        let key = TokenKey::from_bytes(&[7; 32]);
        let t = key.sign(&claims(2_000));
        assert_eq!(key.verify(&t, 1_000).unwrap(), claims(2_000));
        assert_eq!(key.verify(&t, 2_000), Err(TokenError::Expired));
        assert_eq!(
            TokenKey::from_bytes(&[8; 32]).verify(&t, 1_000),
            Err(TokenError::Invalid)
        );
        // Promote oneself to admin by editing the payload: the MAC no longer matches.
        let mut forged = claims(2_000);
        forged.role = Role::Admin;
        let payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        let sig = t.rsplit_once('.').unwrap().1;
        assert_eq!(
            key.verify(&format!("v1.{payload}.{sig}"), 1_000),
            Err(TokenError::Invalid)
        );
        for junk in ["", "v1.", "v1..", "abc", "v1.e30.AAAA", "v2.x.y"] {
            assert_eq!(key.verify(junk, 1_000), Err(TokenError::Invalid), "{junk}");
        }
    }

    #[test]
    fn the_key_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = TokenKey::load_or_create(dir.path()).unwrap();
        let b = TokenKey::load_or_create(dir.path()).unwrap();
        assert_eq!(a.key, b.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
