//! Writes a new key pair for signing access tokens: `<dir>/signing-key.pem`
//! (private, mode 0600) and `<dir>/verifying-key.pem`. Ed25519 (EdDSA) unless
//! `--es256` asks for P-256 (ES256), for verifiers that lack EdDSA.
//!
//! Usage: generate-signing-key [--es256] <dir>

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use user_auth_core::tokens::{Algorithm, SigningKeyPair};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const USAGE: &str = "usage: generate-signing-key [--es256] <dir>";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let es256 = args.iter().any(|arg| arg == "--es256");
    // A mistyped flag must not quietly make a key of the other type.
    if args.iter().any(|arg| arg.starts_with('-') && arg != "--es256") {
        return Err(USAGE.into());
    }
    let dirs: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    let [dir] = dirs.as_slice() else { return Err(USAGE.into()) };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir)?;
    let pair = SigningKeyPair::generate_for(if es256 { Algorithm::ES256 } else { Algorithm::EdDSA })?;
    let private_path = dir.join("signing-key.pem");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&private_path)
        .map_err(|err| format!("{}: {err}", private_path.display()))?
        .write_all(pair.private_key_pem.as_bytes())?;
    std::fs::write(dir.join("verifying-key.pem"), pair.public_key_pem)?;
    eprintln!("wrote {} and verifying-key.pem", private_path.display());
    Ok(())
}
