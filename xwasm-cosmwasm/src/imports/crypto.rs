//! Signatures and curves: secp256k1, secp256r1, ed25519 and BLS12-381,
//! through cosmwasm-crypto.

use super::{Ctx, R, enter, wrap};
use crate::region::{decode_sections, read_region, trap, write_region, write_to_contract};
use crate::state::{charge_cw, config};
use cosmwasm_crypto::CryptoError;
use xwasm_linker::WasmType::{I32, I64};
use xwasm_linker::{HostFunction, Permissions};

const MAX_LENGTH_ED25519_SIGNATURE: usize = 64;
const MAX_LENGTH_ED25519_MESSAGE: usize = 128 * 1024;
const MAX_COUNT_ED25519_BATCH: usize = 256;
const EDDSA_PUBKEY_LEN: usize = 32;
const BLS12_381_MAX_AGGREGATE_SIZE: usize = 2 * 1024 * 1024;
const BLS12_381_MAX_MESSAGE_SIZE: usize = 5 * 1024 * 1024;
const BLS12_381_MAX_DST_SIZE: usize = 5 * 1024;
const G1_LEN: usize = 48;
const G2_LEN: usize = 96;
const HASH_MAX: usize = 32;
const SIGNATURE_LEN: usize = 64;
const PUBKEY_MAX: usize = 65;

