//! Secrets: random tokens, token hashes, constant-time comparison, auth tokens encrypted at
//! rest (ChaCha20-Poly1305 with a key kept outside the database), Twilio request signatures.
use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::{aead::Aead, ChaCha20Poly1305, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::Path;
use subtle::ConstantTimeEq;

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the operating system's random source failed");
    b
}

/// A new account auth token: 32 lowercase hex digits (128 random bits), Twilio's shape.
pub fn new_auth_token() -> String {
    hex(&random_bytes::<16>())
}

/// A new session token: 256 random bits, URL-safe, prefixed so it is recognisable in a leak scan.
pub fn new_session_token() -> String {
    format!("sp_{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A new CSRF token for browser forms.
pub fn new_csrf_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<24>())
}

/// SHA-256 of a token. Right for random tokens (no dictionary to attack), and cheap enough for
/// every request.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two byte strings.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The key that encrypts auth tokens at rest.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// A sealer from 64 hex digits (the `--secret-key` setting).
    pub fn from_hex(key: &str) -> Result<Sealer, String> {
        let bytes = unhex(key)
            .filter(|b| b.len() == 32)
            .ok_or("the secret key must be 64 hex digits (32 bytes)")?;
        Ok(Sealer {
            cipher: ChaCha20Poly1305::new_from_slice(&bytes).map_err(|e| e.to_string())?,
        })
    }

    /// Reads the key file, or creates it (mode 0600) with a new random key.
    pub fn load_or_create(path: &Path) -> Result<Sealer, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Sealer::from_hex(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = hex(&random_bytes::<32>());
                write_private(path, &key).map_err(|e| format!("cannot create key file {}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "created a new encryption key file");
                Sealer::from_hex(&key)
            }
            Err(e) => Err(format!("cannot read key file {}: {e}", path.display())),
        }
    }

    /// Encrypts: a random 96-bit nonce followed by the ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<12>();
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plaintext)
                .expect("encryption of a small buffer cannot fail"),
        );
        out
    }

    /// Decrypts what [`Sealer::seal`] produced; `None` if it was tampered with or the key is wrong.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(12);
        self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// `X-Twilio-Signature` exactly as Twilio computes it: Base64(HMAC-SHA1(auth token, URL
/// followed by each parameter name and value, names sorted)).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_signature_matches_twilios_documented_example() {
        // From Twilio's webhook-security documentation (also in twilio-python's tests).
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params);
        assert_eq!(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    }

    #[test]
    fn sealed_tokens_open_only_with_the_same_key() {
        let a = Sealer::from_hex(&hex(&random_bytes::<32>())).unwrap();
        let b = Sealer::from_hex(&hex(&random_bytes::<32>())).unwrap();
        let sealed = a.seal(b"secret-token");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(a.open(&sealed).as_deref(), Some(&b"secret-token"[..]));
        assert_eq!(b.open(&sealed), None);
        assert_eq!(a.open(&sealed[..5]), None);
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = Sealer::load_or_create(&path).unwrap();
        let b = Sealer::load_or_create(&path).unwrap();
        assert_eq!(b.open(&a.seal(b"x")).as_deref(), Some(&b"x"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        assert_eq!(new_auth_token().len(), 32);
        assert_ne!(new_session_token(), new_session_token());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
