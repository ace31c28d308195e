//! The cryptography behind `jsonwebtoken`: Ed25519 from `ring`, and nothing
//! else.
//!
//! `ring` is also what the HTTPS client uses, so tokens add no second
//! cryptography library to the binaries. Every algorithm but EdDSA is refused
//! here, beneath the algorithm pinning of [`super::TokenVerifier`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this module `jsonwebtoken`'s provider for the process. Idempotent;
/// fails if another provider got there first, as tokens would then go
/// through it.
pub fn install() -> Result<(), &'static str> {
    match PROVIDER.install_default() {
        Ok(()) => Ok(()),
        Err(installed) if std::ptr::eq(installed, &PROVIDER) => Ok(()),
        Err(_) => Err("another jsonwebtoken CryptoProvider is installed"),
    }
}

/// Checks at start that a signing key is an Ed25519 key `ring` can sign with,
/// rather than at the first login.
pub fn check_signing_key(key: &EncodingKey) -> Result<(), Error> {
    new_signer(&Algorithm::EdDSA, key).map(drop)
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    // Accepts PKCS#8 v1 (seed only) and v2 (seed and public key).
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Signer(pair)))
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Ed25519Verifier(key.try_get_as_bytes()?.to_vec())))
}

struct Ed25519Signer(Ed25519KeyPair);

impl Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).as_ref().to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

/// The raw 32-byte public key.
struct Ed25519Verifier(Vec<u8>);

impl Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        UnparsedPublicKey::new(&ED25519, &self.0).verify(message, signature).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

/// A new key pair: the PKCS#8 v2 document of the private key and the raw
/// public key.
pub fn generate() -> Result<(Vec<u8>, Vec<u8>), ring::error::Unspecified> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| ring::error::Unspecified)?;
    Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
}

/// The raw public key of a PKCS#8 private key.
pub fn public_key_of(key: &EncodingKey) -> Result<Vec<u8>, Error> {
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(pair.public_key().as_ref().to_vec())
}

/// The key's id: its RFC 7638 JWK thumbprint, the SHA-256 of its JWK's
/// required members in lexical order (RFC 8037 for OKP keys), base64url.
/// Computed from the key, so an id names one key and needs no registry.
pub fn thumbprint(raw_public_key: &[u8]) -> String {
    let jwk = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(raw_public_key));
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, jwk.as_bytes()))
}

/// The SubjectPublicKeyInfo DER of an Ed25519 public key (RFC 8410): a fixed
/// prefix naming the algorithm (OID 1.3.101.112), then the 32 key bytes.
pub fn public_key_spki(raw: &[u8]) -> Vec<u8> {
    const PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    [&PREFIX[..], raw].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_algorithms_and_key_families_are_refused() {
        install().unwrap();
        let (pkcs8, public) = generate().unwrap();
        let signing = EncodingKey::from_ed_der(&pkcs8);
        let verifying = DecodingKey::from_ed_der(&public);
        assert!(new_signer(&Algorithm::EdDSA, &signing).is_ok());
        assert!(new_verifier(&Algorithm::EdDSA, &verifying).is_ok());
        for algorithm in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256, Algorithm::PS256] {
            assert!(new_signer(&algorithm, &signing).is_err(), "{algorithm:?}");
            assert!(new_verifier(&algorithm, &verifying).is_err(), "{algorithm:?}");
        }
        let secret = DecodingKey::from_secret(&public);
        assert!(new_verifier(&Algorithm::EdDSA, &secret).is_err(), "an HMAC secret is not an Ed25519 key");
    }

    #[test]
    fn the_key_id_is_the_rfc_7638_thumbprint() {
        // RFC 8037, appendix A.3: the thumbprint of A.2's public key.
        let x = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(thumbprint(&x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let (pkcs8, public) = generate().unwrap();
        let (_, other_public) = generate().unwrap();
        let signer = new_signer(&Algorithm::EdDSA, &EncodingKey::from_ed_der(&pkcs8)).unwrap();
        let signature = signer.try_sign(b"header.payload").unwrap();
        assert_eq!(signature.len(), 64);
        let verifier = new_verifier(&Algorithm::EdDSA, &DecodingKey::from_ed_der(&public)).unwrap();
        assert!(verifier.verify(b"header.payload", &signature).is_ok());
        assert!(verifier.verify(b"header.payloaD", &signature).is_err());
        let other = new_verifier(&Algorithm::EdDSA, &DecodingKey::from_ed_der(&other_public)).unwrap();
        assert!(other.verify(b"header.payload", &signature).is_err());
    }
}
