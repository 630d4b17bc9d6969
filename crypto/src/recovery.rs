//! The recovery secret: one 128-bit secret from which every secret of a
//! member's wallet for an election follows (`specs/protocol.md` §3.9).
//!
//! The member key, the one-time ballot key and the blinding factors of the
//! credential request are derived from it, so a member who lost the wallet
//! rebuilds it from the short recovery code alone: the same member key
//! authenticates, the same session commitment gives the same blinded
//! challenge, the registrar hands back its stored answer (§3.5), and the same
//! credential on the same ballot key comes back. No second credential exists.
//!
//! The recovery code is the secret and a 32-bit checksum in Crockford base32,
//! in eight groups of four characters.
//!
//! Secrets and timing: the derivations are hashes; the code's symbols are
//! looked up and its checksum compared in constant time; the only other
//! branches are on a derived scalar being zero (probability below 2⁻²⁵⁰) and
//! on separators and malformed input, which reveal nothing of the secret.
//!
//! Not here: where the code is shown or how the wallet is stored (the client).

use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use rand_core::CryptoRng;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::credential::{BlindingFactors, SignerCommitment};
use crate::group::hash_to_scalar;
use crate::hash::tagged;
use crate::manifest::ElectionId;
use crate::schnorr::BallotSecretKey;

/// Bytes of a recovery secret.
pub const SECRET_LEN: usize = 16;
/// Bytes of the checksum appended to the secret in the code.
pub const CHECKSUM_LEN: usize = 4;
/// Characters of a recovery code without its separators.
pub const CODE_CHARS: usize = (SECRET_LEN + CHECKSUM_LEN) * 8 / 5;

/// Label of the code's checksum.
pub const CHECKSUM_LABEL: &str = "urne/v1/recovery/checksum";
/// Label of the member key seed.
pub const MEMBER_KEY_LABEL: &str = "urne/v1/recovery/member-key";
/// Hash-to-scalar domain of the ballot key.
pub const BALLOT_KEY_LABEL: &str = "urne/v1/recovery/ballot-key";
/// Hash-to-scalar domain of the blinding factors.
pub const BLINDING_LABEL: &str = "urne/v1/recovery/blinding";

/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Why a recovery code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RecoveryError {
    /// The code has the wrong number of characters (separators not counted).
    #[error("a recovery code has {CODE_CHARS} letters and digits, this one has {0}")]
    Length(usize),
    /// A character outside the code's alphabet.
    #[error("{0:?} cannot appear in a recovery code")]
    Character(char),
    /// The checksum does not match: a character was mistyped.
    #[error("the recovery code's checksum does not match (a character is wrong)")]
    Checksum,
}

/// A member's recovery secret for one wallet, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct RecoverySecret([u8; SECRET_LEN]);

impl core::fmt::Debug for RecoverySecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RecoverySecret(..)")
    }
}

