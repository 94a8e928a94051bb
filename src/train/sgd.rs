//! SGD with momentum and L2 weight decay in PyTorch's form (`d = g + wd * p`;
//! `buf = d` on the first step, then `buf = momentum * buf + d`; `p -= lr * buf`), after
//! gradient-norm clipping. Its state (momentum buffers, and float32 master weights when the
//! model runs in bfloat16) is ours, so checkpoints carry it and a resumed run continues exactly.

use std::collections::BTreeMap;

use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// The optimiser.
#[derive(Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
    /// Momentum.
    pub momentum: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Momentum buffers by variable name (absent before the first step).
    pub buffers: BTreeMap<String, Tensor>,
    /// float32 master weights by variable name, when the model's variables are bfloat16.
    pub master: BTreeMap<String, Tensor>,
}

/// The trainable variables of a store, sorted by name.
pub fn trainable(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

impl Sgd {
    /// A fresh optimiser; with a bfloat16 model, `master` holds float32 copies of its weights.
    pub fn new(lr: f64, momentum: f64, weight_decay: f64) -> Sgd {
        Sgd {
            lr,
            momentum,
            weight_decay,
            buffers: BTreeMap::new(),
            master: BTreeMap::new(),
        }
    }

    /// Keeps float32 master copies of every trainable variable (call after building the
    /// model in float32, before converting it to bfloat16).
    pub fn keep_master_weights(&mut self, vs: &VarStore) {
        for (name, t) in trainable(vs) {
            self.master
                .insert(name, t.detach().to_kind(Kind::Float).copy());
        }
    }

    /// The L2 norm of all gradients, and scales them to `max_norm` when above it (0: no
    /// clipping). Returns the norm before clipping.
    pub fn clip_grad_norm(vs: &VarStore, max_norm: f64) -> f64 {
        tch::no_grad(|| {
            let grads: Vec<Tensor> = trainable(vs)
                .into_iter()
                .map(|(_, t)| t.grad())
                .filter(Tensor::defined)
                .collect();
            if grads.is_empty() {
                return 0.0;
            }
            let norms: Vec<Tensor> = grads
                .iter()
                .map(|g| g.to_kind(Kind::Float).square().sum(Kind::Float))
                .collect();
            let total = Tensor::stack(&norms, 0)
                .sum(Kind::Float)
                .sqrt()
                .double_value(&[]);
            if max_norm > 0.0 && total > max_norm {
                let coef = max_norm / (total + 1e-6);
                for mut g in grads {
                    let _ = g.g_mul_scalar_(coef);
                }
            }
            total
        })
    }

    /// One update of every trainable variable with a gradient; gradients are then zeroed.
    pub fn step(&mut self, vs: &VarStore) {
        tch::no_grad(|| {
            for (name, mut p) in trainable(vs) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = g.to_kind(Kind::Float);
                let weights = self
                    .master
                    .get(&name)
                    .map_or_else(|| p.shallow_clone(), Tensor::shallow_clone);
                let d = if self.weight_decay != 0.0 {
                    &g + &weights * self.weight_decay
                } else {
                    g
                };
                let update = if self.momentum != 0.0 {
                    match self.buffers.get_mut(&name) {
                        Some(buf) => {
                            let _ = buf.g_mul_scalar_(self.momentum);
                            let _ = buf.g_add_(&d);
                            buf.shallow_clone()
                        }
                        None => {
                            let buf = d.copy();
                            self.buffers.insert(name.clone(), buf.shallow_clone());
                            buf
                        }
                    }
                } else {
                    d
                };
                let mut w = weights;
                let _ = w.g_sub_(&(update * self.lr));
                if self.master.contains_key(&name) {
                    p.copy_(&w);
                }
                p.zero_grad();
            }
        });
    }

    /// Zeroes every gradient.
    pub fn zero_grad(vs: &VarStore) {
        for (_, mut p) in trainable(vs) {
            p.zero_grad();
        }
    }
}
