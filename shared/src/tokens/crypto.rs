//! The cryptography behind `jsonwebtoken`: Ed25519 (EdDSA) and ECDSA P-256
//! (ES256) from `ring`, and nothing else.
//!
//! `ring` is also what the HTTPS client uses, so tokens add no second
//! cryptography library to the binaries. Every other algorithm is refused
//! here, beneath the algorithm pinning of [`super::TokenVerifier`]; and each
//! key has one algorithm, that of its type: a signer or verifier is made only
//! for a key of the algorithm asked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
    ED25519,
};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// The algorithms a key may have: EdDSA (Ed25519, the default) and ES256
/// (P-256, for verifiers without EdDSA).
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::ES256];

/// The length of an uncompressed P-256 point: 0x04, x, y.
const P256_POINT_LENGTH: usize = 65;

/// The SubjectPublicKeyInfo DER before the key's bytes: Ed25519 (OID
/// 1.3.101.112, RFC 8410), and id-ecPublicKey on prime256v1 (RFC 5480).
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

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

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match (algorithm, key.family()) {
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => {
            // Accepts PKCS#8 v1 (seed only) and v2 (seed and public key).
            let pair =
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(Ed25519Signer(pair)))
        }
        (Algorithm::ES256, AlgorithmFamily::Ec) => {
            let rng = SystemRandom::new();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.as_bytes(), &rng)
                .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
            Ok(Box::new(P256Signer { pair, rng }))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    match (algorithm, key.family()) {
        (Algorithm::EdDSA, AlgorithmFamily::Ed) => Ok(Box::new(Ed25519Verifier(key.try_get_as_bytes()?.to_vec()))),
        (Algorithm::ES256, AlgorithmFamily::Ec) => {
            let point = key.try_get_as_bytes()?;
            if point.len() != P256_POINT_LENGTH {
                return Err(ErrorKind::InvalidEcdsaKey.into());
            }
            Ok(Box::new(P256Verifier(point.to_vec())))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

/// A private key (PKCS#8 PEM) ready to sign: its algorithm, the key, and its
/// raw public key. Checked here, at start, rather than at the first login.
pub fn signing_key(pem: &str) -> Result<(Algorithm, EncodingKey, Vec<u8>), Error> {
    if let Ok(key) = EncodingKey::from_ed_pem(pem.as_bytes()) {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
        let public = pair.public_key().as_ref().to_vec();
        new_signer(&Algorithm::EdDSA, &key)?;
        return Ok((Algorithm::EdDSA, key, public));
    }
    let key = EncodingKey::from_ec_pem(pem.as_bytes())?;
    // Fails for any curve but P-256.
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.as_bytes(), &SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    let public = pair.public_key().as_ref().to_vec();
    Ok((Algorithm::ES256, key, public))
}

/// A public key (one SPKI PEM block) ready to verify: its algorithm, the key,
/// and its raw bytes (Ed25519: 32; P-256: the uncompressed point). The whole
/// DER is held to one of the two forms, its algorithm and curve included:
/// the PEM readers alone would take a key of another 256-bit curve as P-256.
pub fn verifying_key(pem: &str) -> Result<(Algorithm, DecodingKey, Vec<u8>), Error> {
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| ErrorKind::InvalidKeyFormat)?;
    if let Some(public) = der.strip_prefix(&ED25519_SPKI_PREFIX[..]).filter(|public| public.len() == 32) {
        return Ok((Algorithm::EdDSA, DecodingKey::from_ed_der(public), public.to_vec()));
    }
    match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
        Some(point) if point.len() == P256_POINT_LENGTH && point[0] == 0x04 => {
            Ok((Algorithm::ES256, DecodingKey::from_ec_der(point), point.to_vec()))
        }
        _ => Err(ErrorKind::InvalidKeyFormat.into()),
    }
}

/// The members of a public key's JWK that name the key (RFC 7638's required
/// members): `(kty, crv, x, y)`.
pub fn jwk_members(algorithm: Algorithm, public: &[u8]) -> (&'static str, &'static str, String, Option<String>) {
    match algorithm {
        Algorithm::ES256 => {
            let (x, y) = public[1..].split_at(32);
            ("EC", "P-256", URL_SAFE_NO_PAD.encode(x), Some(URL_SAFE_NO_PAD.encode(y)))
        }
        _ => ("OKP", "Ed25519", URL_SAFE_NO_PAD.encode(public), None),
    }
}

/// The key's id: its RFC 7638 JWK thumbprint, the SHA-256 of its JWK's
/// required members in lexical order (RFC 8037 for OKP keys), base64url.
/// Computed from the key, so an id names one key and needs no registry.
pub fn thumbprint(algorithm: Algorithm, public: &[u8]) -> String {
    let jwk = match jwk_members(algorithm, public) {
        (kty, crv, x, Some(y)) => format!(r#"{{"crv":"{crv}","kty":"{kty}","x":"{x}","y":"{y}"}}"#),
        (kty, crv, x, None) => format!(r#"{{"crv":"{crv}","kty":"{kty}","x":"{x}"}}"#),
    };
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, jwk.as_bytes()))
}

/// A new key pair of `algorithm`: the PKCS#8 document of the private key
/// and the raw public key.
pub fn generate(algorithm: Algorithm) -> Result<(Vec<u8>, Vec<u8>), ring::error::Unspecified> {
    let rng = SystemRandom::new();
    match algorithm {
        Algorithm::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .map_err(|_| ring::error::Unspecified)?;
            Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
        }
        Algorithm::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| ring::error::Unspecified)?;
            Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
        }
        _ => Err(ring::error::Unspecified),
    }
}

