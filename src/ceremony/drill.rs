//! `ceremony drill`: the periodic proof that the custodians can recover. Each custodian,
//! one at a time, proves their key opens their own share (no co-location needed); then a
//! quorum rebuilds the master key and authenticates every datum; the dated record is the
//! report. With a distributed quorum every custodian's share export proves their share.

use super::common::{close_step, open_step};
use super::engine::{Side, Step};
use super::plan::{Plan, QuorumMode};
use super::quorum::session_step;
use super::verify_sd::{drill_step, prove_step};

/// The drill's steps.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let mut steps = vec![open_step(
        Side::Offline,
        plan.hsm.clone(),
        "the HSM whose security domain is drilled, its custodians and quorum",
    )];
    match plan.domain.quorum_mode {
        QuorumMode::Together => {
            steps.extend(plan.custodians.iter().map(|c| prove_step(&c.name)));
            steps.push(drill_step(
                plan.quorum_custodians(),
                false,
                QuorumMode::Together,
            ));
        }
        QuorumMode::Distributed => {
            steps.push(session_step());
            steps.push(drill_step(
                plan.custodian_names(),
                true,
                QuorumMode::Distributed,
            ));
        }
    }
    steps.push(close_step(Side::Offline));
    steps
}