impl RecoverySecret {
    /// Draws a fresh secret.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut s = [0u8; SECRET_LEN];
        rng.fill_bytes(&mut s);
        Self(s)
    }

    /// Wraps the secret's bytes.
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The secret's bytes.
    pub fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// `TaggedHash("urne/v1/recovery/checksum", [secret])[0..4]`.
    fn checksum(&self) -> [u8; CHECKSUM_LEN] {
        let h = tagged(CHECKSUM_LABEL, &[&self.0]);
        [h[0], h[1], h[2], h[3]]
    }

    /// The recovery code: `secret ‖ checksum` in Crockford base32, most
    /// significant bit first, in groups of four joined by `-`.
    pub fn code(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN + CHECKSUM_LEN]);
        bytes[..SECRET_LEN].copy_from_slice(&self.0);
        bytes[SECRET_LEN..].copy_from_slice(&self.checksum());
        let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS + CODE_CHARS / 4));
        for i in 0..CODE_CHARS {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(symbol(five_bits(bytes.as_ref(), i))));
        }
        out
    }

    /// Reads a recovery code. Case, spaces and `-` do not matter; `I` and `L`
    /// read as `1`, `O` as `0` (Crockford).
    pub fn from_code(code: &str) -> Result<Self, RecoveryError> {
        // Allocated once at its final size, so no reallocation leaves a copy.
        let mut values = Zeroizing::new(Vec::with_capacity(CODE_CHARS));
        let mut count = 0usize;
        for ch in code.chars() {
            if ch == '-' || ch.is_whitespace() {
                continue;
            }
            let byte = u8::try_from(ch).map_err(|_| RecoveryError::Character(ch))?;
            let v = Option::<u8>::from(value_of(byte)).ok_or(RecoveryError::Character(ch))?;
            if count < CODE_CHARS {
                values.push(v);
            }
            count += 1;
        }
        if count != CODE_CHARS {
            return Err(RecoveryError::Length(count));
        }
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN + CHECKSUM_LEN]);
        for (i, v) in values.iter().enumerate() {
            for b in 0..5 {
                let bit = (v >> (4 - b)) & 1;
                let at = i * 5 + b;
                bytes[at / 8] |= bit << (7 - at % 8);
            }
        }
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&bytes[..SECRET_LEN]);
        let secret = Self(secret);
        if !bool::from(secret.checksum()[..].ct_eq(&bytes[SECRET_LEN..])) {
            return Err(RecoveryError::Checksum);
        }
        Ok(secret)
    }

    /// The member's Ed25519 key for `election`: its seed is
    /// `TaggedHash("urne/v1/recovery/member-key", [secret, election])`.
    pub fn member_key(&self, election: &ElectionId) -> SigningKey {
        let seed = Zeroizing::new(tagged(MEMBER_KEY_LABEL, &[&self.0, election]));
        SigningKey::from_bytes(&seed)
    }

    /// The one-time ballot key for `election`:
    /// `p = HashToScalar("urne/v1/recovery/ballot-key", [secret, election, u32be(i)])`
    /// for the smallest `i ≥ 0` with `p ≠ 0`.
    pub fn ballot_key(&self, election: &ElectionId) -> BallotSecretKey {
        let mut i = 0u32;
        loop {
            let p = Zeroizing::new(hash_to_scalar(
                BALLOT_KEY_LABEL,
                &[&self.0, election, &i.to_be_bytes()],
            ));
            if *p != Scalar::ZERO {
                let bytes = Zeroizing::new(p.to_bytes());
                // A reduced non-zero scalar always decodes.
                if let Ok(key) = BallotSecretKey::from_bytes(bytes.as_ref()) {
                    return key;
                }
            }
            i = i.wrapping_add(1);
        }
    }

    /// The blinding factors of attempt `attempt` of the credential request
    /// against `commitment` in `election`: each factor `f` of `r1, r2,
    /// gamma1, gamma2` is `HashToScalar("urne/v1/recovery/blinding",
    /// [secret, election, A, C, f, u32be(attempt)])`, with `f` its name in ASCII.
    pub fn blinding(
        &self,
        election: &ElectionId,
        commitment: &SignerCommitment,
        attempt: u32,
    ) -> BlindingFactors {
        let a = commitment.a.compress().to_bytes();
        let c = commitment.c.compress().to_bytes();
        let n = attempt.to_be_bytes();
        let factor = |name: &str| {
            hash_to_scalar(
                BLINDING_LABEL,
                &[&self.0, election, &a, &c, name.as_bytes(), &n],
            )
        };
        BlindingFactors {
            r1: factor("r1"),
            r2: factor("r2"),
            gamma1: factor("gamma1"),
            gamma2: factor("gamma2"),
        }
    }
}

/// The alphabet's symbol of the 5-bit value `v`, in constant time.
fn symbol(v: u8) -> u8 {
    let mut out = 0u8;
    for (i, a) in (0u8..).zip(ALPHABET.iter()) {
        out.conditional_assign(a, i.ct_eq(&v));
    }
    out
}

/// The 5-bit value of symbol `c` (either case; `I`, `L` read as 1, `O` as
/// 0), in constant time; none for a byte outside the alphabet.
fn value_of(c: u8) -> CtOption<u8> {
    let c = c.to_ascii_uppercase();
    let mut v = 0u8;
    let mut found = Choice::from(0);
    let aliases = [(b'I', 1u8), (b'L', 1), (b'O', 0)];
    let symbols = (0u8..).zip(ALPHABET.iter().copied());
    for (i, a) in symbols.chain(aliases.iter().map(|(a, i)| (*i, *a))) {
        let hit = c.ct_eq(&a);
        v.conditional_assign(&i, hit);
        found |= hit;
    }
    CtOption::new(v, found)
}