/// The SubjectPublicKeyInfo DER of a public key: a fixed prefix naming the
/// algorithm (Ed25519, OID 1.3.101.112, RFC 8410; or id-ecPublicKey on
/// prime256v1, RFC 5480), then the key's bytes.
pub fn public_key_spki(algorithm: Algorithm, raw: &[u8]) -> Vec<u8> {
    let prefix: &[u8] = if algorithm == Algorithm::ES256 { &P256_SPKI_PREFIX } else { &ED25519_SPKI_PREFIX };
    [prefix, raw].concat()
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

/// ES256 signs with a fresh random nonce each time, as ECDSA must.
struct P256Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Signer<Vec<u8>> for P256Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        // The fixed-length form, r then s: what JWS (RFC 7518, 3.4) wants.
        let signed = self.pair.sign(&self.rng, message).map_err(|_| signature::Error::new())?;
        Ok(signed.as_ref().to_vec())
    }
}

impl JwtSigner for P256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

/// The uncompressed point.
struct P256Verifier(Vec<u8>);

impl Verifier<Vec<u8>> for P256Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for P256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_algorithms_and_key_families_are_refused() {
        install().unwrap();
        for algorithm in ALGORITHMS {
            let (pkcs8, public) = generate(algorithm).unwrap();
            let (signing, verifying) = match algorithm {
                Algorithm::ES256 => (EncodingKey::from_ec_der(&pkcs8), DecodingKey::from_ec_der(&public)),
                _ => (EncodingKey::from_ed_der(&pkcs8), DecodingKey::from_ed_der(&public)),
            };
            assert!(new_signer(&algorithm, &signing).is_ok());
            assert!(new_verifier(&algorithm, &verifying).is_ok());
            let others = [Algorithm::HS256, Algorithm::RS256, Algorithm::ES384, Algorithm::PS256, Algorithm::EdDSA];
            for other in others.into_iter().chain([Algorithm::ES256]).filter(|other| *other != algorithm) {
                assert!(new_signer(&other, &signing).is_err(), "{algorithm:?} key for {other:?}");
                assert!(new_verifier(&other, &verifying).is_err(), "{algorithm:?} key for {other:?}");
            }
            let secret = DecodingKey::from_secret(&public);
            assert!(new_verifier(&algorithm, &secret).is_err(), "an HMAC secret is not a {algorithm:?} key");
        }
    }

    #[test]
    fn a_public_key_of_another_curve_is_refused() {
        // secp256k1 (OID 1.3.132.0.10): the same point size as P-256.
        let secp256k1_prefix = [
            0x30, 0x56, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
            0x00, 0x0a, 0x03, 0x42, 0x00,
        ];
        let (_, point) = generate(Algorithm::ES256).unwrap();
        let pem = |der: &[u8]| {
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
        };
        assert!(verifying_key(&pem(&[&secp256k1_prefix[..], &point].concat())).is_err());
        assert!(verifying_key(&pem(&public_key_spki(Algorithm::ES256, &point))).is_ok());
        assert!(verifying_key(&pem(&public_key_spki(Algorithm::ES256, &point[..64]))).is_err(), "a short point");
        let (_, ed) = generate(Algorithm::EdDSA).unwrap();
        assert!(verifying_key(&pem(&public_key_spki(Algorithm::EdDSA, &ed))).is_ok());
        assert!(verifying_key(&pem(&public_key_spki(Algorithm::EdDSA, &ed[..31]))).is_err(), "a short key");
    }

    #[test]
    fn the_key_id_is_the_rfc_7638_thumbprint() {
        // RFC 8037, appendix A.3: the thumbprint of A.2's public key.
        let x = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(thumbprint(Algorithm::EdDSA, &x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        // RFC 7515, appendix A.3's P-256 key; the thumbprint by Python's hashlib over RFC 7638's members.
        let x = URL_SAFE_NO_PAD.decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU").unwrap();
        let y = URL_SAFE_NO_PAD.decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0").unwrap();
        let point = [&[0x04][..], &x, &y].concat();
        assert_eq!(thumbprint(Algorithm::ES256, &point), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        install().unwrap();
        for algorithm in ALGORITHMS {
            let (pkcs8, public) = generate(algorithm).unwrap();
            let (_, other_public) = generate(algorithm).unwrap();
            let (signing, verifying, other): (EncodingKey, DecodingKey, DecodingKey) = match algorithm {
                Algorithm::ES256 => (
                    EncodingKey::from_ec_der(&pkcs8),
                    DecodingKey::from_ec_der(&public),
                    DecodingKey::from_ec_der(&other_public),
                ),
                _ => (
                    EncodingKey::from_ed_der(&pkcs8),
                    DecodingKey::from_ed_der(&public),
                    DecodingKey::from_ed_der(&other_public),
                ),
            };
            let signature = new_signer(&algorithm, &signing).unwrap().try_sign(b"header.payload").unwrap();
            assert_eq!(signature.len(), 64, "{algorithm:?}");
            let verifier = new_verifier(&algorithm, &verifying).unwrap();
            assert!(verifier.verify(b"header.payload", &signature).is_ok());
            assert!(verifier.verify(b"header.payloaD", &signature).is_err());
            let other = new_verifier(&algorithm, &other).unwrap();
            assert!(other.verify(b"header.payload", &signature).is_err());
        }
    }
}
