//! SC-CNN, the paper's single-cell baseline: GapNet's layout without dilations (block 4 is
//! three plain 3x3 convolutions) and without padding in block 2's pool, trained on 96 x 96
//! crops centred on nuclei (the `cells` of a view export). Its parameters equal GapNet's
//! (dilation changes no weight shape): 3,694,545 with 209 tasks.

use tch::nn;

use super::gapnet::{GapNet, GapNetLayout};

/// SC-CNN's layout.
pub const SC_CNN_LAYOUT: GapNetLayout = GapNetLayout {
    block4_dilations: [1, 1, 1],
    block2_pool_padding: 0,
};

/// Builds SC-CNN for `channels` inputs and `tasks` outputs.
pub fn sc_cnn(p: &nn::Path, channels: i64, tasks: i64) -> GapNet {
    GapNet::with_layout(p, channels, tasks, SC_CNN_LAYOUT)
}
