use openssl::encrypt::Encrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};

use super::*;

fn raw_decrypt(key: &PKey<openssl::pkey::Private>, ciphertext: &[u8]) -> Vec<u8> {
    let rsa = key.rsa().unwrap();
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_decrypt(ciphertext, &mut out, Padding::NONE)
        .unwrap();
    out.truncate(n);
    out
}

fn encrypt(key: &PKey<openssl::pkey::Private>, padding: HostPadding, msg: &[u8]) -> Vec<u8> {
    let mut enc = Encrypter::new(key).unwrap();
    match padding {
        HostPadding::OaepSha256 | HostPadding::OaepSha1 => {
            let md = if padding == HostPadding::OaepSha256 {
                MessageDigest::sha256()
            } else {
                MessageDigest::sha1()
            };
            enc.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
            enc.set_rsa_oaep_md(md).unwrap();
            enc.set_rsa_mgf1_md(md).unwrap();
        }
        HostPadding::Pkcs1 => enc.set_rsa_padding(Padding::PKCS1).unwrap(),
    }
    let mut out = vec![0u8; enc.encrypt_len(msg).unwrap()];
    let n = enc.encrypt(msg, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn removes_each_padding_openssl_applied() {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    for padding in [
        HostPadding::OaepSha256,
        HostPadding::OaepSha1,
        HostPadding::Pkcs1,
    ] {
        let msg = [7u8; 64];
        let block = raw_decrypt(&key, &encrypt(&key, padding, &msg));
        let out = remove_padding(&block, 256, padding).unwrap();
        assert_eq!(&out[..], &msg[..], "{padding:?}");
        // A block without its leading zero byte (as some tokens return it) still decodes.
        let trimmed: Vec<u8> = block.iter().copied().skip_while(|&b| b == 0).collect();
        assert_eq!(
            &remove_padding(&trimmed, 256, padding).unwrap()[..],
            &msg[..]
        );
    }
}

#[test]
fn refuses_the_wrong_padding_and_damaged_blocks() {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let msg = [9u8; 64];
    // An OAEP block's second byte is random: one in 256 is 0x02 and then reads as a valid
    // PKCS#1 v1.5 block (the JWE's MAC refuses what it decodes to). Take one that is not.
    let block = (0..64)
        .map(|_| raw_decrypt(&key, &encrypt(&key, HostPadding::OaepSha256, &msg)))
        .find(|block| block[1] != 0x02)
        .expect("64 OAEP blocks, each 0x02 in second place with probability 1/256");
    assert!(remove_padding(&block, 256, HostPadding::OaepSha1).is_none());
    assert!(remove_padding(&block, 256, HostPadding::Pkcs1).is_none());
    let mut damaged = block.clone();
    damaged[100] ^= 1;
    assert!(remove_padding(&damaged, 256, HostPadding::OaepSha256).is_none());
    assert!(remove_padding(&[0u8; 300], 256, HostPadding::OaepSha256).is_none());
    assert!(remove_padding(&[], 256, HostPadding::OaepSha256).is_none());
    // No error is left behind in OpenSSL's queue.
    assert!(openssl::error::ErrorStack::get().errors().is_empty());
}