/// The `i`-th 5-bit group of `bytes`, most significant bit first.
fn five_bits(bytes: &[u8], i: usize) -> u8 {
    (0..5).fold(0u8, |acc, b| {
        let at = i * 5 + b;
        (acc << 1) | ((bytes[at / 8] >> (7 - at % 8)) & 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{
        CredentialContext, RegistrarKey, SignerResponse, SignerState, UserState,
    };
    use crate::group::G;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const ELECTION: ElectionId = [7; 32];

    fn ctx() -> CredentialContext {
        CredentialContext::new(ELECTION, "north")
    }

    #[test]
    fn the_code_round_trips_and_is_forgiving_about_form() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        for _ in 0..64 {
            let s = RecoverySecret::generate(&mut rng);
            let code = s.code();
            assert_eq!(code.len(), CODE_CHARS + CODE_CHARS / 4 - 1);
            assert_eq!(code.split('-').count(), 8);
            let back = RecoverySecret::from_code(&code).expect("decode");
            assert_eq!(back.as_bytes(), s.as_bytes());
            let loose = code.to_lowercase().replace('-', " ").replace('1', "l");
            let loose = loose.replace('0', "o");
            assert_eq!(
                RecoverySecret::from_code(&loose).expect("loose").as_bytes(),
                s.as_bytes()
            );
        }
    }

    #[test]
    fn mistyped_and_malformed_codes_are_refused() {
        let s = RecoverySecret::from_bytes([0xa5; SECRET_LEN]);
        let code = s.code().to_string();
        // Every single-character substitution of this code is caught.
        for (i, ch) in code.char_indices().filter(|(_, c)| *c != '-') {
            for other in ALPHABET.iter().map(|a| char::from(*a)) {
                if other == ch {
                    continue;
                }
                let mut typo = code.clone();
                typo.replace_range(i..i + 1, &other.to_string());
                assert_eq!(
                    RecoverySecret::from_code(&typo).map(|_| ()),
                    Err(RecoveryError::Checksum),
                    "{typo}"
                );
            }
        }
        assert_eq!(
            RecoverySecret::from_code(&code[..code.len() - 1]).map(|_| ()),
            Err(RecoveryError::Length(CODE_CHARS - 1))
        );
        assert_eq!(
            RecoverySecret::from_code(&format!("{code}0")).map(|_| ()),
            Err(RecoveryError::Length(CODE_CHARS + 1))
        );
        let mut bad = code.clone();
        bad.replace_range(0..1, "U");
        assert_eq!(
            RecoverySecret::from_code(&bad).map(|_| ()),
            Err(RecoveryError::Character('U'))
        );
        assert_eq!(
            RecoverySecret::from_code("").map(|_| ()),
            Err(RecoveryError::Length(0))
        );
        let mut accented = code.clone();
        accented.replace_range(0..1, "é");
        assert_eq!(
            RecoverySecret::from_code(&accented).map(|_| ()),
            Err(RecoveryError::Character('é'))
        );
        assert_eq!(
            RecoverySecret::from_code(&format!("{code}{code}")).map(|_| ()),
            Err(RecoveryError::Length(2 * CODE_CHARS))
        );
    }

    #[test]
    fn derivations_are_deterministic_and_separated() {
        let s = RecoverySecret::from_bytes([3; SECRET_LEN]);
        let t = RecoverySecret::from_bytes([4; SECRET_LEN]);
        let other = [8u8; 32];
        let mk = |s: &RecoverySecret, e| s.member_key(e).verifying_key().to_bytes();
        let bk = |s: &RecoverySecret, e| *s.ballot_key(e).public_key().as_bytes();
        assert_eq!(mk(&s, &ELECTION), mk(&s.clone(), &ELECTION));
        assert_ne!(mk(&s, &ELECTION), mk(&t, &ELECTION));
        assert_ne!(mk(&s, &ELECTION), mk(&s, &other));
        assert_eq!(bk(&s, &ELECTION), bk(&s.clone(), &ELECTION));
        assert_ne!(bk(&s, &ELECTION), bk(&t, &ELECTION));
        assert_ne!(bk(&s, &ELECTION), bk(&s, &other));
        let commitment = SignerCommitment { a: G, c: G + G };
        let f0 = s.blinding(&ELECTION, &commitment, 0);
        let f1 = s.blinding(&ELECTION, &commitment, 1);
        let g0 = s.blinding(&ELECTION, &SignerCommitment { a: G + G, c: G }, 0);
        let all = [
            f0.r1, f0.r2, f0.gamma1, f0.gamma2, f1.r1, f1.r2, f1.gamma1, f1.gamma2, g0.r1,
        ];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(s.blinding(&ELECTION, &commitment, 0).r1, f0.r1);
    }

    /// One issuance with a recovered wallet's derived values.
    fn derived_session(
        secret: &RecoverySecret,
        key: &RegistrarKey,
        commitment: &SignerCommitment,
    ) -> (UserState, crate::credential::BlindChallenge) {
        let p = secret.ballot_key(&ELECTION).public_key();
        UserState::blind_with(&key.public(), &ctx(), p.as_bytes(), commitment, |n| {
            secret.blinding(&ELECTION, commitment, n)
        })
        .expect("blind")
    }

    #[test]
    fn a_recovered_wallet_gets_the_same_credential_from_the_stored_answer() {
        let mut rng = ChaCha20Rng::from_seed([2; 32]);
        let key = RegistrarKey::generate(&mut rng);
        let secret = RecoverySecret::generate(&mut rng);
        let (mut signer, commitment) = SignerState::commit(&key, &ctx(), &mut rng);
        let (user, challenge) = derived_session(&secret, &key, &commitment);
        let response = signer.respond(&key, &challenge).expect("respond");
        let credential = user.finish(&response).expect("finish");
        let p = secret.ballot_key(&ELECTION).public_key();
        assert_eq!(
            credential.verify(&key.public(), &ctx(), p.as_bytes()),
            Ok(())
        );

        // Lost wallet: only the code is left.
        let again = RecoverySecret::from_code(&secret.code()).expect("code");
        let (user, challenge2) = derived_session(&again, &key, &commitment);
        assert_eq!(challenge2, challenge);
        // The one-shot signer answers the same challenge with its stored answer.
        let stored = signer.respond(&key, &challenge2).expect("stored answer");
        assert_eq!(stored, response);
        assert_eq!(user.finish(&stored).expect("finish"), credential);

        // Another secret cannot use the session: its challenge differs and is refused.
        let thief = RecoverySecret::generate(&mut rng);
        let (thief_user, thief_challenge) = derived_session(&thief, &key, &commitment);
        assert_ne!(thief_challenge, challenge);
        assert!(signer.respond(&key, &thief_challenge).is_err());
        // Nor does the stored answer unblind for the thief's challenge.
        assert_eq!(
            thief_user.finish(&response),
            Err(crate::credential::CredentialError::BadResponse)
        );
    }

    /// Chi-square statistic of `counts` against the uniform distribution.
    fn chi_square(counts: &[u32]) -> f64 {
        let n: u32 = counts.iter().sum();
        let expected = f64::from(n) / counts.len() as f64;
        counts
            .iter()
            .map(|&k| (f64::from(k) - expected).powi(2) / expected)
            .sum()
    }

    #[test]
    fn the_registrars_view_does_not_depend_on_the_ballot_key() {
        let mut rng = ChaCha20Rng::from_seed([5; 32]);
        let key = RegistrarKey::generate(&mut rng);
        let (mut signer, commitment) = SignerState::commit(&key, &ctx(), &mut rng);
        // Statistical check: over secrets, the challenge the registrar sees is
        // uniform, whether the message is the derived ballot key or a fixed one.
        let fixed = RecoverySecret::from_bytes([9; SECRET_LEN])
            .ballot_key(&ELECTION)
            .public_key();
        for derived_key in [true, false] {
            let mut counts = [0u32; 16];
            for _ in 0..1024 {
                let secret = RecoverySecret::generate(&mut rng);
                let p = if derived_key {
                    secret.ballot_key(&ELECTION).public_key()
                } else {
                    fixed
                };
                let (_, e) =
                    UserState::blind_with(&key.public(), &ctx(), p.as_bytes(), &commitment, |n| {
                        secret.blinding(&ELECTION, &commitment, n)
                    })
                    .expect("blind");
                counts[usize::from(e.e.as_bytes()[0] & 0x0f)] += 1;
            }
            // 15 degrees of freedom: P(χ² > 40) ≈ 4·10⁻⁴.
            assert!(chi_square(&counts) < 40.0, "{counts:?}");
        }

        // Exactly: the registrar's whole view of one recovered session is
        // explained by the credential of another member's ballot key too
        // (§3.7): there are blinding factors linking it to either.
        let alice = RecoverySecret::generate(&mut rng);
        let bob = RecoverySecret::generate(&mut rng);
        let (user, e) = derived_session(&alice, &key, &commitment);
        let response = signer.respond(&key, &e).expect("respond");
        let alice_cred = user.finish(&response).expect("finish");
        let (mut bob_signer, bob_commitment) = SignerState::commit(&key, &ctx(), &mut rng);
        let (bob_user, bob_e) = derived_session(&bob, &key, &bob_commitment);
        let bob_cred = bob_user
            .finish(&bob_signer.respond(&key, &bob_e).expect("respond"))
            .expect("finish");
        let x = key.public().point();
        let z = ctx().z();
        let explains = |e: Scalar, r: &SignerResponse, cred: &crate::credential::Credential| {
            let gamma1 = cred.y * r.y.invert();
            let gamma2 = e * cred.c.invert();
            let gamma = gamma1 * gamma2.invert();
            let r1 = cred.s - gamma * r.s;
            let r2 = cred.t - gamma1 * r.t;
            let a_blind = r1 * G + gamma * commitment.a;
            let c_blind = gamma1 * commitment.c + r2 * G;
            a_blind == cred.s * G - (cred.c * cred.y) * x
                && c_blind == cred.t * G + cred.y * z
                && [gamma1, gamma2, r1, r2].iter().all(|f| *f != Scalar::ZERO)
        };
        assert!(explains(e.e, &response, &alice_cred));
        assert!(explains(e.e, &response, &bob_cred));
        // Control: a tampered view explains neither.
        let bad = SignerResponse {
            t: response.t + Scalar::ONE,
            ..response
        };
        assert!(!explains(e.e, &bad, &bob_cred));
    }
}
