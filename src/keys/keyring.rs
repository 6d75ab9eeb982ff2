//! The signing keyring: one ES256 (access tokens) and one RSA-2048 (ID tokens, RS256) key are
//! active; the key each replaced stays published in JWKS so tokens it signed still verify.
//! Keys live in `KEYS_DIR` as `{alg}-{unix millis}.pem` (PKCS#8, mode 0600). The two newest per
//! algorithm are published; older ones move to `retired/`. A new key signs only once it is
//! [`ACTIVATION_DELAY`] old — by then every node has reloaded the directory and every JWKS cache
//! has expired — so a rotation never produces a token some verifier cannot check.

use std::fmt;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{self, KeyPair as _};

use super::jwk::Jwk;
use super::{KeyError, ensure_dir, pem, write_private};
use crate::model::application::SigningAlg;

/// A private signing key with its public JWK.
pub struct SigningKey {
    pub alg: SigningAlg,
    pub jwk: Jwk,
    /// Creation time (unix millis), from the file name; orders keys.
    pub created: i64,
    material: Material,
}

enum Material {
    Ec(signature::EcdsaKeyPair),
    Rsa(signature::RsaKeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.jwk.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// Signs `message` as JWS wants it: ES256 as the fixed 64-byte `r || s`, RS256 as
    /// PKCS#1 v1.5 over SHA-256.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.material {
            Material::Ec(key) => key
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Generation),
            Material::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Generation)?;
                Ok(sig)
            }
        }
    }

    /// Checks a JWS signature made by this key.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Ec(key) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, key.public_key().as_ref())
                    .verify(message, sig)
                    .is_ok()
            }
            Material::Rsa(key) => {
                let public = key.public_key();
                signature::RsaPublicKeyComponents {
                    n: public.modulus().big_endian_without_leading_zero(),
                    e: public.exponent().big_endian_without_leading_zero(),
                }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok()
            }
        }
    }

    fn from_pkcs8(alg: SigningAlg, der: &[u8], created: i64, path: &Path) -> Result<Self, KeyError> {
        let bad = |e: aws_lc_rs::error::KeyRejected| KeyError::invalid(path, format!("not a usable {alg} key: {e}"));
        let (material, jwk) = match alg {
            SigningAlg::Es256 => {
                let key = signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(bad)?;
                let jwk = Jwk::ec_p256(key.public_key().as_ref())
                    .ok_or_else(|| KeyError::invalid(path, "not a P-256 key"))?;
                (Material::Ec(key), jwk)
            }
            SigningAlg::Rs256 => {
                let key = signature::RsaKeyPair::from_pkcs8(der).map_err(bad)?;
                if key.public_modulus_len() < 256 {
                    return Err(KeyError::invalid(path, "RSA keys must have at least 2048 bits"));
                }
                let public = key.public_key();
                let jwk = Jwk::rsa(
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                );
                (Material::Rsa(key), jwk)
            }
        };
        Ok(Self {
            alg,
            jwk,
            created,
            material,
        })
    }
}

/// Generates a new PKCS#8 private key.
fn generate(alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
    match alg {
        SigningAlg::Es256 => signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| d.as_ref().to_vec()),
        SigningAlg::Rs256 => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .and_then(|k| k.as_der())
            .map(|d| d.as_ref().to_vec()),
    }
    .map_err(|_| KeyError::Generation)
}

/// How long a new key is only published before it signs: longer than a node's reload interval
/// (30 s) plus the `/jwks` cache lifetime (5 min).
pub const ACTIVATION_DELAY: time::Duration = time::Duration::minutes(10);

/// Every signing key in use: per algorithm, newest first (the active one), then the previous.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<SigningKey>,
}

