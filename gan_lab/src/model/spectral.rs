//! Spectral normalisation (Miyato et al. 2018) of one discriminator layer's weight: the layer uses
//! W / σ̂(W), σ̂ the largest singular value of W (as a `[outputs, inputs]` matrix) estimated by one
//! power-iteration step per training forward pass, as PyTorch's `torch.nn.utils.spectral_norm`:
//! v = normalize(Wᵀu), u = normalize(Wv), σ̂ = uᵀWv with u, v held constant in the gradient.
//! u and v are running state, like BatchNorm's statistics: kept in checkpoints (a resumed run
//! continues the same iteration) and used unchanged when autodiff is off.

use burn::module::{Module, RunningState};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

/// PyTorch's `F.normalize` floor on the norm.
const EPS: f64 = 1e-12;

fn normalize<B: Backend>(x: Tensor<B, 1>) -> Tensor<B, 1> {
    let norm = x.clone().square().sum().sqrt().clamp_min(EPS);
    x.div(norm)
}

/// The power-iteration vectors of one weight matrix.
#[derive(Module, Debug)]
pub struct SpectralNorm<B: Backend> {
    /// Left singular vector estimate (one value per output).
    pub u: RunningState<Tensor<B, 1>>,
    /// Right singular vector estimate (one value per input).
    pub v: RunningState<Tensor<B, 1>>,
}

impl<B: Backend> SpectralNorm<B> {
    /// For a `rows` × `cols` weight matrix: u and v drawn from N(0, 1) and normalised (PyTorch's
    /// start), from the backend RNG like the weights.
    pub fn new(rows: usize, cols: usize, device: &B::Device) -> Self {
        let draw = |n: usize| normalize(Tensor::<B, 1>::random([n], Distribution::Normal(0.0, 1.0), device));
        SpectralNorm { u: RunningState::new(draw(rows)), v: RunningState::new(draw(cols)) }
    }

    /// `w` (`[rows, cols]`) divided by σ̂; with autodiff on, one power-iteration step first
    /// updates u and v.
    pub fn apply(&self, w: Tensor<B, 2>) -> Tensor<B, 2> {
        let device = w.device();
        let (u, v) = if B::ad_enabled(&device) {
            let fixed = w.clone().detach();
            let u = self.u.value_sync().to_device(&device);
            let v = normalize(fixed.clone().transpose().matmul(u.unsqueeze_dim(1)).squeeze_dim(1));
            let u = normalize(fixed.matmul(v.clone().unsqueeze_dim(1)).squeeze_dim(1));
            self.u.update(u.clone());
            self.v.update(v.clone());
            (u, v)
        } else {
            (self.u.value_sync().to_device(&device), self.v.value_sync().to_device(&device))
        };
        let sigma: Tensor<B, 2> = u.unsqueeze_dim::<2>(0).matmul(w.clone()).matmul(v.unsqueeze_dim(1));
        w.div(sigma)
    }

    /// A convolution weight `[out, in, k, k]`, normalised as the `[out, in·k·k]` matrix.
    pub fn apply_conv(&self, w: Tensor<B, 4>) -> Tensor<B, 4> {
        let dims = w.dims();
        self.apply(w.reshape([dims[0], dims[1] * dims[2] * dims[3]])).reshape(dims)
    }

    /// A burn linear weight `[inputs, outputs]`, normalised as PyTorch's `[outputs, inputs]`.
    pub fn apply_linear(&self, w: Tensor<B, 2>) -> Tensor<B, 2> {
        self.apply(w.transpose()).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    type A = Autodiff<Flex>;

    fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    fn close(what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 2e-5, "{what}: got {got:?}, reference {want:?}");
        }
    }

    const W: [f32; 12] = [0.5, -1.0, 2.0, 0.25, 1.5, 0.0, -0.5, 1.0, -2.0, 0.75, 1.0, -1.25];

    /// W and u₀ of `reference/spectral_norm.py`.
    fn reference_setup<B: Backend>() -> (SpectralNorm<B>, Tensor<B, 2>) {
        let device = Default::default();
        let sn = SpectralNorm::<B>::new(3, 4, &device);
        sn.u.update(Tensor::from_floats([0.6, 0.8, 0.0], &device));
        let w = Tensor::from_data(TensorData::new(W.to_vec(), [3, 4]), &device);
        (sn, w)
    }

    #[test]
    fn one_training_pass_matches_the_numpy_reference_in_value_vectors_and_gradient() {
        let (sn, w) = reference_setup::<A>();
        let w = w.require_grad();
        let w_sn = sn.apply(w.clone());
        close("W / σ", &values(w_sn.clone()), &[0.178104, -0.356209, 0.712418, 0.089052, 0.534313, 0.0, -0.178104, 0.356209, -0.712418, 0.267157, 0.356209, -0.445261]);
        close("u", &values(sn.u.value_sync()), &[0.557186, 0.489449, -0.670808]);
        close("v", &values(sn.v.value_sync()), &[0.736099, -0.294440, 0.392586, 0.466196]);
        let g = Tensor::<A, 2>::from_data(TensorData::new(vec![1.0f32, 2.0, -1.0, 0.5, 0.0, -1.0, 3.0, 1.0, 2.0, 0.5, -0.5, -2.0], [3, 4]), &Default::default());
        let grads = (w_sn * g).sum().backward();
        let want = [0.642434, 0.597927, -0.203555, 0.359381, 0.251429, -0.456781, 1.202722, 0.515447, 0.367824, 0.315942, -0.361887, -0.930660];
        close("gradient in W", &values(w.grad(&grads).unwrap()), &want);
    }

    #[test]
    fn repeated_passes_converge_to_the_largest_singular_value_and_evaluation_does_not_iterate() {
        let (sn, w) = reference_setup::<A>();
        for _ in 0..100 {
            let _ = sn.apply(w.clone());
        }
        let sigma = |w_sn: Tensor<A, 2>| W[0] / values(w_sn)[0];
        assert!((sigma(sn.apply(w.clone())) - 3.224450).abs() < 1e-4, "σ̂ → largest singular value (numpy's SVD)");
        // without autodiff the stored vectors are used as they are
        let valid = burn::module::AutodiffModule::valid(&sn);
        let u = values(valid.u.value());
        let _ = valid.apply(w.clone().inner());
        assert_eq!(values(valid.u.value()), u);
    }

    #[test]
    fn conv_and_linear_layouts_normalise_the_pytorch_matrix() {
        let (sn, w) = reference_setup::<Flex>();
        let valid_u = values(sn.u.value_sync());
        // a [3, 4] matrix as a [3, 1, 2, 2] convolution weight, and as burn's transposed linear weight
        let conv = sn.apply_conv(w.clone().reshape([3, 1, 2, 2]));
        let plain = sn.apply(w.clone());
        assert_eq!(values(conv), values(plain.clone()));
        let linear = sn.apply_linear(w.clone().transpose());
        assert_eq!(values(linear.transpose()), values(plain));
        assert_eq!(values(sn.u.value_sync()), valid_u, "Flex has no autodiff: no iteration");
    }
}
