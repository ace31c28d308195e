//! Writes a new Ed25519 key pair for signing access tokens:
//! `<dir>/signing-key.pem` (private, mode 0600) and `<dir>/verifying-key.pem`.
//!
//! Usage: generate-signing-key <dir>

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use user_auth_core::tokens::SigningKeyPair;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: generate-signing-key <dir>")?);
    std::fs::create_dir_all(&dir)?;
    let pair = SigningKeyPair::generate()?;
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