impl Keyring {
    /// Loads the keys in `dir` as they are (a running node's periodic reload).
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        Self::from_files(list(dir)?)
    }

    /// Loads the keys in `dir`, generating a first key per algorithm when there is none.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        ensure_dir(dir)?;
        let mut files = list(dir)?;
        for alg in SigningAlg::ALL {
            if !files.iter().any(|(a, _, _)| a == alg) {
                let created = crate::clock::unix_millis(time::OffsetDateTime::now_utc());
                files.push(write_new(dir, *alg, created)?);
            }
        }
        Self::from_files(files)
    }

    /// Adds a new active key per algorithm; the replaced ones stay published, older ones retire.
    /// Returns the new key ids. Running nodes pick the new keys up when they restart.
    pub fn rotate(dir: &Path) -> Result<Vec<String>, KeyError> {
        ensure_dir(dir)?;
        let files = list(dir)?;
        let now = crate::clock::unix_millis(time::OffsetDateTime::now_utc());
        let newest = files.iter().map(|(_, created, _)| *created).max().unwrap_or(0);
        let created = now.max(newest + 1);
        let mut kids = Vec::new();
        for alg in SigningAlg::ALL {
            let (_, _, path) = write_new(dir, *alg, created)?;
            let der = read_der(&path)?;
            kids.push(SigningKey::from_pkcs8(*alg, &der, created, &path)?.jwk.kid);
        }
        retire(dir, list(dir)?)?;
        Ok(kids)
    }

    fn from_files(files: Vec<(SigningAlg, i64, PathBuf)>) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for alg in SigningAlg::ALL {
            let mut mine: Vec<_> = files.iter().filter(|(a, _, _)| a == alg).collect();
            mine.sort_by_key(|(_, created, _)| std::cmp::Reverse(*created));
            for (_, created, path) in mine.into_iter().take(2) {
                keys.push(SigningKey::from_pkcs8(*alg, &read_der(path)?, *created, path)?);
            }
        }
        Ok(Self { keys })
    }

    /// The key that signs new tokens of `alg` now.
    pub fn active(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.active_at(alg, time::OffsetDateTime::now_utc())
    }

    /// The key that signs at `now`: the newest one at least [`ACTIVATION_DELAY`] old, else the
    /// oldest published (a first start, or two rotations within the delay).
    pub fn active_at(&self, alg: SigningAlg, now: time::OffsetDateTime) -> Option<&SigningKey> {
        let cutoff = crate::clock::unix_millis(now - ACTIVATION_DELAY);
        let mine = || self.keys.iter().filter(|k| k.alg == alg);
        mine().find(|k| k.created <= cutoff).or_else(|| mine().next_back())
    }

    /// The key with this `kid`, active or previous.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The public keys to publish: active and previous of each algorithm.
    pub fn published(&self) -> impl Iterator<Item = &Jwk> {
        self.keys.iter().map(|k| &k.jwk)
    }
}

fn write_new(dir: &Path, alg: SigningAlg, created: i64) -> Result<(SigningAlg, i64, PathBuf), KeyError> {
    let path = dir.join(format!("{}-{created}.pem", alg.as_str().to_ascii_lowercase()));
    write_private(&path, pem::encode(&generate(alg)?).as_bytes())?;
    Ok((alg, created, path))
}

fn read_der(path: &Path) -> Result<Vec<u8>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|e| KeyError::io(path, e))?;
    pem::decode(&text).ok_or_else(|| KeyError::invalid(path, "not a PEM PKCS#8 private key"))
}

/// The key files in `dir`: `es256-<millis>.pem` and `rs256-<millis>.pem`.
fn list(dir: &Path) -> Result<Vec<(SigningAlg, i64, PathBuf)>, KeyError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| KeyError::io(dir, e))? {
        let path = entry.map_err(|e| KeyError::io(dir, e))?.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".pem"))
        else {
            continue;
        };
        let Some((alg, created)) = stem.split_once('-') else {
            continue;
        };
        let alg = match alg {
            "es256" => SigningAlg::Es256,
            "rs256" => SigningAlg::Rs256,
            _ => continue,
        };
        let created = created
            .parse()
            .map_err(|_| KeyError::invalid(&path, "expected {alg}-{unix millis}.pem"))?;
        out.push((alg, created, path));
    }
    Ok(out)
}

/// Moves all but the two newest keys of each algorithm to `retired/`.
fn retire(dir: &Path, mut files: Vec<(SigningAlg, i64, PathBuf)>) -> Result<(), KeyError> {
    files.sort_by_key(|(_, created, _)| std::cmp::Reverse(*created));
    let retired = dir.join("retired");
    for alg in SigningAlg::ALL {
        for (_, _, path) in files.iter().filter(|(a, _, _)| a == alg).skip(2) {
            ensure_dir(&retired)?;
            let target = retired.join(path.file_name().unwrap_or_default());
            std::fs::rename(path, &target).map_err(|e| KeyError::io(path, e))?;
        }
    }
    Ok(())
}