/// The crypto imports, in cosmwasm-vm's order.
pub(super) fn imports() -> Vec<HostFunction> {
    let none = Permissions::NONE;
    let mut f = Vec::new();

    f.push(wrap(
        "secp256k1_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + 96,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, pubkey: u32| -> R<u32> {
            enter(&mut c, "secp256k1_verify")?;
            let (hash, signature, pubkey) = ecdsa_inputs(&mut c, hash, signature, Some(pubkey))?;
            let cost = config(c.data()).gas.secp256k1_verify;
            charge_cw(&mut c, cost)?;
            Ok(verify_code(cosmwasm_crypto::secp256k1_verify(&hash, &signature, &pubkey)))
        },
    ));

    f.push(wrap(
        "secp256k1_recover_pubkey",
        &[I32, I32, I32],
        &[I64],
        "host call + regions + 194,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, param: u32| -> R<u64> {
            enter(&mut c, "secp256k1_recover_pubkey")?;
            let cost = config(c.data()).gas.secp256k1_recover_pubkey;
            recover(&mut c, hash, signature, param, cost, cosmwasm_crypto::secp256k1_recover_pubkey)
        },
    ));

    f.push(wrap(
        "secp256r1_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + 279,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, pubkey: u32| -> R<u32> {
            enter(&mut c, "secp256r1_verify")?;
            let (hash, signature, pubkey) = ecdsa_inputs(&mut c, hash, signature, Some(pubkey))?;
            let cost = config(c.data()).gas.secp256r1_verify;
            charge_cw(&mut c, cost)?;
            Ok(verify_code(cosmwasm_crypto::secp256r1_verify(&hash, &signature, &pubkey)))
        },
    ));

    f.push(wrap(
        "secp256r1_recover_pubkey",
        &[I32, I32, I32],
        &[I64],
        "host call + regions + 592,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, signature: u32, param: u32| -> R<u64> {
            enter(&mut c, "secp256r1_recover_pubkey")?;
            let cost = config(c.data()).gas.secp256r1_recover_pubkey;
            recover(&mut c, hash, signature, param, cost, cosmwasm_crypto::secp256r1_recover_pubkey)
        },
    ));

    f.push(wrap(
        "ed25519_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + 35,000,000",
        none,
        |mut c: Ctx<'_>, message: u32, signature: u32, pubkey: u32| -> R<u32> {
            enter(&mut c, "ed25519_verify")?;
            let message = read_region(&mut c, message, MAX_LENGTH_ED25519_MESSAGE)?;
            let signature = read_region(&mut c, signature, MAX_LENGTH_ED25519_SIGNATURE)?;
            let pubkey = read_region(&mut c, pubkey, EDDSA_PUBKEY_LEN)?;
            let cost = config(c.data()).gas.ed25519_verify;
            charge_cw(&mut c, cost)?;
            Ok(verify_code(cosmwasm_crypto::ed25519_verify(&message, &signature, &pubkey)))
        },
    ));

    f.push(wrap(
        "ed25519_batch_verify",
        &[I32, I32, I32],
        &[I32],
        "host call + regions + per signature",
        none,
        |mut c: Ctx<'_>, messages: u32, signatures: u32, pubkeys: u32| -> R<u32> {
            enter(&mut c, "ed25519_batch_verify")?;
            let messages =
                read_region(&mut c, messages, (MAX_LENGTH_ED25519_MESSAGE + 4) * MAX_COUNT_ED25519_BATCH)?;
            let signatures = read_region(
                &mut c,
                signatures,
                (MAX_LENGTH_ED25519_SIGNATURE + 4) * MAX_COUNT_ED25519_BATCH,
            )?;
            let pubkeys = read_region(&mut c, pubkeys, (EDDSA_PUBKEY_LEN + 4) * MAX_COUNT_ED25519_BATCH)?;
            let sections = |c: &mut Ctx<'_>, data: &[u8]| -> R<Vec<Vec<u8>>> {
                match decode_sections(data) {
                    Some(sections) => Ok(sections.into_iter().map(<[u8]>::to_vec).collect()),
                    None => Err(trap(c, "Error decoding sections: the lengths do not add up")),
                }
            };
            let (messages, signatures, pubkeys) =
                (sections(&mut c, &messages)?, sections(&mut c, &signatures)?, sections(&mut c, &pubkeys)?);
            let gas = config(c.data()).gas.clone();
            let (base, per) = if pubkeys.len() == 1 {
                (gas.ed25519_batch_verify_one_pubkey_base, gas.ed25519_batch_verify_one_pubkey_per_signature)
            } else {
                (gas.ed25519_batch_verify_base, gas.ed25519_batch_verify_per_signature)
            };
            charge_cw(&mut c, base.saturating_add(per.saturating_mul(signatures.len() as u64)))?;
            let mut rng = crate::rng::TranscriptRng::new(&[&messages, &signatures, &pubkeys]);
            Ok(verify_code(cosmwasm_crypto::ed25519_batch_verify(
                &mut rng,
                &refs(&messages),
                &refs(&signatures),
                &refs(&pubkeys),
            )))
        },
    ));

    f.push(wrap(
        "bls12_381_aggregate_g1",
        &[I32, I32],
        &[I32],
        "host call + region + per point",
        none,
        |mut c: Ctx<'_>, points: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_aggregate_g1")?;
            let points = read_region(&mut c, points, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let gas = config(c.data()).gas.clone();
            let count = (points.len() / G1_LEN) as u64;
            charge_cw(
                &mut c,
                gas.bls12_381_aggregate_g1_base
                    .saturating_add(gas.bls12_381_aggregate_g1_per_point.saturating_mul(count)),
            )?;
            match cosmwasm_crypto::bls12_381_aggregate_g1(&points) {
                Ok(point) => write_region(&mut c, out, &point).map(|()| 0),
                Err(error) => Ok(error.code()),
            }
        },
    ));

    f.push(wrap(
        "bls12_381_aggregate_g2",
        &[I32, I32],
        &[I32],
        "host call + region + per point",
        none,
        |mut c: Ctx<'_>, points: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_aggregate_g2")?;
            let points = read_region(&mut c, points, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let gas = config(c.data()).gas.clone();
            let count = (points.len() / G2_LEN) as u64;
            charge_cw(
                &mut c,
                gas.bls12_381_aggregate_g2_base
                    .saturating_add(gas.bls12_381_aggregate_g2_per_point.saturating_mul(count)),
            )?;
            match cosmwasm_crypto::bls12_381_aggregate_g2(&points) {
                Ok(point) => write_region(&mut c, out, &point).map(|()| 0),
                Err(error) => Ok(error.code()),
            }
        },
    ));

    f.push(wrap(
        "bls12_381_pairing_equality",
        &[I32, I32, I32, I32],
        &[I32],
        "host call + regions + per pair",
        none,
        |mut c: Ctx<'_>, ps: u32, qs: u32, r: u32, s: u32| -> R<u32> {
            enter(&mut c, "bls12_381_pairing_equality")?;
            let ps = read_region(&mut c, ps, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let qs = read_region(&mut c, qs, BLS12_381_MAX_AGGREGATE_SIZE)?;
            let r = read_region(&mut c, r, G1_LEN)?;
            let s = read_region(&mut c, s, G2_LEN)?;
            let gas = config(c.data()).gas.clone();
            let k = (ps.len() / G1_LEN) as u64 + 1;
            charge_cw(
                &mut c,
                gas.bls12_381_pairing_equality_base
                    .saturating_add(gas.bls12_381_pairing_equality_per_point.saturating_mul(k)),
            )?;
            Ok(match cosmwasm_crypto::bls12_381_pairing_equality(&ps, &qs, &r, &s) {
                Ok(true) => 0,
                Ok(false) => 1,
                Err(error) => error.code(),
            })
        },
    ));

    f.push(wrap(
        "bls12_381_hash_to_g1",
        &[I32, I32, I32, I32],
        &[I32],
        "host call + regions + 563,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, msg: u32, dst: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_hash_to_g1")?;
            let cost = config(c.data()).gas.bls12_381_hash_to_g1;
            hash_to_curve(&mut c, hash, msg, dst, out, cost, |h, m, d| {
                cosmwasm_crypto::bls12_381_hash_to_g1(h, m, d).to_vec()
            })
        },
    ));

    f.push(wrap(
        "bls12_381_hash_to_g2",
        &[I32, I32, I32, I32],
        &[I32],
        "host call + regions + 871,000,000",
        none,
        |mut c: Ctx<'_>, hash: u32, msg: u32, dst: u32, out: u32| -> R<u32> {
            enter(&mut c, "bls12_381_hash_to_g2")?;
            let cost = config(c.data()).gas.bls12_381_hash_to_g2;
            hash_to_curve(&mut c, hash, msg, dst, out, cost, |h, m, d| {
                cosmwasm_crypto::bls12_381_hash_to_g2(h, m, d).to_vec()
            })
        },
    ));

    f
}

