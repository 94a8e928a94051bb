//! The masked multi-task loss: binary cross-entropy on logits in its numerically stable form,
//! `max(p, 0) - p y + log(1 + exp(-|p|))`, where a label is missing (0) it contributes nothing,
//! and the sum is divided by the number of observed labels in the batch. No task or class
//! weights. MIL-Net's noisy-AND probabilities add the same masked cross-entropy in probability
//! form (clamped away from 0 and 1).

use tch::{Kind, Tensor};

/// Clamp of probabilities in the MIL term.
pub const PROBABILITY_EPSILON: f64 = 1e-7;

/// Masked BCE of `logits` (batch x tasks) against `labels` (batch x tasks, int8 +1/-1/0).
pub fn masked_bce(logits: &Tensor, labels: &Tensor, pooled: Option<&Tensor>) -> Tensor {
    let logits = logits.to_kind(Kind::Float);
    let mask = labels.ne(0).to_kind(Kind::Float);
    let y = labels.gt(0).to_kind(Kind::Float);
    let observed = mask.sum(Kind::Float).clamp_min(1.0);
    let bce = logits.clamp_min(0.0) - &logits * &y + (-logits.abs()).exp().log1p();
    let mut loss = (bce * &mask).sum(Kind::Float) / &observed;
    if let Some(q) = pooled {
        let q = q
            .to_kind(Kind::Float)
            .clamp(PROBABILITY_EPSILON, 1.0 - PROBABILITY_EPSILON);
        let (one_y, one_q) = (y.ones_like() - &y, q.ones_like() - &q);
        let term = -(&y * q.log() + one_y * one_q.log());
        loss += (term * &mask).sum(Kind::Float) / &observed;
    }
    loss
}
