//! Property: rewrapping to any new custodian set and quorum keeps the master key and the
//! data, whichever quorum of old keys opens it and whichever quorum of new keys reads it.

mod common;

use std::sync::OnceLock;

use common::Fixture;
use proptest::prelude::*;
use sdctl::domain::{rewrap::rewrap, unlock::unlock, SdFile};
use sdctl::keys::{load_certificate, load_wrapping_key, Certificate, WrappingKey};
use sdctl::passphrase::PassphraseSource;

/// Ten custodians made with openssl, once: the fixture and their certificates.
fn custodians() -> &'static (Fixture, Vec<Certificate>) {
    static SET: OnceLock<(Fixture, Vec<Certificate>)> = OnceLock::new();
    SET.get_or_init(|| {
        let fx = Fixture::new();
        let mut certs = Vec::new();
        for i in 0..10 {
            let name = format!("k{i}");
            fx.openssl_custodian(&name, 2048);
            certs.push(load_certificate(&fx.path(&format!("{name}.cer"))).unwrap());
        }
        (fx, certs)
    })
}

fn pick<T: Clone>(items: &[T], indices: &[usize]) -> Vec<T> {
    indices.iter().map(|&i| items[i].clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn rewrap_round_trip(
        (old_n, old_m) in (3usize..=6).prop_flat_map(|n| (Just(n), 2..=n)),
        (new_n, new_m) in (3usize..=6).prop_flat_map(|n| (Just(n), 2..=n)),
        old_pick in any::<u64>(),
    ) {
        let (fx, certs) = custodians();
        // Old custodians 0..old_n; new ones 4..4+new_n (they may overlap).
        let old: Vec<usize> = (0..old_n).collect();
        let new: Vec<usize> = (4..4 + new_n).collect();
        let state = common::hsm_state();
        let sd = sdctl::domain::hsm::make_security_domain(&pick(certs, &old), old_m, &state).unwrap();
        let name = format!("sd-{old_pick}.json");
        std::fs::write(fx.path(&name), sd.to_json().unwrap()).unwrap();
        let file = SdFile::read(&fx.path(&name)).unwrap();
        // Some quorum of old keys, starting at a random custodian.
        let start = (old_pick as usize) % old_n;
        let old_quorum: Vec<usize> = (0..old_m).map(|j| old[(start + j) % old_n]).collect();
        let old_keys: Vec<WrappingKey> = old_quorum.iter().map(|&i| reload(fx, i)).collect();
        let original = unlock(&file.path, &file.domain, &old_keys).unwrap().master_key;
        let (new_sd, _) = rewrap(&file, &old_keys, &pick(certs, &new), new_m).unwrap();
        prop_assert_eq!(new_sd.required(), new_m);
        prop_assert_eq!(new_sd.shares().len(), new_n);
        // The last new_m new custodians read it back.
        let new_keys: Vec<WrappingKey> = new[new_n - new_m..].iter().map(|&i| reload(fx, i)).collect();
        let reopened = unlock(&file.path, &new_sd, &new_keys).unwrap().master_key;
        prop_assert_eq!(&*reopened, &*original);
        let data = sdctl::domain::data::open_all(&file.path, &new_sd.enc_data, &reopened).unwrap();
        let got: Vec<(String, Vec<u8>)> = data.into_iter().map(|d| (d.tag, d.plaintext.to_vec())).collect();
        prop_assert_eq!(got, state);
    }
}

fn reload(fx: &Fixture, i: usize) -> WrappingKey {
    load_wrapping_key(
        &fx.path(&format!("k{i}.key")),
        i,
        &PassphraseSource::Unavailable,
    )
    .unwrap()
}
