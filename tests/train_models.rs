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