fn ecdsa_inputs(
    c: &mut Ctx<'_>,
    hash: u32,
    signature: u32,
    pubkey: Option<u32>,
) -> R<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let hash = read_region(c, hash, HASH_MAX)?;
    let signature = read_region(c, signature, SIGNATURE_LEN)?;
    let pubkey = match pubkey {
        Some(pubkey) => read_region(c, pubkey, PUBKEY_MAX)?,
        None => Vec::new(),
    };
    Ok((hash, signature, pubkey))
}

fn refs(sections: &[Vec<u8>]) -> Vec<&[u8]> {
    sections.iter().map(Vec::as_slice).collect()
}

/// 0 valid, 1 invalid, or the error's code.
fn verify_code(result: Result<bool, CryptoError>) -> u32 {
    match result {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => error.code(),
    }
}

/// A recover function of cosmwasm-crypto.
type Recover = fn(&[u8], &[u8], u8) -> Result<Vec<u8>, CryptoError>;

fn recover(c: &mut Ctx<'_>, hash: u32, signature: u32, param: u32, cost: u64, recover: Recover) -> R<u64> {
    let (hash, signature, _) = ecdsa_inputs(c, hash, signature, None)?;
    let Ok(param) = u8::try_from(param) else {
        return Ok(u64::from(CryptoError::invalid_recovery_param().code()) << 32);
    };
    charge_cw(c, cost)?;
    match recover(&hash, &signature, param) {
        Ok(pubkey) => write_to_contract(c, &pubkey).map(u64::from),
        Err(error) => Ok(u64::from(error.code()) << 32),
    }
}

fn hash_to_curve(
    c: &mut Ctx<'_>,
    hash: u32,
    msg: u32,
    dst: u32,
    out: u32,
    cost: u64,
    hash_to: impl Fn(cosmwasm_crypto::HashFunction, &[u8], &[u8]) -> Vec<u8>,
) -> R<u32> {
    let msg = read_region(c, msg, BLS12_381_MAX_MESSAGE_SIZE)?;
    let dst = read_region(c, dst, BLS12_381_MAX_DST_SIZE)?;
    charge_cw(c, cost)?;
    let function = match cosmwasm_crypto::HashFunction::from_u32(hash) {
        Ok(function) => function,
        Err(error) => return Ok(error.code()),
    };
    let point = hash_to(function, &msg, &dst);
    write_region(c, out, &point)?;
    Ok(0)
}
