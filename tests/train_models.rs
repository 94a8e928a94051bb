//! The trainer's models (cargo feature `torch`): parameter counts equal the paper's with 209
//! tasks, and every model takes any input size.
#![cfg(feature = "torch")]

use assayflow::train::models::gapnet::GapNet;
use assayflow::train::models::parameter_count;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

#[test]
fn gapnet_has_the_papers_parameter_count() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = GapNet::new(&vs.root(), 5, 209);
    assert_eq!(parameter_count(&vs), 3_694_545);
}

#[test]
fn resnet101_and_densenet121_have_the_papers_parameter_counts() {
    use assayflow::train::models::densenet::DenseNet;
    use assayflow::train::models::resnet::ResNet;
    let vs = nn::VarStore::new(Device::Cpu);
    let _r = ResNet::resnet101(&vs.root(), 5, 209);
    assert_eq!(parameter_count(&vs), 42_934_673);
    let vs = nn::VarStore::new(Device::Cpu);
    let _d = DenseNet::densenet121(&vs.root(), 5, 209);
    assert_eq!(parameter_count(&vs), 7_174_353);
}

#[test]
fn resnet_and_densenet_take_any_input_size() {
    use assayflow::train::models::densenet::DenseNet;
    use assayflow::train::models::resnet::ResNet;
    tch::manual_seed(2);
    let vs = nn::VarStore::new(Device::Cpu);
    let r = ResNet::resnet101(&(vs.root() / "r"), 5, 3);
    let d = DenseNet::densenet121(&(vs.root() / "d"), 5, 3);
    for (h, w) in [(96, 96), (130, 174)] {
        let x = Tensor::randn([2, 5, h, w], (Kind::Float, Device::Cpu));
        let (yr, yd) = tch::no_grad(|| (r.forward_t(&x, false), d.forward_t(&x, false)));
        assert_eq!(yr.size(), vec![2, 3]);
        assert_eq!(yd.size(), vec![2, 3]);
    }
}

#[test]
fn gapnet_takes_any_input_size() {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = GapNet::new(&vs.root(), 5, 7);
    for (h, w) in [(520, 696), (96, 96), (131, 257)] {
        let x = Tensor::randn([2, 5, h, w], (Kind::Float, Device::Cpu));
        let y = tch::no_grad(|| net.forward_t(&x, false));
        assert_eq!(y.size(), vec![2, 7], "{h}x{w}");
        assert!(y.isfinite().all().int64_value(&[]) == 1);
    }
}

#[test]
fn every_model_with_a_paper_count_matches_it() {
    use assayflow::train::models::ModelKind;
    for kind in ModelKind::ALL {
        let Some(expected) = kind.paper_parameters() else {
            continue;
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let _net = kind.build(&vs.root(), 5, 209);
        assert_eq!(parameter_count(&vs), expected, "{kind}");
    }
}

#[test]
fn sccnn_has_gapnets_weights_and_the_fnn_its_layer_sizes() {
    use assayflow::train::models::ModelKind;
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = ModelKind::ScCnn.build(&vs.root(), 5, 209);
    assert_eq!(parameter_count(&vs), 3_694_545);
    let vs = nn::VarStore::new(Device::Cpu);
    let _net = ModelKind::Fnn.build(&vs.root(), 1783, 209);
    let h = 2048;
    let expected = (1783 * h + h) + 2 * (h * h + h) + (h * 209 + 209);
    assert_eq!(parameter_count(&vs), expected);
}

#[test]
fn the_other_models_take_their_inputs_at_several_sizes() {
    use assayflow::train::models::ModelKind;
    tch::manual_seed(3);
    let cases: [(ModelKind, &[(i64, i64)]); 3] = [
        (ModelKind::MilNet, &[(135, 135), (150, 174)]),
        (ModelKind::MCnn, &[(64, 64), (96, 96), (130, 174)]),
        (ModelKind::ScCnn, &[(96, 96), (64, 80)]),
    ];
    for (kind, sizes) in cases {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = kind.build(&vs.root(), 5, 4);
        for &(h, w) in sizes {
            let x = Tensor::randn([2, 5, h, w], (Kind::Float, Device::Cpu));
            let out = tch::no_grad(|| net.outputs(&x, false));
            assert_eq!(out.logits.size(), vec![2, 4], "{kind} {h}x{w}");
            assert!(out.logits.isfinite().all().int64_value(&[]) == 1);
            if kind == ModelKind::MilNet {
                let pooled = out.pooled.expect("MIL-Net pools");
                // Noisy-AND maps [0, 1] onto [0, 1].
                let (lo, hi) = (
                    pooled.min().double_value(&[]),
                    pooled.max().double_value(&[]),
                );
                assert!(
                    (-1e-6..=1.0 + 1e-6).contains(&lo) && hi <= 1.0 + 1e-6,
                    "{lo} {hi}"
                );
            }
        }
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let fnn = ModelKind::Fnn.build(&vs.root(), 30, 4);
    let x = Tensor::randn([8, 30], (Kind::Float, Device::Cpu));
    assert_eq!(fnn.outputs(&x, true).logits.size(), vec![8, 4]);
}

#[test]
fn mcnn_at_full_resolution_pools_like_the_papers_code() {
    // At 520 x 696 every scale ends at 8 x 10 and the adaptive pool equals a 2 x 2 max-pool.
    use assayflow::train::models::ModelKind;
    let vs = nn::VarStore::new(Device::Cpu);
    let net = ModelKind::MCnn.build(&vs.root(), 5, 2);
    let x = Tensor::randn([1, 5, 520, 696], (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| net.outputs(&x, false).logits);
    assert_eq!(y.size(), vec![1, 2]);
}

#[test]
fn model_names_parse_as_written_in_the_paper() {
    use assayflow::train::models::ModelKind;
    for kind in ModelKind::ALL {
        assert_eq!(kind.name().parse::<ModelKind>().ok(), Some(kind));
        assert_eq!(kind.display_name().parse::<ModelKind>().ok(), Some(kind));
    }
    assert!("vgg".parse::<ModelKind>().is_err());
}
