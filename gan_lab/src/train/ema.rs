//! An exponential moving average of the generator's weights (Karras et al. 2018; StudioGAN's
//! `G_ema`): after every generator update, `ema ← decay · ema + (1 − decay) · G` for each trainable
//! weight, while BatchNorm's running statistics are copied from G. Samples and evaluations use the
//! average when `train.g_ema` is set; training never reads it.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;

use crate::model::Generator;

/// Whether each float tensor of a module, in visiting order, is trainable.
struct Trainable(Vec<bool>);

impl<B: AutodiffBackend> ModuleVisitor<B> for Trainable {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().is_require_grad());
    }
}

/// Flattened float tensors of an inner-backend module, in visiting order.
struct Values<B: Backend>(Vec<Tensor<B, 1>>);

impl<B: Backend> ModuleVisitor<B> for Values<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.push(t.reshape([n]));
    }
}

/// Replaces each float tensor, in visiting order, by G's (running statistics) or the blend
/// (trainable weights).
struct Blend<B: Backend> {
    g: std::vec::IntoIter<Tensor<B, 1>>,
    trainable: std::vec::IntoIter<bool>,
    old: std::vec::IntoIter<Tensor<B, 1>>,
    decay: f64,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (g, trainable) = (self.g.next(), self.trainable.next());
        let (Some(g), Some(trainable)) = (g, trainable) else { panic!("G and its average have the same structure") };
        let old = self.old.next().expect("G and its average have the same structure");
        let decay = self.decay;
        param.map(|t| {
            let dims = t.dims();
            let value = if trainable { old.mul_scalar(decay).add(g.mul_scalar(1.0 - decay)) } else { g };
            value.reshape(dims)
        })
    }
}

/// The average after one more generator update: `decay · ema + (1 − decay) · g` for trainable
/// weights, g's running statistics.
pub fn ema_update<B: AutodiffBackend>(ema: Generator<B::InnerBackend>, g: &Generator<B>, decay: f64) -> Generator<B::InnerBackend> {
    let mut trainable = Trainable(Vec::new());
    g.visit(&mut trainable);
    // `valid` first: it folds in BatchNorm's last running-statistics update, which a visit of the
    // training module would not see yet
    let mut now = Values(Vec::new());
    g.valid().visit(&mut now);
    let mut old = Values(Vec::new());
    ema.visit(&mut old);
    assert!(now.0.len() == old.0.len() && now.0.len() == trainable.0.len(), "G and its average have the same structure");
    ema.map(&mut Blend { g: now.0.into_iter(), trainable: trainable.0.into_iter(), old: old.0.into_iter(), decay })
}

/// The average's starting point (and its value before `start_step`): G itself.
pub fn ema_start<B: AutodiffBackend>(g: &Generator<B>) -> Generator<B::InnerBackend> {
    g.valid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type A = Autodiff<Flex>;

    fn vals<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    #[test]
    fn the_average_blends_weights_and_copies_running_statistics() {
        let device = Default::default();
        let cfg = crate::config::preset("dcgan28").unwrap();
        let g0 = Generator::<A>::new(&cfg, &device);
        let ema = ema_start(&g0);
        // another generator of the same structure, its BatchNorm statistics moved by a forward pass
        let g1 = Generator::<A>::new(&cfg, &device);
        let _ = g1.forward(Tensor::random([4, 100], burn::tensor::Distribution::Normal(0.0, 1.0), &device));
        let out = ema_update(ema, &g1, 0.9);

        let weight = |g: &Generator<A>| vals(g.projection.as_ref().unwrap().linear.weight.val());
        let (w0, w1) = (weight(&g0), weight(&g1));
        let w = vals(out.projection.as_ref().unwrap().linear.weight.val());
        assert!(w0 != w1);
        for i in 0..w.len() {
            let want = 0.9f32 * w0[i] + (1.0 - 0.9f32) * w1[i];
            assert!((w[i] - want).abs() <= 1e-6, "weight {i}: {} vs {want}", w[i]);
        }
        let running = |bn: &burn::nn::BatchNorm<_>| (vals(bn.running_mean.value_sync()), vals(bn.running_var.value_sync()));
        let g1_bn = running(g1.convs[0].norm.as_ref().unwrap());
        assert!(g1_bn != running(g0.convs[0].norm.as_ref().unwrap()), "the forward pass moved G1's statistics");
        let out_bn = out.convs[0].norm.as_ref().unwrap();
        assert_eq!((vals(out_bn.running_mean.value()), vals(out_bn.running_var.value())), g1_bn, "running statistics copied from G");
    }
}
