//! One auditor key format: `urne auditor keygen` and `urne-verify keygen`
//! each read the other's key files, and both label the secret.

use urne_server::client::keys::KeyFile;

#[test]
fn urne_and_urne_verify_read_each_others_auditor_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    // urne-verify's key, read by urne.
    let path = dir.path().join("verify.key");
    let key = urne_verify::attest::generate_key_file(&path).expect("keygen");
    let read = KeyFile::load(&path, "auditor").expect("urne reads urne-verify's key file");
    assert_eq!(read.signing().expect("key").to_bytes(), key.to_bytes());
    assert_eq!(
        read.public_signing_key,
        hex::encode(key.verifying_key().as_bytes())
    );

    // urne's key, read by urne-verify.
    let path = dir.path().join("urne.json");
    let mut rng = urne_crypto::group::os_rng();
    let file = KeyFile::generate("auditor", "an auditor", &mut rng);
    file.save(&path).expect("save");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"secret_signing_key\""), "{text}");
    assert!(text.contains("\"public_signing_key\""), "{text}");
    let key = urne_verify::attest::load_key(&path).expect("urne-verify reads urne's key file");
    assert_eq!(key.to_bytes(), file.signing().expect("key").to_bytes());

    // A trustee's key file is no auditor key for either.
    let path = dir.path().join("trustee.json");
    KeyFile::generate("trustee", "t", &mut rng)
        .save(&path)
        .expect("save");
    assert!(urne_verify::attest::load_key(&path).is_err());
    assert!(KeyFile::load(&path, "auditor").is_err());

    // The seed alone (urne-verify's earlier format) is read by both.
    let path = dir.path().join("legacy.key");
    std::fs::write(&path, format!("{}\n", hex::encode([7u8; 32]))).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let a = urne_verify::attest::load_key(&path).expect("verify reads it");
    let b = KeyFile::load(&path, "auditor").expect("urne reads it");
    assert_eq!(a.to_bytes(), b.signing().expect("key").to_bytes());
}
